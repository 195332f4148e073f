"""The report as xlsx and CSV: the same numbers as the document, numbers as numbers,
percentages as formatted fractions, no formulas from catalog text, and safe file names."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from io import BytesIO

import pytest
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from catalog.enums import REPORTED_TYPES, CaseType, ItemType
from catalog.ratios import HandlingFacts, PolicyRule, percent
from catalog.report import SHARES
from catalog.reports.document import build_report
from catalog.reports.export import (
    NO_DATA,
    report_csv,
    report_filename,
    report_xlsx,
)
from catalog.reports.rows import HandlingRow, ItemRow

HYPERLINK = '=HYPERLINK("http://x")'
HOSTILE = [HYPERLINK, "+1", "@SUM(1)"]
NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)

ITEMS = [
    ItemRow("XCJT-01-001", "道路旅客运输经营许可", ItemType.licence, "运输科"),
    ItemRow("XCJT-01-002", HYPERLINK, ItemType.licence, "+1"),
    ItemRow("XCJT-07-001", "从业资格确认", ItemType.confirmation, "运输科"),
    ItemRow("XCJT-09-001", "运输纠纷裁决", ItemType.adjudication, "法规科"),  # no handling items
    ItemRow("XCJT-10-001", "@SUM(1)", ItemType.other, "@SUM(1)"),
]
ITEM_BY_CODE = {item.code: item for item in ITEMS}
INSTANT, PROMISED = CaseType.instant, CaseType.promised

# item code, code, situation, case type, statutory, promised, visits, visit reason, online depth
SPECS = [
    ("XCJT-01-001", "XCJT-01-001-01", "新办", PROMISED, 20, 5, 0, None, 5),  # 75 %: fine
    ("XCJT-01-001", "XCJT-01-001-02", "变更", PROMISED, 20, 12, 1, None, 3),  # breaks three
    ("XCJT-01-002", "XCJT-01-002-01", "@SUM(1)", INSTANT, 10, 0, 0, None, 6),
    ("XCJT-01-002", "XCJT-01-002-02", "注销", INSTANT, 5, 2, 1, "核验原件", 2),  # instant, 2 days
    ("XCJT-07-001", "XCJT-07-001-01", "-确认", PROMISED, None, 7, 2, "现场勘验", 1),  # no limit
    ("XCJT-10-001", "XCJT-10-001-01", "其他", PROMISED, 0, 0, 0, None, 4),  # a zero limit
]
# Worked out by hand from SPECS, in rule order then code order.
EXPECTED_EXCEPTIONS = [
    (PolicyRule.promised_over_limit, "XCJT-01-001-02"),
    (PolicyRule.compression_below_minimum, "XCJT-01-001-02"),
    (PolicyRule.visit_without_reason, "XCJT-01-001-02"),
    (PolicyRule.instant_with_promised_days, "XCJT-01-002-02"),
]


def handling_row(spec: tuple) -> HandlingRow:
    item_code, code, situation, case_type, statutory, promised, visits, reason, depth = spec
    item = ITEM_BY_CODE[item_code]
    facts = HandlingFacts(code, case_type, statutory, promised, visits, bool(reason), depth)
    return HandlingRow(item_code, item.name, item.item_type, item.handling_unit, code,
                       situation, facts)  # fmt: skip


HANDLING = [handling_row(spec) for spec in SPECS]

# Each share's test, written independently of the ratio engine.
SHARE_TESTS = {
    "no_visit": lambda spec: spec[6] == 0,
    "instant": lambda spec: spec[3] == INSTANT,
    "at_most_one_visit": lambda spec: spec[6] <= 1,
    "online_capable": lambda spec: spec[8] >= 2,
    "fully_online": lambda spec: spec[8] >= 5,
}


def expected(specs: list[tuple]) -> dict[str, tuple[int, int]]:
    """(numerator, denominator) of every share and of the compression, from the raw specs."""
    figures = {key: (sum(map(test, specs)), len(specs)) for key, test in SHARE_TESTS.items()}
    limited = [spec for spec in specs if spec[4] is not None]
    statutory = sum(spec[4] for spec in limited)
    promised = sum(0 if spec[3] == INSTANT else spec[5] for spec in limited)
    figures["compression"] = (statutory - promised, statutory)
    return figures


def specs_of(**where) -> list[tuple]:
    """The specs of the handling items whose item has the given type or unit."""

    def keep(spec: tuple) -> bool:
        item = ITEM_BY_CODE[spec[0]]
        return all(getattr(item, name) == value for name, value in where.items())

    return [spec for spec in SPECS if keep(spec)]


def make_document(items=ITEMS, handling=HANDLING, snapshot=None) -> dict:
    return build_report(items, handling, generated_at=NOW, snapshot=snapshot)


def open_workbook(document: dict, handling: list[HandlingRow]) -> Workbook:
    return load_workbook(BytesIO(report_xlsx(document, handling)))


def body(sheet: Worksheet) -> list[tuple]:
    """The cells of every row under the header row."""
    return list(sheet.iter_rows(min_row=2))


def summary_rows(sheet: Worksheet) -> dict[str, tuple]:
    return {row[0].value: row for row in sheet.iter_rows() if row and row[0].value}


def header(sheet: Worksheet, row: int = 1) -> list[str]:
    return [cell.value for cell in sheet[row]]


def stored(text: str) -> str:
    """Text as a spreadsheet must hold it: a leading = + - @ gets a '."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def assert_percent(cell, numerator: int, denominator: int) -> None:
    value = percent(numerator, denominator)
    if value is None:
        assert cell.value == NO_DATA
    else:
        assert isinstance(cell.value, int | float)  # 100 % reads back as the int 1
        assert cell.value == pytest.approx(float(value) / 100, abs=1e-9)
        assert "%" in cell.number_format


