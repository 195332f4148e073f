"""Report pages: the audit report (live or a snapshot), the list behind every count, the
comparison of two points in time, and the report as XLSX, CSV and JSON. JSON twins live under
/api/v1/report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request, url_for
from markupsafe import Markup

from catalog.elements import LABELS
from catalog.enums import REPORTED_TYPES, ItemType
from catalog.errors import error_response
from catalog.report import DEFINITIONS, SHARES
from catalog.reports import charts, decisions
from catalog.reports.document import BUREAU, QUALITY_DEFINITION, QUALITY_NOT_AVAILABLE
from catalog.reports.export import report_csv, report_filename, report_xlsx
from catalog.reports.measures import MEASURES
from catalog.reports.queries import (
    ReportInputError,
    ReportNotFound,
    comparison,
    limit_points,
    provenance,
    report_source,
    rows_by_code,
)
from catalog.reports.snapshots import (
    CURRENT,
    ReportSource,
    list_snapshots,
    snapshot_source,
    source,
    trend,
)
from catalog.staff.forms import LogoutForm
from catalog.templating import beijing
from catalog.twins import json_twin

blueprint = Blueprint("reports", __name__)
EXCEPTIONS_SHOWN = 50  # per rule on the page; the full list is a link away
LATE_SHOWN = 50  # late decisions of a kind listed on the page; the rest are a link away
TOP_ITEMS = 10  # licence items in the 双公示 section's table; the rest fold away


# App-wide: the report pages and their JSON twins under /api/v1/ share these (a page or the
# API's error shape, by path).
@blueprint.app_errorhandler(ReportInputError)
def _bad_request(error: ReportInputError):
    return error_response(400, str(error))


@blueprint.app_errorhandler(ReportNotFound)
def _not_found(error: ReportNotFound):
    return error_response(404, str(error))


def _twin(endpoint: str, **values: Any) -> str:
    return json_twin(url_for(endpoint, **{k: v for k, v in values.items() if v}))


def share_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The headline table: each share with the measure behind its count, then compression."""
    return [
        {"key": key, "label": label, "definition": DEFINITIONS[key], **report[key]}
        for key, label, _attribute in SHARES
    ]


def _wide_and_narrow(draw, *args: Any, chart_id: str, title: str) -> Markup:
    """A chart drawn at a desktop's and at a phone's width; the stylesheet shows the one that
    fits the screen (its text stays readable), and print always the wide one."""
    wide = draw(*args, chart_id=chart_id, title=title)
    narrow = draw(*args, chart_id=f"{chart_id}-narrow", title=title, width=charts.NARROW)
    return Markup('<div class="chart-wide">%s</div><div class="chart-narrow">%s</div>') % (
        wide,
        narrow,
    )


def _charts(selected: ReportSource, snapshots) -> dict[str, Any]:
    report = selected.report
    points = limit_points(selected)
    bars = [
        (label, report[key]["count"], report[key]["total"], report[key]["percent"])
        for key, label, _attribute in SHARES
    ]
    compression = report["compression"]
    bars.append(
        ("时限压缩比", compression["statutory_days"] - compression["promised_days"],
         compression["statutory_days"], compression["percent"])
    )  # fmt: skip
    live = selected if selected.label is None else source(None)
    history = trend([*(snapshot_source(snapshot) for snapshot in snapshots), live])
    return {
        "limits": _wide_and_narrow(
            charts.limits_chart,
            points,
            chart_id="chart-limits",
            title="各业务办理项的法定时限与承诺时限",
        ),
        "shares": _wide_and_narrow(
            charts.share_bars, bars, chart_id="chart-shares", title="改革指标"
        ),
        "trend": _wide_and_narrow(
            charts.trend_chart,
            [(series["label"], series["values"]) for series in history["series"]],
            history["labels"],
            chart_id="chart-trend",
            title="各快照的改革指标",
        ),
    }


