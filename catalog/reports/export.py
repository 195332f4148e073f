"""The report document as files to download: an xlsx workbook and a long CSV table.

Numbers stay numbers (int cells); a percentage is stored as its fraction (90.95 % -> 0.9095)
formatted 0.00 %, so Excel shows and computes with exactly the document's two-decimal value.
A percentage without data (an empty denominator) is the text "—（无数据）" in the cell itself,
as the text report writes it. Every text cell goes through safe_cell (no formula injection).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from catalog.decisions.report import late_total, without_total
from catalog.decisions.report_text import csv_rows as decision_csv_rows
from catalog.enums import ItemType
from catalog.public.export import safe_cell
from catalog.ratios import PolicyRule, broken_rules, item_compression
from catalog.report import DEFINITIONS, SHARES
from catalog.reports.decisions import NOT_FROZEN
from catalog.reports.document import QUALITY_DEFINITION, QUALITY_NOT_AVAILABLE
from catalog.reports.rows import HandlingRow

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

NO_DATA = "—（无数据）"
PERCENT_FORMAT = "0.00%"
CURRENT_LABEL = "当前目录"
COMPRESSION_LABEL = "时限压缩比"
RULE_SEPARATOR = "；"
FILENAME_PREFIX = "xuchang-reform-report"
MIN_WIDTH, MAX_WIDTH = 8, 60
BOLD = Font(bold=True)

SUMMARY_SHEET = "汇总"
BY_TYPE_SHEET = "按事项类型"
BY_UNIT_SHEET = "按承办机构"
EXCEPTIONS_SHEET = "政策例外"
HANDLING_SHEET = "业务办理项"
QUALITY_SHEET = "数据质量"
DECISIONS_SHEET = "双公示"
QUALITY_LABEL = "要素完整率"

SUMMARY_HEADER = ("指标", "分子", "分母", "占比", "定义")
TOTALS_HEADER = ("项目", "数值", "说明")
BREAKDOWN_HEADER = (
    "分组", "审批事项数", "业务办理项数",
    *(header for _key, label, _attribute in SHARES
      for header in (f"{label.removesuffix('占比')}（项）", label)),
    "法定时限合计", "承诺时限合计", COMPRESSION_LABEL, "政策例外数",
)  # fmt: skip
EXCEPTIONS_HEADER = (
    "政策规则", "业务办理项编码", "事项名称", "办理情形", "承办机构",
    "法定时限（工作日）", "承诺时限（工作日）", "到现场次数",
)  # fmt: skip
HANDLING_HEADER = (
    "业务办理项编码", "事项编码", "事项名称", "办理情形", "事项类型", "承办机构", "办件类型",
    "法定时限（工作日，空为无法定时限）", "承诺时限（工作日）", "计入压缩的承诺时限",
    "单项压缩比", "到现场次数", "网上办理深度", "政策例外",
)  # fmt: skip
CSV_HEADER = ("范围", "分组", "指标", "分子", "分母", "占比(%)")
QUALITY_HEADER = ("指标", "要素齐全", "全部业务办理项", "要素完整率", "定义")
ELEMENTS_HEADER = ("要素", "所属", "缺少该要素的业务办理项")
LEVELS = {"item": "事项", "handling_item": "业务办理项"}


@dataclass(frozen=True)
class Percent:
    """A percentage cell: `value` as the document has it (90.95), None when there is no data."""

    value: float | Decimal | None

    @property
    def fraction(self) -> float | None:
        return None if self.value is None else round(float(self.value) / 100, 6)


@dataclass(frozen=True)
class Line:
    """One row of a sheet: a title or header row is bold; a title or info row (long text
    beside an empty table column) does not widen its columns."""

    cells: Sequence[Any]
    style: str = ""  # "", "header", "title" or "info"


# -- cells and sheets -------------------------------------------------------------------------


def _cell(sheet: WriteOnlyWorksheet, value: Any, *, bold: bool) -> Any:
    if isinstance(value, Percent):
        fraction = value.fraction
        cell = WriteOnlyCell(sheet, NO_DATA if fraction is None else fraction)
        if fraction is not None:
            cell.number_format = PERCENT_FORMAT
    elif value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        cell = WriteOnlyCell(sheet, value)
    else:
        cell = WriteOnlyCell(sheet, safe_cell(value))
    if bold:
        cell.font = BOLD
    return cell


def _display_width(value: Any) -> int:
    if isinstance(value, Percent):
        return len(NO_DATA) * 2 if value.value is None else 8
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _widths(lines: Iterable[Line]) -> dict[int, float]:
    widths: dict[int, int] = {}
    for line in lines:
        if line.style in ("title", "info"):
            continue
        for index, value in enumerate(line.cells, start=1):
            widths[index] = max(widths.get(index, 0), _display_width(value))
    return {index: min(max(width + 2, MIN_WIDTH), MAX_WIDTH) for index, width in widths.items()}


def _add_sheet(workbook: Workbook, title: str, lines: list[Line], *, freeze: str) -> None:
    """A sheet of `lines`, columns as wide as their content, panes frozen at `freeze`."""
    sheet = workbook.create_sheet(title)
    for index, width in _widths(lines).items():
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = freeze
    for line in lines:
        bold = line.style in ("header", "title")
        sheet.append([_cell(sheet, value, bold=bold) for value in line.cells])


# -- the sheets -------------------------------------------------------------------------------


def _snapshot_label(document: dict[str, Any]) -> str:
    snapshot = document.get("snapshot") or {}
    return snapshot.get("label") or CURRENT_LABEL


def _compression_cells(compression: dict[str, Any]) -> tuple[int, int, Percent]:
    statutory, promised = compression["statutory_days"], compression["promised_days"]
    return statutory - promised, statutory, Percent(compression["percent"])


def _summary(document: dict[str, Any]) -> list[Line]:
    compression = document["compression"]
    items = document["items"]
    lines = [
        Line([document["title"]], "title"),
        Line(["生成时间", document["generated_at"]], "info"),
        Line(["快照", _snapshot_label(document)], "info"),
        Line(["数据指纹", document["fingerprint"]], "info"),
        Line([]),
        Line(SUMMARY_HEADER, "header"),
    ]
    for key, label, _attribute in SHARES:
        share = document[key]
        lines.append(
            Line([label, share["count"], share["total"], Percent(share["percent"]),
                  DEFINITIONS[key]])
        )  # fmt: skip
    lines.append(
        Line([COMPRESSION_LABEL, *_compression_cells(compression), DEFINITIONS["compression"]])
    )
    lines += [
        Line([]),
        Line(TOTALS_HEADER, "header"),
        Line(["法定时限合计", compression["statutory_days"],
              f"工作日，{compression['handling_items']} 个有法定时限的业务办理项"]),
        Line(["承诺时限合计", compression["promised_days"],
              "工作日，同上业务办理项，即办件按0计"]),
        Line(["有法定时限的业务办理项", document["handling_items"]["with_statutory_limit"],
              "项"]),
        *(Line([ItemType(key).label, count, "审批事项数"])
          for key, count in items["by_type"].items()),
        Line(["审批事项合计", items["total"], "项"]),
        Line(["业务办理项合计", document["handling_items"]["total"], "项"]),
    ]  # fmt: skip
    return lines


def _exception_count(section: dict[str, Any]) -> int:
    """Rule breaches in a section: a handling item that breaks two rules counts twice."""
    return sum(entry["count"] for entry in section["policy_exceptions"].values())


def _breakdown(groups: list[dict[str, Any]]) -> list[Line]:
    lines = [Line(BREAKDOWN_HEADER, "header")]
    for group in groups:
        shares = []
        for key, _label, _attribute in SHARES:
            shares += [group[key]["count"], Percent(group[key]["percent"])]
        compression = group["compression"]
        lines.append(
            Line([group["label"], group["items"]["total"], group["handling_items"]["total"],
                  *shares, compression["statutory_days"], compression["promised_days"],
                  Percent(compression["percent"]), _exception_count(group)])
        )  # fmt: skip
    return lines


def _exceptions(document: dict[str, Any], handling: list[HandlingRow]) -> list[Line]:
    by_code = {row.code: row for row in handling}
    lines = [Line(EXCEPTIONS_HEADER, "header")]
    for rule, entry in document["policy_exceptions"].items():
        for code in entry["handling_items"]:
            row = by_code.get(code)
            details = (
                [None] * 6
                if row is None
                else [row.item_name, row.situation, row.handling_unit, row.facts.statutory_days,
                      row.facts.promised_days, row.facts.visits]
            )  # fmt: skip
            lines.append(Line([PolicyRule(rule).label, code, *details]))
    return lines


def _handling(handling: list[HandlingRow]) -> list[Line]:
    lines = [Line(HANDLING_HEADER, "header")]
    for row in handling:
        fact = row.facts
        compression = item_compression(fact)
        lines.append(
            Line([row.code, row.item_code, row.item_name, row.situation, row.item_type.label,
                  row.handling_unit, fact.case_type.label, fact.statutory_days,
                  fact.promised_days, fact.effective_promised_days,
                  None if compression is None else Percent(compression.percent),
                  fact.visits, fact.online_depth,
                  RULE_SEPARATOR.join(rule.label for rule in broken_rules(fact))])
        )  # fmt: skip
    return lines


def _quality(document: dict[str, Any]) -> list[Line]:
    quality = document.get("data_quality")
    if quality is None:
        return [Line([QUALITY_LABEL], "header"), Line([QUALITY_NOT_AVAILABLE], "info")]
    return [
        Line(QUALITY_HEADER, "header"),
        Line([QUALITY_LABEL, quality["complete"], quality["handling_items"],
              Percent(quality["percent"]), QUALITY_DEFINITION]),
        Line(["要素不全", quality["incomplete"], quality["handling_items"]]),
        Line([]),
        Line(ELEMENTS_HEADER, "header"),
        *(Line([entry["label"], LEVELS.get(entry["level"], entry["level"]), entry["count"]])
          for entry in quality["elements"]),
    ]  # fmt: skip


def _no_decisions(section: dict[str, Any]) -> str:
    return f"{section['year'] or ''}年没有行政许可或行政处罚决定记录"


def _decisions(section: dict[str, Any] | None) -> list[Line]:
    """The 双公示 sheet: catalog.decisions.report.decision_report of the section's year."""
    if section is None:
        return [Line([DECISIONS_SHEET], "header"), Line([NOT_FROZEN], "info")]
    report = section["report"]
    if report is None:
        return [Line([_no_decisions(section)], "title")]
    licence, penalty = report["licence"], report["penalty"]
    lines = [
        Line([report["title"]], "title"),
        Line(["类别", "决定数", "按时公示", "占比", "逾期公示"], "header"),
    ]
    for label, part in (("行政许可", licence), ("行政处罚", penalty)):
        share = part["on_time"]
        lines.append(
            Line(
                [label, part["total"], share["count"], Percent(share["percent"]), late_total(part)]
            )
        )
    lines += [
        Line([]),
        Line(["逾期公示", "决定文书号", "决定日期", "公示日期", "应公示截止"], "header"),
    ]
    for label, part in (("行政许可", licence), ("行政处罚", penalty)):
        lines += [Line([label, e["document_number"], e["decided_on"], e["published_on"],
                        e["publish_by"]]) for e in part["late"]]  # fmt: skip
        if late_total(part) > len(part["late"]):
            lines.append(
                Line([label, f"共 {late_total(part)} 条，此处列出前 {len(part['late'])} 条"])
            )
    lines += [Line([]), Line(["许可事项编码", "事项名称", "许可决定"], "header")]
    lines += [Line([e["code"], e["name"], e["count"]]) for e in licence["by_item"]]
    lines += [Line([code, "", 0]) for code in licence["without_decisions"]]
    if without_total(licence) > len(licence["without_decisions"]):
        lines.append(Line([f"没有许可决定的事项共 {without_total(licence)} 项，"
                           f"此处列出前 {len(licence['without_decisions'])} 项"]))  # fmt: skip
    lines += [Line([]), Line(["处罚类别", "处罚决定", "罚款（万元）", "没收（万元）"], "header")]
    lines += [Line([e["label"], e["count"], e["fine_total"], e["confiscated_total"]])
              for e in penalty["by_category"]]  # fmt: skip
    lines.append(Line(["合计", penalty["total"], penalty["fine_total"]]))
    lines += [
        Line([]),
        Line(["数据来源单位", "许可决定", "处罚决定", "按时公示", "占比"], "header"),
    ]
    lines += [Line([e["unit"], e["licence"], e["penalty"], e["on_time"]["count"],
                    Percent(e["on_time"]["percent"])]) for e in report["by_unit"]]  # fmt: skip
    return lines


