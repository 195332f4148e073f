"""Public pages of a published item that lacks every element it may lack (catalog.elements):
each gap shows 暂未提供, never an empty heading or "None"."""

from __future__ import annotations

import copy
import csv
import io
import re
from html.parser import HTMLParser

import pytest

from catalog.elements import HANDLING_ELEMENTS, ITEM_ELEMENTS, NOT_PROVIDED
from tests.factories import REQUIRED_ONLY, item_data, publish

CODE = REQUIRED_ONLY["code"]
HANDLING_CODE = REQUIRED_ONLY["handling_items"][0]["code"]
NAME = REQUIRED_ONLY["name"]
# The situation titles its handling item's section; without one the item name does (below).
LABELLED = [
    element.label for element in (*ITEM_ELEMENTS, *HANDLING_ELEMENTS) if element.key != "situation"
]
BLOCKS = {"h1", "h2", "h3", "p", "dt", "dd", "li", "caption", "th", "td", "tr", "section"}


class _Text(HTMLParser):
    """A page's visible text, one line per block element."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        self.skipping += tag in ("script", "style", "title")
        if tag in BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        self.skipping -= tag in ("script", "style", "title")
        if tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def page_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def says_not_provided(text: str, label: str) -> bool:
    """Whether the label is followed by 暂未提供: as its own line (a heading or a term) or
    inline ("label：暂未提供")."""
    return re.search(rf"(^|\n|（){re.escape(label)}(\n|：){NOT_PROVIDED}", text) is not None


@pytest.fixture
def sparse(db):
    """The item with only what the ratios read, published; and a complete one beside it."""
    publish(db, copy.deepcopy(REQUIRED_ONLY), item_data(code="FULL", name="港口经营许可"))


def test_the_guide_shows_not_provided_for_every_missing_element(client, sparse):
    response = client.get(f"/items/{CODE}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = page_text(html)
    missing = [label for label in LABELLED if not says_not_provided(text, label)]
    assert not missing, text
    assert "None" not in html
    # a handling item without its situation is titled by the item name alone
    section = re.search(rf'<h2 id="h-{HANDLING_CODE}">(.*?)</h2>', html).group(1)
    assert section == NAME
    # a fee not provided is not 不收费, an online depth not provided is no online service
    assert "不收费" not in text and "级：" not in text


def test_a_complete_guide_says_not_provided_nowhere(client, sparse):
    text = page_text(client.get("/items/FULL").get_data(as_text=True))
    assert NOT_PROVIDED not in text
    assert "办理情形：新办" in text and "不收费" in text and "4级：互联网受理" in text


def test_the_notice_and_the_deadline_page_show_the_gaps(client, sparse):
    response = client.get(f"/handling/{HANDLING_CODE}/notice")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = page_text(html)
    assert "None" not in html and "不收费" not in text
    for label in ("办理情形", "是否收费", "申请材料", "办理地点", "办理时间", "咨询方式",
                  "监督投诉方式", "必须现场办理原因说明"):  # fmt: skip
        assert says_not_provided(text, label), (label, text)

    response = client.get(f"/handling/{HANDLING_CODE}/deadline?date=2026-09-30")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "None" not in html and f'<p class="lead">{NAME}</p>' in html


def test_search_finds_the_item_by_name_and_lists_its_gaps(client, sparse):
    response = client.get(f"/items?q={NAME}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "共 1 个业务办理项" in html and f"#{HANDLING_CODE}" in html
    assert "None" not in html
    hit = page_text(re.search(r'<li class="hit">(.*?)</li>', html, re.S).group(1))
    assert "不收费" not in hit and f"是否收费：{NOT_PROVIDED}" in hit
    assert f"承办机构：{NOT_PROVIDED}" in hit


def test_a_missing_unit_or_fee_is_no_facet_value(client, sparse):
    """The unit facet lists the named units only; 只看不收费 keeps the explicit 不收费."""
    html = client.get("/items").get_data(as_text=True)
    assert "共 2 个业务办理项" in html and "None" not in html
    units = re.search(r"<h3>承办机构</h3>(.*?)</ul>", html, re.S).group(1)
    assert "行政审批服务科" in units and NOT_PROVIDED not in units
    no_fee = client.get("/items?no_fee=1").get_data(as_text=True)
    assert "共 1 个业务办理项" in no_fee and "港口经营许可" in no_fee
    home = client.get("/")
    assert home.status_code == 200 and "None" not in home.get_data(as_text=True)


def test_the_export_leaves_missing_elements_empty(client, sparse):
    response = client.get(f"/items.csv?q={NAME}")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 1
    row = rows[0]
    assert row["业务办理项编码"] == HANDLING_CODE and row["事项名称"] == NAME
    for column in ("办理情形", "承办机构", "是否收费", "网上办理深度"):
        assert row[column] == "", column
