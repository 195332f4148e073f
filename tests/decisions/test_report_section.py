"""The report's 双公示 section (issue 24 part 6): the /reports page, the XLSX sheet, the JSON
export, /api/v1/report and snapshots, held to a hand count over a few records made here, and
every number's link to the public list showing exactly the records counted."""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, date, datetime
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from catalog.decisions import listing, operations
from catalog.enums import Status
from catalog.models import Snapshot
from catalog.reports.decisions import NOT_FROZEN
from catalog.reports.snapshots import create_snapshot
from catalog.services import create_item
from tests.api.test_views import assert_matches
from tests.browser import chromium_page, live_server
from tests.decisions.conftest import ORGANISATION_CODE, licence_data, penalty_data
from tests.factories import handling_item_data, item_data

TODAY = date(2021, 1, 15)  # the public's day: every 2020 decision published, penalties still on


@pytest.fixture
def records(db, catalog_items, periods, monkeypatch):
    """2020: licences A (on time), B (late), C (on time) of item L-1; a 2019 licence; penalties
    P1 (fine 3 万元, on time) and P2 (warning, late). L-2 is a licence item with none."""
    monkeypatch.setattr(listing, "public_today", lambda: TODAY)
    create_item(item_data(handling_item_data(code="L-2-01"), code="L-2", name="危险货物运输许可"),
                status=Status.published)  # fmt: skip
    org = {"party_name": "许昌示例运输有限公司", "party_class": "organisation",
           "party_credit_code": ORGANISATION_CODE, "legal_representative": "王五",
           "party_id_type": None, "party_id_number": None}  # fmt: skip
    for number, unit, decided, published in (
        ("许交运许〔2020〕1号", "行政审批服务科", date(2020, 6, 1), date(2020, 6, 3)),
        ("许交运许〔2020〕2号", "运输服务科", date(2020, 6, 1), date(2020, 7, 1)),
        ("许交运许〔2020〕3号", "行政审批服务科", date(2020, 9, 1), date(2020, 9, 2)),
        ("许交运许〔2019〕1号", "行政审批服务科", date(2019, 9, 2), date(2019, 9, 3)),
    ):
        operations.create_licence(
            licence_data(document_number=number, data_source_unit=unit, decided_on=decided,
                         valid_from=decided, published_on=published),
            actor="test",
        )  # fmt: skip
    operations.create_penalty(penalty_data(document_number="P1", **org), actor="test")
    operations.create_penalty(
        penalty_data(document_number="P2", category="warning", fine_amount=None,
                     content="警告。", published_on=date(2020, 6, 30), **org),
        actor="test",
    )  # fmt: skip
    db.session.commit()


def _section(client, query: str = "") -> dict:
    body = client.get(f"/api/v1/report?{query}").get_json()
    return body["decisions"]


def test_the_figures_match_a_hand_count(client, records, spec):
    body = client.get("/api/v1/report").get_json()
    assert_matches(spec, "Report", body)
    section = body["decisions"]
    assert section["year"] == 2020 and section["years"] == [2019, 2020]
    report = section["report"]
    licence, penalty = report["licence"], report["penalty"]
    assert licence["total"] == 3
    assert licence["on_time"] == {"count": 2, "total": 3, "percent": 66.67}
    assert [entry["document_number"] for entry in licence["late"]] == ["许交运许〔2020〕2号"]
    late = licence["late"][0]
    assert (late["decided_on"], late["published_on"]) == ("2020-06-01", "2020-07-01")
    assert late["publish_by"] == "2020-06-10"  # 7 working days after Monday 1 June
    assert licence["by_item"] == [{"code": "L-1", "name": licence["by_item"][0]["name"],
                                   "count": 3}]  # fmt: skip
    assert licence["without_decisions"] == ["L-2"]
    assert (licence["licence_items"], licence["with_decisions"]) == (2, 1)
    assert penalty["total"] == 2
    assert penalty["on_time"] == {"count": 1, "total": 2, "percent": 50.0}
    assert [entry["document_number"] for entry in penalty["late"]] == ["P2"]
    assert penalty["fine_total"] == 3.0
    categories = {entry["key"]: entry for entry in penalty["by_category"]}
    assert (categories["fine"]["count"], categories["fine"]["fine_total"]) == (1, 3.0)
    assert (categories["warning"]["count"], categories["warning"]["fine_total"]) == (1, 0.0)
    units = {entry["unit"]: entry for entry in report["by_unit"]}
    assert (
        units["行政审批服务科"]["licence"] == 2 and units["行政审批服务科"]["on_time"]["count"] == 2
    )
    assert units["运输服务科"]["licence"] == 1 and units["运输服务科"]["on_time"]["count"] == 0
    assert units["综合行政执法支队"]["penalty"] == 2
    assert units["综合行政执法支队"]["on_time"] == {"count": 1, "total": 2, "percent": 50.0}
    # another year on request; the JSON export gives the same section
    assert _section(client, "decisions_year=2019")["report"]["licence"]["total"] == 1
    assert _section(client, "decisions_year=2021")["report"] is None
    exported = client.get("/reports/export.json?decisions_year=2019").get_json()
    assert exported["decisions"] == _section(client, "decisions_year=2019")


