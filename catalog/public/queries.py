"""The query functions that both the pages and the JSON API render."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from catalog.deadlines import CalendarRangeError, Deadlines, deadlines
from catalog.enums import Status
from catalog.extensions import db
from catalog.models import ApprovalItem, HandlingItem
from catalog.search import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Filters,
    Hit,
    SearchError,
    SearchResult,
    Synonyms,
    load_synonyms,
    search,
)


def app_synonyms() -> Synonyms:
    """The synonym list and filler words the app is configured with (cached per file)."""
    config = current_app.config
    return load_synonyms(config["SYNONYMS_FILE"], config["QUERY_WORDS_FILE"])


def run_search(
    query: str, args: Mapping[str, str], *, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> tuple[SearchResult | None, str | None]:
    """Search with the filters in `args`; bad input gives (None, message), never an exception."""
    try:
        filters = Filters.from_args(args)
        synonyms = app_synonyms()
        return search(query, filters, synonyms=synonyms, cursor=cursor, limit=limit), None
    except SearchError as exc:
        return None, str(exc)


def published_item(code: str) -> ApprovalItem | None:
    """A published item with everything its guide shows, loaded in a few queries."""
    if len(code) > 40:
        return None
    return db.session.scalar(
        sa.select(ApprovalItem)
        .where(ApprovalItem.code == code, ApprovalItem.status == Status.published)
        .options(
            selectinload(ApprovalItem.legal_bases),
            selectinload(ApprovalItem.handling_items).selectinload(HandlingItem.materials),
            selectinload(ApprovalItem.handling_items).selectinload(HandlingItem.fees),
            selectinload(ApprovalItem.handling_items).selectinload(HandlingItem.steps),
        )
    )


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
        .options(selectinload(HandlingItem.materials), selectinload(HandlingItem.item))
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
        synonyms = app_synonyms()
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


def unit_counts() -> dict[str, int]:
    """Published handling items per handling unit, for browsing by unit."""
    return search("", Filters(), synonyms=app_synonyms(), limit=1).facets["unit"]
