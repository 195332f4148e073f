"""Staff pages of the 双公示 decision records (issue 24): the list with search and filters, the
full record (opening it is audited: operations.record_opened), the forms to enter and edit a
licence or a penalty decision, and ending a penalty's publication early (信用修复). Every write
goes through catalog.decisions.operations; @transaction commits."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from catalog.decisions import operations, rules, staff_export, staff_search
from catalog.decisions.columns import COLUMNS, HEADERS, KIND_LABELS, LICENCE, PENALTY
from catalog.decisions.lookups import period_for
from catalog.domain import Conflict, Invalid
from catalog.edge import keep_nothing, start_over, transaction
from catalog.enums import ItemType, PenaltyCategory
from catalog.extensions import db
from catalog.models import ApprovalItem, AuditEvent, LicenceDecision, PenaltyDecision
from catalog.paging import before_id
from catalog.staff.decision_forms import (
    FORMS,
    CreditRepairForm,
    form_data,
    record_values,
    shown,
)
from catalog.staff.forms import LogoutForm
from catalog.staff.permissions import can_edit, requires
from catalog.staff.views import blueprint
from catalog.templating import display_today

MODELS = {LICENCE: LicenceDecision, PENALTY: PenaltyDecision}
OBJECT_TYPES = {LICENCE: "licence_decision", PENALTY: "penalty_decision"}
PAGE_SIZE = 50
KINDS = "<any(licence, penalty):kind>"
CATEGORIES = {category.value: category.label for category in PenaltyCategory}


def _decision_or_404(kind: str, decision_id: int):
    return db.get_or_404(MODELS[kind], decision_id)


def _plain(value: str) -> str:
    """A query string's value as a search takes it: printable characters only (a NUL is
    refused before any view, catalog.errors), spaces trimmed, at most 100 characters."""
    return " ".join("".join(c if c.isprintable() else " " for c in value[:400]).split())[:100]


def list_filters(kind: str) -> tuple[staff_search.StaffSearch, dict[str, str]]:
    """The list's conditions from the query string (with how they are read:
    staff_search.plan), and the values shown back in the form.
    The same filters as the public list's and the report's links (year, unit, late, a
    licence's item, a penalty's category), so a report's number opens here with the penalties
    whose publication has ended among its records."""
    model = MODELS[kind]
    args = {name: _plain(request.args.get(name, "")) for name in ("q", "year", "unit", "item")}
    args["late"] = request.args.get("late") if request.args.get("late") in ("0", "1") else ""
    category = request.args.get("category", "")
    args["category"] = category if kind == PENALTY and category in CATEGORIES else ""
    if kind != LICENCE:
        args["item"] = ""
    conditions = []
    if args["year"].isdigit() and 1900 < int(args["year"]) < 2200:
        year = int(args["year"])
        conditions.append(model.decided_on.between(date(year, 1, 1), date(year, 12, 31)))
    else:
        args["year"] = ""
    if args["unit"]:
        conditions.append(model.data_source_unit == args["unit"])
    if args["late"]:
        late = model.published_on > model.publish_by
        conditions.append(late if args["late"] == "1" else sa.not_(late))
    if args["item"]:  # an unknown code selects nothing
        item = sa.select(ApprovalItem.id).where(ApprovalItem.code == args["item"])
        conditions.append(LicenceDecision.item_id == item.scalar_subquery())
    if args["category"]:
        conditions.append(PenaltyDecision.category == PenaltyCategory(args["category"]))
    # the words through the grams' index where it serves them (staff_search.plan)
    found = staff_search.plan(model, args["q"], conditions, unit=args["unit"],
                              late=args["late"] == "1")  # fmt: skip
    return found, args


@blueprint.get("/decisions")
@requires(can_edit)
def decisions():
    """The decision records of one kind, newest entered first: search by document number,
    party name, credit code or ID number; filter by year, unit, late publication."""
    kind = request.args.get("kind") if request.args.get("kind") in MODELS else LICENCE
    model = MODELS[kind]
    found, args = list_filters(kind)
    listed = staff_search.page(model, found, q=args["q"], before=before_id(), size=PAGE_SIZE)
    units, years = staff_search.options(model)
    return render_template(
        "staff/decisions.html", kind=kind, kinds=KIND_LABELS, rows=listed.rows,
        total=listed.total, total_exact=listed.total_exact, args=args, years=years, units=units,
        headers=HEADERS[kind],
        filters={name: value for name, value in args.items() if value}, categories=CATEGORIES,
        export_limit=staff_export.EXPORT_LIMIT, labels=staff_export.FILTER_LABELS,
        late_labels=staff_export.LATE_LABELS, next_before=listed.next_before,
        today=display_today(), logout_form=LogoutForm(),
    )  # fmt: skip


def _history(kind: str, decision) -> list[AuditEvent]:
    return db.session.scalars(
        sa.select(AuditEvent)
        .where(
            AuditEvent.object_type == OBJECT_TYPES[kind],
            AuditEvent.object_code == decision.document_number,
        )
        .order_by(AuditEvent.id.desc())
        .limit(30)
    ).all()


@blueprint.get(f"/decisions/{KINDS}/<id:decision_id>")
@requires(can_edit)
@transaction
def decision(kind: str, decision_id: int):
    """The full record, a natural person's whole ID number included; the audit trail names
    who opened it."""
    record = _decision_or_404(kind, decision_id)
    operations.record_opened(record, actor=current_user)
    today = display_today()
    repair_form = None
    if kind == PENALTY and operations.is_publicly_listed(record, today):
        repair_form = CreditRepairForm(formdata=None, version=record.version)
    return _record_page(kind, record, repair_form)


def _shortest_period(record) -> str:
    """The rule that says when a penalty's publication may end early, in words (the period in
    force on its decision date: data, catalog.decisions.lookups)."""
    row = period_for(record.severity, record.decided_on)
    if row is None:
        return ""
    earliest = rules.PublicationPeriod(row.min_months, row.max_months).earliest_end(
        record.decided_on
    )
    return (
        f"{record.severity.label}最短公示{row.min_months}个月（{row.source}），"
        f"{earliest}起可提前结束公示"
    )


def _record_page(kind, record, repair_form, *, errors=None, status=200):
    return render_template(
        "staff/decision.html", kind=kind, kind_label=KIND_LABELS[kind], record=record,
        columns=COLUMNS[kind], today=display_today(), repair_form=repair_form, shown=shown,
        errors=errors or {}, events=_history(kind, record),
        shortest=_shortest_period(record) if repair_form is not None else "",
        listed=kind == PENALTY and operations.is_publicly_listed(record, display_today()),
        logout_form=LogoutForm(),
    ), status  # fmt: skip


def _licence_items() -> list[tuple[str, str]]:
    """(code, name) of the catalog's licence items, offered under the 事项编码 field."""
    return db.session.execute(
        sa.select(ApprovalItem.code, ApprovalItem.name)
        .where(ApprovalItem.item_type == ItemType.licence)
        .order_by(ApprovalItem.code)
    ).all()


