"""Recording decisions through the operations, on SQLite and PostgreSQL: every rule of the
issue's "Bad input" refused with a message naming the field and nothing saved; versions on
update; the audit trail; publication periods and 信用修复."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from catalog.decisions import operations
from catalog.domain import Conflict, Invalid
from catalog.models import (
    ApprovalItem,
    AuditEvent,
    CreditRepair,
    LicenceDecision,
    PenaltyDecision,
    PublicationPeriod,
)
from catalog.services import write_item
from tests.decisions.conftest import licence_data, penalty_data
from tests.factories import handling_item_data, item_data


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def refused(db, create, data) -> Invalid:
    """The refusal of `create(data)`, after checking that nothing was written."""
    before = (count(db, LicenceDecision), count(db, PenaltyDecision), count(db, AuditEvent))
    with pytest.raises(Invalid) as refusal:
        create(data, actor="editor")
    db.session.rollback()
    after = (count(db, LicenceDecision), count(db, PenaltyDecision), count(db, AuditEvent))
    assert after == before
    return refusal.value


def test_a_licence_decision_is_recorded_and_audited(db, catalog_items):
    decision = operations.create_licence(licence_data(), actor="editor", reason="录入")
    db.session.commit()
    assert decision.item.code == "L-1" and decision.handling_item.code == "L-1-01"
    assert decision.publish_by == date(2020, 6, 10) and decision.on_time
    assert decision.status.label == "有效"
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.actor == "editor"))
    assert event.object_type == "licence_decision"
    assert event.object_code == "许交运许〔2020〕1号"
    assert event.changes["party_credit_code"] == [None, "91350100M000100Y43"]


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("party_credit_code", "91350100M000100Y44", "统一社会信用代码：统一社会信用代码校验码错误"),
        ("authority_credit_code", "9111000060003734",
         "许可机关统一社会信用代码：统一社会信用代码应为18位"),
        ("item", "C-1", "事项编码：“车辆年审”是行政确认事项，许可决定只能对应行政许可事项"),
        ("item", "NOPE", "事项编码：目录中没有编码为 NOPE 的事项"),
        ("handling_item", "C-1-01", "业务办理项编码："),
        ("published_on", date(2020, 5, 31), "公示日期：公示日期（2020-05-31）不能早于决定日期"),
        ("valid_until", date(2020, 5, 1), "有效期至：有效期至（2020-05-01）不能早于有效期自"),
        ("content", "准予 11010519491231002X 从事经营", "许可内容：含有完整的身份证号码"),
        ("category", "lifetime", "许可类别：须为以下之一：普通、特许"),
        ("decided_on", "2020-02-30", "许可决定日期：不是有效的日期"),
        ("document_number", "  ", "行政许可决定文书号：请填写行政许可决定文书号"),
        ("party_id_number", "11010519491231002X", "证件号码：仅自然人填写证件类型和证件号码"),
    ],
)  # fmt: skip
def test_a_licence_that_breaks_a_rule_is_refused_naming_the_field(
    db, catalog_items, field, value, fragment
):
    refusal = refused(db, operations.create_licence, licence_data(**{field: value}))
    assert field in refusal.errors
    assert fragment in refusal.message


def test_a_document_number_is_unique_per_authority(db, catalog_items):
    operations.create_licence(licence_data(), actor="editor")
    db.session.commit()
    refusal = refused(db, operations.create_licence, licence_data())
    assert "同一机关的文书号不能重复" in refusal.errors["document_number"][0]
    # the same number from another authority is another document
    other = licence_data(authority="禹州市交通运输局")
    assert operations.create_licence(other, actor="editor").id is not None
    db.session.commit()


def test_a_natural_person_needs_a_valid_id_and_no_credit_code(db, catalog_items, periods):
    refusal = refused(
        db, operations.create_penalty, penalty_data(party_id_number="110105194912310021")
    )
    assert "证件号码：身份证号码校验码错误（GB 11643-1999）" in refusal.message
    refusal = refused(db, operations.create_penalty, penalty_data(party_id_number=None))
    assert refusal.errors["party_id_number"] == ["请填写证件号码。"]
    refusal = refused(
        db, operations.create_penalty, penalty_data(party_credit_code="91350100M000100Y43")
    )
    assert refusal.errors["party_credit_code"] == ["自然人不填写统一社会信用代码。"]
    passport = penalty_data(party_id_type="passport", party_id_number="E12345678")
    assert operations.create_penalty(passport, actor="editor").party_id_number == "E12345678"


def test_an_organisation_needs_its_credit_code(db, catalog_items):
    refusal = refused(db, operations.create_licence, licence_data(party_credit_code=""))
    assert refusal.errors["party_credit_code"] == ["请填写统一社会信用代码。"]


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("fine_amount", "-0.5", "罚款金额（万元）：金额不能为负数"),
        ("confiscated_amount", "-1", "没收违法所得、没收非法财物的金额（万元）：金额不能为负数"),
        ("fine_amount", "三万", "罚款金额（万元）：须为数字"),
        ("violation_facts", "当事人（110105194912310021）超限运输",
         "违法事实：含有完整的身份证号码"),
        ("category", None, "处罚类别：请选择处罚类别"),
        ("severity", "fatal", "失信程度：须为以下之一"),
    ],
)  # fmt: skip
def test_a_penalty_that_breaks_a_rule_is_refused_naming_the_field(
    db, catalog_items, periods, field, value, fragment
):
    refusal = refused(db, operations.create_penalty, penalty_data(**{field: value}))
    assert field in refusal.errors
    assert fragment in refusal.message


def test_the_publication_period_comes_from_the_table(db, periods):
    general = operations.create_penalty(penalty_data(), actor="editor")
    assert general.publication_ends_on == date(2021, 6, 1)  # at most 1 year
    assert general.fine_amount == Decimal("3")
    serious = operations.create_penalty(
        penalty_data(document_number="许交执罚〔2020〕2号", severity="serious"), actor="editor"
    )
    assert serious.publication_ends_on == date(2023, 6, 1)  # at most 3 years
    db.session.commit()
    refusal = refused(
        db,
        operations.create_penalty,
        penalty_data(document_number="许交执罚〔2020〕3号", publication_ends_on="2020-08-31"),
    )
    assert refusal.errors["publication_ends_on"] == [
        "一般失信行为的公示期限为决定之日起最短3个月、最长12个月（发改办财金〔2019〕527号），"
        "公示截止日期应在2020-09-01至2021-06-01之间。"
    ]


def test_a_changed_period_applies_to_decisions_after_it(db, periods):
    db.session.add(
        PublicationPeriod(severity="general", effective_from=date(2020, 7, 1), min_months=1,
                          max_months=6, source="试行规则")
    )  # fmt: skip
    db.session.commit()
    before = operations.create_penalty(penalty_data(), actor="editor")
    after = operations.create_penalty(
        penalty_data(document_number="许交执罚〔2020〕9号", decided_on=date(2020, 7, 1),
                     published_on=date(2020, 7, 2)),
        actor="editor",
    )  # fmt: skip
    assert before.publication_ends_on == date(2021, 6, 1)
    assert after.publication_ends_on == date(2021, 1, 1)


def test_no_period_for_the_date_is_a_refusal(db):
    db.session.execute(sa.delete(PublicationPeriod))  # the migration's rows, in a first test
    db.session.commit()
    refusal = refused(db, operations.create_penalty, penalty_data())
    assert refusal.errors["severity"] == ["没有适用于2020-06-01的一般失信行为公示期限规则。"]


def test_a_late_publication_is_kept_and_flagged(db, periods):
    # decided Monday 2020-09-28: the 7th working day is 2020-10-14 (the National Day holiday)
    on_time = operations.create_penalty(
        penalty_data(decided_on=date(2020, 9, 28), published_on=date(2020, 10, 14)),
        actor="editor",
    )
    late = operations.create_penalty(
        penalty_data(document_number="许交执罚〔2020〕2号", decided_on=date(2020, 9, 28),
                     published_on=date(2020, 10, 15)),
        actor="editor",
    )  # fmt: skip
    db.session.commit()
    assert on_time.on_time and not late.on_time
    late_rows = db.session.scalars(
        sa.select(PenaltyDecision.document_number).where(
            PenaltyDecision.published_on > PenaltyDecision.publish_by
        )
    ).all()
    assert late_rows == ["许交执罚〔2020〕2号"]


def test_an_update_checks_the_version_and_audits_the_change(db, catalog_items):
    decision = operations.create_licence(licence_data(), actor="editor")
    db.session.commit()
    opened = decision.version
    changes = operations.update_licence(
        decision, licence_data(status="revoked"), expected_version=opened, actor="reviewer",
        reason="许可被撤销",
    )  # fmt: skip
    db.session.commit()
    assert {field: (old.value, new.value) for field, (old, new) in changes.items()} == {
        "status": ("valid", "revoked")
    }
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.actor == "reviewer"))
    assert event.changes == {"status": ["valid", "revoked"]} and event.reason == "许可被撤销"
    with pytest.raises(Conflict):  # a second form opened on the first version
        operations.update_licence(
            decision, licence_data(content="另一内容"), expected_version=opened, actor="editor"
        )
    db.session.rollback()
    assert db.session.get(LicenceDecision, decision.id).content == "准予从事道路普通货物运输经营。"
    unchanged = operations.update_licence(
        decision, licence_data(status="revoked"), expected_version=decision.version, actor="x"
    )
    assert unchanged == {}


def test_an_update_cannot_take_another_decisions_number(db, catalog_items):
    operations.create_licence(licence_data(), actor="editor")
    second = operations.create_licence(
        licence_data(document_number="许交运许〔2020〕2号"), actor="editor"
    )
    db.session.commit()
    with pytest.raises(Invalid) as refusal:
        operations.update_licence(
            second, licence_data(), expected_version=second.version, actor="editor"
        )
    assert "document_number" in refusal.value.errors


def test_credit_repair_ends_the_publication_after_the_shortest_period(db, periods):
    penalty = operations.create_penalty(penalty_data(), actor="editor")
    db.session.commit()
    assert operations.is_publicly_listed(penalty, date(2020, 9, 1))
    with pytest.raises(Invalid) as early:
        operations.end_publication_early(
            penalty, reason="已整改", actor="reviewer", today=date(2020, 8, 31)
        )
    assert "2020-09-01前不能提前结束公示" in early.value.message
    with pytest.raises(Invalid) as blank:
        operations.end_publication_early(
            penalty, reason=" ", actor="reviewer", today=date(2020, 9, 1)
        )
    assert "reason" in blank.value.errors
    db.session.rollback()
    repair = operations.end_publication_early(
        penalty, reason="当事人已履行处罚并提交信用修复申请", actor="reviewer",
        today=date(2020, 9, 1),
    )  # fmt: skip
    db.session.commit()
    assert (repair.recorded_by, repair.ended_on) == ("reviewer", date(2020, 9, 1))
    assert not operations.is_publicly_listed(penalty, date(2020, 9, 1))
    listed = db.session.scalars(
        sa.select(PenaltyDecision.id).where(operations.publicly_listed(date(2020, 9, 1)))
    ).all()
    assert listed == []
    assert count(db, CreditRepair) == 1
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.actor == "reviewer"))
    assert event.reason == "当事人已履行处罚并提交信用修复申请"


def test_a_penalty_leaves_the_public_list_after_its_end(db, periods):
    penalty = operations.create_penalty(penalty_data(), actor="editor")
    db.session.commit()

    def listed(day):
        return db.session.scalars(
            sa.select(PenaltyDecision.id).where(operations.publicly_listed(day))
        ).all()

    assert listed(date(2021, 6, 1)) == [penalty.id]
    assert listed(date(2021, 6, 2)) == []
    assert not operations.is_publicly_listed(penalty, date(2021, 6, 2))


def test_a_penalty_update_rechecks_the_period_and_audits(db, periods):
    penalty = operations.create_penalty(penalty_data(), actor="editor")
    db.session.commit()
    with pytest.raises(Invalid) as refusal:
        operations.update_penalty(
            penalty, penalty_data(publication_ends_on="2024-01-01"),
            expected_version=penalty.version, actor="editor",
        )  # fmt: skip
    assert "publication_ends_on" in refusal.value.errors
    db.session.rollback()
    changes = operations.update_penalty(
        penalty, penalty_data(severity="serious", publication_ends_on="2022-06-01"),
        expected_version=penalty.version, actor="reviewer", reason="认定为严重失信",
    )  # fmt: skip
    db.session.commit()
    assert changes["publication_ends_on"] == (date(2021, 6, 1), date(2022, 6, 1))
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.actor == "reviewer"))
    assert event.changes["severity"] == ["general", "serious"]
    assert event.changes["publication_ends_on"] == ["2021-06-01", "2022-06-01"]


def test_a_handling_item_named_by_licence_decisions_cannot_be_removed(db, catalog_items):
    """Dropping it from the item would break the published records that name it (or, before
    this rule, fail on the foreign key with a misleading message): the edit is refused,
    naming the handling item, and nothing changes; retiring it stays possible."""
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "L-1"))
    two = item_data(handling_item_data(code="L-1-01"), handling_item_data(code="L-1-02"),
                    code="L-1")  # fmt: skip
    write_item(item, two)
    operations.create_licence(licence_data(handling_item="L-1-02"), actor="tester")
    db.session.commit()
    with pytest.raises(Invalid) as refused:
        write_item(item, item_data(handling_item_data(code="L-1-01"), code="L-1"))
    assert refused.value.errors == {
        "handling_items.L-1-02": [
            "已有 1 条许可决定（双公示）依据此办理项，不能删除；"
            "不再办理的情形请由审核人员停用该办理项，记录会保留。"
        ]
    }
    db.session.rollback()
    assert [h.code for h in item.handling_items] == ["L-1-01", "L-1-02"]
    write_item(item, item_data(handling_item_data(code="L-1-02"), code="L-1"))  # L-1-01: none
    db.session.commit()
    assert [h.code for h in item.handling_items] == ["L-1-02"]
