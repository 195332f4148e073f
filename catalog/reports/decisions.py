"""The 双公示 section of the reform report: catalog.decisions.report.decision_report of one
year, for the live records or as a snapshot froze them, with the years there are to choose
from. Every surface (the page, the XLSX sheet, the JSON export, /api/v1/report) renders what
section() returns; nothing here counts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from catalog.decisions.filters import FIRST_YEAR, LAST_YEAR
from catalog.decisions.report import decision_report
from catalog.domain import DomainError
from catalog.extensions import db
from catalog.models import LicenceDecision, PenaltyDecision

NOT_FROZEN = "（快照生成时尚无此项）"
YEAR_PARAMETER = "decisions_year"
BAD_YEAR = f"双公示年份（decisions_year）须为{FIRST_YEAR}到{LAST_YEAR}之间的四位数字，如 2020。"


def requested_year(args: Mapping[str, str]) -> int | None:
    """?decisions_year=YYYY; None when absent; DomainError (400) when malformed."""
    raw = (args.get(YEAR_PARAMETER) or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) == 4):
        raise DomainError(BAD_YEAR)
    year = int(raw)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise DomainError(BAD_YEAR)
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
    """What a snapshot keeps: the figures of every year with decisions, as they are now."""
    years = decision_years()
    return {"years": years, "by_year": {str(year): decision_report(year) for year in years}}


def _section(year: int | None, years: list[int], report) -> dict[str, Any]:
    chosen = year if year is not None else (years[-1] if years else None)
    has = chosen is not None and chosen in years
    return {"year": chosen, "years": years, "report": report(chosen) if has else None}


def live_section(year: int | None) -> dict[str, Any]:
    """The live figures of `year` (default: the latest year with decisions); `report` is None
    when that year has no decision (no counting at all when there is no decision)."""
    return _section(year, decision_years(), decision_report)


def section(snapshot_report: Mapping[str, Any] | None, year: int | None) -> dict[str, Any] | None:
    """The section of a report source: the live records for None, else what the snapshot
    froze; None for a snapshot made before reports had the section."""
    if snapshot_report is None:
        return live_section(year)
    frozen = snapshot_report.get("decisions")
    if frozen is None or "by_year" not in frozen:
        return None
    return _section(year, list(frozen["years"]), lambda chosen: frozen["by_year"][str(chosen)])


def with_section(report: dict[str, Any], section_: dict[str, Any] | None) -> dict[str, Any]:
    """The report document as the JSON surfaces give it: the snapshot's frozen form replaced
    by the chosen year's section (null for a snapshot made before it existed)."""
    return {**report, "decisions": section_}


def of_source(selected, args: Mapping[str, str]) -> dict[str, Any] | None:
    """The section a request asks for (?decisions_year=) of a report source (a ReportSource):
    the live records, or what the snapshot froze."""
    year = requested_year(args)
    return section(None if selected.snapshot is None else selected.report, year)
