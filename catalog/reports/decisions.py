"""The 双公示 section of the reform report: catalog.decisions.report.decision_report of one
year, of every data source unit or of one, for the live records or as a snapshot froze them,
with the years and units there are to choose from. Every surface (the page, the XLSX sheet,
the CSV, the JSON export, /api/v1/report, `flask report`) renders what section() returns;
nothing here counts.

A snapshot keeps the figures of every year and, per year, of every unit (freeze()), each with
its lists bounded as the live report's (the first 50 late decisions and items without, the 200
most used items): at 1,577,000 decisions and 44 units about 1 MB (docs/decisions.md,
"Snapshots", "Report at province scale")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from catalog.decisions import listing
from catalog.decisions.filters import FIRST_YEAR, LAST_YEAR
from catalog.decisions.report import (
    NoSuchUnit,
    decision_report,
    every_unit,
    is_unit,
    no_such_unit,
    unit_choices,
    unit_value,
)
from catalog.decisions.report_text import render_text
from catalog.decisions.unlisted import not_public
from catalog.domain import DomainError
from catalog.extensions import db
from catalog.models import LicenceDecision, PenaltyDecision

NOT_FROZEN = "（快照生成时尚无此项）"
YEAR_PARAMETER = "decisions_year"
UNIT_PARAMETER = "decisions_unit"
BAD_YEAR = f"双公示年份（decisions_year）须为{FIRST_YEAR}到{LAST_YEAR}之间的四位数字，如 2020。"


def requested_year(args: Mapping[str, str], name: str = YEAR_PARAMETER) -> int | None:
    """?decisions_year=YYYY (or `name`); None when absent; DomainError (400) when malformed."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    bad = BAD_YEAR.replace(YEAR_PARAMETER, name)
    if not (raw.isascii() and raw.isdigit() and len(raw) == 4):
        raise DomainError(bad)
    year = int(raw)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise DomainError(bad)
    return year


def decision_years() -> list[int]:
    """From the earliest to the latest year with a decision; [] when there is none. One
    statement of four MIN/MAX aggregates, each answered from the decided_on indexes, so a
    catalog without decisions pays one cheap round trip."""
    bounds = [
        sa.select(aggregate(model.decided_on)).scalar_subquery()
        for model in (LicenceDecision, PenaltyDecision)
        for aggregate in (sa.func.min, sa.func.max)
    ]
    days = [day for day in db.session.execute(sa.select(*bounds)).one() if day is not None]
    if not days:
        return []
    return list(range(min(days).year, max(days).year + 1))


def freeze() -> dict[str, Any]:
    """What a snapshot keeps: the figures of every year with decisions, and of every unit in
    each of those years, as they are now."""
    years = decision_years()
    units, figures = every_unit(years)
    return {
        "years": years,
        "by_year": {str(year): whole for year, (whole, _units) in figures.items()},
        "units": units,
        "by_year_and_unit": {str(year): of_units for year, (_whole, of_units) in figures.items()},
    }


def _section(year: int | None, years: list[int], unit: str | None, units, report) -> dict[str, Any]:
    chosen = year if year is not None else (years[-1] if years else None)
    has = chosen is not None and chosen in years
    return {
        "year": chosen,
        "years": years,
        "unit": unit,
        "units": units(chosen) if has else [],
        "report": report(chosen) if has else None,
        "not_public": None,
    }


def live_section(year: int | None, unit: str | None = None) -> dict[str, Any]:
    """The live figures of `year` (default: the latest year with decisions), of every unit or
    of `unit` (NoSuchUnit, 404, when no decision and no licence item has it); `report` is None
    when that year has no decision (no counting at all when there is no decision). `units`:
    the units to choose from, those of the year's decisions and of the licence items (and the
    one asked for). `not_public`: how many of the decisions behind each number the public list
    does not show today (catalog.decisions.unlisted; live figures only, None otherwise)."""
    if unit is not None and not is_unit(unit):
        raise no_such_unit(unit)
    result = _section(
        year,
        decision_years(),
        unit,
        lambda chosen: sorted({*unit_choices(chosen), *([unit] if unit else [])}),
        lambda chosen: decision_report(chosen, unit),
    )
    if result["report"] is not None:
        result["not_public"] = not_public(result["year"], unit, listing.public_today())
    return result


def _frozen_section(
    frozen: Mapping[str, Any], label: str, year: int | None, unit: str | None
) -> dict[str, Any]:
    units = list(frozen.get("units") or [])
    if unit is not None and "by_year_and_unit" not in frozen:
        raise NoSuchUnit(
            f"快照 {label} 生成时还没有按数据来源单位保存双公示统计，无法按单位查看；"
            "请去掉单位，或查看当前目录。"
        )
    if unit is not None and unit not in units:
        raise NoSuchUnit(f"快照 {label} 中没有数据来源单位“{unit}”的双公示统计。")

    def report(chosen: int) -> dict[str, Any]:
        if unit is None:
            return {"unit": None, **frozen["by_year"][str(chosen)]}  # (no unit key before)
        return frozen["by_year_and_unit"][str(chosen)][unit]

    return _section(year, list(frozen["years"]), unit, lambda _chosen: units, report)


def section(
    snapshot_report: Mapping[str, Any] | None, year: int | None, unit: str | None = None
) -> dict[str, Any] | None:
    """The section of a report source: the live records for None, else what the snapshot
    froze; None for a snapshot made before reports had the section (NoSuchUnit when a unit
    is asked of it)."""
    if snapshot_report is None:
        return live_section(year, unit)
    frozen = snapshot_report.get("decisions")
    label = (snapshot_report.get("snapshot") or {}).get("label", "")
    if frozen is None or "by_year" not in frozen:
        if unit is not None:
            raise NoSuchUnit(f"快照 {label} 生成时还没有双公示统计，无法按单位查看。")
        return None
    return _frozen_section(frozen, label, year, unit)


def with_section(report: dict[str, Any], section_: dict[str, Any] | None) -> dict[str, Any]:
    """The report document as the JSON surfaces give it: the snapshot's frozen form replaced
    by the chosen year's section (null for a snapshot made before it existed)."""
    return {**report, "decisions": section_}


def of_source(selected, args: Mapping[str, str]) -> dict[str, Any] | None:
    """The section a request asks for (?decisions_year=, ?decisions_unit=) of a report source
    (a ReportSource): the live records, or what the snapshot froze."""
    year = requested_year(args)
    unit = unit_value(args.get(UNIT_PARAMETER))
    return section(None if selected.snapshot is None else selected.report, year, unit)


def section_text(section_: dict[str, Any] | None) -> str:
    """The section as `flask report --format text` prints it after the reform figures."""
    heading = "双公示（行政许可和行政处罚决定）"
    if section_ is None:
        return f"{heading}：{NOT_FROZEN}"
    if section_["report"] is None:
        return f"{heading}：{section_['year'] or ''}年没有行政许可或行政处罚决定记录"
    return f"{heading}\n{render_text(section_['report'])}"
