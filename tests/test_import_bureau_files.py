"""Files shaped like the ones bureaus keep: their own sheet names, title rows above the header,
columns in their own order and spelling, item cells merged down an item's rows or filled only
on its first, values as staff write them. Every figure is worked out here from the rows."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from catalog.enums import ItemType
from catalog.figures import catalog_figures
from catalog.import_headers import check_mapping, header_key, read_mapping, spellings
from catalog.importing import SpreadsheetError, parse_rows, plan_import, read_file
from catalog.models import ApprovalItem, AuditEvent, HandlingItem
from catalog.operations.imports import apply_import
from catalog.spreadsheets import ROW_HEADERS
from catalog.uploads import PendingImport, freeze
from catalog.xlsx_reading import MAX_MERGED_RANGES

# The bureau's spelling of every column of its handling-item sheet, in its own order.
HEADERS = {
    "办理项编码": "业务办理项编码",
    " 事项名称 ": "事项名称",
    "基本编码": "事项编码",
    "事项类型": "事项类型",
    "办理项名称": "办理项名称",
    "办件类型": "办件类型",
    "法定办结时限（工作日）": "法定时限",
    "承诺办结时限【工作日】": "承诺时限",
    "到办事现场次数": "到现场次数",
    "必须现场办理原因说明": "必须现场办理原因说明",
    "网办深度": "网上办理深度",
    "收费情况": "是否收费",
    "收费项目": "收费项目",
    "收费标准": "收费标准",
    "收费金额": "收费金额",
    "收费依据": "收费依据",
    "办理形式": "办理形式",
    "办理流程": "办理流程",
    "实施主体": "实施主体",
    "承办机构": "承办机构",
    "行使层级": "行使层级",
    "权力来源": "权力来源",
    "服务对象": "服务对象",
    "设定依据": "设定依据",
    "受理条件": "受理条件",
    "审批结果": "审批结果",
    "审批结果类型": "审批结果类型",
    "咨询方式": "咨询方式",
    "监督投诉方式": "监督投诉方式",
    "办理地点": "办理地点",
    "办理时间": "办理时间",
}
ITEM_FIELDS = ROW_HEADERS[:16]  # the item-level columns (catalog.spreadsheets.ITEM_COLUMNS)
MATERIAL_HEADERS = [
    "申请材料名称", "办理项编码", "介质要求", "纸质材料份数",
    "材料必要性", "材料类型", "来源渠道", "备注",
]  # fmt: skip
UNITS = {"个工作日": 1, "工作日": 1, "天": 1, "日": 1, "个月": 22}
ZERO_VISITS = {"0次", "零次", "不见面", "0"}


def item(code: str, name: str, kind: str, targets: str, *handling: dict) -> dict:
    return {
        "事项编码": code, "事项名称": name, "事项类型": kind, "实施主体": "某市交通运输局",
        "承办机构": "行政审批科", "行使层级": "市级", "权力来源": "法定本级行使",
        "服务对象": targets, "设定依据": "《中华人民共和国道路运输条例》第二十四条：……",
        "受理条件": "符合条件。", "审批结果": "许可证", "审批结果类型": "证照",
        "咨询方式": "0374-1234567", "监督投诉方式": "12328", "办理地点": "市民之家",
        "办理时间": "工作日", "handling": list(handling),
    }  # fmt: skip


def handling(code, situation, case, statutory, promised, visits, fee="不收费", reason=""):
    """One handling item; limits as (number, unit) so that the test can count their days."""
    return {
        "业务办理项编码": code, "办理项名称": situation, "办件类型": case,
        "法定时限": statutory, "承诺时限": promised, "到现场次数": visits,
        "必须现场办理原因说明": reason, "网上办理深度": 4, "是否收费": fee,
        "收费项目": "", "收费标准": "", "收费金额": "", "收费依据": "",
        "办理形式": "窗口办理、网上办理", "办理流程": "受理；审查；决定",
    }  # fmt: skip


ITEMS = [
    item(
        "GH-001", "道路货物运输经营许可", "行政许可", "法人、个人",
        handling("GH-001-01", "新办", "承诺", (20, "个工作日"), (5, "天"), "0次"),
        handling("GH-001-02", "变更", "即办", (20, "工作日"), (0, "个工作日"), "零次", "免费"),
        handling("GH-001-03", "注销", "即办件", (1, "个月"), (0, "天"), "不见面", "否"),
    ),
    item(
        "GH-002", "港口经营许可", "行政许可", "企业",
        handling("GH-002-01", "新办", "承诺件", (30, "日"), (5, "个工作日"), "1次",
                 reason="核验原件"),
    ),
    item(
        "GH-003", "道路运输从业人员从业资格", "行政确认", "自然人",
        handling("GH-003-01", "补证", "即办", (10, "个工作日"), (0, "个工作日"), "0"),
        handling("GH-003-02", "换证", "承诺", (10, "个工作日"), (2, "个工作日"), "一次",
                 reason="采集照片"),
    ),
]  # fmt: skip


def days(limit: tuple[int, str]) -> int:
    number, unit = limit
    return number * UNITS[unit]


def cell(field: str, handling_item: dict, owner: dict):
    value = handling_item[field] if field in handling_item else owner[field]
    return f"{value[0]}{value[1]}" if isinstance(value, tuple) else value


def bureau_rows(items=ITEMS, *, first_row_only=False) -> list[list]:
    """The handling-item rows in the bureau's column order; item cells only on an item's first
    row when `first_row_only` (or, in the workbook, merged down)."""
    rows = []
    for owner in items:
        for index, handling_item in enumerate(owner["handling"]):
            row = []
            for field in HEADERS.values():
                blank = first_row_only and index > 0 and field in ITEM_FIELDS
                row.append(None if blank else cell(field, handling_item, owner))
            rows.append(row)
    return rows


def material_rows(items=ITEMS) -> list[list]:
    return [
        ["申请表", h["业务办理项编码"], "纸质", 1, "必要", "原件", "申请人自备", ""]
        for owner in items
        for h in owner["handling"]
    ]


def bureau_workbook(items=ITEMS, *, merge=True, headers=None, extra=None) -> bytes:
    """Sheets named as the bureau names them, a title and a note above each header, a sheet of
    explanations first, item cells merged down each item's rows."""
    headers = list(headers or HEADERS)
    book = Workbook()
    notes = book.active
    notes.title = "填表说明"
    notes.append(["本表由各科室填报，请勿修改表头。"])
    sheet = book.create_sheet("附件1 政务服务事项清单")
    sheet.append(["某市交通运输局政务服务事项目录（2026年版）"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    sheet.append(["说明：时限单位为工作日。"])
    sheet.append(headers + (extra or []))
    rows = bureau_rows(items, first_row_only=merge)
    for row in rows:
        sheet.append(row + ([""] * len(extra or [])))
    if merge:  # Excel keeps the value in the top cell of a merged range only
        top = 4
        for owner in items:
            bottom = top + len(owner["handling"]) - 1
            for column, field in enumerate(HEADERS.values(), 1):
                if field in ITEM_FIELDS and bottom > top:
                    sheet.merge_cells(
                        start_row=top, start_column=column, end_row=bottom, end_column=column
                    )
            top = bottom + 1
    materials = book.create_sheet("附件2 材料")
    materials.append(["申请材料目录"])
    materials.append(MATERIAL_HEADERS)
    for row in material_rows(items):
        materials.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def expected_figures(items=ITEMS) -> dict:
    """The report's counts, worked out from the rows above."""
    rows = [h for owner in items for h in owner["handling"]]
    instant = [h for h in rows if h["办件类型"] in ("即办", "即办件")]
    return {
        "items": len(items),
        "licences": sum(owner["事项类型"] == "行政许可" for owner in items),
        "handling_items": len(rows),
        "instant": len(instant),
        "no_visit": sum(h["到现场次数"] in ZERO_VISITS for h in rows),
        "statutory_days": sum(days(h["法定时限"]) for h in rows),
        "promised_days": sum(days(h["承诺时限"]) for h in rows if h not in instant),
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


def import_file(db, filename, content, materials=None, mapping=None):
    plan = plan_import(parse_rows(*read_file(filename, content, materials, mapping)))
    apply_import(plan, actor="cli", source=filename, publish=True)
    db.session.commit()
    return plan


def problems_of(filename, content, materials=None, mapping=None) -> list[str]:
    with pytest.raises(SpreadsheetError) as caught:
        plan_import(parse_rows(*read_file(filename, content, materials, mapping)))
    return [str(problem) for problem in caught.value.problems]


# -- headers --------------------------------------------------------------------------------


def test_every_field_is_recognised_by_its_own_name_and_the_spellings_are_data():
    known = spellings()
    for field in ROW_HEADERS:
        assert known["handling"][header_key(field)] == field
    for spelling, field in HEADERS.items():
        assert known["handling"][header_key(spelling)] == field
    assert known["materials"][header_key("介质要求")] == "材料形式"
    assert header_key(" 法定办结时限（工作日） ") == header_key("法定办结时限(工作日)")


# -- a bureau's workbook ------------------------------------------------------------------------


@pytest.mark.parametrize("merge", [True, False], ids=["merged", "first-row-only"])
def test_a_bureau_workbook_imports_with_its_figures_right(db, merge):
    plan = import_file(db, "清单.xlsx", bureau_workbook(merge=merge))
    assert len(plan.new) == len(ITEMS)
    assert imported_figures() == expected_figures()
    visits = dict(db.session.execute(sa.select(HandlingItem.code, HandlingItem.visits)).all())
    assert visits == {
        h["业务办理项编码"]: 0 if h["到现场次数"] in ZERO_VISITS else 1
        for owner in ITEMS
        for h in owner["handling"]
    }
    targets = {owner["事项编码"]: owner["服务对象"] for owner in ITEMS}
    stored = dict(
        db.session.execute(sa.select(ApprovalItem.code, ApprovalItem.service_targets)).all()
    )
    assert (
        sorted(stored["GH-001"])
        == ["enterprise", "natural_person"]
        == sorted(
            [
                "enterprise" if t == "法人" else "natural_person"
                for t in targets["GH-001"].split("、")
            ]
        )
    )


def test_what_was_assumed_is_in_the_preview_and_the_audit_reason(db):
    plan = import_file(db, "清单.xlsx", bureau_workbook())
    sheet = "附件1 政务服务事项清单"
    # the rows start at 4 (a title and a note above the header)
    assert f"{sheet} 第4行「承诺时限」“5天”按5个工作日计" in plan.notes
    assert f"{sheet} 第6行「法定时限」“1个月”按22个工作日计" in plan.notes
    assert f"{sheet} 第7行「法定时限」“30日”按30个工作日计" in plan.notes
    assert f"{sheet} 第4行「服务对象」“法人”按企业法人计" in plan.notes
    reasons = db.session.scalars(sa.select(AuditEvent.reason).where(AuditEvent.actor == "cli"))
    assert any("“1个月”按22个工作日计" in (reason or "") for reason in reasons)


def test_an_item_whose_rows_disagree_is_refused_naming_sheet_row_and_column(db):
    book = load_workbook(io.BytesIO(bureau_workbook(merge=False)))
    sheet = book["附件1 政务服务事项清单"]
    column = list(HEADERS).index(" 事项名称 ") + 1
    sheet.cell(row=5, column=column, value="另一个名称")  # GH-001's second row
    buffer = io.BytesIO()
    book.save(buffer)
    assert problems_of("x.xlsx", buffer.getvalue()) == [
        "附件1 政务服务事项清单 第5行「事项名称」：与第4行的同一事项不一致。"
    ]


def test_a_file_without_a_handling_item_sheet_is_refused(db):
    book = Workbook()
    book.active.title = "目录"
    book.active.append(["序号", "名称", "备注"])
    buffer = io.BytesIO()
    book.save(buffer)
    (problem,) = problems_of("x.xlsx", buffer.getvalue())
    assert "没有找到业务办理项所在的工作表" in problem and "事项编码" in problem


def test_two_columns_for_one_field_are_refused_naming_both(db):
    headers = list(HEADERS)
    headers[headers.index("基本编码")] = "实施编码"
    content = bureau_workbook(headers=headers, extra=["基本编码"])
    assert problems_of("x.xlsx", content) == [
        "附件1 政务服务事项清单 第3行「基本编码」：与「实施编码」同为“事项编码”，只能保留一列。"
    ]


def test_an_unknown_header_is_refused_and_placed_by_a_mapping(db):
    content = bureau_workbook(extra=["序号", "所属处室"])
    assert problems_of("x.xlsx", content) == [
        f"附件1 政务服务事项清单 第3行「{name}」：无法识别的表头：请在映射中指定字段或忽略。"
        for name in ("序号", "所属处室")
    ]
    mapping = read_mapping("序号: ignore\n所属处室: ignore\n")
    import_file(db, "x.xlsx", content, mapping=mapping)
    assert imported_figures() == expected_figures()


def test_a_mapping_places_a_header_on_a_field():
    headers = [("受理部门" if h == "承办机构" else h) for h in HEADERS]
    content = bureau_workbook(headers=headers)
    rows, _materials = read_file("x.xlsx", content, None, read_mapping("受理部门: 承办机构"))
    assert {row.cells["承办机构"] for row in rows} == {"行政审批科"}
    with pytest.raises(ValueError, match="无法识别"):
        read_mapping("受理部门: 不存在的字段")


def test_a_mapping_may_not_map_two_headers_to_one_field():
    """One rule for a mapping file and a mapping made on the upload page (check_mapping)."""
    with pytest.raises(ValueError, match="「受理部门」和「办理科室」都对应“承办机构”"):
        read_mapping("受理部门: 承办机构\n办理科室: 承办机构\n")
    assert check_mapping({"序号": "IGNORE", "受理部门": "承办机构"}) == {
        "序号": "ignore",
        "受理部门": "承办机构",
    }


# -- CSV ---------------------------------------------------------------------------------------


def csv_bytes(header: list[str], rows: list[list], encoding: str, title: bool = True) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if title:
        writer.writerow(["某市交通运输局事项清单"])
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


@pytest.mark.parametrize(
    "encoding", ["gb18030", "utf-8", "utf-8-sig"], ids=["gb18030", "utf-8", "utf-8-bom"]
)
def test_a_bureau_csv_imports_with_its_figures_right(db, encoding):
    items = csv_bytes(list(HEADERS), bureau_rows(first_row_only=True), encoding)
    materials = csv_bytes(MATERIAL_HEADERS, material_rows(), encoding, title=False)
    import_file(db, "清单.csv", items, materials)
    assert imported_figures() == expected_figures()


def test_a_gb18030_csv_with_its_bom_imports(db):
    bom = "\ufeff".encode("gb18030")
    items = bom + csv_bytes(list(HEADERS), bureau_rows(), "gb18030")
    import_file(db, "清单.csv", items)
    assert imported_figures() == expected_figures()


# -- the command line ---------------------------------------------------------------------------


def test_the_command_line_names_the_headers_it_cannot_place_and_imports_nothing(cli, tmp_path):
    path = tmp_path / "清单.xlsx"
    path.write_bytes(bureau_workbook(extra=["序号", "所属处室"]))
    result = cli.invoke(args=["import-items", str(path), "--publish"])
    assert result.exit_code == 1
    assert "附件1 政务服务事项清单 第3行「序号」：无法识别的表头" in result.output
    assert "无法对应的表头：序号、所属处室。请用 --mapping" in result.output
    assert imported_figures()["items"] == 0


def test_the_command_line_imports_with_a_mapping(cli, db, tmp_path):
    path, mapping = tmp_path / "清单.xlsx", tmp_path / "map.yaml"
    path.write_bytes(bureau_workbook(extra=["序号", "主办处室"]))
    mapping.write_text("序号: ignore\n主办处室: ignore\n", encoding="utf-8")
    result = cli.invoke(args=["import-items", str(path), "--mapping", str(mapping), "--publish"])
    assert result.exit_code == 0, result.output
    assert f"新增 {len(ITEMS)} 项" in result.output
    assert "已换算：附件1 政务服务事项清单 第6行「法定时限」“1个月”按22个工作日计" in result.output
    assert imported_figures() == expected_figures()


def test_the_command_line_refuses_a_mapping_it_cannot_read(cli, tmp_path):
    path, mapping = tmp_path / "清单.xlsx", tmp_path / "map.yaml"
    path.write_bytes(bureau_workbook())
    mapping.write_text("序号: 不存在的字段\n", encoding="utf-8")
    result = cli.invoke(args=["import-items", str(path), "--mapping", str(mapping)])
    assert result.exit_code == 1
    assert "映射中「序号」的字段“不存在的字段”无法识别" in result.output


def test_merged_ranges_are_bounded(db):
    """Excel writes one <mergeCell> per merge; a file with more than any bureau's is refused
    while it is read, before anything is filled down."""
    content = bureau_workbook()
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    many = "".join(
        f'<mergeCell ref="B{n}:B{n + 1}"/>' for n in range(20, 20 + 2 * MAX_MERGED_RANGES, 2)
    ).encode()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet2.xml":  # the handling-item sheet
                assert b"</mergeCells>" in data
                data = data.replace(b"</mergeCells>", many + b"</mergeCells>")
            target.writestr(info, data)
    assert problems_of("x.xlsx", buffer.getvalue()) == [
        f"附件1 政务服务事项清单：合并单元格超过 {MAX_MERGED_RANGES} 处。"
    ]


def test_rules_broken_and_warnings_name_the_bureau_sheet_also_after_the_preview_is_kept(db):
    items = [dict(ITEMS[1], handling=[dict(ITEMS[1]["handling"][0], 承诺时限=(40, "个工作日"))])]
    over_ten = dict(ITEMS[0]["handling"][0], 法定时限=(60, "个工作日"), 承诺时限=(11, "个工作日"))
    items.append(dict(ITEMS[0], handling=[over_ten, *ITEMS[0]["handling"][1:]]))
    sheet = "附件1 政务服务事项清单"
    with pytest.raises(SpreadsheetError) as caught:
        plan_import(parse_rows(*read_file("x.xlsx", bureau_workbook(items))))
    (problem,) = caught.value.problems
    assert (problem.sheet, problem.row, problem.column) == (sheet, 4, "承诺时限")
    parsed = parse_rows(*read_file("x.xlsx", bureau_workbook(items[1:])))
    kept = PendingImport("t" * 22, "x.xlsx", {}, freeze(parsed)).items()
    assert [item.sheets for item in kept] == [(sheet, "附件2 材料")]
    (warning,) = plan_import(kept).warnings
    assert warning.startswith(f"{sheet} 第4行（GH-001-01）")


def test_the_command_line_names_a_long_header_whole_for_the_mapping_file(cli, db, tmp_path):
    long_header = "备注（按照河南省政务服务事项管理系统导出格式填写的其他说明事项）"
    assert len(long_header) > 30
    path, mapping = tmp_path / "清单.xlsx", tmp_path / "map.yaml"
    path.write_bytes(bureau_workbook(extra=[long_header]))
    result = cli.invoke(args=["import-items", str(path)])
    assert result.exit_code == 1
    assert f"无法对应的表头：{long_header}。" in result.output
    mapping.write_text(f"{long_header}: ignore\n", encoding="utf-8")  # as the hint names it
    result = cli.invoke(args=["import-items", str(path), "--mapping", str(mapping)])
    assert result.exit_code == 0, result.output
