"""The query functions that both the pages and the JSON API render."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from catalog.deadlines import CalendarRangeError, Deadlines, deadlines
from catalog.decisions import listing as decision_listing
from catalog.enums import Status
from catalog.extensions import db
from catalog.models import (
    ApprovalItem,
    FaqEntry,
    Fee,
    HandlingItem,
    LegalBasis,
    Material,
    MaterialAttachment,
    ProcessStep,
)
from catalog.search import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Filters,
    Hit,
    SearchError,
    SearchResult,
    Synonyms,
    search,
)
from catalog.search.failed import record_failed_query
from catalog.search.synonyms import current_synonyms


def app_synonyms(revision: tuple[str, str] | None = None) -> Synonyms:
    """The synonym list staff keep (table search_synonym) and the filler words of
    QUERY_WORDS_FILE, held in memory per worker until the catalog's revision changes. The
    searches below pass the function itself: search() calls it with the revision it read."""
    return current_synonyms(current_app.config["QUERY_WORDS_FILE"], revision)


def run_search(
    query: str, args: Mapping[str, str], *, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> tuple[SearchResult | None, str | None]:
    """Search with the filters in `args`; bad input gives (None, message), never an exception.
    A first page without filters that finds nothing is counted (catalog.search.failed): the
    text and the day only."""
    try:
        filters = Filters.from_args(args)
        synonyms = app_synonyms
        result = search(query, filters, synonyms=synonyms, cursor=cursor, limit=limit)
    except SearchError as exc:
        return None, str(exc)
    if result.total == 0 and result.terms and cursor is None and filters == Filters():
        record_failed_query(query)
    return result, None


# The guide's statements, built once: a statement built per request costs more to build and
# to key for SQLAlchemy's compiled cache (its loader options most of all) than to run.
# (with the number of its public licence decisions: "本事项已公示许可决定 N 条", issue 24)
_PUBLISHED_ITEM = sa.select(
    ApprovalItem,
    decision_listing.published_licence_count(ApprovalItem.id, sa.bindparam("today", type_=sa.Date)),
).where(ApprovalItem.code == sa.bindparam("code"), ApprovalItem.status == Status.published)
_LEGAL_BASES = (
    sa.select(LegalBasis)
    .where(LegalBasis.item_id == sa.bindparam("item_id"))
    .order_by(LegalBasis.position, LegalBasis.id)
)
_FAQ = (  # 常见问题 (issue 23 part 2)
    sa.select(FaqEntry)
    .where(FaqEntry.item_id == sa.bindparam("item_id"))
    .order_by(FaqEntry.position, FaqEntry.id)
)
_HANDLING_ITEMS = (  # a retired handling item is no longer offered: the guide and API omit it
    sa.select(HandlingItem)
    .where(HandlingItem.item_id == sa.bindparam("item_id"), HandlingItem.status == Status.published)
    .order_by(HandlingItem.position, HandlingItem.id)
)


def _of_handling_items(model: type[Material | Fee | ProcessStep]) -> sa.Select:
    """The rows of `model` of every handling item of one item, grouped by handling item."""
    return (
        sa.select(model)
        .join(HandlingItem, model.handling_item_id == HandlingItem.id)
        .where(HandlingItem.item_id == sa.bindparam("item_id"))
        .order_by(model.handling_item_id, model.position, model.id)
    )


_HANDLING_PARTS = {
    "materials": _of_handling_items(Material),
    "fees": _of_handling_items(Fee),
    "steps": _of_handling_items(ProcessStep),
}
# the files offered beside the materials (空白表格 / 示例样表), with their blobs' type and size
_ATTACHMENTS = (
    sa.select(MaterialAttachment)
    .join(Material, MaterialAttachment.material_id == Material.id)
    .join(HandlingItem, Material.handling_item_id == HandlingItem.id)
    .where(HandlingItem.item_id == sa.bindparam("item_id"))
    .order_by(MaterialAttachment.material_id, MaterialAttachment.position, MaterialAttachment.id)
)


def published_item(code: str) -> ApprovalItem | None:
    """A published item with everything its guide shows: its legal bases, FAQ, handling items
    and their materials, fees and steps, and the files offered beside the materials, in one
    statement each (eight in all, whatever its size). The first statement also counts the
    item's public licence decisions (`published_licence_decisions`).

    The collections are filled as the relationships' own loaders would (same rows, same order),
    from statements built once; nothing is loaded lazily afterwards.
    """
    if len(code) > 40:
        return None
    row = db.session.execute(
        _PUBLISHED_ITEM, {"code": code, "today": decision_listing.public_today()}
    ).first()
    if row is None:
        return None
    item, item.published_licence_decisions = row
    params = {"item_id": item.id}
    set_committed_value(item, "legal_bases", db.session.scalars(_LEGAL_BASES, params).all())
    set_committed_value(item, "faq", db.session.scalars(_FAQ, params).all())
    handling_items = db.session.scalars(_HANDLING_ITEMS, params).all()
    set_committed_value(item, "handling_items", handling_items)
    for attribute, statement in _HANDLING_PARTS.items():
        parts: dict[int, list] = {handling.id: [] for handling in handling_items}
        for row in db.session.scalars(statement, params):
            # (a handling item added since the statement above, by a concurrent commit: skip)
            parts.get(row.handling_item_id, []).append(row)
        for handling in handling_items:
            set_committed_value(handling, attribute, parts[handling.id])
    _attach_files([m for handling in handling_items for m in handling.materials], params)
    return item


def _attach_files(materials: list[Material], params: dict[str, int]) -> None:
    offered: dict[int, list[MaterialAttachment]] = {material.id: [] for material in materials}
    for attachment in db.session.scalars(_ATTACHMENTS, params):
        offered.get(attachment.material_id, []).append(attachment)
    for material in materials:
        set_committed_value(material, "attachments", offered[material.id])


def published_handling_item(code: str) -> HandlingItem | None:
    """A published handling item of a published item, with its materials."""
    if len(code) > 50:
        return None
    return db.session.scalar(
        sa.select(HandlingItem)
        .join(ApprovalItem)
        .where(
            HandlingItem.code == code,
            HandlingItem.status == Status.published,
            ApprovalItem.status == Status.published,
        )
        .options(
            selectinload(HandlingItem.materials).selectinload(Material.attachments),
            selectinload(HandlingItem.item),
        )
    )


def parse_application_date(raw: str | None) -> date:
    """An application date from a form (YYYY-MM-DD); DeadlineInputError says what is wrong."""
    if not raw:
        raise DeadlineInputError("请填写申请日期。")
    try:
        return date.fromisoformat(raw.strip()[:10])
    except ValueError:
        raise DeadlineInputError(
            f"申请日期“{raw[:20]}”无效，请按“年-月-日”填写，如 2026-03-02。"
        ) from None


class DeadlineInputError(ValueError):
    """A date the deadline calculator cannot use."""


def handling_deadlines(handling: HandlingItem, raw_date: str | None) -> Deadlines:
    """The promised and statutory completion dates of a handling item for an application date."""
    applied_on = parse_application_date(raw_date)
    try:
        return deadlines(
            applied_on, promised_days=handling.promised_days, statutory_days=handling.statutory_days
        )
    except CalendarRangeError as exc:
        raise DeadlineInputError(str(exc)) from None


MAX_EXPORT_ROWS = 10_000


def all_hits(query: str, args: Mapping[str, str]) -> tuple[list[Hit] | None, str | None]:
    """Every hit of a search (for downloads), page by page, at most MAX_EXPORT_ROWS."""
    hits: list[Hit] = []
    cursor = None
    try:
        filters = Filters.from_args(args)
        synonyms = app_synonyms
        while len(hits) < MAX_EXPORT_ROWS:
            page = search(
                query, filters, synonyms=synonyms, cursor=cursor, limit=MAX_LIMIT, with_facets=False
            )
            hits.extend(page.hits)
            cursor = page.next_cursor
            if cursor is None:
                break
    except SearchError as exc:
        return None, str(exc)
    return hits[:MAX_EXPORT_ROWS], None


def browse_counts() -> dict[str, dict[str, int]]:
    """Published handling items per handling unit ("unit") and per item type ("type"), for
    browsing the catalog: the facets of the search for everything."""
    return search("", Filters(), synonyms=app_synonyms, limit=1).facets
