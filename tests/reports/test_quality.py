"""The report's data-quality section (要素完整率) on both databases: the SQL predicates held to
catalog.elements, the figures of a catalog with known gaps worked out by hand, the lists behind
every count, snapshots, the page and the JSON."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from catalog.elements import ELEMENTS, gaps
from catalog.enums import Status
from catalog.figures import MISSING_PREDICATES, quality_counts
from catalog.models import ApprovalItem, HandlingItem
from catalog.reports.document import build_report
from catalog.reports.measures import MEASURES, MISSING_PREFIX
from catalog.reports.queries import QUALITY_NOT_AVAILABLE, ReportInputError, provenance
from catalog.reports.rows import (
    live_handling_rows,
    live_items,
    published_catalog,
    rows_from_catalog,
)
from catalog.reports.snapshots import create_snapshot, live_source, source
from catalog.services import create_item, item_data
from tests.api.test_views import assert_matches
from tests.factories import handling_item_data, publish
from tests.factories import item_data as payload
from tests.reports.conftest import insert_old_form_snapshot

# Every element missing on its own, as the services store it (None, [] or blank text), and a
# few together; each item has a complete handling item beside the one with gaps.
ITEM_GAPS = {
    "implementing_body": {"implementing_body": None},
    "handling_unit": {"handling_unit": "   "},
    "exercise_level": {"exercise_level": None},
    "power_source": {"power_source": None},
    "service_targets": {"service_targets": []},
    "legal_basis": {"legal_basis": []},
    "conditions": {"conditions": ""},
    "result.name": {"result": {"name": None, "type": "certificate"}},
    "result.type": {"result": {"name": "许可证", "type": None}},
    "consultation": {"consultation": None},
    "complaint": {"complaint": None},
    "location": {"location": None},
    "hours": {"hours": None},
}
HANDLING_GAPS = {
    "situation": {"situation": None},
    "visit_reason": {"visits": 1, "visit_reason": None},
    "forms": {"forms": []},
    "online_depth": {"online_depth": None},
    "fees": {"fees": None},
    "materials": {"materials": []},
    "steps": {"steps": []},
}


def gap_catalog(status: Status = Status.published) -> list[dict]:
    payloads = []
    for number, (_key, overrides) in enumerate(ITEM_GAPS.items()):
        payloads.append(payload(code=f"G-I{number:02d}", **overrides))
    for number, (_key, overrides) in enumerate(HANDLING_GAPS.items()):
        code = f"G-H{number:02d}"
        payloads.append(
            payload(
                handling_item_data(code=f"{code}-01"),
                handling_item_data(code=f"{code}-02", **overrides),
                code=code,
            )
        )
    payloads.append(  # several at once, and a visit with its reason and a fee: no gap there
        payload(
            handling_item_data(code="G-M-01", situation="", online_depth=None, steps=[]),
            handling_item_data(code="G-M-02", visits=2, visit_reason="核验原件",
                               fees=[{"name": "工本费", "standard": "10元/本", "amount": "10",
                                      "basis": "豫价费〔2000〕1号"}]),
            code="G-M", implementing_body=None, legal_basis=[], hours=None,
        )
    )  # fmt: skip
    return payloads


def sql_missing(*conditions) -> dict[str, list[str]]:
    """The keys each handling item's row lacks by the SQL predicates (in or out of scope)."""
    flags = [sa.case((p, 1), else_=0) for p in MISSING_PREDICATES.values()]
    rows = db_session().execute(
        sa.select(HandlingItem.code, *flags).join(ApprovalItem).where(*conditions)
    )
    return {code: [k for k, f in zip(MISSING_PREDICATES, fs, strict=True) if f]
            for code, *fs in rows}  # fmt: skip


def db_session():
    from catalog.extensions import db

    return db.session


def test_the_sql_predicates_are_the_elements_definitions(db):
    """Each SQL predicate says of every row what the element's `missing` says of item_data()."""
    assert list(MISSING_PREDICATES) == [element.key for element in ELEMENTS]
    for number, data in enumerate(gap_catalog()):
        create_item(data, status=Status.published if number % 2 else Status.unpublished)
    db.session.commit()
    expected = {}
    for item in db.session.scalars(sa.select(ApprovalItem)):
        found = gaps(item_data(item))
        for handling in item.handling_items:
            expected[handling.code] = found.of(handling.code)
    assert sql_missing() == expected
    # every element is missing somewhere, and found there alone
    assert expected["G-I00-01"] == ["implementing_body"]
    assert expected["G-H01-02"] == ["visit_reason"] and expected["G-H01-01"] == []
    assert expected["G-M-01"] == ["implementing_body", "legal_basis", "hours", "situation",
                                  "online_depth", "steps"]  # fmt: skip
    assert {key for keys in expected.values() for key in keys} == set(MISSING_PREDICATES)


