"""The 双公示 figures (catalog.decisions.report) as text and as the rows of the report's long
CSV table, in the words of the report page (templates/reports/_decisions.html)."""

from __future__ import annotations

from typing import Any

from catalog.decisions.report import late_total, without_total
from catalog.report import format_percent

KIND_LABELS = (("licence", "行政许可"), ("penalty", "行政处罚"))


def _share(share: dict[str, Any]) -> str:
    return f"{share['count']} / {share['total']} = {format_percent(share['percent'])}"


def _money(value: float) -> str:
    return f"{value:.2f}"


def _late_text(entry: dict[str, str]) -> str:
    return (
        f"决定日期 {entry['decided_on']}，公示日期 {entry['published_on']}，"
        f"应公示截止 {entry['publish_by']}"
    )


def _items_text(licence: dict[str, Any], year: int) -> str:
    return (
        f"行政许可事项 {licence['licence_items']} 项，{year}年有许可决定的 "
        f"{licence['with_decisions']} 项，没有的 {without_total(licence)} 项"
    )


def render_text(report: dict[str, Any]) -> str:
    """The figures of one year (and unit) for a terminal: `flask decisions report` and the
    section of `flask report --format text`."""
    licence, penalty = report["licence"], report["penalty"]
    lines = [report["title"]]
    for kind, label in KIND_LABELS:
        part = report[kind]
        lines.append(
            f"{label}：决定数 {part['total']}，按时公示 {_share(part['on_time'])}，"
            f"逾期公示 {late_total(part)}"
        )
    for kind, label in KIND_LABELS:
        late, total = report[kind]["late"], late_total(report[kind])
        if late:
            more = f"，列出前 {len(late)} 条" if total > len(late) else ""
            lines.append(f"逾期公示的{label}决定（{total} 条{more}）：")
            lines += [f"  {entry['document_number']}：{_late_text(entry)}" for entry in late]
    lines.append(f"各许可事项的许可决定：{_items_text(licence, report['year'])}")
    lines += [f"  {e['name']}（{e['code']}）：{e['count']} 条" for e in licence["by_item"]]
    if licence["without_decisions"]:
        none = without_total(licence)
        more = f"（共 {none} 项，列出前 {len(licence['without_decisions'])} 项）"
        lines.append(
            "  没有许可决定的事项"
            + (more if none > len(licence["without_decisions"]) else "")
            + "："
            + "、".join(licence["without_decisions"])
        )
    lines.append(f"按处罚类别：罚款合计 {_money(penalty['fine_total'])} 万元")
    lines += [
        f"  {e['label']}：处罚决定 {e['count']}，罚款 {_money(e['fine_total'])} 万元，"
        f"没收 {_money(e['confiscated_total'])} 万元"
        for e in penalty["by_category"]
    ]
    lines.append("按数据来源单位：" + ("" if report["by_unit"] else "无"))
    lines += [
        f"  {e['unit']}：许可决定 {e['licence']}，处罚决定 {e['penalty']}，"
        f"按时公示 {_share(e['on_time'])}"
        for e in report["by_unit"]
    ]
    return "\n".join(lines)


def csv_rows(report: dict[str, Any]) -> list[list[Any]]:
    """The figures as rows of the report's CSV (范围, 分组, 指标, 分子, 分母, 占比): 范围 is
    双公示 with the year (and the unit), then the part of the section. 占比 is the document's
    percentage (None without data), for the CSV writer to format as it does the others."""
    scope = f"双公示 {report['year']}年" + (f" {report['unit']}" if report.get("unit") else "")
    licence, penalty = report["licence"], report["penalty"]
    rows: list[list[Any]] = []
    for kind, label in KIND_LABELS:
        part = report[kind]
        share = part["on_time"]
        rows += [
            [scope, label, "决定数", part["total"], "", None],
            [scope, label, "按时公示", share["count"], share["total"],
             share["percent"]],
            [scope, label, "逾期公示", late_total(part), "", None],
        ]  # fmt: skip
    rows += [
        [scope, "行政许可", "行政许可事项", licence["licence_items"], "", None],
        [scope, "行政许可", "有许可决定的事项", licence["with_decisions"], "", None],
        [scope, "行政许可", "没有许可决定的事项", without_total(licence), "", None],
        [scope, "行政处罚", "罚款合计（万元）", _money(penalty["fine_total"]), "", None],
    ]
    for kind, label in KIND_LABELS:
        rows += [
            [f"{scope} 逾期公示的{label}决定", entry["document_number"], _late_text(entry),
             "", "", None]
            for entry in report[kind]["late"]
        ]  # fmt: skip
    items = f"{scope} 各许可事项的许可决定"
    rows += [[items, f"{e['code']} {e['name']}", "许可决定", e["count"], "", None]
             for e in licence["by_item"]]  # fmt: skip
    rows += [[items, code, "许可决定", 0, "", None] for code in licence["without_decisions"]]
    categories = f"{scope} 按处罚类别"
    for e in penalty["by_category"]:
        rows += [
            [categories, e["label"], "处罚决定", e["count"], "", None],
            [categories, e["label"], "罚款（万元）", _money(e["fine_total"]), "", None],
            [categories, e["label"], "没收（万元）", _money(e["confiscated_total"]), "", None],
        ]
    units = f"{scope} 按数据来源单位"
    for e in report["by_unit"]:
        share = e["on_time"]
        rows += [
            [units, e["unit"], "许可决定", e["licence"], "", None],
            [units, e["unit"], "处罚决定", e["penalty"], "", None],
            [units, e["unit"], "按时公示", share["count"], share["total"],
             share["percent"]],
        ]  # fmt: skip
    return rows