def assert_int(cell, value: int) -> None:
    assert type(cell.value) is int and cell.data_type == "n"
    assert cell.value == value


# -- xlsx: summary ----------------------------------------------------------------------------


def test_the_workbook_has_the_six_sheets_in_order():
    workbook = open_workbook(make_document(), HANDLING)
    assert workbook.sheetnames == [
        "汇总", "按事项类型", "按承办机构", "政策例外", "业务办理项", "数据质量"
    ]  # fmt: skip


def test_the_summary_has_every_share_and_the_compression_with_the_document_numbers():
    document = make_document()
    sheet = open_workbook(document, HANDLING)["汇总"]
    rows = summary_rows(sheet)
    figures = expected(SPECS)
    for key, label, _attribute in SHARES:
        count, total = figures[key]
        assert (document[key]["count"], document[key]["total"]) == (count, total)
        _label, count_cell, total_cell, percent_cell, definition = rows[label][:5]
        assert_int(count_cell, count)
        assert_int(total_cell, total)
        assert_percent(percent_cell, count, total)
        assert percent_cell.value == pytest.approx(document[key]["percent"] / 100, abs=1e-9)
        assert definition.value
    numerator, denominator = figures["compression"]
    _label, numerator_cell, denominator_cell, percent_cell, _definition = rows["时限压缩比"][:5]
    assert_int(numerator_cell, numerator)
    assert_int(denominator_cell, denominator)
    assert_percent(percent_cell, numerator, denominator)
    assert percent_cell.value == pytest.approx(document["compression"]["percent"] / 100, abs=1e-9)


