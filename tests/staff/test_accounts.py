"""Admins manage accounts on the site; the same password rules as the command line."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from catalog.accounts import find_user
from tests.staff.conftest import PASSWORD, csrf_token, sign_in


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


NEW_PASSWORD = "换一个更长的口令2027"


def change_own(client, current, new, confirm=None):
    return client.post(
        "/staff/password",
        data={
            "csrf_token": csrf_token(client, "/staff/password"),
            "current": current,
            "password": new,
            "confirm": new if confirm is None else confirm,
        },
    )


def test_staff_change_their_own_password_and_other_sessions_end(app, login_as, catalog_item):
    here, elsewhere = login_as("editor"), login_as("editor")
    wrong = change_own(here, "不是当前密码123", NEW_PASSWORD)
    assert wrong.status_code == 400 and "当前密码不正确" in wrong.get_data(as_text=True)
    weak = change_own(here, PASSWORD, "12345678")
    assert weak.status_code == 400 and "过于常见" in weak.get_data(as_text=True)
    same = change_own(here, PASSWORD, PASSWORD)
    assert same.status_code == 400 and "不能与当前密码相同" in same.get_data(as_text=True)
    assert sign_in(app.test_client(), "editor1").status_code == 302  # nothing changed yet

    assert change_own(here, PASSWORD, NEW_PASSWORD).status_code == 302
    assert here.get("/staff/").status_code == 200  # this browser stays signed in
    assert elsewhere.get("/staff/").status_code == 302  # every other session ended
    assert sign_in(app.test_client(), "editor1").status_code == 401
    assert sign_in(app.test_client(), "editor1", NEW_PASSWORD).status_code == 302


def reset(admin, user_id, password=NEW_PASSWORD, confirm=None):
    path = f"/staff/accounts/{user_id}/password"
    return admin.post(
        path,
        data={
            "csrf_token": csrf_token(admin, path),
            "password": password,
            "confirm": password if confirm is None else confirm,
        },
    )


def test_an_admin_reset_ends_sessions_and_forces_a_new_password(app, login_as, catalog_item, db):
    editor, admin = login_as("editor"), login_as("admin")
    target = find_user("editor1")
    weak = reset(admin, target.id, "password1")
    assert weak.status_code == 400 and "过于常见" in weak.get_data(as_text=True)
    assert reset(admin, target.id).status_code == 302
    assert editor.get("/staff/").status_code == 302  # signed out at once

    person = app.test_client()
    signed_in = sign_in(person, "editor1", NEW_PASSWORD)
    assert signed_in.headers["Location"] == "/staff/password"
    blocked = person.get("/staff/items/A")
    assert blocked.status_code == 302 and blocked.headers["Location"] == "/staff/password"
    assert change_own(person, NEW_PASSWORD, "编辑自己的新口令2027").status_code == 302
    assert person.get("/staff/items/A").status_code == 200
    db.session.expire_all()
    assert find_user("editor1").must_change_password is False


def auth_events(db):
    from catalog.models import AuthEvent

    return db.session.scalars(sa.select(AuthEvent).order_by(AuthEvent.id)).all()


def test_every_sign_in_and_refusal_is_stored_with_who_what_and_where(
    app, login_as, catalog_item, db
):
    from catalog.models import AuthEventKind as Kind

    stranger = app.test_client()
    assert stranger.get("/staff/audit").status_code == 302
    sign_in(stranger, "editor1", "错误的密码abc")
    editor = login_as("editor")
    assert editor.get("/staff/accounts").status_code == 403
    editor.post("/staff/logout", data={"csrf_token": csrf_token(editor, "/staff/")})
    for n in range(6):
        sign_in(stranger, "reviewer1", f"wrong-{n}-password")

    events = [(e.kind, e.username, e.method, e.path) for e in auth_events(db)]
    assert events[:2] == [
        (Kind.access_refused, None, "GET", "/staff/audit"),
        (Kind.login_failed, "editor1", "POST", "/staff/login"),
    ]
    assert (Kind.login_ok, "editor1", "POST", "/staff/login") in events
    assert (Kind.access_refused, "editor1", "GET", "/staff/accounts") in events
    assert (Kind.logout, "editor1", "POST", "/staff/logout") in events
    assert events.count((Kind.login_failed, "reviewer1", "POST", "/staff/login")) == 5
    assert (Kind.login_throttled, "reviewer1", "POST", "/staff/login") in events
    assert all(e.address == "127.0.0.1" and e.occurred_at for e in auth_events(db))

    admin = login_as("admin")
    page = admin.get("/staff/accounts/events?username=REVIEWER1&kind=login_failed")
    text = page.get_data(as_text=True)
    cell = '<td data-label="事件">{}</td>'.format  # the log's event column (a card on a phone)
    assert page.status_code == 200 and text.count(cell("登录失败")) == 5
    assert cell("越权访问被拒") not in text and cell("登录成功") not in text


def test_the_auth_log_cannot_be_rewritten(login_as, db, backend):
    login_as("editor")
    event = auth_events(db)[0]
    event.username = "someone-else"
    with pytest.raises(PermissionError):
        db.session.flush()
    db.session.rollback()
    with (
        pytest.raises(sa.exc.DatabaseError, match="append-only"),
        db.engine.begin() as connection,
    ):
        connection.execute(sa.text("DELETE FROM auth_event"))
    assert len(auth_events(db)) >= 1


def test_set_password_on_the_command_line_reads_stdin_and_is_logged(cli, accounts, db):
    from catalog.models import AuthEventKind

    result = cli.invoke(args=["set-password", "editor1"], input=NEW_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    from catalog.accounts import authenticate

    assert authenticate("editor1", NEW_PASSWORD) is not None
    assert auth_events(db)[-1].kind is AuthEventKind.password_reset
    refused = cli.invoke(args=["set-password", "editor1"], input="short\n")
    assert refused.exit_code == 1 and "至少需要8个字符" in refused.output
    assert cli.invoke(args=["set-password", "nobody"], input=NEW_PASSWORD).exit_code == 1
