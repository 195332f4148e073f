"""Staff may leave every element beyond what the ratios read empty (catalog.elements): the forms
accept it, it is stored as None or empty (never "" nor a made-up value), and the item page and
the message after a save show the gaps."""

from __future__ import annotations

import re

import sqlalchemy as sa

from catalog.elements import HANDLING_ELEMENTS, ITEM_ELEMENTS
from tests.staff.conftest import csrf_token
from tests.staff.forms import submit
from tests.staff.test_editing import item_version

EMPTY_ITEM = {
    "implementing_body": "", "handling_unit": "", "exercise_level": "", "power_source": "",
    "service_targets": None, "legal_basis-0-remove": "y", "conditions": "", "result_name": "",
    "result_type": "", "consultation": "", "complaint": "", "location": "", "hours": "",
}  # fmt: skip
EMPTY_HANDLING = {
    "situation": "", "visits": "1", "visit_reason": "", "forms": None, "online_depth": "",
    "charges": "", "fees-0-remove": None,
    **{f"materials-{n}-remove": "y" for n in range(2)},
    **{f"steps-{n}-remove": "y" for n in range(3)},
}  # fmt: skip


def draft_data(db, code: str = "A") -> dict:
    from catalog.models import ApprovalItem

    db.session.expire_all()
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == code))
    return item.draft.data


def flashed(client, response) -> str:
    return client.get(response.headers["Location"]).get_data(as_text=True)


def publish_draft(login_as, code: str = "A") -> None:
    editor = login_as("editor")
    token = csrf_token(editor, f"/staff/items/{code}")
    submitted = editor.post(
        f"/staff/items/{code}/submit",
        data={"csrf_token": token, "version": item_version(editor, code)},
    )
    assert submitted.status_code == 302
    reviewer = login_as("reviewer")
    token = csrf_token(reviewer, f"/staff/items/{code}")
    published = reviewer.post(
        f"/staff/items/{code}/publish",
        data={"csrf_token": token, "version": item_version(reviewer, code), "note": "同意"},
    )
    assert "已审核通过并发布" in flashed(reviewer, published)


def test_an_item_saved_with_its_elements_left_empty_keeps_them_missing(login_as, catalog_item, db):
    editor = login_as("editor")
    path = "/staff/items/A/edit"
    form = editor.get(path).get_data(as_text=True)
    assert "必填" not in form
    saved = submit(editor, path, path, {**EMPTY_ITEM, "reason": "要素待补"}, "save")
    assert saved.status_code == 302, saved.get_data(as_text=True)[-2000:]
    data = draft_data(db)
    for key in ("implementing_body", "handling_unit", "exercise_level", "power_source",
                "conditions", "consultation", "complaint", "location", "hours"):  # fmt: skip
        assert data[key] is None, key
    assert data["service_targets"] == [] and data["legal_basis"] == []
    assert data["result"] == {"name": None, "type": None}
    page = flashed(editor, saved)
    labels = "、".join(element.label for element in ITEM_ELEMENTS)
    assert f"草稿缺少要素：{labels}。" in page  # the message after the save
    gaps = page.split('id="gaps-heading"', 1)[1].split("</section>", 1)[0]
    assert "要素不全" in gaps and f"事项：缺少 {labels}" in gaps
    # the form shows them empty again: the empty option chosen, not the first value
    again = editor.get(path).get_data(as_text=True)
    for name in ("exercise_level", "power_source", "result_type"):
        select = re.search(rf'<select id="{name}" name="{name}">(.*?)</select>', again).group(1)
        assert select.startswith('<option selected value="">（暂未提供）</option>'), select

    publish_draft(login_as)
    from catalog.models import ApprovalItem

    db.session.expire_all()
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "A"))
    assert (item.exercise_level, item.power_source, item.result_type) == (None, None, None)
    assert (item.implementing_body, item.handling_unit, item.hours) == (None, None, None)
    assert item.service_targets == [] and item.legal_bases == []


