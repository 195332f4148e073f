"""The import page's mapping step in real headless Chromium, at 1280 and 390 px: a bureau's
workbook with columns nothing recognises is uploaded, each is shown with its letter and the
first values under it, mapped with the select, previewed (the mapping to be saved once
imported) and applied; the page never scrolls sideways, not even for a long header without a
space. Screenshots: /tmp/h4-mapping-{width}.png (the page at the step; h4-step-{width}.png the step
alone), /tmp/h4-preview-{width}.png."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from catalog.models import ImportMapping
from tests.browser import chromium_page, live_server
from tests.staff.conftest import PASSWORD
from tests.staff.test_transfer_bureau_files import RENAMED, SOURCE
from tests.test_import_bureau_files import ITEMS, bureau_workbook

pytestmark = pytest.mark.browser
SCREENSHOTS = Path("/tmp")
LATIN = "Remarks_for_internal_use_only_" * 3  # 90 characters, no space to break at
SHEET = "附件1 政务服务事项清单 第3行"


@pytest.mark.parametrize("width", [1280, 390])
def test_the_mapping_step_maps_a_column_and_fits_the_screen(app, db, accounts, tmp_path, width):
    workbook = tmp_path / "清单.xlsx"
    workbook.write_bytes(bureau_workbook(headers=RENAMED, extra=["序号", LATIN]))
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
        expect(page.locator("#mapping-heading")).to_have_text("指定表头：3 列无法识别")
        unit = page.get_by_label(f"{SHEET} T列「受理部门」")
        expect(unit).to_be_visible()
        expect(page.locator(".column-letter").first).to_have_text("T列")
        expect(page.locator(".column-letter").first).to_be_visible()
        samples = page.locator("#" + unit.get_attribute("aria-describedby"))
        expect(samples).to_have_text("示例：" + "、".join(["行政审批科"] * 3))
        expect(samples).to_be_visible()
        expect(page.get_by_text("此列下面没有数据。").first).to_be_visible()  # 序号 is empty
        unit.select_option("承办机构")
        page.get_by_label(f"{SHEET} AF列「序号」").select_option("ignore")
        page.get_by_label(f"{SHEET} AG列「{LATIN}」").select_option("ignore")
        page.screenshot(path=SCREENSHOTS / f"h4-mapping-{width}.png", full_page=True)
        page.locator(".mapping-step").screenshot(path=SCREENSHOTS / f"h4-step-{width}.png")
        widths = [page.evaluate("[document.documentElement.scrollWidth, innerWidth]")]
        page.get_by_role("button", name="按此映射预览").click()
        expect(page.locator("#plan-heading")).to_contain_text(f"新增 {len(ITEMS)} 项")
        expect(page.get_by_text(f"映射将在导入时保存为“{SOURCE}”。")).to_be_visible()
        page.screenshot(path=SCREENSHOTS / f"h4-preview-{width}.png", full_page=True)
        widths.append(page.evaluate("[document.documentElement.scrollWidth, innerWidth]"))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportMapping)) == 0
        page.get_by_role("button", name="确认导入").click()
        expect(page.get_by_text(f"已导入：新增 {len(ITEMS)} 项")).to_be_visible()
    assert all(scroll <= inner for scroll, inner in widths), widths
    assert errors == []
    saved = db.session.scalars(sa.select(ImportMapping)).one()
    assert saved.mapping == {"受理部门": "承办机构", "序号": "ignore", LATIN: "ignore"}
