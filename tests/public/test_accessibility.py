"""WCAG 2.1 AA checks of every public page by axe-core, in real headless Chromium."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser import chromium_page, live_server
from tests.factories import handling_item_data, item_data, publish, publish_sample_with_snapshot

pytestmark = pytest.mark.browser

WCAG_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
PAGES = [
    "/",
    "/items?q=港口",
    "/items?q=没有这个事项",
    "/items?type=tax",
    "/items/P",
    "/handling/P-01/notice",
    "/handling/P-01/deadline?date=2026-09-30",
    "/handling/P-01/deadline?date=2099-01-01",
    "/handling/P-01/deadline?date=2026-12-21",  # the statutory date estimated, in 2027
    "/no-such-page",
    "/reports",
    "/reports?snapshot=基线",
    "/reports/items?measure=visit",
    "/reports/items?measure=items&type=licence",
    "/reports/compare",
    "/reports/compare?from=基线",
]


def violations(axe: Axe, page, base_url: str, paths: list[str]) -> dict[str, list]:
    """For each path with WCAG 2.1 AA violations: the rule ids and a few offending nodes."""
    problems = {}
    for path in paths:
        page.goto(base_url + path)
        results = axe.run(page, options=WCAG_AA)
        if results.violations_count:
            problems[path] = [
                (v["id"], [node["target"] for node in v["nodes"]][:3])
                for v in results.response["violations"]
            ]
    return problems


def test_public_pages_have_no_wcag_violations(app, db):
    publish_sample_with_snapshot(db)
    axe = Axe()
    with live_server(app) as base_url, chromium_page() as page:
        assert violations(axe, page, base_url, PAGES) == {}


STAFF_PAGES = [
    "/staff/",
    "/staff/items/P",
    "/staff/items/P/edit",
    "/staff/handling/P-01/edit",
    "/staff/audit",
    "/staff/import",
    "/staff/items/new",
    "/staff/accounts",
    "/staff/accounts/events",
    "/staff/accounts/{admin}/password",
    "/staff/password",
    "/staff/snapshots",
    "/reports",
]


def test_staff_pages_have_no_wcag_violations(app, db):
    from catalog.accounts import create_user

    publish(db, item_data(handling_item_data(code="P-01"), code="P", name="港口经营许可"))
    admin = create_user("admin1", "许昌交通运输2026审批", "admin")
    db.session.commit()
    pages = [path.format(admin=admin.id) for path in STAFF_PAGES]
    axe = Axe()
    with live_server(app) as base_url, chromium_page() as page:
        page.goto(base_url + "/staff/login")
        assert not axe.run(page, options=WCAG_AA).violations_count
        page.get_by_label("用户名").fill("admin1")
        page.get_by_label("密码").fill("许昌交通运输2026审批")
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(base_url + "/staff/")
        assert violations(axe, page, base_url, pages) == {}
