"""The review workflow in real headless Chromium: an editor changes a promised limit past both
policy warnings and submits it, a reviewer reads the diff, the acknowledged warnings and the
effect on the ratios and returns it with a note, the editor fixes it, another reviewer
publishes; and four eyes: a reviewer cannot publish a draft that holds their own change, not
even with a crafted request. Screenshots of the item page in review: /tmp/review-*.png."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from catalog.accounts import create_user
from catalog.drafts import current_data, editable_version
from catalog.models import ApprovalItem, User
from catalog.operations import items as operations
from tests.browser import chromium_page, live_server
from tests.factories import handling_item_data, item_data, publish
from tests.staff.conftest import PASSWORD

pytestmark = pytest.mark.browser
SCREENSHOTS = Path("/tmp")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
OVER_LIMIT, LOW_COMPRESSION = "承诺时限超过10个工作日", "时限压缩比低于75%"
FOUR_EYES_PAGE = "该草稿包含您本人的修改：按四眼原则，须由其他审核人员发布"
FOUR_EYES_REFUSAL = "未完成：该草稿包含您本人的修改，须由其他审核人员发布（四眼原则）。"


@pytest.fixture
def small_catalog(db):
    """Two published items, each with one handling item of statutory 20 / promised 5 days
    (compression 75.00 %, no policy exception), an editor and two reviewers."""
    publish(
        db,
        item_data(handling_item_data(code="A-01"), code="A", name="港口经营许可"),
        item_data(handling_item_data(code="B-01"), code="B", name="道路货物运输经营许可"),
    )
    for username, role in (
        ("editor1", "editor"),
        ("reviewer1", "reviewer"),
        ("reviewer2", "reviewer"),
    ):
        create_user(username, PASSWORD, role)
    db.session.commit()


def signed_in(
    browser: Browser, base: str, username: str, errors: list[str], viewport=DESKTOP
) -> Page:
    """A page in its own browser context (own cookies), signed in through the login form."""
    page = browser.new_context(locale="zh-CN", viewport=viewport).new_page()
    page.on("pageerror", lambda error: errors.append(f"{username}: {error}"))
    page.goto(base + "/staff/login")
    page.get_by_label("用户名", exact=True).fill(username)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".staff-nav .who")).to_contain_text(username)
    return page


def table(page: Page, selector: str) -> list[list[str]]:
    """The body rows of a table, each as its cells' visible text."""
    return page.locator(f"{selector} tbody tr").evaluate_all(
        "rows => rows.map(row => [...row.cells].map(cell => cell.innerText.trim()))"
    )


def status_message(page: Page):
    return page.locator(".notice[role=status]")


def edit_promised_days(page: Page, base: str, code: str, days: int, reason: str) -> None:
    page.goto(base + f"/staff/handling/{code}/edit")
    page.get_by_label("承诺时限（工作日）").fill(str(days))
    page.get_by_label("修改原因").fill(reason)
    page.get_by_role("button", name="保存为草稿").click()


def submit_for_review(page: Page) -> None:
    page.get_by_role("button", name="提交审核").click()
    expect(status_message(page)).to_contain_text("已提交审核，等待审核人员发布或退回。")
    expect(page.locator("#draft-heading ~ p .state")).to_have_text("待审核")


