"""Codes are identifiers: ordered by their characters (as Python and SQLite order them), also on
a PostgreSQL database whose default collation is a language's, where "a-1" sorts before "B-1"
although "B" (0x42) comes before "a" (0x61). The report's fingerprint, its lists and the
comparison of live and frozen rows all read codes in that one order."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade

from catalog.extensions import db
from catalog.reports.rows import (
    fingerprint,
    live_fingerprint,
    live_handling_rows,
    live_items,
    published_catalog,
    rows_from_catalog,
)
from tests.conftest import make_app, temporary_postgres_database
from tests.factories import handling_item_data, item_data, publish

LINGUISTIC = "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
CODES = ["a-1", "B-1", "b-2", "A-2"]


@pytest.fixture
def linguistic_app():
    with temporary_postgres_database("catalog_icu", LINGUISTIC) as url:
        app = make_app(url)
        with app.app_context():
            upgrade()
            yield app
            db.session.remove()
            db.engine.dispose()


def test_codes_keep_their_character_order_under_a_linguistic_collation(linguistic_app):
    publish(db, *(item_data(handling_item_data(code=f"{code}-01"), code=code,
                            name=f"港口经营许可{n}") for n, code in enumerate(CODES)))  # fmt: skip
    items, handling = rows_from_catalog(published_catalog())  # sorted by Python
    assert [row.code for row in items] == sorted(CODES) == ["A-2", "B-1", "a-1", "b-2"]
    assert [row.code for row in live_items()] == [row.code for row in items]
    assert [row.code for row in live_handling_rows()] == [row.code for row in handling]
    assert live_fingerprint() == fingerprint(items, handling)


def test_search_pages_follow_code_order_under_a_linguistic_collation(linguistic_app):
    """Hits of equal rank come in code order, and a page's cursor (a code) is placed in that
    order: every item once, in order, one page at a time."""
    from catalog.public.queries import run_search

    publish(db, *(item_data(handling_item_data(code=f"{code}-01"), code=code,
                            name=f"港口经营许可{n}") for n, code in enumerate(CODES)))  # fmt: skip
    seen, cursor = [], None
    for _page in range(len(CODES) + 1):
        result, error = run_search("港口经营许可", {}, cursor=cursor, limit=1)
        assert error is None
        seen += [hit.item.code for hit in result.hits]
        cursor = result.next_cursor
        if cursor is None:
            break
    assert seen == sorted(CODES)
