"""The 双公示 import updates records (issue 24, part 5), on SQLite and PostgreSQL: a row whose
决定文书号 and 机关统一社会信用代码 match a record updates it, previewed as 新增 / 修改 / 未变
with each changed field, applied all or nothing and audited as the edit form's save is; a
record changed (or entered) since the preview refuses the apply with nothing written; a blank
cell clears its field and a column the file lacks keeps it; the same rules as the forms; and
the header spellings of the national and provincial templates (GB18030 CSV too), with
unknown, duplicate and missing columns named."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from catalog.decisions import operations
from catalog.decisions.columns import COLUMNS, HEADERS
from catalog.enums import LicenceStatus
from catalog.models import AuditAction, AuditEvent, LicenceDecision, PenaltyDecision
from tests.decisions.conftest import (  # noqa: F401 (fixtures)
    ORGANISATION_CODE,
    catalog_items,
    licence_data,
    penalty_data,
    periods,
)
from tests.staff.test_decision_import import (
    apply,
    cells,
    count,
    csv_bytes,
    problems,
    upload,
    xlsx_from_template,
)

pytestmark = pytest.mark.usefixtures("catalog_items", "periods")
FIRST, SECOND, THIRD = (f"许交运许〔2020〕{n}号" for n in (1, 2, 3))


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def csv_with(kind: str, records: list[dict], encoding: str, headers=None, drop=()) -> bytes:
    """A CSV of the kind's columns, some headed otherwise (`headers`: field -> header), some
    left out (`drop`: fields)."""
    headers = headers or {}
    keep = [i for i, c in enumerate(COLUMNS[kind]) if c.key not in drop]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([headers.get(COLUMNS[kind][i].key, COLUMNS[kind][i].header) for i in keep])
    for record in records:
        row = cells(kind, record)
        writer.writerow([row[i] for i in keep])
    return out.getvalue().encode(encoding)


def changed_fields(page: str) -> list[tuple[str, str, str]]:
    """(column, now, after) of each changed field the preview lists."""
    return re.findall(
        r'<td data-label="字段">([^<]*)</td><td data-label="原值" class="old">([^<]*)</td>'
        r'<td data-label="新值" class="new">([^<]*)</td>',
        page,
    )


def entered(db, *records: dict) -> list[LicenceDecision]:
    """Licence decisions entered through the form's operation, committed."""
    saved = [operations.create_licence(data, actor="clerk0") for data in records]
    db.session.commit()
    return saved


def events(db, action: AuditAction) -> list[AuditEvent]:
    return db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.object_type == "licence_decision", AuditEvent.action == action)
        .order_by(AuditEvent.id)
    ).all()


def licence(db, number: str) -> LicenceDecision:
    db.session.expire_all()
    return db.session.scalar(
        sa.select(LicenceDecision).where(LicenceDecision.document_number == number)
    )


def test_a_row_matching_a_record_updates_it_previewed_applied_and_audited(db, login_as):
    entered(db, licence_data(), licence_data(document_number=SECOND))
    client = login_as("editor")
    rows = [
        licence_data(content="准予从事道路危险货物运输经营。", legal_representative="赵六"),
        licence_data(document_number=SECOND),  # as it is
        licence_data(document_number=THIRD),  # new
    ]
    response = upload(client, "licence", xlsx_from_template(client, "licence", rows), "u.xlsx")
    page = text_of(response)
    assert response.status_code == 200, page
    assert "预览：新增 1 条，修改 1 条，未变 1 条行政许可决定" in page
    assert f"第2行：修改 {FIRST}（许昌市交通运输局）" in page
    assert changed_fields(page) == [  # only what changes, in the template's order
        ("许可内容", licence_data()["content"], rows[0]["content"]),
        ("法定代表人", "王五", "赵六"),
    ]
    assert licence(db, FIRST).content == licence_data()["content"]  # a preview writes nothing

    response = apply(client, page)
    assert response.status_code == 302
    assert "新增 1 条，修改 1 条" in text_of(client.get(response.headers["Location"]))
    updated = licence(db, FIRST)
    assert (updated.content, updated.legal_representative) == (rows[0]["content"], "赵六")
    assert (updated.version, updated.updated_by) == (2, "editor1")
    assert licence(db, SECOND).version == 1  # unchanged: not written
    assert licence(db, THIRD) is not None
    [change] = events(db, AuditAction.change)  # audited as the edit form's save is
    assert (change.actor, change.object_code, change.reason) == ("editor1", FIRST, "导入 u.xlsx")
    assert change.changes == {
        "content": [licence_data()["content"], rows[0]["content"]],
        "legal_representative": ["王五", "赵六"],
    }
    created = [e.object_code for e in events(db, AuditAction.create) if e.actor == "editor1"]
    assert created == [THIRD]


