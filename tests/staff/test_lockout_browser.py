"""Locked out and let back in, in real headless Chromium: a staff member on a phone is told
how many tries are left, then how many minutes to wait, and finds the way back to the form;
an admin sees the lockout on the accounts page and clears it, and the staff member signs in.
No page scrolls sideways at 390 px. Screenshots: /tmp/lockout-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import chromium_page, live_server
from tests.staff.conftest import PASSWORD

pytestmark = pytest.mark.browser
SCREENSHOTS = Path("/tmp")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def new_page(browser: Browser, viewport: dict, errors: list[str]) -> Page:
    page = browser.new_context(locale="zh-CN", viewport=viewport).new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page


def submit(page: Page, username: str, password: str) -> None:
    page.get_by_label("用户名", exact=True).fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()


def shoot(page: Page, name: str) -> None:
    """A full-page screenshot; the page must not scroll sideways."""
    page.screenshot(path=SCREENSHOTS / f"lockout-{name}.png", full_page=True)
    scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert scroll_width <= inner_width, (name, scroll_width, inner_width)


def test_locked_out_told_how_long_and_let_back_in_by_an_admin(app, accounts):
    errors: list[str] = []
    with live_server(app) as base, chromium_page(viewport=DESKTOP) as first:
        browser = first.context.browser
        admin = new_page(browser, DESKTOP, errors)  # signed in before the lockout
        admin.goto(base + "/staff/login")
        submit(admin, "admin1", PASSWORD)
        expect(admin.locator(".staff-nav .who")).to_contain_text("admin1")

        phone = new_page(browser, PHONE, errors)
        phone.goto(base + "/staff/login?next=/staff/audit")
        for left in (4, 3, 2, 1):
            submit(phone, "editor1", f"wrong-{left}-password")
            expect(phone.locator("#attempts-left")).to_have_text(
                f"还可尝试 {left} 次，用完后将暂时锁定（最长 10 分钟）。"
            )
        shoot(phone, "tries-left-390")
        submit(phone, "editor1", "wrong-0-password")
        expect(phone.locator("#attempts-left")).to_contain_text("请 10 分钟后再试")

        submit(phone, "editor1", PASSWORD)  # the right one, too late
        expect(phone.get_by_role("heading", name="登录尝试次数过多")).to_be_visible()
        expect(phone.get_by_role("alert")).to_have_text(
            "该账号的登录尝试次数过多，已暂时锁定，请 10 分钟后再试。"
        )
        shoot(phone, "refused-390")
        phone.get_by_role("link", name="返回登录页").click()
        expect(phone.get_by_role("heading", name="工作人员登录")).to_be_visible()
        assert phone.url == base + "/staff/login?next=/staff/audit"

        desk = new_page(browser, DESKTOP, errors)  # another account, the same pages at 1280
        desk.goto(base + "/staff/login")
        submit(desk, "reviewer1", "wrong-password-1")
        expect(desk.locator("#attempts-left")).to_contain_text("还可尝试 4 次")
        shoot(desk, "tries-left-1280")
        for n in range(5):
            submit(desk, "reviewer1", f"wrong-password-{n + 2}")
        expect(desk.get_by_role("link", name="返回登录页")).to_be_visible()
        shoot(desk, "refused-1280")

        admin.goto(base + "/staff/accounts")
        lockouts = admin.locator("table.lockouts tbody tr")
        expect(lockouts).to_have_count(2)
        expect(lockouts.first).to_contain_text("账号 editor1")
        expect(lockouts.first).to_contain_text("账号登录失败已达上限（10 分钟内 5 次）")
        expect(lockouts.first).to_contain_text("约 10 分钟后")
        shoot(admin, "accounts-1280")
        narrow = new_page(browser, PHONE, errors)
        narrow.context.add_cookies(admin.context.cookies())
        narrow.goto(base + "/staff/accounts")
        shoot(narrow, "accounts-390")

        lockouts.first.get_by_role("button", name="解除锁定").click()
        expect(admin.locator(".notice[role=status]")).to_contain_text(
            "已解除账号 editor1 的登录锁定，可立即重新登录。"
        )
        expect(lockouts).to_have_count(1)  # reviewer1's, left to end by itself

        submit(phone, "editor1", PASSWORD)
        expect(phone.get_by_role("heading", name="审计记录")).to_be_visible()
        assert phone.url == base + "/staff/audit"
    assert errors == []