@blueprint.get("")
def report():
    """The audit report: ?snapshot=<label> shows a past one."""
    label = request.args.get("snapshot") or None
    selected = report_source(label)
    decision_section = decisions.of_source(selected, request.args)
    snapshots = list_snapshots()
    listed = [code for entry in selected.report["policy_exceptions"].values()
              for code in entry["handling_items"][:EXCEPTIONS_SHOWN]]  # fmt: skip
    return render_template(
        "reports/report.html",
        report=selected.report,
        selected=selected,
        snapshots=snapshots,
        shares=share_rows(selected.report),
        definitions=DEFINITIONS,
        quality_definition=QUALITY_DEFINITION,
        quality_not_available=QUALITY_NOT_AVAILABLE,
        item_types=REPORTED_TYPES,
        handling_by_code=rows_by_code(selected, listed),
        exceptions_shown=EXCEPTIONS_SHOWN,
        charts=_charts(selected, snapshots),
        bureau=BUREAU,
        measures=MEASURES,
        current=CURRENT,
        snapshot_label=label,
        decisions=decision_section,
        decisions_not_frozen=decisions.NOT_FROZEN,
        decisions_shown=LATE_SHOWN,
        decisions_top=TOP_ITEMS,
        logout_form=LogoutForm(),
        printed_on=beijing(datetime.now(UTC), date_only=True),  # today where it is printed
        json_url=_twin("api.report", snapshot=label, **_decision_args()),
        decision_args=_decision_args(),
    )


def _decision_args() -> dict[str, str]:
    """The request's 双公示 year and unit, for the links to the downloads and the JSON twin."""
    names = (decisions.YEAR_PARAMETER, decisions.UNIT_PARAMETER)
    return {name: request.args[name] for name in names if request.args.get(name)}


@blueprint.get("/items")
def items():
    """The exact handling items (or items) behind one count of the report."""
    label = request.args.get("snapshot") or None
    listed = provenance(report_source(label), request.args)
    return render_template(
        "reports/items.html",
        listed=listed,
        snapshot_label=label,
        item_type_label=ItemType(listed.item_type).label if listed.item_type else None,
        element_labels=lambda keys: "、".join(LABELS[key] for key in keys or ()),
        json_url=_twin("api.report_items", **request.args.to_dict()),
    )


@blueprint.get("/compare")
def compare():
    """Ratio changes and items added, removed and changed between two points in time."""
    # the compared snapshots' reports come with the list (find_snapshot then finds them there)
    snapshots = list_snapshots(with_reports=(request.args.get("from"), request.args.get("to")))
    if not request.args.get("from"):
        return render_template(
            "reports/compare.html", result=None, snapshots=snapshots, current=CURRENT
        )
    result = comparison(request.args)
    return render_template(
        "reports/compare.html",
        result=result,
        snapshots=snapshots,
        current=CURRENT,
        json_url=_twin("api.report_compare", **request.args.to_dict()),
    )


def _css_string(text: str) -> str:
    """A CSS string literal: every character outside plain ASCII letters, digits, spaces and
    a few punctuation marks is written as a hex escape, so nothing can end the string."""
    safe = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -:·.")
    return '"' + "".join(c if c in safe else f"\\{ord(c):x} " for c in text) + '"'


@blueprint.get("/print.css")
def print_css():
    """The running header and footer of the printed report's A4 pages (a stylesheet, so the
    page needs no inline style): the bureau, the snapshot, the print date, page numbers."""
    label = request.args.get("snapshot") or None
    selected = report_source(label)
    which = f"快照 {selected.label}" if selected.label else "当前目录"
    today = datetime.now(UTC).date().isoformat()
    left = _css_string(f"{BUREAU} · 审批事项改革指标报告")
    right = _css_string(f"{which} · 打印日期 {today}")
    pages = _css_string("第 ") + ' counter(page) " / " counter(pages) ' + _css_string(" 页")
    css = (
        "@page {\n"
        f"  @top-left {{ content: {left}; font-size: 8pt; }}\n"
        f"  @top-right {{ content: {right}; font-size: 8pt; }}\n"
        f"  @bottom-right {{ content: {pages}; font-size: 8pt; }}\n"
        "}\n"
    )
    return Response(css, mimetype="text/css")


def _download(body: bytes | str, mimetype: str, filename: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@blueprint.get("/export.xlsx")
def export_xlsx():
    selected = report_source(request.args.get("snapshot") or None)
    section = decisions.of_source(selected, request.args)
    _items, handling = selected.rows
    return _download(
        report_xlsx(decisions.with_section(selected.report, section), handling),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        report_filename(selected.report, "xlsx"),
    )


@blueprint.get("/export.csv")
def export_csv():
    selected = report_source(request.args.get("snapshot") or None)
    section = decisions.of_source(selected, request.args)
    return _download(
        report_csv(decisions.with_section(selected.report, section)),
        "text/csv",
        report_filename(selected.report, "csv"),
    )


@blueprint.get("/export.json")
def export_json():
    selected = report_source(request.args.get("snapshot") or None)
    response = jsonify(
        decisions.with_section(selected.report, decisions.of_source(selected, request.args))
    )
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{report_filename(selected.report, "json")}"'
    )
    return response
