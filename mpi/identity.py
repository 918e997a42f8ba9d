"""Finding the one patient record a message or a form is about.

This is the single function the rest of the system calls for identity. The tiers (exact
identifiers, NHS number, blocking and probabilistic scoring) live in ``mpi.resolve``.
"""

from __future__ import annotations

from mpi.resolve import DEMOGRAPHIC_FIELDS, Resolution, resolve_identity, survivor

__all__ = ["DEMOGRAPHIC_FIELDS", "Resolution", "resolve_identity", "survivor"]
