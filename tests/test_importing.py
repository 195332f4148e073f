"""Spreadsheet import and export: round trip, normalisation, every kind of bad file."""

from __future__ import annotations

import io
import zipfile

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from catalog.drafts import current_data
from catalog.importing import (
    MAX_ROWS,
    SpreadsheetError,
    parse_rows,
    plan_import,
    read_file,
)
from catalog.models import ApprovalItem, AuditAction, AuditEvent, HandlingItem
from catalog.operations.imports import apply_import
from catalog.schemas import CONTROL_CHARACTERS_MESSAGE
from catalog.spreadsheet_reading import MAX_CELL_CHARS
from catalog.spreadsheets import (
    FIELD_OF_EXPORT_HEADER,
    ITEM_SHEET,
    MATERIAL_HEADERS,
    MATERIAL_SHEET,
    ROW_HEADERS,
    export_data,
    parse_limit,
    to_csv,
    to_xlsx,
)
from tests.factories import handling_item_data, item_data, publish


def plan_for(filename: str, content: bytes, materials: bytes | None = None):
    return plan_import(parse_rows(*read_file(filename, content, materials)))


def problems_of(filename: str, content: bytes, materials: bytes | None = None) -> list[str]:
    with pytest.raises(SpreadsheetError) as caught:
        plan_for(filename, content, materials)
    return [str(problem) for problem in caught.value.problems]


def workbook(rows: list[list], materials: list[list] | None = None, headers=ROW_HEADERS) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = ITEM_SHEET
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    material_sheet = book.create_sheet(MATERIAL_SHEET)
    material_sheet.append(MATERIAL_HEADERS)
    for row in materials or []:
        material_sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def exported(db):
    fee = {"name": "=工本费", "standard": "每证10元", "amount": "10", "basis": "《收费标准》"}
    publish(
        db,
        item_data(
            handling_item_data(code="A-01", fees=[fee]),
            handling_item_data(code="A-02", situation="变更", statutory_days=None),
            code="A",
            name="港口经营许可",
        ),
        item_data(code="B", name="@危险货物运输许可", type="confirmation"),
    )
    return export_data()


def example_row(exported, **changes) -> list:
    rows = load_workbook(io.BytesIO(to_xlsx(exported)), read_only=True)[ITEM_SHEET]
    values = [list(row) for row in rows.iter_rows(values_only=True)]
    row = {FIELD_OF_EXPORT_HEADER[h]: v for h, v in zip(values[0], values[1], strict=True)}
    row.update(changes)
    return [row[header] for header in ROW_HEADERS]


def test_export_then_import_changes_nothing(exported, db):
    for filename, content, materials in (
        ("c.xlsx", to_xlsx(exported), None),
        ("c.csv", to_csv(exported)[0].encode("utf-8"), to_csv(exported)[1].encode("utf-8")),
    ):
        plan = plan_for(filename, content, materials)
        assert (len(plan.new), len(plan.changed), sorted(plan.unchanged)) == (0, 0, ["A", "B"])


def test_exported_cells_are_safe_against_formulas(exported):
    sheet = load_workbook(io.BytesIO(to_xlsx(exported)))[ITEM_SHEET]
    cells = [cell.value for row in sheet.iter_rows() for cell in row]
    assert "'@危险货物运输许可" in cells
    assert "'=工本费" in cells
    assert not any(isinstance(v, str) and v.startswith(("=", "@", "+")) for v in cells)
    assert 20 in cells  # numbers stay numbers


def test_import_creates_drafts_updates_into_drafts_and_audits(exported, db):
    new_row = example_row(exported, 事项编码="C", 业务办理项编码="C-01", 事项名称="新事项")
    changed = example_row(exported, 承诺时限="3个工作日")
    plan = plan_for("x.xlsx", workbook([new_row, changed]))
    assert [p.code for p, _c in plan.new] == ["C"]
    assert [(p.code, changes) for p, _c, changes in plan.changed] == [
        ("A", {"handling_items.A-01.promised_days": (5, 3)})
    ]
    apply_import(plan, actor="wang", source="x.xlsx", publish=False)
    db.session.commit()
    new = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "C"))
    assert (new.status.value, new.draft.state.value) == ("unpublished", "draft")
    a = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "A"))
    assert a.handling_items[0].promised_days == 5  # published rows untouched
    assert current_data(a)["handling_items"][0]["promised_days"] == 3  # waiting for review
    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.actor == "wang"))
    assert set(actions) == {AuditAction.import_}


