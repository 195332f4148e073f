"""Staff pages: thin handlers over the accounts, drafts and services modules."""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from catalog.accounts import authenticate, end_sessions
from catalog.auth_log import record_auth_event
from catalog.drafts import (
    EditConflict,
    NotAllowed,
    diff,
    discard_draft,
    editable_version,
    publish_draft,
    published_data,
)
from catalog.enums import ItemType, Status
from catalog.extensions import db, limiter
from catalog.figures import POLICY_PREDICATES
from catalog.models import ApprovalItem, AuditAction, AuditEvent, AuthEventKind, HandlingItem
from catalog.ratios import PolicyRule
from catalog.services import (
    CatalogValidationError,
    retire_handling_item,
    retire_item,
)
from catalog.staff.forms import (
    LoginForm,
    LogoutForm,
    NewHandlingForm,
    RetireForm,
    ReviewForm,
)
from catalog.staff.permissions import can_edit, can_publish, requires
from catalog.staff.sessions import end_session, start_session

blueprint = Blueprint("staff", __name__)

WARNING_RULES = (PolicyRule.promised_over_limit, PolicyRule.compression_below_minimum)
AUDIT_PAGE_SIZE = 50


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("staff.index")


def _account_key() -> str:
    return "login-account:" + (request.form.get("username") or "").strip().lower()[:50]


def _login_throttled(limit) -> None:
    record_auth_event(
        AuthEventKind.login_throttled,
        (request.form.get("username") or "").strip(),
        detail=f"limit {limit.limit}",
    )


@blueprint.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
    methods=["POST"],
    deduct_when=lambda response: response.status_code != 302,
    on_breach=_login_throttled,
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    methods=["POST"],
    key_func=_account_key,
    deduct_when=lambda response: response.status_code != 302,
    on_breach=_login_throttled,
)
def login():
    """Sign in (public by nature); failures and successes are logged with the address."""
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        if user is not None:
            db.session.commit()
            start_session(user)
            record_auth_event(AuthEventKind.login_ok, user.username)
            if user.must_change_password:
                flash("管理员已重置您的密码，请先设置您自己的新密码。")
                return redirect(url_for("accounts.password"))
            return redirect(_safe_next(request.args.get("next")))
        record_auth_event(AuthEventKind.login_failed, form.username.data)
        form.password.errors.append("用户名或密码不正确，或账号已停用。")
    return render_template("staff/login.html", form=form), 200 if not form.errors else 401


@blueprint.post("/logout")
@requires(can_edit)
def logout():
    """Sign out everywhere: every copy of every session cookie of this user stops working."""
    if not LogoutForm().validate_on_submit():
        abort(400)
    end_sessions(current_user)
    db.session.commit()
    record_auth_event(AuthEventKind.logout, current_user.username)
    end_session()
    flash("已退出登录。")
    return redirect(url_for("staff.login"))


@blueprint.get("/")
@requires(can_edit)
def index():
    """Items with their status and pending drafts, filtered."""
    query = sa.select(ApprovalItem).order_by(ApprovalItem.code)
    status = request.args.get("status")
    if status in {s.value for s in Status}:
        query = query.where(ApprovalItem.status == status)
    item_type = request.args.get("type")
    if item_type in {t.value for t in ItemType}:
        query = query.where(ApprovalItem.item_type == item_type)
    text = (request.args.get("q") or "").strip()[:100]
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            sa.or_(
                ApprovalItem.name.like(pattern, escape="\\"),
                ApprovalItem.code.like(pattern, escape="\\"),
            )
        )
    if request.args.get("drafts") == "1":
        query = query.where(ApprovalItem.draft.has())
    unit = (request.args.get("unit") or "").strip()[:100]
    if unit:
        query = query.where(ApprovalItem.handling_unit == unit)
    if request.args.get("exceptions") == "1":
        breaking = sa.or_(*POLICY_PREDICATES.values())
        query = query.where(ApprovalItem.handling_items.any(breaking))
    items = db.session.scalars(query.limit(500)).all()
    units = db.session.scalars(
        sa.select(ApprovalItem.handling_unit).distinct().order_by(ApprovalItem.handling_unit)
    ).all()
    return render_template(
        "staff/index.html",
        items=items,
        units=units,
        statuses=list(Status),
        item_types=list(ItemType),
        logout_form=LogoutForm(),
    )


def item_or_404(code: str) -> ApprovalItem:
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == code[:40]))
    if item is None:
        abort(404)
    return item


