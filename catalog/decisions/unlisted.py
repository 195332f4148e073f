"""How many of the decisions a 双公示 figure counts the public list no longer (or not yet) shows.

The report (catalog.decisions.report) counts every decision of the year; the public list that
each number links to shows only what the public may see today (catalog.decisions.public_rows):
a penalty leaves it after its 公示截止日期 or a credit repair (信用修复), and a decision recorded
ahead of its 公示日期 is not on it yet. For each number that links to the list this gives the
count of such records, so that

    the number = the rows its public link lists + its not_public count,

and staff reach all of them through the staff list with the same filters (today's view, live
report only: a snapshot keeps no such count, its numbers link nowhere).

Two statements, over the hidden rows only (few next to the year's): each kind grouped by unit,
on-time or late, and the licence's item or the penalty's category."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import sqlalchemy as sa

from catalog.decisions.public_rows import public
from catalog.enums import PenaltyCategory
from catalog.extensions import db
from catalog.models import ApprovalItem, LicenceDecision, PenaltyDecision

LICENCE, PENALTY = "licence", "penalty"


def _hidden_rows(kind: str, year: int, unit: str | None, today: date):
    model = LicenceDecision if kind == LICENCE else PenaltyDecision
    key = ApprovalItem.code if kind == LICENCE else sa.type_coerce(model.category, sa.String)
    statement = sa.select(
        model.data_source_unit,
        model.published_on <= model.publish_by,
        key,
        sa.func.count(),
    ).where(
        model.decided_on.between(date(year, 1, 1), date(year, 12, 31)),
        sa.not_(public(kind, today)),
    )
    if unit is not None:
        statement = statement.where(model.data_source_unit == unit)
    if kind == LICENCE:
        statement = statement.join(ApprovalItem, ApprovalItem.id == LicenceDecision.item_id)
    return db.session.execute(
        statement.group_by(model.data_source_unit, model.published_on <= model.publish_by, key)
    ).all()


def _kind_counts() -> dict[str, Any]:
    return {"total": 0, "on_time": 0, "late": 0}


def not_public(year: int, unit: str | None, today: date) -> dict[str, Any]:
    """For each number of decision_report(year, unit) that links to the public list, how many
    of the decisions it counts the list does not show on `today`:

    {"total": n, "licence": {"total", "on_time", "late", "by_item": {code: n}},
     "penalty": {"total", "on_time", "late", "by_category": {key: n}},
     "by_unit": {unit: {"licence": n, "penalty": n, "on_time": n}}}

    Only non-zero entries are in by_item, by_category and by_unit."""
    result: dict[str, Any] = {
        "total": 0,
        LICENCE: {**_kind_counts(), "by_item": {}},
        PENALTY: {**_kind_counts(), "by_category": {}},
        "by_unit": {},
    }
    by_unit: dict[str, dict[str, int]] = defaultdict(lambda: {LICENCE: 0, PENALTY: 0, "on_time": 0})
    for kind, keys in ((LICENCE, "by_item"), (PENALTY, "by_category")):
        figures = result[kind]
        for name, on_time, key, count in _hidden_rows(kind, year, unit, today):
            figures["total"] += count
            figures["on_time" if on_time else "late"] += count
            if kind == PENALTY:
                key = PenaltyCategory(key).value
            figures[keys][key] = figures[keys].get(key, 0) + count
            by_unit[name][kind] += count
            if on_time:
                by_unit[name]["on_time"] += count
        result["total"] += figures["total"]
    result["by_unit"] = dict(sorted(by_unit.items()))
    return result