def test_import_with_publish_applies_directly(exported, db):
    new_row = example_row(exported, 事项编码="C", 业务办理项编码="C-01", 事项名称="新事项")
    plan = plan_for("x.xlsx", workbook([example_row(exported, 承诺时限=2), new_row]))
    apply_import(plan, actor="cli", source="x.xlsx", publish=True)
    db.session.commit()
    assert (
        db.session.scalar(sa.select(HandlingItem.promised_days).where(HandlingItem.code == "A-01"))
        == 2
    )
    new = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "C"))
    assert new.status.value == "published"  # a new item is published too, not left unpublished
    assert [h.status.value for h in new.handling_items] == ["published"]
    assert new.draft is None


@pytest.mark.parametrize(
    ("written", "days", "note"),
    [
        (20, 20, None),
        (20.0, 20, None),
        ("20", 20, None),
        ("20个工作日", 20, None),
        ("即办", 0, "按0个工作日计"),
        ("1个月", 22, "按22个工作日计"),
        ("2年", 500, "按500个工作日计"),
        ("15天", 15, "按15个工作日计"),
        ("无期限", None, None),
        ("无", None, None),
        (None, None, None),
    ],
)
def test_limits_are_normalised_as_staff_write_them(written, days, note):
    value, said = parse_limit(written)
    assert value == days
    assert (note is None and said is None) or note in said


def test_normalisation_is_reported(exported):
    plan = plan_for("x.xlsx", workbook([example_row(exported, 法定时限="1个月")]))
    assert any("第2行「法定时限」“1个月”按22个工作日计" in note for note in plan.notes)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"承诺时限": "2026-01-01"}, "第2行「承诺时限」：“2026-01-01”无法识别"),
        ({"办件类型": "急件"}, "第2行「办件类型」：“急件”不是有效的办件类型，可选：即办件、承诺件"),
        ({"事项类型": "01"}, None),  # national codes are accepted
        ({"办件类型": "即办", "承诺时限": 4}, "第2行「承诺时限」：即办件的承诺时限须为0"),
        ({"承诺时限": 30}, "第2行「承诺时限」：承诺时限（30个工作日）不能超过法定时限"),
        ({"网上办理深度": 9}, "第2行「网上办理深度」：须为1到7之间的整数"),
        ({"是否收费": "也许"}, "第2行「是否收费」：“也许”无效"),
        ({"业务办理项编码": "B-01"}, "第2行「业务办理项编码」：业务办理项编码 B-01 已被"),
    ],
)
def test_row_errors_name_the_row_and_column(exported, db, changes, expected):
    content = workbook([example_row(exported, **changes)])
    if expected is None:
        plan_for("x.xlsx", content)
        return
    problems = problems_of("x.xlsx", content)
    assert any(expected in problem for problem in problems), problems


def test_a_date_typed_into_a_limit_cell_is_refused(exported):
    from datetime import datetime

    problems = problems_of(
        "x.xlsx", workbook([example_row(exported, 法定时限=datetime(2026, 1, 1))])
    )
    assert any("「法定时限」：须为工作日数" in p and "不能是日期" in p for p in problems)


def test_one_bad_row_means_nothing_is_imported(exported, db):
    good = example_row(exported, 事项编码="C", 业务办理项编码="C-01", 事项名称="新事项")
    bad = example_row(exported, 事项编码="D", 业务办理项编码="D-01", 事项名称="坏事项", 承诺时限=99)
    problems_of("x.xlsx", workbook([good, bad]))
    db.session.rollback()
    assert db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "C")) is None


def test_wrong_header_and_a_file_without_materials(exported):
    headers = [h for h in ROW_HEADERS if h not in ("办理流程", "到现场次数")]
    wrong = workbook([], headers=[*headers, "备注栏"])
    assert problems_of("x.xlsx", wrong) == [
        f"{ITEM_SHEET} 第1行「备注栏」：无法识别的表头：请在映射中指定字段或忽略。",
        f"{ITEM_SHEET} 第1行：缺少必填列：到现场次数。",  # 办理流程 may be absent
    ]
    # the materials sheet may be left out (as a CSV's): the materials stay as they are
    book = Workbook()
    book.active.title = ITEM_SHEET
    book.active.append(ROW_HEADERS)
    book.active.append(example_row(exported))
    buffer = io.BytesIO()
    book.save(buffer)
    plan = plan_for("x.xlsx", buffer.getvalue())
    assert (len(plan.new), len(plan.changed), plan.unchanged) == (0, 0, ["A"])


