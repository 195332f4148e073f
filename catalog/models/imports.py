"""Header mappings saved under a source name, offered for that source's next file."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from catalog.extensions import db
from catalog.models.catalog import utcnow

MAX_SOURCE_NAME = 50  # the audit trail names the mapping by it (AuditEvent.object_code)


class ImportMapping(db.Model):
    """A bureau's headers that seed/import_headers.yaml does not know -> a field or "ignore",
    in the shape of a --mapping file (catalog.import_headers.check_mapping), by source name."""

    __tablename__ = "import_mapping"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_name: Mapped[str] = mapped_column(sa.String(MAX_SOURCE_NAME), unique=True)
    mapping: Mapped[dict[str, str]] = mapped_column(sa.JSON)
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    updated_by: Mapped[str] = mapped_column(sa.String(50))