def test_a_change_is_returned_fixed_and_published_by_another_reviewer(app, small_catalog):
    errors: list[str] = []
    with live_server(app) as base, chromium_page(viewport=DESKTOP) as visitor:
        browser = visitor.context.browser
        editor = signed_in(browser, base, "editor1", errors)

        # 1. 12 days breaks both rules: the editor is told to acknowledge, does, saves, submits.
        edit_promised_days(editor, base, "A-01", 12, "窗口人员不足，延长承诺时限")
        warning = editor.locator(".notice.warning[role=alert]")
        expect(warning).to_contain_text(OVER_LIMIT)
        expect(warning).to_contain_text(LOW_COMPRESSION)
        expect(warning).to_contain_text("请确认已知晓政策提示。")
        assert "没有草稿" in editor.request.get(base + "/staff/items/A").text()  # nothing saved
        editor.get_by_label("我已知晓上述政策提示，仍要保存").check()
        editor.get_by_role("button", name="保存为草稿").click()
        expect(status_message(editor)).to_contain_text("已保存到草稿。")
        submit_for_review(editor)

        # 2. Another account reviews: the diff, who acknowledged what, the effect on the ratios.
        reviewer = signed_in(browser, base, "reviewer1", errors)
        reviewer.goto(base + "/staff/items/A")
        assert table(reviewer, "table.diff") == [["业务办理项 A-01 · 承诺时限", "5", "12"]]
        warnings = {label: (code, by) for code, label, by in table(reviewer, "table.warnings")}
        assert set(warnings) == {OVER_LIMIT, LOW_COMPRESSION}
        for code, by in warnings.values():
            assert code == "A-01"
            assert re.fullmatch(r"editor1 于 \d{4}-\d{2}-\d{2} \d{2}:\d{2}.* 确认知晓", by), by
        effect = {row[0]: row[1:] for row in table(reviewer, "table.effect")}
        # (40 - 10) / 40 = 75.00 % -> (40 - 17) / 40 = 57.50 %; one exception of each rule
        assert effect["时限压缩比"] == ["75.00%", "57.50% （有变化）"]
        assert effect[f"{OVER_LIMIT}（政策例外项数）"] == ["0", "1 （有变化）"]
        assert effect[f"{LOW_COMPRESSION}（政策例外项数）"] == ["0", "1 （有变化）"]
        assert effect["不见面审批占比"] == ["100.00%", "100.00%"]  # unchanged: not marked
        changed = reviewer.locator("table.effect tbody tr.changed th").all_inner_texts()
        assert changed == [
            "时限压缩比",
            f"{OVER_LIMIT}（政策例外项数）",
            f"{LOW_COMPRESSION}（政策例外项数）",
        ]
        expect(reviewer.get_by_role("button", name="审核通过并发布")).to_be_visible()
        expect(reviewer.get_by_text(FOUR_EYES_PAGE)).to_have_count(0)

        reviewer.screenshot(path=SCREENSHOTS / "review-1280.png", full_page=True)
        reviewer.set_viewport_size(PHONE)
        reviewer.screenshot(path=SCREENSHOTS / "review-390.png", full_page=True)
        reviewer.set_viewport_size(DESKTOP)  # its width: test_review_pages_fit_a_phone

        # Returned with a note: the editor sees it on the item page and in the staff list.
        note = "承诺时限不得超过10个工作日，请压缩到法定时限的25%以内。"
        reviewer.goto(base + "/staff/items/A")
        reviewer.get_by_role("button", name="退回修改（须填写审核意见）").click()
        expect(status_message(reviewer)).to_contain_text("未完成：退回时须填写审核意见")
        reviewer.get_by_label("审核意见").fill(note)
        reviewer.get_by_role("button", name="退回修改（须填写审核意见）").click()
        expect(status_message(reviewer)).to_contain_text("已退回修改")

        editor.goto(base + "/staff/items/A")
        returned = editor.locator(".notice.warning[role=alert]")
        expect(returned).to_contain_text("审核人员 reviewer1 退回修改")
        expect(returned.locator(".review-note")).to_have_text(note)
        expect(editor.locator("#draft-heading ~ p .state")).to_have_text("退回修改")
        editor.goto(base + "/staff/?review=returned")
        assert editor.locator("table.grid caption").inner_text() == "共 1 项"
        listed = table(editor, "table.grid")
        assert len(listed) == 1 and listed[0][0] == "A"
        draft = editor.locator('table.grid td[data-label="草稿"]')
        assert draft.inner_text() == f"退回修改\n审核意见：{note}"

        # 4 days: no warning to acknowledge; resubmitted; a second reviewer publishes.
        edit_promised_days(editor, base, "A-01", 4, "按审核意见压缩承诺时限")
        expect(status_message(editor)).to_contain_text("已保存到草稿。")
        # no policy rule to acknowledge; its steps (5 days) outlast the promise: a check only
        expect(editor.get_by_text("（合理性提示，无需确认）")).to_be_visible()
        expect(editor.get_by_text("（政策提示，须确认）")).to_have_count(0)
        submit_for_review(editor)
        assert editor.get_by_role("button", name="审核通过并发布").count() == 0  # an editor

        visitor.goto(base + "/items/A")
        expect(visitor.locator("main")).to_contain_text("5 个工作日")  # not public yet

        second = signed_in(browser, base, "reviewer2", errors)
        second.goto(base + "/staff/items/A")
        assert table(second, "table.diff") == [["业务办理项 A-01 · 承诺时限", "5", "4"]]
        second.get_by_role("button", name="审核通过并发布").click()
        expect(status_message(second)).to_contain_text("已审核通过并发布。")
        expect(second.locator("#draft-heading ~ p")).to_contain_text("没有草稿")

        visitor.goto(base + "/items/A")
        expect(visitor.locator("main")).to_contain_text("4 个工作日")
        assert "5 个工作日" not in visitor.locator("main").inner_text()
        assert errors == []


