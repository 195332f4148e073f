"""The report's 双公示 section for one data source unit (?decisions_unit=): the figures against a
hand count over two units made here, every link carrying the unit and listing exactly what its
number counts, the same figures in the XLSX, CSV, JSON, API and both commands, snapshots, and
bad unit values refused in Chinese."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from openpyxl import load_workbook

from catalog.decisions import listing, operations
from catalog.enums import Status
from catalog.models import Snapshot
from catalog.reports.snapshots import create_snapshot
from catalog.services import create_item
from tests.api.test_views import assert_matches, spec  # noqa: F401 (a fixture)
from tests.decisions.conftest import licence_data, penalty_data
from tests.decisions.test_report_section import TODAY, _links, _listed
from tests.factories import handling_item_data, item_data

A, B = "行政审批服务科", "运输服务科"  # L-1 and L-3 are A's items, L-2 is B's


@pytest.fixture
def two_units(db, catalog_items, periods, monkeypatch):
    """2020, unit A: licences A1 (L-1, on time), A2 (L-1, late), A3 (L-2, B's item, on time);
    penalties PA1 (fine 2 万元, on time), PA2 (warning, late). Unit B: licence B1 (L-2, on
    time), penalty PB1 (fine 5 万元, late). A0: A's licence of 2019. L-3 (A's) has none.
    车辆管理科 handles a 行政确认 item only."""
    monkeypatch.setattr(listing, "public_today", lambda: TODAY)
    for code, name, unit in (("L-2", "道路货物运输经营许可", B), ("L-3", "危险货物运输许可", A)):
        create_item(item_data(handling_item_data(code=f"{code}-01"), code=code, name=name,
                              handling_unit=unit), status=Status.published)  # fmt: skip
    create_item(item_data(handling_item_data(code="C-2-01"), code="C-2", name="车辆年审",
                          type="confirmation", handling_unit="车辆管理科"),
                status=Status.published)  # fmt: skip
    for number, item, unit, decided, published in (
        ("A1", "L-1", A, date(2020, 6, 1), date(2020, 6, 3)),
        ("A2", "L-1", A, date(2020, 6, 1), date(2020, 7, 1)),
        ("A3", "L-2", A, date(2020, 9, 1), date(2020, 9, 2)),
        ("A0", "L-1", A, date(2019, 9, 2), date(2019, 9, 3)),
        ("B1", "L-2", B, date(2020, 6, 1), date(2020, 6, 3)),
    ):
        operations.create_licence(
            licence_data(document_number=number, item=item, handling_item=f"{item}-01",
                         data_source_unit=unit, decided_on=decided, valid_from=decided,
                         published_on=published),
            actor="test",
        )  # fmt: skip
    for number, unit, fine, published in (
        ("PA1", A, "2", date(2020, 6, 5)),
        ("PA2", A, None, date(2020, 6, 30)),
        ("PB1", B, "5", date(2020, 6, 30)),
    ):
        category = {"category": "warning", "content": "警告。"} if fine is None else {}
        operations.create_penalty(
            penalty_data(document_number=number, data_source_unit=unit, fine_amount=fine,
                         published_on=published, **category),
            actor="test",
        )  # fmt: skip
    db.session.commit()


def _report(client, query: str) -> dict:
    response = client.get(f"/api/v1/report?{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["decisions"]


def _figures(report: dict) -> dict:
    """The figures of a report, in the shape of the hand counts below."""
    licence, penalty = report["licence"], report["penalty"]
    return {
        "licence": (licence["total"], licence["on_time"]["count"], licence["on_time"]["percent"],
                    [entry["document_number"] for entry in licence["late"]]),
        "penalty": (penalty["total"], penalty["on_time"]["count"], penalty["on_time"]["percent"],
                    [entry["document_number"] for entry in penalty["late"]]),
        "items": (licence["licence_items"], licence["with_decisions"],
                  {entry["code"]: entry["count"] for entry in licence["by_item"]},
                  licence["without_decisions"]),
        "fines": (penalty["fine_total"],
                  {e["key"]: (e["count"], e["fine_total"]) for e in penalty["by_category"]
                   if e["count"]}),
        "by_unit": [(e["unit"], e["licence"], e["penalty"], e["on_time"]["count"],
                     e["on_time"]["total"]) for e in report["by_unit"]],
    }  # fmt: skip


HAND_COUNT = {  # from the records of the fixture, counted by hand
    A: {
        "licence": (3, 2, 66.67, ["A2"]),
        "penalty": (2, 1, 50.0, ["PA2"]),
        "items": (3, 2, {"L-1": 2, "L-2": 1}, ["L-3"]),  # its L-1 and L-3, and L-2 it decided
        "fines": (2.0, {"fine": (1, 2.0), "warning": (1, 0.0)}),
        "by_unit": [(A, 3, 2, 3, 5)],
    },
    B: {
        "licence": (1, 1, 100.0, []),
        "penalty": (1, 0, 0.0, ["PB1"]),
        "items": (1, 1, {"L-2": 1}, []),
        "fines": (5.0, {"fine": (1, 5.0)}),
        "by_unit": [(B, 1, 1, 1, 2)],
    },
}


def test_the_figures_of_each_unit_match_a_hand_count(client, two_units, spec):  # noqa: F811
    whole = _report(client, "")
    assert whole["unit"] is None and whole["units"] == sorted([A, B])
    for unit, expected in HAND_COUNT.items():
        body = client.get(f"/api/v1/report?decisions_unit={quote(unit)}").get_json()
        assert_matches(spec, "Report", body)
        section = body["decisions"]
        assert (section["year"], section["unit"], section["report"]["unit"]) == (2020, unit, unit)
        assert unit in section["report"]["title"]
        assert _figures(section["report"]) == expected, unit
    # 2019: A's one licence; B has none that year, and its item L-2 is listed as without
    a_2019 = _report(client, f"decisions_year=2019&decisions_unit={quote(A)}")["report"]
    assert _figures(a_2019)["licence"] == (1, 1, 100.0, [])
    b_2019 = _report(client, f"decisions_year=2019&decisions_unit={quote(B)}")["report"]
    assert (b_2019["licence"]["total"], b_2019["licence"]["without_decisions"]) == (0, ["L-2"])


def test_the_units_add_up_to_the_whole_year(client, two_units):
    whole = _report(client, "")["report"]
    parts = [_report(client, f"decisions_unit={quote(unit)}")["report"] for unit in (A, B)]
    for kind in ("licence", "penalty"):
        assert sum(part[kind]["total"] for part in parts) == whole[kind]["total"]
        late = sorted(e["document_number"] for part in parts for e in part[kind]["late"])
        assert late == sorted(e["document_number"] for e in whole[kind]["late"])
    assert sum(part["penalty"]["fine_total"] for part in parts) == whole["penalty"]["fine_total"]
    assert [part["by_unit"][0] for part in parts] == whole["by_unit"]


@pytest.mark.parametrize("unit", [A, B])
def test_every_link_carries_the_unit_and_lists_exactly_what_it_counts(client, two_units, unit):
    page = client.get(f"/reports?decisions_unit={quote(unit)}")
    assert page.status_code == 200
    links = _links(page.get_data(as_text=True))
    assert links
    expected = HAND_COUNT[unit]
    counted = {}
    for href, number in links.items():
        query = parse_qs(urlsplit(href).query)
        assert query["unit"] == [unit] and query["year"] == ["2020"], href
        listed = _listed(client, href)
        assert len(listed) == number, (href, listed)
        counted[tuple(sorted((k, v[0]) for k, v in query.items() if k not in ("unit", "year")))] = (
            listed
        )
    assert len(counted[(("kind", "licence"),)]) == expected["licence"][0]
    assert counted[(("kind", "licence"), ("late", "1"))] == expected["licence"][3]
    assert counted[(("kind", "penalty"), ("late", "1"))] == expected["penalty"][3]
    for code, count in expected["items"][2].items():
        assert len(counted[(("item", code), ("kind", "licence"))]) == count
    for key, (count, _fine) in expected["fines"][1].items():
        assert len(counted[(("category", key), ("kind", "penalty"))]) == count


def test_the_page_offers_the_units_and_says_which_is_shown(client, two_units):
    page = client.get(f"/reports?decisions_unit={quote(B)}").get_data(as_text=True)
    assert 'name="decisions_unit"' in page and f'<option value="{A}"' in page
    assert f'<option value="{B}" selected' in page
    assert f"只统计数据来源单位为<strong>{B}</strong>的决定" in page
    # the downloads and the JSON twin carry the unit
    for path in ("/reports/export.xlsx", "/reports/export.csv", "/reports/export.json"):
        assert f"{path}?decisions_unit={quote(B)}" in page


def test_the_xlsx_csv_and_json_exports_give_the_units_figures(client, two_units):
    query = f"decisions_unit={quote(A)}"
    api = _report(client, query)
    assert client.get(f"/reports/export.json?{query}").get_json()["decisions"] == api
    sheet = load_workbook(io.BytesIO(client.get(f"/reports/export.xlsx?{query}").data))["双公示"]
    rows = list(sheet.iter_rows(values_only=True))
    assert A in rows[0][0]
    assert list(next(row for row in rows if row[0] == "行政许可")[1:3]) == [3, 2]
    assert next(row for row in rows if row[0] == "L-3")[2] == 0
    text = client.get(f"/reports/export.csv?{query}").get_data(as_text=True)
    scope = f"双公示 2020年 {A}"
    assert f"{scope},行政许可,按时公示,2,3,66.67" in text
    assert f"{scope},行政处罚,按时公示,1,2,50.00" in text
    assert f"{scope} 逾期公示的行政许可决定,A2," in text
    assert f"{scope} 各许可事项的许可决定,L-3,许可决定,0" in text
    assert f"{scope} 按处罚类别,罚款,罚款（万元）,2.00" in text
    assert "B1" not in text and "PB1" not in text


def test_the_csv_and_the_text_report_carry_the_whole_section(client, two_units, cli):
    text = client.get("/reports/export.csv").get_data(as_text=True)
    assert "双公示 2020年,行政许可,决定数,4" in text
    assert "双公示 2020年 按数据来源单位,运输服务科,处罚决定,1" in text
    printed = cli.invoke(args=["report", "--format", "text"])
    assert printed.exit_code == 0, printed.output
    assert "双公示（行政许可和行政处罚决定）" in printed.output
    assert "行政许可：决定数 4，按时公示 3 / 4 = 75.00%，逾期公示 1" in printed.output
    assert "没有许可决定的事项：L-3" in printed.output
    of_b = cli.invoke(args=["report", "--format", "text", "--decisions-unit", B])
    assert "行政处罚：决定数 1，按时公示 0 / 1 = 0.00%，逾期公示 1" in of_b.output
    as_json = cli.invoke(args=["report", "--format", "json", "--decisions-unit", B])
    assert json.loads(as_json.output)["decisions"] == _report(client, f"decisions_unit={quote(B)}")


def test_the_decisions_command_reports_a_unit(client, two_units, cli):
    result = cli.invoke(args=["decisions", "report", "--year", "2020", "--unit", A,
                              "--format", "json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == _report(client, f"decisions_unit={quote(A)}")["report"]
    text = cli.invoke(args=["decisions", "report", "--year", "2020", "--unit", B]).output
    assert f"（数据来源单位：{B}）" in text and "PB1：决定日期 2020-06-01" in text
    unknown = cli.invoke(args=["decisions", "report", "--year", "2020", "--unit", "没有这个单位"])
    assert unknown.exit_code == 1 and "没有名为“没有这个单位”的数据来源单位" in unknown.output
    too_long = cli.invoke(args=["decisions", "report", "--year", "2020", "--unit", "科" * 101])
    assert too_long.exit_code == 2 and "最多100个字符" in too_long.output


def test_a_snapshot_keeps_every_units_figures(client, two_units, db):
    create_snapshot("按单位", actor="tester")
    db.session.commit()
    operations.create_licence(
        licence_data(document_number="B2", item="L-2", handling_item="L-2-01",
                     data_source_unit=B, decided_on=date(2020, 10, 9),
                     valid_from=date(2020, 10, 9), published_on=date(2020, 10, 12)),
        actor="test",
    )  # fmt: skip
    db.session.commit()
    assert _report(client, f"decisions_unit={quote(B)}")["report"]["licence"]["total"] == 2
    frozen = _report(client, f"snapshot=按单位&decisions_unit={quote(B)}")
    assert frozen["units"] == sorted([A, B])
    assert _figures(frozen["report"]) == HAND_COUNT[B]
    page = client.get(f"/reports?snapshot=按单位&decisions_unit={quote(B)}")
    assert page.status_code == 200 and not _links(page.get_data(as_text=True))
    unknown = client.get(f"/api/v1/report?snapshot=按单位&decisions_unit={quote('稽查科')}")
    assert unknown.status_code == 404
    assert "快照 按单位 中没有数据来源单位“稽查科”" in unknown.get_json()["error"]["message"]


def test_a_snapshot_made_before_the_units_were_kept_refuses_a_unit(client, two_units, db):
    old_form = client.get("/api/v1/report").get_json()
    old_form["decisions"] = {"years": [2020], "by_year": {"2020": old_form["decisions"]["report"]}}
    db.session.add(Snapshot(label="旧快照", created_at=datetime(2026, 1, 1, tzinfo=UTC),
                            created_by="tester", fingerprint=old_form["fingerprint"],
                            report=old_form))  # fmt: skip
    db.session.commit()
    assert _report(client, "snapshot=旧快照")["report"]["licence"]["total"] == 4
    refused = client.get(f"/reports?snapshot=旧快照&decisions_unit={quote(A)}")
    assert refused.status_code == 404
    assert "生成时还没有按数据来源单位保存双公示统计" in refused.get_data(as_text=True)


@pytest.mark.parametrize(
    ("unit", "status", "words"),
    [
        ("没有这个单位", 404, "没有名为“没有这个单位”的数据来源单位"),
        ("科" * 101, 400, "双公示数据来源单位：最多100个字符"),
        ("行政审批服务科\x01", 404, "的数据来源单位"),
        (
            "车辆管理科",
            404,
            "的数据来源单位",
        ),  # handles a 行政确认 item only: no licence, no decision
    ],
)
@pytest.mark.parametrize("path", ["/reports", "/api/v1/report", "/reports/export.xlsx",
                                  "/reports/export.csv", "/reports/export.json"])  # fmt: skip
def test_a_bad_unit_is_refused_in_chinese(client, two_units, db, path, unit, status, words):
    response = client.get(f"{path}?decisions_unit={quote(unit)}")
    assert response.status_code == status
    assert words in response.get_data(as_text=True)
