"""Migration 0044 (search_entry's chars and name_chars go) on SQLite and PostgreSQL: the columns
go and every other value of the row stays; the downgrade adds them back, filled from the rows
as 0037 wrote them."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from catalog.extensions import db as _db
from catalog.search.index import entry_values
from catalog.search.text import character_grams
from tests.migrations import app_migrated_to
from tests.test_database_guard import HANDLING, ITEM, _sql, insert
from tests.test_migration_0037 import uncoded_chars

at_0043 = app_migrated_to("0043")
KEPT = "handling_item_id, item_name, name, body, pinyin, initials, common"


def _columns() -> set[str]:
    names = {column["name"] for column in sa.inspect(_db.engine).get_columns("search_entry")}
    _db.session.rollback()
    return names


def _kept() -> list[tuple]:
    rows = [tuple(row) for row in _sql(f"SELECT {KEPT} FROM search_entry ORDER BY 1")]
    _db.session.rollback()
    return rows


def test_0044_drops_the_columns_of_characters_and_back(at_0043):
    entries = []
    for number, situation in enumerate(("A类", None), start=1):
        item = insert(_db, "approval_item", {**ITEM, "code": f"XCJT-07-00{number}"})
        handling = insert(_db, "handling_item", {**HANDLING, "item_id": item,
                                                 "situation": situation,
                                                 "code": f"XCJT-07-00{number}-01"})  # fmt: skip
        entry = entry_values(
            item_name=ITEM["name"], item_code=f"XCJT-07-00{number}", legal_bases=[],
            result_name=ITEM["result_name"], handling_code=f"XCJT-07-00{number}-01",
            situation=situation, material_names=["营业执照"],
        )  # fmt: skip
        chars = uncoded_chars(entry["name"], entry["body"], f"XCJT-07-00{number}",
                              f"XCJT-07-00{number}-01")  # fmt: skip
        values = {**entry, "handling_item_id": handling, "chars": chars,
                  "name_chars": character_grams(entry["name"])}  # fmt: skip
        _db.session.execute(sa.table("search_entry", *map(sa.column, values)).insert(), values)
        entries.append(values)
    _db.session.commit()
    before = _kept()
    assert {"chars", "name_chars"} <= _columns()

    upgrade(revision="0044")
    assert not {"chars", "name_chars"} & _columns()
    assert _kept() == before
    if _db.engine.dialect.name == "postgresql":  # rewritten, then vacuumed: the frame's
        # index-only scans read no row (a rewrite alone leaves the visibility map empty)
        pages = _sql("SELECT relpages, relallvisible FROM pg_class"
                     " WHERE relname = 'search_entry'").one()  # fmt: skip
        _db.session.rollback()
        assert pages[0] == pages[1] > 0, pages

    downgrade(revision="0043")
    assert _kept() == before
    written = _sql("SELECT handling_item_id, name_chars, chars FROM search_entry ORDER BY 1")
    assert [tuple(row) for row in written] == [
        (values["handling_item_id"], values["name_chars"], values["chars"]) for values in entries
    ]
    if _db.engine.dialect.name == "sqlite":
        assert _sql("PRAGMA integrity_check").scalars().all() == ["ok"]
    _db.session.rollback()
