"""JSON endpoints: the twins of the public pages, from the same query functions."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request, url_for

from catalog.api.openapi import MAX_CURSOR_LENGTH, MAX_UNIT_LENGTH, openapi_document
from catalog.api.schemas import DEADLINE, ITEM, UNIT, dump_hits
from catalog.errors import error_response
from catalog.operations.units import all_units, find_unit
from catalog.public.queries import (
    DeadlineInputError,
    handling_deadlines,
    published_handling_item,
    published_item,
    run_search,
)
from catalog.reports import decisions
from catalog.reports.queries import comparison, provenance, report_source
from catalog.reports.snapshots import list_snapshots
from catalog.search import DEFAULT_LIMIT, MAX_LIMIT, MAX_QUERY_LENGTH
from catalog.twins import json_twin

blueprint = Blueprint("api", __name__)


@blueprint.get("/report")
def report():
    """The reform report of the published catalog, or of a snapshot (?snapshot=<label>)."""
    selected = report_source(request.args.get("snapshot") or None)
    return jsonify(
        decisions.with_section(selected.report, decisions.of_source(selected, request.args))
    )


@blueprint.get("/report/items")
def report_items():
    """The handling items (or items) behind one count of the report: /reports/items's twin."""
    listed = provenance(report_source(request.args.get("snapshot") or None), request.args)
    if listed.lists_items:
        rows = [
            {"code": row.code, "name": row.name, "type": row.item_type.value,
             "handling_unit": row.handling_unit}
            for row in listed.rows
        ]  # fmt: skip
    else:
        rows = [
            {"code": row.code, "item_code": row.item_code, "item_name": row.item_name,
             "situation": row.situation, "type": row.item_type.value,
             "handling_unit": row.handling_unit, "case_type": row.facts.case_type.value,
             "statutory_days": row.facts.statutory_days,
             "promised_days": row.facts.promised_days, "visits": row.facts.visits,
             "online_depth": row.facts.online_depth,
             # a data-quality list also says which elements each row lacks (catalog.elements)
             **({"missing": list(row.missing or ())} if listed.reads_elements else {})}
            for row in listed.rows
        ]  # fmt: skip
    return jsonify({
        "measure": listed.measure_key,
        "label": listed.label,
        "type": listed.item_type.value if listed.item_type else None,
        "unit": listed.unit,
        "total": listed.total,
        "page": listed.page,
        "pages": listed.pages,
        "limited": listed.limited,
        "statutory_days": listed.statutory_days,
        "promised_days": listed.promised_days,
        "rows": rows,
    })  # fmt: skip


@blueprint.get("/report/compare")
def report_compare():
    """Ratio changes and item changes between two snapshots (to: a label or current)."""
    return jsonify(comparison(request.args))


@blueprint.get("/snapshots")
def snapshots():
    """Every report snapshot, oldest first."""
    return jsonify({
        "snapshots": [
            {"label": s.label, "created_at": s.created_at.isoformat(timespec="seconds"),
             "created_by": s.created_by, "note": s.note, "fingerprint": s.fingerprint}
            for s in list_snapshots()
        ]
    })  # fmt: skip


@blueprint.get("/items")
def items():
    """Search results: the twin of /items."""
    raw_limit = request.args.get("limit", str(DEFAULT_LIMIT))
    if not (raw_limit.isascii() and raw_limit.isdigit()) or not 1 <= int(raw_limit) <= MAX_LIMIT:
        return error_response(400, f"limit 须为1到{MAX_LIMIT}之间的整数。")
    # The documented lengths hold for the parameters as sent (the search strips spaces first).
    for name, longest in (("q", MAX_QUERY_LENGTH), ("unit", MAX_UNIT_LENGTH),
                          ("cursor", MAX_CURSOR_LENGTH)):  # fmt: skip
        if len(request.args.get(name, "")) > longest:
            return error_response(400, f"{name} 过长：最多{longest}个字符。")
    result, error = run_search(
        request.args.get("q", ""),
        request.args,
        cursor=request.args.get("cursor"),
        limit=int(raw_limit),
    )
    if error:
        return error_response(400, error)
    return jsonify({
        "items": dump_hits(result.hits),
        "total": result.total,
        "facets": result.facets,
        "next": result.next_cursor,
    })  # fmt: skip


@blueprint.get("/items/<code>")
def item(code: str):
    """One published item with its handling items, materials and fees."""
    found = published_item(code)
    if found is None:
        return error_response(404, f"没有编码为 {code[:40]} 的已发布事项。")
    return jsonify(ITEM.dump(found))


@blueprint.get("/units")
def units():
    """Every handling unit's window (办理窗口), by name."""
    return jsonify({"units": [UNIT.dump(unit) for unit in all_units()]})


@blueprint.get("/units/<path:name>")
def unit(name: str):
    """One handling unit's window, by the unit's name (as items write their 承办机构)."""
    found = find_unit(name)
    if found is None:
        return error_response(404, f"没有名为“{name[:50]}”的单位的办理窗口。")
    return jsonify(UNIT.dump(found))


@blueprint.get("/handling-items/<code>/deadline")
def deadline(code: str):
    """The promised and statutory completion dates for an application date."""
    handling = published_handling_item(code)
    if handling is None:
        return error_response(404, f"没有编码为 {code[:50]} 的已发布业务办理项。")
    try:
        result = handling_deadlines(handling, request.args.get("date"))
    except DeadlineInputError as exc:
        return error_response(400, str(exc))
    return jsonify(DEADLINE.dump({
        "handling_item": handling.code,
        "applied_on": result.applied_on,
        "promised_days": handling.promised_days,
        "promised_date": result.promised,
        "statutory_days": handling.statutory_days,
        "statutory_date": result.statutory,
        "promised_estimated": result.promised_estimated,
        "statutory_estimated": result.statutory_estimated,
    }))  # fmt: skip


@blueprint.get("/")
def docs():
    """数据接口: every endpoint with its parameters, read from the OpenAPI description."""
    document = openapi_document()
    endpoints = [
        {"method": method.upper(), "path": path, **operation}
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]
    return render_template(
        "api/docs.html",
        info=document["info"],
        endpoints=endpoints,
        json_url=json_twin(url_for("api.openapi")),
    )


@blueprint.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of this API."""
    return jsonify(openapi_document())