def report_xlsx(document: dict[str, Any], handling: list[HandlingRow]) -> bytes:
    """The report as a workbook: summary, both breakdowns, the policy exceptions, every
    handling item in scope (`handling`: the rows the document was built from), and the data
    quality."""
    handling = list(handling)
    workbook = Workbook(write_only=True)
    _add_sheet(workbook, SUMMARY_SHEET, _summary(document), freeze="A7")
    _add_sheet(workbook, BY_TYPE_SHEET, _breakdown(document["breakdowns"]["by_type"]),
               freeze="B2")  # fmt: skip
    _add_sheet(workbook, BY_UNIT_SHEET, _breakdown(document["breakdowns"]["by_unit"]),
               freeze="B2")  # fmt: skip
    _add_sheet(workbook, EXCEPTIONS_SHEET, _exceptions(document, handling), freeze="A2")
    _add_sheet(workbook, HANDLING_SHEET, _handling(handling), freeze="B2")
    _add_sheet(workbook, QUALITY_SHEET, _quality(document), freeze="A2")
    if "decisions" in document:  # the pages' download; the command's report has no section
        _add_sheet(workbook, DECISIONS_SHEET, _decisions(document["decisions"]), freeze="A3")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# -- CSV --------------------------------------------------------------------------------------


def _csv_percent(value: float | Decimal | None) -> str:
    return "" if value is None else f"{float(value):.2f}"


