"""Admins manage accounts on the site; the same password rules as the command line."""

from __future__ import annotations

from catalog.accounts import find_user
from tests.staff.conftest import csrf_token, sign_in


def create(client, **fields):
    data = {
        "csrf_token": csrf_token(client, "/staff/accounts"),
        "username": "zhao",
        "role": "editor",
        "password": "许昌交通运输2026编辑",
        "confirm": "许昌交通运输2026编辑",
    }
    data.update(fields)
    return client.post("/staff/accounts", data=data)


def test_admin_creates_an_account_that_can_sign_in(login_as, app):
    admin = login_as("admin")
    assert create(admin).status_code == 302
    assert "zhao" in admin.get("/staff/accounts").get_data(as_text=True)
    assert sign_in(app.test_client(), "zhao", "许昌交通运输2026编辑").status_code == 302


def test_weak_or_mismatched_passwords_and_taken_names_are_refused(login_as):
    admin = login_as("admin")
    weak = create(admin, password="password1", confirm="password1")
    assert weak.status_code == 400 and "过于常见" in weak.get_data(as_text=True)
    mismatch = create(admin, confirm="另一个密码2026")
    assert mismatch.status_code == 400 and "两次输入的密码不一致" in mismatch.get_data(as_text=True)
    taken = create(admin, username="editor1")
    assert taken.status_code == 400 and "已存在" in taken.get_data(as_text=True)


def test_disabling_ends_the_accounts_sessions_but_not_ones_own(login_as, db):
    editor = login_as("editor")
    admin = login_as("admin")
    target = find_user("editor1")
    response = admin.post(
        f"/staff/accounts/{target.id}/disable",
        data={"csrf_token": csrf_token(admin, "/staff/accounts")},
    )
    assert response.status_code == 302
    assert editor.get("/staff/").status_code == 302  # signed out at once
    me = find_user("admin1")
    admin.post(
        f"/staff/accounts/{me.id}/disable",
        data={"csrf_token": csrf_token(admin, "/staff/accounts")},
    )
    assert admin.get("/staff/").status_code == 200
