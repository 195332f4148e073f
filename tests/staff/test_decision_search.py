"""The staff decision list at scale (catalog.decisions.staff_search) on SQLite and PostgreSQL:
whichever way a search is read (the table newest entered first, or the grams' candidates),
the list holds exactly the records a filter over every row in Python selects, page after page,
a natural person found by name and by ID number; the count stops at its limit and says so;
the unit and year choices are those of the records; an export counts its records the same way."""

from __future__ import annotations

import html
import re
from datetime import date
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from catalog.decisions import operations, staff_export, staff_search
from catalog.models import LicenceDecision, PenaltyDecision
from catalog.staff import decisions as staff_decisions
from tests.decisions.conftest import (  # noqa: F401 (fixtures)
    catalog_items,
    licence_data,
    penalty_data,
    periods,
)
from tests.decisions.test_search_index import credit_code

UNITS = ("行政审批服务科", "运输管理科")
MODELS = {"licence": LicenceDecision, "penalty": PenaltyDecision}
PERSONS = (("张三丰", "110105194912300008"), ("李四", "11010519491230018X"),
           ("张三", "110105194912300016"))  # fmt: skip


@pytest.fixture
def staff_records(db, catalog_items, periods):  # noqa: F811
    """Licences and penalties of organisations, sole traders and natural persons, in two units,
    some published late, over two years."""
    for n in range(12):
        unit, late = UNITS[n % 2], n % 3 == 0
        decided = date(2020 + n % 2, 6, 1)
        published = {"published_on": date(decided.year, 6, 30 if late else 3)}
        if n < 6:
            party = {"party_name": f"许昌市宏达{n}号物流有限公司", "party_class": "organisation",
                     "party_credit_code": credit_code(60 + n)}  # fmt: skip
        elif n < 9:
            name, number = PERSONS[n - 6]
            party = {"party_name": name, "party_class": "natural_person",
                     "party_credit_code": None, "legal_representative": None,
                     "party_id_type": "resident_id", "party_id_number": number}  # fmt: skip
        else:
            party = {"party_name": f"长葛市顺达{n}货运部", "party_class": "sole_trader",
                     "party_credit_code": credit_code(60 + n, "92411000MA")}  # fmt: skip
        operations.create_licence(licence_data(
            document_number=f"许交运许〔{decided.year}〕{n}号", data_source_unit=unit,
            decided_on=decided, valid_from=decided, **party, **published),
            actor="test")  # fmt: skip
        penalty_party = {key: value for key, value in party.items()
                         if key != "legal_representative"}  # fmt: skip
        if party["party_class"] != "natural_person":
            penalty_party.update(legal_representative="王五", party_id_type=None,
                                 party_id_number=None)  # fmt: skip
        operations.create_penalty(penalty_data(
            document_number=f"许交执罚〔{decided.year}〕{n}号", data_source_unit=unit,
            decided_on=decided, **penalty_party, **published), actor="test")  # fmt: skip
    db.session.commit()


def by_hand(db, kind: str, args: dict) -> list[str]:
    """The document numbers the list should show, newest entered first, from every row."""
    wanted = []
    for row in db.session.scalars(sa.select(MODELS[kind]).order_by(MODELS[kind].id.desc())):
        q = args.get("q", "")
        if q and not (q in row.document_number or q in row.party_name
                      or q.upper() in (row.party_credit_code, row.party_id_number)):  # fmt: skip
            continue
        if args.get("unit") and row.data_source_unit != args["unit"]:
            continue
        if args.get("late") and (row.published_on > row.publish_by) != (args["late"] == "1"):
            continue
        if args.get("year") and row.decided_on.year != int(args["year"]):
            continue
        wanted.append(row.document_number)
    return wanted


NUMBER = re.compile(r"许交(?:运许|执罚)〔20\d\d〕\d+号")


def listed(client, kind: str, args: dict) -> list[str]:
    """Every page of the staff list, following its "更早录入的记录" link."""
    found, path = [], "/staff/decisions?" + urlencode({"kind": kind, **args})
    for _page in range(50):
        response = client.get(path)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        found += NUMBER.findall(page.split("<tbody>")[1].split("</tbody>")[0])
        following = re.search(r'<a rel="next" href="([^"]+)"', page)
        if following is None:
            return found
        path = html.unescape(following.group(1))
    raise AssertionError("the pages do not end")


CHOICES = [{}, {"q": "宏达"}, {"q": "宏达3号"}, {"q": "张三"}, {"q": "三丰"}, {"q": "李"},
           {"q": "〔2020〕"}, {"q": PERSONS[1][1]}, {"q": PERSONS[1][1].lower()},
           {"q": credit_code(61)}, {"q": "顺达"}, {"q": "没有"},
           {"unit": UNITS[1]}, {"late": "1"}, {"late": "0", "year": "2021"},
           {"q": "宏达", "unit": UNITS[1]}, {"q": "张三", "late": "1"},
           {"q": "号", "unit": UNITS[0], "late": "1", "year": "2020"}]  # fmt: skip


