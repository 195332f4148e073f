"""Migration 0043 (1-2 letters and digits through the parts) on SQLite and PostgreSQL: the
index of characters and pairs goes, the rows and their editing stay; the downgrade builds it
again from the rows."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from catalog.extensions import db as _db
from catalog.search.index import entry_values
from catalog.search.text import character_grams
from tests.migrations import app_migrated_to
from tests.test_database_guard import HANDLING, ITEM, _sql, insert
from tests.test_migration_0037 import chars_index_ids, uncoded_chars

at_0042 = app_migrated_to("0042")


def _indexes() -> set[str]:
    if _db.engine.dialect.name == "sqlite":
        statement = "SELECT name FROM sqlite_master WHERE name LIKE 'search%chars%'"
    else:
        statement = "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'ix_search_entry%chars'"
    names = set(_sql(statement).scalars())
    _db.session.rollback()
    return names


def test_0043_drops_the_index_of_short_words_and_back(at_0042):
    item = insert(_db, "approval_item", {**ITEM, "code": "XCJT-07-001"})
    handling = insert(_db, "handling_item", {**HANDLING, "item_id": item, "situation": "A类",
                                             "code": "XCJT-07-001-01"})  # fmt: skip
    entry = entry_values(
        item_name=ITEM["name"], item_code="XCJT-07-001", result_name=ITEM["result_name"],
        legal_bases=[], handling_code="XCJT-07-001-01", situation="A类", material_names=[],
    )  # fmt: skip
    chars = uncoded_chars(entry["name"], entry["body"], "XCJT-07-001", "XCJT-07-001-01")
    name_chars = character_grams(entry["name"])
    values = {**entry, "handling_item_id": handling, "chars": chars, "name_chars": name_chars}
    _db.session.execute(sa.table("search_entry", *map(sa.column, values)).insert(), values)
    _db.session.commit()
    before = _indexes()
    assert len(before) >= 2, before  # (SQLite: each FTS5 table and its shadow tables)
    assert chars_index_ids("a") == [handling]

    upgrade(revision="0043")
    assert _indexes() == set()
    # an edit of the entry still writes (no trigger left behind for a dropped table)
    _db.session.execute(sa.text("UPDATE search_entry SET chars = 'b', name_chars = 'b'"))
    _db.session.commit()
    assert _sql("SELECT chars FROM search_entry").scalar() == "b"
    _db.session.execute(sa.text("UPDATE search_entry SET chars = :c, name_chars = :n"),
                        {"c": chars, "n": name_chars})  # fmt: skip
    _db.session.commit()

    downgrade(revision="0042")
    assert _indexes() == before
    assert chars_index_ids("a") == [handling]
    assert chars_index_ids("b") == []
    if _db.engine.dialect.name == "sqlite":
        assert _sql("PRAGMA integrity_check").scalars().all() == ["ok"]
    _db.session.rollback()
