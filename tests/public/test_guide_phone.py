"""A citizen reads a guide on a phone (390 px) in real headless Chromium, with every element
issue 23 added: the 在线办理 link, the unit's window, a blank form and a sample to download,
the 常见问题, the 打印 button. The notice carries the same FAQ. The full-page screenshot is
test-artifacts/guide-phone.png, the one README shows (docs/guide-phone.png)."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.attachments import store
from catalog.operations.units import save_unit
from tests import attachment_files as files
from tests.browser import chromium_page, live_server
from tests.factories import (
    SAMPLE_FAQ,
    SAMPLE_ONLINE_URL,
    handling_item_data,
    item_data,
    publish,
)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
UNIT = "行政审批服务科"  # the factories' handling unit
WINDOW = {
    "name": UNIT,
    "address": "许昌市政务服务中心二楼交通运输局窗口",
    "phone": "0374-1234567",
    "hours": "法定工作日 上午8:30—12:00，下午14:30—17:30",
}


@pytest.fixture
def full_guide(db):
    """Item G: one handling item with an online address, its first material offering a blank
    form and a sample, an FAQ, and its unit's window recorded."""
    form, sample = store(files.docx("空白")), store(files.pdf("示例"))
    material = {
        "name": "道路运输经营申请表",
        "attachments": [
            {"kind": "blank", "sha256": form.sha256, "filename": "道路运输经营申请表.docx"},
            {"kind": "sample", "sha256": sample.sha256, "filename": "填写示例.pdf"},
        ],
    }
    handling = handling_item_data(
        code="G-01", situation="新办", online_url=SAMPLE_ONLINE_URL, materials=[material]
    )
    save_unit(WINDOW, actor="admin1", reason="窗口信息", expected_version=None)
    publish(db, item_data(handling, code="G", name="道路货物运输经营许可", faq=SAMPLE_FAQ))
    return {"form": form.sha256, "sample": sample.sha256}


def test_the_notice_lists_the_items_questions(client, full_guide):
    page = client.get("/handling/G-01/notice").get_data(as_text=True)
    assert "常见问题" in page
    for entry in SAMPLE_FAQ:
        assert entry["question"] in page


def test_a_citizen_reads_everything_needed_on_a_phone(app, full_guide):
    with live_server(app) as base, chromium_page(viewport={"width": 390, "height": 844}) as page:
        page.goto(base + "/items/G")
        online = page.get_by_role("link", name="在线办理", exact=False).first
        assert online.is_visible() and online.get_attribute("href") == SAMPLE_ONLINE_URL
        assert online.get_attribute("rel") == "noopener noreferrer"
        blank = page.get_by_role("link", name="下载空白表格", exact=False).first
        assert blank.get_attribute("href").startswith(f"/files/{full_guide['form']}/")
        sample = page.get_by_role("link", name="下载示例样表", exact=False).first
        assert sample.get_attribute("href").startswith(f"/files/{full_guide['sample']}/")
        assert page.get_by_text(WINDOW["address"]).first.is_visible()
        phone = page.locator('a[href^="tel:"]').first
        assert phone.inner_text().strip() == WINDOW["phone"]

        first = SAMPLE_FAQ[0]
        answer = page.get_by_text(first["answer"])
        assert not answer.is_visible()  # folded until asked
        page.get_by_text(first["question"]).click()
        assert answer.is_visible()

        assert page.get_by_role("button", name="打印").is_visible()
        page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
        assert page.locator("details:not([open])").count() == 0  # printed unfolded

        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the guide is {width} px wide on a 390 px phone"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "guide-phone.png", full_page=True)
