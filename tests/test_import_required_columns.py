"""A bureau's file with only the columns the ratios need (issue 21 part 3): its handling-item
codes and case types are derived, every other element is a gap that is listed and does not stop
the import or publication. Every figure is worked out here from the rows this test writes."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from catalog.drafts import current_data
from catalog.elements import gaps
from catalog.enums import ItemType, Status
from catalog.figures import catalog_figures
from catalog.importing import SpreadsheetError, parse_rows, plan_import, read_file
from catalog.models import ApprovalItem, AuditEvent, HandlingItem
from tests.test_import_bureau_files import ITEMS, bureau_workbook

SHEET = "交通运输局权力清单"
# Only the six required columns, as this bureau spells them, in its own order.
HEADERS = ["基本编码", "事项名称", "事项类型", "法定办结时限", "承诺办结时限", "到办事现场次数"]
ZERO_VISITS = {"0", "0次", "零次", "不见面"}
UNITS = {"": 1, "个工作日": 1, "工作日": 1, "天": 1, "个月": 22}
# (item code, name, type, [(statutory, promised, visits), ...]); limits as (number, unit)
ROWS = [
    ("JT-101", "道路旅客运输经营许可", "行政许可", [
        ((20, "个工作日"), (5, "个工作日"), "0次"),
        ((20, "个工作日"), (0, ""), "1次"),
        ((1, "个月"), (10, "天"), "不见面"),
    ]),
    ("JT-102", "出租汽车驾驶员从业资格注册", "行政确认", [
        ((10, ""), (0, "个工作日"), "0"),
    ]),
    ("JT-103", "公路超限运输许可", "行政许可", [
        ((15, "工作日"), (3, "个工作日"), "1次"),
        ((15, "工作日"), (0, ""), "零次"),
    ]),
]  # fmt: skip
# Every element beyond the ratios, by its national name (catalog.elements), written out here.
ITEM_GAPS = [
    "实施主体", "承办机构", "行使层级", "权力来源", "服务对象", "设定依据", "受理条件",
    "审批结果", "审批结果类型", "咨询方式", "监督投诉方式", "办理地点", "办理时间",
]  # fmt: skip


def limit_text(limit: tuple[int, str]) -> str | int:
    number, unit = limit
    return number if not unit else f"{number}{unit}"


def days(limit: tuple[int, str]) -> int:
    return limit[0] * UNITS[limit[1]]


def expected_gaps(handling_rows) -> set[str]:
    """The gaps of one item of ROWS: every optional element; a visit's reason only where there
    is a visit."""
    reason = any(visits not in ZERO_VISITS for _s, _p, visits in handling_rows)
    handling = ["办理项名称", "办理形式", "网上办理深度", "是否收费", "申请材料", "办理流程"]
    return {*ITEM_GAPS, *handling, *(["必须现场办理原因说明"] if reason else [])}


def listed_gaps(text: str, prefix: str) -> set[str]:
    """The gaps a line of `text` starting with `prefix` lists (缺少要素：a、b、…)."""
    (line,) = [line.strip() for line in text.splitlines() if line.strip().startswith(prefix)]
    listed = line.removeprefix(prefix).split("；")[0]
    assert listed.startswith("缺少要素：")
    return set(listed.removeprefix("缺少要素：").split("、"))


def flat_rows(rows=ROWS, *, first_row_only=True) -> list[list]:
    """One row per handling item; the item's cells only on its first row (as merged cells look
    once saved as CSV)."""
    lines = []
    for code, name, kind, handling_rows in rows:
        for index, (statutory, promised, visits) in enumerate(handling_rows):
            item = [code, name, kind] if index == 0 or not first_row_only else [None] * 3
            lines.append([*item, limit_text(statutory), limit_text(promised), visits])
    return lines


def minimal_workbook(rows=ROWS, headers=HEADERS, materials=None, extra=None) -> bytes:
    """The bureau's own sheet name, two title rows above the header, item cells merged down
    each item's rows; `extra` columns (header -> the value of every row) on the right."""
    extra = extra or {}
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append(["某市交通运输局行政权力事项清单"])
    sheet.append(["填报单位：政策法规科", None, None, "时限单位：工作日"])
    sheet.append([*headers, *extra])
    top = 4
    for line in flat_rows(rows):
        sheet.append([*line[: len(headers)], *extra.values()])
    for _code, _name, _kind, handling_rows in rows:
        bottom = top + len(handling_rows) - 1
        if bottom > top:
            for column in (1, 2, 3):
                sheet.merge_cells(
                    start_row=top, start_column=column, end_row=bottom, end_column=column
                )
        top = bottom + 1
    if materials is not None:
        other = book.create_sheet("材料清单")
        other.append(materials[0])
        for line in materials[1:]:
            other.append(line)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def expected_figures(rows=ROWS) -> dict:
    handling = [h for _c, _n, _k, handling_rows in rows for h in handling_rows]
    instant = [h for h in handling if days(h[1]) == 0]
    return {
        "items": len(rows),
        "licences": sum(kind == "行政许可" for _c, _n, kind, _h in rows),
        "handling_items": len(handling),
        "instant": len(instant),
        "no_visit": sum(visits in ZERO_VISITS for _s, _p, visits in handling),
        "statutory_days": sum(days(statutory) for statutory, _p, _v in handling),
        "promised_days": sum(days(promised) for _s, promised, _v in handling),
    }


