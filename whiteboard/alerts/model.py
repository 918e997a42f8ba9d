"""What a rule returns: an Alert that boards, emails and reports render the same way.

Colour is never the only signal (about 8% of men have red-green colour blindness), so every
alert carries a symbol and a short label as well as a level.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Level = Literal["info", "amber", "red", "purple"]

# Higher is more severe. Purple is the A&E breach colour, above the red warning.
LEVEL_RANK: dict[str, int] = {"info": 0, "amber": 1, "red": 2, "purple": 3}


@dataclass(frozen=True)
class Clinician:
    """The doctor a breach is attributed to."""

    code: str
    name: str


@dataclass(frozen=True)
class Alert:
    """One alert for one patient.

    ``code`` is a stable identifier clients may key on (``vte``, ``obs``, ``news2``, ``result``,
    ``edd``, ``edd_time``, ``long_stay``, ``referral``, ``ae_4h``, ``ae_12h``, ``trolley_12h``).
    ``since`` is when the current state began; ``due_at`` the deadline the state is about.
    ``ref`` identifies the thing within the patient (an order id, a referral need) when a code
    can occur more than once.
    """

    code: str
    level: Level
    symbol: str
    label: str
    detail: str
    source: str
    since: datetime | None = None
    due_at: datetime | None = None
    responsible: Clinician | None = None
    ref: str | None = None

    def __post_init__(self) -> None:
        if self.level not in LEVEL_RANK:
            raise ValueError(f"unknown alert level {self.level!r}")
        if not self.symbol:
            raise ValueError("an alert needs a symbol so that colour is not the only signal")

    @property
    def rank(self) -> int:
        return LEVEL_RANK[self.level]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: datetimes as ISO 8601 strings, the clinician as a small object."""
        return {
            "code": self.code,
            "level": self.level,
            "symbol": self.symbol,
            "label": self.label,
            "detail": self.detail,
            "source": self.source,
            "since": _iso(self.since),
            "due_at": _iso(self.due_at),
            "responsible": (
                None
                if self.responsible is None
                else {"code": self.responsible.code, "name": self.responsible.name}
            ),
            "ref": self.ref,
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def by_severity(alerts: Iterable[Alert]) -> list[Alert]:
    """Most severe first; within a level the longest-standing first, then by code and ref."""
    return sorted(
        alerts,
        key=lambda a: (
            -a.rank,
            a.since is None,
            a.since.timestamp() if a.since else 0.0,
            a.code,
            a.ref or "",
        ),
    )
