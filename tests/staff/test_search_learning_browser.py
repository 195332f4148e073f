"""The failed searches and the synonym list in real headless Chromium, at 390 and 1280 px: a
citizen's search that found nothing reaches the staff list, an editor adds a synonym beside it,
and the citizen's next search finds the item; no page scrolls sideways.
Screenshots: /tmp/p7-failed-{390,1280}.png, /tmp/p7-synonyms-{390,1280}.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from catalog.accounts import create_user
from catalog.operations.synonyms import add_synonym
from tests.browser import chromium_page, live_server, sign_in_page
from tests.factories import publish_taxi_and_port
from tests.staff.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def catalog(db):
    publish_taxi_and_port(db)
    add_synonym("码头", "港口", actor="seed", in_catalog=False)
    create_user("editor1", PASSWORD, "editor")
    db.session.commit()


def _fits(page: Page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", [390, 1280])
def test_a_failed_search_becomes_a_synonym(app, catalog, width):
    with (
        live_server(app) as base_url,
        chromium_page(viewport={"width": width, "height": 900}) as page,
    ):
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(base_url + "/items?q=约车")
        expect(page.get_by_text("没有找到符合条件的事项")).to_be_visible()

        sign_in_page(page, base_url, "editor1", PASSWORD)
        page.get_by_role("link", name="未找到结果的搜索").click()
        row = page.locator("tr", has_text="约车")
        expect(row.locator("td[data-label='次数']")).to_have_text("1")
        _fits(page, width)
        page.screenshot(path=f"/tmp/p7-failed-{width}.png", full_page=True)
        page.get_by_label("“约车”对应的词").fill("网络预约出租汽车")
        row.get_by_role("button", name="添加").click()
        expect(page.get_by_text("已添加同义词“约车”→“网络预约出租汽车”")).to_be_visible()

        expect(page.locator("tr", has_text="约车")).to_have_count(0)  # handled: off the list
        page.get_by_role("navigation", name="工作台").get_by_role("link", name="同义词").click()
        expect(page.locator("td[data-label='搜索词']")).to_have_text(["码头", "约车"])
        _fits(page, width)
        page.screenshot(path=f"/tmp/p7-synonyms-{width}.png", full_page=True)

        page.goto(base_url + "/items?q=约车")
        expect(page.get_by_role("heading", level=2, name="共 1 个业务办理项")).to_be_visible()
        assert errors == []


def test_an_upload_is_previewed_then_applied_on_a_phone(app, catalog, tmp_path):
    width = 390
    good = tmp_path / "synonyms.csv"
    good.write_text("搜索词,对应的词\n码头,港口\n约车,网络预约出租汽车\n", encoding="utf-8-sig")
    bad = tmp_path / "bad.csv"
    bad.write_text("搜索词,对应的词\n码头,港口\n坐船,飞机场\n", encoding="utf-8")
    with (
        live_server(app) as base_url,
        chromium_page(viewport={"width": width, "height": 900}) as page,
    ):
        sign_in_page(page, base_url, "editor1", PASSWORD)
        page.goto(base_url + "/staff/synonyms")
        page.get_by_label("同义词文件").set_input_files(str(bad))
        page.get_by_role("button", name="上传并预览").click()
        unknown = page.get_by_role("alert").get_by_text("第 3 行：目录中找不到“飞机场”")
        expect(unknown).to_be_visible()
        expect(page.get_by_role("button", name="确认导入")).to_have_count(0)
        _fits(page, width)

        page.goto(base_url + "/staff/synonyms")
        page.get_by_label("同义词文件").set_input_files(str(good))
        page.get_by_role("button", name="上传并预览").click()
        expect(page.get_by_text("新增 1 条，删除 0 条，未变 1 条")).to_be_visible()
        _fits(page, width)
        page.screenshot(path="/tmp/p7-import-390.png", full_page=True)
        page.get_by_role("button", name="确认导入").click()
        expect(page.get_by_text("已导入：新增 1 条，删除 0 条，未变 1 条")).to_be_visible()
        expect(page.locator("td[data-label='搜索词']")).to_have_text(["码头", "约车"])