def imported_figures() -> dict:
    figures = catalog_figures()
    return {
        "items": sum(figures.items_by_type.values()),
        "licences": figures.items_by_type.get(ItemType.licence, 0),
        "handling_items": figures.handling_items,
        "instant": figures.instant,
        "no_visit": figures.no_visit,
        "statutory_days": figures.statutory_days,
        "promised_days": figures.promised_days,
    }


def expected_codes(rows=ROWS) -> dict[str, tuple[str, str]]:
    """Handling-item code -> case type, as derived: the item code and -01, -02, … in row
    order; 即办件 where the promised limit is 0."""
    return {
        f"{code}-{index:02d}": ("instant" if days(promised) == 0 else "promised")
        for code, _n, _k, handling_rows in rows
        for index, (_s, promised, _v) in enumerate(handling_rows, 1)
    }


def stored_codes(db) -> dict[str, tuple[str, str]]:
    rows = db.session.execute(sa.select(HandlingItem.code, HandlingItem.case_type)).all()
    return {code: getattr(case, "value", case) for code, case in rows}


def run(cli, tmp_path, content: bytes, name: str = "清单.xlsx", *args: str):
    path = tmp_path / name
    path.write_bytes(content)
    return cli.invoke(args=["import-items", str(path), *args])


# -- only the required columns ------------------------------------------------------------------


def test_a_workbook_with_only_the_required_columns_imports_and_publishes(cli, db, tmp_path):
    result = run(cli, tmp_path, minimal_workbook(), "清单.xlsx", "--publish")
    assert result.exit_code == 0, result.output
    assert f"新增 {len(ROWS)} 项，修改 0 项" in result.output
    assert imported_figures() == expected_figures()
    assert stored_codes(db) == expected_codes()
    statuses = set(db.session.scalars(sa.select(ApprovalItem.status)))
    assert statuses == {Status.published}  # gaps do not stop publication
    for code, _name, _kind, handling_rows in ROWS:  # listed by the command
        assert listed_gaps(result.output, f"要素缺失 {code}：") == expected_gaps(handling_rows)


def test_derived_codes_and_case_types_are_said_per_row_and_in_the_audit_reason(cli, db, tmp_path):
    result = run(cli, tmp_path, minimal_workbook(), "清单.xlsx")
    assert result.exit_code == 0, result.output
    # the header is row 3; JT-101's rows are 4-6, JT-102's 7, JT-103's 8-9
    for line in (
        f"{SHEET} 第4行「业务办理项编码」未提供，按事项编码生成为 JT-101-01",
        f"{SHEET} 第6行「业务办理项编码」未提供，按事项编码生成为 JT-101-03",
        f"{SHEET} 第9行「业务办理项编码」未提供，按事项编码生成为 JT-103-02",
        f"{SHEET} 第4行「办件类型」未提供，按承诺时限（5个工作日）定为承诺件",
        f"{SHEET} 第5行「办件类型」未提供，按承诺时限（0个工作日）定为即办件",
        f"{SHEET} 第6行「承诺时限」“10天”按10个工作日计",
    ):
        assert f"已换算：{line}" in result.output
    # in row order, the derived code first among its row's notes
    assert result.output.index("第4行「业务办理项编码」") < result.output.index("第4行「办件类型」")
    assert result.output.index("第4行「办件类型」") < result.output.index("第5行「业务办理项编码」")
    reasons = db.session.scalars(
        sa.select(AuditEvent.reason).where(
            AuditEvent.object_code == "JT-102", AuditEvent.reason.like("导入%")
        )
    ).all()
    assert reasons and all(r == reasons[0] for r in reasons)
    assert listed_gaps(reasons[0], "导入 清单.xlsx；") == expected_gaps(ROWS[1][3])
    assert "；已换算：" in reasons[0]
    assert f"{SHEET} 第7行「业务办理项编码」未提供，按事项编码生成为 JT-102-01" in reasons[0]
    assert "按承诺时限（0个工作日）定为即办件" in reasons[0]