def test_the_summary_has_the_header_facts_the_day_totals_and_the_counts_by_type():
    document = make_document()
    sheet = open_workbook(document, HANDLING)["汇总"]
    rows = summary_rows(sheet)
    assert sheet["A1"].value == document["title"] and sheet["A1"].font.b
    assert rows["生成时间"][1].value == NOW.isoformat(timespec="seconds")
    assert rows["快照"][1].value == "当前目录"
    assert rows["数据指纹"][1].value == document["fingerprint"]
    limited = [spec for spec in SPECS if spec[4] is not None]
    assert_int(rows["法定时限合计"][1], sum(spec[4] for spec in limited))
    assert_int(rows["承诺时限合计"][1], sum(0 if s[3] == INSTANT else s[5] for s in limited))
    for item_type in REPORTED_TYPES:
        count = sum(item.item_type == item_type for item in ITEMS)
        assert_int(rows[item_type.label][1], count)
    assert_int(rows["审批事项合计"][1], len(ITEMS))
    assert_int(rows["业务办理项合计"][1], len(HANDLING))
    table_header = next(row for row in sheet.iter_rows() if row[0].value == "指标")
    assert [cell.value for cell in table_header] == ["指标", "分子", "分母", "占比", "定义"]
    assert all(cell.font.b for cell in table_header)


def test_a_snapshot_label_is_shown_on_the_summary():
    document = make_document(snapshot={"label": "2020年基线", "created_at": None, "note": None})
    rows = summary_rows(open_workbook(document, HANDLING)["汇总"])
    assert rows["快照"][1].value == "2020年基线"


# -- xlsx: breakdowns -------------------------------------------------------------------------


def breakdown_check(sheet: Worksheet, groups: list[dict], specs_by_group: dict) -> None:
    titles = header(sheet)
    assert titles[:3] == ["分组", "审批事项数", "业务办理项数"]
    assert titles[-4:] == ["法定时限合计", "承诺时限合计", "时限压缩比", "政策例外数"]
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.freeze_panes == "B2"
    rows = body(sheet)
    assert [row[0].value for row in rows] == [group["label"] for group in groups]
    for row, group in zip(rows, groups, strict=True):
        specs = specs_by_group[group["key"]]
        figures = expected(specs)
        assert_int(row[1], group["items"]["total"])
        assert_int(row[2], len(specs))
        for index, (key, label, _attribute) in enumerate(SHARES):
            count, total = figures[key]
            assert titles[4 + 2 * index] == label
            assert_int(row[3 + 2 * index], count)
            assert_percent(row[4 + 2 * index], count, total)
        numerator, denominator = figures["compression"]
        statutory, promised, compression, exceptions = row[-4:]
        assert_int(statutory, denominator)
        assert_int(promised, denominator - numerator)
        assert_percent(compression, numerator, denominator)
        codes = {spec[1] for spec in specs}
        assert_int(exceptions, sum(code in codes for _rule, code in EXPECTED_EXCEPTIONS))


def test_the_type_sheet_has_one_row_per_reported_type_with_the_same_numbers():
    document = make_document()
    groups = document["breakdowns"]["by_type"]
    assert [group["key"] for group in groups] == [item_type.value for item_type in REPORTED_TYPES]
    sheet = open_workbook(document, HANDLING)["按事项类型"]
    specs = {item_type.value: specs_of(item_type=item_type) for item_type in REPORTED_TYPES}
    breakdown_check(sheet, groups, specs)
    rows = {row[0].value: row for row in body(sheet)}
    assert rows["行政许可"][1].value == 2
    assert rows["行政裁决"][2].value == 0 and rows["行政裁决"][4].value == NO_DATA


def test_the_unit_sheet_has_one_row_per_unit_with_the_same_numbers():
    document = make_document()
    groups = document["breakdowns"]["by_unit"]
    units = {item.handling_unit for item in ITEMS}
    assert {group["key"] for group in groups} == units
    sheet = open_workbook(document, HANDLING)["按承办机构"]
    labels = [row[0].value for row in body(sheet)]
    assert "'+1" in labels and "'@SUM(1)" in labels
    specs = {unit: specs_of(handling_unit=unit) for unit in units}
    safe_groups = [{**group, "label": stored(group["label"])} for group in groups]
    breakdown_check(sheet, safe_groups, specs)


# -- xlsx: exceptions and handling items ------------------------------------------------------


