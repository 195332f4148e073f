"""The mapping step's columns, each with its letter and the first values under it (xlsx and
CSV), headers of any length the reader accepts, and a mapping saved only when the import read
with it is applied: never by a preview that is abandoned or refused as stale."""

from __future__ import annotations

import csv
import html
import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from catalog.import_headers import MAX_HEADER_CHARS, check_mapping
from catalog.models import ApprovalItem, ImportMapping
from tests.staff.conftest import csrf_token
from tests.staff.test_transfer import apply_preview, changed_export, upload
from tests.staff.test_transfer_bureau_files import (
    apply_draft,
    apply_published,
    map_columns,
    mapping_records,
    step_columns,
    upload_as,
)
from tests.test_import_bureau_files import problems_of
from tests.test_import_required_columns import (
    HEADERS,
    ROWS,
    SHEET,
    expected_figures,
    flat_rows,
    imported_figures,
    minimal_workbook,
)

SOURCE = "某某区交通运输局 清单"
# 40 characters: more than the 30 a message shows (the page showed and saved those 30 only)
LONG = "本事项在省一体化在线政务服务平台上的实际承办机构名称（以平台登记为准）请核对清单"
WINDOW = "第一办事大厅综合受理窗口" * 4  # 48 characters: shown shortened
# Under 办理窗口: the first row empty, then three values (the last too long), then more.
WINDOWS = [None, "一号窗口", "<b>二号</b>窗口", WINDOW, "第四个值", "第五个值"]
UNKNOWN = {"办理窗口": "G", LONG: "H", "备注": "AA"}  # 备注 holds nothing
SAMPLES = {"办理窗口": ["一号窗口", "<b>二号</b>窗口", WINDOW[:29] + "…"], LONG: ["行政审批科"] * 3}
CHOICES = {"办理窗口": "ignore", LONG: "承办机构", "备注": "ignore"}


def table() -> list[list]:
    """The header row and the rows of ROWS with the three unknown columns: G, H and AA."""
    header = [*HEADERS, "办理窗口", LONG, *[""] * 18, "备注"]
    lines = zip(flat_rows(first_row_only=False), WINDOWS, strict=True)
    return [header] + [[*line, window, "行政审批科", *[""] * 18, ""] for line, window in lines]


def workbook() -> bytes:
    book = load_workbook(io.BytesIO(minimal_workbook()))
    sheet = book[SHEET]
    for row, values in enumerate(table(), 3):  # the header is row 3, below two title rows
        for column, value in enumerate(values[len(HEADERS) :], len(HEADERS) + 1):
            sheet.cell(row=row, column=column, value=value or None)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_file() -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["某市交通运输局行政权力事项清单"])
    writer.writerows(table())
    return buffer.getvalue().encode("gb18030")


def upload_csv(client, content: bytes, source_name: str = ""):
    return client.post("/staff/import", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, "/staff/import"),
        "file": (io.BytesIO(content), "清单.csv"),
        "source_name": source_name,
    })  # fmt: skip


def count_mappings(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(ImportMapping))


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_each_unknown_column_shows_its_letter_and_first_values(login_as, kind):
    editor = login_as("editor")
    response = upload_as(editor, workbook()) if kind == "xlsx" else upload_csv(editor, csv_file())
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "指定表头：3 列无法识别" in page
    sheet = SHEET if kind == "xlsx" else "事项"
    assert [(c.label, c.header, c.samples) for c in step_columns(page)] == [
        (f"{sheet} 第{3 if kind == 'xlsx' else 2}行 {letter}列「{header}」", header,
         SAMPLES.get(header, []))
        for header, letter in UNKNOWN.items()
    ]  # fmt: skip
    assert "此列下面没有数据。" in page  # 备注
    assert "&lt;b&gt;二号&lt;/b&gt;窗口" in page and "<b>二号" not in page  # escaped
    assert "第四个值" not in page  # three values only


def test_a_forty_character_header_is_mapped_and_the_import_works(app, db, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "REVIEW_FOUR_EYES", False)
    reviewer = login_as("reviewer")
    step = upload_as(reviewer, workbook(), SOURCE).get_data(as_text=True)
    assert len(LONG) == 40 and LONG in {column.header for column in step_columns(step)}
    preview = map_columns(reviewer, step, CHOICES, SOURCE)
    page = html.unescape(preview.get_data(as_text=True))
    assert preview.status_code == 200, page
    assert f"预览：新增 {len(ROWS)} 项，修改 0 项" in page
    assert apply_published(reviewer, page).status_code == 302
    assert imported_figures() == expected_figures()
    assert set(db.session.scalars(sa.select(ApprovalItem.handling_unit))) == {"行政审批科"}
    saved = db.session.scalars(sa.select(ImportMapping)).one()
    assert saved.mapping == CHOICES  # the whole header, which the next file is read with
    again = upload_as(reviewer, workbook(), SOURCE).get_data(as_text=True)
    assert "列无法识别" not in again and f"未变 {len(ROWS)} 项" in again


