"""A citizen's path in real headless Chromium: search, filter, open a guide, compute the
deadline, print the one-time notice."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser import chromium_page, live_server
from tests.factories import handling_item_data, item_data, publish

pytestmark = pytest.mark.browser


@pytest.fixture
def catalog(db):
    publish(
        db,
        item_data(
            handling_item_data(code="NET-01"),
            handling_item_data(
                code="NET-02", situation="变更", case_type="instant", promised_days=0
            ),
            code="NET",
            name="网络预约出租汽车经营许可",
        ),
        item_data(
            handling_item_data(code="TAXI-01", visits=1, visit_reason="现场核验车辆"),
            code="TAXI",
            name="巡游出租汽车经营许可",
            handling_unit="城市客运科",
        ),
        item_data(code="PORT", name="港口经营许可"),
    )


def test_search_filter_guide_deadline_and_notice(app, catalog):
    with live_server(app) as base_url, chromium_page() as page:
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(base_url + "/")
        page.get_by_label("搜索事项").fill("出租")
        page.get_by_role("button", name="搜索").click()
        page.wait_for_url(re.compile(r"/items\?q="))
        expect(page.get_by_role("heading", level=2, name="共 3 个业务办理项")).to_be_visible()
        assert "出租" in page.locator("mark").first.inner_text()

        page.get_by_role("link", name="不见面办理").click()
        expect(page.get_by_role("heading", level=2, name="共 2 个业务办理项")).to_be_visible()
        expect(page.locator(".hit")).to_have_count(2)

        page.locator(".hit-title", has_text="网络预约出租汽车经营许可").first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("网络预约出租汽车经营许可")
        section = page.locator("section#NET-01")
        assert "申请表" in section.locator("table.materials").inner_text()

        section.get_by_label("申请日期").fill("2026-09-30")
        section.get_by_role("button", name="计算办结日期").click()
        # 5 working days after 09-30: 10-08, 10-09, 10-10 (a worked Saturday), 10-12, 10-13.
        assert page.locator("dd.promised").inner_text().startswith("2026-10-13")
        expect(page.locator(".estimate-notice")).to_have_count(0)

        # past the holiday calendar (it ends with 2026) the dates are marked as estimates
        page.get_by_label("申请日期").fill("2027-03-01")
        page.get_by_role("button", name="计算办结日期").click()
        assert page.locator("dd.promised").inner_text().startswith("2027-03-08")
        expect(page.locator("dd.promised .estimated")).to_be_visible()
        expect(page.locator(".estimate-notice")).to_be_visible()

        page.goto(base_url + "/handling/NET-01/notice")
        page.emulate_media(media="print")
        assert page.locator(".site-header").is_hidden()
        pdf = page.pdf(format="A4", print_background=True)
        assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1  # the checklist fits one A4 page
        assert errors == []


def test_results_page_works_on_a_phone_without_sideways_scrolling(app, catalog):
    with (
        live_server(app) as base_url,
        chromium_page(viewport={"width": 375, "height": 740}) as page,
    ):
        page.goto(base_url + "/items?q=许可")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.goto(base_url + "/items/NET")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
