"""The portal's frame and wording: the header menu on every page, the home page's type cards, the
results header, the guide's compression sentence, titles without a repeated situation, and the
数据接口 page."""

from __future__ import annotations

import re

import pytest

from catalog.templating import names_situation, with_situation
from tests.factories import handling_item_data, item_data, publish

MENU = re.compile(r'<nav class="site-nav" aria-label="网站栏目">(.*?)</nav>', re.S)


@pytest.fixture
def catalog(db):
    """Two licences (one split into 新办 and 变更), one confirmation; a name that already ends
    with its situation; a handling item promising its whole statutory limit."""
    publish(
        db,
        item_data(
            handling_item_data(code="L-01", situation="新办"),
            handling_item_data(code="L-02", situation="变更"),
            code="L",
            name="道路货物运输经营许可",
        ),
        item_data(
            handling_item_data(code="V-01", situation="变更", statutory_days=30, promised_days=30),
            code="V",
            name="港口经营许可（变更）",
        ),
        item_data(code="C", name="船员证书确认", type="confirmation"),
    )


def menu(page: str) -> dict[str, str | None]:
    """The header menu's links: label -> its aria-current value (None when not current)."""
    found = MENU.search(page)
    assert found, "no header menu"
    links = re.findall(r'<a href="([^"]+)"(?: aria-current="(\w+)")?>([^<]+)</a>', found.group(1))
    return {label: current or None for _href, current, label in links}


@pytest.mark.parametrize(
    ("path", "current"),
    [
        ("/", {"首页": "page"}),
        ("/items", {"事项查询": "page"}),
        ("/items/L", {"事项查询": "true"}),
        ("/handling/L-01/notice", {"事项查询": "true"}),
        ("/reports", {"改革指标报告": "page"}),
        ("/reports/items?measure=all", {"改革指标报告": "true"}),
        ("/api/v1/", {"数据接口": "page"}),
        ("/no-such-page", {}),
        ("/staff/login", {}),
    ],
)
def test_every_page_has_the_header_menu_with_its_section_marked(client, catalog, path, current):
    page = client.get(path).get_data(as_text=True)
    links = menu(page)
    assert list(links) == ["首页", "事项查询", "改革指标报告", "数据接口"]
    assert {label: value for label, value in links.items() if value} == current


def test_the_menu_links_reach_their_pages(client, catalog):
    page = client.get("/").get_data(as_text=True)
    hrefs = re.findall(r'<a href="([^"]+)"', MENU.search(page).group(1))
    assert [client.get(href).status_code for href in hrefs] == [200, 200, 200, 200]


def test_home_type_cards_link_to_their_lists_and_count_items_and_handling_items(client, catalog):
    page = client.get("/").get_data(as_text=True)
    card = re.search(r'<a href="(/items\?type=licence)">(.*?)</a>', page, re.S)
    assert card, "the licence card is not a link to its list"
    text = " ".join(re.sub(r"<[^>]+>", " ", card.group(2)).split())
    assert text == "行政许可 2 项事项 共 3 个业务办理项"
    listed = client.get(card.group(1)).get_data(as_text=True)
    assert "行政许可 2 项事项，共 3 个业务办理项" in listed


def test_a_searched_list_counts_handling_items_only(client, catalog):
    page = client.get("/items?q=许可&type=licence").get_data(as_text=True)
    assert re.search(r'<h2 id="results-heading">共 3 个业务办理项</h2>', page)


def test_the_guide_says_nothing_of_compression_when_promise_equals_the_limit(client, catalog):
    same = client.get("/items/V").get_data(as_text=True)
    assert "与法定时限相同" in same and "压缩 0.00%" not in same
    compressed = client.get("/items/L").get_data(as_text=True)
    assert "比法定时限压缩 75.00%" in compressed and "与法定时限相同" not in compressed


def test_titles_do_not_repeat_a_situation_the_name_already_ends_with(client, catalog):
    notice = client.get("/handling/V-01/notice").get_data(as_text=True)
    assert "<title>一次性告知单：港口经营许可（变更） -" in notice
    assert "（变更）（变更）" not in notice
    other = client.get("/handling/L-02/notice").get_data(as_text=True)
    assert "<title>一次性告知单：道路货物运输经营许可（变更） -" in other
    results = client.get("/items?q=港口经营").get_data(as_text=True)
    assert '<span class="situation">' not in results


@pytest.mark.parametrize(
    ("name", "situation", "title", "named"),
    [
        ("港口经营许可（变更）", "变更", "港口经营许可（变更）", True),
        ("港口经营许可(变更)", "变更", "港口经营许可(变更)", True),
        ("港口经营许可（变更） ", " 变更 ", "港口经营许可（变更） ", True),
        ("港口经营许可", "变更", "港口经营许可（变更）", False),
        ("港口经营许可（变更）", "注销", "港口经营许可（变更）（注销）", False),
        ("客运站经营许可（变更）", "变", "客运站经营许可（变更）（变）", False),
        ("港口经营许可", None, "港口经营许可", False),
        ("港口经营许可", "  ", "港口经营许可", False),
    ],
)
def test_with_situation_appends_a_situation_once(name, situation, title, named):
    assert with_situation(name, situation) == title
    assert names_situation(name, situation) is named


def test_the_api_page_lists_every_endpoint_of_the_openapi_document(client, catalog):
    spec = client.get("/api/v1/openapi.json").get_json()
    response = client.get("/api/v1/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert f"{method.upper()} {path}" in page
            assert operation["summary"] in page
    assert (
        response.headers["Link"]
        == '</api/v1/openapi.json>; rel="alternate"; type="application/json"'
    )
