"""Batch files from disk: the ``hl7 import-batch`` command and the polled drop folder.

A file is read whole and goes through the same batch receive as an MLLP frame
(``integration.batch``), so every message is journalled and duplicate-checked by MSH-10; a
file imported twice applies nothing twice. The batch ACK is written beside the file.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from config.db import utcnow
from integration.batch import BatchResult, Progress, Receives, receive_batch
from integration.senders import FILE_PEER

log = logging.getLogger(__name__)

# Files a sender is still writing should carry one of these names, then be renamed.
SKIPPED_SUFFIXES = (".tmp", ".part", ".ack")


def import_file(pipeline: Receives, path: Path, progress: Progress | None = None) -> BatchResult:
    return receive_batch(pipeline, path.read_bytes(), FILE_PEER + path.name, progress=progress)


def waiting_files(folder: Path) -> list[Path]:
    """Files ready to import, oldest first (hidden and partial files are left alone)."""
    if not folder.is_dir():
        return []
    ready = [
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and not p.name.endswith(SKIPPED_SUFFIXES)
    ]
    return sorted(ready, key=lambda p: (p.stat().st_mtime, p.name))


def poll_folder(pipeline: Receives, folder: Path) -> list[tuple[str, BatchResult]]:
    """Import every waiting file; move each to done/ (or failed/ when the batch as a whole
    was refused: unreadable, or a BTS count mismatch) with its batch ACK as NAME.ack."""
    imported = []
    for path in waiting_files(folder):
        result = import_file(pipeline, path)
        target = folder / ("failed" if result.count_errors else "done")
        target.mkdir(exist_ok=True)
        name = path.name
        if (target / name).exists():
            name = f"{path.stem}.{utcnow():%Y%m%dT%H%M%S%f}{path.suffix}"
        (target / f"{name}.ack").write_bytes(result.ack)
        shutil.move(str(path), target / name)
        failed = len(result.failed)
        log.info(
            "HL7 batch file %s: %d message(s), %d not accepted -> %s/",
            path.name,
            len(result.results),
            failed,
            target.name,
        )
        imported.append((path.name, result))
    return imported
