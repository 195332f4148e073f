"""The window (办事窗口) of each handling unit: where and when citizens are received."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from catalog.extensions import db
from catalog.models.catalog import utcnow

# Bounds of each field (catalog.operations.units refuses longer values in Chinese).
MAX_NAME = 50  # the audit trail names a unit by it (AuditEvent.object_code)
MAX_ADDRESS = 200
MAX_PHONE = 30
MAX_HOURS = 500
MAX_MAP_URL = 500
MAX_NOTES = 1000


class ServiceUnit(db.Model):
    """One handling unit's window, keyed by the unit's name as items write it in their
    handling_unit (承办机构). Every field but the name may be unknown (NULL: 暂未提供)."""

    __tablename__ = "service_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(MAX_NAME), unique=True)
    address: Mapped[str | None] = mapped_column(sa.String(MAX_ADDRESS))
    phone: Mapped[str | None] = mapped_column(sa.String(MAX_PHONE))
    hours: Mapped[str | None] = mapped_column(sa.String(MAX_HOURS))
    map_url: Mapped[str | None] = mapped_column(sa.String(MAX_MAP_URL))
    notes: Mapped[str | None] = mapped_column(sa.String(MAX_NOTES))
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    updated_by: Mapped[str] = mapped_column(sa.String(50))

    __mapper_args__ = {"version_id_col": version}
