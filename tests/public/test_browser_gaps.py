"""The guide of an item lacking every element it may lack, in real headless Chromium: 暂未提供
shows where each is missing, and the page fits a phone."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from playwright.sync_api import expect

from catalog.elements import NOT_PROVIDED
from tests.browser import chromium_page, live_server
from tests.factories import REQUIRED_ONLY, publish

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.mark.parametrize("width", [390, 1280], ids=["phone", "desktop"])
def test_the_guide_of_an_item_with_gaps_fits_and_says_not_provided(app, db, backend, width):
    publish(db, copy.deepcopy(REQUIRED_ONLY))
    with (
        live_server(app) as base_url,
        chromium_page(viewport={"width": width, "height": 800}) as page,
    ):
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        response = page.goto(f"{base_url}/items/{REQUIRED_ONLY['code']}")
        assert response.status == 200
        expect(page.get_by_role("heading", level=1)).to_have_text(REQUIRED_ONLY["name"])
        gaps = page.locator(".not-provided")
        expect(gaps).to_have_count(19)  # every element but the situation, which the name replaces
        assert gaps.first.is_visible() and gaps.first.inner_text() == NOT_PROVIDED
        # told apart from a value: the muted colour of the stylesheet
        colour = gaps.first.evaluate("node => getComputedStyle(node).color")
        assert colour == "rgb(74, 80, 88)"
        assert "None" not in page.locator("main").inner_text()
        # nothing scrolls sideways
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert errors == []
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"guide-gaps-{backend}-{width}.png", full_page=True)
