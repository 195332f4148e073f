"""Migration 0038 (the decision tables' indexes after the EXPLAIN review) on SQLite and
PostgreSQL: the party-name indexes go, the document-number, unit-order and late ones come, the
rows stay, and the planner uses the new ones for the import's duplicate check and the list's
late filter; the downgrade puts 0037's indexes back."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from catalog.extensions import db as _db
from tests.migrations import app_migrated_to
from tests.test_database_guard import ITEM, LICENCE, PENALTY, _sql, insert

TABLES = ("licence_decision", "penalty_decision")
AT_0037 = {"party_name", "data_source_unit"}
AT_0038 = {"document_number", "unit_order", "late"}


at_0037 = app_migrated_to("0037")  # the revision before 0038


def _indexes(table: str) -> set[str]:
    names = {index["name"] for index in sa.inspect(_db.engine).get_indexes(table)}
    return {name.removeprefix(f"ix_{table}_") for name in names if name.startswith("ix_")}


def _rows() -> list[tuple]:
    """The decisions as stored (read, then the transaction ended: on PostgreSQL an open one
    would hold a lock the migration waits for)."""
    rows = [tuple(r) for table in TABLES
            for r in _sql(f"SELECT id, document_number, party_name, data_source_unit,"
                          f" published_on FROM {table} ORDER BY id")]  # fmt: skip
    _db.session.rollback()
    return rows


def _plan(statement: str) -> str:
    prefix = "EXPLAIN QUERY PLAN " if _db.engine.dialect.name == "sqlite" else "EXPLAIN "
    plan = " ".join(" ".join(map(str, row)) for row in _sql(prefix + statement))
    _db.session.rollback()
    return plan


def _write_decisions() -> None:
    item = insert(_db, "approval_item", {**ITEM, "code": "D-1", "item_type": "licence"})
    for number in range(1, 4):
        late = number == 3  # published after its publish_by
        published = {"published_on": date(2020, 6, 12)} if late else {}
        insert(_db, "licence_decision", {**LICENCE, "item_id": item, **published,
                                         "document_number": f"许〔2020〕{number}号"})  # fmt: skip
        insert(_db, "penalty_decision", {**PENALTY, "document_number": f"罚〔2020〕{number}号"})
    _db.session.commit()


def test_0038_swaps_the_decision_indexes_and_back(at_0037):
    _write_decisions()
    before = _rows()
    for table in TABLES:
        assert _indexes(table) >= AT_0037 and not AT_0038 & _indexes(table)

    upgrade(revision="0038")
    assert _rows() == before
    for table in TABLES:
        assert _indexes(table) >= AT_0038 and not AT_0037 & _indexes(table)
    if _db.engine.dialect.name == "postgresql":  # a table this small is read whole otherwise
        _sql("SET LOCAL enable_seqscan = off")
    # the import's duplicate check, and the list's late decisions, through the new indexes
    assert "ix_licence_decision_document_number" in _plan(
        "SELECT id FROM licence_decision"
        " WHERE document_number IN ('许〔2020〕1号', '许〔2020〕2号')"
    )
    if _db.engine.dialect.name == "postgresql":
        _sql("SET LOCAL enable_seqscan = off")
    assert "ix_licence_decision_late" in _plan(
        "SELECT id FROM licence_decision WHERE published_on > publish_by"
        " ORDER BY decided_on DESC, id DESC LIMIT 21"
    )
    late = _sql("SELECT document_number FROM licence_decision WHERE published_on > publish_by")
    assert late.scalars().all() == ["许〔2020〕3号"]
    _db.session.rollback()

    downgrade(revision="0037")
    assert _rows() == before
    for table in TABLES:
        assert _indexes(table) >= AT_0037 and not AT_0038 & _indexes(table)
    if _db.engine.dialect.name == "sqlite":
        assert _sql("PRAGMA integrity_check").scalars().all() == ["ok"]
    _db.session.rollback()
