"""Staff accounts: the rules of usernames and passwords, signing in, ending sessions. Account
changes go through catalog.operations.accounts, which audits them."""

from __future__ import annotations

import logging
import re

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from catalog.domain import DomainError
from catalog.extensions import db
from catalog.models import Role, User, utcnow

log = logging.getLogger("catalog.auth")

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
MIN_PASSWORD_SCORE = 2  # zxcvbn 0..4: below 2 is a common or easily guessed password
USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,50}$")
# A hash to check against when the account does not exist, so both cases take as long.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class AccountError(DomainError):
    """An account request that breaks a rule; the message says which, in Chinese."""


def check_password(password: str, *, username: str = "") -> None:
    """Raise AccountError unless the password is long enough and not a common one."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"密码至少需要{MIN_PASSWORD_LENGTH}个字符。")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"密码不能超过{MAX_PASSWORD_LENGTH}个字符。")
    # imported here: its word lists take 12 MB of every worker that imports it (and 30 MB
    # while they load), and only the few requests that set a password need them
    from zxcvbn import zxcvbn

    if zxcvbn(password, user_inputs=[username, "xuchang", "许昌", "jiaotong"])["score"] < (
        MIN_PASSWORD_SCORE
    ):
        raise AccountError("密码过于常见或容易猜到，请换一个更长、更少见的密码。")


def create_user(username: str, password: str, role: Role | str) -> User:
    username = (username or "").strip()
    if not USERNAME.match(username):
        raise AccountError("用户名须为3到50个字母、数字、下划线、点或连字符。")
    try:
        role = Role(role)
    except ValueError:
        raise AccountError(f"角色无效，可选：{'、'.join(r.value for r in Role)}。") from None
    if db.session.scalar(
        sa.select(User.id).where(sa.func.lower(User.username) == username.lower())
    ):
        raise AccountError(f"用户名 {username} 已存在。")
    check_password(password, username=username)
    user = User(username=username, password_hash=generate_password_hash(password), role=role)
    db.session.add(user)
    db.session.flush()
    log.info("account created: %s (%s)", username, role.value)
    return user


def find_user(username: str) -> User | None:
    return db.session.scalar(
        sa.select(User).where(sa.func.lower(User.username) == (username or "").strip().lower())
    )


def authenticate(username: str, password: str) -> User | None:
    """The active user with these credentials, or None (the same time either way)."""
    user = find_user(username)
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def end_sessions(user: User) -> None:
    """Every session of this user stops working, copied cookies included."""
    user.session_version += 1


def disable_user(user: User) -> None:
    user.active = False
    end_sessions(user)
    log.info("account disabled: %s", user.username)


def set_password(user: User, password: str, *, temporary: bool = False) -> None:
    """A new password; every session of the user ends. A temporary one (an admin's reset)
    must be replaced by the user at their next sign-in."""
    check_password(password, username=user.username)
    user.password_hash = generate_password_hash(password)
    user.must_change_password = temporary
    end_sessions(user)


def change_password(user: User, current: str, new: str) -> None:
    """The user's own change: the current password is required, and the new one must differ."""
    if not check_password_hash(user.password_hash, current or ""):
        raise AccountError("当前密码不正确。")
    if check_password_hash(user.password_hash, new or ""):
        raise AccountError("新密码不能与当前密码相同。")
    set_password(user, new)
