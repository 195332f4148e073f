"""Migration 0039 (the 双公示 report's kept figures) on SQLite and PostgreSQL: decisions written
before it (licences of two items and units, late ones, penalties with exact amounts, one ended
by a credit repair) are summed into decision_sums exactly as a rebuild from the rows gives
them, the report read from them equals the rows' counts, the published_on indexes come; the
downgrade takes it all away and keeps the rows."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from catalog.decisions import report, sums
from catalog.extensions import db as _db
from tests.migrations import app_migrated_to
from tests.test_database_guard import ITEM, LICENCE, PENALTY, _sql, insert

TABLES = ("licence_decision", "penalty_decision")

at_0038 = app_migrated_to("0038")  # the revision before 0039


def _indexes(table: str) -> set[str]:
    return {index["name"] for index in sa.inspect(_db.engine).get_indexes(table)}


def _write_decisions() -> None:
    first = insert(_db, "approval_item", {**ITEM, "code": "D-1", "item_type": "licence"})
    second = insert(_db, "approval_item", {**ITEM, "code": "D-2", "item_type": "licence"})
    for number in range(1, 6):
        late = {"published_on": date(2020, 6, 12)} if number == 3 else {}
        insert(_db, "licence_decision", {
            **LICENCE, **late, "item_id": first if number % 2 else second,
            "data_source_unit": "甲科" if number < 4 else "乙科",
            "document_number": f"许〔2020〕{number}号",
        })  # fmt: skip
        insert(_db, "penalty_decision", {
            **PENALTY, "document_number": f"罚〔2020〕{number}号",
            "fine_amount": f"{number}.000001", "confiscated_amount": "0.5" if number == 2 else None,
            "category": "fine" if number < 5 else "confiscation",
        })  # fmt: skip
    penalty = _sql("SELECT min(id) FROM penalty_decision").scalar()
    insert(_db, "credit_repair", {"penalty_id": penalty, "ended_on": date(2020, 12, 1),
                                  "reason": "已整改。", "recorded_by": "t",
                                  "recorded_at": date(2020, 12, 1)})  # fmt: skip
    _db.session.commit()


def test_0039_fills_the_kept_figures_from_the_rows_and_back(at_0038):
    _write_decisions()
    upgrade(revision="0039")
    connection = _db.session.connection()
    kept = sums.kept(connection)
    assert kept == sums.computed(connection)
    assert sum(n for key, (n, _f, _c) in kept.items() if key.kind == "licence") == 5
    assert sum(f for key, (_n, f, _c) in kept.items()) == 15_000_005  # 1.000001+…+5.000001 万元
    assert sum(c for key, (_n, _f, c) in kept.items()) == 500_000
    assert sum(n for key, (n, _f, _c) in kept.items() if key.repaired) == 1
    figures = report.decision_report(2020)
    late = _sql("SELECT count(*) FROM licence_decision WHERE published_on > publish_by").scalar()
    assert figures["licence"]["total"] == 5 and figures["licence"]["late_total"] == late
    assert figures["penalty"]["fine_total"] == 15.000005
    for table in TABLES:
        assert f"ix_{table}_published_on" in _indexes(table)
    _db.session.rollback()

    downgrade(revision="0038")
    assert not sa.inspect(_db.engine).has_table("decision_sums")
    for table in TABLES:
        assert f"ix_{table}_published_on" not in _indexes(table)
    assert _sql("SELECT count(*) FROM penalty_decision").scalar() == 5
    _db.session.rollback()