def test_a_record_changed_since_the_preview_refuses_the_apply(db, login_as):
    _first, second = entered(db, licence_data(), licence_data(document_number=SECOND))
    client = login_as("editor")
    rows = [
        licence_data(content="新的许可内容。"),
        licence_data(document_number=SECOND),
        licence_data(document_number=THIRD),
    ]
    page = text_of(upload(client, "licence", csv_bytes("licence", rows, "utf-8"), "s.csv"))
    assert "预览：新增 1 条，修改 1 条，未变 1 条" in page
    # after the preview, someone edits the record the file leaves unchanged
    operations.update_licence(
        second, licence_data(document_number=SECOND, legal_representative="钱七"),
        expected_version=1, actor="other", reason="更正",
    )  # fmt: skip
    db.session.commit()
    response = apply(client, page)
    assert response.status_code == 409
    assert f"以下决定已被他人修改或登记：{SECOND}（许昌市交通运输局）" in text_of(response)
    assert "本次未导入任何内容" in text_of(response)
    assert licence(db, FIRST).content == licence_data()["content"]  # nothing written
    assert licence(db, SECOND).legal_representative == "钱七"
    assert licence(db, THIRD) is None
    assert not [e for e in events(db, AuditAction.change) if e.actor == "editor1"]
    # a new preview shows the file over what is there now, and applies
    page = text_of(upload(client, "licence", csv_bytes("licence", rows, "utf-8"), "s.csv"))
    assert "预览：新增 1 条，修改 2 条，未变 0 条" in page
    assert apply(client, page).status_code == 302
    assert licence(db, SECOND).legal_representative == "王五"


def test_a_record_entered_since_the_preview_with_a_new_rows_number_refuses_it(db, login_as):
    client = login_as("editor")
    rows = [licence_data(), licence_data(document_number=SECOND, authority="许昌市交通局")]
    page = text_of(upload(client, "licence", csv_bytes("licence", rows, "utf-8"), "n.csv"))
    assert "预览：新增 2 条，修改 0 条，未变 0 条" in page
    # entered meanwhile with the same number and authority credit code, another spelling of
    # the authority: the row would now update it
    entered(db, licence_data(document_number=SECOND))
    response = apply(client, page)
    assert response.status_code == 409
    assert f"{SECOND}（许昌市交通运输局）" in text_of(response)
    assert count(db, LicenceDecision) == 1


def test_a_blank_cell_clears_its_field_and_a_missing_column_keeps_it(db, login_as):
    entered(db, licence_data(status="revoked"))
    client = login_as("editor")
    row = licence_data(legal_representative=None, valid_until=None, status=None)
    content = csv_with("licence", [row], "utf-8", drop=("certificate_number", "handling_item"))
    page = text_of(upload(client, "licence", content, "blank.csv"))
    assert "预览：新增 0 条，修改 1 条，未变 0 条" in page
    assert changed_fields(page) == [
        ("法定代表人", "王五", "（空）"),
        ("有效期至", "2024-05-31", "（空）"),
        ("当前状态", "撤销", "有效"),  # 空为有效, as the template says
    ]
    assert apply(client, page).status_code == 302
    record = licence(db, FIRST)
    assert (record.legal_representative, record.valid_until) == (None, None)
    assert record.status == LicenceStatus.valid
    # the columns the file lacks are as they were
    assert record.certificate_number == licence_data()["certificate_number"]
    assert record.handling_item.code == "L-1-01"