def _csv_rows(scope: str, group: str, section: dict[str, Any]) -> list[list[Any]]:
    rows = [
        [scope, group, label, section[key]["count"], section[key]["total"],
         _csv_percent(section[key]["percent"])]
        for key, label, _attribute in SHARES
    ]  # fmt: skip
    numerator, denominator, compression = _compression_cells(section["compression"])
    rows.append(
        [scope, group, COMPRESSION_LABEL, numerator, denominator, _csv_percent(compression.value)]
    )
    return rows


def _decision_csv_rows(section: dict[str, Any] | None) -> list[list[Any]]:
    """The 双公示 section's rows (catalog.decisions.report_text.csv_rows), or one saying why
    there are none."""
    if section is None:
        return [["双公示", NOT_FROZEN, "", "", "", ""]]
    if section["report"] is None:
        return [["双公示", _no_decisions(section), "", "", "", ""]]
    return [[*row[:5], _csv_percent(row[5])] for row in decision_csv_rows(section["report"])]


def report_csv(document: dict[str, Any]) -> str:
    """The shares and the compression of the whole catalog (范围 全部) and its 要素完整率, then
    of every type and every handling unit, then the 双公示 section when the document has one,
    as one long table; UTF-8 with a BOM for Excel."""
    rows = _csv_rows("全部", "全部", document)
    quality = document.get("data_quality")
    if quality is not None:
        rows.append(["全部", "全部", QUALITY_LABEL, quality["complete"],
                     quality["handling_items"], _csv_percent(quality["percent"])])  # fmt: skip
    for scope, key in (("按事项类型", "by_type"), ("按承办机构", "by_unit")):
        for group in document["breakdowns"][key]:
            rows += _csv_rows(scope, group["label"], group)
    if "decisions" in document:  # the pages' download and the command's
        rows += _decision_csv_rows(document["decisions"])
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    writer.writerows(
        [value if isinstance(value, int) else safe_cell(value) for value in row] for row in rows
    )
    return "\ufeff" + buffer.getvalue()


# -- file names -------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def report_filename(document: dict[str, Any], extension: str) -> str:
    """xuchang-reform-report-current.<ext> for the live catalog, -<label>.<ext> for a snapshot,
    the label reduced to ASCII letters, digits . _ - (the fingerprint's first 12 hex digits
    when nothing is left of it)."""
    extension = _UNSAFE.sub("", extension.lstrip("."))
    snapshot = document.get("snapshot")
    if not snapshot:
        name = "current"
    else:
        name = re.sub(r"-{2,}", "-", _UNSAFE.sub("-", snapshot.get("label") or "")).strip(".-")
        if not name:
            name = document["fingerprint"].rpartition(":")[2][:12]
    return f"{FILENAME_PREFIX}-{name}.{extension}"
