"""Staff sessions: who is signed in, and when a session ends."""

from __future__ import annotations

import time

from flask import Flask, Response, current_app, flash, redirect, request, session, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import current_user, logout_user

from catalog.auth_log import record_auth_event
from catalog.extensions import db, login_manager
from catalog.models import AuthEventKind, User


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The session names an account and its session version; an older version is refused."""
    try:
        account_id, version = (int(part) for part in user_id.split(":"))
    except ValueError:
        return None
    user = db.session.get(User, account_id)
    if user is None or not user.active or user.session_version != version:
        record_auth_event(
            AuthEventKind.session_refused,
            user.username if user else None,
            detail=f"账号编号 {account_id}，会话版本 {version}（已失效）",
        )
        return None
    return user


def start_session(user: User) -> None:
    """A fresh session for a user who just signed in: nothing of the old one survives."""
    from flask_login import login_user

    session.clear()
    login_user(user)
    session.permanent = True
    session["login_at"] = session["seen_at"] = int(time.time())


def end_session() -> None:
    logout_user()
    session.clear()


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with nothing done for a request that carries no session
    cookie, as every public reader's: no signer is built to open its empty session, and an
    empty session left unchanged writes nothing (only the Vary header, if it was read)."""

    def open_session(self, app: Flask, request) -> SecureCookieSession | None:
        if app.secret_key and self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SecureCookieSession, response: Response) -> None:
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def _signed_in() -> bool:
    """Whether a staff account is signed in, without loading it for a request that names none
    (a public reader's): sessions are the only way in (no remember-me cookie, no API keys)."""
    return "_user_id" in session and current_user.is_authenticated


def _enforce_timeouts() -> None:
    if not _signed_in():
        return
    now = int(time.time())
    idle = current_app.config["STAFF_IDLE_TIMEOUT"].total_seconds()
    absolute = current_app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    if now - session.get("seen_at", 0) > idle or now - session.get("login_at", 0) > absolute:
        record_auth_event(AuthEventKind.session_expired, current_user.username)
        end_session()
        flash("登录已超时，请重新登录。")
        return
    session["seen_at"] = now


# What a user whose password an admin reset may still do before choosing their own.
BEFORE_PASSWORD_CHANGE = {"accounts.password", "staff.logout", "staff.login", "static"}


def _require_own_password():
    if (
        _signed_in()
        and current_user.must_change_password
        and request.endpoint not in BEFORE_PASSWORD_CHANGE
    ):
        flash("管理员已重置您的密码，请先设置您自己的新密码。")
        return redirect(url_for("accounts.password"))
    return None


def init_app(app: Flask) -> None:
    app.session_interface = CookieSessionInterface()
    login_manager.init_app(app)
    login_manager.login_view = "staff.login"
    login_manager.login_message = "请先登录。"
    app.before_request(_enforce_timeouts)
    app.before_request(_require_own_password)
