"""Account pages: admins list, create, disable and reset accounts and read the sign-in log;
every staff member changes their own password."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from catalog.accounts import (
    AccountError,
    change_password,
    create_user,
    disable_user,
    set_password,
)
from catalog.auth_log import record_auth_event
from catalog.extensions import db
from catalog.models import AuthEvent, AuthEventKind, User
from catalog.staff.forms import (
    AccountForm,
    DisableAccountForm,
    LogoutForm,
    PasswordChangeForm,
    PasswordResetForm,
)
from catalog.staff.permissions import can_edit, can_manage_accounts, requires
from catalog.staff.sessions import start_session

blueprint = Blueprint("accounts", __name__)

EVENTS_PAGE_SIZE = 100


def _page(form: AccountForm, status: int = 200):
    users = db.session.scalars(sa.select(User).order_by(User.username)).all()
    return render_template(
        "staff/accounts.html",
        users=users,
        form=form,
        disable_form=DisableAccountForm(),
        logout_form=LogoutForm(),
    ), status


@blueprint.get("/accounts")
@requires(can_manage_accounts)
def index():
    return _page(AccountForm(formdata=None))


@blueprint.post("/accounts")
@requires(can_manage_accounts)
def create():
    form = AccountForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    try:
        user = create_user(form.username.data, form.password.data, form.role.data)
    except AccountError as exc:
        db.session.rollback()
        form.username.errors.append(str(exc))
        return _page(form, 400)
    db.session.commit()
    record_auth_event(
        AuthEventKind.account_created,
        user.username,
        actor=current_user.username,
        detail=f"role {user.role.value}",
    )
    flash(f"已创建账号 {user.username}（{user.role.label}）。")
    return redirect(url_for("accounts.index"))


@blueprint.post("/accounts/<int:user_id>/disable")
@requires(can_manage_accounts)
def disable(user_id: int):
    if not DisableAccountForm().validate_on_submit():
        abort(400)
    user = db.session.get(User, user_id) or abort(404)
    if user.id == current_user.id:
        flash("不能停用自己的账号。")
        return redirect(url_for("accounts.index"))
    disable_user(user)
    db.session.commit()
    record_auth_event(AuthEventKind.account_disabled, user.username, actor=current_user.username)
    flash(f"账号 {user.username} 已停用，其所有登录会话已失效。")
    return redirect(url_for("accounts.index"))


@blueprint.route("/accounts/<int:user_id>/password", methods=["GET", "POST"])
@requires(can_manage_accounts)
def reset_password(user_id: int):
    """Set a temporary password for someone who forgot theirs; their sessions end."""
    user = db.session.get(User, user_id) or abort(404)
    form = PasswordResetForm()
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            try:
                set_password(user, form.password.data, temporary=True)
            except AccountError as exc:
                db.session.rollback()
                form.password.errors.append(str(exc))
            else:
                db.session.commit()
                record_auth_event(
                    AuthEventKind.password_reset, user.username, actor=current_user.username
                )
                flash(
                    f"已为 {user.username} 设置临时密码，其所有登录会话已失效；"
                    "对方下次登录时须设置自己的新密码。"
                )
                return redirect(url_for("accounts.index"))
    return render_template(
        "staff/reset_password.html", form=form, user=user, logout_form=LogoutForm()
    ), status


@blueprint.route("/password", methods=["GET", "POST"])
@requires(can_edit)
def password():
    """Change one's own password; other sessions end, this one continues."""
    form = PasswordChangeForm()
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            user = current_user._get_current_object()
            try:
                change_password(user, form.current.data, form.password.data)
            except AccountError as exc:
                db.session.rollback()
                field = form.current if "当前密码" in str(exc) else form.password
                field.errors.append(str(exc))
            else:
                db.session.commit()
                record_auth_event(AuthEventKind.password_changed, user.username)
                start_session(user)  # a new session for this browser; every other one ended
                flash("密码已修改。其他设备上的登录已失效。")
                return redirect(url_for("staff.index"))
    return render_template("staff/password.html", form=form, logout_form=LogoutForm()), status


@blueprint.get("/accounts/events")
@requires(can_manage_accounts)
def events():
    """The sign-in log, newest first, filtered by account and kind."""
    query = sa.select(AuthEvent).order_by(AuthEvent.id.desc())
    username = (request.args.get("username") or "").strip()[:50]
    if username:
        query = query.where(sa.func.lower(AuthEvent.username) == username.lower())
    kind = request.args.get("kind")
    if kind in {k.value for k in AuthEventKind}:
        query = query.where(AuthEvent.kind == kind)
    before = request.args.get("before", type=int)
    if before:
        query = query.where(AuthEvent.id < before)
    rows = db.session.scalars(query.limit(EVENTS_PAGE_SIZE + 1)).all()
    return render_template(
        "staff/auth_events.html",
        events=rows[:EVENTS_PAGE_SIZE],
        next_before=rows[EVENTS_PAGE_SIZE - 1].id if len(rows) > EVENTS_PAGE_SIZE else None,
        username=username,
        kind=kind,
        kinds=list(AuthEventKind),
        logout_form=LogoutForm(),
    )