def test_a_handling_item_saved_with_its_elements_left_empty_keeps_them_missing(
    login_as, catalog_item, db
):
    editor = login_as("editor")
    path = "/staff/handling/A-01/edit"
    assert "必填" not in editor.get(path).get_data(as_text=True)
    saved = submit(editor, path, path, {**EMPTY_HANDLING, "reason": "要素待补"}, "save")
    assert saved.status_code == 302, saved.get_data(as_text=True)[-3000:]
    handling = draft_data(db)["handling_items"][0]
    assert handling["situation"] is None and handling["visit_reason"] is None
    assert handling["online_depth"] is None and handling["fees"] is None
    assert handling["forms"] == handling["materials"] == handling["steps"] == []
    page = flashed(editor, saved)
    lacking = "、".join(element.label for element in HANDLING_ELEMENTS)
    assert f"草稿缺少要素：{lacking}。" in page
    assert f"业务办理项 A-01：缺少 {lacking}" in page
    again = editor.get(path).get_data(as_text=True)
    for name in ("online_depth", "charges"):
        select = re.search(rf'<select id="{name}" name="{name}">(.*?)</select>', again).group(1)
        assert select.startswith('<option selected value="">（暂未提供）</option>'), select

    publish_draft(login_as)
    from catalog.models import HandlingItem

    db.session.expire_all()
    row = db.session.scalar(sa.select(HandlingItem).where(HandlingItem.code == "A-01"))
    assert (row.situation, row.online_depth, row.charges_fee, row.visit_reason) == (
        None, None, None, None,
    )  # fmt: skip


def test_whether_a_fee_is_charged_is_said_or_left_missing(login_as, catalog_item, db):
    editor = login_as("editor")
    path = "/staff/handling/A-01/edit"
    assert '<option selected value="none">不收费</option>' in editor.get(path).get_data(
        as_text=True
    )  # the factory's item: 不收费
    assert submit(editor, path, path, {"charges": "", "reason": "x"}, "save").status_code == 302
    assert draft_data(db)["handling_items"][0]["fees"] is None  # not provided
    assert submit(editor, path, path, {"charges": "none", "reason": "x"}, "save").status_code == 302
    assert draft_data(db)["handling_items"][0]["fees"] == "none"
    # 收费 without a fee row: the service's message, nothing saved
    refused = submit(editor, path, path, {"charges": "charges", "reason": "x"}, "save")
    assert refused.status_code == 400 and "收费项目" in refused.get_data(as_text=True)
    fee = {"fees-0-name": "工本费", "fees-0-standard": "10元/本", "fees-0-amount": "10",
           "fees-0-basis": "豫价费〔2000〕1号", "charges": "", "reason": "x"}  # fmt: skip
    assert submit(editor, path, path, fee, "save").status_code == 302
    assert draft_data(db)["handling_items"][0]["fees"][0]["name"] == "工本费"


def test_a_new_item_may_leave_its_elements_empty(login_as, catalog_item, db):
    editor = login_as("editor")
    path = "/staff/items/new"
    assert "必填" not in editor.get(path).get_data(as_text=True)
    fields = {"code": "E", "name": "船舶营运证配发", "type": "licence", **EMPTY_ITEM,
              "legal_basis-0-remove": None, "handling_code": "E-01", "situation": "",
              "statutory_days": "", "promised_days": "0", "case_type": "instant",
              "reason": "新增事项"}  # fmt: skip
    created = submit(editor, path, path, fields, "save")
    assert created.status_code == 302, created.get_data(as_text=True)[-2000:]
    data = draft_data(db, "E")
    assert data["exercise_level"] is None and data["implementing_body"] is None
    handling = data["handling_items"][0]
    assert handling["situation"] is None and handling["online_depth"] is None
    assert handling["fees"] is None and handling["forms"] == []  # nothing made up
    page = flashed(editor, created)
    assert "草稿缺少要素：实施主体" in page and "业务办理项 E-01：缺少 办理项名称" in page


def test_the_item_list_marks_and_filters_the_items_lacking_an_element(login_as, db):
    from tests.factories import handling_item_data, item_data, publish

    publish(
        db,
        item_data(code="A"),
        item_data(handling_item_data(code="B-01", online_depth=None), code="B"),
        item_data(code="C", handling_unit=None),
    )
    editor = login_as("editor")
    page = editor.get("/staff/").get_data(as_text=True)
    rows = {code: row for code, row in re.findall(r'/staff/items/([A-C])">.*?</a>(.*?)</tr>',
                                                  page, re.S)}  # fmt: skip
    assert [code for code, row in sorted(rows.items()) if "要素不全" in row] == ["B", "C"]
    assert "暂未提供" in rows["C"] and "None" not in page
    only = editor.get("/staff/?gaps=1").get_data(as_text=True)
    assert "/staff/items/B" in only and "/staff/items/C" in only
    assert '/staff/items/A"' not in only
