"""Helpers for tests in real headless Chromium (Debian's build; browser downloads fail here)."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    """Serve the app on a free loopback port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@contextmanager
def chromium_page(**context_options) -> Iterator:
    """A page in a fresh headless Chromium; the run fails in CI when Chromium is missing."""
    if not shutil.which(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM} (make test installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="zh-CN", **context_options)
            yield context.new_page()
        finally:
            browser.close()


def sign_in_page(page, base_url: str, username: str, password: str) -> None:
    """Sign in on the staff login page and wait for the staff pages to name the account."""
    from playwright.sync_api import expect

    page.goto(base_url + "/staff/login")
    page.get_by_label("用户名", exact=True).fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".staff-nav .who")).to_contain_text(username)
