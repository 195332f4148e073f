"""The staff item list in real headless Chromium: a table at 1280 px, labelled cards at 390 px,
and no sideways scroll at either; the filter form and the pager work without JavaScript.
Screenshots: /tmp/h8-list-{390,1280}.png (the first screen), -full.png, -pager.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from catalog.accounts import create_user
from catalog.drafts import editable_version
from catalog.operations import items as operations
from tests.browser import chromium_page, live_server, sign_in_page
from tests.factories import handling_item_data, item_data, publish
from tests.staff.conftest import PASSWORD

pytestmark = pytest.mark.browser
SCREENSHOTS = Path("/tmp")
WIDTHS = {390: {"width": 390, "height": 844}, 1280: {"width": 1280, "height": 900}}
LONG_NAME = "道路旅客运输经营许可（班车客运、包车客运、旅游客运）新增客运班线及变更经营范围"


@pytest.fixture
def list_catalog(db):
    """120 items with long names, some without a unit or lacking an element, one returned to
    its editor with a long note, and an editor."""
    publish(
        db,
        *(
            item_data(
                handling_item_data(code=f"T-{n:03}-01", online_depth=None if n % 9 == 0 else 4),
                code=f"T-{n:03}",
                name=f"{LONG_NAME}{n}",
                handling_unit=None if n % 10 == 0 else "道路运输管理科（运输服务科）",
                type="licence" if n % 4 else "confirmation",
            )
            for n in range(120)
        ),
    )
    back = operations.create_item(
        item_data(code="R-1", name="退回修改的新事项"), actor="tester", reason="新建"
    )
    operations.submit(back, actor="tester", expected_version=editable_version(back))
    operations.return_to_editor(
        back, actor="reviewer", expected_version=editable_version(back), note="请补充" * 30
    )
    create_user("editor1", PASSWORD, "editor")
    db.session.commit()


def _overflow(page: Page) -> int:
    """How many pixels the document is wider than the viewport (0: no sideways scroll)."""
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def test_a_table_at_1280_and_labelled_cards_at_390_without_sideways_scroll(app, list_catalog):
    with live_server(app) as base_url, chromium_page(viewport=WIDTHS[1280]) as page:
        sign_in_page(page, base_url, "editor1", PASSWORD)
        for width, viewport in WIDTHS.items():
            page.set_viewport_size(viewport)
            for path in ("/staff/", "/staff/?review=returned", "/staff/?unit=暂未提供&gaps=1"):
                page.goto(base_url + path)
                assert _overflow(page) <= 0, (width, path)
            page.goto(base_url + "/staff/")
            page.screenshot(path=str(SCREENSHOTS / f"h8-list-{width}.png"))  # the first screen
            page.screenshot(path=str(SCREENSHOTS / f"h8-list-{width}-full.png"), full_page=True)
            page.locator(".pager").scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOTS / f"h8-list-{width}-pager.png"))
            row = page.locator("table.item-list tbody tr").first
            display = row.evaluate("row => getComputedStyle(row).display")
            label = (
                row.locator("td")
                .nth(1)
                .evaluate("cell => getComputedStyle(cell, '::before').content")
            )
            if width == 390:  # a card: each cell says what it is
                assert display == "block" and label == '"名称"'
            else:
                assert display == "table-row" and label in ("none", "normal")
            expect(page.locator("table.item-list tbody tr")).to_have_count(50)
            height = page.evaluate("document.documentElement.scrollHeight")
            assert height < 29692 / 2, height  # one page, not the 190 rows of before


def test_the_filters_and_the_pager_work_without_javascript(app, list_catalog):
    options = {"viewport": WIDTHS[390], "java_script_enabled": False}
    with live_server(app) as base_url, chromium_page(**options) as page:
        sign_in_page(page, base_url, "editor1", PASSWORD)
        page.get_by_label("编码或名称").fill("T-0")
        page.get_by_label("类型").select_option(label="行政许可")
        page.get_by_label("只看要素不全的").check()
        page.get_by_role("button", name="筛选").click()
        gaps_licences = [n for n in range(100) if n % 4 and (n % 9 == 0 or n % 10 == 0)]
        expect(page.locator("caption")).to_have_text(f"共 {len(gaps_licences)} 项")
        page.get_by_label("类型").select_option("")
        page.get_by_label("只看要素不全的").uncheck()
        page.get_by_role("button", name="筛选").click()
        expect(page.locator("caption")).to_have_text("共 100 项，本页第 1–50 项")
        page.get_by_role("link", name="下一页").click()
        expect(page.locator("caption")).to_have_text("共 100 项，本页第 51–100 项")
        expect(page.get_by_label("编码或名称")).to_have_value("T-0")
        codes = page.locator('td[data-label="编码"] a').all_inner_texts()
        assert codes == [f"T-{n:03}" for n in range(50, 100)]
        page.get_by_role("link", name="上一页").click()
        expect(page.locator("caption")).to_have_text("共 100 项，本页第 1–50 项")
