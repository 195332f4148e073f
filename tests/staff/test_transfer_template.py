"""The import template through the staff pages: downloaded on an empty catalog, and uploaded
unchanged it is refused, naming its example row, with nothing imported."""

from __future__ import annotations

import io

import sqlalchemy as sa
from openpyxl import load_workbook

from catalog.import_template import INSTRUCTIONS_SHEET, template_xlsx
from catalog.models import ApprovalItem
from catalog.spreadsheets import EXAMPLE_CODE, ITEM_SHEET, MATERIAL_SHEET
from tests.staff.test_transfer import upload

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_an_editor_downloads_the_template_on_an_empty_catalog(login_as, db):
    assert db.session.scalar(sa.select(sa.func.count(ApprovalItem.id))) == 0
    response = login_as("editor").get("/staff/template.xlsx")
    assert response.status_code == 200 and response.mimetype == XLSX
    assert "attachment; filename=template.xlsx" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == [INSTRUCTIONS_SHEET, ITEM_SHEET, MATERIAL_SHEET]
    assert book[ITEM_SHEET]["A2"].value == EXAMPLE_CODE
    assert book[ITEM_SHEET].freeze_panes == "A2" and book[ITEM_SHEET]["A1"].font.b


def test_the_template_uploaded_unchanged_is_refused(login_as, catalog_item, db):
    editor = login_as("editor")
    response = upload(editor, template_xlsx(), "template.xlsx")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f"第2行「事项编码」：“{EXAMPLE_CODE}”是导入模板中的示例行" in page
    assert "请先删除事项表和申请材料表中的示例行" in page and "数据库未做任何修改" in page
    codes = db.session.scalars(sa.select(ApprovalItem.code)).all()
    assert codes == [catalog_item]
