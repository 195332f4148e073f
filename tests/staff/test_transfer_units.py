"""The 办理窗口 sheet through the staff export and import: preview, refusals, apply, conflicts."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa
from openpyxl import load_workbook

from catalog.models import ApprovalItem, AuditEvent, Role, ServiceUnit
from catalog.operations.actor import Actor
from catalog.operations.units import find_unit, save_unit
from catalog.spreadsheets import ITEM_SHEET, UNIT_COLUMNS, UNIT_SHEET
from tests.staff.conftest import csrf_token
from tests.staff.test_transfer import upload

HEADERS = [column.header for column in UNIT_COLUMNS]
REVIEWER = Actor("reviewer1", Role.reviewer)


def add_window(db, name="运输服务科", **fields):
    data = {"name": name, "address": "政务服务中心 3 号窗口", "phone": "12328"} | fields
    save_unit(data, actor=REVIEWER, reason="测试", expected_version=None)
    db.session.commit()


def edited_export(client, edit) -> bytes:
    book = load_workbook(io.BytesIO(client.get("/staff/export.xlsx").data))
    edit(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def apply(client, page: str):
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', page).group(1)
    data = {"csrf_token": csrf_token(client, "/staff/import"), "token": token}
    return client.post("/staff/import/apply", data=data)


def units_in_db(db) -> dict:
    return {
        u.name: (u.address, u.phone, u.version) for u in db.session.scalars(sa.select(ServiceUnit))
    }


def test_the_export_has_the_window_sheet(login_as, catalog_item, db):
    add_window(db, notes='=HYPERLINK("http://evil")')
    book = load_workbook(io.BytesIO(login_as("editor").get("/staff/export.xlsx").data))
    rows = list(book[UNIT_SHEET].iter_rows(values_only=True))
    assert (
        list(rows[0])
        == HEADERS
        == ["单位名称", "窗口地址", "咨询电话", "办公时间", "地图链接", "备注"]
    )
    assert rows[1][:3] == ("运输服务科", "政务服务中心 3 号窗口", "12328")
    assert rows[1][5].startswith("'=")  # a formula-like cell is written as text


def test_a_reviewer_previews_and_applies_window_changes(login_as, catalog_item, db):
    add_window(db)
    reviewer = login_as("reviewer")

    def edit(book):
        sheet = book[UNIT_SHEET]
        sheet.cell(row=2, column=HEADERS.index("咨询电话") + 1, value="0374-1234567")
        sheet.append(["公路管理科", None, "12328", "工作日", "https://map.example.cn/", None])

    preview = upload(reviewer, edited_export(reviewer, edit))
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "办理窗口：新增 1 个，修改 1 个，未变 0 个" in page
    assert "新增 公路管理科" in page and "咨询电话" in page and "0374-1234567" in page
    assert units_in_db(db)["运输服务科"][1] == "12328"  # a preview writes nothing
    applied = apply(reviewer, page)
    assert applied.status_code == 302
    assert "办理窗口：新增 1 个，修改 1 个" in reviewer.get("/staff/").get_data(as_text=True)
    assert find_unit("运输服务科").phone == "0374-1234567"
    assert find_unit("公路管理科").map_url == "https://map.example.cn/"
    events = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.object_type == "service_unit", AuditEvent.actor == "reviewer1",
        AuditEvent.reason == "导入 x.xlsx")).all()  # fmt: skip
    assert sorted(e.object_code for e in events) == ["公路管理科", "运输服务科"]


def test_refused_cells_are_named_and_nothing_is_imported(login_as, catalog_item, db):
    add_window(db)
    reviewer = login_as("reviewer")

    def edit(book):
        book[ITEM_SHEET].cell(row=2, column=2, value="改过的名称")  # a valid item change
        sheet = book[UNIT_SHEET]
        sheet.append(["公路管理科", None, "电话", None, "ftp://map", None])
        sheet.append(["运输服务科", None, None, None, None, None])  # twice
        sheet.append([None, "无名单位的地址", None, None, None, None])

    response = upload(reviewer, edited_export(reviewer, edit))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "办理窗口 第3行「咨询电话」：不是有效的电话号码" in page
    assert "办理窗口 第3行「地图链接」" in page
    assert "办理窗口 第4行「单位名称」：与第2行重复" in page
    assert "办理窗口 第5行「单位名称」" in page and "请填写单位名称" in page
    assert 'action="/staff/import/apply"' not in page
    assert find_unit("公路管理科") is None
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "A"))
    assert item.draft is None


def test_an_unknown_column_of_the_window_sheet_is_refused(login_as, catalog_item, db):
    editor = login_as("editor")

    def edit(book):
        book[UNIT_SHEET].cell(row=1, column=7, value="传真")

    page = upload(editor, edited_export(editor, edit)).get_data(as_text=True)
    assert "办理窗口 第1行「传真」：无法识别的列" in page


def test_an_editors_import_with_window_changes_is_refused_whole(login_as, catalog_item, db):
    add_window(db)
    editor = login_as("editor")

    def edit(book):
        book[ITEM_SHEET].cell(row=2, column=2, value="改过的名称")
        book[UNIT_SHEET].cell(row=2, column=HEADERS.index("备注") + 1, value="午休不办公")

    page = upload(editor, edited_export(editor, edit)).get_data(as_text=True)
    assert "您的账号不能导入办理窗口的修改" in page
    refused = apply(editor, page)
    assert refused.status_code == 403
    assert "只有审核人员和管理员" in refused.get_data(as_text=True)
    assert find_unit("运输服务科").notes is None
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "A"))
    assert item.draft is None  # all or nothing: the item's change is not kept either


def test_a_window_changed_after_the_preview_is_a_conflict(login_as, catalog_item, db):
    add_window(db)
    reviewer = login_as("reviewer")

    def edit(book):
        book[UNIT_SHEET].cell(row=2, column=HEADERS.index("备注") + 1, value="午休不办公")

    page = upload(reviewer, edited_export(reviewer, edit)).get_data(as_text=True)
    unit = find_unit("运输服务科")
    save_unit({"name": "运输服务科", "address": "新地址", "phone": "12328"}, actor=REVIEWER,
              reason="同时修改", expected_version=unit.version)  # fmt: skip
    db.session.commit()
    conflict = apply(reviewer, page)
    text = conflict.get_data(as_text=True)
    assert conflict.status_code == 409
    assert "预览之后有 1 个单位的办理窗口已被他人修改" in text
    assert find_unit("运输服务科").notes is None
    # the fresh preview is over what is there now: the file's address would undo theirs
    assert '<td class="old">新地址</td><td class="new">政务服务中心 3 号窗口</td>' in text
    again = apply(reviewer, text)
    assert again.status_code == 302
    db.session.rollback()  # read what the request committed, not this session's copy
    unit = find_unit("运输服务科")
    assert (unit.notes, unit.address) == ("午休不办公", "政务服务中心 3 号窗口")


def test_a_workbook_without_the_sheet_imports_as_before(login_as, catalog_item, db):
    add_window(db)
    before = units_in_db(db)
    reviewer = login_as("reviewer")

    def edit(book):
        del book[UNIT_SHEET]
        book[ITEM_SHEET].cell(row=2, column=2, value="改过的名称")

    page = upload(reviewer, edited_export(reviewer, edit)).get_data(as_text=True)
    assert "修改 1 项" in page and "办理窗口：" not in page
    assert apply(reviewer, page).status_code == 302
    assert units_in_db(db) == before
