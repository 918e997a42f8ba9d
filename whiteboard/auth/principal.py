"""Who is making this request: a signed-on member of staff, a ward kiosk, the metrics scraper,
or nobody."""

from __future__ import annotations

from dataclasses import dataclass

from whiteboard.auth.roles import KIOSK, allowed


@dataclass(frozen=True)
class Principal:
    kind: str  # "staff", "kiosk" or "service" (the metrics scraper)
    role: str
    name: str  # username, or kiosk:<id>
    display_name: str
    user_id: int | None = None
    signon_id: int | None = None
    ward_code: str | None = None  # kiosks: the one ward they may show
    practice_code: str | None = None  # GPs: the one practice whose patients they may see
    workstation: str = ""

    @property
    def is_kiosk(self) -> bool:
        return self.role == KIOSK

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    def may(self, permission: str) -> bool:
        return allowed(self.role, permission)

    def may_see_ward(self, ward_code: str) -> bool:
        return self.ward_code is None or self.ward_code == ward_code
