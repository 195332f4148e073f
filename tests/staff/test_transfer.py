"""Spreadsheets through the staff pages: export, template, upload, preview, apply."""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from catalog.drafts import current_data
from catalog.models import ApprovalItem, AuditEvent
from catalog.spreadsheets import (
    COMPLETENESS_HEADERS,
    EXAMPLE_CODE,
    EXPORT_ROW_HEADERS,
    ITEM_SHEET,
    export_data,
    to_csv,
)
from tests.staff.conftest import csrf_token


def upload(client, content: bytes, filename: str = "x.xlsx"):
    return client.post("/staff/import", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, "/staff/import"),
        "file": (io.BytesIO(content), filename),
    })  # fmt: skip


def changed_export(client, promised: int) -> bytes:
    book = load_workbook(io.BytesIO(client.get("/staff/export.xlsx").data))
    sheet = book[ITEM_SHEET]
    sheet.cell(row=2, column=EXPORT_ROW_HEADERS.index("承诺办结时限") + 1, value=promised)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_template_has_the_headers_and_one_example_row_not_from_the_catalog(login_as, catalog_item):
    """The example is the template's own (tests/test_import_template.py), not item A."""
    book = load_workbook(io.BytesIO(login_as("editor").get("/staff/template.xlsx").data))
    rows = list(book[ITEM_SHEET].iter_rows(values_only=True))
    assert list(rows[0]) == [h for h in EXPORT_ROW_HEADERS if h not in COMPLETENESS_HEADERS]
    assert len(rows) == 2 and rows[1][0] == EXAMPLE_CODE and "港口经营许可" not in str(rows)


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


# -- what a preview keeps, and for how long (catalog.uploads) ---------------------------------


@pytest.fixture(autouse=True)
def pending_folder(app, tmp_path, monkeypatch) -> Path:
    """Each test's previews in a folder of its own (the app's is under instance/)."""
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "IMPORT_PENDING_FOLDER", str(folder))
    return folder


def stored(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.pending")) if folder.exists() else []


def apply_preview(client, preview, **fields):
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', preview.get_data(as_text=True))
    return client.post("/staff/import/apply", data={
        "csrf_token": csrf_token(client, "/staff/import"), "token": token.group(1), **fields,
    })  # fmt: skip


def assert_asked_to_upload_again(response) -> None:
    assert response.status_code == 410
    assert "预览已失效" in response.get_data(as_text=True)
    assert "请重新上传文件" in response.get_data(as_text=True)


def test_many_uploads_keep_a_few_small_previews(app, login_as, catalog_item, pending_folder):
    editor = login_as("editor")
    content = changed_export(editor, 3)
    for _ in range(4):  # a session keeps its latest preview only
        assert upload(editor, content).status_code == 200
    assert len(stored(pending_folder)) == 1
    for client in [login_as("editor") for _ in range(5)]:  # five more tabs or browsers
        assert upload(client, content).status_code == 200
    previews = stored(pending_folder)
    assert len(previews) == app.config["IMPORT_PENDING_PER_ACCOUNT"] == 3
    sizes = [path.stat().st_size for path in previews]
    assert max(sizes) < len(content) and sum(sizes) <= app.config["IMPORT_PENDING_TOTAL_BYTES"]


def test_the_oldest_preview_goes_first_and_asks_to_upload_again(
    login_as, catalog_item, pending_folder
):
    clients = [login_as("editor") for _ in range(4)]
    content = changed_export(clients[0], 3)
    previews = [upload(client, content) for client in clients]  # three kept an account
    assert_asked_to_upload_again(apply_preview(clients[0], previews[0]))
    assert apply_preview(clients[3], previews[3]).status_code == 302
    assert_asked_to_upload_again(apply_preview(clients[3], previews[3]))  # applied: gone


def test_the_total_budget_evicts_the_oldest_of_any_account(
    app, login_as, accounts, catalog_item, pending_folder, monkeypatch
):
    editor, reviewer, admin = (login_as(role) for role in ("editor", "reviewer", "admin"))
    content = changed_export(editor, 3)
    first = upload(editor, content)
    [kept] = stored(pending_folder)
    monkeypatch.setitem(app.config, "IMPORT_PENDING_TOTAL_BYTES", kept.stat().st_size * 5 // 2)
    upload(reviewer, content)
    last = upload(admin, content)
    owners = sorted(int(path.name.split(".")[0]) for path in stored(pending_folder))
    assert owners == sorted([accounts["reviewer"].id, accounts["admin"].id])
    assert_asked_to_upload_again(apply_preview(editor, first))
    assert apply_preview(admin, last).status_code == 302


def test_a_stale_preview_asks_to_upload_again_and_goes(login_as, catalog_item, pending_folder):
    editor, other = login_as("editor"), login_as("editor")
    preview = upload(editor, changed_export(editor, 3))
    [path] = stored(pending_folder)
    then = time.time() - 3601
    os.utime(path, (then, then))
    assert_asked_to_upload_again(apply_preview(editor, preview))
    upload(other, changed_export(other, 4))
    assert path not in stored(pending_folder) and len(stored(pending_folder)) == 1


def test_a_preview_too_large_to_keep_is_refused(
    app, login_as, catalog_item, pending_folder, monkeypatch
):
    monkeypatch.setitem(app.config, "IMPORT_PENDING_MAX_BYTES", 100)
    editor = login_as("editor")
    response = upload(editor, changed_export(editor, 3))
    assert response.status_code == 400 and "文件内容过多" in response.get_data(as_text=True)
    assert stored(pending_folder) == []


def test_an_import_changed_since_its_preview_gets_a_fresh_one_to_apply(
    db, login_as, catalog_item, client, pending_folder
):
    editor, reviewer = login_as("editor"), login_as("reviewer")
    preview = upload(editor, changed_export(editor, 3))
    assert apply_preview(reviewer, upload(reviewer, changed_export(reviewer, 4))).status_code == 302
    refused = apply_preview(editor, preview)
    assert refused.status_code == 409
    assert "未导入：预览之后有 1 个事项已被他人修改" in refused.get_data(as_text=True)
    assert len(stored(pending_folder)) == 1  # the fresh preview's; the refused one went
    assert apply_preview(editor, refused).status_code == 302
    db.session.expire_all()
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "A"))
    assert current_data(item)["handling_items"][0]["promised_days"] == 3  # the file won


