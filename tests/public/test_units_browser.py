"""The unit window in real headless Chromium: the guide's 办理地点 block on a phone (a tel: link
a thumb can tap, nothing scrolling sideways) and the staff unit form, saved and refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from catalog.accounts import create_user
from catalog.models import Role
from catalog.operations.actor import Actor
from catalog.operations.units import find_unit, save_unit
from tests.browser import chromium_page, live_server, sign_in_page
from tests.factories import item_data, publish
from tests.staff.conftest import PASSWORD

pytestmark = pytest.mark.browser
SCREENSHOTS = Path("/tmp")
LONG_ADDRESS = (
    "许昌市魏都区政务服务中心（许昌市行政服务大厅）二楼东侧交通运输局综合受理窗口第十二号"
)


def test_the_guides_window_block_on_a_phone(app, db, backend):
    publish(db, item_data(code="A", handling_unit="运输服务科"))
    window = {"name": "运输服务科", "address": LONG_ADDRESS, "phone": "0374-1234567转801",
              "hours": "法定工作日 上午8:30—12:00，下午14:30—17:30（冬季作息时间下午14:00—17:00）",
              "map_url": "https://map.example.cn/place?q=" + "许昌市政务服务中心" * 6}  # fmt: skip
    save_unit(window, actor=Actor("r", Role.reviewer), reason="测试", expected_version=None)
    db.session.commit()
    with live_server(app) as base, chromium_page(viewport={"width": 390, "height": 844}) as page:
        assert page.goto(base + "/items/A").status == 200
        block = page.locator(".unit-window")
        expect(block).to_contain_text(LONG_ADDRESS)
        phone = block.get_by_role("link", name="0374-1234567转801")
        expect(phone).to_have_attribute("href", "tel:03741234567;ext=801")
        assert phone.bounding_box()["height"] >= 16 and phone.is_visible()
        expect(block.get_by_role("link", name="在地图上查看")).to_be_visible()
        # the labels stack above their values on a phone, inside the screen
        label = block.locator("dt", has_text="办理地点").bounding_box()
        value = block.locator("dd").first.bounding_box()
        assert value["y"] >= label["y"] + label["height"] - 1 and value["x"] + value["width"] <= 390
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        block.locator("dt").first.scroll_into_view_if_needed()  # the block itself has no box
        page.screenshot(path=SCREENSHOTS / f"unit-window-guide-{backend}-390.png", full_page=True)


def test_the_staff_unit_form_saves_and_refuses_in_chinese(app, db, backend):
    publish(db, item_data(code="A", handling_unit="运输服务科"))
    create_user("reviewer1", PASSWORD, "reviewer")
    db.session.commit()
    for width in (390, 1280):
        with (
            live_server(app) as base,
            chromium_page(viewport={"width": width, "height": 844}) as page,
        ):
            sign_in_page(page, base, "reviewer1", PASSWORD)
            page.get_by_role("link", name="办理窗口", exact=True).click()
            expect(page.get_by_role("heading", level=1)).to_have_text("办理窗口")
            expect(page.locator("tr", has_text="运输服务科")).to_contain_text("尚无窗口记录")
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.screenshot(path=SCREENSHOTS / f"unit-list-{backend}-{width}.png", full_page=True)
            page.get_by_role("link", name="填写运输服务科的窗口").click()
            page.get_by_label("窗口地址").fill(LONG_ADDRESS)
            page.get_by_label("咨询电话").fill("电话")
            page.get_by_role("button", name="保存").click()
            expect(page.locator(".field-error").first).to_contain_text("不是有效的电话号码")
            expect(page.locator(".notice.error")).to_contain_text("请说明修改原因")
            assert page.get_by_label("咨询电话").get_attribute("aria-invalid") == "true"
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.screenshot(path=SCREENSHOTS / f"unit-form-{backend}-{width}.png", full_page=True)
            if width == 390:
                continue  # saved once, at desktop width
            page.get_by_label("咨询电话").fill("12328")
            page.get_by_label("修改原因").fill("补充窗口信息")
            page.get_by_role("button", name="保存").click()
            expect(page.locator(".notice")).to_contain_text("已保存“运输服务科”的办理窗口")
    db.session.rollback()
    unit = find_unit("运输服务科")
    assert (unit.address, unit.phone) == (LONG_ADDRESS, "12328")
