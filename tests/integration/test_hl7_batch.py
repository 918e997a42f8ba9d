"""HL7 batches (FHS/BHS ... BTS/FTS) over real MLLP sockets and from real files: each message
journalled and duplicate-checked on its own, one batch ACK back, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from config.cli import cli
from integration.batch_folder import poll_folder
from integration.mllp.client import MllpClient
from tests.hl7_builder import adt, batch, segments
from tests.integration.record_queries import journal, stays


def admissions(n: int, prefix: str = "B") -> list[bytes]:
    names = ["ADAMS", "BAKER", "CLARK", "DAVIS"]
    return [
        adt(
            "A01",
            control_id=f"{prefix}{i}",
            hospital_number=f"H{i}",
            nhs_number=None,
            family=names[i],
            given="Pat",
            dob=f"19{40 + i}0101",
            location=f"AMU^A^A{i + 1}",
            visit=f"V{i}",
        )
        for i in range(n)
    ]


def msa(reply: bytes) -> list[tuple[str, str]]:
    return [(f[1], f[2]) for f in segments(reply, "MSA")]


def test_a_batch_in_one_frame_gets_a_batch_ack(live_server):
    with MllpClient("127.0.0.1", live_server.mllp.port) as client:
        reply = client.send(batch(admissions(3)))
    [fhs], [bhs], [bts], [fts] = (segments(reply, s) for s in ("FHS", "BHS", "BTS", "FTS"))
    assert fhs[2] == "WARDBOARD" and fhs[4] == "PAS" and fhs[11] == "F0001"
    assert bhs[11] == "B0001" and bhs[10].startswith("WBB")
    assert msa(reply) == [("AA", "B0"), ("AA", "B1"), ("AA", "B2")]
    assert len(segments(reply, "MSH")) == 3  # one ACK message per message
    assert bts[1] == "3" and bts[2] == "3 of 3 accepted"
    assert fts[1] == "1"
    assert reply.index(b"FHS") < reply.index(b"BHS") < reply.index(b"MSH") < reply.index(b"BTS")
    assert [s[1] for s in stays(live_server.services)] == ["AMU"] * 3
    assert [e.control_id for e in journal(live_server.services)] == ["B0", "B1", "B2"]


def test_one_bad_message_fails_alone_and_the_ack_says_which(live_server):
    good = admissions(3)
    bad = adt("A01", control_id="BAD1", hospital_number="H9", location="NOWARD^A^1")
    with MllpClient("127.0.0.1", live_server.mllp.port) as client:
        reply = client.send(batch([good[0], bad, good[1], good[2]]))
        # The connection is still usable for ordinary messages afterwards.
        after = client.send(adt("A08", control_id="AFTER"))
    assert msa(reply) == [("AA", "B0"), ("AE", "BAD1"), ("AA", "B1"), ("AA", "B2")]
    [err] = segments(reply, "ERR")
    assert err[3].startswith("103^") and "NOWARD" in err[8]
    [bts] = segments(reply, "BTS")
    assert bts[1] == "4" and bts[2] == "3 of 4 accepted; not accepted: BAD1 AE"
    assert len(stays(live_server.services)) == 3
    states = {e.control_id: e.state for e in journal(live_server.services)}
    assert states["BAD1"] == "failed" and states["B1"] == "applied"
    assert msa(after) == [("AA", "AFTER")]


def test_a_resent_batch_applies_nothing_twice(live_server):
    raw = batch(admissions(2))
    with MllpClient("127.0.0.1", live_server.mllp.port) as client:
        first = client.send(raw)
        second = client.send(raw)
    assert msa(first) == msa(second) == [("AA", "B0"), ("AA", "B1")]
    assert len(stays(live_server.services)) == 2
    assert len(journal(live_server.services)) == 2


def test_bts_count_mismatch_rejects_the_whole_batch_then_the_fixed_batch_is_accepted(
    live_server,
):
    messages = admissions(2)
    with MllpClient("127.0.0.1", live_server.mllp.port) as client:
        reply = client.send(batch(messages, count=3))
        assert msa(reply) == [("AR", "B0"), ("AR", "B1")]
        [bts] = segments(reply, "BTS")
        assert bts[1] == "2" and "BTS-1 says 3" in bts[2]
        assert "BTS-1 says 3" in segments(reply, "FTS")[0][2]
        assert all(e[3].startswith("100^") for e in segments(reply, "ERR"))
        assert stays(live_server.services) == []
        entries = journal(live_server.services)
        assert [e.state for e in entries] == ["rejected", "rejected"]
        assert all(e.control_id is None for e in entries)  # the corrected resend is not a dup
        fixed = client.send(batch(messages))
    assert msa(fixed) == [("AA", "B0"), ("AA", "B1")]
    assert len(stays(live_server.services)) == 2


def test_a_batch_that_cannot_be_split_gets_ar_and_the_listener_stays_up(live_server):
    junk = b"BHS|^~\\&|PAS|WGH\rPID|1||X^^^WGH^MR\rBTS|1\r"
    with MllpClient("127.0.0.1", live_server.mllp.port) as client:
        reply = client.send(junk)
        assert reply.startswith(b"BHS|")
        [(code, _)] = msa(reply)
        assert code == "AR"
        assert "outside any message" in segments(reply, "ERR")[0][8]
        assert msa(client.send(adt("A01", control_id="OK1"))) == [("AA", "OK1")]
    [rejected, applied] = journal(live_server.services)
    assert rejected.state == "rejected" and applied.state == "applied"


def test_batch_file_import_command(services, settings, runner, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("WARDBOARD_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("WARDBOARD_INSTANCE_PATH", str(tmp_path))
    good = tmp_path / "night.hl7"
    good.write_bytes(batch(admissions(3), newline=b"\r\n"))  # files often have CRLF
    bare = tmp_path / "bare.hl7"  # no envelope: messages one after another
    bare.write_bytes(b"\n".join(admissions(1, prefix="N")))
    result = runner.invoke(cli, ["hl7", "import-batch", str(good), str(bare)])
    assert result.exit_code == 0, result.output
    assert "night.hl7: 3 of 3 message(s) accepted" in result.output
    assert "bare.hl7: 1 of 1 message(s) accepted" in result.output
    ack = (tmp_path / "night.hl7.ack").read_bytes()
    assert msa(ack) == [("AA", "B0"), ("AA", "B1"), ("AA", "B2")]
    assert segments(ack, "BTS")[0][1] == "3"
    assert len(stays(services)) == 3  # N0 is B0's patient again (same hospital number)

    rerun = runner.invoke(cli, ["hl7", "import-batch", str(good)])
    assert rerun.exit_code == 0 and len(journal(services)) == 4  # nothing new journalled

    bad = tmp_path / "short.hl7"
    bad.write_bytes(batch(admissions(1, prefix="S"), count=5))
    result = runner.invoke(cli, ["hl7", "import-batch", str(bad)])
    assert result.exit_code == 1
    assert "BTS-1 says 5" in result.output and "Traceback" not in result.output
    missing = runner.invoke(cli, ["hl7", "import-batch", str(tmp_path / "nope.hl7")])
    assert missing.exit_code == 1 and "no such file" in missing.output


def test_drop_folder_imports_files_and_files_them_away(services, tmp_path: Path):
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "a.hl7").write_bytes(batch(admissions(2)))
    (folder / "b.hl7").write_bytes(batch(admissions(1, prefix="C"), count=2))
    (folder / "c.hl7.part").write_bytes(b"still being written")
    done = poll_folder(services.pipeline, folder)
    assert sorted(name for name, _ in done) == ["a.hl7", "b.hl7"]
    assert (folder / "done" / "a.hl7").exists()
    assert msa((folder / "done" / "a.hl7.ack").read_bytes()) == [("AA", "B0"), ("AA", "B1")]
    assert (folder / "failed" / "b.hl7").exists()
    assert msa((folder / "failed" / "b.hl7.ack").read_bytes()) == [("AR", "C0")]
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == ["c.hl7.part"]
    assert len(stays(services)) == 2
    assert poll_folder(services.pipeline, folder) == []  # nothing left to do