def test_the_csv_mapped_on_the_page_imports(db, login_as):
    editor = login_as("editor")
    step = upload_csv(editor, csv_file()).get_data(as_text=True)
    preview = map_columns(editor, step, CHOICES)
    page = html.unescape(preview.get_data(as_text=True))
    assert preview.status_code == 200, page
    assert "已按指定的表头映射读取（未填写来源名称，映射不会保存）。" in page
    assert apply_draft(editor, page).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApprovalItem)) == len(ROWS)
    assert count_mappings(db) == 0 and mapping_records(db) == []
    step = upload_csv(editor, csv_file()).get_data(as_text=True)  # the same file again
    page = html.unescape(map_columns(editor, step, CHOICES, SOURCE).get_data(as_text=True))
    assert f"未变 {len(ROWS)} 项" in page and 'action="/staff/import/apply"' not in page
    assert f"没有需要导入的内容，映射不会保存为“{SOURCE}”。" in page


def test_a_header_too_long_to_map_is_refused_naming_its_column(db, login_as):
    long = "说明" * 130
    assert len(long) > MAX_HEADER_CHARS
    content = minimal_workbook(extra={long: "x"})
    assert problems_of("x.xlsx", content) == [
        f"{SHEET} 第3行「{long[:30]}」：G列的表头超过 {MAX_HEADER_CHARS} 个字符，"
        "无法指定字段：请缩短表头后重新上传。"
    ]
    response = upload_as(login_as("editor"), content)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert f"G列的表头超过 {MAX_HEADER_CHARS} 个字符" in page and 'id="mapping-heading"' not in page
    with pytest.raises(ValueError, match=f"超过 {MAX_HEADER_CHARS} 个字符"):
        check_mapping({long: "ignore"})  # a --mapping file neither
    longest = "长" * MAX_HEADER_CHARS  # the longest accepted is mapped
    step = upload_as(login_as("editor"), minimal_workbook(extra={longest: "x"}))
    assert [column.header for column in step_columns(step.get_data(as_text=True))] == [longest]


def test_an_abandoned_preview_saves_no_mapping(db, login_as):
    editor = login_as("editor")
    step = upload_as(editor, workbook(), SOURCE).get_data(as_text=True)
    preview = map_columns(editor, step, CHOICES, SOURCE).get_data(as_text=True)
    assert f"映射将在导入时保存为“{SOURCE}”。" in html.unescape(preview)
    upload_as(editor, minimal_workbook())  # another file instead: the preview is abandoned
    assert count_mappings(db) == 0 and mapping_records(db) == []
    gone = apply_draft(editor, preview)
    assert gone.status_code == 410
    assert count_mappings(db) == 0 and mapping_records(db) == []


def test_a_stale_preview_saves_no_mapping_and_its_fresh_one_saves_it(
    app, db, login_as, monkeypatch
):
    monkeypatch.setitem(app.config, "REVIEW_FOUR_EYES", False)
    editor, reviewer = login_as("editor"), login_as("reviewer")
    first = upload_as(reviewer, minimal_workbook()).get_data(as_text=True)
    assert apply_published(reviewer, first).status_code == 302
    step = upload_as(editor, workbook()).get_data(as_text=True)
    preview = map_columns(editor, step, CHOICES, SOURCE)  # 承办机构 for every item: 修改
    assert f"修改 {len(ROWS)} 项" in preview.get_data(as_text=True)
    assert apply_preview(reviewer, upload(reviewer, changed_export(reviewer, 4))).status_code == 302
    refused = apply_draft(editor, preview.get_data(as_text=True))
    page = html.unescape(refused.get_data(as_text=True))
    assert refused.status_code == 409
    assert "未导入：预览之后有 1 个事项已被他人修改" in page
    assert count_mappings(db) == 0 and mapping_records(db) == []
    assert f"映射将在导入时保存为“{SOURCE}”。" in page  # the fresh preview carries it
    assert apply_draft(editor, page).status_code == 302
    [event] = mapping_records(db)
    assert (event.object_code, event.actor, event.action.value) == (SOURCE, "editor1", "create")
    assert db.session.scalars(sa.select(ImportMapping)).one().mapping == CHOICES


def test_a_source_name_saved_by_another_request_meanwhile_is_a_conflict(db, monkeypatch):
    """Two applies saving a new mapping under one name at once: the loser's check found no
    mapping, its INSERT meets the winner's row; a conflict (409), never a 500, and the
    transaction stays usable for the edge to roll back."""
    from catalog.domain import Conflict
    from catalog.operations import mappings

    mappings.save_mapping("某县 2026", {"受理部门": "承办机构"}, actor="editor1")
    db.session.commit()
    monkeypatch.setattr(mappings, "saved_mapping", lambda name: None)  # the race's late check
    with pytest.raises(Conflict, match="刚被其他人保存"):
        mappings.save_mapping("某县 2026", {"受理部门": "ignore"}, actor="editor2")
    db.session.rollback()
    saved = db.session.scalars(sa.select(ImportMapping)).all()
    assert [(m.source_name, m.mapping, m.updated_by) for m in saved] == [
        ("某县 2026", {"受理部门": "承办机构"}, "editor1")
    ]
