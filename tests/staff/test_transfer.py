"""Spreadsheets through the staff pages: export, template, upload, preview, apply."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook

from catalog.spreadsheets import ITEM_SHEET, ROW_HEADERS
from tests.staff.conftest import csrf_token


def upload(client, content: bytes, filename: str = "x.xlsx"):
    return client.post("/staff/import", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, "/staff/import"),
        "file": (io.BytesIO(content), filename),
    })  # fmt: skip


def changed_export(client, promised: int) -> bytes:
    book = load_workbook(io.BytesIO(client.get("/staff/export.xlsx").data))
    sheet = book[ITEM_SHEET]
    sheet.cell(row=2, column=ROW_HEADERS.index("承诺时限") + 1, value=promised)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_template_has_the_headers_and_one_example_row(login_as, catalog_item):
    book = load_workbook(io.BytesIO(login_as("editor").get("/staff/template.xlsx").data))
    rows = list(book[ITEM_SHEET].iter_rows(values_only=True))
    assert list(rows[0]) == ROW_HEADERS and len(rows) == 2


def test_upload_previews_then_applies_as_a_draft(login_as, catalog_item, client):
    editor = login_as("editor")
    preview = upload(editor, changed_export(editor, 3))
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "修改 1 项" in page and "业务办理项 A-01 · 承诺时限" in page
    assert "直接发布" not in page  # editors cannot publish an import
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', page).group(1)
    applied = editor.post(
        "/staff/import/apply",
        data={"csrf_token": csrf_token(editor, "/staff/import"), "token": token},
    )
    assert applied.status_code == 302
    assert "5 个工作日" in client.get("/items/A").get_data(as_text=True)  # draft only
    assert "待审核" in editor.get("/staff/").get_data(as_text=True)


def test_an_editor_cannot_publish_an_import_by_crafting_the_form(login_as, catalog_item):
    editor = login_as("editor")
    page = upload(editor, changed_export(editor, 3)).get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', page).group(1)
    response = editor.post(
        "/staff/import/apply",
        data={"csrf_token": csrf_token(editor, "/staff/import"), "token": token, "publish": "y"},
    )
    assert response.status_code == 403


def test_a_bad_file_shows_its_problems_and_changes_nothing(login_as, catalog_item):
    editor = login_as("editor")
    response = upload(editor, changed_export(editor, 99))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "数据库未做任何修改" in page and "第2行「承诺时限」" in page
    assert "Traceback" not in page


def test_an_oversized_upload_is_refused(login_as, catalog_item):
    # A raw body: the test client would spool a multipart one to a temporary file it never
    # closes when the app refuses the request unread.
    response = login_as("editor").post(
        "/staff/import", data=b"x" * (13 * 1024 * 1024),
        content_type="multipart/form-data; boundary=limit")  # fmt: skip
    assert response.status_code == 413
    assert "上传的内容过大" in response.get_data(as_text=True)
