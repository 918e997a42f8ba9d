"""Making staff, kiosks and sessions in tests through the same code the product uses."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

from config.db import utcnow
from whiteboard.auth import accounts

_numbers = itertools.count(5001)


@dataclass
class TestUser:
    __test__ = False
    id: int
    username: str
    role: str
    card: str
    pin: str
    password: str | None = None


class StaffMaker:
    def __init__(self, services: Any) -> None:
        self.services = services

    def __call__(
        self,
        role: str,
        *,
        username: str | None = None,
        card: str | None = None,
        pin: str = "2468",
        password: str | None = None,
        practice: str | None = None,
    ) -> TestUser:
        n = next(_numbers)
        username = username or f"{role}{n}"
        card = card or f"90{n}"
        if role == "gp" and practice is None:
            practice = "P1"
        with self.services.uow_factory() as uow:
            user = accounts.add_user(
                uow.session,
                username,
                role,
                display_name=f"{role.title()} {n}",
                card_number=card,
                pin=pin,
                password=password,
                practice=practice,
            )
            uid = user.id
            uow.commit()
        return TestUser(uid, username, role, card, pin, password)


def kiosk_maker(services: Any):  # type: ignore[no-untyped-def]
    def make(ward: str) -> str:
        with services.uow_factory() as uow:
            _k, token = accounts.add_kiosk(uow.session, ward)
            uow.commit()
        return token

    return make


def open_session(services: Any, user: TestUser, workstation: str = "") -> str:
    with services.sessions() as db:
        staff = accounts.get_user(db, user.username)
        _signon, token = accounts.open_signon(db, staff, "card", workstation, utcnow())
        db.commit()
    return token


CSRF = re.compile(r'(?:name="csrf_token" value|data-csrf)="([^"]+)"')


def csrf_token(client: Any, path: str = "/signon") -> str:
    page = client.get(path).get_data(as_text=True)
    match = CSRF.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_on(client: Any, card: str, pin: str, workstation: str = "", next_url: str = "") -> Any:
    response = client.post(
        "/signon",
        data={
            "csrf_token": csrf_token(client),
            "card": card,
            "pin": pin,
            "workstation": workstation,
            "next": next_url,
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return response


def sign_on_page(page: Any, base_url: str, user: TestUser) -> Any:
    """Sign a Playwright page on as a card reader does: card number, Enter, then the PIN."""
    page.goto(f"{base_url}/signon")
    page.fill("#card", user.card)
    page.press("#card", "Enter")
    page.keyboard.type(user.pin)
    page.press("#pin", "Enter")
    page.wait_for_url(f"{base_url}/")
    return page
