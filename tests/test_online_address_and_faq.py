"""The guide's online-handling address and FAQ through the service layer (issue 23 part 2):
one rule for an address and for a question, refused in Chinese with the data unchanged; a
draft carries both to review and publishing, audited field by field; an item without them
is the same data as before they existed."""

from __future__ import annotations

import copy

import pytest
import sqlalchemy as sa

from catalog.accounts import create_user
from catalog.domain import Invalid
from catalog.drafts import current_data, editable_version, published_data
from catalog.models import ApprovalItem, AuditEvent, FaqEntry, HandlingItem
from catalog.operations import items as operations
from catalog.seeding import digest
from catalog.services import item_data as dump_item
from catalog.services import update_item
from tests.factories import (
    SAMPLE_FAQ,
    SAMPLE_ONLINE_URL,
    handling_item_data,
    item_data,
    publish,
)

PASSWORD = "许昌交通运输2026审批"


def _item(db, code: str = "A") -> ApprovalItem:
    return db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == code))


def _rows(db) -> tuple[list, list]:
    """What the tables hold of both elements, to show a refusal changed nothing."""
    urls = db.session.execute(sa.select(HandlingItem.code, HandlingItem.online_url)).all()
    faq = db.session.execute(
        sa.select(FaqEntry.item_id, FaqEntry.position, FaqEntry.question, FaqEntry.answer)
    ).all()
    return sorted(urls), sorted(faq)


BAD_ADDRESSES = [
    ("ftp://files.example.cn/apply", "须以 http:// 或 https:// 开头"),
    ("javascript:alert(1)", "须以 http:// 或 https:// 开头"),
    ("www.hnzwfw.gov.cn/apply", "须以 http:// 或 https:// 开头"),
    ("//www.hnzwfw.gov.cn/apply", "须以 http:// 或 https:// 开头"),
    ("https:/www.hnzwfw.gov.cn", "须以 http:// 或 https:// 开头"),
    ("https://", "须包含网站域名"),
    ("https://:443/apply", "须包含网站域名"),
    ("https://wang:secret@www.hnzwfw.gov.cn/", "不能包含用户名或密码"),
    ("https://wang@www.hnzwfw.gov.cn/", "不能包含用户名或密码"),
    ("https://www.hnzwfw.gov.cn/办 理", "不能包含空格、换行或控制字符"),
    ("https://www.hnzwfw.gov.cn/\x00", "不能包含空格、换行或控制字符"),
    ("https://www.hnzwfw.gov.cn/办\u3000理", "不能包含空格、换行或控制字符"),
    ("https://www.hnzwfw.gov.cn:99999/", "不是有效的网址"),
    ("https://www.hnzwfw.gov.cn\\apply", "不是有效的网址"),
    ("https://[::1/apply", "不是有效的网址"),
    ("https://www.hnzwfw.gov.cn/" + "a" * 475, "不能超过500个字符"),
]


@pytest.mark.parametrize(("address", "message"), BAD_ADDRESSES)
def test_a_bad_address_is_refused_naming_the_field_and_nothing_changes(db, address, message):
    publish(db, item_data(handling_item_data(code="A-01", online_url=SAMPLE_ONLINE_URL),
                          code="A", faq=SAMPLE_FAQ))  # fmt: skip
    before = _rows(db)
    data = copy.deepcopy(published_data(_item(db)))
    data["handling_items"][0]["online_url"] = address
    with pytest.raises(Invalid) as refused:
        update_item(_item(db), data)
    [found] = refused.value.errors["handling_items.0.online_url"]
    assert found.startswith("在线办理地址") and message in found
    db.session.rollback()
    assert _rows(db) == before


def test_a_non_text_address_is_refused(db):
    data = item_data(handling_item_data(code="A-01", online_url=["https://a.cn/"]), code="A")
    with pytest.raises(Invalid) as refused:
        publish(db, data)
    assert refused.value.errors["handling_items.0.online_url"] == ["在线办理地址须为文本。"]


@pytest.mark.parametrize(
    "address",
    ["http://zwfw.xuchang.gov.cn/", "https://www.hnzwfw.gov.cn/portal/#/guide?id=41100&x=a%20b",
     "HTTPS://WWW.HNZWFW.GOV.CN/", "https://政务服务.许昌.cn/办事", "https://10.0.0.8:8443/"],
)  # fmt: skip
def test_an_http_or_https_address_is_kept_as_given(db, address):
    publish(db, item_data(handling_item_data(code="A-01", online_url=f"  {address} "), code="A"))
    assert _item(db).handling_items[0].online_url == address