def test_a_reviewer_cannot_publish_their_own_draft(app, small_catalog):
    errors: list[str] = []
    with live_server(app) as base, chromium_page(viewport=DESKTOP) as visitor:
        browser = visitor.context.browser
        reviewer = signed_in(browser, base, "reviewer1", errors)
        edit_promised_days(reviewer, base, "B-01", 3, "压缩承诺时限")
        expect(status_message(reviewer)).to_contain_text("已保存到草稿。")
        submit_for_review(reviewer)

        assert reviewer.get_by_role("button", name="审核通过并发布").count() == 0
        expect(reviewer.get_by_text(FOUR_EYES_PAGE)).to_be_visible()

        # A crafted POST with the page's own CSRF token and version is refused all the same.
        refused = reviewer.evaluate(
            """async () => {
                const form = document.querySelector("form.review-actions");
                const response = await fetch(location.pathname + "/publish", {
                    method: "POST", body: new URLSearchParams(new FormData(form)),
                });
                return {status: response.status, url: response.url, text: await response.text()};
            }"""
        )
        assert refused["status"] == 200 and refused["url"] == base + "/staff/items/B"
        assert FOUR_EYES_REFUSAL in refused["text"]
        assert "已审核通过并发布" not in refused["text"]
        reviewer.reload()
        expect(reviewer.locator("#draft-heading ~ p .state")).to_have_text("待审核")
        visitor.goto(base + "/items/B")
        expect(visitor.locator("main")).to_contain_text("5 个工作日")

        second = signed_in(browser, base, "reviewer2", errors)
        second.goto(base + "/staff/items/B")
        expect(second.get_by_text(FOUR_EYES_PAGE)).to_have_count(0)
        second.get_by_role("button", name="审核通过并发布").click()
        expect(status_message(second)).to_contain_text("已审核通过并发布。")
        visitor.goto(base + "/items/B")
        expect(visitor.locator("main")).to_contain_text("3 个工作日")
        assert errors == []


@pytest.fixture
def submitted_draft(db, small_catalog):
    """editor1's acknowledged change of A-01 to 12 days, submitted for review."""
    editor = db.session.scalar(sa.select(User).where(User.username == "editor1"))
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "A"))
    data = copy.deepcopy(current_data(item))
    data["handling_items"][0]["promised_days"] = 12
    operations.save_draft(
        item, data, actor=editor, reason="窗口人员不足，延长承诺时限",
        expected_version=editable_version(item), acknowledged=True,
    )  # fmt: skip
    operations.submit(item, actor=editor, expected_version=editable_version(item))
    db.session.commit()


@pytest.mark.parametrize(
    ("username", "path"),
    [
        ("editor1", "/staff/items/A"),
        ("reviewer1", "/staff/items/A"),
        ("editor1", "/staff/handling/A-01/edit"),
    ],
    ids=["item-page-editor", "item-page-reviewer", "edit-page"],
)
def test_review_pages_fit_a_phone(app, submitted_draft, username, path):
    """document.documentElement.scrollWidth <= innerWidth at 390 px, on the item page in review
    and on the edit page (there also with its policy warnings and ratio preview)."""
    errors: list[str] = []
    with live_server(app) as base, chromium_page(viewport=PHONE) as visitor:
        page = signed_in(visitor.context.browser, base, username, errors, viewport=PHONE)
        page.goto(base + path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        name = f"phone-{username}-{path.strip('/').replace('/', '-')}"
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
        widths = [page.evaluate("[document.documentElement.scrollWidth, innerWidth]")]
        if path.endswith("/edit"):
            page.get_by_label("承诺时限（工作日）").fill("15")
            page.get_by_label("修改原因").fill("再延长承诺时限")
            page.get_by_role("button", name="保存为草稿").click()
            expect(page.locator(".notice.warning[role=alert]")).to_contain_text(OVER_LIMIT)
            expect(page.locator("table.effect")).to_be_visible()
            page.screenshot(path=SCREENSHOTS / f"{name}-warnings.png", full_page=True)
            widths.append(page.evaluate("[document.documentElement.scrollWidth, innerWidth]"))
        assert errors == []
        assert all(scroll <= inner for scroll, inner in widths), widths
