"""Account changes: each one and its auth event are written in the same transaction, so the
sign-in log holds a change exactly when the change was kept (catalog.auth_log)."""

from __future__ import annotations

from catalog import accounts, throttle
from catalog.accounts import AccountError
from catalog.auth_log import add_auth_event
from catalog.models import AuthEventKind, Role, User
from catalog.operations.actor import Actor

Who = User | Actor | str


def create_account(username: str, password: str, role: Role | str, *, actor: Who) -> User:
    """A new staff account (admins, or a command)."""
    actor = Actor.of(actor)
    actor.require(Role.admin, "只有管理员可以新建账号。")
    user = accounts.create_user(username, password, role)
    add_auth_event(AuthEventKind.account_created, user.username, actor=actor.name,
                   detail=f"角色：{user.role.label}")  # fmt: skip
    return user


def disable_account(user: User, *, actor: Who) -> None:
    """Disable an account and end all of its sessions at once; no one disables their own."""
    actor = Actor.of(actor)
    actor.require(Role.admin, "只有管理员可以停用账号。")
    if actor.name == user.username and not actor.is_command:
        raise AccountError("不能停用自己的账号。")
    if not user.active:
        raise AccountError(f"账号 {user.username} 已是停用状态。")
    accounts.disable_user(user)
    add_auth_event(AuthEventKind.account_disabled, user.username, actor=actor.name)


def reset_password(user: User, password: str, *, actor: Who) -> None:
    """An admin's reset: a temporary password the user must replace at the next sign-in (a
    command's reset is final); every session of the account ends."""
    actor = Actor.of(actor)
    actor.require(Role.admin, "只有管理员可以重置密码。")
    accounts.set_password(user, password, temporary=not actor.is_command)
    add_auth_event(AuthEventKind.password_reset, user.username, actor=actor.name)


def change_own_password(user: User, current: str, new: str) -> None:
    """The user's own change (the current password is asked for); other sessions end."""
    accounts.change_password(user, current, new)
    add_auth_event(AuthEventKind.password_changed, user.username)


def sign_out(user: User) -> None:
    """End every session of the user, copied cookies included."""
    accounts.end_sessions(user)
    add_auth_event(AuthEventKind.logout, user.username)


def clear_account_lockout(user: User, *, actor: Who) -> None:
    """Let an account that the sign-in throttle locked out sign in again at once (admins)."""
    actor = Actor.of(actor)
    actor.require(Role.admin, "只有管理员可以解除登录锁定。")
    lockout = throttle.account_lockouts([user.username]).get(throttle.account_name(user.username))
    if lockout is None:
        raise AccountError(f"账号 {user.username} 当前没有被锁定。")
    throttle.clear(lockout)
    add_auth_event(AuthEventKind.lockout_cleared, user.username, actor=actor.name,
                   detail=f"解除锁定：{lockout.counter.rule}")  # fmt: skip


def clear_address_lockout(address: str, *, actor: Who) -> None:
    """Let a client address that the sign-in throttle locked out try again at once (admins):
    an office whose staff all sign in from one address, say."""
    actor = Actor.of(actor)
    actor.require(Role.admin, "只有管理员可以解除登录锁定。")
    found = throttle.lockouts([throttle.address_counter(address)])
    if not found:
        raise AccountError(f"来源地址 {address} 当前没有被锁定。")
    throttle.clear(found[0])
    add_auth_event(AuthEventKind.lockout_cleared, actor=actor.name,
                   detail=f"解除锁定：{found[0].counter.rule}（{address}）")  # fmt: skip
