"""Migration 0029 (双公示 decision records) on SQLite and PostgreSQL: an existing catalog is
kept, the default publication periods of 发改办财金〔2019〕527号 are written, and a downgrade
removes the new tables and keeps the catalog."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from catalog.extensions import db as _db
from tests.migrations import app_migrated_to
from tests.test_database_guard import HANDLING, ITEM, _sql, insert

NEW_TABLES = {"licence_decision", "penalty_decision", "credit_repair", "publication_period"}


before_0029 = app_migrated_to("0028")  # the revision before 0029


def _catalog() -> list[tuple]:
    rows = _sql(
        "SELECT i.code, i.name, i.version, h.code, h.promised_days FROM approval_item i"
        " JOIN handling_item h ON h.item_id = i.id ORDER BY h.code"
    ).all()
    _db.session.rollback()  # on PostgreSQL an open transaction would hold up the migration
    return rows


def _tables() -> set[str]:
    tables = set(sa.inspect(_db.engine).get_table_names())
    return tables & NEW_TABLES


def test_0029_keeps_the_catalog_and_writes_the_default_periods(before_0029):
    item = insert(_db, "approval_item", {**ITEM, "code": "D-1"})
    insert(_db, "handling_item", {**HANDLING, "item_id": item, "code": "D-1-01"})
    _db.session.commit()
    before = _catalog()
    assert _tables() == set()

    upgrade(revision="0029")
    assert _catalog() == before
    assert _tables() == NEW_TABLES
    periods = _sql(
        "SELECT severity, effective_from, min_months, max_months, source"
        " FROM publication_period ORDER BY severity"
    ).all()
    assert [(s, str(d), low, high, src) for s, d, low, high, src in periods] == [
        ("general", "2019-07-01", 3, 12, "发改办财金〔2019〕527号"),
        ("serious", "2019-07-01", 6, 36, "发改办财金〔2019〕527号"),
    ]
    assert _sql("SELECT count(*) FROM licence_decision").scalar() == 0
    _db.session.rollback()

    downgrade(revision="0028")
    assert _tables() == set()
    assert _catalog() == before
