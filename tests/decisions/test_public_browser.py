"""A citizen checking a company in real headless Chromium (issue 24): from the home page to the
双公示 list, a search by the company's name, its decision, its organisation page with its
licences and penalties; an expired penalty nowhere. Screenshots at a desktop's and a phone's
width go to the test's temporary folder (and to $DECISION_SCREENSHOTS when set)."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect

from catalog.decisions import listing, operations
from tests.browser import chromium_page, live_server
from tests.decisions.conftest import ORGANISATION_CODE, PERSON_ID, licence_data, penalty_data

pytestmark = pytest.mark.browser

COMPANY = "许昌市宏达顺通物流有限公司"


@pytest.fixture
def company(db, catalog_items, periods, monkeypatch):
    monkeypatch.setattr(listing, "public_today", lambda: date(2020, 12, 1))
    organisation = {
        "party_name": COMPANY, "party_class": "organisation",
        "party_credit_code": ORGANISATION_CODE, "legal_representative": "王五",
        "party_id_type": None, "party_id_number": None,
    }  # fmt: skip
    operations.create_licence(licence_data(party_name=COMPANY), actor="test")
    operations.create_licence(
        licence_data(document_number="许交运许〔2020〕7号", party_name="张三",
                     party_class="natural_person", party_credit_code=None,
                     legal_representative=None, party_id_type="resident_id",
                     party_id_number=PERSON_ID),
        actor="test",
    )  # fmt: skip
    operations.create_penalty(
        penalty_data(**organisation, violation_type="超限运输", decided_on=date(2020, 9, 1),
                     published_on=date(2020, 9, 3)),
        actor="test",
    )  # fmt: skip
    operations.create_penalty(  # its publication ended on 2020-08-01: not shown
        penalty_data(**organisation, document_number="许交执罚〔2019〕5号",
                     decided_on=date(2019, 8, 1), published_on=date(2019, 8, 2),
                     publication_ends_on=date(2020, 8, 1)),
        actor="test",
    )  # fmt: skip
    db.session.commit()


def _screenshot(page, tmp_path: Path, name: str) -> None:
    folder = Path(os.environ.get("DECISION_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, width)
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_citizen_checks_a_company_by_name(app, company, tmp_path):
    with live_server(app) as base_url, chromium_page() as page:
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(base_url + "/")
        page.get_by_role("link", name="查询行政许可和行政处罚决定").click()
        page.wait_for_url(re.compile(r"/decisions$"))
        _screenshot(page, tmp_path, "list")

        page.get_by_label("查询单位或决定").fill("宏达顺通")
        page.get_by_role("button", name="查询", exact=True).click()
        page.wait_for_url(re.compile(r"/decisions\?q="))
        expect(page.get_by_role("heading", level=2, name="共 2 条决定")).to_be_visible()
        expect(page.locator(".hit-title")).to_have_text([COMPANY, COMPANY])
        _screenshot(page, tmp_path, "search")

        page.locator(".hit", has_text="行政处罚").locator(".hit-title").click()
        assert "超限运输" in page.locator("main").inner_text()
        _screenshot(page, tmp_path, "penalty")

        page.get_by_role("link", name=COMPANY).click()
        page.wait_for_url(re.compile(rf"/decisions/organisations/{ORGANISATION_CODE}$"))
        expect(page.get_by_role("heading", level=1)).to_have_text(COMPANY)
        expect(page.get_by_role("heading", name="行政许可决定 1 条")).to_be_visible()
        expect(page.get_by_role("heading", name="行政处罚决定 1 条")).to_be_visible()
        main = page.locator("main").inner_text()
        assert "许交运许〔2020〕1号" in main and "许交执罚〔2020〕1号" in main
        assert "许交执罚〔2019〕5号" not in main  # past its 公示截止日期
        _screenshot(page, tmp_path, "organisation")

        page.locator(".hit", has_text="许交运许〔2020〕1号").locator(".hit-title").click()
        assert "道路运输经营许可证" in page.locator("main").inner_text()
        _screenshot(page, tmp_path, "licence")

        # a natural person's licence: not found by the name, the ID number masked on its page
        page.goto(base_url + "/decisions?q=张三")
        expect(page.get_by_role("heading", level=2, name="共 0 条决定")).to_be_visible()
        page.goto(base_url + "/decisions?kind=licence")
        page.locator(".hit-title", has_text="张三").click()
        main = page.locator("main").inner_text()
        assert PERSON_ID not in main and PERSON_ID[:4] + "*" * 10 + PERSON_ID[-4:] in main
        _screenshot(page, tmp_path, "person")
        assert errors == []
