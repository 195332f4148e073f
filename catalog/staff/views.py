"""Staff pages: sign-in, the item list, the audit trail. Thin handlers: every write goes
through catalog.operations, and catalog.edge's @transaction commits it."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy.orm import selectinload
from werkzeug.urls import iri_to_uri

from catalog import throttle
from catalog.accounts import authenticate
from catalog.auth_log import record_auth_event
from catalog.edge import after_commit, transaction
from catalog.elements import NOT_PROVIDED
from catalog.enums import ItemType, ReviewState, Status
from catalog.extensions import db
from catalog.figures import INCOMPLETE, MISSING_PREDICATES, POLICY_PREDICATES
from catalog.models import (
    ApprovalItem,
    AuditAction,
    AuditEvent,
    AuthEventKind,
    HandlingItem,
    ItemDraft,
)
from catalog.operations.accounts import sign_out
from catalog.paging import CodeCursor, before_id, code_cursor
from catalog.staff.forms import LoginForm, LogoutForm
from catalog.staff.permissions import can_edit, requires
from catalog.staff.sessions import end_session, start_session

blueprint = Blueprint("staff", __name__)

AUDIT_PAGE_SIZE = 50
ITEM_PAGE_SIZE = 50
NO_UNIT = NOT_PROVIDED  # the unit filter's choice for the items without a handling unit
NO_REVIEW = "none"  # the review filter's choice for the items without a draft


def safe_next(target: str | None) -> str:
    """Where a sign-in may send the browser: a path on this site, else the staff home.

    The target is checked as given and again as the Location header will carry it: Werkzeug
    quotes the header (iri_to_uri), and Python's urlsplit inside it drops tabs and newlines,
    as browsers do, so "/<TAB>/evil.com" would go out as "//evil.com". A target with any
    control, format or space character, or a backslash (a slash to browsers), is refused
    outright; so is anything with a scheme or a host, or starting with two slashes."""
    if target and _is_path_here(target):
        location = iri_to_uri(target)
        if _is_path_here(location):
            return location
    return url_for("staff.index")


def _is_path_here(url: str) -> bool:
    if any(char == "\\" or char.isspace() or unicodedata.category(char)[0] == "C" for char in url):
        return False
    if not url.startswith("/") or url.startswith("//"):
        return False
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc


@blueprint.route("/login", methods=["GET", "POST"])
@transaction
def login():
    """Sign in (public by nature); failures and successes are logged with the address, and
    every attempt is counted by the sign-in throttle (catalog.throttle) before its password
    is checked."""
    form = LoginForm()
    if request.method != "POST":
        return render_template("staff/login.html", form=form)
    attempt = throttle.begin_attempt(form.username.data)
    if attempt.refused_by:
        return _throttled(attempt.refused_by)
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        if user is not None:
            after_commit(lambda: throttle.give_back(attempt))
            start_session(user)
            record_auth_event(AuthEventKind.login_ok, user.username)
            if user.must_change_password:
                flash("管理员已重置您的密码，请先设置您自己的新密码。")
                return redirect(url_for("accounts.password"))
            return redirect(safe_next(request.args.get("next")))
        record_auth_event(AuthEventKind.login_failed, form.username.data)
        form.password.errors.append("用户名或密码不正确，或账号已停用。")
    return render_template("staff/login.html", form=form, warning=attempt.warning()), 401


def _throttled(lockout: throttle.Lockout):
    """429: how long to wait, in minutes, and the way back to the form."""
    record_auth_event(
        AuthEventKind.login_throttled, request.form.get("username"), detail=lockout.counter.rule
    )
    page = render_template(
        "staff/login_throttled.html",
        lockout=lockout,
        retry=url_for("staff.login", next=request.args.get("next") or None),
    )
    return page, 429, {"Retry-After": str(lockout.seconds)}


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
    """Items in code order, filtered, a page at a time (keyset: `cursor=`), with the total."""
    conditions = _item_filters()
    cursor = code_cursor(max_code_length=40)
    code = ApprovalItem.code
    page_query = (
        sa.select(ApprovalItem)
        .where(*conditions)
        .options(selectinload(ApprovalItem.draft).load_only(ItemDraft.state, ItemDraft.review_note))
        .limit(ITEM_PAGE_SIZE)
    )
    if cursor is None:
        page_query = page_query.order_by(code)
    elif cursor.direction == "after":
        page_query = page_query.where(code > cursor.code).order_by(code)
    else:
        page_query = page_query.where(code < cursor.code).order_by(code.desc())
    items = list(db.session.scalars(page_query))
    backwards = cursor is not None and cursor.direction == "before"
    if backwards:
        items.reverse()
    # the total, and how many come before the cursor, in one aggregate over the same filters
    earlier = sa.false()
    if cursor is not None:
        earlier = code < cursor.code if backwards else code <= cursor.code
    total, before_cursor = db.session.execute(
        sa.select(sa.func.count(), sa.func.count(sa.case((earlier, 1))))
        .select_from(ApprovalItem)
        .where(*conditions)
    ).one()
    start = max(before_cursor - len(items), 0) if backwards else before_cursor
    previous_url = next_url = None
    if start > 0:  # there is a cursor: a first page starts at 0
        previous_url = _list_url(CodeCursor("before", items[0].code if items else cursor.code))
    if items and start + len(items) < total:
        next_url = _list_url(CodeCursor("after", items[-1].code))
    return render_template(
        "staff/index.html",
        items=items,
        total=total,
        first=start + 1,
        last=start + len(items),
        previous_url=previous_url,
        next_url=next_url,
        first_url=_list_url(None) if cursor and (start > 0 or not items) else None,
        incomplete=_incomplete([item.id for item in items]),
        units=_units(),
        no_unit=NO_UNIT,
        no_review=NO_REVIEW,
        statuses=list(Status),
        review_states=list(ReviewState),
        item_types=list(ItemType),
        logout_form=LogoutForm(),
    )


def _item_filters() -> list[sa.ColumnElement[bool]]:
    """The list's filters from the query string, as conditions that combine (AND). A value
    the list does not offer filters nothing."""
    args = request.args
    conditions: list[sa.ColumnElement[bool]] = []
    if args.get("status") in {s.value for s in Status}:
        conditions.append(ApprovalItem.status == args["status"])
    if args.get("type") in {t.value for t in ItemType}:
        conditions.append(ApprovalItem.item_type == args["type"])
    text = (args.get("q") or "").strip()[:100]
    if text:
        # a plain substring of the code or the name: the user's % and _ are characters
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(
            sa.or_(
                ApprovalItem.name.ilike(pattern, escape="\\"),
                ApprovalItem.code.ilike(pattern, escape="\\"),
            )
        )
    if args.get("drafts") == "1":
        conditions.append(ApprovalItem.draft.has())
    review = args.get("review")
    if review == NO_REVIEW:
        conditions.append(~ApprovalItem.draft.has())
    elif review in {state.value for state in ReviewState}:
        conditions.append(ApprovalItem.draft.has(ItemDraft.state == review))
    unit = (args.get("unit") or "").strip()[:100]
    if unit == NO_UNIT:
        conditions.append(MISSING_PREDICATES["handling_unit"])
    elif unit:
        conditions.append(ApprovalItem.handling_unit == unit)
    if args.get("exceptions") == "1":
        conditions.append(ApprovalItem.handling_items.any(sa.or_(*POLICY_PREDICATES.values())))
    if args.get("gaps") == "1":
        conditions.append(ApprovalItem.handling_items.any(INCOMPLETE))
    return conditions


def _list_url(cursor: CodeCursor | None) -> str:
    """This list with its filters kept, at another page."""
    args = {key: value for key, value in request.args.items() if key != "cursor" and value}
    if cursor is not None:
        args["cursor"] = cursor.encode()
    return url_for("staff.index", **args)


def _units() -> list[str]:
    """The handling units to filter by, and 暂未提供 last when an item has none."""
    found = db.session.scalars(sa.select(ApprovalItem.handling_unit).distinct()).all()
    units = sorted({unit for unit in found if unit and unit.strip()})
    without = any(not (unit and unit.strip()) for unit in found)
    return [*units, NO_UNIT] if without else units


def _incomplete(item_ids: list[int]) -> set[int]:
    """Which of these items lack an element (catalog.elements), as their rows stand: one query
    for the page."""
    if not item_ids:
        return set()
    return set(
        db.session.scalars(
            sa.select(HandlingItem.item_id)
            .join(ApprovalItem)
            .where(HandlingItem.item_id.in_(item_ids), INCOMPLETE)
            .distinct()
        )
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
