"""Migration 0019 (the online address and the FAQ) on SQLite and PostgreSQL: every row kept on
the way up, the new column and table usable, and a downgrade that would drop an address or a
question stops, naming the items, until they are removed."""

from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade

from catalog.extensions import db as _db
from tests.migrations import app_migrated_to
from tests.test_database_guard import HANDLING, ITEM, _sql, insert

at_0018 = app_migrated_to("0018")


def _write_item(code: str) -> int:
    item_id = insert(_db, "approval_item", {**ITEM, "code": code})
    insert(_db, "handling_item", {**HANDLING, "item_id": item_id, "code": f"{code}-01"})
    return item_id


def _rows() -> list[tuple]:
    """The catalog's rows as 0018 has them (read, then the transaction ended: on PostgreSQL
    an open one would hold a lock the migration waits for)."""
    rows = _sql(
        "SELECT i.code, i.name, i.version, h.code, h.promised_days, h.online_depth, h.version"
        " FROM approval_item i JOIN handling_item h ON h.item_id = i.id ORDER BY h.code"
    ).all()
    _db.session.rollback()
    return rows


def test_0019_keeps_every_row_and_adds_the_address_and_the_faq(at_0018):
    _write_item("W-1")
    _db.session.commit()
    before = _rows()
    upgrade(revision="0019")
    assert _rows() == before
    assert _sql("SELECT online_url FROM handling_item").scalars().all() == [None]
    assert _sql("SELECT count(*) FROM faq_entry").scalar() == 0
    if _db.engine.dialect.name == "sqlite":
        assert _sql("PRAGMA integrity_check").scalars().all() == ["ok"]
    _db.session.rollback()


def test_0019_downgrade_stops_while_an_address_or_a_question_is_stored(at_0018, caplog):
    _write_item("W-1")
    _db.session.commit()
    before = _rows()
    upgrade(revision="0019")
    second = _write_item("W-2")
    _write_item("W-3")
    _sql("UPDATE handling_item SET online_url = 'https://x.cn/' WHERE code = 'W-3-01'")
    insert(_db, "faq_entry", {"item_id": second, "position": 0, "question": "问？",
                              "answer": "答。"})  # fmt: skip
    _db.session.commit()
    with pytest.raises(SystemExit):  # Flask-Migrate logs the message and exits 1
        downgrade(revision="0018")
    assert "以下事项有在线办理地址或常见问题，降级到 0018 会删除它们" in caplog.text
    assert "W-2、W-3" in caplog.text
    _db.session.rollback()
    assert _sql("SELECT version_num FROM alembic_version").scalar() == "0019"

    _sql("DELETE FROM approval_item WHERE code IN ('W-2', 'W-3')")
    _db.session.commit()
    downgrade(revision="0018")
    assert _rows() == before
    assert _sql("SELECT version_num FROM alembic_version").scalar() == "0018"
    _db.session.rollback()