def test_the_exceptions_sheet_lists_exactly_the_policy_exceptions_with_item_details():
    document = make_document()
    listed = [
        (PolicyRule(rule).label, code)
        for rule, entry in document["policy_exceptions"].items()
        for code in entry["handling_items"]
    ]
    assert listed == [(rule.label, code) for rule, code in EXPECTED_EXCEPTIONS]
    sheet = open_workbook(document, HANDLING)["政策例外"]
    assert sheet.freeze_panes == "A2"
    rows = body(sheet)
    assert [(row[0].value, row[1].value) for row in rows] == listed
    by_code = {row.code: row for row in HANDLING}
    for row in rows:
        source = by_code[row[1].value]
        assert row[2].value == stored(source.item_name)
        assert row[3].value == stored(source.situation)
        assert row[4].value == stored(source.handling_unit)
        assert_int(row[5], source.facts.statutory_days)
        assert_int(row[6], source.facts.promised_days)
        assert_int(row[7], source.facts.visits)


def test_the_handling_sheet_lists_every_handling_item():
    sheet = open_workbook(make_document(), HANDLING)["业务办理项"]
    titles = header(sheet)
    rows = {row[0].value: dict(zip(titles, row, strict=True)) for row in body(sheet)}
    assert len(body(sheet)) == len(HANDLING) and set(rows) == {spec[1] for spec in SPECS}
    for spec in SPECS:
        _item, code, situation, case_type, statutory, promised, visits, _reason, depth = spec
        row = rows[code]
        assert row["事项编码"].value == spec[0]
        assert row["办理情形"].value == stored(situation)
        assert row["事项类型"].value == ITEM_BY_CODE[spec[0]].item_type.label
        assert row["办件类型"].value == case_type.label
        statutory_cell = row[titles[7]]
        if statutory is None:
            assert statutory_cell.value is None
        else:
            assert_int(statutory_cell, statutory)
        assert_int(row["承诺时限（工作日）"], promised)
        effective = 0 if case_type == INSTANT else promised
        assert_int(row["计入压缩的承诺时限"], effective)
        if statutory:
            assert_percent(row["单项压缩比"], statutory - effective, statutory)
        else:
            assert row["单项压缩比"].value is None
        assert_int(row["到现场次数"], visits)
        assert_int(row["网上办理深度"], depth)
    breaks = rows["XCJT-01-001-02"]["政策例外"].value
    assert breaks == "；".join(rule.label for rule, _code in EXPECTED_EXCEPTIONS[:3])
    assert rows["XCJT-01-001-01"]["政策例外"].value is None


def test_every_sheet_has_a_bold_frozen_header_and_widened_columns():
    workbook = open_workbook(make_document(), HANDLING)
    for sheet in workbook.worksheets[1:]:
        assert sheet.freeze_panes in ("A2", "B2")
        assert all(cell.font.b for cell in sheet[1])
        assert sheet.column_dimensions["A"].width >= 8
    assert workbook["业务办理项"].column_dimensions["A"].width >= len("XCJT-01-001-01")


def test_hostile_catalog_text_is_stored_as_text_never_as_a_formula():
    workbook = open_workbook(make_document(), HANDLING)
    values = []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f"
                values.append(cell.value)
    for text in HOSTILE:
        assert "'" + text in values
        assert text not in values


# -- xlsx: an empty catalog -------------------------------------------------------------------


def test_an_empty_catalog_gives_a_valid_workbook_with_zero_counts_and_no_data_percentages():
    document = make_document([], [])
    workbook = open_workbook(document, [])
    rows = summary_rows(workbook["汇总"])
    for _key, label, _attribute in SHARES:
        assert_int(rows[label][1], 0)
        assert_int(rows[label][2], 0)
        assert rows[label][3].value == NO_DATA
    assert rows["时限压缩比"][3].value == NO_DATA
    assert_int(rows["业务办理项合计"][1], 0)
    type_rows = body(workbook["按事项类型"])
    assert [row[0].value for row in type_rows] == [t.label for t in REPORTED_TYPES]
    for row in type_rows:
        assert_int(row[1], 0)
        assert row[4].value == NO_DATA and row[-2].value == NO_DATA
    for title in ("按承办机构", "政策例外", "业务办理项"):
        assert body(workbook[title]) == []


