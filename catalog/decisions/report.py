"""The 双公示 figures of a year: counts of licence and penalty decisions, the share published
on time with the late ones listed, decisions per licence item (and the items with none),
fines by 处罚类别, and the same by data source unit. Counted in SQL; the tests hold the numbers
to a count over the rows in Python."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from catalog.enums import ItemType, PenaltyCategory
from catalog.extensions import db
from catalog.models import ApprovalItem, LicenceDecision, PenaltyDecision
from catalog.ratios import percent


def _in_year(model: type, year: int) -> sa.ColumnElement[bool]:
    return model.decided_on.between(date(year, 1, 1), date(year, 12, 31))


def _share(count: int, total: int) -> dict[str, Any]:
    value = percent(count, total)
    return {"count": count, "total": total, "percent": None if value is None else float(value)}


def _amount(value: Decimal | None) -> float:
    """万元 as a JSON number (to the cent: 0.000001 万元)."""
    return float(round(value or Decimal(0), 6))


def _timeliness(model: type, year: int) -> dict[str, Any]:
    on_time = sa.func.count().filter(model.published_on <= model.publish_by)
    total, count = db.session.execute(
        sa.select(sa.func.count(), on_time).where(_in_year(model, year))
    ).one()
    late = db.session.execute(
        sa.select(model.document_number, model.decided_on, model.published_on, model.publish_by)
        .where(_in_year(model, year), model.published_on > model.publish_by)
        .order_by(model.decided_on, model.document_number)
    ).all()
    return {
        "total": total,
        "on_time": _share(count, total),
        "late": [
            {
                "document_number": row.document_number,
                "decided_on": row.decided_on.isoformat(),
                "published_on": row.published_on.isoformat(),
                "publish_by": row.publish_by.isoformat(),
            }
            for row in late
        ],
    }


def _by_item(year: int) -> dict[str, Any]:
    counts = (
        sa.select(LicenceDecision.item_id, sa.func.count().label("decisions"))
        .where(_in_year(LicenceDecision, year))
        .group_by(LicenceDecision.item_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(ApprovalItem.code, ApprovalItem.name, sa.func.coalesce(counts.c.decisions, 0))
        .outerjoin(counts, counts.c.item_id == ApprovalItem.id)
        .where(ApprovalItem.item_type == ItemType.licence)
        .order_by(sa.func.coalesce(counts.c.decisions, 0).desc(), ApprovalItem.code)
    ).all()
    return {
        "licence_items": len(rows),
        "with_decisions": sum(1 for row in rows if row[2]),
        "by_item": [{"code": code, "name": name, "count": n} for code, name, n in rows if n],
        "without_decisions": sorted(code for code, _name, n in rows if not n),
    }


def _fines(year: int) -> dict[str, Any]:
    rows = db.session.execute(
        sa.select(
            PenaltyDecision.category,
            sa.func.count(),
            sa.func.sum(PenaltyDecision.fine_amount),
            sa.func.sum(PenaltyDecision.confiscated_amount),
        )
        .where(_in_year(PenaltyDecision, year))
        .group_by(PenaltyDecision.category)
    ).all()
    found = {row[0]: row for row in rows}
    by_category = []
    for category in PenaltyCategory:
        _category, count, fines, confiscated = found.get(category, (category, 0, None, None))
        by_category.append(
            {
                "key": category.value,
                "label": category.label,
                "count": count,
                "fine_total": _amount(fines),
                "confiscated_total": _amount(confiscated),
            }
        )
    return {
        "fine_total": _amount(sum((Decimal(str(row[2] or 0)) for row in rows), Decimal(0))),
        "by_category": by_category,
    }


def _by_unit(year: int) -> list[dict[str, Any]]:
    units: dict[str, dict[str, Any]] = {}
    for kind, model in (("licence", LicenceDecision), ("penalty", PenaltyDecision)):
        rows = db.session.execute(
            sa.select(
                model.data_source_unit,
                sa.func.count(),
                sa.func.count().filter(model.published_on <= model.publish_by),
            )
            .where(_in_year(model, year))
            .group_by(model.data_source_unit)
        ).all()
        for unit, total, on_time in rows:
            entry = units.setdefault(unit, {"unit": unit, "licence": 0, "penalty": 0, "_on": 0})
            entry[kind] = total
            entry["_on"] += on_time
    result = []
    for unit in sorted(units):
        entry = units[unit]
        on_time = entry.pop("_on")
        entry["on_time"] = _share(on_time, entry["licence"] + entry["penalty"])
        result.append(entry)
    return result


def decision_report(year: int) -> dict[str, Any]:
    """The 双公示 figures of decisions taken in `year` (decided_on in that year)."""
    licence = _timeliness(LicenceDecision, year)
    licence.update(_by_item(year))
    penalty = _timeliness(PenaltyDecision, year)
    penalty.update(_fines(year))
    return {
        "title": f"许昌市交通运输局 {year}年双公示统计",
        "year": year,
        "licence": licence,
        "penalty": penalty,
        "by_unit": _by_unit(year),
    }


def _percent_text(share: dict[str, Any]) -> str:
    value = "无数据" if share["percent"] is None else f"{share['percent']:.2f} %"
    return f"{share['count']} / {share['total']} = {value}"


def render_text(document: dict[str, Any]) -> str:
    licence, penalty = document["licence"], document["penalty"]
    lines = [
        document["title"],
        f"行政许可决定 {licence['total']} 条，"
        f"按时公示（7个工作日内）{_percent_text(licence['on_time'])}，"
        f"逾期 {len(licence['late'])} 条",
        f"行政许可事项 {licence['licence_items']} 项，有许可决定的 {licence['with_decisions']} 项，"
        f"无许可决定的 {len(licence['without_decisions'])} 项",
        f"行政处罚决定 {penalty['total']} 条，按时公示 {_percent_text(penalty['on_time'])}，"
        f"逾期 {len(penalty['late'])} 条，罚款合计 {penalty['fine_total']} 万元",
    ]
    lines += [
        f"  {entry['label']}：{entry['count']} 条，罚款 {entry['fine_total']} 万元"
        for entry in penalty["by_category"]
        if entry["count"]
    ]
    lines.append("按数据来源单位：")
    lines += [
        f"  {entry['unit']}：许可 {entry['licence']} 条，处罚 {entry['penalty']} 条，"
        f"按时公示 {_percent_text(entry['on_time'])}"
        for entry in document["by_unit"]
    ]
    return "\n".join(lines)
