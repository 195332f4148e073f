"""In real headless Chromium (issue 24): a member of staff filters the decision list and
downloads its export, whose file has exactly the list's rows, whole ID numbers included; and
from the report, a number with penalties no longer public leads staff to all its records.
Every page at 1280 and 390 px without sideways scroll; screenshots in tmp/ of the worktree:
decision-export-{list,report-staff,report-public}-{1280,390}.png."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from catalog.accounts import create_user
from tests.browser import chromium_page, live_server, sign_in_page
from tests.decisions.conftest import PERSON_ID
from tests.decisions.test_report_section import records  # noqa: F401 (fixture)
from tests.decisions.test_report_traceable import ENDED, REPAIRED, hidden_records  # noqa: F401
from tests.staff.conftest import PASSWORD
from tests.staff.test_decision_export import catalog_items, decisions, periods  # noqa: F401

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "tmp"
WIDTHS = (1280, 390)


def shoot(page: Page, name: str, part: str | None = None) -> None:
    """The page (or only the element `part`) at each width; none scrolls sideways."""
    SCREENSHOTS.mkdir(exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        path = SCREENSHOTS / f"decision-export-{name}-{width}.png"
        if part:
            page.locator(part).screenshot(path=str(path))
        else:
            page.screenshot(path=str(path), full_page=True)
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"{name} scrolls sideways at {width} px ({wide} px)"
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.usefixtures("decisions")
def test_staff_filter_the_list_and_download_its_export(app, db):
    create_user("editor1", PASSWORD, "editor")
    db.session.commit()
    with (
        live_server(app) as base,
        chromium_page(viewport={"width": 1280, "height": 900}, accept_downloads=True) as page,
    ):
        sign_in_page(page, base, "editor1", PASSWORD)
        page.goto(base + "/staff/decisions")
        page.get_by_role("link", name="行政处罚决定").click()
        expect(page.locator("#category")).to_be_visible()
        page.locator("#category").select_option(label="罚款")
        page.get_by_role("button", name="筛选").click()
        expect(page.locator("table.decisions caption")).to_contain_text("共 2 条符合条件的")
        shown = sorted(page.locator("table.decisions tbody td:first-child a").all_inner_texts())
        assert shown == ["罚1", "罚3"]
        shoot(page, "list")
        with page.expect_download() as csv_download:
            page.get_by_role("link", name="CSV").click()
        text = Path(csv_download.value.path()).read_text(encoding="utf-8")
        assert text.startswith("\ufeff")
        rows = list(csv.DictReader(io.StringIO(text[1:])))
        assert sorted(row["行政处罚决定书文号"] for row in rows) == shown
        assert {row["证件号码"] for row in rows} == {PERSON_ID}
        with page.expect_download() as xlsx_download:
            page.get_by_role("link", name="Excel（.xlsx）").click()
        sheet = load_workbook(io.BytesIO(Path(xlsx_download.value.path()).read_bytes())).active
        numbers = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
        assert sorted(numbers) == shown


@pytest.mark.usefixtures("hidden_records")
def test_a_report_number_leads_staff_to_all_its_records(app, db):
    create_user("editor1", PASSWORD, "editor")
    db.session.commit()
    with live_server(app) as base, chromium_page(viewport={"width": 1280, "height": 900}) as page:
        page.goto(base + "/reports#decisions-heading")
        expect(page.locator(".not-public").first).to_contain_text("条不公开")
        expect(page.locator(".decisions-report .staff-link")).to_have_count(0)
        shoot(page, "report-public", ".decisions-report")
        sign_in_page(page, base, "editor1", PASSWORD)
        page.goto(base + "/reports#decisions-heading")
        totals = page.locator("table.decision-totals tbody tr").nth(1)  # 行政处罚
        expect(totals.locator(".not-public").first).to_contain_text("其中 2 条不公开")
        shoot(page, "report-staff", ".decisions-report")
        totals.get_by_role("link", name=re.compile("查看全部")).first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("双公示决定")
        expect(page.locator("table.decisions caption")).to_contain_text("共 4 条")
        listed = page.locator("table.decisions tbody td:first-child a").all_inner_texts()
        assert {ENDED, REPAIRED} <= set(listed) and len(listed) == 4
