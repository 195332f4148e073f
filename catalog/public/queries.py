"""The query functions that both the pages and the JSON API render."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from catalog.enums import Status
from catalog.extensions import db
from catalog.models import ApprovalItem, HandlingItem
from catalog.search import (
    DEFAULT_LIMIT,
    Filters,
    SearchError,
    SearchResult,
    load_synonyms,
    search,
)


def run_search(
    query: str, args: Mapping[str, str], *, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> tuple[SearchResult | None, str | None]:
    """Search with the filters in `args`; bad input gives (None, message), never an exception."""
    try:
        filters = args if isinstance(args, Filters) else Filters.from_args(args)
        synonyms = load_synonyms(current_app.config["SYNONYMS_FILE"])
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


def published_handling_items(item: ApprovalItem) -> list[HandlingItem]:
    return [h for h in item.handling_items if h.status == Status.published]