def test_importing_the_same_file_again_changes_nothing(cli, db, tmp_path):
    content = minimal_workbook()
    assert run(cli, tmp_path, content, "清单.xlsx", "--publish").exit_code == 0
    again = run(cli, tmp_path, content, "清单.xlsx", "--publish")
    assert again.exit_code == 0, again.output
    assert f"新增 0 项，修改 0 项，未变 {len(ROWS)} 项" in again.output
    assert stored_codes(db) == expected_codes()


@pytest.mark.parametrize("bom", [False, True], ids=["no-bom", "bom"])
def test_a_gb18030_csv_with_only_the_required_columns_imports(cli, db, tmp_path, bom):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["某市交通运输局行政权力事项清单"])
    writer.writerow(HEADERS)
    writer.writerows(flat_rows())
    content = ("\ufeff" if bom else "").encode("gb18030") + buffer.getvalue().encode("gb18030")
    result = run(cli, tmp_path, content, "清单.csv", "--publish")
    assert result.exit_code == 0, result.output
    assert imported_figures() == expected_figures()
    assert stored_codes(db) == expected_codes()
    assert listed_gaps(result.output, "要素缺失 JT-102：") == expected_gaps(ROWS[1][3])


# -- what a file without a column keeps, and empty cells ----------------------------------------


def test_a_file_without_optional_columns_keeps_what_an_item_already_has(cli, db, tmp_path):
    """The full bureau workbook first; then the same catalog with only the required columns:
    its derived codes are the bureau's own (GH-001-01 …), and nothing changes."""
    assert run(cli, tmp_path, bureau_workbook(), "全.xlsx", "--publish").exit_code == 0
    rows = [
        (owner["事项编码"], owner["事项名称"], owner["事项类型"], [
            (h["法定时限"], h["承诺时限"], h["到现场次数"]) for h in owner["handling"]
        ])
        for owner in ITEMS
    ]  # fmt: skip
    assert sorted(expected_codes(rows)) == sorted(
        h["业务办理项编码"] for owner in ITEMS for h in owner["handling"]
    )
    result = run(cli, tmp_path, minimal_workbook(rows), "简.xlsx", "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"新增 0 项，修改 0 项，未变 {len(ITEMS)} 项" in result.output


def test_empty_cells_in_present_columns_are_gaps_and_fees_not_provided(db):
    headers = [*HEADERS, "实施主体", "收费情况", "办理项编码", "办件类型"]
    lines = [
        ["JT-201", "甲", "行政许可", 20, 5, 0, "", "", "", ""],
        ["JT-201", "甲", "行政许可", 20, 5, 0, "", "否", "JT-201-01", "承诺件"],
        ["JT-201", "甲", "行政许可", 20, 0, 0, "", "", "", ""],
    ]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([headers, *lines])
    parsed = parse_rows(*read_file("x.csv", buffer.getvalue().encode("utf-8")))
    plan = plan_import(parsed)
    (item_data,) = [canonical for _parsed, canonical in plan.new]
    handling = item_data["handling_items"]
    # the explicit JT-201-01 is skipped by the rows without a code, in row order
    assert [h["code"] for h in handling] == ["JT-201-02", "JT-201-01", "JT-201-03"]
    assert [h["fees"] for h in handling] == [None, "none", None]
    assert [h["case_type"] for h in handling] == ["promised", "promised", "instant"]
    found = gaps(item_data)
    assert "implementing_body" in found.item
    assert "fees" in found.handling_items["JT-201-02"]
    assert "fees" not in found.handling_items["JT-201-01"]


# -- materials ---------------------------------------------------------------------------------


def test_materials_may_name_an_item_with_one_handling_item_by_its_code(cli, db, tmp_path):
    materials = [["申请材料名称", "基本编码"], ["驾驶证", "JT-102"]]
    result = run(cli, tmp_path, minimal_workbook(materials=materials), "清单.xlsx", "--publish")
    assert result.exit_code == 0, result.output
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "JT-102"))
    (handling,) = current_data(item)["handling_items"]
    assert [m["name"] for m in handling["materials"]] == ["驾驶证"]
    assert "材料清单 第2行「材料类型」「材料形式」" in result.output  # defaults said


