"""Demo accounts for ``serve --demo`` only: the one place default credentials exist.

They are made fresh in the throw-away demo database and printed at start-up, so a real
installation (no --demo) starts with no account at all; ``run.py users add`` makes the first.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from whiteboard.auth import accounts
from whiteboard.models import Ward

DEMO_STAFF = (
    # username, role, name, card, pin, password, practice
    ("nurse", "nurse", "Nurse N. Demo", "1001", "1234", None, None),
    ("doctor", "doctor", "Dr D. Demo", "1002", "1234", None, None),
    ("manager", "manager", "Manager M. Demo", "1003", "1234", None, None),
    ("gp", "gp", "Dr G. Practice", "1004", "1234", None, "P84001"),
    ("admin", "admin", "Administrator", None, None, "demo-admin-password", None),
)


def seed_demo_security(session: Session, base_url: str) -> list[str]:
    """Make the demo staff, a workstation and a kiosk token per ward; return what to print."""
    lines = [
        "  Demo sign-on (demo only):   card 1001 PIN 1234 (nurse), 1002 doctor, "
        "1003 manager, 1004 GP;  admin / demo-admin-password"
    ]
    for username, role, name, card, pin, password, practice in DEMO_STAFF:
        accounts.add_user(
            session,
            username,
            role,
            display_name=name,
            card_number=card,
            pin=pin,
            password=password,
            practice=practice,
        )
    _ws, secret = accounts.add_workstation(session, "demo-pc")
    lines.append(f"  Card reader: Authorization: Workstation demo-pc:{secret}")
    lines.append("  Ward kiosks (wall boards, privacy mode):")
    for ward in session.scalars(select(Ward).order_by(Ward.position)):
        _k, token = accounts.add_kiosk(session, ward.code, f"{ward.code} demo board")
        lines.append(f"    {ward.code:5} {base_url}/wards/{ward.code}?kiosk={token}")
    return lines
