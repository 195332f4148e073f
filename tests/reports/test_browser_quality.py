"""The report's data-quality section in real headless Chromium, on a phone and a desktop."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from catalog.services import create_item
from tests.browser import chromium_page, live_server
from tests.factories import publish
from tests.reports.test_quality import HAND, HAND_OUT_OF_SCOPE

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [390, 1280], ids=["phone", "desktop"])
def test_the_data_quality_section_fits_and_links_to_its_lists(app, db, width):
    publish(db, *HAND)
    create_item(HAND_OUT_OF_SCOPE)
    db.session.commit()
    with (
        live_server(app) as base,
        chromium_page(viewport={"width": width, "height": 800}) as page,
    ):
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(base + "/reports")
        section = page.locator("section.data-quality")
        assert "要素完整率" in section.inner_text() and "20.00%" in section.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        section.scroll_into_view_if_needed()
        section.screenshot(path=f"/tmp/h3-quality-{width}.png")
        section.get_by_role("link", name=re.compile(r"^要素完整率 20\.00%")).click()
        page.wait_for_url(re.compile(r"/reports/items\?measure=complete"))
        assert "共 1 个业务办理项" in page.locator("p.lead").inner_text()
        page.go_back()
        section.get_by_role("row", name=re.compile("^实施主体")).get_by_role("link").click()
        page.wait_for_url(re.compile(r"measure=missing\.implementing_body"))
        expect(page.locator("tbody tr")).to_have_count(2)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert not errors
