"""Account pages: admins list, create, disable and reset accounts, see and clear the sign-in
throttle's lockouts and read the sign-in log; every staff member changes their own password."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from catalog import throttle
from catalog.accounts import AccountError
from catalog.edge import keep_nothing, transaction
from catalog.extensions import db
from catalog.models import AuthEvent, AuthEventKind, User
from catalog.operations.accounts import (
    change_own_password,
    clear_account_lockout,
    create_account,
    disable_account,
)
from catalog.operations.accounts import (
    clear_address_lockout as clear_address_lockout_of,
)
from catalog.operations.accounts import (
    reset_password as reset_account_password,
)
from catalog.paging import before_id
from catalog.staff.forms import (
    AccountForm,
    ClearAddressLockoutForm,
    ClearLockoutForm,
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
    try:
        locked = throttle.account_lockouts(user.username for user in users)
        locked_addresses = throttle.address_lockouts()
    except throttle.ThrottleUnavailable:
        locked, locked_addresses = None, []
    return render_template(
        "staff/accounts.html",
        users=users,
        form=form,
        disable_form=DisableAccountForm(),
        lockouts=locked,
        address_lockouts=locked_addresses,
        account_name=throttle.account_name,
        clear_form=ClearLockoutForm(),
        clear_address_form=ClearAddressLockoutForm,
        logout_form=LogoutForm(),
    ), status


@blueprint.get("/accounts")
@requires(can_manage_accounts)
def index():
    return _page(AccountForm(formdata=None))


@blueprint.post("/accounts")
@requires(can_manage_accounts)
@transaction
def create():
    form = AccountForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    try:
        user = create_account(
            form.username.data, form.password.data, form.role.data, actor=current_user
        )
    except AccountError as exc:
        form.username.errors.append(exc.message)
        return _page(form, 400)
    flash(f"已创建账号 {user.username}（{user.role.label}）。")
    return redirect(url_for("accounts.index"))


def _act_on_account(form, user_id: int, operation, done: str):
    """A POST of the accounts page that changes one account: the operation's refusal is
    flashed (nothing kept), its success says `done` (formatted with the username)."""
    if not form.validate_on_submit():
        abort(400)
    user = db.session.get(User, user_id) or abort(404)
    try:
        operation(user, actor=current_user)
    except AccountError as exc:
        keep_nothing()
        flash(exc.message)
        return redirect(url_for("accounts.index"))
    flash(done.format(username=user.username))
    return redirect(url_for("accounts.index"))


@blueprint.post("/accounts/<id:user_id>/disable")
@requires(can_manage_accounts)
@transaction
def disable(user_id: int):
    return _act_on_account(DisableAccountForm(), user_id, disable_account,
                           "账号 {username} 已停用，其所有登录会话已失效。")  # fmt: skip


@blueprint.post("/accounts/<id:user_id>/unlock")
@requires(can_manage_accounts)
@transaction
def clear_lockout(user_id: int):
    """End the sign-in throttle's lockout of an account now (it ends by itself later)."""
    return _act_on_account(ClearLockoutForm(), user_id, clear_account_lockout,
                           "已解除账号 {username} 的登录锁定，可立即重新登录。")  # fmt: skip


@blueprint.post("/accounts/unlock-address")
@requires(can_manage_accounts)
@transaction
def clear_address_lockout():
    """End the lockout of a client address (every attempt from it was refused)."""
    form = ClearAddressLockoutForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        clear_address_lockout_of(form.address.data, actor=current_user)
    except AccountError as exc:
        keep_nothing()
        flash(exc.message)
        return redirect(url_for("accounts.index"))
    flash(f"已解除来源地址 {form.address.data} 的登录锁定。")
    return redirect(url_for("accounts.index"))


@blueprint.route("/accounts/<id:user_id>/password", methods=["GET", "POST"])
@requires(can_manage_accounts)
@transaction
def reset_password(user_id: int):
    """Set a temporary password for someone who forgot theirs; their sessions end."""
    user = db.session.get(User, user_id) or abort(404)
    form = PasswordResetForm()
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            try:
                reset_account_password(user, form.password.data, actor=current_user)
            except AccountError as exc:
                form.password.errors.append(exc.message)
            else:
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
@transaction
def password():
    """Change one's own password; other sessions end, this one continues."""
    form = PasswordChangeForm()
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            user = current_user._get_current_object()
            try:
                change_own_password(user, form.current.data, form.password.data)
            except AccountError as exc:
                field = form.current if "当前密码" in exc.message else form.password
                field.errors.append(exc.message)
            else:
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
    before = before_id()
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
