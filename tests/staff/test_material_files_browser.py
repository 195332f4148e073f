"""In real headless Chromium: an editor uploads a blank form on a material's files page (from
the edit page's link), a reviewer publishes the draft, and a reader downloads the form from the
guide, on a desktop and on a phone, where nothing scrolls sideways. Screenshots:
/tmp/p3-files-staff-1280.png, /tmp/p3-files-staff-390.png, /tmp/p3-files-edit-390.png,
/tmp/p3-files-guide-1280.png,
/tmp/p3-files-guide-390.png, /tmp/p3-files-notice-390.png."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from catalog.accounts import create_user
from catalog.drafts import editable_version
from catalog.models import ApprovalItem
from catalog.operations.items import publish as publish_draft
from catalog.operations.items import submit
from tests import attachment_files as files
from tests.browser import chromium_page, live_server, sign_in_page
from tests.factories import handling_item_data, item_data, publish
from tests.public.test_accessibility import violations
from tests.staff.conftest import PASSWORD
from tests.staff.test_edit_browser import PHONE

pytestmark = pytest.mark.browser
FORM_NAME = "道路旅客运输班线经营申请表（加盖公章后上传或到窗口提交）.docx"


def no_sideways_scroll(page) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
    assert width[0] <= width[1], width


def test_a_form_uploaded_on_the_edit_page_is_downloaded_from_the_guide(app, db, tmp_path):
    materials = [{"name": "道路旅客运输班线经营申请表"}, {"name": "营业执照", "kind": "copy"}]
    publish(db, item_data(handling_item_data(code="A-01", materials=materials),
                          code="A", name="道路旅客运输班线经营许可"))  # fmt: skip
    create_user("editor1", "许昌交通运输2026审批", "editor")
    reviewer = create_user("reviewer1", "许昌交通运输2026审批", "reviewer")
    db.session.commit()
    upload = tmp_path / FORM_NAME
    upload.write_bytes(files.docx("道路旅客运输班线经营申请表"))
    with live_server(app) as base, chromium_page(viewport={"width": 1280, "height": 800}) as page:
        sign_in_page(page, base, "editor1", PASSWORD)
        page.goto(base + "/staff/handling/A-01/edit")
        page.get_by_role("link", name="上传/管理文件").first.click()
        expect(page.get_by_role("heading", name="空白表格与示例样表")).to_be_visible()
        page.get_by_label("文件类别").select_option(label="空白表格")
        page.get_by_label("文件（PDF").set_input_files(str(upload))
        page.get_by_label("修改原因").fill("上传空白申请表")
        page.get_by_role("button", name="上传到草稿").click()
        expect(page.locator(".notice").first).to_contain_text("已上传空白表格到草稿")
        expect(page.locator(".staff-files")).to_contain_text(FORM_NAME)
        page.screenshot(path="/tmp/p3-files-staff-1280.png", full_page=True)
        page.set_viewport_size(PHONE)
        no_sideways_scroll(page)
        page.screenshot(path="/tmp/p3-files-staff-390.png", full_page=True)
        # the edit page lists the material's file in its row and still fits a phone
        page.goto(base + "/staff/handling/A-01/edit")
        expect(page.locator(".cell-attachments").first).to_contain_text(f"空白表格：{FORM_NAME}")
        no_sideways_scroll(page)
        page.screenshot(path="/tmp/p3-files-edit-390.png", full_page=True)
        row = page.locator(".cell-attachments").first.locator("xpath=ancestor::tr")
        row.screenshot(path="/tmp/p3-files-edit-row-390.png")
        page.goto(base + "/staff/handling/A-01/materials/0/files")

        # a refused file: said on the page, nothing added
        fake = tmp_path / "申请表.pdf"
        fake.write_bytes(files.exe())
        page.get_by_label("文件（PDF").set_input_files(str(fake))
        page.get_by_label("修改原因").fill("上传")
        page.get_by_role("button", name="上传到草稿").click()
        expect(page.get_by_role("alert")).to_contain_text("文件未上传：文件是可执行程序")
        expect(page.locator(".staff-files li")).to_have_count(1)

        item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "A"))
        db.session.refresh(item)
        submit(item, actor="editor1", expected_version=editable_version(item))
        publish_draft(item, actor=reviewer, expected_version=editable_version(item), note="同意")
        db.session.commit()

        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(base + "/items/A")
        link = page.get_by_role("link", name="下载空白表格")
        expect(link).to_have_count(1)
        expect(page.locator(".material-files")).to_contain_text("Word 文档")
        page.screenshot(path="/tmp/p3-files-guide-1280.png", full_page=True)
        with page.expect_download() as download_info:
            link.click()
        download = download_info.value
        assert download.suggested_filename == FORM_NAME
        assert Path(download.path()).read_bytes() == files.docx("道路旅客运输班线经营申请表")

        page.set_viewport_size(PHONE)
        page.goto(base + "/items/A")
        no_sideways_scroll(page)
        expect(page.get_by_role("link", name="下载空白表格")).to_be_visible()
        page.screenshot(path="/tmp/p3-files-guide-390.png", full_page=True)
        page.goto(base + "/handling/A-01/notice")
        expect(page.get_by_role("link", name="下载空白表格")).to_be_visible()
        page.screenshot(path="/tmp/p3-files-notice-390.png", full_page=True)
        # WCAG 2.1 AA, as every other page (the editor is still signed in)
        checked = ["/items/A", "/handling/A-01/notice", "/staff/handling/A-01/materials/0/files"]
        assert violations(Axe(), page, base, checked) == {}
