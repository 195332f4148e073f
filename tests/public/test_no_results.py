"""A search that finds nothing: the nearest item names (pairs of characters, single characters,
the start of a pinyin spelling) and the list by type, in the page and on a phone in Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from catalog.search import similar_names
from tests.browser import chromium_page, live_server
from tests.factories import handling_item_data, item_data, publish_taxi_and_port


@pytest.fixture
def catalog(db):
    publish_taxi_and_port(
        db,
        item_data(handling_item_data(code="SHIP-01"), code="SHIP", name="船舶进出港报告"),
    )


@pytest.mark.parametrize(
    ("query", "names"),
    [
        # shares the pairs 港口 and 许可 with one name, 许可 with another: more shared first
        ("港口码头许可", ["港口经营许可", "网络预约出租汽车经营许可"]),
        # no pair shared: single characters, the name with both first
        ("港船", ["船舶进出港报告", "港口经营许可"]),
        ("wangluoyuyue", ["网络预约出租汽车经营许可"]),  # a Latin query's longest known start
        ("gkjyz", ["港口经营许可"]),  # initials, misspelt at the end
        ("zzz", []),
    ],
)
def test_the_nearest_names(app, db, catalog, query, names):
    assert [name for _code, name in similar_names(query)] == names


def test_the_no_results_page_links_the_nearest_names_and_the_types(client, catalog):
    page = client.get("/items?q=港口码头许可").get_data(as_text=True)
    assert "没有找到符合条件的事项" in page
    assert '<a href="/items/PORT">港口经营许可</a>' in page
    assert '<a href="/items?type=licence">行政许可</a>' in page


@pytest.mark.browser
def test_the_no_results_page_on_a_phone(app, db, catalog):
    width = 390
    with (
        live_server(app) as base_url,
        chromium_page(viewport={"width": width, "height": 800}) as page,
    ):
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{base_url}/items?q=港口码头许可证怎么办理才快")
        nearest = page.get_by_role("list", name="名称相近的事项").get_by_role("link")
        expect(nearest).to_have_text(["港口经营许可", "网络预约出租汽车经营许可"])
        expect(nearest.first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path="/tmp/no-results-390.png", full_page=True)
        page.get_by_role("link", name="行政许可", exact=True).last.click()
        page.wait_for_url(re.compile(r"/items\?type=licence"))
        expect(page.get_by_role("heading", level=2, name="共 3 个业务办理项")).to_be_visible()
        page.go_back()  # and a suggestion opens its guide
        page.get_by_role("link", name="港口经营许可").click()
        page.wait_for_url(re.compile(r"/items/PORT$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("港口经营许可")
        assert errors == []
