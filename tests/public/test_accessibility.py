"""WCAG 2.1 AA checks of every public page by axe-core, in real headless Chromium."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser import chromium_page, live_server
from tests.factories import handling_item_data, item_data, publish

pytestmark = pytest.mark.browser

WCAG_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
PAGES = [
    "/",
    "/items?q=港口",
    "/items?q=没有这个事项",
    "/items?type=tax",
    "/items/P",
    "/handling/P-01/notice",
    "/handling/P-01/deadline?date=2026-09-30",
    "/handling/P-01/deadline?date=2099-01-01",
    "/no-such-page",
]


def test_public_pages_have_no_wcag_violations(app, db):
    publish(
        db,
        item_data(
            handling_item_data(code="P-01", visits=1, visit_reason="核验原件"),
            code="P",
            name="港口经营许可",
        ),
    )
    axe = Axe()
    with live_server(app) as base_url, chromium_page() as page:
        problems = {}
        for path in PAGES:
            page.goto(base_url + path)
            results = axe.run(page, options=WCAG_AA)
            if results.violations_count:
                problems[path] = [
                    (v["id"], [node["target"] for node in v["nodes"]][:3])
                    for v in results.response["violations"]
                ]
        assert problems == {}
