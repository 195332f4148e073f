"""Staff edit the online-handling address on a handling item's form and the FAQ as rows on
the item's form (issue 23 part 2): into the draft, refused in Chinese beside the field with
nothing saved, and carried by the version the form was opened at."""

from __future__ import annotations

import sqlalchemy as sa

from catalog.drafts import current_data
from catalog.models import ApprovalItem, AuditEvent
from tests.factories import SAMPLE_FAQ, SAMPLE_ONLINE_URL
from tests.staff.forms import submit

HANDLING_PATH, ITEM_PATH = "/staff/handling/A-01/edit", "/staff/items/A/edit"


def _item(db) -> ApprovalItem:
    db.session.expire_all()
    return db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "A"))


def _events(db) -> int:
    return db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))


def test_an_editor_sets_and_clears_the_address_in_the_draft(login_as, catalog_item, db):
    editor = login_as("editor")
    response = submit(editor, HANDLING_PATH, HANDLING_PATH,
                      {"online_url": f" {SAMPLE_ONLINE_URL} ", "reason": "补充在线办理地址"},
                      "save")  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    item = _item(db)
    assert current_data(item)["handling_items"][0]["online_url"] == SAMPLE_ONLINE_URL
    assert item.handling_items[0].online_url is None  # published rows: after review
    page = editor.get(HANDLING_PATH).get_data(as_text=True)
    assert 'name="online_url"' in page and "hnzwfw.gov.cn" in page  # the form shows it again

    response = submit(editor, HANDLING_PATH, HANDLING_PATH,
                      {"online_url": "", "reason": "去掉地址"}, "save")  # fmt: skip
    assert response.status_code == 302
    assert "online_url" not in current_data(_item(db))["handling_items"][0]


def test_a_bad_address_is_shown_beside_the_field_and_nothing_is_saved(login_as, catalog_item, db):
    editor = login_as("editor")
    before = _events(db)
    response = submit(editor, HANDLING_PATH, HANDLING_PATH,
                      {"online_url": "javascript:alert(1)", "reason": "x"}, "save")  # fmt: skip
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "在线办理地址须以 http:// 或 https:// 开头。" in page
    assert 'id="online_url-error"' in page
    assert _item(db).draft is None and _events(db) == before


def test_an_editor_adds_reorders_and_removes_questions(login_as, catalog_item, db):
    editor = login_as("editor")
    first, second = SAMPLE_FAQ
    response = submit(editor, ITEM_PATH, ITEM_PATH, {
        "faq-0-question": first["question"], "faq-0-answer": first["answer"],
        "faq-1-question": second["question"], "faq-1-answer": second["answer"],
        "faq-1-order": "0",  # before the first
        "reason": "补充常见问题",
    }, "save")  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    assert current_data(_item(db))["faq"] == [second, first]
    assert _item(db).faq == []  # published rows: after review

    page = editor.get(ITEM_PATH).get_data(as_text=True)
    assert first["question"] in page and 'name="faq-3-question"' in page  # two blank rows
    response = submit(editor, ITEM_PATH, ITEM_PATH,
                      {"faq-0-remove": "y", "reason": "删除一条"}, "save")  # fmt: skip
    assert response.status_code == 302
    assert current_data(_item(db))["faq"] == [first]


def test_a_question_without_its_answer_is_refused_and_nothing_is_saved(login_as, catalog_item, db):
    editor = login_as("editor")
    before = _events(db)
    response = submit(editor, ITEM_PATH, ITEM_PATH,
                      {"faq-0-question": "只有问题？", "reason": "x"}, "save")  # fmt: skip
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "<li>常见问题 · 第1行 · 解答：不能为空。</li>" in page
    assert "只有问题？" in page  # what was typed is kept on the page
    assert _item(db).draft is None and _events(db) == before


def test_a_new_item_may_start_with_its_questions(login_as, db):
    editor = login_as("editor")
    path = "/staff/items/new"
    response = submit(editor, path, path, {
        "code": "N", "handling_code": "N-01", "name": "新事项", "type": "licence",
        "statutory_days": "20", "promised_days": "5",
        "faq-0-question": SAMPLE_FAQ[0]["question"], "faq-0-answer": SAMPLE_FAQ[0]["answer"],
        "reason": "新建",
    }, "save")  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "N"))
    assert current_data(item)["faq"] == SAMPLE_FAQ[:1]


def test_questions_saved_over_a_newer_draft_get_a_conflict_and_are_kept_to_redo(
    login_as, catalog_item, db
):
    from tests.staff.forms import read_form

    first, second = login_as("editor"), login_as("reviewer")
    stale = dict(read_form(second.get(ITEM_PATH).get_data(as_text=True), ITEM_PATH))["version"]
    saved = submit(first, ITEM_PATH, ITEM_PATH,
                   {"faq-0-question": "甲的问题？", "faq-0-answer": "甲的解答。",
                    "reason": "第一人"}, "save")  # fmt: skip
    assert saved.status_code == 302
    conflict = submit(second, ITEM_PATH, ITEM_PATH,
                      {"faq-0-question": "乙的问题？", "faq-0-answer": "乙的解答。",
                       "reason": "第二人", "version": stale}, "save")  # fmt: skip
    assert conflict.status_code == 409
    assert current_data(_item(db))["faq"] == [{"question": "甲的问题？", "answer": "甲的解答。"}]
    redo = dict(read_form(conflict.get_data(as_text=True), ITEM_PATH))
    assert (redo["faq-0-question"], redo["faq-0-answer"]) == ("乙的问题？", "乙的解答。")
    assert redo["version"] != stale
