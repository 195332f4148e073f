"""An auditor's afternoon in real headless Chromium: read the report, follow a number to its
handling items, download the workbook, change a limit as staff, snapshot, compare, print."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from pypdf import PdfReader

from catalog.accounts import create_user
from catalog.ratios import percent
from tests.browser import chromium_page, live_server
from tests.staff.conftest import PASSWORD

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHANGED = "XCJT-01-100-01"  # statutory 2, promised 1 in the seed: below the 75 % rule


def sign_in_as(page, base: str, username: str) -> None:
    page.goto(base + "/staff/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/staff/$"))


def test_an_auditor_traces_downloads_snapshots_and_compares(app, seeded, db, tmp_path):
    create_user("bianji", PASSWORD, "editor")
    create_user("shenhe", PASSWORD, "reviewer")
    db.session.commit()
    ARTIFACTS.mkdir(exist_ok=True)
    with live_server(app) as base, chromium_page(accept_downloads=True) as page:
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(base + "/reports")
        page.screenshot(path=ARTIFACTS / "report.png", full_page=True)
        page.get_by_role("link", name=re.compile(r"^不见面审批占比 90\.95%")).click()
        page.wait_for_url(re.compile(r"/reports/items\?measure=no_visit"))
        expect(page.locator("tbody tr")).to_have_count(181)
        assert "共 181 个业务办理项" in page.locator("p.lead").inner_text()

        page.goto(base + "/reports")
        with page.expect_download() as download:
            page.get_by_role("link", name="电子表格（XLSX）").click()
        path = tmp_path / download.value.suggested_filename
        download.value.save_as(path)
        summary = load_workbook(path, read_only=True)["汇总"]
        rows = {row[0]: row[1:4] for row in summary.iter_rows(values_only=True) if row and row[0]}
        assert rows["不见面审批占比"][:2] == (181, 199)
        assert rows["时限压缩比"][2] == pytest.approx(0.8769)

        # an editor changes one promised limit and submits it; a reviewer publishes it
        sign_in_as(page, base, "bianji")
        page.goto(base + f"/staff/handling/{CHANGED}/edit")
        page.get_by_label("承诺时限（工作日）").fill("0")
        page.get_by_label("修改原因").fill("承诺时限改为当场办结")
        page.get_by_role("button", name="保存为草稿").click()
        page.get_by_role("button", name="提交审核").click()
        page.get_by_role("button", name="退出登录").click()
        sign_in_as(page, base, "shenhe")
        page.goto(base + f"/staff/items/{CHANGED.rsplit('-', 1)[0]}")
        page.get_by_role("button", name="审核通过并发布").click()
        page.wait_for_url(re.compile(r"/staff/items/"))
        page.goto(base + "/staff/snapshots")
        page.get_by_label("快照名称").fill("2021-06")
        page.get_by_role("button", name="生成快照").click()
        page.wait_for_url(re.compile(r"/reports\?snapshot=2021-06"))

        page.goto(base + "/reports/compare?from=2020&to=2021-06")
        changes = page.locator("table.diff").inner_text()
        assert "承诺时限" in changes and "1" in changes and "0" in changes
        compression = page.get_by_role("row", name=re.compile("^时限压缩比")).inner_text()
        after = percent(2438 - 299, 2438)  # one promised day less in the sum
        assert f"{after}%" in compression and f"+{after - Decimal('87.69')}" in compression

        page.goto(base + "/reports?snapshot=2020")
        page.emulate_media(media="print")
        expect(page.locator(".print-header")).to_be_visible()
        assert not page.locator(".downloads").is_visible()
        pdf = page.pdf(format="A4", print_background=True)
        assert errors == []
    pages = [re.sub(r"\s+", " ", page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages]
    (ARTIFACTS / "report-print.pdf").write_bytes(pdf)
    text, first_page = "\n".join(pages), pages[0]
    assert "许昌市交通运输局" in first_page and "快照 2020" in first_page
    assert len(pages) > 1
    for number, text_of_page in enumerate(pages, start=1):  # the running header and footer
        assert "许昌市交通运输局 · 审批事项改革指标报告" in text_of_page
        assert "快照 2020 · 打印日期" in text_of_page
        assert f"第 {number} / {len(pages)} 页" in text_of_page
    assert re.search(r"打印日期 \d{4}-\d{2}-\d{2}", first_page)
    assert "90.95%" in text and "87.69%" in text
