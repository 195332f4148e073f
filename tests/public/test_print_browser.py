"""Printing the guide and the notice, in real headless Chromium: the 打印 button prints, the
print stylesheet leaves the menu, search and buttons out, prints black on white, keeps tables as
tables and writes an external link's address after it; the menu works on a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import chromium_page, live_server
from tests.factories import publish_sample_with_snapshot

pytestmark = pytest.mark.browser

COUNT_PRINTS = "window.print = () => { window.printed = (window.printed || 0) + 1; };"
VISIBLE = "(selector) => [...document.querySelectorAll(selector)].some((el) => el.offsetParent)"


@pytest.mark.parametrize("path", ["/items/P", "/handling/P-01/notice"])
def test_the_print_button_prints_and_print_leaves_out_the_screen_furniture(app, db, path):
    publish_sample_with_snapshot(db)
    with live_server(app) as base_url, chromium_page() as page:
        page.add_init_script(COUNT_PRINTS)
        page.set_viewport_size({"width": 390, "height": 800})
        page.goto(base_url + path)
        button = page.get_by_role("button", name="打印")
        button.click()
        assert page.evaluate("window.printed") == 1

        page.emulate_media(media="print")
        screen_only = (".site-nav", ".print-button", ".search-form", ".deadline-form", ".actions")
        for selector in screen_only:
            assert not page.evaluate(VISIBLE, selector), f"{selector} is printed"
        headings = page.evaluate(
            "[...document.querySelectorAll('h3')].filter((h) => h.offsetParent)"
            ".map((h) => h.textContent)"
        )
        assert "办结日期计算" not in headings
        if path.startswith("/items/"):
            assert "办理流程" in headings  # the guide's own sections are printed
        colours = page.evaluate(
            "[getComputedStyle(document.body).color,"
            " getComputedStyle(document.body).backgroundColor]"
        )
        assert colours == ["rgb(0, 0, 0)", "rgb(255, 255, 255)"]
        # the materials stay a table with its header row when printed, whatever the width
        assert page.evaluate(VISIBLE, "table.cards thead th")

        page.evaluate(
            """() => {
              const link = document.createElement('a');
              link.href = 'https://www.hnzwfw.gov.cn/apply';
              link.textContent = '在线办理';
              document.querySelector('main').append(link);
              window.externalLink = link;
            }"""
        )
        after = page.evaluate("getComputedStyle(window.externalLink, '::after').content")
        assert "https://www.hnzwfw.gov.cn/apply" in after
        internal = page.evaluate(
            "getComputedStyle(document.querySelector('main a[href^=\"/\"]'), '::after').content"
        )
        assert internal in ("none", "normal")


def test_without_script_no_dead_print_button_is_offered(app, db):
    publish_sample_with_snapshot(db)
    with live_server(app) as base_url, chromium_page(java_script_enabled=False) as page:
        page.goto(base_url + "/items/P")
        expect(page.get_by_role("button", name="打印")).to_have_count(0)
        expect(page.locator(".site-nav a[aria-current]")).to_have_text("事项查询")


def test_the_header_menu_wraps_under_the_name_on_a_phone(app, db):
    publish_sample_with_snapshot(db)
    with live_server(app) as base_url, chromium_page() as page:
        page.set_viewport_size({"width": 390, "height": 800})
        page.goto(base_url + "/reports")
        links = page.locator(".site-nav a")
        expect(links).to_have_count(4)
        boxes = [links.nth(index).bounding_box() for index in range(4)]
        assert all(box["x"] >= 0 and box["x"] + box["width"] <= 390 for box in boxes)
        assert all(box["height"] >= 24 for box in boxes)  # a finger's target, not a line of text
        links.nth(1).click()
        page.wait_for_url(base_url + "/items")
        expect(page.locator(".site-nav a[aria-current=page]")).to_have_text("事项查询")
