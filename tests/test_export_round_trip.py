"""The export keeps the national header names and the completeness columns, and exporting an
imported catalog, gaps and all, then importing the export changes nothing (issue 21 part 5)."""

from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook

from catalog.elements import ELEMENTS
from catalog.importing import parse_rows, plan_import, read_file
from catalog.operations.imports import apply_import
from catalog.spreadsheets import (
    EXPORT_MATERIAL_HEADERS,
    EXPORT_ROW_HEADERS,
    FAQ_HEADERS,
    FAQ_SHEET,
    ITEM_SHEET,
    MATERIAL_SHEET,
    export_data,
    to_csv,
    to_xlsx,
)
from tests.factories import (
    SAMPLE_FAQ,
    SAMPLE_ONLINE_URL,
    handling_item_data,
    item_data,
    publish,
)

# A bureau's file: its own sheet name, a title row, only the columns the ratios read.
BUREAU_HEADERS = [
    "基本编码",
    "事项名称",
    "事项类型",
    "法定办结时限",
    "承诺办结时限",
    "到办事现场次数",
]
BUREAU_ROWS = [
    ["Q-001", "港口经营许可", "行政许可", "20个工作日", "5个工作日", "0次"],
    ["Q-001", "港口经营许可", "行政许可", "20个工作日", "即办", "不见面"],
    ["Q-002", "道路运输证配发", "行政确认", "无期限", "3", "1次"],
]


def bureau_file() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "附件1 事项清单"
    sheet.append(["某某县交通运输局政务服务事项目录（2026年）"])
    sheet.append(BUREAU_HEADERS)
    for row in BUREAU_ROWS:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def plan_of(filename: str, content: bytes, materials: bytes | None = None):
    return plan_import(parse_rows(*read_file(filename, content, materials)))


def sheet_rows(content: bytes, title: str) -> list[list]:
    sheet = load_workbook(io.BytesIO(content), read_only=True)[title]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_the_export_writes_national_headers_and_each_rows_completeness(db):
    publish(db, item_data(code="A", name="完整的事项"))
    publish(
        db,
        {
            "code": "B",
            "name": "缺要素的事项",
            "type": "licence",
            "handling_items": [{"code": "B-01", "case_type": "promised", "statutory_days": 20,
                                "promised_days": 5, "visits": 0}],
        },
    )  # fmt: skip
    content = to_xlsx(export_data())
    rows = sheet_rows(content, ITEM_SHEET)
    assert rows[0] == EXPORT_ROW_HEADERS
    assert {"法定办结时限", "承诺办结时限", "到办事现场次数", "要素是否完整", "缺少要素"} <= set(
        rows[0]
    )
    assert sheet_rows(content, MATERIAL_SHEET)[0] == EXPORT_MATERIAL_HEADERS
    by_code = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert (by_code["A"]["要素是否完整"], by_code["A"]["缺少要素"]) == ("是", None)
    missing = by_code["B"]["缺少要素"].split("、")
    # no visit, so no reason is missing: every other element is
    assert missing == [e.label for e in ELEMENTS if e.key != "visit_reason"]
    assert by_code["B"]["要素是否完整"] == "否"
    assert by_code["B"]["实施主体"] is None and by_code["B"]["是否收费"] is None


def test_an_imported_catalog_exported_and_imported_again_is_unchanged(db):
    plan = plan_of("bureau.xlsx", bureau_file())
    assert sorted(parsed.code for parsed, _data in plan.new) == ["Q-001", "Q-002"]
    apply_import(plan, actor="wang", source="bureau.xlsx", publish=True)
    db.session.commit()
    exported = export_data()
    assert [h["code"] for item in exported for h in item["handling_items"]] == [
        "Q-001-01", "Q-001-02", "Q-002-01"
    ]  # fmt: skip
    item_csv, material_csv = to_csv(exported)
    for filename, content, materials in (
        ("export.xlsx", to_xlsx(exported), None),
        ("export.csv", item_csv.encode("utf-8"), material_csv.encode("utf-8")),
    ):
        again = plan_of(filename, content, materials)
        assert (again.new, again.changed) == ([], []), filename
        assert sorted(again.unchanged) == ["Q-001", "Q-002"]
    assert export_data() == exported


def test_the_window_sheet_exported_and_imported_again_is_unchanged(db):
    from catalog.models import Role
    from catalog.operations.actor import Actor
    from catalog.operations.units import all_units, save_unit, unit_data
    from catalog.unit_transfer import read_units, sheet_plan

    publish(db, item_data(code="A", handling_unit="运输服务科"))
    reviewer = Actor("reviewer1", Role.reviewer)
    windows = [
        {"name": "运输服务科", "address": "许昌市政务服务中心交通运输局窗口", "phone": "12328",
         "hours": "法定工作日\n上午8:30—12:00", "map_url": "https://map.example.cn/?a=1&b=2",
         "notes": "=不是公式"},
        {"name": "公路管理科", "phone": "0374-1234567"},  # every other field unknown
    ]  # fmt: skip
    for window in windows:
        save_unit(window, actor=reviewer, reason="测试", expected_version=None)
    db.session.commit()
    units = [unit_data(unit) for unit in all_units()]
    content = to_xlsx(export_data(), units)
    plan = sheet_plan(read_units("export.xlsx", content))
    assert (plan.new, plan.changed) == ([], [])
    assert sorted(plan.unchanged) == ["公路管理科", "运输服务科"]
    assert plan_of("export.xlsx", content).unchanged == ["A"]  # the items' sheets as before
    assert [unit_data(unit) for unit in all_units()] == units
    assert read_units("export.xlsx", to_xlsx(export_data())) is None  # no sheet, no windows


