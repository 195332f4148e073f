"""The audit trail: append-only, written by the services in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column

from catalog.enums import LabelledEnum
from catalog.extensions import db
from catalog.models.catalog import enum_column, utcnow


class AuditAction(LabelledEnum):
    create = "create", "新建"
    draft = "draft", "保存草稿"
    change = "change", "修改"
    publish = "publish", "发布"
    retire = "retire", "停用"
    discard = "discard", "放弃草稿"
    import_ = "import", "导入"


class AuditEvent(db.Model):
    """Who did what to which object, when, why, and {field: [old, new]}."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, index=True
    )
    actor: Mapped[str] = mapped_column(sa.String(50), index=True)  # a username, or "seed"/"cli"
    action: Mapped[AuditAction] = mapped_column(enum_column(AuditAction), index=True)
    object_type: Mapped[str] = mapped_column(sa.String(30))
    object_code: Mapped[str] = mapped_column(sa.String(50), index=True)
    changes: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    reason: Mapped[str | None] = mapped_column(sa.Text)


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_rewriting_history(_mapper, _connection, target: AuditEvent) -> None:
    raise PermissionError(f"audit event {target.id} is append-only")
