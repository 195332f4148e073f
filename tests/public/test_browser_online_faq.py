"""The guide's online-handling link and FAQ in real headless Chromium (issue 23 part 2): on a
phone a long address and a long question wrap instead of scrolling sideways, and a question
opens to its answer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser import chromium_page, live_server
from tests.factories import SAMPLE_FAQ, handling_item_data, item_data, publish

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp"))
# an address with no place a browser would break it on its own
LONG_URL = "https://www.hnzwfw.gov.cn/portal/guide/" + "0123456789abcdef" * 12
LONG_QUESTION = "道路运输经营许可证遗失后，" * 8 + "如何补办？"


@pytest.fixture
def published(db):
    faq = [*SAMPLE_FAQ, {"question": LONG_QUESTION, "answer": "携带身份证到窗口补办。" * 20}]
    publish(
        db,
        item_data(
            handling_item_data(code="F-01", online_url=LONG_URL),
            handling_item_data(code="F-02"),
            code="F",
            faq=faq,
        ),
    )


@pytest.mark.parametrize("width", [390, 1280], ids=["phone", "desktop"])
def test_the_guide_shows_the_link_and_the_questions_without_sideways_scroll(
    app, published, backend, width
):
    viewport = {"width": width, "height": 844}
    with live_server(app) as base_url, chromium_page(viewport=viewport) as page:
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        assert page.goto(base_url + "/items/F").status == 200
        link = page.get_by_role("link", name="在线办理")
        assert link.count() == 1  # F-02 has no address
        assert link.get_attribute("href") == LONG_URL
        assert link.get_attribute("target") == "_blank"
        assert link.get_attribute("rel") == "noopener noreferrer"
        assert link.is_visible()

        faq = page.get_by_role("region", name="常见问题")
        questions = faq.locator("summary")
        assert questions.all_inner_texts() == [
            *(entry["question"] for entry in SAMPLE_FAQ),
            LONG_QUESTION,
        ]
        answer = faq.get_by_text(SAMPLE_FAQ[0]["answer"])
        assert not answer.is_visible()  # closed until asked
        questions.first.click()
        assert answer.is_visible()
        faq.locator("summary").last.click()  # the long one, open too
        page.get_by_role("link", name="在线办理").scroll_into_view_if_needed()

        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert errors == []
        page.screenshot(path=SCREENSHOTS / f"guide-online-faq-{backend}-{width}.png",
                        full_page=True)  # fmt: skip