# The catalog the figures are worked out by hand for.
HAND = [
    payload(code="Q-A"),  # complete
    payload(
        handling_item_data(code="Q-B-01"),
        handling_item_data(code="Q-B-02", online_depth=None, fees=None, steps=[]),
        code="Q-B", implementing_body=None, legal_basis=[],
    ),
    payload(
        handling_item_data(code="Q-C-01", situation=None, visits=1, visit_reason=None, forms=[],
                           materials=[]),
        code="Q-C",
    ),
    payload(code="Q-F", service_targets=[], result=None, hours="  "),
]  # fmt: skip
HAND_OUT_OF_SCOPE = payload(code="Q-U", implementing_body=None, handling_unit=None)
# Q-A-01 is the one complete handling item of five in scope (Q-B-01 lacks its item's elements)
HAND_COMPLETE = ["Q-A-01"]
HAND_INCOMPLETE = ["Q-B-01", "Q-B-02", "Q-C-01", "Q-F-01"]
HAND_LACKING = {
    "implementing_body": ["Q-B-01", "Q-B-02"],
    "legal_basis": ["Q-B-01", "Q-B-02"],
    "service_targets": ["Q-F-01"],
    "result.name": ["Q-F-01"],
    "result.type": ["Q-F-01"],
    "hours": ["Q-F-01"],
    "situation": ["Q-C-01"],
    "visit_reason": ["Q-C-01"],
    "forms": ["Q-C-01"],
    "materials": ["Q-C-01"],
    "online_depth": ["Q-B-02"],
    "fees": ["Q-B-02"],
    "steps": ["Q-B-02"],
}


@pytest.fixture
def hand(db):
    publish(db, *HAND)
    create_item(HAND_OUT_OF_SCOPE)  # unpublished: out of the report's scope
    db.session.commit()


def test_the_figures_of_a_catalog_with_known_gaps(hand, db):
    quality = live_source().report["data_quality"]
    assert (quality["handling_items"], quality["complete"], quality["incomplete"]) == (5, 1, 4)
    assert quality["percent"] == 20.0
    counts = {entry["key"]: entry["count"] for entry in quality["elements"]}
    assert counts == {e.key: len(HAND_LACKING.get(e.key, [])) for e in ELEMENTS}
    assert {entry["key"]: entry["level"] for entry in quality["elements"]}["steps"] == (
        "handling_item"
    )
    sums = quality_counts()
    assert (sums.handling_items, sums.complete) == (5, 1)
    # the rows give the same section as the aggregates
    assert build_report(live_items(), live_handling_rows())["data_quality"] == quality


def codes(listed) -> list[str]:
    return [row.code for row in listed.rows]


def test_every_count_lists_its_handling_items_live_and_frozen(hand, db):
    create_snapshot("要素", actor="tester")
    db.session.commit()
    for selected in (live_source(), source("要素")):
        report = selected.report["data_quality"]
        assert codes(provenance(selected, {"measure": "complete"})) == HAND_COMPLETE
        incomplete = provenance(selected, {"measure": "incomplete"})
        assert codes(incomplete) == HAND_INCOMPLETE and incomplete.total == report["incomplete"]
        for entry in report["elements"]:
            listed = provenance(selected, {"measure": entry["measure"]})
            assert codes(listed) == HAND_LACKING.get(entry["key"], [])
            assert listed.total == entry["count"]
            assert all(entry["key"] in row.missing for row in listed.rows)
            assert all(MEASURES[entry["measure"]].matches(row) for row in listed.rows)
        unit = provenance(selected, {"measure": MISSING_PREFIX + "implementing_body",
                                     "unit": "行政审批服务科"})  # fmt: skip
        assert codes(unit) == ["Q-B-01", "Q-B-02"]


def frozen_before_the_section(db, label: str, *, without: str | None = None) -> None:
    """A snapshot as one made before the report had the section: its report without it, and
    (`without`) its item data without one element's key. Inserted as it is: a snapshot is never
    changed after creation."""
    from datetime import UTC, datetime

    catalog = [{k: v for k, v in item.items() if k != without} for item in published_catalog()]
    now = datetime.now(UTC)
    frozen = {"label": label, "created_at": now.isoformat(timespec="seconds"), "note": None}
    report = build_report(*rows_from_catalog(catalog), generated_at=now, snapshot=frozen)
    del report["data_quality"]
    insert_old_form_snapshot(db, label, report, catalog, now)


