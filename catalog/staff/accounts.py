"""Account management pages (admins only): list, create, disable."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from catalog.accounts import AccountError, create_user, disable_user
from catalog.extensions import db
from catalog.models import User
from catalog.staff.forms import AccountForm, DisableAccountForm, LogoutForm
from catalog.staff.permissions import can_manage_accounts, requires

blueprint = Blueprint("accounts", __name__)
log = logging.getLogger("catalog.auth")


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
    log.info("account %s created by %s", user.username, current_user.username)
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
    log.info("account %s disabled by %s", user.username, current_user.username)
    flash(f"账号 {user.username} 已停用，其所有登录会话已失效。")
    return redirect(url_for("accounts.index"))
