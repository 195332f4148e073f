"""Every number of the report's 双公示 section traceable to its records (issue 24), on SQLite
and PostgreSQL: the report counts penalties whose publication has ended and decisions not yet
published, which the public list its number links to does not show. Each such number says how
many it counts that are not public, so that the number = the public list's rows + that count,
and staff get a link to the staff list with the same filters, which lists exactly the records
behind the number. And the licence-item lists: a retired or unpublished item with no decision
is not among "the items with none"; a retired item's decisions still count under it."""

from __future__ import annotations

import html
import io
import re
from datetime import date
from urllib.parse import parse_qsl, urlsplit

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from catalog.decisions import operations
from catalog.enums import Status
from catalog.models import ApprovalItem
from catalog.operations.items import retire_item
from catalog.reports.snapshots import create_snapshot
from catalog.services import create_item
from tests.api.test_views import assert_matches
from tests.decisions.conftest import licence_data, penalty_data
from tests.decisions.test_report_section import records, spec  # noqa: F401 (fixtures)
from tests.factories import handling_item_data, item_data
from tests.staff.conftest import accounts, fresh_limits, login_as  # noqa: F401 (fixtures)

# On the public's day (2021-01-15, test_report_section.TODAY) these are counted but not listed:
ENDED = "P3"  # 公示截止日期 2020-12-01 passed; on time
REPAIRED = "P4"  # credit repair on 2020-12-15; late, a warning
AHEAD = "许交运许〔2020〕8号"  # decided 2020-12-30, 公示日期 2021-02-01: not yet public, late


@pytest.fixture
def hidden_records(records, db):  # noqa: F811
    operations.create_penalty(
        penalty_data(document_number=ENDED, decided_on=date(2020, 3, 2),
                     published_on=date(2020, 3, 4), publication_ends_on=date(2020, 12, 1)),
        actor="test",
    )  # fmt: skip
    repaired = operations.create_penalty(
        penalty_data(document_number=REPAIRED, category="warning", fine_amount=None,
                     content="警告。", decided_on=date(2020, 5, 6),
                     published_on=date(2020, 6, 30)),
        actor="test",
    )  # fmt: skip
    operations.end_publication_early(
        repaired, reason="已整改，信用修复申请经审核通过。", actor="test", today=date(2020, 12, 15)
    )
    operations.create_licence(
        licence_data(document_number=AHEAD, decided_on=date(2020, 12, 30),
                     valid_from=date(2020, 12, 30), published_on=date(2021, 2, 1)),
        actor="test",
    )  # fmt: skip
    db.session.commit()


# -- the figures and the page ----------------------------------------------------------------

LINK = re.compile(r'href="(/decisions\?[^"]*)"[^>]*>(\d+)</a>')
NOTE = re.compile(
    r'<span class="small not-public" data-for="([^"]*)">其中 (\d+) 条不公开([^\n]*?)</span>'
)
STAFF_LINK = re.compile(r'<a class="staff-link" href="([^"]*)"[^>]*>([^<]*)</a>')


def _numbers(page: str) -> list[tuple[str, int, int, list[str]]]:
    """Each number linked to the public list: (its public link, the number, how many it says
    are not public, its staff links)."""
    notes = {
        html.unescape(href): (
            int(hidden),
            [html.unescape(h) for h, _text in STAFF_LINK.findall(rest)],
        )
        for href, hidden, rest in NOTE.findall(page)
    }
    numbers = []
    for href, number in LINK.findall(page):
        href = html.unescape(href)
        hidden, staff = notes.pop(href, (0, []))
        numbers.append((href, int(number), hidden, staff))
    assert not notes, notes  # every note stands under a number
    return numbers


def _public(client, href: str) -> list[str]:
    query = href.split("?", 1)[1]
    body = client.get(f"/api/v1/decisions?{query}&limit=100").get_json()
    assert body["total"] == len(body["decisions"]), body
    return sorted(row["document_number"] for row in body["decisions"])


def _staff(client, href: str) -> list[str]:
    """The document numbers the staff list shows at `href` (one page: under 50 here)."""
    page = client.get(href).get_data(as_text=True)
    total = int(re.search(r"共 (\d+) 条", page).group(1))
    listed = re.findall(r'href="/staff/decisions/(?:licence|penalty)/\d+">([^<]+)</a>', page)
    assert total == len(listed), href
    return sorted(html.unescape(number) for number in listed)


