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
    submit = "submit", "提交审核"
    return_ = "return", "退回修改"
    snapshot = "snapshot", "生成快照"
    view = "view", "查看记录"  # a decision record opened by staff (issue 24)
    export = "export", "导出"  # staff exported full records (decisions: whole ID numbers)


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
    # What else the change carried: the policy warnings acknowledged and by whom
    # ("acknowledged"), the effect on the reform ratios ("ratios": {measure: [before, after]}),
    # and "self_published" when four-eyes review was off (catalog.operations.items).
    details: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_rewriting_history(_mapper, _connection, target: AuditEvent) -> None:
    raise PermissionError(f"audit event {target.id} is append-only")


class AuthEventKind(LabelledEnum):
    login_ok = "login_ok", "登录成功"
    login_failed = "login_failed", "登录失败"
    login_throttled = "login_throttled", "登录尝试过多被拒"
    logout = "logout", "退出登录"
    session_refused = "session_refused", "失效会话被拒"
    session_expired = "session_expired", "会话超时"
    access_refused = "access_refused", "越权访问被拒"
    password_changed = "password_changed", "修改密码"
    password_reset = "password_reset", "管理员重置密码"
    account_created = "account_created", "新建账号"
    account_disabled = "account_disabled", "停用账号"
    lockout_cleared = "lockout_cleared", "解除登录锁定"


class AuthEvent(db.Model):
    """One authentication event or refused access: who, what, when, from where. Append-only."""

    __tablename__ = "auth_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, index=True
    )
    kind: Mapped[AuthEventKind] = mapped_column(enum_column(AuthEventKind), index=True)
    username: Mapped[str | None] = mapped_column(sa.String(50), index=True)  # as typed or known
    actor: Mapped[str | None] = mapped_column(sa.String(50))  # who did it, when not the user
    address: Mapped[str | None] = mapped_column(sa.String(45))
    method: Mapped[str | None] = mapped_column(sa.String(10))
    path: Mapped[str | None] = mapped_column(sa.String(300))
    detail: Mapped[str | None] = mapped_column(sa.String(300))


@event.listens_for(AuthEvent, "before_update")
@event.listens_for(AuthEvent, "before_delete")
def _refuse_rewriting_auth_log(_mapper, _connection, target: AuthEvent) -> None:
    raise PermissionError(f"auth event {target.id} is append-only")
