"""The staff's export of full 双公示 records (issue 24), on SQLite and PostgreSQL: the records
the staff list shows with its filters, as CSV (UTF-8 with a BOM, streamed) and XLSX, whole ID
numbers and ended penalties included; bounded by a cap with a Chinese message; every export
recorded in the audit trail as 导出 (who, which filters, how many records). The public CSV of
the same records stays masked and without the ended penalties."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from catalog.decisions import operations, staff_export
from catalog.models import AuditAction, AuditEvent, PenaltyDecision
from tests.decisions.conftest import (  # noqa: F401 (fixtures)
    PERSON_ID,
    catalog_items,
    licence_data,
    penalty_data,
    periods,
)

PERSON = {"party_name": "张三", "party_class": "natural_person", "party_credit_code": None,
          "legal_representative": None, "party_id_type": "resident_id",
          "party_id_number": PERSON_ID}  # fmt: skip


@pytest.fixture
def decisions(db, catalog_items, periods):  # noqa: F811
    """2020: licences 1 (a natural person's, on time) and 2 (late); a 2019 licence; penalties
    罚1 (fine, the person's, its publication ended 2020-12-01), 罚2 (warning, late) and 罚3
    (fine, another unit). Every 2020 penalty's publication has ended by now."""
    operations.create_licence(licence_data(**PERSON), actor="test")
    operations.create_licence(
        licence_data(document_number="许交运许〔2020〕2号", published_on=date(2020, 6, 30)),
        actor="test",
    )
    operations.create_licence(
        licence_data(document_number="许交运许〔2019〕1号", decided_on=date(2019, 9, 2),
                     valid_from=date(2019, 9, 2), published_on=date(2019, 9, 3)),
        actor="test",
    )  # fmt: skip
    operations.create_penalty(
        penalty_data(document_number="罚1", publication_ends_on=date(2020, 12, 1)), actor="test"
    )
    operations.create_penalty(
        penalty_data(document_number="罚2", category="warning", fine_amount=None,
                     content="警告。", published_on=date(2020, 6, 30)),
        actor="test",
    )  # fmt: skip
    operations.create_penalty(
        penalty_data(document_number="罚3", data_source_unit="运输执法大队"), actor="test"
    )
    db.session.commit()


def _csv_rows(response) -> list[dict[str, str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def _listed(client, query: str) -> list[str]:
    """The document numbers the staff list shows with `query` (one page here)."""
    page = client.get(f"/staff/decisions?{query}").get_data(as_text=True)
    return sorted(re.findall(r'href="/staff/decisions/(?:licence|penalty)/\d+">([^<]+)</a>', page))


def _exports(db) -> list[AuditEvent]:
    return db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.action == AuditAction.export, AuditEvent.object_code.like("批量导出%"))
        .order_by(AuditEvent.id)
    ).all()


@pytest.mark.parametrize(
    "query",
    [
        "kind=licence",
        "kind=licence&year=2020",
        "kind=licence&late=1",
        "kind=licence&late=0&year=2020",
        "kind=licence&item=L-1&year=2019",
        "kind=penalty",
        "kind=penalty&category=fine",
        "kind=penalty&unit=综合行政执法支队&late=0",
        "kind=penalty&q=罚2",
    ],
)
def test_the_csv_has_exactly_the_rows_of_the_list(db, decisions, login_as, query):
    client = login_as("editor")
    response = client.get(f"/staff/decisions/export.csv?{query}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    kind = "licence" if "kind=licence" in query else "penalty"
    rows = _csv_rows(response)
    number = "行政许可决定文书号" if kind == "licence" else "行政处罚决定书文号"
    exported = sorted(row[number] for row in rows)
    assert exported == _listed(client, query) and exported
    assert list(rows[0]) == staff_export.headers(kind)


def test_full_records_with_whole_id_numbers_and_ended_penalties(db, decisions, login_as):
    client = login_as("reviewer")
    response = client.get("/staff/decisions/export.csv?kind=penalty&year=2020")
    rows = {row["行政处罚决定书文号"]: row for row in _csv_rows(response)}
    assert sorted(rows) == ["罚1", "罚2", "罚3"]
    ended = rows["罚1"]
    assert ended["证件号码"] == PERSON_ID  # not masked
    assert ended["公示截止日期"] == "2020-12-01" and ended["公示状态"] == "公示期满"
    assert ended["处罚类别"] == "罚款" and ended["罚款金额（万元）"] == "3"
    assert rows["罚2"]["是否逾期公示"] == "是" and rows["罚1"]["是否逾期公示"] == "否"
    # the public CSV of the same filters: none of them (publication ended), and masked
    public = client.get("/decisions.csv?kind=penalty&year=2020").get_data(as_text=True)
    assert "罚1" not in public and PERSON_ID not in public
    licences = client.get("/decisions.csv?kind=licence&year=2020").get_data(as_text=True)
    assert "许交运许〔2020〕1号" in licences and PERSON_ID not in licences


def test_a_credit_repair_shows_in_the_export(db, decisions, login_as):
    penalty = db.session.scalar(
        sa.select(PenaltyDecision).where(PenaltyDecision.document_number == "罚2")
    )
    operations.end_publication_early(
        penalty, reason="已整改，信用修复申请经审核通过。", actor="test", today=date(2020, 11, 2)
    )
    db.session.commit()
    rows = _csv_rows(login_as("editor").get("/staff/decisions/export.csv?kind=penalty&q=罚2"))
    assert [(r["公示状态"], r["信用修复日期"]) for r in rows] == [("已信用修复", "2020-11-02")]


def test_the_xlsx_has_the_same_rows(db, decisions, login_as):
    client = login_as("admin")
    query = "kind=licence&year=2020"
    response = client.get(f"/staff/decisions/export.xlsx?{query}")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    header, *body = list(sheet.iter_rows(values_only=True))
    assert list(header) == staff_export.headers("licence")
    records = [dict(zip(header, row, strict=True)) for row in body]
    assert sorted(r["行政许可决定文书号"] for r in records) == _listed(client, query)
    person = next(r for r in records if r["行政相对人名称"] == "张三")
    assert person["证件号码"] == PERSON_ID and person["事项编码"] == "L-1"
    assert person["业务办理项编码"] == "L-1-01" and person["许可类别"] == "普通"


def test_every_export_is_audited(db, decisions, login_as):
    client = login_as("editor")
    client.get("/staff/decisions/export.csv?kind=penalty&year=2020&category=fine")
    client.get("/staff/decisions/export.xlsx?kind=licence&unit=行政审批服务科")
    events = _exports(db)
    assert [(e.actor, e.object_type, e.object_code) for e in events] == [
        ("editor1", "penalty_decision", "批量导出（CSV）"),
        ("editor1", "licence_decision", "批量导出（XLSX）"),
    ]
    assert events[0].details == {"export": {
        "format": "csv", "records": 2,
        "filters": {"kind": "penalty", "year": "2020", "category": "fine"},
    }}  # fmt: skip
    assert events[1].details["export"]["records"] == 3
    assert events[1].details["export"]["filters"] == {"kind": "licence", "unit": "行政审批服务科"}
    # the trail names the action 导出, and its filter finds exports, not records opened
    exported = client.get("/staff/audit?action=export").get_data(as_text=True)
    assert "批量导出（CSV）" in exported and "批量导出（XLSX）" in exported
    assert '<td data-label="操作">导出</td>' in exported
    assert '<option value="export" selected>导出</option>' in exported
    # what was exported, in words: the kind, how many, the format and the filters
    assert "导出行政处罚决定 2 条（CSV）；筛选：年度 2020，处罚类别 罚款" in exported
    assert "导出行政许可决定 3 条（XLSX）；筛选：数据来源单位 行政审批服务科" in exported
    assert "批量导出" not in client.get("/staff/audit?action=view").get_data(as_text=True)


def test_the_audit_trail_names_filters_as_the_staff_form_labels_them(db, decisions, login_as):
    client = login_as("editor")
    for kind, names in (
        ("licence", "q year unit late item"),
        ("penalty", "q year unit late category"),
    ):
        page = client.get(f"/staff/decisions?kind={kind}").get_data(as_text=True)
        for name in names.split():
            assert f'<label for="{name}">{staff_export.FILTER_LABELS[name]}</label>' in page
        for value, label in staff_export.LATE_LABELS.items():
            assert f'<option value="{value}">{label}</option>' in page
    client.get("/staff/decisions/export.csv?kind=licence&late=0&item=L-1")
    exported = client.get("/staff/audit?action=export").get_data(as_text=True)
    assert "导出行政许可决定 2 条（CSV）；筛选：事项编码 L-1，公示是否及时 按时公示" in exported


def test_over_the_cap_is_refused_with_a_message(db, decisions, login_as, monkeypatch):
    monkeypatch.setattr(staff_export, "EXPORT_LIMIT", 2)
    client = login_as("editor")
    response = client.get("/staff/decisions/export.csv?kind=penalty")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    # (counted up to the limit + 1: 3 penalties, the limit 2)
    assert "所选条件下的行政处罚决定超过一次导出的上限 2 条" in page and "缩小筛选范围" in page
    assert client.get("/staff/decisions/export.xlsx?kind=penalty").status_code == 400
    assert _exports(db) == []  # nothing exported, nothing audited
    # within the cap with a filter
    assert client.get("/staff/decisions/export.csv?kind=penalty&category=fine").status_code == 200
    listing = client.get("/staff/decisions?kind=penalty").get_data(as_text=True)
    assert "超过一次导出的上限" in listing and "export.csv" not in listing
    assert "export.csv" in client.get("/staff/decisions?kind=penalty&category=fine").get_data(
        as_text=True
    )


def test_the_csv_is_streamed_in_batches(db, decisions, login_as, monkeypatch):
    monkeypatch.setattr(staff_export, "BATCH", 1)
    response = login_as("editor").get("/staff/decisions/export.csv?kind=penalty")
    assert response.is_streamed
    assert sorted(row["行政处罚决定书文号"] for row in _csv_rows(response)) == ["罚1", "罚2", "罚3"]


def test_the_list_links_the_export_with_its_filters(db, decisions, login_as):
    page = login_as("editor").get("/staff/decisions?kind=penalty&year=2020&category=fine&late=0")
    text = page.get_data(as_text=True)
    for fmt in ("csv", "xlsx"):
        link = re.search(rf'href="(/staff/decisions/export\.{fmt}\?[^"]+)"', text).group(1)
        assert all(
            part in link for part in ("kind=penalty", "year=2020", "category=fine", "late=0")
        )