def test_an_update_is_checked_by_the_forms_rules_and_nothing_is_saved(db, login_as):
    entered(db, licence_data())
    client = login_as("editor")
    rows = [licence_data(published_on=date(2020, 5, 1), item="C-1")]
    response = upload(client, "licence", csv_bytes("licence", rows, "utf-8"), "bad.csv")
    assert response.status_code == 400
    by_cell = {(row, column): message for row, column, message in problems(text_of(response))}
    assert "不能早于决定日期" in by_cell[("2", HEADERS["licence"]["published_on"])]
    assert "行政许可事项" in by_cell[("2", HEADERS["licence"]["item"])]
    assert licence(db, FIRST).version == 1


def test_the_match_is_the_number_and_the_authority_credit_code(db, login_as):
    """Another credit code under the same authority name is a new record, refused as a
    duplicate number; the same credit code under a renamed authority updates the record;
    two rows of the file may not update one record, nor a row one of two records."""
    entered(db, licence_data())
    client = login_as("editor")
    other_code = ORGANISATION_CODE  # valid, and not the authority's
    response = upload(
        client, "licence",
        csv_bytes("licence", [licence_data(authority_credit_code=other_code)], "utf-8"), "a.csv",
    )  # fmt: skip
    by_cell = {(row, column): message for row, column, message in problems(text_of(response))}
    assert "同一机关的文书号不能重复" in by_cell[("2", HEADERS["licence"]["document_number"])]
    twice = [licence_data(), licence_data(authority="许昌市交通运输局（行政审批科）")]
    response = upload(client, "licence", csv_bytes("licence", twice, "utf-8"), "b.csv")
    by_cell = {(row, column): message for row, column, message in problems(text_of(response))}
    assert "与第1条对应同一条已有决定" in by_cell[("3", HEADERS["licence"]["document_number"])]
    renamed = [licence_data(authority="许昌市交通运输局（行政审批科）")]
    page = text_of(upload(client, "licence", csv_bytes("licence", renamed, "utf-8"), "c.csv"))
    assert "预览：新增 0 条，修改 1 条，未变 0 条" in page
    assert apply(client, page).status_code == 302
    assert licence(db, FIRST).authority == "许昌市交通运输局（行政审批科）"
    assert count(db, LicenceDecision) == 1
    # two records with the number and the credit code (their authority names differ): the row
    # cannot tell which, and is refused naming both
    entered(db, licence_data(authority="许昌市交通运输局"))
    response = upload(client, "licence", csv_bytes("licence", renamed, "utf-8"), "d.csv")
    by_cell = {(row, column): message for row, column, message in problems(text_of(response))}
    message = by_cell[("2", HEADERS["licence"]["document_number"])]
    assert "已有 2 条决定的文书号和机关统一社会信用代码都与本行相同" in message
    assert f"{FIRST}（许昌市交通运输局）" in message and "无法确定修改哪一条" in message


def test_a_file_that_changes_nothing_offers_no_apply(db, login_as):
    entered(db, licence_data())
    client = login_as("editor")
    response = upload(client, "licence", csv_bytes("licence", [licence_data()], "utf-8"), "x.csv")
    page = text_of(response)
    assert response.status_code == 200
    assert "预览：新增 0 条，修改 0 条，未变 1 条" in page
    assert "没有需要导入的内容" in page
    assert "/staff/decisions/import/apply" not in page


PROVINCIAL_LICENCE = {
    "document_number": "决定文书号",
    "party_name": "相对人名称",
    "party_credit_code": "行政相对人代码_1(统一社会信用代码)",
    "decided_on": "决定日期",
    "valid_until": "许可截止期",
    "legal_representative": "法定代表人姓名",
}
PROVINCIAL_PENALTY = {
    "document_number": "行政处罚决定文书号",
    "party_name": "相对人名称",
    "decided_on": "处罚决定日期（日期）",
    "content": "处罚结果",
    "publication_ends_on": "公示截止期",
}


