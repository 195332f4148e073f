"""The 双公示 figures of a year, for every data source unit or for one: counts of licence and
penalty decisions, the share published on time with the late ones listed, decisions per
licence item (and the items with none), fines by 处罚类别, and the same by data source unit.

A unit is a decision's 数据来源单位 (`data_source_unit`), as the public list's `unit` filter and
the by-unit table read it. For a unit, the licence items are those it handles (the item's
承办机构, `handling_unit`) and any other it decided under.

Read from the figures kept in the transactions that change decisions (catalog.decisions.sums:
a row per year, unit, kind, item or category, on time, ...), never by grouping the decisions:
at 1,577,000 decisions that took 5-6 s a request. Only the first LIST_LIMIT late decisions are
read from the rows (by index, in decision order). The long lists are bounded (the first late
decisions and items without, the most used items) and carry their totals and where the rest
is (docs/decisions.md, "Report at province scale"). The tests hold the numbers to a count over
the rows in Python."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa

from catalog.decisions.columns import LICENCE, PENALTY
from catalog.decisions.filters import MAX_UNIT_LENGTH
from catalog.decisions.sums import from_micros
from catalog.domain import DomainError
from catalog.enums import ItemType, PenaltyCategory, Status
from catalog.extensions import db
from catalog.models import ApprovalItem, LicenceDecision, PenaltyDecision, decision_sums
from catalog.ratios import percent

KINDS = ((LICENCE, LicenceDecision), (PENALTY, PenaltyDecision))
LIST_LIMIT = 50  # late decisions and items without decisions listed (the rest: their links)
BY_ITEM_LIMIT = 200  # items listed with their decisions, the most used first
BUREAU = "许昌市交通运输局"
UNIT_LABEL = "双公示数据来源单位"


class NoSuchUnit(DomainError):
    """A unit no decision and no licence item has (404)."""

    status = 404


def no_such_unit(unit: str) -> NoSuchUnit:
    return NoSuchUnit(
        f"没有名为“{unit}”的数据来源单位：它没有作出过行政许可或行政处罚决定，也不承办行政许可"
        "事项。请从单位列表中选择，或去掉单位查看全部。"
    )


def unit_value(raw: str | None) -> str | None:
    """A unit as asked for (a request's argument, a command's option): None when blank;
    DomainError (400) when longer than a unit can be. (Any other text is looked up: one with
    control characters is no unit's name, a 404 like any other; a NUL never reaches here,
    catalog.errors refuses it first.)"""
    unit = (raw or "").strip()
    if not unit:
        return None
    if len(unit) > MAX_UNIT_LENGTH:
        raise DomainError(f"{UNIT_LABEL}：最多{MAX_UNIT_LENGTH}个字符。")
    return unit


def scope(model: type, year: int, unit: str | None) -> list[sa.ColumnElement[bool]]:
    """Decisions taken in `year` (decided_on in it), of `unit` when one is given."""
    conditions = [model.decided_on.between(date(year, 1, 1), date(year, 12, 31))]
    if unit is not None:
        conditions.append(model.data_source_unit == unit)
    return conditions


def _share(count: int, total: int) -> dict[str, Any]:
    value = percent(count, total)
    return {"count": count, "total": total, "percent": None if value is None else float(value)}


def _amount(value: Decimal | None) -> float:
    """万元 as a JSON number (to the cent: 0.000001 万元)."""
    return float(round(value or Decimal(0), 6))


def kept(year: int, unit: str | None) -> list[sa.ColumnElement[bool]]:
    """The kept rows (catalog.decisions.sums) of `year`, of `unit` when one is given."""
    conditions = [decision_sums.c.year == year]  # (a row has decisions: sums.apply)
    if unit is not None:
        conditions.append(decision_sums.c.unit == unit)
    return conditions


def list_path(kind: str, year: int, unit: str | None, **filters: Any) -> str:
    """Where the rest of a listed part is read: the public list's API with the filters that
    select what was counted (its not_public count says what it cannot show)."""
    query = {"kind": kind, "year": year, **filters}
    if unit is not None:
        query["unit"] = unit
    return "/api/v1/decisions?" + urlencode(query)


def items_without_path(year: int, unit: str | None) -> str:
    """The page of every offered licence item without a decision of the year (of the unit)."""
    query: dict[str, Any] = {"year": year}
    if unit is not None:
        query["unit"] = unit
    return "/decisions/items-without?" + urlencode(query)


@dataclass
class _Rows:
    """A year's figures per data source unit, as the kept sums give them."""

    counts: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # (kind, unit)
    fines: dict[tuple[str, str], tuple[int, Decimal, Decimal]] = field(default_factory=dict)

    @property
    def units(self) -> set[str]:
        return {unit for _kind, unit in self.counts}


