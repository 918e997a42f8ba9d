"""Who is acting: the one place clinical routes learn the signed-in clinician.

The acting clinician is the signed-on member of staff (whiteboard/web/access.py); consultants
act as doctors for EDD gating, as the seed hospital's rule is about any doctor.
"""

from __future__ import annotations

from dataclasses import dataclass

from whiteboard.auth import roles
from whiteboard.web.access import current_principal


@dataclass(frozen=True)
class Actor:
    code: str
    name: str
    role: str


def current_actor() -> Actor | None:
    """The acting clinician, or None when no member of staff is signed on."""
    principal = current_principal()
    if principal is None or not principal.is_staff:
        return None
    role = "doctor" if principal.role in (roles.DOCTOR, roles.CONSULTANT) else principal.role
    return Actor(code=principal.name[:40], name=principal.display_name, role=role)