@pytest.mark.parametrize("road", ["walk", "index"])
def test_the_staff_list_shows_what_a_filter_over_every_row_selects(
    db, staff_records, login_as, monkeypatch, road
):
    """Both roads of a search (the table newest entered first; the grams' candidates with the
    unit's and the late token, or a whole credit code or ID number), three rows a page."""
    monkeypatch.setattr(staff_search, "WALK_HITS", 0 if road == "walk" else 10**9)
    monkeypatch.setattr(staff_decisions, "PAGE_SIZE", 3)
    client = login_as("editor")
    for kind in MODELS:
        for args in CHOICES:
            wanted = by_hand(db, kind, args)
            assert listed(client, kind, args) == wanted, (kind, args)
    assert len(by_hand(db, "licence", {"q": "张三"})) == 2  # natural persons, by name
    assert by_hand(db, "licence", {"q": "宏达", "unit": UNITS[1]})  # not all empty


def test_a_word_of_the_items_names_only_walks_the_table(db, staff_records, login_as,
                                                         monkeypatch):  # fmt: skip
    """SQLite: a word with more candidates than CANDIDATE_LIMIT (one the grams hold for the
    item's name, which staff do not search) walks the table, finding the same rows."""
    monkeypatch.setattr(staff_search, "WALK_HITS", 10**9)
    monkeypatch.setattr(staff_search, "CANDIDATE_LIMIT", 3)
    client = login_as("editor")
    for args in ({"q": "经营"}, {"q": "宏达"}, {"q": "张三", "unit": UNITS[0]}):
        assert listed(client, "licence", args) == by_hand(db, "licence", args), args


def test_the_count_stops_at_its_limit_and_says_so(db, staff_records, login_as, monkeypatch):
    client = login_as("editor")
    page = client.get("/staff/decisions?kind=licence").get_data(as_text=True)
    assert "共 12 条行政许可决定" in page
    page = client.get("/staff/decisions?kind=licence&q=宏达").get_data(as_text=True)
    assert "共 6 条符合条件的行政许可决定" in page
    monkeypatch.setattr(staff_search, "STAFF_COUNT_LIMIT", 10)
    monkeypatch.setattr(staff_search, "STAFF_SEARCH_COUNT_LIMIT", 4)
    page = client.get("/staff/decisions?kind=licence").get_data(as_text=True)
    assert "超过 10 条行政许可决定" in page and "导出本列表的全部完整记录" in page
    page = client.get("/staff/decisions?kind=licence&q=宏达").get_data(as_text=True)
    assert "超过 4 条符合条件的行政许可决定" in page
    page = client.get("/staff/decisions?kind=licence&q=张三").get_data(as_text=True)
    assert "共 2 条符合条件的行政许可决定" in page


def test_a_search_without_results_says_what_it_searches_and_offers_no_export(
    db, staff_records, login_as
):
    """A word of an item's name finds nothing in the staff list (it searches numbers and
    parties): the page says what it searches and where the item goes, and offers no empty
    export."""
    client = login_as("editor")
    page = client.get("/staff/decisions?kind=licence&q=许可").get_data(as_text=True)
    assert "共 0 条符合条件的行政许可决定" in page
    assert "没有可导出的记录。" in page and "请填“事项编码”" in page
    assert "staff/decisions/export" not in page
    page = client.get("/staff/decisions?kind=penalty&q=没有这个词").get_data(as_text=True)
    assert "文书号、行政相对人名称" in page and "事项编码" not in page.split("没有可导出")[1]
    page = client.get("/staff/decisions?kind=licence&q=宏达").get_data(as_text=True)
    assert "没有可导出的记录" not in page and "导出本列表的 6 条完整记录" in page


def test_the_unit_and_year_choices_are_those_of_the_records(db, staff_records, login_as):
    client = login_as("editor")
    for kind, model in MODELS.items():
        page = client.get(f"/staff/decisions?kind={kind}").get_data(as_text=True)
        units = re.search(r'<select id="unit".*?</select>', page).group(0)
        years = re.search(r'<select id="year".*?</select>', page).group(0)
        rows = db.session.scalars(sa.select(model)).all()
        assert re.findall(r"<option(?: selected)?>([^<]+)</option>", units) == sorted(
            {row.data_source_unit for row in rows})  # fmt: skip
        wanted = sorted({row.decided_on.year for row in rows}, reverse=True)
        assert re.findall(r'<option value="(\d+)"', years) == [str(year) for year in wanted]


def test_an_export_counts_its_search_through_the_index(db, staff_records, login_as,
                                                      monkeypatch):  # fmt: skip
    client = login_as("editor")
    monkeypatch.setattr(staff_export, "EXPORT_LIMIT", 5)
    response = client.get("/staff/decisions/export.csv?kind=licence&q=宏达")
    assert response.status_code == 400  # 6 records
    assert "超过一次导出的上限 5 条" in response.get_data(as_text=True)
    response = client.get("/staff/decisions/export.csv?kind=licence&q=张三")
    lines = response.get_data(as_text=True).strip().splitlines()
    assert response.status_code == 200 and len(lines) == 1 + len(
        by_hand(db, "licence", {"q": "张三"}))  # fmt: skip