def test_material_rows_must_name_a_known_handling_item(exported):
    content = workbook(
        [example_row(exported)],
        materials=[["NOPE-01", "申请表", "原件", "纸质", 1, "必要", "申请人自备", None]],
    )
    assert any("申请材料 第2行「业务办理项编码」" in p for p in problems_of("x.xlsx", content))


@pytest.mark.parametrize(
    ("filename", "content", "fragment"),
    [
        ("x.xlsx", b"not a zip at all", "不是有效的 xlsx 文件"),
        ("x.pdf", b"%PDF-1.4", "只支持 .xlsx 和 .csv"),
        ("x.csv", b"\xff\xfe\x00\xd8garbage\x81", "无法识别文件编码"),
        ("x.xlsx", b"PK" + b"\x00" * 10, "不是有效的 xlsx 文件"),
    ],
)
def test_files_that_are_not_spreadsheets(filename, content, fragment):
    assert any(fragment in p for p in problems_of(filename, content))


def test_a_zip_bomb_is_refused_before_unpacking():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (60 * 1024 * 1024))
    assert len(buffer.getvalue()) < 1024 * 1024  # small on disk, huge unpacked
    assert any("解压后过大" in p for p in problems_of("x.xlsx", buffer.getvalue()))


def test_an_xml_entity_attack_is_refused(exported):
    content = to_xlsx(exported)
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/workbook.xml":
                bomb = (
                    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
                    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
                )
                body = data.split(b"?>", 1)[1] if data.startswith(b"<?xml") else data
                data = bomb + body
            target.writestr(info, data)
    assert any("无法读取该 xlsx 文件" in p for p in problems_of("x.xlsx", buffer.getvalue()))


def test_too_many_rows_is_refused(exported):
    header = ",".join(ROW_HEADERS) + "\n"
    content = (header + "A\n" * (MAX_ROWS + 1)).encode("utf-8")
    assert any(f"行数超过上限 {MAX_ROWS} 行" in p for p in problems_of("x.csv", content))


def test_gb18030_csv_from_chinese_excel_is_read(exported):
    rows, materials = to_csv(exported)
    plan = plan_for(
        "x.csv",
        rows.lstrip("\ufeff").encode("gb18030"),
        materials.lstrip("\ufeff").encode("gb18030"),
    )
    assert sorted(plan.unchanged) == ["A", "B"]


def test_the_seed_round_trips_through_excel(seeded, db):
    plan = plan_for("all.xlsx", to_xlsx(export_data()))
    assert (len(plan.new), len(plan.changed), len(plan.unchanged)) == (0, 0, 190)


def test_an_import_never_deletes(exported, db):
    """A file with one row of item A (and no material rows) leaves A-02 and the materials."""
    plan = plan_for("x.xlsx", workbook([example_row(exported, 承诺时限=4)]))
    apply_import(plan, actor="cli", source="x.xlsx", publish=True)
    db.session.commit()
    a = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "A"))
    assert [h.code for h in a.handling_items] == ["A-01", "A-02"]
    assert [m.name for m in a.handling_items[0].materials] == ["申请表", "营业执照"]
    assert a.handling_items[0].promised_days == 4


def test_csv_with_the_old_mac_line_ends_round_trips(exported):
    """CR alone ends each line (classic Mac editors); the cells' own line breaks stay."""
    items, materials = (text.replace("\r\n", "\r").encode("utf-8") for text in to_csv(exported))
    assert sorted(plan_for("c.csv", items, materials).unchanged) == ["A", "B"]


def test_a_nul_in_a_csv_cell_is_refused_before_the_database_sees_it(exported):
    items, materials = to_csv(exported)
    items = items.replace("港口经营许可", "港口\x00经营许可", 1).encode("utf-8")
    problems = problems_of("c.csv", items, materials.encode("utf-8"))
    assert problems == [f"{ITEM_SHEET} 第2行「事项名称」：{CONTROL_CHARACTERS_MESSAGE}"]


def test_the_command_line_refuses_an_over_long_csv_cell_naming_it(cli, exported, tmp_path):
    items = tmp_path / "items.csv"
    items.write_text(to_csv(exported)[0].replace("港口经营许可", "长" * 200_000, 1), "utf-8")
    result = cli.invoke(args=["import-items", str(items)])
    assert result.exit_code == 1
    assert f"{ITEM_SHEET} 第2行「事项名称」：超过 {MAX_CELL_CHARS} 个字符" in result.output
    assert "Traceback" not in result.output