def test_online_addresses_and_faqs_survive_export_and_import(db):
    """Issue 23 part 2: the 在线办理地址 column and the 常见问题 sheet carry both elements; a
    file without them leaves them as they are, and an edited FAQ sheet replaces an item's."""
    faq = [*SAMPLE_FAQ, {"question": "=SUM(A1)？", "answer": "以“+”开头的文字也原样保存。"}]
    publish(
        db,
        item_data(
            handling_item_data(code="F-01", online_url=SAMPLE_ONLINE_URL),
            handling_item_data(code="F-02"),
            code="F",
            faq=faq,
        ),
        item_data(code="G"),
    )
    exported = export_data()
    content = to_xlsx(exported)
    rows = sheet_rows(content, ITEM_SHEET)
    by_code = {row[rows[0].index("业务办理项编码")]: row for row in rows[1:]}
    column = rows[0].index("在线办理地址")
    assert (by_code["F-01"][column], by_code["F-02"][column]) == (SAMPLE_ONLINE_URL, None)
    faq_sheet = sheet_rows(content, FAQ_SHEET)
    assert faq_sheet[0] == FAQ_HEADERS
    written = [[e["question"], e["answer"]] for e in faq]
    written[-1][0] = "'" + written[-1][0]  # a formula-like cell is guarded, read back as typed
    assert [row[1:] for row in faq_sheet[1:]] == written
    assert {row[0] for row in faq_sheet[1:]} == {"F"}

    again = plan_of("export.xlsx", content)
    assert (again.new, again.changed) == ([], [])
    assert sorted(again.unchanged) == ["F", "G"]
    item_csv, material_csv = to_csv(exported)  # a CSV has no FAQ sheet: each FAQ is kept
    again = plan_of("export.csv", item_csv.encode("utf-8"), material_csv.encode("utf-8"))
    assert (again.new, again.changed) == ([], [])

    # the sheet edited: F's questions replaced, G given one, F-01's address removed
    book = load_workbook(io.BytesIO(content))
    book[FAQ_SHEET].delete_rows(2, book[FAQ_SHEET].max_row)
    book[FAQ_SHEET].append(["G", "需要预约吗？", "不需要。"])
    book[FAQ_SHEET].append(["F", "多久办结？", "5个工作日。"])
    item_sheet = book[ITEM_SHEET]
    for row in item_sheet.iter_rows(min_row=2):
        if row[rows[0].index("业务办理项编码")].value == "F-01":
            row[column].value = None
    buffer = io.BytesIO()
    book.save(buffer)
    plan = plan_of("edited.xlsx", buffer.getvalue())
    changes = {parsed.code: changed for parsed, _data, changed in plan.changed}
    assert changes["G"] == {"faq": (None, [{"question": "需要预约吗？", "answer": "不需要。"}])}
    assert changes["F"]["faq"] == (faq, [{"question": "多久办结？", "answer": "5个工作日。"}])
    assert changes["F"]["handling_items.F-01.online_url"] == (SAMPLE_ONLINE_URL, None)
    apply_import(plan, actor="wang", source="edited.xlsx", publish=True)
    db.session.commit()
    after = {item["code"]: item for item in export_data()}
    assert after["G"]["faq"] == [{"question": "需要预约吗？", "answer": "不需要。"}]
    assert "online_url" not in after["F"]["handling_items"][0]


def test_a_file_without_the_faq_sheet_or_the_address_column_keeps_both(db):
    publish(
        db,
        item_data(handling_item_data(code="F-01", online_url=SAMPLE_ONLINE_URL), code="F",
                  faq=SAMPLE_FAQ),
    )  # fmt: skip
    before = export_data()
    book = load_workbook(io.BytesIO(to_xlsx(before)))
    del book[FAQ_SHEET]
    sheet = book[ITEM_SHEET]
    headers = [cell.value for cell in sheet[1]]
    sheet.delete_cols(headers.index("在线办理地址") + 1)
    sheet.cell(row=2, column=headers.index("承诺办结时限") + 1).value = 4  # one real change
    buffer = io.BytesIO()
    book.save(buffer)
    plan = plan_of("old.xlsx", buffer.getvalue())
    [(_parsed, _data, changes)] = plan.changed
    assert changes == {"handling_items.F-01.promised_days": (5, 4)}