def _form_page(kind, form, *, record=None, errors=None, conflict=None, differences=(), status=200):
    return render_template(
        "staff/decision_form.html", kind=kind, kind_label=KIND_LABELS[kind], form=form,
        columns=COLUMNS[kind], record=record, errors=errors or {}, conflict=conflict,
        differences=differences, licence_items=_licence_items() if kind == LICENCE else [],
        logout_form=LogoutForm(),
    ), status  # fmt: skip


@blueprint.route(f"/decisions/{KINDS}/new", methods=["GET", "POST"])
@requires(can_edit)
@transaction
def new_decision(kind: str):
    """Enter a decision; every rule is checked by the operation, each error beside its field."""
    form = FORMS[(kind, False)]()
    if request.method == "GET":
        return _form_page(kind, form)
    if not form.validate_on_submit():
        return _form_page(kind, form, status=400)
    create = operations.create_licence if kind == LICENCE else operations.create_penalty
    try:
        record = create(form_data(form, kind), actor=current_user, reason=form.reason.data or None)
    except Invalid as exc:
        return _form_page(kind, form, errors=exc.errors, status=400)
    flash(f"已录入{KIND_LABELS[kind]}“{record.document_number}”。")
    return redirect(url_for("staff.decision", kind=kind, decision_id=record.id))


@blueprint.route(f"/decisions/{KINDS}/<id:decision_id>/edit", methods=["GET", "POST"])
@requires(can_edit)
@transaction
def edit_decision(kind: str, decision_id: int):
    """Edit a decision from the version the form was opened on; a save over a newer one is
    refused (409) and shows what changed meanwhile."""
    record = _decision_or_404(kind, decision_id)
    form_class = FORMS[(kind, True)]
    if request.method == "GET":
        operations.record_opened(record, actor=current_user)  # the form shows it whole
        form = form_class(formdata=None, version=record.version, **record_values(record))
        return _form_page(kind, form, record=record)
    form = form_class()
    if not form.validate_on_submit():
        return _form_page(kind, form, record=record, status=400)
    update = operations.update_licence if kind == LICENCE else operations.update_penalty
    submitted = form_data(form, kind)
    try:
        changes = update(
            record, submitted, expected_version=form.version.data, actor=current_user,
            reason=form.reason.data,
        )  # fmt: skip
    except Invalid as exc:
        return _form_page(kind, form, record=record, errors=exc.errors, status=400)
    except (Conflict, StaleDataError) as lost:
        start_over()  # nothing of this save is kept; read what won
        record = _decision_or_404(kind, decision_id)
        current = record_values(record)
        differences = [
            (column.header, str(submitted[column.key] or ""), current[column.key])
            for column in COLUMNS[kind]
            if str(submitted[column.key] or "") != current[column.key]
        ]
        form.version.data = record.version
        message = (
            getattr(lost, "message", None)
            or operations.DecisionConflict(record.document_number).message
        )
        return _form_page(
            kind, form, record=record, conflict=message, differences=differences, status=409
        )
    flash("已保存修改。" if changes else "内容没有变化，未保存。")
    if not changes:
        keep_nothing()
    return redirect(url_for("staff.decision", kind=kind, decision_id=record.id))


@blueprint.post("/decisions/penalty/<id:decision_id>/repair")
@requires(can_edit)
@transaction
def repair_decision(decision_id: int):
    """信用修复: end the penalty's publication today, with the reason; audited."""
    record = _decision_or_404(PENALTY, decision_id)
    form = CreditRepairForm()
    if not form.validate_on_submit():
        return _record_page(PENALTY, record, form, status=400)
    try:
        operations.end_publication_early(
            record, reason=form.reason.data, actor=current_user, today=display_today(),
            expected_version=form.version.data or None,
        )  # fmt: skip
    except Invalid as exc:
        keep_nothing()
        return _record_page(PENALTY, record, form, errors=exc.errors, status=400)
    flash("已结束公示（信用修复）：该处罚不再在公开页面和接口中显示，工作人员仍可查看。")
    return redirect(url_for("staff.decision", kind=PENALTY, decision_id=record.id))
