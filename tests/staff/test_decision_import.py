"""The 双公示 import (issue 24, part 5), on SQLite and PostgreSQL: the blank template of each
kind, a good xlsx previewed then applied (audited), CSV in UTF-8, UTF-8 with BOM and GB18030,
an undecodable CSV refused, bad cells listed by row and column with nothing saved, a duplicate
document number, and a preview gone stale before its apply (409, nothing saved). Updates by
import and the header spellings: test_decision_import_update.py."""

from __future__ import annotations

import csv
import io
import re

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from catalog.decisions import operations
from catalog.decisions.columns import COLUMNS, HEADERS
from catalog.models import AuditEvent, LicenceDecision, PenaltyDecision
from tests.decisions.conftest import (  # noqa: F401 (fixtures)
    ORGANISATION_CODE,
    catalog_items,
    licence_data,
    penalty_data,
    periods,
)
from tests.staff.conftest import csrf_token

pytestmark = pytest.mark.usefixtures("catalog_items", "periods")
IMPORT = "/staff/decisions/import"


def cells(kind: str, data: dict) -> list[str]:
    """A record as a row of the template: dates as Excel shows them typed, enums in words."""
    words = {c.key: {m.value: m.label for m in c.enum} for c in COLUMNS[kind] if c.enum}
    row = []
    for column in COLUMNS[kind]:
        value = data.get(column.key)
        value = words.get(column.key, {}).get(value, value)
        row.append("" if value is None else str(value))
    return row


def xlsx_from_template(client, kind: str, records: list[dict]) -> bytes:
    """The downloaded template, filled in: the staff member's way."""
    response = client.get(f"/staff/decisions/template-{kind}.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    sheet = book.worksheets[0]
    assert [cell.value for cell in sheet[1]] == [c.header for c in COLUMNS[kind]]
    for record in records:
        sheet.append(cells(kind, record))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(kind: str, records: list[dict], encoding: str) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([c.header for c in COLUMNS[kind]])
    for record in records:
        writer.writerow(cells(kind, record))
    return text.getvalue().encode(encoding)


def upload(client, kind: str, content: bytes, name: str):
    data = {
        "csrf_token": csrf_token(client, IMPORT),
        "kind": kind,
        "file": (io.BytesIO(content), name),
    }
    return client.post(IMPORT, data=data, content_type="multipart/form-data")


def apply(client, preview_page: str):
    token = re.search(r'id="token" name="token" type="hidden" value="([^"]+)"', preview_page)[1]
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', preview_page)[1]
    return client.post(IMPORT + "/apply", data={"csrf_token": csrf, "token": token})


def problems(page: str) -> list[tuple[str, str, str]]:
    """(row, column, message) of each problem listed."""
    return re.findall(
        r'<td data-label="行"[^>]*>([^<]*)</td><td data-label="列"[^>]*>([^<]*)</td>'
        r'<td data-label="问题">([^<]*)</td>',
        page,
    )


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


LICENCES = [licence_data(), licence_data(document_number="许交运许〔2020〕2号")]


def test_a_filled_template_is_previewed_then_applied_and_audited(db, login_as):
    client = login_as("editor")
    response = upload(client, "licence", xlsx_from_template(client, "licence", LICENCES), "a.xlsx")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "预览：新增 2 条，修改 0 条，未变 0 条行政许可决定" in page
    assert count(db, LicenceDecision) == 0  # a preview writes nothing
    response = apply(client, page)
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/decisions?kind=licence"
    saved = db.session.scalars(sa.select(LicenceDecision).order_by(LicenceDecision.id)).all()
    assert [d.document_number for d in saved] == ["许交运许〔2020〕1号", "许交运许〔2020〕2号"]
    assert saved[0].item.code == "L-1" and saved[0].category.label == "普通"
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.object_type == "licence_decision")
    ).all()
    assert [(e.actor, e.reason) for e in events] == [("editor1", "导入 a.xlsx")] * 2
    # applied once: the same token again is gone
    assert apply(client, page).status_code == 410


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_a_penalty_csv_in_each_encoding(db, login_as, encoding):
    client = login_as("editor")
    penalties = [penalty_data(), penalty_data(document_number="许交执罚〔2020〕2号")]
    content = csv_bytes("penalty", penalties, encoding)
    response = upload(client, "penalty", content, "处罚.csv")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert apply(client, page).status_code == 302
    saved = db.session.scalars(sa.select(PenaltyDecision).order_by(PenaltyDecision.id)).all()
    assert [p.party_name for p in saved] == ["李四", "李四"]
    assert saved[0].violation_type == penalty_data()["violation_type"]


def test_an_undecodable_csv_is_refused_in_chinese(db, login_as):
    client = login_as("editor")
    content = csv_bytes("penalty", [penalty_data()], "utf-8") + b"\xff\xfe\x80\x80"
    response = upload(client, "penalty", content, "broken.csv")
    assert response.status_code == 400
    assert "无法识别文件编码" in response.get_data(as_text=True)
    assert count(db, PenaltyDecision) == 0


