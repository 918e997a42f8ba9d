"""``python run.py users ...``: staff accounts, smartcards, ward kiosks and card-reader PCs.

Secrets (kiosk tokens, workstation secrets) are printed once, when made, and never again:
only their hashes are stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.db import utcnow
from whiteboard.auth import accounts
from whiteboard.auth.models import KioskToken, PatientPrivacy, StaffUser, Workstation
from whiteboard.auth.roles import STAFF_ROLES


@contextmanager
def _db() -> Iterator[Session]:
    from config.cli import _settings
    from config.db import make_engine
    from config.migrate import upgrade

    engine = make_engine(_settings().database_url)
    try:
        upgrade(engine)
        with Session(engine) as session:
            try:
                yield session
                session.commit()
            except accounts.AccountError as exc:
                session.rollback()
                raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()


def _secret_option(name: str, label: str) -> Callable[[Any], Any]:
    return click.option(
        f"--{name}",
        prompt=label,
        prompt_required=False,
        hide_input=True,
        default=None,
        help=f"the {label}; give the option without a value to be asked for it unseen",
    )


@click.group()
def users() -> None:
    """Staff accounts, smartcards, ward kiosks and card-reader workstations."""


@users.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(STAFF_ROLES))
@click.option("--name", "display_name", default="", help="Name shown on screen.")
@click.option("--card", default=None, help="Smartcard number.")
@_secret_option("pin", "PIN")
@_secret_option("password", "password")
@click.option("--practice", default=None, help="GPs: the practice code whose patients they see.")
def add(
    username: str,
    role: str,
    display_name: str,
    card: str | None,
    pin: str | None,
    password: str | None,
    practice: str | None,
) -> None:
    """Add a member of staff (card + PIN for most; password for administrators)."""
    if card and not pin:
        raise click.ClickException("a card needs a PIN (--pin)")
    if not card and not password:
        raise click.ClickException("give --card and --pin, or --password (administrators)")
    with _db() as db:
        accounts.add_user(
            db,
            username,
            role,
            display_name=display_name,
            card_number=card,
            pin=pin,
            password=password,
            practice=practice,
        )
    click.echo(f"added {role} {username}")


@users.command("card")
@click.argument("username")
@click.option("--card", required=True, help="New smartcard number ('' to withdraw the card).")
@_secret_option("pin", "PIN")
def card(username: str, card: str, pin: str | None) -> None:
    """Issue or replace a member of staff's smartcard (and PIN)."""
    with _db() as db:
        accounts.set_card(db, username, card or None, pin)
    click.echo(f"card for {username} {'set' if card else 'withdrawn'}")


@users.command("disable")
@click.argument("username")
def disable(username: str) -> None:
    """Disable an account; its open sessions end at their next request."""
    with _db() as db:
        ended = accounts.set_active(db, username, False, utcnow())
    click.echo(
        f"disabled {username}; ended {len(ended)} session(s); their open screens are dropped "
        "within WARDBOARD_SOCKET_RECHECK_SECONDS"
    )


@users.command("enable")
@click.argument("username")
def enable(username: str) -> None:
    """Enable an account again (and clear any lockout)."""
    with _db() as db:
        accounts.set_active(db, username, True, utcnow())
    click.echo(f"enabled {username}")


@users.command("list")
def list_users() -> None:
    """Every account, its role and whether it has a card."""
    with _db() as db:
        for u in db.scalars(select(StaffUser).order_by(StaffUser.username)):
            flags = [
                "card" if u.card_number else "",
                "password" if u.password_hash else "",
                f"practice={u.gp_practice_code}" if u.gp_practice_code else "",
                "" if u.active else "DISABLED",
            ]
            click.echo(f"{u.username:20} {u.role:14} {' '.join(f for f in flags if f)}")


@users.group("kiosk")
def kiosk() -> None:
    """Ward board kiosk tokens (one ward, read-only, privacy mode)."""


@kiosk.command("add")
@click.argument("ward")
@click.option("--label", default="")
def kiosk_add(ward: str, label: str) -> None:
    """Make a kiosk token for a ward's wall board; prints the board URL path once."""
    with _db() as db:
        k, token = accounts.add_kiosk(db, ward, label)
        kid = k.id
    click.echo(f"kiosk {kid} for ward {ward}: open /wards/{ward}?kiosk={token}")


@kiosk.command("revoke")
@click.argument("kiosk_id", type=int)
def kiosk_revoke(kiosk_id: int) -> None:
    """Revoke a kiosk token: its board is dropped within WARDBOARD_SOCKET_RECHECK_SECONDS."""
    with _db() as db:
        accounts.revoke_kiosk(db, kiosk_id, utcnow())
    click.echo(f"revoked kiosk {kiosk_id}")


@kiosk.command("list")
def kiosk_list() -> None:
    with _db() as db:
        for k in db.scalars(select(KioskToken).order_by(KioskToken.id)):
            state = "revoked" if k.revoked_at else "active"
            click.echo(f"{k.id:4} {k.ward_code:8} {state:8} {k.label}")


@users.group("workstation")
def workstation() -> None:
    """Card-reader workstations (their agent signs staff on and off)."""


@workstation.command("add")
@click.argument("name")
def workstation_add(name: str) -> None:
    """Register a workstation; prints its secret once (for the reader agent's config)."""
    with _db() as db:
        _ws, secret = accounts.add_workstation(db, name)
    click.echo(f"workstation {name}: secret {secret}")
    click.echo(f"reader agent header: Authorization: Workstation {name}:{secret}")


@workstation.command("list")
def workstation_list() -> None:
    with _db() as db:
        for w in db.scalars(select(Workstation).order_by(Workstation.name)):
            click.echo(f"{w.name:20} {'revoked' if w.revoked_at else 'active'}")


@users.command("privacy")
@click.argument("patient_id", type=int)
@click.option("--confidential/--not-confidential", default=None)
@click.option("--alias", default=None, help="Name shown on corridor boards when confidential.")
@click.option("--initials-only/--surname-and-initial", default=None)
def privacy(
    patient_id: int, confidential: bool | None, alias: str | None, initials_only: bool | None
) -> None:
    """How a patient appears on ward kiosks (alias when confidential, or initials only)."""
    with _db() as db:
        row = db.get(PatientPrivacy, patient_id) or PatientPrivacy(
            patient_id=patient_id, confidential=False, initials_only=False
        )
        if confidential is not None:
            row.confidential = confidential
        if alias is not None:
            row.alias = alias or None
        if initials_only is not None:
            row.initials_only = initials_only
        db.add(row)
    click.echo(f"privacy for patient {patient_id} updated")