def _links(page: str) -> dict[str, int]:
    """Every link of the page to the public list, with the number it is drawn on."""
    found = re.findall(r'href="(/decisions\?[^"]*)"[^>]*>(\d+)</a>', page)
    return {html.unescape(href): int(number) for href, number in found}


def _listed(client, href: str) -> list[str]:
    query = href.split("?", 1)[1]
    body = client.get(f"/api/v1/decisions?{query}&limit=100").get_json()
    assert body["total"] == len(body["decisions"]), body
    return sorted(row["document_number"] for row in body["decisions"])


def test_every_number_links_to_exactly_the_records_it_counts(client, records):
    response = client.get("/reports")
    assert response.status_code == 200
    links = _links(response.get_data(as_text=True))
    expected = {  # the hand count: which records each figure counts
        "kind=licence": ["许交运许〔2020〕1号", "许交运许〔2020〕2号", "许交运许〔2020〕3号"],
        "kind=licence&late=0": ["许交运许〔2020〕1号", "许交运许〔2020〕3号"],
        "kind=licence&late=1": ["许交运许〔2020〕2号"],
        "kind=penalty": ["P1", "P2"],
        "kind=penalty&late=0": ["P1"],
        "kind=penalty&late=1": ["P2"],
        "kind=licence&item=L-1": [
            "许交运许〔2020〕1号",
            "许交运许〔2020〕2号",
            "许交运许〔2020〕3号",
        ],
        "kind=penalty&category=fine": ["P1"],
        "kind=penalty&category=warning": ["P2"],
        "kind=licence&unit=运输服务科": ["许交运许〔2020〕2号"],
        "kind=licence&unit=行政审批服务科": ["许交运许〔2020〕1号", "许交运许〔2020〕3号"],
        "kind=penalty&unit=综合行政执法支队": ["P1", "P2"],
        "unit=综合行政执法支队&late=0": ["P1"],
    }
    by_filters = {}
    for href, number in links.items():
        query = unquote(href.split("?", 1)[1])
        args = sorted(part for part in query.split("&") if part != "year=2020")
        assert "year=2020" in href, href
        listed = _listed(client, href)
        assert len(listed) == number, (href, listed)  # every number is what its link shows
        by_filters["&".join(args)] = listed
    for filters, documents in expected.items():
        key = "&".join(sorted(filters.split("&")))
        assert by_filters[key] == sorted(documents), filters


def test_a_penalty_no_longer_public_is_counted_but_not_listed(client, records, db):
    """The documented choice: the report counts every decision; the public list (and so the
    link) shows only penalties still published."""
    operations.create_penalty(
        penalty_data(document_number="P3", decided_on=date(2020, 3, 2),
                     published_on=date(2020, 3, 4), publication_ends_on=date(2020, 12, 1)),
        actor="test",
    )  # fmt: skip
    db.session.commit()
    assert _section(client)["report"]["penalty"]["total"] == 3
    page = client.get("/reports").get_data(as_text=True)
    assert "不再公开" in page
    assert _listed(client, "/decisions?year=2020&kind=penalty") == ["P1", "P2"]


