"""The catalogue's tables: units, counters, agencies, lĩnh vực and procedures.

Part of the data model (survey/models.py re-exports them): every table that rates or counts
something points at these rows.
"""

from __future__ import annotations

from flask_babel import get_locale
from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import db


class Named:
    """A catalogue row named in the three languages; Vietnamese is the fallback."""

    name_vi: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300), default="")
    name_km: Mapped[str] = mapped_column(String(300), default="")

    def name_in(self, locale: str) -> str:
        """Return the name in `locale`, falling back to Vietnamese."""
        return getattr(self, f"name_{locale}", "") or self.name_vi

    @property
    def name(self) -> str:
        """The name in the current request's language."""
        return self.name_in(str(get_locale() or "vi"))


class Unit(Named, db.Model):
    """A service centre or a commune service point."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    visit_codes_required: Mapped[bool] = mapped_column(Boolean, default=False)
    parent: Mapped[Unit | None] = relationship(remote_side="Unit.id")
    counters: Mapped[list[Counter]] = relationship(back_populates="unit", order_by="Counter.code")


class Agency(Named, db.Model):
    """A sở, ngành or UBND xã that owns procedures."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)


class Field(Named, db.Model):
    """A lĩnh vực grouping procedures."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)


class Service(Named, db.Model):
    """A thủ tục hành chính; `national_code` only where a public source gives it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    national_code: Mapped[str | None] = mapped_column(String(20))
    field_id: Mapped[int] = mapped_column(ForeignKey("field.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    field: Mapped[Field] = relationship()
    agency: Mapped[Agency] = relationship()


class Counter(Named, db.Model):
    """A quầy at a unit."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    unit: Mapped[Unit] = relationship(back_populates="counters")