@blueprint.get("/items/<code>")
@requires(can_edit)
def item(code: str):
    """One item for staff: its draft and the diff to publish, its handling items, its history."""
    found = item_or_404(code)
    history = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.object_code == found.code)
        .order_by(AuditEvent.id.desc()).limit(100)
    ).all()  # fmt: skip
    pending = diff(published_data(found), found.draft.data) if found.draft else {}
    version = editable_version(found)
    published_codes = {h.code for h in found.handling_items}
    draft_only = [
        h
        for h in (found.draft.data["handling_items"] if found.draft else [])
        if h["code"] not in published_codes
    ]
    return render_template(
        "staff/item.html",
        item=found,
        pending=pending,
        history=history,
        review_form=ReviewForm(version=version),
        draft_only=draft_only,
        new_handling_form=NewHandlingForm(version=version),
        retire_form=RetireForm(),
        may_publish=can_publish(current_user),
        logout_form=LogoutForm(),
    )


def handling_or_404(code: str) -> HandlingItem:
    handling = db.session.scalar(sa.select(HandlingItem).where(HandlingItem.code == code[:50]))
    if handling is None:
        abort(404)
    return handling


@blueprint.post("/items/<code>/publish")
@requires(can_publish)
def publish(code: str):
    item = item_or_404(code)
    form = ReviewForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        publish_draft(
            item, actor=current_user, expected_version=form.version.data, note=form.note.data
        )
    except EditConflict:
        db.session.rollback()
        flash("草稿在您审核期间已被修改，请重新查看后再发布。")
        return redirect(url_for("staff.item", code=item.code))
    except CatalogValidationError as exc:
        db.session.rollback()
        flash("未发布：" + "；".join(" ".join(messages) for messages in exc.errors.values()))
        return redirect(url_for("staff.item", code=item.code))
    except NotAllowed as exc:
        db.session.rollback()
        flash(str(exc))
        return redirect(url_for("staff.item", code=item.code))
    db.session.commit()
    flash("已发布。")
    return redirect(url_for("staff.item", code=item.code))


@blueprint.post("/items/<code>/discard")
@requires(can_edit)
def discard(code: str):
    """Drop an item's pending draft."""
    item = item_or_404(code)
    form = ReviewForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        discard_draft(item, actor=current_user.username, expected_version=form.version.data)
    except (EditConflict, CatalogValidationError):
        db.session.rollback()
        flash("草稿已变化或不存在，请重新查看。")
        return redirect(url_for("staff.item", code=item.code))
    db.session.commit()
    flash("已放弃草稿。")
    return redirect(url_for("staff.item", code=item.code))


@blueprint.post("/handling/<code>/retire")
@requires(can_publish)
def retire_handling(code: str):
    """Withdraw one handling item from the public catalog."""
    handling = handling_or_404(code)
    form = RetireForm()
    if not form.validate_on_submit():
        flash("请说明停用原因。")
        return redirect(url_for("staff.item", code=handling.item.code))
    retire_handling_item(handling, actor=current_user.username, reason=form.reason.data)
    db.session.commit()
    flash(f"业务办理项 {handling.code} 已停用。")
    return redirect(url_for("staff.item", code=handling.item.code))


@blueprint.post("/items/<code>/retire")
@requires(can_publish)
def retire(code: str):
    item = item_or_404(code)
    form = RetireForm()
    if not form.validate_on_submit():
        flash("请说明停用原因。")
        return redirect(url_for("staff.item", code=item.code))
    retire_item(item, actor=current_user.username, reason=form.reason.data)
    db.session.commit()
    flash("事项已停用。")
    return redirect(url_for("staff.item", code=item.code))


@blueprint.get("/audit")
@requires(can_edit)
def audit():
    """The audit trail, newest first, filtered by actor, action and object code."""
    query = sa.select(AuditEvent).order_by(AuditEvent.id.desc())
    actor = (request.args.get("actor") or "").strip()[:50]
    if actor:
        query = query.where(AuditEvent.actor == actor)
    action = request.args.get("action")
    if action in {a.value for a in AuditAction}:
        query = query.where(AuditEvent.action == action)
    code = (request.args.get("code") or "").strip()[:50]
    if code:
        query = query.where(AuditEvent.object_code == code)
    before = request.args.get("before", type=int)
    if before:
        query = query.where(AuditEvent.id < before)
    events = db.session.scalars(query.limit(AUDIT_PAGE_SIZE + 1)).all()
    more = len(events) > AUDIT_PAGE_SIZE
    events = events[:AUDIT_PAGE_SIZE]
    return render_template(
        "staff/audit.html",
        events=events,
        actions=list(AuditAction),
        next_before=events[-1].id if more else None,
        logout_form=LogoutForm(),
    )
