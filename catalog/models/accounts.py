"""Staff accounts."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from catalog.enums import LabelledEnum
from catalog.extensions import db
from catalog.models.catalog import enum_column, utcnow


class Role(LabelledEnum):
    """What a staff member may do; each role can do everything the ones before it can."""

    editor = "editor", "编辑"  # edits drafts
    reviewer = "reviewer", "审核"  # also publishes and retires
    admin = "admin", "管理员"  # also manages accounts

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def includes(self, other: Role) -> bool:
        return self.rank >= other.rank


class User(db.Model):
    """A staff member who can sign in under /staff/."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(50), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on logout, password change and disabling: every older session cookie stops working.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Set when an admin resets the password: the user must choose their own at next sign-in.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    # Flask-Login's interface.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role.value}>"