def test_a_material_naming_an_item_with_several_handling_items_is_refused(cli, db, tmp_path):
    materials = [["申请材料名称", "基本编码"], ["申请表", "JT-101"]]
    result = run(cli, tmp_path, minimal_workbook(materials=materials), "清单.xlsx")
    assert result.exit_code == 1
    assert "材料清单 第2行「业务办理项编码」：事项“JT-101”有 3 个业务办理项" in result.output
    assert imported_figures()["items"] == 0


def test_a_material_whose_handling_item_code_no_row_has_is_refused(cli, db, tmp_path):
    materials = [["申请材料名称", "办理项编码"], ["申请表", "JT-101-01"], ["身份证", "JT-109-01"]]
    result = run(cli, tmp_path, minimal_workbook(materials=materials), "清单.xlsx", "--publish")
    assert result.exit_code == 1
    # JT-101-01 is derived and found; JT-109-01 is nowhere
    assert "材料清单 第3行「业务办理项编码」：事项表中没有业务办理项“JT-109-01”。" in result.output
    assert "第2行" not in result.output
    assert imported_figures()["items"] == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApprovalItem)) == 0


# -- bad header rows ------------------------------------------------------------------------------


@pytest.mark.parametrize("dropped", ["事项类型", "到办事现场次数"])
def test_a_header_row_lacking_a_required_column_is_refused_naming_it(cli, db, tmp_path, dropped):
    headers = [h for h in HEADERS if h != dropped]
    rows = [[c for h, c in zip(HEADERS, line, strict=True) if h != dropped] for line in flat_rows()]
    book = Workbook()
    book.active.title = SHEET
    book.active.append(headers)
    for line in rows:
        book.active.append(line)
    buffer = io.BytesIO()
    book.save(buffer)
    result = run(cli, tmp_path, buffer.getvalue(), "清单.xlsx")
    assert result.exit_code == 1
    field = {"事项类型": "事项类型", "到办事现场次数": "到现场次数"}[dropped]
    assert f"{SHEET} 第1行：缺少必填列：{field}。" in result.output
    assert imported_figures()["items"] == 0


def test_a_materials_sheet_without_a_reference_is_refused(db):
    content = minimal_workbook(materials=[["申请材料名称", "备注"], ["申请表", ""]])
    with pytest.raises(SpreadsheetError) as caught:
        read_file("x.xlsx", content)
    assert [str(p) for p in caught.value.problems] == [
        "材料清单 第1行：缺少必填列：业务办理项编码或事项编码。"
    ]


@pytest.mark.parametrize(
    ("extra", "cells", "message"),
    [
        (["收费情况"], ["是"], "为“是”，但没有填收费项目、收费标准、收费依据"),
        (["是否收费", "收费项目"], ["", "工本费"], "未填写，但填了收费项目等列"),
        ([], [""], "「到现场次数」：不能为空。"),
    ],
    ids=["charged-for-nothing", "fees-without-charges", "empty-visits"],
)
def test_fees_that_cannot_be_read_and_empty_required_cells_are_refused(db, extra, cells, message):
    headers = [*HEADERS, *extra]
    line = ["JT-301", "甲", "行政许可", 20, 5, *([0] if extra else []), *cells]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([headers, line])
    with pytest.raises(SpreadsheetError) as caught:
        plan_import(parse_rows(*read_file("x.csv", buffer.getvalue().encode("utf-8"))))
    assert [message in str(problem) for problem in caught.value.problems] == [True]