# -- how often, and under what name ---------------------------------------------------------------


def test_uploads_are_limited_per_account(app, login_as, catalog_item, pending_folder, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_UPLOAD_LIMIT", "2 per hour")
    editor, again = login_as("editor"), login_as("editor")
    content = changed_export(editor, 3)
    assert [upload(editor, content).status_code for _ in range(2)] == [200, 200]
    for client in (editor, again):  # another session of the same account
        refused = upload(client, content)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert "每个账号每小时最多上传 2 次" in refused.get_data(as_text=True)
    assert len(stored(pending_folder)) == 1
    assert upload(login_as("reviewer"), content).status_code == 200


# (A line break cannot reach the form: it would end the multipart header; no file arrives.)
@pytest.mark.parametrize(
    "name", ["x\x00.xlsx", "\x1b[31m.xlsx", "a\x7fb.xlsx", "a\x85b.xlsx", "长" * 252 + ".xlsx"]
)
def test_a_file_name_with_control_characters_or_too_long_is_refused(
    db, login_as, catalog_item, pending_folder, name
):
    editor = login_as("editor")
    response = upload(editor, changed_export(editor, 3), filename=name)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "文件名不能包含控制字符" in page or "文件名不能超过255个字符" in page
    assert stored(pending_folder) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 1  # seed's


def test_the_audit_trail_names_the_file_without_its_folders(db, login_as, catalog_item):
    editor = login_as("editor")
    preview = upload(editor, changed_export(editor, 3), filename="桌面/导入/事项 2026.xlsx")
    assert apply_preview(editor, preview).status_code == 302
    reasons = db.session.scalars(sa.select(AuditEvent.reason).order_by(AuditEvent.id)).all()
    assert reasons[-1] == "导入 事项 2026.xlsx"


CSV_CHANGES = {
    "CR line ends": (lambda text: text.replace("\r\n", "\r"), 200, "未变 1 项"),
    # 140 KB: the test client spools a body over 500 KB to a temporary file it leaves open
    "a cell past the csv module's limit": (
        lambda text: text.replace("港口经营许可", "x" * 140_000, 1),
        400,
        "第2行「事项名称」：超过 32767 个字符",
    ),
    "a NUL in a cell": (
        lambda text: text.replace("港口经营许可", "港口\x00经营许可", 1),
        400,
        "第2行「事项名称」：不能包含控制字符",
    ),
}


@pytest.mark.parametrize(("change", "status", "fragment"), CSV_CHANGES.values(), ids=CSV_CHANGES)
def test_csv_uploads_are_read_or_refused_with_the_cell_named(
    login_as, catalog_item, change, status, fragment
):
    """The first two were a 500 (the csv module's error); the NUL went on to the database."""
    items, _materials = to_csv(export_data())
    response = upload(login_as("editor"), change(items).encode("utf-8"), "x.csv")
    page = response.get_data(as_text=True)
    assert response.status_code == status
    assert fragment in page and "Traceback" not in page