def test_a_snapshot_without_the_elements_says_the_section_is_not_available(hand, db, client, spec):
    frozen_before_the_section(db, "旧")
    frozen_before_the_section(db, "早", without="hours")
    # its frozen rows carry the elements: the section is computed from them
    assert source("旧").report["data_quality"] == live_source().report["data_quality"]
    assert source("早").report["data_quality"] is None
    with pytest.raises(ReportInputError, match=QUALITY_NOT_AVAILABLE):
        provenance(source("早"), {"measure": "incomplete"})
    assert provenance(source("早"), {"measure": "all"}).total == 5  # the ratios' lists work
    html = client.get("/reports?snapshot=早").get_data(as_text=True)
    assert "无法给出数据质量" in html and "quality-heading" in html and "要素齐全" not in html
    frozen = client.get("/api/v1/report?snapshot=早").get_json()
    assert frozen["data_quality"] is None
    assert_matches(spec, "Report", frozen)  # the OpenAPI document allows it
    assert client.get("/reports/items?snapshot=早&measure=incomplete").status_code == 400


@pytest.fixture(scope="module")
def spec(app):
    with app.test_request_context():
        return app.test_client().get("/api/v1/openapi.json").get_json()


def test_the_page_and_the_json_link_every_quality_number(hand, client, spec):
    html = client.get("/reports").get_data(as_text=True)
    section = html.split('id="quality-heading"', 1)[1].split("</section>", 1)[0]
    assert "数据质量" in html and "要素完整率" in section and "20.00%" in section
    assert re.search(r'href="/reports/items\?measure=complete">1</a> / '
                     r'<a href="/reports/items\?measure=all">5</a>', section)  # fmt: skip
    assert 'href="/reports/items?measure=incomplete">4</a>' in section
    link = re.search(r'<th scope="row">实施主体</th><td>事项</td>\s*'
                     r'<td class="num"><a href="([^"]+)">2</a>', section)  # fmt: skip
    assert link and link.group(1) == "/reports/items?measure=missing.implementing_body"
    listed = client.get(link.group(1)).get_data(as_text=True)
    assert "缺少 实施主体" in listed and "共 <strong>2</strong> 个业务办理项" in listed
    assert "缺少的要素" in listed and "实施主体、设定依据" in listed
    report = client.get("/api/v1/report").get_json()
    assert_matches(spec, "Report", report)
    assert report["data_quality"]["percent"] == 20.0
    items = client.get("/api/v1/report/items?measure=missing.fees").get_json()
    assert_matches(spec, "Provenance", items)
    assert [(row["code"], row["missing"]) for row in items["rows"]] == [
        ("Q-B-02", ["implementing_body", "legal_basis", "online_depth", "fees", "steps"])
    ]
    assert "missing" not in client.get("/api/v1/report/items").get_json()["rows"][0]


def test_the_exports_carry_the_section(hand, client):
    from io import BytesIO

    from openpyxl import load_workbook

    csv = client.get("/reports/export.csv").get_data(as_text=True)
    assert "全部,全部,要素完整率,1,5,20.00" in csv
    book = load_workbook(BytesIO(client.get("/reports/export.xlsx").data))
    rows = [[cell for cell in row] for row in book["数据质量"].iter_rows(values_only=True)]
    assert list(rows[1][:4]) == ["要素完整率", 1, 5, 0.2]
    assert ["实施主体", "事项", 2] in [list(row[:3]) for row in rows]


def test_items_without_a_handling_unit_are_a_group_of_their_own(db, client, spec):
    """A missing handling unit is an element like any other: the report groups such items
    under 暂未提供 (it failed with a server error before), and the group's counts link."""
    publish(db, payload(code="U-A", handling_unit=None),
            payload(handling_item_data(code="U-B-01"), handling_item_data(code="U-B-02"),
                    code="U-B", handling_unit=None),
            payload(code="U-C"))  # fmt: skip
    create_snapshot("无单位", actor="tester")
    db.session.commit()
    report = client.get("/api/v1/report").get_json()
    assert_matches(spec, "Report", report)
    by_unit = {group["key"]: group for group in report["breakdowns"]["by_unit"]}
    assert set(by_unit) == {"暂未提供", "行政审批服务科"}
    assert by_unit["暂未提供"]["handling_items"]["total"] == 3
    assert by_unit["暂未提供"]["items"]["total"] == 2
    assert build_report(live_items(), live_handling_rows())["breakdowns"] == report["breakdowns"]
    for selected in (live_source(), source("无单位")):
        listed = provenance(selected, {"measure": "all", "unit": "暂未提供"})
        assert codes(listed) == ["U-A-01", "U-B-01", "U-B-02"]
        items = provenance(selected, {"measure": "items", "unit": "暂未提供"})
        assert [row.code for row in items.rows] == ["U-A", "U-B"]
    html = client.get("/reports").get_data(as_text=True)
    assert (
        'href="/reports/items?measure=all&amp;unit=%E6%9A%82%E6%9C%AA%E6%8F%90%E4%BE%9B">3</a>'
        in html
    )
    assert client.get("/reports?snapshot=无单位").status_code == 200
    assert client.get("/reports/export.xlsx").status_code == 200