def _filters(href: str) -> str:
    """A link's filters other than the year, in a fixed order, to look up the hand count."""
    args = [(k, v) for k, v in parse_qsl(urlsplit(href).query) if k != "year"]
    return "&".join(f"{k}={v}" for k, v in sorted(args))


# The hand count: which records each number counts (A, B, C = 许交运许〔2020〕1-3号).
A, B, C = (f"许交运许〔2020〕{n}号" for n in (1, 2, 3))
COUNTED = {
    "kind=licence": [A, B, C, AHEAD],
    "kind=licence&late=0": [A, C],
    "kind=licence&late=1": [B, AHEAD],
    "item=L-1&kind=licence": [A, B, C, AHEAD],
    "kind=penalty": ["P1", "P2", ENDED, REPAIRED],
    "kind=penalty&late=0": ["P1", ENDED],
    "kind=penalty&late=1": ["P2", REPAIRED],
    "category=fine&kind=penalty": ["P1", ENDED],
    "category=warning&kind=penalty": ["P2", REPAIRED],
    "kind=licence&unit=行政审批服务科": [A, C, AHEAD],
    "kind=licence&unit=运输服务科": [B],
    "kind=penalty&unit=综合行政执法支队": ["P1", "P2", ENDED, REPAIRED],
    "late=0&unit=综合行政执法支队": ["P1", ENDED],
    "late=0&unit=行政审批服务科": [A, C],
    "late=0&unit=运输服务科": [],
}
NOT_PUBLIC = {ENDED, REPAIRED, AHEAD}


def test_the_not_public_counts_match_a_hand_count(client, hidden_records, spec, db):  # noqa: F811
    body = client.get("/api/v1/report").get_json()
    assert_matches(spec, "Report", body)
    hidden = body["decisions"]["not_public"]
    assert hidden["total"] == 3
    assert hidden["licence"] == {"total": 1, "on_time": 0, "late": 1, "by_item": {"L-1": 1}}
    assert hidden["penalty"] == {
        "total": 2, "on_time": 1, "late": 1, "by_category": {"fine": 1, "warning": 1},
    }  # fmt: skip
    assert hidden["by_unit"] == {
        "综合行政执法支队": {"licence": 0, "penalty": 2, "on_time": 1},
        "行政审批服务科": {"licence": 1, "penalty": 0, "on_time": 0},
    }
    report = body["decisions"]["report"]
    assert (report["licence"]["total"], report["penalty"]["total"]) == (4, 4)  # all counted
    exported = client.get("/reports/export.json").get_json()
    assert exported["decisions"]["not_public"] == hidden
    # a snapshot's figures link nowhere and keep no such count
    create_snapshot("可追溯", actor="tester")
    db.session.commit()
    frozen = client.get("/api/v1/report?snapshot=可追溯").get_json()["decisions"]
    assert frozen["not_public"] is None and frozen["report"]["penalty"]["total"] == 4


def test_every_number_is_its_public_rows_and_its_not_public_ones(client, hidden_records):
    """Public reader: number == rows of its public link + the not-public count beside it;
    no staff link is shown."""
    page = client.get("/reports").get_data(as_text=True)
    numbers = _numbers(page)
    assert len(numbers) >= len(COUNTED)
    seen = set()
    for href, number, hidden, staff in numbers:
        counted = COUNTED.get(_filters(href), [])  # (the other categories: none)
        seen.add(_filters(href))
        public = _public(client, href)
        assert number == len(counted) == len(public) + hidden, href
        assert public == sorted(set(counted) - NOT_PUBLIC), href
        assert hidden == len(set(counted) & NOT_PUBLIC), href
        assert staff == []
    assert seen >= set(COUNTED)
    assert "其中 2 条不公开" in page and "staff-link" not in page


