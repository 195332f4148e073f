"""Public pages: home, search results, item guides. Each has a JSON twin under /api/v1/."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, Response, abort, render_template, request, url_for

from catalog.enums import REPORTED_TYPES, ItemType, OnlineDepth, ServiceTarget
from catalog.errors import error_response
from catalog.operations.units import window_of
from catalog.public.export import hits_csv
from catalog.public.queries import (
    DeadlineInputError,
    all_hits,
    browse_counts,
    handling_deadlines,
    published_handling_item,
    published_item,
    run_search,
)
from catalog.ratios import handling_facts, item_compression
from catalog.report import DEFINITIONS, SHARES
from catalog.reports.snapshots import live_headline
from catalog.search import similar_names
from catalog.templating import display_today
from catalog.twins import json_twin

blueprint = Blueprint("public", __name__)


@blueprint.get("/")
def home():
    """The catalog at a glance: search, browse by type and unit, the headline ratios."""
    document = live_headline()  # the figures only, cached per catalog revision
    empty = document["items"]["total"] == 0 and document["handling_items"]["total"] == 0
    return render_template(
        "public/home.html",
        empty=empty,
        report=document,
        item_types=REPORTED_TYPES,
        shares=SHARES,
        definitions=DEFINITIONS,
        counts=browse_counts() if not empty else {"unit": {}, "type": {}},
        json_url=json_twin(url_for("api.report")),
    )


@blueprint.get("/items")
def items():
    """Search results with facets and keyset pagination."""
    query = request.args.get("q", "")
    result, error = run_search(query, request.args, cursor=request.args.get("cursor"))
    status = 400 if error else 200
    similar = similar_names(query) if result is not None and result.total == 0 else []
    return render_template(
        "public/results.html",
        query=request.args.get("q", "")[:200],
        result=result,
        type_items=_type_items(result),
        error=error,
        similar=similar,
        item_types={item_type.value: item_type.label for item_type in ItemType},
        json_url=json_twin(url_for("api.items", **request.args.to_dict())),
    ), status


def _type_items(result) -> int | None:
    """The approval items of the one type a list is filtered by, nothing else filtered: the
    home page's card count, told apart from the handling items the list shows."""
    if result is None or not result.filters.type or request.args.get("q", "").strip():
        return None
    if set(result.filters.as_args()) != {"type"}:
        return None
    return live_headline()["items"]["by_type"].get(result.filters.type.value)


@blueprint.get("/items.csv")
def items_csv():
    """The whole result list of a search, with the page's filters, as CSV."""
    hits, error = all_hits(request.args.get("q", ""), request.args)
    if error:
        return error_response(400, error)
    return Response(
        hits_csv(hits),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=items.csv"},
    )


@blueprint.get("/items/<code>")
def guide(code: str):
    """办事指南: everything needed to apply for an item, per handling item."""
    item = published_item(code)
    if item is None:
        abort(404)
    return render_template(
        "public/guide.html",
        item=item,
        window=window_of(item),  # 办理地点: the unit's window (catalog.operations.units)
        json_url=json_twin(url_for("api.item", code=item.code)),
    )


def _handling_or_404(code: str):
    handling = published_handling_item(code)
    if handling is None:
        abort(404)
    return handling


@blueprint.get("/handling/<code>/notice")
def notice(code: str):
    """一次性告知单: the material checklist of one handling item, on one A4 page."""
    handling = published_handling_item(code)
    if handling is None:
        abort(404)
    return render_template(
        "public/notice.html",
        handling=handling,
        item=handling.item,
        window=window_of(handling.item),
        today=display_today(),
        json_url=json_twin(url_for("api.item", code=handling.item.code)),
    )


@blueprint.get("/handling/<code>/deadline")
def deadline(code: str):
    """The completion dates for an application date, in working days."""
    handling = _handling_or_404(code)
    raw_date = request.args.get("date")
    result, error = None, None
    try:
        result = handling_deadlines(handling, raw_date)
    except DeadlineInputError as exc:
        error = str(exc)
    json_url = json_twin(url_for("api.deadline", code=handling.code, date=raw_date or None))
    return render_template(
        "public/deadline.html",
        handling=handling,
        item=handling.item,
        result=result,
        error=error,
        raw_date=(raw_date or "")[:20],
        json_url=json_url,
    ), 400 if error else 200


@blueprint.app_template_global()
def search_url(**changes) -> str:
    """The current search URL with some arguments changed (None removes one)."""
    args = {key: value for key, value in request.args.items() if key != "cursor"}
    args.update(changes)
    return url_for("public.items", **{k: v for k, v in args.items() if v not in (None, "")})


@blueprint.app_template_filter()
def service_target_label(value: str) -> str:
    return ServiceTarget(value).label


@blueprint.app_template_filter()
def online_depth_label(value: int) -> str:
    return f"{value}级：{OnlineDepth(value).label}"


@blueprint.app_template_filter("item_compression")
def item_compression_filter(handling) -> Decimal | None:
    """Per-item compression of a handling item, for its guide."""
    ratio = item_compression(handling_facts(handling))
    return None if ratio is None else ratio.percent
