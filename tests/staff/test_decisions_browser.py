"""A member of staff enters a licence decision in real headless Chromium (issue 24, part 5):
from the decision list to the form, a wrong credit code named beside its field, then saved and
shown whole; then a GB18030 CSV that changes it and adds another, previewed with the change
and applied; at 1280 and 390 px no staff decision page scrolls sideways. Screenshots:
/tmp/decisions-{list,form-error,record,import-spellings,import}-{1280,390}.png."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from catalog.accounts import create_user
from catalog.models import LicenceDecision
from tests.browser import chromium_page, live_server, sign_in_page
from tests.decisions.conftest import (  # noqa: F401 (fixtures)
    AUTHORITY_CODE,
    ORGANISATION_CODE,
    catalog_items,
    licence_data,
    periods,
)
from tests.staff.conftest import PASSWORD
from tests.staff.test_decision_import import csv_bytes

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("catalog_items", "periods")]
SCREENSHOTS = Path("/tmp")
WIDTHS = (1280, 390)


def fits(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= innerWidth")


def shoot(page: Page, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"decisions-{name}-{width}.png"), full_page=True)
        assert fits(page), f"{name} scrolls sideways at {width} px"
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_member_of_staff_enters_a_licence_decision(app, db):
    create_user("editor1", PASSWORD, "editor")
    db.session.commit()
    with live_server(app) as base, chromium_page(viewport={"width": 1280, "height": 900}) as page:
        sign_in_page(page, base, "editor1", PASSWORD)
        page.get_by_role("navigation", name="工作台").get_by_role("link", name="双公示决定").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("双公示决定")
        shoot(page, "list")
        page.get_by_role("link", name="录入行政许可决定").click()
        fields = {
            "document_number": "许交运许〔2020〕88号",
            "item": "L-1",
            "content": "准予从事道路普通货物运输经营。",
            "party_name": "许昌示例运输有限公司",
            "party_credit_code": ORGANISATION_CODE[:-1] + "4",  # a wrong check character
            "legal_representative": "王五",
            "decided_on": "2020-06-01",
            "valid_from": "2020-06-01",
            "authority": "许昌市交通运输局",
            "authority_credit_code": AUTHORITY_CODE,
            "data_source_unit": "行政审批服务科",
            "published_on": "2020-06-03",
        }
        for key, value in fields.items():
            page.locator(f"#{key}").fill(value)
        page.locator("#category").select_option(label="普通")
        page.locator("#party_class").select_option(label="法人及非法人组织")
        page.get_by_role("button", name="保存").click()
        error = page.locator("#error-party_credit_code")
        expect(error).to_contain_text("统一社会信用代码校验码错误")
        expect(page.locator("#party_credit_code")).to_have_attribute("aria-invalid", "true")
        shoot(page, "form-error")
        page.locator("#party_credit_code").fill(ORGANISATION_CODE)
        page.get_by_role("button", name="保存").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("许交运许〔2020〕88号")
        expect(page.locator(".notice").first).to_contain_text("已录入行政许可决定")
        expect(page.locator(".decision-record")).to_contain_text(ORGANISATION_CODE)
        shoot(page, "record")
        page.goto(base + "/staff/decisions/import")
        page.get_by_text("可识别的表头").click()
        expect(page.get_by_text("也可写作：相对人名称").first).to_be_visible()
        shoot(page, "import-spellings")
        page.locator("#kind").select_option("licence")
        # the record just entered with its 法定代表人 changed (the cells it left blank left
        # blank), and a new one
        changed = {**fields, "party_credit_code": ORGANISATION_CODE, "legal_representative": "赵六"}
        blank = dict.fromkeys(("handling_item", "certificate_name", "certificate_number"))
        rows = [
            licence_data(**changed, **blank, valid_until=None, category="ordinary",
                         party_class="organisation"),
            licence_data(),
        ]  # fmt: skip
        content = csv_bytes("licence", rows, "gb18030")
        page.locator("#file").set_input_files(
            files=[{"name": "许可.csv", "mimeType": "text/csv", "buffer": content}]
        )
        page.get_by_role("button", name="上传并预览").click()
        heading = "预览：新增 1 条，修改 1 条，未变 0 条行政许可决定"
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        change = page.get_by_role("region", name="第2行 修改 许交运许〔2020〕88号")
        expect(change.locator("tbody tr")).to_have_count(1)
        expect(change).to_contain_text("法定代表人王五赵六")
        shoot(page, "import")
        page.get_by_role("button", name="确认导入").click()
        expect(page.locator(".notice").first).to_contain_text("新增 1 条，修改 1 条")
    db.session.expire_all()
    saved = db.session.scalars(sa.select(LicenceDecision).order_by(LicenceDecision.id)).all()
    assert [(d.document_number, d.legal_representative, d.updated_by) for d in saved] == [
        ("许交运许〔2020〕88号", "赵六", "editor1"),
        ("许交运许〔2020〕1号", "王五", "editor1"),
    ]