FAQ_PROBLEMS = [
    ([{"question": "  ", "answer": "可以。"}], "faq.0.question", "不能为空。"),
    ([{"question": "可以吗？", "answer": ""}], "faq.0.answer", "不能为空。"),
    ([{"question": "可以吗？"}], "faq.0.answer", "常见问题须填写解答。"),
    ([{"question": "问" * 201, "answer": "可以。"}], "faq.0.question", "不能超过200个字符。"),
    ([{"question": "可以吗？", "answer": "答" * 2001}], "faq.0.answer", "不能超过2000个字符。"),
    ([{"question": "可以\x07吗？", "answer": "可以。"}], "faq.0.question",
     "不能包含控制字符（如 NUL）或无效的 Unicode 字符。"),
    ([{"question": f"问题{i}？", "answer": "答。"} for i in range(31)], "faq",
     "常见问题最多30条。"),
    ([{"question": "可以吗？", "answer": "可以。", "extra": "x"}], "faq.0.extra", None),
]  # fmt: skip


@pytest.mark.parametrize(("faq", "path", "message"), FAQ_PROBLEMS)
def test_a_bad_question_or_answer_is_refused_by_its_row(db, faq, path, message):
    publish(db, item_data(code="A", faq=SAMPLE_FAQ))
    before = _rows(db)
    data = {**copy.deepcopy(published_data(_item(db))), "faq": faq}
    with pytest.raises(Invalid) as refused:
        update_item(_item(db), data)
    assert path in refused.value.errors
    if message is not None:
        assert refused.value.errors[path] == [message]
    db.session.rollback()
    assert _rows(db) == before


def test_thirty_questions_at_their_longest_are_kept_in_order(db):
    faq = [{"question": f"{i:02d}" + "问" * 198, "answer": "答" * 2000} for i in range(30)]
    publish(db, item_data(code="A", faq=faq))
    assert dump_item(_item(db))["faq"] == faq


def test_an_item_without_them_is_the_same_data_and_digest_as_before(db):
    """Unset, neither element appears in the canonical data: the seed's stored digests, the
    drafts and the snapshots frozen before 0019 still compare equal."""
    payload = item_data(code="A")
    publish(db, payload)
    data = published_data(_item(db))
    assert "faq" not in data and "online_url" not in data["handling_items"][0]
    before = digest(dump_item(_item(db)))  # what the seed stores (catalog.seeding)
    with_both = copy.deepcopy(data)
    with_both["faq"] = SAMPLE_FAQ
    with_both["handling_items"][0]["online_url"] = SAMPLE_ONLINE_URL
    update_item(_item(db), with_both)
    assert digest(dump_item(_item(db))) != before
    update_item(_item(db), data)  # both removed again
    assert digest(dump_item(_item(db))) == before


@pytest.fixture
def staff(db):
    users = {name: create_user(name, PASSWORD, name[:-1]) for name in ("editor1", "reviewer1")}
    db.session.commit()
    return users


def test_a_draft_carries_both_through_review_to_the_published_rows(db, staff):
    publish(db, item_data(handling_item_data(code="A-01"), handling_item_data(code="A-02"),
                          code="A"))  # fmt: skip
    item = _item(db)
    data = copy.deepcopy(current_data(item))
    data["faq"] = SAMPLE_FAQ
    data["handling_items"][1]["online_url"] = SAMPLE_ONLINE_URL
    operations.save_draft(item, data, actor=staff["editor1"], reason="补充在线办理和常见问题",
                          expected_version=editable_version(item))  # fmt: skip
    db.session.commit()
    assert item.faq == [] and item.handling_items[1].online_url is None  # public rows: not yet
    assert current_data(item)["faq"] == SAMPLE_FAQ
    draft_event = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert draft_event.changes["faq"] == [None, SAMPLE_FAQ]
    assert draft_event.changes["handling_items.A-02.online_url"] == [None, SAMPLE_ONLINE_URL]

    operations.submit(item, actor=staff["editor1"], expected_version=editable_version(item))
    operations.publish(item, actor=staff["reviewer1"], expected_version=editable_version(item))
    db.session.commit()
    assert [(e.question, e.answer) for e in item.faq] == [
        (e["question"], e["answer"]) for e in SAMPLE_FAQ
    ]
    assert [h.online_url for h in item.handling_items] == [None, SAMPLE_ONLINE_URL]
    published = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert published.changes["faq"][1] == SAMPLE_FAQ
    assert published.changes["handling_items.A-02.online_url"] == [None, SAMPLE_ONLINE_URL]