def _read(year: int, unit: str | None) -> _Rows:
    """Two reads of the kept sums: per kind and unit the counts (all, on time); per unit and
    category the penalties and their amounts."""
    rows = _Rows()
    on_time = sa.func.sum(sa.case((decision_sums.c.on_time, decision_sums.c.decisions), else_=0))
    for kind, name, total, count in db.session.execute(
        sa.select(decision_sums.c.kind, decision_sums.c.unit,
                  sa.func.sum(decision_sums.c.decisions), on_time)
        .where(*kept(year, unit))
        .group_by(decision_sums.c.kind, decision_sums.c.unit)
    ):  # fmt: skip
        if total:
            rows.counts[kind, name] = (int(total), int(count or 0))
    for name, category, count, fines, confiscated in db.session.execute(
        sa.select(
            decision_sums.c.unit,
            decision_sums.c.category,
            sa.func.sum(decision_sums.c.decisions),
            sa.func.sum(decision_sums.c.fine_micros),
            sa.func.sum(decision_sums.c.confiscated_micros),
        )
        .where(*kept(year, unit), decision_sums.c.kind == PENALTY)
        .group_by(decision_sums.c.unit, decision_sums.c.category)
    ):
        if count:
            rows.fines[name, category] = (
                int(count), from_micros(int(fines or 0)), from_micros(int(confiscated or 0))
            )  # fmt: skip
    return rows


def _late(kind: str, year: int, unit: str | None) -> list[dict[str, str]]:
    """The first LIST_LIMIT late decisions in the order of their decision (by ix_*_late, or
    ix_*_unit_order with a unit: the walk stops at the limit)."""
    model = LicenceDecision if kind == LICENCE else PenaltyDecision
    late = db.session.execute(
        sa.select(model.document_number, model.decided_on, model.published_on, model.publish_by)
        .where(*scope(model, year, unit), model.published_on > model.publish_by)
        .order_by(model.decided_on, model.id)
        .limit(LIST_LIMIT)
    )
    return [
        {
            "document_number": row.document_number,
            "decided_on": row.decided_on.isoformat(),
            "published_on": row.published_on.isoformat(),
            "publish_by": row.publish_by.isoformat(),
        }
        for row in late
    ]


def _of(unit: str | None, name: str) -> bool:
    """Whether the figures of `name` count towards those of `unit` (None: every unit)."""
    return unit is None or name == unit


def _timeliness(rows: _Rows, kind: str, year: int, unit: str | None) -> dict[str, Any]:
    total = count = 0
    for (of_kind, name), (all_, on_time) in rows.counts.items():
        if of_kind == kind and _of(unit, name):
            total, count = total + all_, count + on_time
    return {
        "total": total,
        "on_time": _share(count, total),
        "late": _late(kind, year, unit) if total > count else [],
        "late_total": total - count,
        "late_list": list_path(kind, year, unit, late=1),
    }


def _decided_items(year: int, unit: str | None) -> sa.Select:
    """item id -> licence decisions of the year (of the unit), from the kept sums."""
    return (
        sa.select(decision_sums.c.item_id, sa.func.sum(decision_sums.c.decisions).label("n"))
        .where(*kept(year, unit), decision_sums.c.kind == LICENCE)
        .group_by(decision_sums.c.item_id)
    )


def _offered(unit: str | None) -> list[sa.ColumnElement[bool]]:
    """The licence items offered: published (of the unit: those it handles)."""
    conditions = [
        ApprovalItem.item_type == ItemType.licence,
        ApprovalItem.status == Status.published,
    ]
    if unit is not None:
        conditions.append(ApprovalItem.handling_unit == unit)
    return conditions


def without_decisions(year: int, unit: str | None) -> sa.Select:
    """The offered licence items without a licence decision of the year (of the unit): their
    code and name, in code order (the report's first ones, and the page of them all)."""
    decided = sa.exists().where(
        *kept(year, unit),
        decision_sums.c.kind == LICENCE,
        decision_sums.c.item_id == ApprovalItem.id,
    )
    return (
        sa.select(ApprovalItem.code, ApprovalItem.name)
        .where(*_offered(unit), ~decided)
        .order_by(ApprovalItem.code)
    )


def _by_item(year: int, unit: str | None) -> dict[str, Any]:
    """Every item with decisions in the year, whatever its status now (a retired item's
    decisions still count, under it), and the offered items without: counted in SQL over the
    kept sums (by the covering ix_decision_sums_item) and the items, never read row by row in
    Python (43,000 items at province scale cost 160 ms through the session); the first
    BY_ITEM_LIMIT items by decisions and the first LIST_LIMIT items without are listed."""
    decided = _decided_items(year, unit).subquery()
    top = (  # the most used items, and (over the whole grouping, in the same pass) how many
        sa.select(decided.c.item_id, decided.c.n, sa.func.count().over().label("decided_items"))
        .order_by(decided.c.n.desc())
        .limit(BY_ITEM_LIMIT)
        .subquery()
    )
    ranked = db.session.execute(
        sa.select(ApprovalItem.code, ApprovalItem.name, top.c.n, top.c.decided_items)
        .join(top, top.c.item_id == ApprovalItem.id)
        .order_by(top.c.n.desc(), ApprovalItem.code)
    ).all()
    with_decisions = int(ranked[0].decided_items) if ranked else 0
    none = without_decisions(year, unit)
    none_total = (
        db.session.scalar(sa.select(sa.func.count()).select_from(none.order_by(None).subquery()))
        or 0
    )
    return {
        "licence_items": with_decisions + none_total,
        "with_decisions": with_decisions,
        "by_item": [{"code": code, "name": name, "count": int(n)} for code, name, n, _ in ranked],
        "without_decisions": (
            [code for code, _name in db.session.execute(none.limit(LIST_LIMIT))]
            if none_total
            else []
        ),
        "without_decisions_total": none_total,
        "without_decisions_list": items_without_path(year, unit),
    }


