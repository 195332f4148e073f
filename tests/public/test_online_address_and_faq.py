"""The guide, the notice and their JSON twin show the online-handling address and the FAQ
(issue 23 part 2) where they are given, and nothing of them where they are not."""

from __future__ import annotations

from html import escape
from html.parser import HTMLParser

from tests.factories import SAMPLE_FAQ, SAMPLE_ONLINE_URL, handling_item_data, item_data, publish

HOSTILE_URL = 'https://x.cn/?a="><script>alert(1)</script>'


class _Links(HTMLParser):
    """Every <a> with its attributes and text, and the text of each <summary>/<details>."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict] = []
        self.summaries: list[str] = []
        self.details: list[str] = []
        self._in: list[str] = []

    def handle_starttag(self, tag, attrs):
        self._in.append(tag)
        if tag == "a":
            self.links.append({**dict(attrs), "text": ""})
        elif tag == "summary":
            self.summaries.append("")
        elif tag == "details":
            self.details.append("")

    def handle_endtag(self, tag):
        if tag in self._in:
            del self._in[len(self._in) - 1 - self._in[::-1].index(tag) :]

    def handle_data(self, data):
        if "a" in self._in:
            self.links[-1]["text"] += data
        if "summary" in self._in:
            self.summaries[-1] += data
        if "details" in self._in:
            self.details[-1] += data


def parsed(response) -> _Links:
    assert response.status_code == 200
    page = _Links()
    page.feed(response.get_data(as_text=True))
    return page


def online_links(page: _Links) -> list[dict]:
    return [link for link in page.links if link["text"].startswith("在线办理")]


def publish_sample(db) -> None:
    publish(
        db,
        item_data(
            handling_item_data(code="F-01", situation="新办", online_url=SAMPLE_ONLINE_URL),
            handling_item_data(code="F-02", situation="变更"),
            code="F",
            faq=SAMPLE_FAQ,
        ),
        item_data(code="G"),
    )


def test_the_guide_links_each_address_to_the_external_site_and_lists_the_faq(db, client):
    publish_sample(db)
    page = parsed(client.get("/items/F"))
    [link] = online_links(page)  # F-02 has no address: no link
    assert link["href"] == SAMPLE_ONLINE_URL
    assert link["target"] == "_blank" and link["rel"] == "noopener noreferrer"
    html = client.get("/items/F").get_data(as_text=True)
    written = escape(SAMPLE_ONLINE_URL)  # its & as &amp;
    assert html.index('id="F-01"') < html.index(written) < html.index('id="F-02"')
    assert page.summaries == [entry["question"] for entry in SAMPLE_FAQ]
    for details, entry in zip(page.details, SAMPLE_FAQ, strict=True):
        assert entry["answer"] in details
    assert ">常见问题</h2>" in html


def test_an_item_without_them_shows_neither(db, client):
    publish_sample(db)
    page = parsed(client.get("/items/G"))
    html = client.get("/items/G").get_data(as_text=True)
    assert online_links(page) == [] and page.summaries == []
    assert "常见问题" not in html and "在线办理" not in html


def test_the_notice_prints_the_address_of_its_own_handling_item_only(db, client):
    publish_sample(db)
    page = parsed(client.get("/handling/F-01/notice"))
    [link] = [link for link in page.links if link.get("href") == SAMPLE_ONLINE_URL]
    assert link["text"] == SAMPLE_ONLINE_URL and link["rel"] == "noopener noreferrer"
    assert "在线办理" in client.get("/handling/F-01/notice").get_data(as_text=True)
    other = client.get("/handling/F-02/notice").get_data(as_text=True)
    assert SAMPLE_ONLINE_URL not in other and "在线办理" not in other


def test_an_address_is_escaped_in_its_attribute_and_its_text(db, client):
    publish(db, item_data(handling_item_data(code="F-01", online_url=HOSTILE_URL), code="F"))
    for path in ("/items/F", "/handling/F-01/notice"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert(1)" not in html
        page = parsed(client.get(path))
        assert HOSTILE_URL in [link.get("href") for link in page.links]


def test_the_json_twin_has_both_always_null_or_empty_where_unset(db, client):
    publish_sample(db)
    item = client.get("/api/v1/items/F").get_json()
    assert item["faq"] == SAMPLE_FAQ
    assert [h["online_url"] for h in item["handling_items"]] == [SAMPLE_ONLINE_URL, None]
    other = client.get("/api/v1/items/G").get_json()
    assert other["faq"] == [] and other["handling_items"][0]["online_url"] is None


def test_the_openapi_document_describes_both(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    url = schemas["HandlingItem"]["properties"]["online_url"]
    assert url["format"] == "uri" and url["maxLength"] == 500 and "null" in url["type"]
    faq = schemas["Item"]["properties"]["faq"]
    assert faq["maxItems"] == 30 and faq["items"]["$ref"].endswith("/FaqEntry")
    entry = schemas["FaqEntry"]["properties"]
    assert (entry["question"]["maxLength"], entry["answer"]["maxLength"]) == (200, 2000)
