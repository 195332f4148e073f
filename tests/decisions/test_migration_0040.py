"""Migration 0040 (the unit, the lateness and natural persons' names among the decisions'
grams) on SQLite and PostgreSQL: the decisions already there get their unit's token, the late
token when late and a natural person's "~" grams, the other grams unchanged; a row written or
edited afterwards gets them from the triggers; the public list with a unit or late=1 finds the
same rows as before; a downgrade takes the added grams away and keeps the search working."""

from __future__ import annotations

from datetime import date

from flask_migrate import downgrade, upgrade

from catalog.decisions import listing, search
from catalog.decisions.filters import DecisionFilters
from catalog.extensions import db as _db
from tests.migrations import app_migrated_to
from tests.test_database_guard import ITEM, LICENCE, PENALTY, _sql, insert

TODAY = date(2020, 12, 1)
PERSON = {"party_name": "赵钱孙", "party_class": "natural_person", "party_credit_code": None,
          "party_id_type": "resident_id", "party_id_number": "11010519491231002X"}  # fmt: skip
OTHER_UNIT = "运输管理科"
LATE = {"published_on": date(2020, 6, 30)}  # publish_by 2020-06-10

at_0039 = app_migrated_to("0039")  # the revision before 0040


def _found(**filters) -> set[tuple[str, str]]:
    page = listing.list_decisions(DecisionFilters(**filters), limit=100, today=TODAY)
    return {(decision.kind, decision.document_number) for decision in page.decisions}


def _holding(table: str, gram: str) -> set[str]:
    """The document numbers of a table whose grams hold `gram`, from the index alone."""
    if _db.engine.dialect.name == "sqlite":
        return set(_sql(
            f"SELECT d.document_number FROM {table}_grams g JOIN {table} d"
            f" ON d.id = g.rowid & {search.ID_MASK} WHERE {table}_grams MATCH :match",
            match=f'"{gram}"').scalars())  # fmt: skip
    statement = f"SELECT document_number FROM {table} WHERE search_grams @> ARRAY[CAST(:g AS text)]"
    return set(_sql(statement, g=gram).scalars())


def test_0040_adds_the_filter_grams_to_the_decisions_there_and_to_come(at_0039):
    item = insert(_db, "approval_item", {**ITEM, "code": "S-1"})
    insert(_db, "licence_decision", {**LICENCE, "item_id": item, "document_number": "甲1号"})
    insert(_db, "licence_decision", {**LICENCE, **PERSON, **LATE, "item_id": item,
                                     "document_number": "甲2号"})  # fmt: skip
    insert(_db, "penalty_decision", {**PENALTY, **LATE, "document_number": "乙1号",
                                     "data_source_unit": OTHER_UNIT})  # fmt: skip
    _db.session.commit()
    unit, other = search.unit_token(LICENCE["data_source_unit"]), search.unit_token(OTHER_UNIT)
    assert _holding("licence_decision", unit) == set()
    _db.session.rollback()  # on PostgreSQL an open transaction would hold up the migration

    upgrade(revision="0040")
    assert _holding("licence_decision", unit) == {"甲1号", "甲2号"}
    assert _holding("penalty_decision", other) == {"乙1号"}
    assert _holding("licence_decision", search.LATE_TOKEN) == {"甲2号"}
    assert _holding("penalty_decision", search.LATE_TOKEN) == {"乙1号"}
    assert _holding("licence_decision", "~赵钱") == {"甲2号"}  # the staff's, never the public's
    assert _holding("licence_decision", "赵钱") == set()
    assert _holding("licence_decision", "示例") == {"甲1号"}  # 0034's grams as they were
    assert _found(q="赵钱") == set()
    # (the code of 0040 on a catalog at 0039 would find none: the tokens are not there yet)
    assert _found(q="号", late=True) == {("licence", "甲2号"), ("penalty", "乙1号")}
    assert _found(q="示例", unit=OTHER_UNIT) == {("penalty", "乙1号")}
    assert _found(q="号", unit=LICENCE["data_source_unit"]) == {("licence", "甲1号"),
                                                               ("licence", "甲2号")}  # fmt: skip
    # written and edited afterwards: the triggers
    insert(_db, "licence_decision", {**LICENCE, "item_id": item, "document_number": "甲3号",
                                     "data_source_unit": OTHER_UNIT})  # fmt: skip
    _sql("UPDATE licence_decision SET data_source_unit = :unit, published_on = :late"
         " WHERE document_number = '甲1号'", unit=OTHER_UNIT,
         late=LATE["published_on"])  # fmt: skip
    _db.session.commit()
    assert _holding("licence_decision", other) == {"甲1号", "甲3号"}
    assert _holding("licence_decision", unit) == {"甲2号"}
    assert _holding("licence_decision", search.LATE_TOKEN) == {"甲1号", "甲2号"}
    assert _found(q="示例", unit=OTHER_UNIT, late=True) == {("licence", "甲1号"),
                                                           ("penalty", "乙1号")}  # fmt: skip
    _db.session.rollback()

    downgrade(revision="0039")
    assert _holding("licence_decision", other) == set()
    assert _holding("licence_decision", "~赵钱") == set()
    assert _holding("licence_decision", "示例") == {"甲1号", "甲3号"}
    assert _sql("SELECT count(*) FROM licence_decision").scalar() == 3
    assert _sql("SELECT version_num FROM alembic_version").scalar() == "0039"
    _db.session.rollback()
