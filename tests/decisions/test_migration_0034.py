"""Migration 0034 (the decision search's indexes) on SQLite and PostgreSQL: the decisions already
there are indexed (an organisation by a piece of its name and the beginning of its code, never a
natural person by name), a row written afterwards is indexed by the triggers, the list finds
both through the index, and a downgrade takes the indexes away and keeps the rows."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from catalog.decisions import listing
from catalog.decisions.filters import DecisionFilters
from catalog.extensions import db as _db
from tests.migrations import app_migrated_to
from tests.test_database_guard import ITEM, LICENCE, PENALTY, _sql, insert

TODAY = date(2020, 12, 1)
PERSON = {"party_name": "赵钱孙", "party_class": "natural_person", "party_credit_code": None,
          "party_id_type": "resident_id", "party_id_number": "11010519491231002X"}  # fmt: skip


before_0034 = app_migrated_to("0033")  # the revision before 0034


def _found(q: str) -> set[tuple[str, str]]:
    page = listing.list_decisions(DecisionFilters(q=q), limit=100, today=TODAY)
    return {(decision.kind, decision.document_number) for decision in page.decisions}


def _index_objects() -> set[str]:
    if _db.engine.dialect.name == "sqlite":
        rows = _sql("SELECT name FROM sqlite_master WHERE name LIKE '%grams%'").scalars()
    else:
        rows = _sql(
            "SELECT column_name FROM information_schema.columns WHERE column_name ="
            " 'search_grams' UNION ALL SELECT proname FROM pg_proc WHERE proname LIKE"
            " '%search_grams%' OR proname = 'approval_item_renamed'"
        ).scalars()  # fmt: skip
    return set(rows)


def _order_indexes() -> set[str]:
    return {index["name"] for table in ("licence_decision", "penalty_decision")
            for index in sa.inspect(_db.engine).get_indexes(table)
            if "decided" in index["name"] or "order" in index["name"]}  # fmt: skip


def test_0034_indexes_the_decisions_there_and_those_to_come(before_0034):
    item = insert(_db, "approval_item", {**ITEM, "code": "S-1"})
    insert(_db, "licence_decision", {**LICENCE, "item_id": item, "document_number": "甲1号"})
    insert(_db, "licence_decision", {**LICENCE, **PERSON, "item_id": item,
                                     "document_number": "甲2号"})  # fmt: skip
    insert(_db, "penalty_decision", {**PENALTY, "document_number": "乙1号"})
    _db.session.commit()
    assert _index_objects() == set()
    _db.session.rollback()

    upgrade(revision="0034")
    assert _order_indexes() == {"ix_licence_decision_order", "ix_penalty_decision_order"}
    assert _found("示例运输") == {("licence", "甲1号"), ("penalty", "乙1号")}
    assert _found("91350100M") == {("licence", "甲1号"), ("penalty", "乙1号")}
    assert _found("赵钱") == set()  # a natural person: never by name
    assert _found("甲2") == {("licence", "甲2号")}  # the document number, as before
    assert _found("港口经营") == {("licence", "甲1号"), ("licence", "甲2号")}  # the item
    if _db.engine.dialect.name == "sqlite":
        matched = _sql("SELECT count(*) FROM licence_decision_grams"
                       " WHERE licence_decision_grams MATCH '\"赵钱\"'").scalar()  # fmt: skip
    else:
        matched = _sql("SELECT count(*) FROM licence_decision"
                       " WHERE search_grams @> ARRAY['赵钱']").scalar()  # fmt: skip
    assert matched == 0  # not even in the index
    insert(_db, "licence_decision", {**LICENCE, "item_id": item, "document_number": "甲3号",
                                     "party_name": "长葛后来运输有限公司"})  # fmt: skip
    _db.session.commit()
    assert _found("后来") == {("licence", "甲3号")}
    _db.session.rollback()  # on PostgreSQL an open transaction would hold up the migration

    downgrade(revision="0033")
    assert _index_objects() == set()
    assert _order_indexes() == {"ix_licence_decision_decided_on", "ix_penalty_decision_decided_on"}
    assert _sql("SELECT count(*) FROM licence_decision").scalar() == 3
    assert _sql("SELECT version_num FROM alembic_version").scalar() == "0033"
    _db.session.rollback()
