"""Staff pages: sign-in, the item list, the audit trail. Thin handlers: every write goes
through catalog.operations, and catalog.edge's @transaction commits it."""

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

from catalog.accounts import authenticate
from catalog.auth_log import record_auth_event
from catalog.edge import transaction
from catalog.enums import ItemType, ReviewState, Status
from catalog.extensions import db, limiter
from catalog.figures import POLICY_PREDICATES
from catalog.models import (
    ApprovalItem,
    AuditAction,
    AuditEvent,
    AuthEventKind,
    HandlingItem,
    ItemDraft,
)
from catalog.operations.accounts import sign_out
from catalog.paging import before_id
from catalog.staff.forms import LoginForm, LogoutForm
from catalog.staff.permissions import can_edit, requires
from catalog.staff.sessions import end_session, start_session

blueprint = Blueprint("staff", __name__)

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
@transaction
def login():
    """Sign in (public by nature); failures and successes are logged with the address."""
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        if user is not None:
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
@transaction
def logout():
    """Sign out everywhere: every copy of every session cookie of this user stops working."""
    if not LogoutForm().validate_on_submit():
        abort(400)
    sign_out(current_user._get_current_object())
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
    review = request.args.get("review")
    if review in {state.value for state in ReviewState}:
        query = query.where(ApprovalItem.draft.has(ItemDraft.state == review))
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
        review_states=list(ReviewState),
        item_types=list(ItemType),
        logout_form=LogoutForm(),
    )


def item_or_404(code: str) -> ApprovalItem:
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == code[:40]))
    if item is None:
        abort(404)
    return item


def handling_or_404(code: str) -> HandlingItem:
    handling = db.session.scalar(sa.select(HandlingItem).where(HandlingItem.code == code[:50]))
    if handling is None:
        abort(404)
    return handling


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
    before = before_id()
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
