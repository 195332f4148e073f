"""The import page's mapping step in real headless Chromium, at 1280 and 390 px: a bureau's
workbook with a column nothing recognises is uploaded, the column is mapped with the select,
the preview follows, and the page never scrolls sideways. Screenshots: /tmp/mapping-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser import chromium_page, live_server
from tests.staff.conftest import PASSWORD
from tests.staff.test_transfer_bureau_files import SOURCE, renamed_workbook
from tests.test_import_bureau_files import ITEMS

pytestmark = pytest.mark.browser
SCREENSHOTS = Path("/tmp")


@pytest.mark.parametrize("width", [1280, 390])
def test_the_mapping_step_maps_a_column_and_fits_the_screen(app, accounts, tmp_path, width):
    workbook = tmp_path / "清单.xlsx"
    workbook.write_bytes(renamed_workbook())
    errors: list[str] = []
    with live_server(app) as base, chromium_page(viewport={"width": width, "height": 900}) as page:
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(base + "/staff/login")
        page.get_by_label("用户名", exact=True).fill("editor1")
        page.get_by_label("密码", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.goto(base + "/staff/import")
        page.locator("input[name=file]").set_input_files(str(workbook))
        page.locator("form input[name=source_name]").first.fill(SOURCE)
        page.get_by_role("button", name="上传并预览").click()
        expect(page.locator("#mapping-heading")).to_have_text("指定表头：2 列无法识别")
        page.get_by_label("附件1 政务服务事项清单 第3行「受理部门」").select_option("承办机构")
        page.get_by_label("附件1 政务服务事项清单 第3行「序号」").select_option("ignore")
        page.screenshot(path=SCREENSHOTS / f"mapping-step-{width}.png", full_page=True)
        widths = [page.evaluate("[document.documentElement.scrollWidth, innerWidth]")]
        page.get_by_role("button", name="按此映射预览").click()
        expect(page.locator("#plan-heading")).to_contain_text(f"新增 {len(ITEMS)} 项")
        expect(page.get_by_text(f"已套用来源“{SOURCE}”的表头映射，并已保存。")).to_be_visible()
        page.screenshot(path=SCREENSHOTS / f"mapping-preview-{width}.png", full_page=True)
        widths.append(page.evaluate("[document.documentElement.scrollWidth, innerWidth]"))
    assert all(scroll <= inner for scroll, inner in widths), widths
    assert errors == []
