"""The report pages and their JSON twins: what an auditor clicks, downloads and compares."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from tests.api.test_views import assert_matches
from tests.staff.conftest import csrf_token


@pytest.fixture(scope="module")
def spec(app):
    with app.test_request_context():
        return app.test_client().get("/api/v1/openapi.json").get_json()


def table_rows(html: str) -> int:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return body.count("<tr>")


def test_the_report_page_links_every_headline_number_to_its_list(client, seeded, spec):
    page = client.get("/reports")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "90.95%" in html and "52.76%" in html and "87.69%" in html
    # three charts, each drawn at a desktop's and at a phone's width
    assert html.count("<svg") == 6 and "<script" not in html
    assert page.headers["Link"].startswith("</api/v1/report>")
    link = re.search(r'href="(/reports/items\?measure=no_visit)">181</a>', html)
    assert link, "the 181 of 181/199 links to its list"
    listed = client.get(link.group(1)).get_data(as_text=True)
    assert "共 <strong>181</strong> 个业务办理项" in listed and table_rows(listed) == 181
    visit = client.get("/api/v1/report/items?measure=visit").get_json()
    assert_matches(spec, "Provenance", visit)
    assert visit["total"] == len(visit["rows"]) == 18
    assert all(row["visits"] > 0 for row in visit["rows"])
    assert_matches(spec, "Report", client.get("/api/v1/report").get_json())


def test_a_snapshot_keeps_its_numbers_after_staff_change_the_catalog(
    client, seeded, login_as, spec
):
    from catalog.extensions import db
    from tests.reports.test_reports import edit_promised_days

    edit_promised_days(db, "XCJT-01-100", "XCJT-01-100-01", 0)
    now = client.get("/api/v1/report").get_json()
    assert now["compression"]["percent"] != 87.69
    then = client.get("/api/v1/report?snapshot=2020").get_json()
    assert then["compression"]["percent"] == 87.69
    assert "87.69%" in client.get("/reports?snapshot=2020").get_data(as_text=True)

    reviewer = login_as("reviewer")
    token = csrf_token(reviewer, "/staff/snapshots")
    made = reviewer.post("/staff/snapshots", data={"csrf_token": token, "label": "2021-06"})
    assert made.status_code == 302 and made.headers["Location"] == "/reports?snapshot=2021-06"
    again = reviewer.post("/staff/snapshots", data={"csrf_token": token, "label": "2021-06"})
    assert again.status_code == 400 and "已有名为 2021-06 的快照" in again.get_data(as_text=True)
    assert login_as("editor").get("/staff/snapshots").status_code == 403

    compared = client.get("/api/v1/report/compare?from=2020&to=2021-06").get_json()
    assert_matches(spec, "Comparison", compared)
    assert [i["code"] for i in compared["items"]["changed"]] == ["XCJT-01-100"]
    page = client.get("/reports/compare?from=2020&to=2021-06").get_data(as_text=True)
    assert "XCJT-01-100 公路超限运输许可" in page and "承诺时限" in page
    listed = client.get("/api/v1/snapshots").get_json()
    assert_matches(spec, "SnapshotList", listed)
    assert [s["label"] for s in listed["snapshots"]] == ["2020", "2021-06"]


def test_the_xlsx_download_holds_the_numbers_of_the_page(client, seeded):
    response = client.get("/reports/export.xlsx?snapshot=2020")
    assert response.status_code == 200
    assert "xuchang-reform-report-2020.xlsx" in response.headers["Content-Disposition"]
    document = client.get("/api/v1/report?snapshot=2020").get_json()
    sheet = load_workbook(io.BytesIO(response.data), read_only=True)["汇总"]
    cells = {row[0]: row[1:4] for row in sheet.iter_rows(values_only=True) if row and row[0]}
    assert cells["不见面审批占比"] == (181, 199, pytest.approx(0.9095))
    assert cells["即办件占比"][2] == pytest.approx(document["instant"]["percent"] / 100)
    csv_text = client.get("/reports/export.csv").get_data(as_text=True)
    assert "全部,全部,不见面审批占比,181,199,90.95" in csv_text
    exported = client.get("/reports/export.json").get_json()
    assert exported["fingerprint"] == document["fingerprint"]


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        ("/reports?snapshot=1999", 404, "没有名为 1999 的快照"),
        ("/reports/items?measure=everything", 400, "measure 无效"),
        ("/reports/items?type=permit", 400, "type 无效"),
        ("/reports/items?page=0", 400, "page 须为正整数"),
        ("/reports/compare?from=2020&to=2020", 400, "不能是同一个快照"),
        ("/reports/compare?from=nope", 404, "没有名为 nope 的快照"),
        ("/reports/export.xlsx?snapshot=nope", 404, "没有名为 nope 的快照"),
    ],
)
def test_bad_report_requests_get_a_clear_page_and_the_api_error_shape(
    client, seeded, url, status, message
):
    page = client.get(url)
    assert page.status_code == status and message in page.get_data(as_text=True)
    api_url = url.replace("/reports?", "/api/v1/report?").replace("/reports/", "/api/v1/report/")
    if "export" not in url:
        body = client.get(api_url).get_json()
        assert body["error"]["status"] == status and message in body["error"]["message"]


def test_compare_without_from_shows_the_form_and_the_api_says_what_is_missing(client, seeded):
    page = client.get("/reports/compare")
    assert page.status_code == 200 and 'name="from"' in page.get_data(as_text=True)
    body = client.get("/api/v1/report/compare").get_json()
    assert body["error"]["status"] == 400 and "from" in body["error"]["message"]


def test_an_empty_catalog_gets_a_page_not_an_error(client, db):
    page = client.get("/reports")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "暂无可统计的数据" in html and "暂无数据" in html
    assert client.get("/reports/export.xlsx").status_code == 200
    assert client.get("/api/v1/report").get_json()["no_visit"]["percent"] is None


def test_the_print_stylesheet_names_the_snapshot_and_cannot_be_broken_out_of(client, db):
    from catalog.reports.snapshots import create_snapshot

    label = 'x"; } body { display: none } @page { content: "\\'
    create_snapshot(label, actor="tester")
    db.session.commit()
    css = client.get("/reports/print.css", query_string={"snapshot": label})
    assert css.status_code == 200 and css.mimetype == "text/css"
    text = css.get_data(as_text=True)
    assert text.count("{") == text.count("}") == 4  # @page and its three margin boxes only
    assert text.count('"') == 10  # five strings, none ended early by the label
    assert "\\22 " in text and "\\5c " in text  # the label's quote and backslash, escaped
    assert client.get("/reports/print.css?snapshot=nope").status_code == 404


def test_the_print_date_is_the_day_in_beijing(client, db, monkeypatch):
    """Printed at 17:00 UTC on 3 December, it is already 4 December in Xuchang."""
    from datetime import UTC, datetime

    from catalog.reports import views

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 12, 3, 17, 0, tzinfo=UTC).astimezone(tz)

    monkeypatch.setattr(views, "datetime", Clock)
    page = client.get("/reports").get_data(as_text=True)
    assert '<span class="print-date">2026-12-04</span>' in page


def _rewrite_fingerprint(db, label: str, fingerprint: str) -> None:
    """Give a stored snapshot another fingerprint, past its append-only triggers: as a snapshot
    made before fingerprint version 2 has one."""
    import sqlalchemy as sa

    from catalog.models import Snapshot

    table = Snapshot.__table__
    report = db.session.scalar(sa.select(table.c.report).where(table.c.label == label))
    update = (
        table.update()
        .where(table.c.label == label)
        .values(fingerprint=fingerprint, report={**report, "fingerprint": fingerprint})
    )
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("SET LOCAL session_replication_role = replica"))
        db.session.execute(update)
    else:
        triggers = db.session.execute(sa.text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
            " AND tbl_name = 'report_snapshot'"
        )).all()  # fmt: skip
        for name, _sql in triggers:
            db.session.execute(sa.text(f'DROP TRIGGER "{name}"'))
        db.session.execute(update)
        for _name, sql in triggers:
            db.session.execute(sa.text(sql))
    db.session.commit()


def test_the_comparison_says_when_the_data_did_not_change_and_when_fingerprints_cannot_be_compared(
    client, seeded, db
):
    """Right after the seed the catalog is what its baseline froze: the same fingerprint. A
    snapshot fingerprinted with version 1 (sha256:) against the live version 2 (sha256-sum:)
    cannot say so from the fingerprints, and the page says that instead of nothing."""
    page = client.get("/reports/compare?from=2020").get_data(as_text=True)
    assert "相同：数据没有变化" in page and "算法版本不同" not in page
    _rewrite_fingerprint(db, "2020", "sha256:" + "0" * 64)
    page = client.get("/reports/compare?from=2020").get_data(as_text=True)
    assert "算法版本不同" in page and "相同：数据没有变化" not in page