def test_bad_cells_are_listed_by_row_and_column_and_nothing_is_saved(db, login_as):
    client = login_as("editor")
    records = [
        licence_data(),
        licence_data(document_number="许交运许〔2020〕2号", party_credit_code="91350100M000100Y44"),
        licence_data(document_number="许交运许〔2020〕3号", item="C-1", published_on="2020-05-01"),
    ]
    response = upload(client, "licence", xlsx_from_template(client, "licence", records), "b.xlsx")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    found = problems(page)
    headers = HEADERS["licence"]
    assert ("3", headers["party_credit_code"]) in [(row, column) for row, column, _m in found]
    by_cell = {(row, column): message for row, column, message in found}
    assert "校验码错误" in by_cell[("3", headers["party_credit_code"])]
    assert "行政许可事项" in by_cell[("4", headers["item"])]
    assert "不能早于决定日期" in by_cell[("4", headers["published_on"])]
    assert len(found) == 3  # the good row has none
    assert "/staff/decisions/import/apply" not in page  # no apply offered
    assert count(db, LicenceDecision) == 0


def test_a_duplicate_document_number_is_a_problem_of_its_cell(db, login_as):
    operations.create_licence(licence_data(), actor="editor0")
    db.session.commit()
    client = login_as("editor")
    second = licence_data(document_number="许交运许〔2020〕2号")
    # the first row names the number under another authority credit code: not the record's
    records = [licence_data(authority_credit_code=ORGANISATION_CODE), second, second]
    response = upload(client, "licence", xlsx_from_template(client, "licence", records), "c.xlsx")
    assert response.status_code == 400
    by_cell = {(row, col): msg for row, col, msg in problems(response.get_data(as_text=True))}
    header = HEADERS["licence"]["document_number"]
    assert "同一机关的文书号不能重复" in by_cell[("2", header)]
    assert "与第2条的文书号重复" in by_cell[("4", header)]
    assert count(db, LicenceDecision) == 1


def test_a_stale_preview_is_refused_and_nothing_is_saved(db, login_as):
    client = login_as("editor")
    response = upload(client, "licence", xlsx_from_template(client, "licence", LICENCES), "d.xlsx")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    # after the preview, someone enters one of its records by hand
    operations.create_licence(licence_data(document_number="许交运许〔2020〕2号"), actor="other")
    db.session.commit()
    response = apply(client, page)
    assert response.status_code == 409
    assert "预览之后，以下文书号已被登记：许交运许〔2020〕2号" in response.get_data(as_text=True)
    assert db.session.scalars(sa.select(LicenceDecision.updated_by)).all() == ["other"]


def test_a_file_of_the_other_kind_or_format_is_refused(db, login_as):
    client = login_as("editor")
    penalties = xlsx_from_template(client, "penalty", [penalty_data()])
    response = upload(client, "licence", penalties, "e.xlsx")
    assert response.status_code == 400
    assert "没有找到行政许可决定所在的工作表" in response.get_data(as_text=True)
    response = upload(client, "licence", b"%PDF-1.4", "e.pdf")
    assert "只支持 .xlsx 和 .csv 文件" in response.get_data(as_text=True)
    unknown = csv_bytes("licence", [licence_data()], "utf-8").replace(
        "许可内容".encode(), "内容X".encode()
    )
    response = upload(client, "licence", unknown, "f.csv")
    assert response.status_code == 400
    assert "列的表头「内容X」无法识别" in response.get_data(as_text=True)
    assert count(db, LicenceDecision) == 0


def test_apply_without_a_preview_is_refused(login_as):
    client = login_as("editor")
    token = csrf_token(client, IMPORT)
    assert client.post(IMPORT + "/apply", data={"csrf_token": token}).status_code == 400
    forged = {"csrf_token": token, "token": "A" * 22}
    assert client.post(IMPORT + "/apply", data=forged).status_code == 410


def test_a_file_in_the_national_template_spellings_imports(db, login_as):
    """Other spellings of a column (seed/import_headers.yaml) are read, and the national
    template's columns this catalog does not keep are ignored."""
    client = login_as("editor")
    text = csv_bytes("licence", [licence_data()], "utf-8").decode()
    header, _newline, rest = text.partition("\r\n")
    header = header.replace("统一社会信用代码", "行政相对人代码_1（统一社会信用代码）", 1)
    header = header.replace("许可证书编号", "许可编号")
    content = f"{header},行政相对人代码_2（工商注册号）,备注\r\n" + rest.replace("\r\n", ",,\r\n")
    response = upload(client, "licence", content.encode("gb18030"), "national.csv")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert apply(client, page).status_code == 302
    saved = db.session.scalar(sa.select(LicenceDecision))
    assert saved.party_credit_code == licence_data()["party_credit_code"]
    assert saved.certificate_number == licence_data()["certificate_number"]
