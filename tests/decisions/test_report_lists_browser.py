"""The 双公示 report's bounded lists in Chromium, on SQLite and PostgreSQL: with more late
decisions and items without than the report lists, a visitor opens the items-without summary,
follows 查看全部 to the paged page of every such item, turns its pages to the last one and
back, and the late list's 查看全部 opens the public list of the late ones; nothing scrolls
sideways at 1280 or 390 px (screenshots in /tmp/decreport when that folder exists)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect

from catalog.decisions import listing, operations, report
from catalog.enums import Status
from catalog.public import decisions as public_decisions
from catalog.services import create_item
from tests.browser import chromium_page, live_server
from tests.decisions.conftest import licence_data
from tests.factories import handling_item_data, item_data

pytestmark = pytest.mark.usefixtures("catalog_items", "periods")
SHOTS = Path("/tmp/decreport")


@pytest.fixture
def long_lists(db, monkeypatch):
    monkeypatch.setattr(report, "LIST_LIMIT", 2)
    monkeypatch.setattr(public_decisions, "ITEMS_PER_PAGE", 2)
    monkeypatch.setattr(listing, "public_today", lambda: date(2021, 1, 15))
    for n in range(1, 4):  # three late licences
        operations.create_licence(
            licence_data(document_number=f"许交运许〔2020〕{n}号", published_on=date(2020, 7, n)),
            actor="t",
        )  # fmt: skip
    for n in range(2, 7):  # five licence items with none
        create_item(item_data(handling_item_data(code=f"L-{n}-01"), code=f"L-{n}",
                              name=f"道路运输许可事项{n}"), status=Status.published)  # fmt: skip
    db.session.commit()


@pytest.mark.parametrize("width", [1280, 390])
def test_a_visitor_reads_every_item_without_a_decision(app, long_lists, width):
    with live_server(app) as base, chromium_page(viewport={"width": width, "height": 900}) as page:
        page.goto(base + "/reports?decisions_year=2020")
        section = page.locator("section.decisions-report")
        section.locator("details.without-decisions summary").click()
        expect(section.locator("details.without-decisions li")).to_have_count(2)
        assert page.evaluate("document.documentElement.scrollWidth") == width
        section.get_by_role("link", name="查看全部 5 个没有许可决定的事项").click()
        expect(page.locator("h1")).to_have_text("2020年没有许可决定的行政许可事项")
        seen = []
        for number in (1, 2, 3):
            expect(page.locator("p[role=status]")).to_contain_text(f"第 {number} / 3 页")
            seen += page.locator('td[data-label="事项编码"]').all_inner_texts()
            assert page.evaluate("document.documentElement.scrollWidth") == width
            if SHOTS.is_dir() and number == 1:
                page.screenshot(path=str(SHOTS / f"items-without-{width}.png"), full_page=True)
            if number < 3:
                page.get_by_role("link", name="下一页").click()
        assert seen == [f"L-{n}" for n in range(2, 7)]
        page.get_by_role("link", name="上一页").click()
        expect(page.locator("p[role=status]")).to_contain_text("第 2 / 3 页")
        page.get_by_role("link", name="返回双公示统计").click()
        expect(page.locator("section.decisions-report")).to_be_visible()
        page.locator("details.late summary").first.click()
        page.get_by_role("link", name="查看全部 3 条逾期公示的决定").click()
        page.wait_for_url(re.compile(r"/decisions\?.*late=1"))
        for n in range(1, 4):
            expect(page.locator("main")).to_contain_text(f"许交运许〔2020〕{n}号")
