"""Migration 0045 on SQLite and PostgreSQL: each kind's unit index gains what the list's other
filters check (a licence's status; a penalty's category and the end of its publication), so a
unit's count with them reads the index alone; the rows stay, and the downgrade puts 0038's
index back."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from catalog.extensions import db as _db
from tests.migrations import app_migrated_to
from tests.test_database_guard import ITEM, LICENCE, PENALTY, _sql, insert
from tests.test_migration_0038 import _rows

DAYS = ["data_source_unit", "decided_on", "id", "published_on", "publish_by"]
COUNTED = {"licence_decision": ["status"], "penalty_decision": ["category", "publication_ends_on"]}
# a unit's count with the other filters, as the public list asks it (listing._conditions)
COUNTS = {
    "licence_decision": "SELECT count(*) FROM licence_decision WHERE data_source_unit = '运输科'"
                        " AND published_on <= '2021-01-01' AND status = 'valid'",
    "penalty_decision": "SELECT count(*) FROM penalty_decision WHERE data_source_unit = '运输科'"
                        " AND published_on <= '2021-01-01' AND publication_ends_on >= '2021-01-01'"
                        " AND category = 'fine'",
}  # fmt: skip

at_0044 = app_migrated_to("0044")  # the revision before 0045


def _columns(table: str) -> list[str]:
    indexes = sa.inspect(_db.engine).get_indexes(table)
    return next(i["column_names"] for i in indexes if i["name"] == f"ix_{table}_unit_order")


def _count_plan(table: str) -> str:
    """How the database reads a unit's count (PostgreSQL made to use an index: a table this
    small is read whole otherwise)."""
    if _db.engine.dialect.name == "sqlite":
        plan = " ".join(str(row[-1]) for row in _sql("EXPLAIN QUERY PLAN " + COUNTS[table]))
    else:
        _sql("SET LOCAL enable_seqscan = off")
        _sql("SET LOCAL enable_bitmapscan = off")
        plan = " ".join(row[0] for row in _sql("EXPLAIN " + COUNTS[table]))
    _db.session.rollback()
    return plan


def _index_only(plan: str, table: str) -> bool:
    index = f"ix_{table}_unit_order"
    if _db.engine.dialect.name == "sqlite":
        return f"USING COVERING INDEX {index}" in plan
    return f"Index Only Scan using {index}" in plan


def test_0045_makes_a_units_filtered_count_read_the_index_alone_and_back(at_0044):
    item = insert(_db, "approval_item", {**ITEM, "code": "D-1", "item_type": "licence"})
    for number in range(1, 4):
        unit = {"data_source_unit": "运输科" if number < 3 else "执法支队"}
        insert(_db, "licence_decision", {**LICENCE, **unit, "item_id": item,
                                         "document_number": f"许〔2020〕{number}号"})  # fmt: skip
        insert(_db, "penalty_decision", {**PENALTY, **unit,
                                         "document_number": f"罚〔2020〕{number}号"})  # fmt: skip
    _db.session.commit()
    before = _rows()
    for table in COUNTED:
        assert _columns(table) == DAYS
        assert not _index_only(_count_plan(table), table)

    upgrade(revision="0045")
    assert _rows() == before
    for table, counted in COUNTED.items():
        assert _columns(table) == DAYS + counted
        assert _index_only(_count_plan(table), table), _count_plan(table)
        assert _sql(COUNTS[table]).scalar() == 2
        _db.session.rollback()

    downgrade(revision="0044")
    assert _rows() == before
    for table in COUNTED:
        assert _columns(table) == DAYS
    if _db.engine.dialect.name == "sqlite":
        assert _sql("PRAGMA integrity_check").scalars().all() == ["ok"]
    _db.session.rollback()
