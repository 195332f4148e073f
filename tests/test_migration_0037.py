"""Migration 0037 (a word of 1 or 2 characters no longer matches inside the codes) on SQLite
and PostgreSQL: the characters of an entry lose its codes' and the index of short words follows;
the downgrade puts them back."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from catalog.extensions import db as _db
from catalog.search.index import entry_values
from catalog.search.text import character_grams, normalise
from tests.migrations import app_migrated_to
from tests.test_database_guard import HANDLING, ITEM, _sql, insert

at_0034 = app_migrated_to("0034")


def chars_index_ids(word: str) -> list[int]:
    """The entries the index of characters and pairs (0009-0042) holds a 1- or 2-character
    word of letters and digits for, as the searches of those revisions looked it up."""
    if _db.engine.dialect.name == "sqlite":
        statement = sa.text("SELECT rowid FROM search_chars WHERE search_chars MATCH :word")
        found = _db.session.scalars(statement, {"word": f'"{word}"'}).all()
    else:
        statement = sa.text(
            "SELECT handling_item_id FROM search_entry WHERE to_tsvector('simple'::regconfig,"
            " chars) @@ plainto_tsquery('simple'::regconfig, :word)"
        )
        found = _db.session.scalars(statement, {"word": word}).all()
    _db.session.rollback()  # (an open transaction would hold a lock the migration waits for)
    return sorted(found)


_found = chars_index_ids


def uncoded_chars(name: str, body: str, item_code: str, handling_code: str) -> str:
    """search_entry.chars as 0037-0043 wrote it (0044 dropped it): the characters and pairs of
    the name, then of the body without its two codes."""
    codes = {normalise(item_code), normalise(handling_code)}
    without = " ".join(word for word in body.split(" ") if word not in codes)
    return f"{character_grams(name)} {character_grams(without)}"


def test_0037_leaves_the_codes_out_of_the_short_words_and_back(at_0034):
    item = insert(_db, "approval_item", {**ITEM, "code": "XCJT-07-001"})
    situation = "新办（A类）"
    handling = insert(
        _db, "handling_item",
        {**HANDLING, "item_id": item, "situation": situation, "code": "XCJT-07-001-01"},
    )  # fmt: skip
    entry = entry_values(
        item_name=ITEM["name"], item_code="XCJT-07-001", result_name=ITEM["result_name"],
        legal_bases=[], handling_code="XCJT-07-001-01", situation=situation, material_names=[],
    )  # fmt: skip
    name_chars = character_grams(entry["name"])
    with_codes = f"{name_chars} {character_grams(entry['body'])}"  # as 0009-0034 wrote
    uncoded = uncoded_chars(entry["name"], entry["body"], "XCJT-07-001", "XCJT-07-001-01")
    values = {**entry, "handling_item_id": handling, "chars": with_codes, "name_chars": name_chars}
    _db.session.execute(sa.table("search_entry", *map(sa.column, values)).insert(), values)
    _db.session.commit()
    assert "jt" in with_codes.split() and "jt" not in uncoded.split()
    assert _found("jt") == _found("07") == _found("a") == [handling]

    upgrade(revision="0037")
    assert _sql("SELECT chars FROM search_entry").scalar() == uncoded
    assert _found("jt") == _found("07") == []
    assert _found("a") == [handling]  # (the situation's)

    downgrade(revision="0034")
    assert _sql("SELECT chars FROM search_entry").scalar() == with_codes
    assert _found("jt") == _found("07") == _found("a") == [handling]
    if _db.engine.dialect.name == "sqlite":
        assert _sql("PRAGMA integrity_check").scalars().all() == ["ok"]
    _db.session.rollback()
