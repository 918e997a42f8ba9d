"""Clinicians as the record knows them: the responsible doctor on a stay."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from config.db import Base


class Clinician(Base):
    __tablename__ = "clinician"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # GMC or local code (XCN-1)
    family_name: Mapped[str] = mapped_column(String(100), default="")
    given_names: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(20), default="Dr")
    grade: Mapped[str | None] = mapped_column(String(30))  # consultant, registrar, ...
    email: Mapped[str | None] = mapped_column(String(200))

    @property
    def display_name(self) -> str:
        initial = f"{self.given_names[:1]} " if self.given_names else ""
        return f"{self.prefix} {initial}{self.family_name}".strip()