def test_the_xlsx_has_a_sheet_of_the_same_figures(client, records):
    response = client.get("/reports/export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data))["双公示"]
    rows = list(sheet.iter_rows(values_only=True))
    licence = next(row for row in rows if row[0] == "行政许可")
    assert list(licence[1:3]) == [3, 2]
    assert round(licence[3], 4) == 0.6667 and licence[4] == 1
    penalty = next(row for row in rows if row[0] == "行政处罚")
    assert list(penalty[1:3]) == [2, 1] and penalty[4] == 1
    documents = {row[1] for row in rows}
    assert {"许交运许〔2020〕2号", "P2"} <= documents
    assert next(row for row in rows if row[0] == "L-1")[2] == 3
    assert next(row for row in rows if row[0] == "L-2")[2] == 0
    assert list(next(row for row in rows if row[0] == "罚款")[1:3]) == [1, 3.0]


def test_a_snapshot_keeps_its_figures_after_records_change(client, records, db):
    create_snapshot("双公示前", actor="tester")
    db.session.commit()
    operations.create_licence(
        licence_data(document_number="许交运许〔2020〕9号", decided_on=date(2020, 10, 9),
                     valid_from=date(2020, 10, 9), published_on=date(2020, 10, 12)),
        actor="test",
    )  # fmt: skip
    db.session.commit()
    assert _section(client)["report"]["licence"]["total"] == 4
    frozen = _section(client, "snapshot=双公示前")
    assert frozen["report"]["licence"]["total"] == 3 and frozen["years"] == [2019, 2020]
    assert (
        _section(client, "snapshot=双公示前&decisions_year=2019")["report"]["licence"]["total"] == 1
    )
    page = client.get("/reports?snapshot=双公示前").get_data(as_text=True)
    assert "快照中的数字是生成快照时的统计" in page
    assert not _links(page)  # a snapshot's figures link nowhere: the list is today's


def test_a_snapshot_made_before_the_section_says_so(client, records, db):
    old_form = client.get("/api/v1/report").get_json()
    del old_form["decisions"]  # as stored before this section existed
    db.session.add(Snapshot(label="旧快照", created_at=datetime(2026, 1, 1, tzinfo=UTC),
                            created_by="tester", fingerprint=old_form["fingerprint"],
                            report=old_form))  # fmt: skip
    db.session.commit()
    page = client.get("/reports?snapshot=旧快照")
    assert page.status_code == 200 and NOT_FROZEN in page.get_data(as_text=True)
    assert _section(client, "snapshot=旧快照") is None
    workbook = load_workbook(io.BytesIO(client.get("/reports/export.xlsx?snapshot=旧快照").data))
    assert NOT_FROZEN in [row[0] for row in workbook["双公示"].iter_rows(values_only=True)]


def test_a_catalog_without_decisions_has_an_empty_section(client, db):
    assert _section(client) == {
        "year": None,
        "years": [],
        "unit": None,
        "units": [],
        "report": None,
        "not_public": None,
    }
    page = client.get("/reports")
    assert page.status_code == 200 and "目前没有行政许可或行政处罚决定记录" in page.get_data(
        as_text=True
    )


@pytest.mark.parametrize("year", ["20", "abcd", "1999", "2100", "%D9%A2%D9%A0%D9%A2%D9%A0"])
@pytest.mark.parametrize("path", ["/reports", "/api/v1/report", "/reports/export.xlsx",
                                  "/reports/export.json"])  # fmt: skip
def test_a_bad_year_is_400_in_chinese(client, db, path, year):
    response = client.get(f"{path}?decisions_year={year}")
    assert response.status_code == 400
    assert "双公示年份" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("late=2", "逾期公示"),
        ("category=fines", "处罚类别"),
        ("kind=licence&category=fine", "处罚类别"),
    ],
)
def test_the_lists_new_filters_refuse_bad_values(client, db, query, field):
    for path in ("/decisions", "/api/v1/decisions", "/decisions.csv"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400 and field in response.get_data(as_text=True), path


@pytest.fixture
def spec(app):
    with app.test_request_context():
        return app.test_client().get("/api/v1/openapi.json").get_json()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_section_fits_the_screen_and_its_links_open_the_list(app, records, width):
    with live_server(app) as base, chromium_page(viewport={"width": width, "height": 900}) as page:
        page.goto(base + "/reports")
        assert page.evaluate("document.documentElement.scrollWidth") == width
        section = page.locator("section.decisions-report")
        section.get_by_role("link", name="行政许可逾期公示：查看这1条决定").click()
        page.wait_for_url(re.compile(r"/decisions\?"))
        assert "许交运许〔2020〕2号" in page.content()
        assert "许交运许〔2020〕1号" not in page.content()
        # one unit's view: chosen in the section's form, it still fits, its links keep the unit
        page.goto(base + "/reports")
        form = page.locator("section.decisions-report form")
        form.get_by_label("数据来源单位").select_option("行政审批服务科")
        form.get_by_role("button", name="查看").click()
        page.wait_for_url(re.compile(r"decisions_unit="))
        expect(page.locator("p.unit-view")).to_contain_text("行政审批服务科")
        assert page.evaluate("document.documentElement.scrollWidth") == width
        section.get_by_role("link", name="行政许可决定：查看这2条决定").click()
        page.wait_for_url(re.compile(r"/decisions\?.*unit="))
        expect(page.locator("main")).to_contain_text("许交运许〔2020〕3号")
        assert "许交运许〔2020〕2号" not in page.content()