def _with_files(db) -> dict:
    """Item F, published, whose first material offers two blank forms (one named with a
    formula's sign and a bracket) and a sample; the second, none."""
    from catalog.attachments import store
    from tests import attachment_files as files
    from tests.factories import handling_item_data

    form, form2, sample = store(files.docx()), store(files.xlsx()), store(files.png())
    material = {"name": "申请表", "attachments": [
        {"kind": "sample", "sha256": sample.sha256, "filename": "填写示例 (图).png"},
        {"kind": "blank", "sha256": form2.sha256, "filename": "=附表.xlsx"},
        {"kind": "blank", "sha256": form.sha256, "filename": "申请表.docx"},
    ]}  # fmt: skip
    publish(db, item_data(handling_item_data(code="F-01", materials=[material, {"name": "执照"}]),
                          code="F", name="港口经营许可"))  # fmt: skip
    return {"form": form.sha256, "form2": form2.sha256, "sample": sample.sha256}


def test_the_materials_sheet_carries_each_materials_files_by_reference(db):
    hashes = _with_files(db)
    rows = sheet_rows(to_xlsx(export_data()), MATERIAL_SHEET)
    # (a row's empty cells at its end are not written)
    padded = [row + [None] * (len(rows[0]) - len(row)) for row in rows[1:]]
    by_name = {row[1]: dict(zip(rows[0], row, strict=True)) for row in padded}
    assert by_name["申请表"]["空白表格"] == (
        f"'=附表.xlsx (sha256:{hashes['form2']})\n申请表.docx (sha256:{hashes['form']})"
    )  # in the order given, one a line; a cell that would run as a formula is guarded
    assert by_name["申请表"]["示例样表"] == f"填写示例 (图).png (sha256:{hashes['sample']})"
    assert by_name["执照"]["空白表格"] is None and by_name["执照"]["示例样表"] is None


def test_exporting_files_and_importing_the_export_changes_nothing(db):
    _with_files(db)
    exported = export_data()
    item_csv, material_csv = to_csv(exported)
    for filename, content, materials in (
        ("export.xlsx", to_xlsx(exported), None),
        ("export.csv", item_csv.encode("utf-8"), material_csv.encode("utf-8")),
    ):
        again = plan_of(filename, content, materials)
        assert (again.new, again.changed, again.unchanged) == ([], [], ["F"]), filename
    assert export_data() == exported


def _materials_file(headers: list[str], *rows: list) -> bytes:
    book = Workbook()
    book.active.title = ITEM_SHEET
    items = [h for h in EXPORT_ROW_HEADERS if h not in ("要素是否完整", "缺少要素")]
    exported = {h: v for h, v in zip(EXPORT_ROW_HEADERS, sheet_rows(
        to_xlsx(export_data()), ITEM_SHEET)[1], strict=False)}  # fmt: skip
    book.active.append(items)
    book.active.append([exported[h] for h in items])
    sheet = book.create_sheet(MATERIAL_SHEET)
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_reference_to_a_file_the_catalog_does_not_hold_is_refused_in_its_cell(db):
    import pytest

    from catalog.importing import SpreadsheetError

    hashes = _with_files(db)
    unknown = "ab" * 32
    content = _materials_file(
        ["业务办理项编码", "材料名称", "空白表格", "示例样表"],
        ["F-01", "申请表", f"申请表.docx (sha256:{hashes['form']})", f"x.pdf (sha256:{unknown})"],
        ["F-01", "执照", "执照.pdf", None],
    )
    with pytest.raises(SpreadsheetError) as refused:
        plan_of("files.xlsx", content)
    problems = {(p.sheet, p.row, p.column): p.message for p in refused.value.problems}
    assert "文件名 (sha256:64位十六进制)" in problems[(MATERIAL_SHEET, 3, "空白表格")]
    content = _materials_file(
        ["业务办理项编码", "材料名称", "空白表格", "示例样表"],
        ["F-01", "申请表", f"申请表.docx (sha256:{hashes['form']})", f"x.pdf (sha256:{unknown})"],
    )
    with pytest.raises(SpreadsheetError) as refused:
        plan_of("files.xlsx", content)
    [problem] = refused.value.problems
    assert (problem.sheet, problem.row, problem.column) == (MATERIAL_SHEET, 2, "示例样表")
    assert "目录中没有 SHA-256 为 ababababab" in problem.message


def test_a_file_without_the_file_columns_keeps_each_materials_files(db):
    _with_files(db)
    before = export_data()
    content = _materials_file(
        ["业务办理项编码", "材料名称", "备注"], ["F-01", "申请表", "新备注"], ["F-01", "执照", None]
    )
    plan = plan_of("old-style.xlsx", content)
    [(_parsed, data, changes)] = plan.changed
    assert list(changes) == ["handling_items.F-01.materials"]
    first = data["handling_items"][0]["materials"][0]
    was = before[0]["handling_items"][0]["materials"][0]
    assert first == {**was, "notes": "新备注"}  # the notes changed, the files stayed
    # with only one of the two columns, the other kind's files stay
    content = _materials_file(
        ["业务办理项编码", "材料名称", "示例样表"], ["F-01", "申请表", None], ["F-01", "执照", None]
    )
    [(_parsed, data, _changes)] = plan_of("one-column.xlsx", content).changed
    kinds = [f["kind"] for f in data["handling_items"][0]["materials"][0]["attachments"]]
    assert kinds == ["blank", "blank"]