def test_staff_links_open_exactly_the_records_behind_the_number(hidden_records, login_as):  # noqa: F811
    staff = login_as("editor")
    page = staff.get("/reports").get_data(as_text=True)
    numbers = _numbers(page)
    with_staff_links = [entry for entry in numbers if entry[2]]
    assert len(with_staff_links) >= 10
    for href, number, _hidden, staff_hrefs in with_staff_links:
        assert staff_hrefs and all(h.startswith("/staff/decisions?") for h in staff_hrefs), href
        # one link, or for a unit's on-time count (both kinds) one per kind
        listed = sorted(number for h in staff_hrefs for number in _staff(staff, h))
        assert len(listed) == number, staff_hrefs
        assert listed == sorted(COUNTED.get(_filters(href), [])), staff_hrefs
    unit_on_time = [e for e in with_staff_links if "kind=" not in e[0]]
    assert [len(e[3]) for e in unit_on_time] == [2]  # 综合行政执法支队's: P1 and P3


# -- the licence items in scope --------------------------------------------------------------


@pytest.fixture
def retired_items(records, db):  # noqa: F811
    """R-1: a licence item with a 2020 licence, retired since; R-2 retired and R-3 never
    published, both without decisions."""
    create_item(item_data(handling_item_data(code="R-1-01"), code="R-1", name="已停用的许可"),
                status=Status.published)  # fmt: skip
    operations.create_licence(
        licence_data(document_number="许交运许〔2020〕50号", item="R-1", handling_item="R-1-01"),
        actor="test",
    )
    create_item(item_data(handling_item_data(code="R-2-01"), code="R-2", name="停用无决定"),
                status=Status.retired)  # fmt: skip
    create_item(item_data(handling_item_data(code="R-3-01"), code="R-3", name="未发布无决定"),
                status=Status.unpublished)  # fmt: skip
    retired = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "R-1"))
    retire_item(retired, actor="test", reason="不再办理")
    db.session.commit()


def test_items_with_none_are_the_published_ones(client, retired_items, db):
    licence = client.get("/api/v1/report").get_json()["decisions"]["report"]["licence"]
    assert licence["without_decisions"] == ["L-2"]  # not: not offered
    counts = {entry["code"]: entry["count"] for entry in licence["by_item"]}
    assert counts == {"L-1": 3, "R-1": 1}  # the retired item's decision counts under it
    assert (licence["licence_items"], licence["with_decisions"]) == (3, 2)
    assert sum(counts.values()) == licence["total"]  # the items add up to the licences
    # the unit's figures: the same rule (R-1, R-2, R-3 are the unit's: handled by it)
    unit = client.get("/api/v1/report?decisions_unit=行政审批服务科").get_json()
    unit_licence = unit["decisions"]["report"]["licence"]
    assert unit_licence["without_decisions"] == ["L-2"]
    assert {e["code"]: e["count"] for e in unit_licence["by_item"]} == {"L-1": 2, "R-1": 1}
    # the retired item's number links to its decisions
    assert _public(client, "/decisions?year=2020&kind=licence&item=R-1") == ["许交运许〔2020〕50号"]


def test_the_exports_and_the_snapshot_use_the_same_lists(client, retired_items, db):
    licence = client.get("/api/v1/report").get_json()["decisions"]["report"]["licence"]
    sheet = load_workbook(io.BytesIO(client.get("/reports/export.xlsx").data))["双公示"]
    codes = {row[0]: row[2] for row in sheet.iter_rows(values_only=True) if row and row[0]}
    assert codes.get("R-1") == 1 and codes.get("L-2") == 0
    assert "R-2" not in codes and "R-3" not in codes
    csv_text = client.get("/reports/export.csv").get_data(as_text=True)
    assert "R-1" in csv_text and "R-2" not in csv_text and "R-3" not in csv_text
    create_snapshot("停用之后", actor="tester")
    db.session.commit()
    frozen = client.get("/api/v1/report?snapshot=停用之后").get_json()["decisions"]["report"]
    assert frozen["licence"]["without_decisions"] == licence["without_decisions"]
    assert frozen["licence"]["by_item"] == licence["by_item"]
    frozen_unit = client.get(
        "/api/v1/report?snapshot=停用之后&decisions_unit=行政审批服务科"
    ).get_json()["decisions"]["report"]["licence"]
    assert frozen_unit["without_decisions"] == ["L-2"]
