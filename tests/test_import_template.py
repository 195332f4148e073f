"""The import template (issue 23 part 6): a bold frozen header with the required columns
coloured, a drop-down list for every enumeration whose every value the import reads, an
instructions sheet, and an example row that imports nothing. Rows filled by hand in the
template's columns import; nothing in it comes from the catalog."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from openpyxl.utils import range_boundaries

from catalog import import_template
from catalog.drafts import current_data
from catalog.enums import LabelledEnum
from catalog.import_headers import HANDLING, MATERIAL_REFERENCES, MATERIALS, REQUIRED
from catalog.import_template import (
    EXAMPLE_NAME_PREFIX,
    INSTRUCTIONS_SHEET,
    OPTIONS_SHEET,
    REQUIRED_FILL,
    header_of,
    template_xlsx,
)
from catalog.importing import MAX_ROWS, SpreadsheetError, parse_rows, plan_import, read_file
from catalog.models import ApprovalItem
from catalog.operations.imports import apply_import
from catalog.spreadsheets import (
    COMPLETENESS_HEADERS,
    EXAMPLE_CODE,
    EXAMPLE_REFUSED,
    EXPORT_MATERIAL_HEADERS,
    EXPORT_ROW_HEADERS,
    HANDLING_COLUMNS,
    ITEM_COLUMNS,
    ITEM_SHEET,
    MATERIAL_COLUMNS,
    MATERIAL_SHEET,
)
from tests.factories import handling_item_data, item_data, publish

ROW_COLUMNS = {column.header: column for column in (*ITEM_COLUMNS, *HANDLING_COLUMNS)}
MATERIAL_BY_FIELD = {column.header: column for column in MATERIAL_COLUMNS}
# Every enumeration of the import, by field (the app's header): the enums, and the three read
# as words or numbers.
ENUMERATIONS = {
    ITEM_SHEET: [c.header for c in (*ITEM_COLUMNS, *HANDLING_COLUMNS) if c.enum]
    + ["是否收费", "网上办理深度", "到现场次数"],
    MATERIAL_SHEET: [c.header for c in MATERIAL_COLUMNS if c.enum],
}
FIELDS = {
    ITEM_SHEET: [c.header for c in (*ITEM_COLUMNS, *HANDLING_COLUMNS)],
    MATERIAL_SHEET: [c.header for c in MATERIAL_COLUMNS],
}


def book_of(content: bytes):
    return load_workbook(io.BytesIO(content))


def saved(book) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def list_validations(book, title: str) -> dict[str, tuple[list[str], object]]:
    """Header -> (the values of its list validation, the validation), read back from the
    file: written in the formula, or a range of the options sheet."""
    sheet = book[title]
    headers = {cell.column: cell.value for cell in sheet[1]}
    found = {}
    for validation in sheet.data_validations.dataValidation:
        assert validation.type == "list"
        formula = validation.formula1
        if formula.startswith('"'):
            values = formula.strip('"').split(",")
        else:
            name, cells = formula.rsplit("!", 1)
            low_col, low_row, high_col, high_row = range_boundaries(cells.replace("$", ""))
            values = [
                str(row[0])
                for row in book[name.strip("'")].iter_rows(
                    min_row=low_row, max_row=high_row, min_col=low_col, max_col=high_col,
                    values_only=True,
                )
            ]  # fmt: skip
        (cells,) = str(validation.sqref).split()
        low_col, low_row, high_col, high_row = range_boundaries(cells)
        assert (low_col, low_row, high_row) == (high_col, 2, MAX_ROWS + 1)
        found[headers[low_col]] = (values, validation)
    return found


def example_free(content: bytes) -> object:
    """The template with its example rows deleted, as a workbook to fill."""
    book = book_of(content)
    for title in (ITEM_SHEET, MATERIAL_SHEET):
        book[title].delete_rows(2)
    return book


def put(sheet, row: int, values: dict[str, object]) -> None:
    """Write values by field into a template sheet's row, under the template's headers."""
    headers = [cell.value for cell in sheet[1]]
    for field, value in values.items():
        sheet.cell(row=row, column=headers.index(header_of(field)) + 1, value=value)


def plan_of(content: bytes):
    return plan_import(parse_rows(*read_file("template.xlsx", content)))


def test_the_sheets_have_the_export_s_headers_bold_frozen_and_required_coloured():
    book = book_of(template_xlsx())
    assert book.sheetnames[0] == INSTRUCTIONS_SHEET
    expected = {
        ITEM_SHEET: [h for h in EXPORT_ROW_HEADERS if h not in COMPLETENESS_HEADERS],
        MATERIAL_SHEET: EXPORT_MATERIAL_HEADERS,
    }
    required = {
        ITEM_SHEET: {header_of(f) for f in REQUIRED[HANDLING]},
        MATERIAL_SHEET: {header_of(f) for f in (*REQUIRED[MATERIALS], MATERIAL_REFERENCES[0])},
    }
    for title, headers in expected.items():
        sheet = book[title]
        assert [cell.value for cell in sheet[1]] == headers
        assert sheet.freeze_panes == "A2"
        assert sheet.max_row == 2  # the header and the example row
        for cell in sheet[1]:
            assert cell.font.b, cell.value
            coloured = cell.fill.fgColor.rgb == REQUIRED_FILL.fgColor.rgb
            assert coloured == (cell.value in required[title]), cell.value
            assert sheet.column_dimensions[cell.column_letter].width >= 10
        assert sheet.column_dimensions["B"].width > 10  # 事项名称 / 材料名称: wide


def test_every_enumeration_has_a_drop_down_list_over_the_rows_an_import_reads():
    book = book_of(template_xlsx())
    for title, fields in ENUMERATIONS.items():
        found = list_validations(book, title)
        assert set(found) == {header_of(field) for field in fields}
        for field in fields:
            values, validation = found[header_of(field)]
            assert values and len(values) == len(set(values))
            several = field in ("服务对象", "办理形式")  # joined by 、: not one of the list
            assert bool(validation.showErrorMessage) is not several
            assert validation.prompt and validation.showInputMessage
        assert OPTIONS_SHEET not in book.sheetnames  # every list fits in its formula


def test_every_value_of_every_drop_down_list_imports(db):
    """Each value on a row (or a material) of its own, through the import, read back."""
    content = template_xlsx()
    lists = {title: list_validations(book_of(content), title) for title in ENUMERATIONS}
    book = example_free(content)
    sheet, materials = book[ITEM_SHEET], book[MATERIAL_SHEET]
    expected = {}  # item code -> (field, the value written)
    for field in ENUMERATIONS[ITEM_SHEET]:
        for value in lists[ITEM_SHEET][header_of(field)][0]:
            code = f"V-{len(expected) + 1}"
            row = {"事项编码": code, "事项名称": f"测试事项{code}", "事项类型": "行政许可",
                   "法定时限": 20, "承诺时限": 0, "到现场次数": 0}  # fmt: skip
            if field == "是否收费" and value == "是":
                row |= {"收费项目": "工本费", "收费标准": "10元/本", "收费依据": "某收费文件"}
            put(sheet, len(expected) + 2, row | {field: value})
            expected[code] = (field, value)
    material_expected = []
    for field in ENUMERATIONS[MATERIAL_SHEET]:
        for value in lists[MATERIAL_SHEET][header_of(field)][0]:
            row = len(material_expected) + 2
            put(
                materials, row, {"业务办理项编码": "V-1-01", "材料名称": f"材料{row}", field: value}
            )
            material_expected.append((field, value))
    plan = plan_of(saved(book))
    assert len(plan.new) == len(expected)
    for parsed, canonical in plan.new:
        field, value = expected[parsed.code]
        handling = canonical["handling_items"][0]
        if field == "是否收费":
            assert (handling["fees"] != "none") == (value == "是")
        elif field in ("网上办理深度", "到现场次数"):
            assert handling[ROW_COLUMNS[field].key] == int(value)
        else:
            column = ROW_COLUMNS[field]
            owner = handling if column in HANDLING_COLUMNS else canonical
            read = owner["result"]["type"] if column.key == "result.type" else owner[column.key]
            labels = [column.enum(v).label for v in (read if column.many else [read])]
            assert labels == [value]
    (first,) = [canonical for parsed, canonical in plan.new if parsed.code == "V-1"]
    read = first["handling_items"][0]["materials"]
    assert len(read) == len(material_expected)
    for material, (field, value) in zip(read, material_expected, strict=True):
        enum: type[LabelledEnum] = MATERIAL_BY_FIELD[field].enum
        assert enum(material[MATERIAL_BY_FIELD[field].key]).label == value


def test_a_list_too_long_for_the_formula_goes_on_a_hidden_sheet(monkeypatch):
    long = [f"很长的选项名称第{n}个" for n in range(40)]
    real = import_template.choices()
    monkeypatch.setattr(import_template, "choices", lambda: {**real, "事项类型": long})
    content = template_xlsx()
    book = book_of(content)
    assert book[OPTIONS_SHEET].sheet_state == "hidden"
    assert list_validations(book, ITEM_SHEET)["事项类型"][0] == long
    rows, _materials = read_file("template.xlsx", content)  # the options sheet is not a table
    assert rows.sheet == ITEM_SHEET


def test_the_instructions_name_every_required_column_and_the_formats():
    book = book_of(template_xlsx())
    rows = list(book[INSTRUCTIONS_SHEET].iter_rows(values_only=True))
    text = "\n".join(" ".join(str(cell) for cell in row if cell) for row in rows)
    marked = {row[0] for row in rows if len(row) > 1 and row[1] == "必填"}
    for field in (*REQUIRED[HANDLING], *REQUIRED[MATERIALS], MATERIAL_REFERENCES[0]):
        assert header_of(field) in marked, field
    described = [row[0] for row in rows if row[0] in {header_of(f) for f in FIELDS[ITEM_SHEET]}]
    assert len(described) >= len(FIELDS[ITEM_SHEET])  # every column (业务办理项编码 twice)
    formats = (EXAMPLE_CODE, EXAMPLE_NAME_PREFIX, "暂未提供", "、", "无期限", "1个月", "即办",
               "｜", "受理（0）；审查（3）", str(MAX_ROWS), "5MB", "互联网受理")  # fmt: skip
    for fragment in formats:
        assert fragment in text, fragment


def test_the_template_uploaded_unchanged_is_refused_and_imports_nothing(db):
    with pytest.raises(SpreadsheetError) as caught:
        plan_of(template_xlsx())
    assert [str(p) for p in caught.value.problems] == [
        f"{ITEM_SHEET} 第2行「事项编码」：{EXAMPLE_REFUSED}"
    ]
    assert db.session.scalar(sa.select(sa.func.count(ApprovalItem.id))) == 0


def test_the_example_row_is_valid_and_whole_but_for_its_code(db):
    """With a code of its own it imports, every element provided (no gap)."""
    book = book_of(template_xlsx())
    put(book[ITEM_SHEET], 2, {"事项编码": "JT-900", "业务办理项编码": "JT-900-01"})
    put(book[MATERIAL_SHEET], 2, {"业务办理项编码": "JT-900-01"})
    plan = plan_of(saved(book))
    ((_parsed, canonical),) = plan.new
    assert canonical["name"].startswith(EXAMPLE_NAME_PREFIX)
    assert plan.gaps["JT-900"].complete and not plan.warnings
    assert len(canonical["handling_items"][0]["materials"]) == 1


def test_a_row_filled_by_hand_imports_and_imports_again_unchanged(db):
    publish(db, item_data(handling_item_data(code="A-01"), code="A", name="港口经营许可"))
    book = example_free(template_xlsx())
    put(book[ITEM_SHEET], 2, {
        "事项编码": "JT-101", "事项名称": "道路旅客运输经营许可", "事项类型": "行政许可",
        "行使层级": "市级", "服务对象": "自然人、企业法人", "办件类型": "承诺件",
        "法定时限": "2个月", "承诺时限": "1个月", "到现场次数": "0",
        "办理形式": "窗口办理、网上办理", "网上办理深度": "4", "是否收费": "否",
        "设定依据": "《中华人民共和国道路运输条例》｜第十条｜条文",
        "办理流程": "受理（0）；审查（3）",
    })  # fmt: skip
    put(book[ITEM_SHEET], 3, {"事项编码": "JT-101", "法定时限": "无期限", "承诺时限": "即办",
                              "到现场次数": "1", "办件类型": "即办件"})  # fmt: skip
    put(book[MATERIAL_SHEET], 2, {"业务办理项编码": "JT-101-02", "材料名称": "身份证明",
                                  "材料类型": "复印件", "必要性": "容缺后补"})  # fmt: skip
    content = saved(book)
    plan = plan_of(content)
    assert [parsed.code for parsed, _canonical in plan.new] == ["JT-101"]
    apply_import(plan, actor="cli", source="template.xlsx", publish=True)
    db.session.commit()
    item = current_data(db.session.scalar(sa.select(ApprovalItem).filter_by(code="JT-101")))
    first, second = item["handling_items"]
    assert (first["code"], first["statutory_days"], first["promised_days"]) == ("JT-101-01", 44, 22)
    assert (second["statutory_days"], second["promised_days"], second["visits"]) == (None, 0, 1)
    assert item["service_targets"] == ["natural_person", "enterprise"]
    assert second["materials"][0]["kind"] == "copy"
    assert "港口经营许可" not in str(item)
    again = plan_of(content)
    assert again.unchanged == ["JT-101"] and not again.new and not again.changed


def test_the_template_is_the_same_whatever_the_catalog_holds(db):
    def cells(content: bytes):
        book = book_of(content)
        return {s.title: list(s.iter_rows(values_only=True)) for s in book.worksheets}

    empty = cells(template_xlsx())
    publish(db, item_data(handling_item_data(code="A-01"), code="A", name="港口经营许可"))
    assert cells(template_xlsx()) == empty
    assert "港口经营许可" not in str(empty)
