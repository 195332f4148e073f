"""The staff edit page in real headless Chromium (issue 23 part 4): at 1280 px the ratio
preview and the warnings stand side by side in the first screen; at 1280 and 390 px the page
never scrolls sideways, no material name is cut and the acknowledgement checkbox sits on its
label's line. Screenshots: /tmp/h6-edit-1280.png (the first screen), /tmp/h6-edit-1280-full.png,
/tmp/h6-edit-390.png, /tmp/h6-edit-item-1280.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from catalog.accounts import create_user
from tests.browser import chromium_page, live_server, sign_in_page
from tests.factories import handling_item_data, item_data, publish
from tests.staff.conftest import PASSWORD

pytestmark = pytest.mark.browser
SCREENSHOTS = Path("/tmp")
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
LONG_NAME = "道路旅客运输班线经营者在发车时间安排上发生纠纷的协调申请书（加盖公章）"


@pytest.fixture
def warned_item(db):
    """An item whose handling item breaks both time-limit rules and whose steps take longer
    than it promises, with a long material name; an editor."""
    materials = [{"name": LONG_NAME}, {"name": "营业执照", "kind": "copy", "source": "government"}]
    steps = [{"name": "受理", "days": 2}, {"name": "审查", "days": 10}, {"name": "决定", "days": 2}]
    handling = handling_item_data(code="A-01", promised_days=12, materials=materials, steps=steps)
    publish(db, item_data(handling, code="A", name="道路旅客运输班线经营许可"))
    create_user("editor1", PASSWORD, "editor")
    db.session.commit()


def layout(page: Page) -> dict:
    return page.evaluate(
        """() => {
          const box = (el) => { const r = el.getBoundingClientRect();
            return {x: r.x, y: r.y, right: r.right, bottom: r.bottom, height: r.height}; };
          const names = [...document.querySelectorAll('.cell-name input')];
          const ack = document.querySelector('#acknowledge');
          return {
            scroll: document.documentElement.scrollWidth, inner: innerWidth,
            height: innerHeight,
            preview: box(document.querySelector('.edit-overview .preview table.effect')),
            warnings: box(document.querySelector('.edit-overview .edit-warnings .notice')),
            cut: names.filter((el) => el.scrollWidth > el.clientWidth).map((el) => el.value),
            checkbox: box(ack), label: box(document.querySelector('label[for=acknowledge]')),
          };
        }"""
    )


def test_the_edit_page_at_1280_and_390(app, warned_item):
    errors: list[str] = []
    with live_server(app) as base, chromium_page(viewport=DESKTOP) as page:
        page.on("pageerror", lambda error: errors.append(str(error)))
        sign_in_page(page, base, "editor1", PASSWORD)
        page.goto(base + "/staff/handling/A-01/edit")
        warnings = page.locator(".edit-warnings .notice.warning")
        expect(warnings).to_contain_text("承诺时限超过10个工作日")
        expect(warnings).to_contain_text("时限压缩比低于75%")
        expect(warnings).to_contain_text("办理流程各环节合计14个工作日，超过承诺时限12个工作日")
        expect(page.locator("table.effect tbody tr")).to_have_count(10)
        page.screenshot(path=SCREENSHOTS / "h6-edit-1280.png")
        page.screenshot(path=SCREENSHOTS / "h6-edit-1280-full.png", full_page=True)

        desktop = layout(page)
        assert desktop["scroll"] <= desktop["inner"], desktop
        # side by side, both wholly in the first screen
        assert desktop["warnings"]["x"] >= desktop["preview"]["right"], desktop
        assert desktop["preview"]["bottom"] <= desktop["height"], desktop
        assert desktop["warnings"]["bottom"] <= desktop["height"], desktop
        assert desktop["cut"] == [], desktop
        checkbox, label = desktop["checkbox"], desktop["label"]
        assert label["x"] - checkbox["right"] < 24 and abs(label["y"] - checkbox["y"]) < 12, desktop

        page.set_viewport_size(PHONE)
        page.reload()
        page.screenshot(path=SCREENSHOTS / "h6-edit-390.png", full_page=True)
        phone = layout(page)
        assert phone["scroll"] <= phone["inner"], phone
        assert phone["warnings"]["y"] >= phone["preview"]["bottom"], phone  # stacked
        assert phone["cut"] == [], phone
        checkbox, label = phone["checkbox"], phone["label"]
        assert label["x"] - checkbox["right"] < 24 and abs(label["y"] - checkbox["y"]) < 12, phone

        # the item's own edit page and the new-item page (the same fields) fit too
        for viewport in (PHONE, DESKTOP):
            page.set_viewport_size(viewport)
            for path in ("/staff/items/A/edit", "/staff/items/new"):
                page.goto(base + path)
                fits = page.evaluate("document.documentElement.scrollWidth <= innerWidth")
                assert fits, (path, viewport)
        page.goto(base + "/staff/items/A/edit")
        page.screenshot(path=SCREENSHOTS / "h6-edit-item-1280.png")
        expect(page.locator(".edit-warnings")).to_contain_text("业务办理项 A-01：")
    assert errors == []
