"""Staff sessions: who is signed in, and when a session ends."""

from __future__ import annotations

import logging
import time

from flask import Flask, current_app, flash, request, session
from flask_login import current_user, logout_user

from catalog.extensions import db, login_manager
from catalog.models import User

log = logging.getLogger("catalog.auth")


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The session names an account and its session version; an older version is refused."""
    try:
        account_id, version = (int(part) for part in user_id.split(":"))
    except ValueError:
        return None
    user = db.session.get(User, account_id)
    if user is None or not user.active or user.session_version != version:
        log.info("refused stale session of account %s from %s", account_id, request.remote_addr)
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


def _enforce_timeouts() -> None:
    if not current_user.is_authenticated:
        return
    now = int(time.time())
    idle = current_app.config["STAFF_IDLE_TIMEOUT"].total_seconds()
    absolute = current_app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    if now - session.get("seen_at", 0) > idle or now - session.get("login_at", 0) > absolute:
        log.info("session of %s expired", current_user.username)
        end_session()
        flash("登录已超时，请重新登录。")
        return
    session["seen_at"] = now


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "staff.login"
    login_manager.login_message = "请先登录。"
    app.before_request(_enforce_timeouts)
