"""A form refused by WTForms itself (an unknown choice, a required number left empty) says so
in Chinese: the staff forms ask for WTForms' Chinese translations (catalog.staff.forms.
StaffForm); a request without its CSRF token gets a Chinese page too (catalog.errors)."""

from __future__ import annotations

from tests.staff.conftest import csrf_token
from tests.staff.forms import submit
from tests.staff.test_chinese_pages import ALLOWED, english_words, visible_text

NEW_ITEM = "/staff/items/new"


def _new_item(client, **changes):
    filled = {"code": "N", "handling_code": "N-01", "name": "新事项", "reason": "新增"}
    return submit(client, NEW_ITEM, NEW_ITEM, {**filled, **changes}, button="save")


def test_an_unknown_choice_is_refused_in_chinese(login_as):
    client = login_as("editor")
    refused = _new_item(client, type="no_such_type", case_type="bogus")
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    text = visible_text(page)
    assert text.count("不是有效的选择。") == 2, text
    assert "Not a valid choice" not in page
    assert not english_words(page, ALLOWED)


def test_unknown_checkboxes_are_refused_in_chinese_without_echoing_them(login_as):
    client = login_as("editor")
    refused = _new_item(client, service_targets=["enterprise", "martians"])
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "所选内容中有无效的选项。" in visible_text(page)
    assert "martians" not in page and "valid choice" not in page
    assert not english_words(page, ALLOWED)


def test_a_required_number_and_a_malformed_one_are_refused_in_chinese(login_as):
    client = login_as("editor")
    refused = _new_item(client, promised_days="", statutory_days="三十")
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    text = visible_text(page)
    assert "该字段是必填字段。" in text and "不是有效的整数。" in text, text
    assert "This field is required" not in page and "integer" not in page
    assert not english_words(page, ALLOWED)


def test_the_account_form_refuses_an_unknown_role_in_chinese(login_as, db):
    client = login_as("admin")
    refused = client.post(
        "/staff/accounts",
        data={
            "csrf_token": csrf_token(client, "/staff/accounts"),
            "username": "zhao",
            "role": "superuser",
            "password": "许昌交通运输2026编辑",
            "confirm": "许昌交通运输2026编辑",
        },
    )
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "不是有效的选择。" in visible_text(page)
    assert not english_words(page, ALLOWED)


def test_a_post_without_its_csrf_token_is_refused_in_chinese(login_as):
    client = login_as("editor")
    for token in (None, "not-a-token"):
        data = {"code": "N", "name": "新事项", **({"csrf_token": token} if token else {})}
        refused = client.post(NEW_ITEM, data=data)
        assert refused.status_code == 400
        page = refused.get_data(as_text=True)
        assert "表单已过期或来源无效" in visible_text(page)
        assert "CSRF" not in page and not english_words(page, ALLOWED)


def test_the_handling_form_shows_its_own_refusals_in_chinese(login_as, catalog_item):
    """A refused checkbox or a refused row's cell is shown beside it (not only a 400)."""
    client = login_as("editor")
    path = "/staff/handling/A-01/edit"
    refused = submit(
        client,
        path,
        path,
        {"forms": ["window", "martians"], "steps-0-name": "受理", "steps-0-days": "两天",
         "reason": "修改"},
        button="save",
    )  # fmt: skip
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    text = visible_text(page)
    assert "所选内容中有无效的选项。" in text and "不是有效的整数。" in text, text
    assert "martians" not in page and not english_words(page, ALLOWED)
