"""Public pages of 双公示 decision records (issue 24): the list with search and filters, its CSV
export, one page per record and one per organisation. Each page has a JSON twin under /api/v1/
(catalog.api.decisions); both render what catalog.decisions.listing returns."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa
from flask import Blueprint, Response, render_template, request, url_for

from catalog.decisions import listing
from catalog.decisions.publication import CSV_HEADER, LICENCE, PENALTY, csv_row
from catalog.decisions.report import is_unit, no_such_unit, unit_value, without_decisions
from catalog.domain import DomainError, Invalid
from catalog.enums import LicenceStatus, PenaltyCategory
from catalog.errors import error_response
from catalog.extensions import db
from catalog.public.export import safe_cell
from catalog.reports.decisions import requested_year
from catalog.twins import json_twin

blueprint = Blueprint("decisions", __name__)


def decisions_url(**changes) -> str:
    """The current list's URL with some arguments changed (None removes one); a new page of
    filters starts from the first page."""
    args = {key: value for key, value in request.args.items() if key != "cursor"}
    args.update(changes)
    return url_for("decisions.index", **{k: v for k, v in args.items() if v not in (None, "")})


@blueprint.get("/decisions")
def index():
    """双公示: the public licence and penalty decisions, newest first, with search and filters."""
    page, error, filters = None, None, listing.DecisionFilters()
    try:
        filters = listing.DecisionFilters.from_args(request.args)
        page = listing.list_decisions(filters, cursor=request.args.get("cursor"))
    except Invalid as exc:
        error = exc.message
    units, years = listing.list_options()
    args = request.args.to_dict()
    return render_template(
        "decisions/list.html",
        page=page,
        error=error,
        filters=filters,
        units=units,
        years=years,
        statuses=list(LicenceStatus),
        category_labels={category.value: category.label for category in PenaltyCategory},
        decisions_url=decisions_url,
        csv_url=url_for("decisions.export", **{k: v for k, v in args.items() if k != "cursor"}),
        json_url=json_twin(url_for("decisions_api.decisions", **args)),
    ), 400 if error else 200


@blueprint.get("/decisions.csv")
def export():
    """Every decision of the list with the page's filters, as CSV (UTF-8 with a BOM, so that
    Excel reads the Chinese), under the same privacy rules as the pages."""
    try:
        decisions = listing.export_decisions(listing.DecisionFilters.from_args(request.args))
    except Invalid as exc:
        return error_response(400, exc.message)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for decision in decisions:
        writer.writerow([safe_cell(value) for value in csv_row(decision)])
    return Response(
        "\ufeff" + buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=decisions.csv"},
    )


def _record_page(kind: str, decision_id: int):
    decision = listing.public_record(kind, decision_id)
    if decision is None:
        return error_response(404, listing.NOT_PUBLIC[kind])
    endpoint = "decisions_api.licence" if kind == LICENCE else "decisions_api.penalty"
    return render_template(
        "decisions/record.html",
        decision=decision,
        json_url=json_twin(url_for(endpoint, decision_id=decision_id)),
    )


@blueprint.get("/decisions/licences/<id:decision_id>")
def licence(decision_id: int):
    """One licence decision (行政许可决定), every public field."""
    return _record_page(LICENCE, decision_id)


@blueprint.get("/decisions/penalties/<id:decision_id>")
def penalty(decision_id: int):
    """One penalty decision (行政处罚决定) while it is published."""
    return _record_page(PENALTY, decision_id)


@blueprint.get("/decisions/organisations/<credit_code>")
def organisation(credit_code: str):
    """An organisation's (or sole trader's) public licences and penalties, by its credit code."""
    try:
        found = listing.organisation(credit_code)
    except Invalid as exc:
        return error_response(400, exc.message)
    if found is None:
        return error_response(404, listing.no_organisation(credit_code))
    return render_template(
        "decisions/organisation.html",
        organisation=found,
        json_url=json_twin(url_for("decisions_api.organisation", credit_code=found.credit_code)),
    )


ITEMS_PER_PAGE = 50
MAX_PAGE = 100_000


def _page_number(raw: str | None) -> int:
    """?page=N (1-based); DomainError (400) when it is not a number from 1 on."""
    raw = (raw or "1").strip()
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE:
        raise DomainError(f"页码（page）须为 1 到 {MAX_PAGE} 之间的整数。")
    return int(raw)


@blueprint.get("/decisions/items-without")
def items_without():
    """The 双公示 report's "licence items without a decision" of a year (and a data source
    unit), all of them, 50 a page in code order: where the report's first ones link to."""
    year = requested_year(request.args, "year")
    if year is None:
        raise DomainError(f"请指定决定年份（year），如 {2020}。")
    unit = unit_value(request.args.get("unit"))
    if unit is not None and not is_unit(unit):
        raise no_such_unit(unit)
    page = _page_number(request.args.get("page"))
    statement = without_decisions(year, unit)
    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(statement.order_by(None).subquery())
    )
    rows = db.session.execute(
        statement.offset((page - 1) * ITEMS_PER_PAGE).limit(ITEMS_PER_PAGE)
    ).all()
    last = max(1, -(-total // ITEMS_PER_PAGE))
    if page > last:
        raise DomainError(f"页码（page）超出范围：共 {last} 页。")

    def page_url(number: int) -> str:
        args = {"year": year, "unit": unit, "page": number if number > 1 else None}
        return url_for("decisions.items_without", **{k: v for k, v in args.items() if v})

    return render_template(
        "decisions/items_without.html",
        year=year,
        unit=unit,
        rows=rows,
        total=total,
        page=page,
        last=last,
        first_number=(page - 1) * ITEMS_PER_PAGE + 1,
        page_url=page_url,
    )
