"""The home page in real headless Chromium: what a visitor sees, on a desktop and a phone."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from catalog.services import create_item
from tests.browser import chromium_page, live_server
from tests.factories import handling_item_data, item_data, publish_rows

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def published(db):
    publish_rows(
        create_item(
            item_data(
                handling_item_data(code="A-01", case_type="instant", promised_days=0),
                handling_item_data(code="A-02", visits=1, visit_reason="现场核验车辆"),
                code="A",
            )
        )
    )
    db.session.commit()


@pytest.mark.parametrize(
    "viewport",
    [{"width": 1280, "height": 900}, {"width": 375, "height": 740}],
    ids=["desktop", "phone"],
)
def test_home_page_shows_the_figures(app, published, backend, viewport):
    with live_server(app) as base_url, chromium_page(viewport=viewport) as page:
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        response = page.goto(base_url + "/")
        assert response.status == 200
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        expect(page.get_by_role("heading", level=1)).to_have_text("审批事项目录")
        licence = page.locator(".type-list li", has_text="行政许可")
        expect(licence.locator(".type-count")).to_have_text("1 项事项")
        row = page.get_by_role("row", name="不见面审批占比")
        assert "50.00%" in row.inner_text() and "1 / 2" in row.inner_text()
        # The stylesheet is served locally and applied (no CDN on government intranets).
        header_colour = page.locator(".site-header").evaluate(
            "node => getComputedStyle(node).backgroundColor"
        )
        assert header_colour == "rgb(11, 79, 138)"
        # The page fits the viewport: nothing scrolls sideways on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        # Keyboard users reach the skip link first.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "跳到正文"
        assert errors == []
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"home-{backend}-{viewport['width']}.png", full_page=True)