def _fines(rows: _Rows, unit: str | None) -> dict[str, Any]:
    by_category = []
    fine_total = Decimal(0)
    for category in PenaltyCategory:
        count, fines, confiscated = 0, Decimal(0), Decimal(0)
        for (name, key), (n, fine, confiscation) in rows.fines.items():
            if key == category.value and _of(unit, name):
                count, fines, confiscated = count + n, fines + fine, confiscated + confiscation
        fine_total += fines
        by_category.append(
            {"key": category.value, "label": category.label, "count": count,
             "fine_total": _amount(fines), "confiscated_total": _amount(confiscated)}
        )  # fmt: skip
    return {"fine_total": _amount(fine_total), "by_category": by_category}


def _by_unit(rows: _Rows, unit: str | None) -> list[dict[str, Any]]:
    result = []
    for name in sorted(rows.units):
        if not _of(unit, name):
            continue
        entry: dict[str, Any] = {"unit": name}
        on_time = 0
        for kind, _model in KINDS:
            total, count = rows.counts.get((kind, name), (0, 0))
            entry[kind] = total
            on_time += count
        entry["on_time"] = _share(on_time, entry["licence"] + entry["penalty"])
        result.append(entry)
    return result


def late_total(part: dict[str, Any]) -> int:
    """A kind's late decisions: all of them (a snapshot made before the lists were bounded
    has no late_total: its list is all of them)."""
    return part.get("late_total", len(part["late"]))


def without_total(licence: dict[str, Any]) -> int:
    """The offered licence items without a decision (an older snapshot: its whole list)."""
    return licence.get("without_decisions_total", len(licence["without_decisions"]))


def title(year: int, unit: str | None = None) -> str:
    return f"{BUREAU} {year}年双公示统计" + (f"（数据来源单位：{unit}）" if unit else "")


def _report(rows: _Rows, year: int, unit: str | None) -> dict[str, Any]:
    licence = _timeliness(rows, LICENCE, year, unit)
    licence.update(_by_item(year, unit))
    penalty = _timeliness(rows, PENALTY, year, unit)
    penalty.update(_fines(rows, unit))
    return {
        "title": title(year, unit),
        "year": year,
        "unit": unit,
        "licence": licence,
        "penalty": penalty,
        "by_unit": _by_unit(rows, unit),
    }


def decision_report(year: int, unit: str | None = None) -> dict[str, Any]:
    """The 双公示 figures of decisions taken in `year` (decided_on in that year): of every
    data source unit, or of `unit` alone."""
    return _report(_read(year, unit), year, unit)


def every_unit(years: list[int]) -> tuple[list[str], dict[int, tuple[dict, dict[str, dict]]]]:
    """What a snapshot keeps: the units (those of the years' decisions and the handling units
    of the licence items) and, for each year, its figures and those of each unit (each with
    its lists bounded: LIST_LIMIT late decisions and items without, BY_ITEM_LIMIT items)."""
    read = {year: _read(year, None) for year in years}
    found = {
        *db.session.scalars(_licence_units()),
        *(u for rows in read.values() for u in rows.units),
    }
    units = sorted(name for name in found if name and name.strip())
    return units, {
        year: (_report(rows, year, None), {unit: _report(rows, year, unit) for unit in units})
        for year, rows in read.items()
    }


def _licence_units() -> sa.Select:
    """The handling units (承办机构) of the licence items."""
    return (
        sa.select(ApprovalItem.handling_unit)
        .where(ApprovalItem.item_type == ItemType.licence, ApprovalItem.handling_unit.is_not(None))
        .distinct()
    )


def unit_choices(year: int) -> list[str]:
    """The units to look at a year's figures by: every data source unit of a decision taken
    that year, and every handling unit of a licence item (its items may have none)."""
    statements = [
        _licence_units(),
        sa.select(decision_sums.c.unit).where(*kept(year, None)).distinct(),
    ]
    found = db.session.scalars(sa.union(*statements)).all()
    return sorted({name for name in found if name and name.strip()})


def is_unit(unit: str) -> bool:
    """Whether `unit` is the data source unit of a decision (of any year) or the handling unit
    of a licence item: three lookups by index."""
    exists = [sa.exists().where(model.data_source_unit == unit) for _kind, model in KINDS] + [
        sa.exists().where(
            ApprovalItem.handling_unit == unit, ApprovalItem.item_type == ItemType.licence
        )
    ]
    return bool(db.session.scalar(sa.select(sa.or_(*exists))))