def test_a_gb18030_csv_in_provincial_spellings_adds_and_updates(db, login_as):
    operations.create_penalty(penalty_data(), actor="clerk0")
    db.session.commit()
    client = login_as("editor")
    rows = [
        penalty_data(fine_amount="5", content="罚款人民币伍万元。"),
        penalty_data(document_number="许交执罚〔2020〕2号"),
    ]
    content = csv_with("penalty", rows, "gb18030", headers=PROVINCIAL_PENALTY)
    page = text_of(upload(client, "penalty", content, "处罚.csv"))
    assert "预览：新增 1 条，修改 1 条，未变 0 条行政处罚决定" in page, page
    assert changed_fields(page) == [
        ("处罚内容", "罚款人民币叁万元。", "罚款人民币伍万元。"),
        ("罚款金额（万元）", "3", "5"),
    ]
    assert apply(client, page).status_code == 302
    db.session.expire_all()
    saved = db.session.scalars(sa.select(PenaltyDecision).order_by(PenaltyDecision.id)).all()
    assert [(p.document_number, str(p.fine_amount.normalize())) for p in saved] == [
        ("许交执罚〔2020〕1号", "5"),
        ("许交执罚〔2020〕2号", "3"),
    ]
    assert saved[0].content == "罚款人民币伍万元。"


def test_a_licence_csv_in_provincial_spellings_imports(db, login_as):
    client = login_as("editor")
    content = csv_with("licence", [licence_data()], "gb18030", headers=PROVINCIAL_LICENCE)
    page = text_of(upload(client, "licence", content, "许可.csv"))
    assert "预览：新增 1 条" in page, page
    assert apply(client, page).status_code == 302
    saved = licence(db, FIRST)
    assert (saved.party_name, saved.decided_on) == (licence_data()["party_name"], date(2020, 6, 1))
    assert saved.valid_until == date(2024, 5, 31)


def test_unknown_duplicate_and_missing_columns_are_named(db, login_as):
    client = login_as("editor")
    text = csv_with("licence", [licence_data()], "utf-8", drop=("content",)).decode()
    header, _newline, rest = text.partition("\r\n")
    # an unknown column, and 决定文书号 beside 行政许可决定文书号
    content = f"{header},许可范围,决定文书号\r\n" + rest.replace("\r\n", ",货运,X\r\n")
    response = upload(client, "licence", content.encode("gb18030"), "h.csv")
    assert response.status_code == 400
    found = {(column, message) for _row, column, message in problems(text_of(response))}
    letter = chr(ord("A") + len(header.split(",")))
    assert ("许可范围", f"{letter}列的表头「许可范围」无法识别：请改为模板中的列名或其常见写法"
            "（见模板的“填写说明”或本页“可识别的表头”），或删除此列。") in found  # fmt: skip
    twice = "与「行政许可决定文书号」同为“行政许可决定文书号”，只能保留一列。"
    assert ("决定文书号", twice) in found
    assert ("", "缺少必填列：许可内容。") in found
    assert count(db, LicenceDecision) == 0


def test_a_file_without_the_kinds_header_names_the_spellings_it_reads(db, login_as):
    client = login_as("editor")
    content = "名称,日期\r\n某公司,2020-06-01\r\n".encode("gb18030")
    response = upload(client, "licence", content, "none.csv")
    assert response.status_code == 400
    page = text_of(response)
    assert "表头须含行政许可决定文书号（或 许可决定文书号、决定文书号" in page
    assert "许可决定日期（或 许可决定日期(日期)、决定日期）" in page


def test_the_upload_page_and_the_template_list_the_spellings(db, login_as):
    client = login_as("editor")
    page = text_of(client.get("/staff/decisions/import"))
    assert "<dt>行政相对人名称</dt><dd>也可写作：相对人名称</dd>" in page
    assert "留空的单元格会清空该字段" in page
    response = client.get("/staff/decisions/template-penalty.xlsx")
    notes = load_workbook(io.BytesIO(response.data))["填写说明"]
    hints = {row[0].value: row[2].value or "" for row in notes.iter_rows(min_row=2) if row[0].value}
    assert "表头也可写作：处罚决定日期(日期)、决定日期" in hints["处罚决定日期"]


def test_update_many_refuses_a_record_at_another_version(db):
    [decision] = entered(db, licence_data())
    values = operations.check_licence(licence_data(content="另一内容。"), own_id=decision.id)
    with pytest.raises(operations.DecisionConflict) as refused:
        operations.update_many(
            [(decision, values)], versions={decision.id: 7}, actor="x", reason="导入"
        )
    assert FIRST in refused.value.message
    assert licence(db, FIRST).content == licence_data()["content"]