# -- CSV --------------------------------------------------------------------------------------


def read_csv(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def csv_percent(numerator: int, denominator: int) -> str:
    value = percent(numerator, denominator)
    return "" if value is None else str(value)


def test_the_csv_has_the_whole_catalog_then_every_type_and_unit():
    document = make_document()
    header_row, *rows = read_csv(report_csv(document))
    assert header_row == ["范围", "分组", "指标", "分子", "分母", "占比(%)"]
    figures = expected(SPECS)
    whole = {row[2]: row for row in rows if row[0] == "全部"}
    count, total = figures["no_visit"]
    assert whole["不见面审批占比"] == ["全部", "全部", "不见面审批占比", str(count), str(total),
                                      csv_percent(count, total)]  # fmt: skip
    for key, label, _attribute in SHARES:
        assert whole[label][3:] == [*map(str, figures[key]), csv_percent(*figures[key])]
    assert whole["时限压缩比"][3:] == [
        *map(str, figures["compression"]),
        csv_percent(*figures["compression"]),
    ]
    per_group = len(SHARES) + 1
    by_type = [row for row in rows if row[0] == "按事项类型"]
    by_unit = [row for row in rows if row[0] == "按承办机构"]
    assert len(by_type) == per_group * len(REPORTED_TYPES)
    assert len(by_unit) == per_group * len(document["breakdowns"]["by_unit"])
    assert len(rows) == per_group + len(by_type) + len(by_unit)
    licence = {row[2]: row for row in by_type if row[1] == "行政许可"}
    figures = expected(specs_of(item_type=ItemType.licence))
    assert licence["即办件占比"][3:] == [*map(str, figures["instant"]),
                                      csv_percent(*figures["instant"])]  # fmt: skip
    adjudication = [row for row in by_type if row[1] == "行政裁决"]
    assert all(row[5] == "" for row in adjudication)


def test_the_csv_guards_group_labels_against_formulas():
    rows = read_csv(report_csv(make_document()))
    groups = {row[1] for row in rows[1:]}
    assert {"'+1", "'@SUM(1)"} <= groups
    assert not groups & {"+1", "@SUM(1)"}


def test_the_csv_of_an_empty_catalog_has_zero_counts_and_empty_percentages():
    _header, *rows = read_csv(report_csv(make_document([], [])))
    whole = [row for row in rows if row[0] == "全部"]
    assert len(whole) == len(SHARES) + 2  # and 要素完整率
    assert all(row[3:] == ["0", "0", ""] for row in whole)


# -- file names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "extension", "expected_name"),
    [
        (None, "xlsx", "xuchang-reform-report-current.xlsx"),
        (None, ".csv", "xuchang-reform-report-current.csv"),
        ("2020-baseline_v1.2", "xlsx", "xuchang-reform-report-2020-baseline_v1.2.xlsx"),
        ("2020年 基线/v1", "json", "xuchang-reform-report-2020-v1.json"),
        ('../x"; y', "csv", "xuchang-reform-report-x-y.csv"),
    ],
)
def test_report_filenames_are_safe_ascii(label, extension, expected_name):
    snapshot = None if label is None else {"label": label}
    assert report_filename(make_document(snapshot=snapshot), extension) == expected_name


def test_a_label_with_nothing_ascii_falls_back_to_the_fingerprint():
    document = make_document(snapshot={"label": "基线"})
    hex_digits = document["fingerprint"].rpartition(":")[2][:12]
    assert report_filename(document, "xlsx") == f"xuchang-reform-report-{hex_digits}.xlsx"
