"""The 双公示 figures of a year, for every data source unit or for one: counts of licence and
penalty decisions, the share published on time with the late ones listed, decisions per
licence item (and the items with none), fines by 处罚类别, and the same by data source unit.

A unit is a decision's 数据来源单位 (`data_source_unit`), as the public list's `unit` filter and
the by-unit table read it. For a unit, the licence items are those it handles (the item's
承办机构, `handling_unit`) and any other it decided under.

Counted in SQL, grouped by unit: the same statements give the figures of every unit at once
(a snapshot keeps them all) and, summed, those of the whole year. The tests hold the numbers
to a count over the rows in Python."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from catalog.decisions.filters import MAX_UNIT_LENGTH
from catalog.domain import DomainError
from catalog.enums import ItemType, PenaltyCategory, Status
from catalog.extensions import db
from catalog.models import ApprovalItem, LicenceDecision, PenaltyDecision
from catalog.ratios import percent

KINDS = (("licence", LicenceDecision), ("penalty", PenaltyDecision))
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


def _scope(model: type, year: int, unit: str | None) -> list[sa.ColumnElement[bool]]:
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


def _decimal(value: Any) -> Decimal:
    """A SUM as the database gives it (Decimal, or a float on SQLite) as a Decimal."""
    return Decimal(str(value or 0))


@dataclass
class _Rows:
    """A year's figures per data source unit, as the grouped statements read them."""

    counts: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # (kind, unit)
    late: dict[str, list[tuple[str, dict[str, str]]]] = field(default_factory=dict)  # (unit, …)
    # (id, code, name, handling unit, published), in code order
    items: list[tuple[int, str, str, str | None, bool]] = field(default_factory=list)
    per_item: dict[str, dict[int, int]] = field(default_factory=dict)  # unit -> item id -> n
    fines: dict[tuple[str, str], tuple[int, Decimal, Decimal]] = field(default_factory=dict)

    @property
    def units(self) -> set[str]:
        return {unit for _kind, unit in self.counts}


def _read(year: int, unit: str | None) -> _Rows:
    """Six statements: per kind the counts by unit and the late ones; the licence decisions by
    unit and item, and the licence items in scope; the penalties by unit and category."""
    rows = _Rows()
    for kind, model in KINDS:
        scope = _scope(model, year, unit)
        on_time = sa.func.count().filter(model.published_on <= model.publish_by)
        for name, total, count in db.session.execute(
            sa.select(model.data_source_unit, sa.func.count(), on_time)
            .where(*scope)
            .group_by(model.data_source_unit)
        ):
            rows.counts[kind, name] = (total, count)
        late = db.session.execute(
            sa.select(model.data_source_unit, model.document_number, model.decided_on,
                      model.published_on, model.publish_by)
            .where(*scope, model.published_on > model.publish_by)
            .order_by(model.decided_on, model.document_number)
        )  # fmt: skip
        rows.late[kind] = [
            (row.data_source_unit, {
                "document_number": row.document_number,
                "decided_on": row.decided_on.isoformat(),
                "published_on": row.published_on.isoformat(),
                "publish_by": row.publish_by.isoformat(),
            })
            for row in late
        ]  # fmt: skip
    licence_scope = _scope(LicenceDecision, year, unit)
    for name, item_id, count in db.session.execute(
        sa.select(LicenceDecision.data_source_unit, LicenceDecision.item_id, sa.func.count())
        .where(*licence_scope)
        .group_by(LicenceDecision.data_source_unit, LicenceDecision.item_id)
    ):
        rows.per_item.setdefault(name, {})[item_id] = count
    # The items in scope: the published licence items (of the unit: those it handles) and
    # every item decided under that year, whatever its status now (a retired item's decisions
    # still count, under it). A retired or unpublished item with no decision is not offered,
    # so it is not "an item nobody used".
    decided = sa.select(LicenceDecision.item_id).where(*licence_scope)
    offered = ApprovalItem.status == Status.published
    if unit is not None:
        offered = sa.and_(offered, ApprovalItem.handling_unit == unit)
    items = sa.select(
        ApprovalItem.id,
        ApprovalItem.code,
        ApprovalItem.name,
        ApprovalItem.handling_unit,
        ApprovalItem.status == Status.published,
    ).where(
        ApprovalItem.item_type == ItemType.licence, sa.or_(offered, ApprovalItem.id.in_(decided))
    )
    rows.items = [tuple(row) for row in db.session.execute(items.order_by(ApprovalItem.code))]
    for name, category, count, fines, confiscated in db.session.execute(
        sa.select(
            PenaltyDecision.data_source_unit,
            PenaltyDecision.category,
            sa.func.count(),
            sa.func.sum(PenaltyDecision.fine_amount),
            sa.func.sum(PenaltyDecision.confiscated_amount),
        )
        .where(*_scope(PenaltyDecision, year, unit))
        .group_by(PenaltyDecision.data_source_unit, PenaltyDecision.category)
    ):
        rows.fines[name, PenaltyCategory(category).value] = (
            count, _decimal(fines), _decimal(confiscated)
        )  # fmt: skip
    return rows


def _of(unit: str | None, name: str) -> bool:
    """Whether the figures of `name` count towards those of `unit` (None: every unit)."""
    return unit is None or name == unit


def _timeliness(rows: _Rows, kind: str, unit: str | None) -> dict[str, Any]:
    total = count = 0
    for (of_kind, name), (all_, on_time) in rows.counts.items():
        if of_kind == kind and _of(unit, name):
            total, count = total + all_, count + on_time
    late = [entry for name, entry in rows.late[kind] if _of(unit, name)]
    return {"total": total, "on_time": _share(count, total), "late": late}


def _by_item(rows: _Rows, unit: str | None) -> dict[str, Any]:
    counts: dict[int, int] = defaultdict(int)
    for name, per_item in rows.per_item.items():
        if _of(unit, name):
            for item_id, count in per_item.items():
                counts[item_id] += count
    in_scope = [  # the items with decisions, and the offered (published) items of the unit
        (code, name, counts.get(item_id, 0))
        for item_id, code, name, handling_unit, published in rows.items
        if counts.get(item_id) or (published and (unit is None or handling_unit == unit))
    ]
    ranked = sorted(in_scope, key=lambda row: -row[2])  # stable: code order among equals
    return {
        "licence_items": len(in_scope),
        "with_decisions": sum(1 for row in in_scope if row[2]),
        "by_item": [{"code": code, "name": name, "count": n} for code, name, n in ranked if n],
        "without_decisions": sorted(code for code, _name, n in in_scope if not n),
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


def title(year: int, unit: str | None = None) -> str:
    return f"{BUREAU} {year}年双公示统计" + (f"（数据来源单位：{unit}）" if unit else "")


def _report(rows: _Rows, year: int, unit: str | None) -> dict[str, Any]:
    licence = _timeliness(rows, "licence", unit)
    licence.update(_by_item(rows, unit))
    penalty = _timeliness(rows, "penalty", unit)
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
    of the licence items) and, for each year, its figures and those of each unit, from one
    reading of the year."""
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
    statements = [_licence_units()] + [
        sa.select(model.data_source_unit).where(*_scope(model, year, None)).distinct()
        for _kind, model in KINDS
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
