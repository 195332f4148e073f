"""The staff pages of the 双公示 decision records (issue 24, part 5 and part 3's audit of
reads), on SQLite and PostgreSQL: the forms save through the operations, every kind of bad
input is named beside its field with nothing saved, a stale form is a 409 that changes
nothing, opening a full record is audited, and 信用修复 ends a penalty's publication."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from catalog.decisions import operations
from catalog.models import (
    AuditAction,
    AuditEvent,
    CreditRepair,
    LicenceDecision,
    PenaltyDecision,
)
from tests.decisions.conftest import (  # noqa: F401 (fixtures)
    PERSON_ID,
    catalog_items,
    licence_data,
    penalty_data,
    periods,
)
from tests.staff.conftest import csrf_token


def posted(data: dict) -> dict[str, str]:
    """A payload as a browser sends the form: every value text."""
    return {key: "" if value is None else str(value) for key, value in data.items()}


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def decision_events(db) -> list[AuditEvent]:
    """The audit trail of decision records (the catalog fixtures audit their items too)."""
    kinds = ("licence_decision", "penalty_decision")
    return db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.object_type.in_(kinds)).order_by(AuditEvent.id)
    ).all()


def error_beside(page: str, field: str) -> str:
    """The error shown next to a field (its span names the field in its id)."""
    match = re.search(rf'<span class="field-error" id="error-{field}">([^<]*)</span>', page)
    assert match, f"no error beside {field}"
    return match.group(1)


def post_new(client, kind: str, data: dict):
    path = f"/staff/decisions/{kind}/new"
    return client.post(path, data={**posted(data), "csrf_token": csrf_token(client, path)})


@pytest.mark.usefixtures("catalog_items")
def test_an_editor_enters_a_licence_decision(db, login_as):
    client = login_as("editor")
    response = post_new(client, "licence", licence_data())
    assert response.status_code == 302, response.get_data(as_text=True)
    decision = db.session.scalar(sa.select(LicenceDecision))
    assert response.headers["Location"] == f"/staff/decisions/licence/{decision.id}"
    assert (decision.item.code, decision.handling_item.code) == ("L-1", "L-1-01")
    assert decision.updated_by == "editor1"
    [created] = decision_events(db)
    assert created.action == AuditAction.create
    assert (created.actor, created.object_code) == ("editor1", "许交运许〔2020〕1号")


@pytest.mark.usefixtures("periods")
def test_an_editor_enters_a_penalty_of_a_natural_person(db, login_as):
    client = login_as("editor")
    assert post_new(client, "penalty", penalty_data()).status_code == 302
    penalty = db.session.scalar(sa.select(PenaltyDecision))
    assert penalty.party_id_number == PERSON_ID
    assert penalty.publication_ends_on == date(2021, 6, 1)  # the longest period by default


@pytest.mark.parametrize(
    ("kind", "overrides", "field", "fragment"),
    [
        ("licence", {"party_credit_code": "91350100M000100Y44"}, "party_credit_code",
         "统一社会信用代码校验码错误"),
        ("licence", {"item": "C-1"}, "item", "许可决定只能对应行政许可事项"),
        ("licence", {"item": ""}, "item", "请填写事项编码"),
        ("licence", {"published_on": "2020-05-30"}, "published_on", "不能早于决定日期"),
        ("licence", {"valid_until": "2020-01-01"}, "valid_until", "不能早于有效期自"),
        ("licence", {"decided_on": "2020-13-01"}, "decided_on", "不是有效的日期"),
        ("licence", {"category": "发明"}, "category", "须为以下之一"),
        ("licence", {"content": "准予许可。持证人110105194912310021。"}, "content",
         "含有完整的身份证号码"),
        ("penalty", {"party_id_number": "110105194912310021"}, "party_id_number",
         "身份证号码校验码错误"),
        ("penalty", {"fine_amount": "-1"}, "fine_amount", "金额不能为负数"),
        ("penalty", {"fine_amount": "三万"}, "fine_amount", "须为数字"),
        ("penalty", {"party_credit_code": "91350100M000100Y43"}, "party_credit_code",
         "自然人不填写统一社会信用代码"),
        ("penalty", {"publication_ends_on": "2020-07-01"}, "publication_ends_on",
         "公示截止日期应在"),
    ],
)  # fmt: skip
@pytest.mark.usefixtures("catalog_items", "periods")
def test_each_kind_of_bad_input_is_named_beside_its_field(
    db, login_as, kind, overrides, field, fragment
):
    client = login_as("editor")
    data = (licence_data if kind == "licence" else penalty_data)(**overrides)
    response = post_new(client, kind, data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert fragment in error_beside(page, field)
    assert 'aria-invalid="true"' in page
    assert count(db, LicenceDecision) + count(db, PenaltyDecision) == 0
    assert decision_events(db) == []


@pytest.mark.usefixtures("catalog_items")
def test_a_document_number_taken_by_the_same_authority_is_refused(db, login_as):
    operations.create_licence(licence_data(), actor="editor0")
    db.session.commit()
    client = login_as("editor")
    response = post_new(client, "licence", licence_data(party_name="另一家公司"))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "同一机关的文书号不能重复" in error_beside(page, "document_number")
    assert count(db, LicenceDecision) == 1


def _edit(client, decision_id: int, **changes):
    path = f"/staff/decisions/licence/{decision_id}/edit"
    page = client.get(path).get_data(as_text=True)
    version = re.search(r'id="version" name="version" type="hidden" value="(\d+)"', page)[1]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]
    data = {**posted(licence_data()), **changes, "version": version, "reason": "更正"}
    data["csrf_token"] = token
    return path, data, version


@pytest.mark.usefixtures("catalog_items")
def test_an_edit_saves_and_is_audited(db, login_as):
    decision = operations.create_licence(licence_data(), actor="editor0")
    db.session.commit()
    client = login_as("editor")
    path, data, _version = _edit(client, decision.id, content="准予从事道路危险货物运输经营。")
    response = client.post(path, data=data)
    assert response.status_code == 302
    db.session.expire_all()
    assert decision.content == "准予从事道路危险货物运输经营。" and decision.version == 2
    [change] = [e for e in decision_events(db) if e.action == AuditAction.change]
    assert change.actor == "editor1" and change.reason == "更正"
    assert list(change.changes) == ["content"]


@pytest.mark.usefixtures("catalog_items")
def test_an_edit_needs_a_reason(db, login_as):
    decision = operations.create_licence(licence_data(), actor="editor0")
    db.session.commit()
    client = login_as("editor")
    path, data, _version = _edit(client, decision.id, content="改")
    response = client.post(path, data={**data, "reason": ""})
    assert response.status_code == 400
    assert "请说明修改原因" in response.get_data(as_text=True)


@pytest.mark.usefixtures("catalog_items")
def test_a_stale_form_is_refused_with_409_and_changes_nothing(db, login_as):
    decision = operations.create_licence(licence_data(), actor="editor0")
    db.session.commit()
    client = login_as("editor")
    path, data, version = _edit(client, decision.id, content="我的修改。")
    # someone else saves first
    operations.update_licence(
        decision, licence_data(content="他人的修改。"), expected_version=version, actor="reviewer0"
    )
    db.session.commit()
    response = client.post(path, data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "已被他人修改，本次提交未保存" in page
    assert "他人的修改。" in page  # what won is shown beside what was sent
    db.session.expire_all()
    assert decision.content == "他人的修改。" and decision.version == 2
    actions = [e.action for e in decision_events(db)]
    # created, the edit form's opening, the other's change: nothing of the stale save
    assert actions == [AuditAction.create, AuditAction.view, AuditAction.change]


@pytest.mark.usefixtures("periods")
def test_opening_a_full_record_is_audited_with_who_opened_it(db, login_as):
    penalty = operations.create_penalty(penalty_data(), actor="editor0")
    db.session.commit()
    client = login_as("reviewer")
    response = client.get(f"/staff/decisions/penalty/{penalty.id}")
    assert response.status_code == 200
    assert PERSON_ID in response.get_data(as_text=True)  # staff see the whole number
    opened = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == AuditAction.view)
    ).all()
    assert [(e.actor, e.object_type, e.object_code) for e in opened] == [
        ("reviewer1", "penalty_decision", "许交执罚〔2020〕1号")
    ]
    assert opened[0].changes == {} and opened[0].details == {"record_id": penalty.id}
    client.get(f"/staff/decisions/penalty/{penalty.id}")
    assert len(decision_events(db)) == 3  # the creation and two openings
    assert "查看记录" in client.get("/staff/audit?action=view").get_data(as_text=True)


@pytest.mark.usefixtures("catalog_items")
def test_the_list_searches_and_filters(db, login_as):
    operations.create_licence(licence_data(), actor="editor0")
    late = licence_data(
        document_number="许交运许〔2020〕2号", party_name="禹州顺达物流有限公司",
        published_on=date(2020, 6, 30),
    )  # fmt: skip
    operations.create_licence(late, actor="editor0")
    db.session.commit()
    client = login_as("editor")

    def listed(query: str) -> list[str]:
        page = client.get("/staff/decisions?kind=licence&" + query).get_data(as_text=True)
        return re.findall(r"许交运许〔2020〕\d+号", page)

    assert sorted(listed("")) == ["许交运许〔2020〕1号", "许交运许〔2020〕2号"]
    assert listed("q=顺达") == ["许交运许〔2020〕2号"]
    assert listed("q=%01顺达") == ["许交运许〔2020〕2号"]  # control characters are dropped
    assert listed("q=〔2020〕1") == ["许交运许〔2020〕1号"]
    assert listed("q=91350100m000100y43") == ["许交运许〔2020〕1号", "许交运许〔2020〕2号"][::-1]
    assert listed("late=1") == ["许交运许〔2020〕2号"]
    assert listed("year=2019") == []
    assert client.get("/staff/decisions?before=abc").status_code == 400


@pytest.fixture
def in_october_2020(monkeypatch):
    monkeypatch.setattr("catalog.staff.decisions.display_today", lambda: date(2020, 10, 1))


@pytest.mark.usefixtures("periods")
def test_credit_repair_ends_the_publication_with_a_reason(db, login_as, in_october_2020):
    penalty = operations.create_penalty(penalty_data(), actor="editor0")
    db.session.commit()
    client = login_as("editor")
    path = f"/staff/decisions/penalty/{penalty.id}"
    page = client.get(path).get_data(as_text=True)
    assert "信用修复：提前结束公示" in page
    # the period in force on the decision date, read from the data
    rule = "一般失信行为最短公示3个月（发改办财金〔2019〕527号），2020-09-01起可提前结束公示"
    assert rule in page
    token = csrf_token(client, path)
    blank = client.post(path + "/repair", data={"csrf_token": token, "version": "1", "reason": ""})
    assert blank.status_code == 400
    assert "请说明信用修复的依据" in blank.get_data(as_text=True)
    stale = client.post(path + "/repair", data={"csrf_token": token, "version": "0", "reason": "x"})
    assert stale.status_code == 409
    assert count(db, CreditRepair) == 0
    reason = "已履行处罚，申请修复"
    response = client.post(
        path + "/repair", data={"csrf_token": token, "version": "1", "reason": reason}
    )
    assert response.status_code == 302
    repair = db.session.scalar(sa.select(CreditRepair))
    assert (repair.ended_on, repair.recorded_by) == (date(2020, 10, 1), "editor1")
    assert "经信用修复结束公示" in client.get(path).get_data(as_text=True)
