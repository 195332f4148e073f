"""How many of the decisions a 双公示 figure counts the public list no longer (or not yet) shows.

The report (catalog.decisions.report) counts every decision of the year; the public list that
each number links to shows only what the public may see today (catalog.decisions.public_rows):
a penalty leaves it after its 公示截止日期 or a credit repair (信用修复), and a decision recorded
ahead of its 公示日期 is not on it yet. For each number that links to the list this gives the
count of such records, so that

    the number = the rows its public link lists + its not_public count,

and staff reach all of them through the staff list with the same filters (today's view, live
report only: a snapshot keeps no such count, its numbers link nowhere).

Bounded at any scale (docs/decisions.md, "Report at province scale"): at 1,577,000 decisions
nearly every penalty of a past year is past its 公示截止日期 today, so counting the hidden rows
meant reading them all. The kept sums (catalog.decisions.sums) are keyed by the month a
penalty's publication ends and by its credit repair, so three reads give the count:

1. from the kept sums: the penalties ended early, or whose publication ended before this month;
2. from the rows: the penalties whose publication ends this month before today (by the index
   of publication_ends_on: at most a month of ends);
3. from the rows: the decisions recorded ahead of their publication day (published_on > today,
   by its index: few), not ended early (counted in 1).

The three are disjoint (a penalty published after today ends after today)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import sqlalchemy as sa

from catalog.decisions.columns import LICENCE, PENALTY
from catalog.decisions.report import kept
from catalog.decisions.sums import month_of
from catalog.enums import PenaltyCategory
from catalog.extensions import db
from catalog.models import (
    ApprovalItem,
    CreditRepair,
    LicenceDecision,
    PenaltyDecision,
    decision_sums,
)

_CATEGORY = sa.type_coerce(PenaltyDecision.category, sa.String)
_NOT_REPAIRED = ~sa.exists().where(CreditRepair.penalty_id == PenaltyDecision.id)


def _ended(year: int, unit: str | None, today: date):
    """1: the penalties ended early or before this month, from the kept sums."""
    c = decision_sums.c
    return db.session.execute(
        sa.select(c.unit, c.on_time, c.category, sa.func.sum(c.decisions))
        .where(*kept(year, unit), c.kind == PENALTY,
               sa.or_(c.repaired, c.ends_month < month_of(today)))
        .group_by(c.unit, c.on_time, c.category)
    ).all()  # fmt: skip


def _grouped_rows(kind: str, year: int, unit: str | None, *conditions) -> list:
    """(unit, on time, item code or category, 1) of the rows meeting `conditions`, which an
    index serves (few rows), of the year and unit. The year and unit are checked here, not in
    SQL: given the year's date range, SQLite's planner walked the decision-day index over the
    whole year instead (2 s at 1,577,000 decisions)."""
    model = LicenceDecision if kind == LICENCE else PenaltyDecision
    key = ApprovalItem.code if kind == LICENCE else _CATEGORY
    statement = sa.select(
        model.data_source_unit, model.decided_on, model.published_on <= model.publish_by, key
    ).where(*conditions)
    if kind == LICENCE:
        statement = statement.join(ApprovalItem, ApprovalItem.id == LicenceDecision.item_id)
    return [
        (name, on_time, found, 1)
        for name, decided_on, on_time, found in db.session.execute(statement)
        if decided_on.year == year and unit in (None, name)
    ]


def _hidden_rows(kind: str, year: int, unit: str | None, today: date) -> list:
    """What the public list does not show on `today` of a kind: (unit, on time, item code or
    category, count) rows, from the three reads above."""
    found = []
    if kind == PENALTY:
        found += _ended(year, unit, today)
        found += _grouped_rows(
            PENALTY, year, unit,
            PenaltyDecision.publication_ends_on >= today.replace(day=1),
            PenaltyDecision.publication_ends_on < today,
            _NOT_REPAIRED,
        )  # fmt: skip
    model = LicenceDecision if kind == LICENCE else PenaltyDecision
    ahead = [model.published_on > today] + ([_NOT_REPAIRED] if kind == PENALTY else [])
    found += _grouped_rows(kind, year, unit, *ahead)
    return found


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
            count = int(count or 0)
            if not count:
                continue
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
