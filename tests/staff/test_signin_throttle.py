"""The sign-in throttle as people meet it: tries left on the form, a 429 page that says how
long to wait and leads back, signing in that costs nothing, an address limit that cannot lock
accounts, and admins who see the lockouts and clear them, audited. The counters live in the
test database (the default storage), so they are checked there too. Counting across gunicorn
workers: test_signin_throttle_workers.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa
from limits.storage import MemoryStorage
from redis import Redis
from redis.exceptions import ConnectionError as RedisDown

from catalog.extensions import limiter
from catalog.models import AuthEvent, AuthEventKind, ThrottleCounter
from catalog.operations import accounts as account_operations
from tests.conftest import PROJECT_ROOT
from tests.staff.conftest import csrf_token, sign_in

ACCOUNT_RULE = "账号登录失败已达上限（10 分钟内 5 次）"
ADDRESS_RULE = "来源地址登录失败已达上限（10 分钟内 20 次）"


def fail(client, username: str, times: int = 1):
    return [sign_in(client, username, f"wrong-{n}-password") for n in range(times)]


def text(response) -> str:
    return response.get_data(as_text=True)


def events(db, kind: AuthEventKind) -> list[AuthEvent]:
    db.session.expire_all()
    return db.session.scalars(
        sa.select(AuthEvent).where(AuthEvent.kind == kind).order_by(AuthEvent.id)
    ).all()


def counters(db) -> dict[str, int]:
    with db.engine.connect() as connection:
        rows = connection.execute(sa.select(ThrottleCounter.key, ThrottleCounter.count)).all()
    return dict(rows)


def test_the_form_counts_down_then_the_429_page_says_how_long_and_leads_back(client, accounts):
    answers = fail(client, "editor1", 5)
    assert [response.status_code for response in answers] == [401] * 5
    for response, left in zip(answers[:4], (4, 3, 2, 1), strict=True):
        assert f"还可尝试 {left} 次，用完后将暂时锁定（最长 10 分钟）。" in text(response)
    assert "该账号的登录尝试次数过多，已暂时锁定，请 10 分钟后再试。" in text(answers[4])

    refused = sign_in(client, "editor1", next_path="/staff/audit")  # the right password
    assert refused.status_code == 429
    page = text(refused)
    assert "请 10 分钟后再试" in page and "尝试次数过多" in page
    assert 'href="/staff/login?next=/staff/audit">返回登录页</a>' in page
    assert 540 < int(refused.headers["Retry-After"]) <= 600


def test_the_wait_is_what_is_left_of_the_window(client, accounts, monkeypatch):
    fail(client, "editor1", 5)
    later = time.time() + 7 * 60 + 30  # 7.5 minutes after the first failure
    monkeypatch.setattr("catalog.throttle.time.time", lambda: later)
    refused = sign_in(client, "editor1")
    assert "请 3 分钟后再试" in text(refused)
    assert 140 < int(refused.headers["Retry-After"]) <= 150


def test_signing_in_costs_nothing(client, accounts, db):
    for _ in range(8):
        assert sign_in(client, "editor1").status_code == 302
    assert set(counters(db).values()) == {0}
    assert [response.status_code for response in fail(client, "editor1", 6)] == [401] * 5 + [429]


def test_other_accounts_are_not_locked(client, accounts):
    fail(client, "editor1", 6)
    assert sign_in(client, "reviewer1").status_code == 302


def test_the_account_is_counted_as_typed_in_any_case(client, accounts):
    for name in ("editor1", "EDITOR1", " Editor1 ", "editor1", "eDiToR1"):
        fail(client, name)
    assert sign_in(client, "editor1").status_code == 429


def test_a_refusal_is_logged_in_chinese(client, accounts, db):
    fail(client, "editor1", 6)
    [event] = events(db, AuthEventKind.login_throttled)
    assert (event.username, event.detail) == ("editor1", ACCOUNT_RULE)


def test_an_address_over_its_limit_cannot_lock_anyone_out(client, accounts, db):
    """Twenty failures from one address, two for each of ten names: the next attempt from
    there is refused before it counts against any account, whichever account it names."""
    for n in range(10):
        fail(client, f"stranger{n}", 2)
    refused = sign_in(client, "editor1")
    assert refused.status_code == 429
    assert "来自您所在网络地址的登录尝试次数过多" in text(refused)
    assert not [key for key in counters(db) if "signin-account/editor1/" in key]
    assert events(db, AuthEventKind.login_throttled)[-1].detail == ADDRESS_RULE
    other = client.application.test_client()  # the same address
    assert sign_in(other, "reviewer1").status_code == 429


def test_the_counters_expire_and_take_no_room_afterwards(client, accounts, db, monkeypatch):
    fail(client, "editor1", 6)
    assert len(counters(db)) == 2  # the address and the account
    later = time.time() + 601
    monkeypatch.setattr("catalog.throttle_storage.time.time", lambda: later)
    monkeypatch.setattr("catalog.throttle.time.time", lambda: later)
    assert sign_in(client, "editor1").status_code == 302  # the lockout ended by itself
    assert counters(db) == {key: 0 for key in counters(db)}  # new windows, given back
    assert len(counters(db)) == 2  # the ended rows were renewed, none left behind


def admin_page(admin) -> str:
    return text(admin.get("/staff/accounts"))


def test_an_admin_sees_a_lockout_and_clears_it(app, login_as, accounts, db):
    admin = login_as("admin")
    assert "目前没有被锁定的账号或来源地址。" in admin_page(admin)
    stranger = app.test_client()
    fail(stranger, "editor1", 6)

    page = admin_page(admin)
    assert "<td>账号 editor1</td>" in page and ACCOUNT_RULE in page
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d（北京时间），约 10 分钟后", page)
    assert "正常，<strong>登录已锁定</strong>" in page

    editor_id = accounts["editor"].id
    token = csrf_token(admin, "/staff/accounts")
    assert admin.post(f"/staff/accounts/{editor_id}/unlock").status_code == 400  # no token
    cleared = admin.post(f"/staff/accounts/{editor_id}/unlock", data={"csrf_token": token})
    assert cleared.status_code == 302
    page = admin_page(admin)
    assert "已解除账号 editor1 的登录锁定，可立即重新登录。" in page
    assert "目前没有被锁定的账号或来源地址。" in page

    [event] = events(db, AuthEventKind.lockout_cleared)
    assert (event.username, event.actor) == ("editor1", "admin1")
    assert event.detail == f"解除锁定：{ACCOUNT_RULE}"
    log = text(admin.get("/staff/accounts/events?kind=lockout_cleared"))
    assert '<td data-label="事件">解除登录锁定</td>' in log
    assert f'<td data-label="说明">解除锁定：{ACCOUNT_RULE}</td>' in log
    assert sign_in(stranger, "editor1").status_code == 302

    again = admin.post(f"/staff/accounts/{editor_id}/unlock", data={"csrf_token": token})
    assert "账号 editor1 当前没有被锁定。" in text(admin.get(again.headers["Location"]))
    assert len(events(db, AuthEventKind.lockout_cleared)) == 1  # nothing to clear: no record


def test_an_admin_clears_a_locked_address(app, login_as, accounts, db):
    admin = login_as("admin")  # signed in before the address is locked: reading goes on
    stranger = app.test_client()
    for n in range(10):
        fail(stranger, f"stranger{n}", 2)
    assert sign_in(stranger, "editor1").status_code == 429
    page = admin_page(admin)
    assert "<td>来源地址 127.0.0.1</td>" in page and ADDRESS_RULE in page

    token = csrf_token(admin, "/staff/accounts")
    form = {"csrf_token": token, "address": "127.0.0.1"}
    assert admin.post("/staff/accounts/unlock-address", data=form).status_code == 302
    assert "已解除来源地址 127.0.0.1 的登录锁定。" in admin_page(admin)
    [event] = events(db, AuthEventKind.lockout_cleared)
    assert (event.username, event.actor) == (None, "admin1")
    assert event.detail == f"解除锁定：{ADDRESS_RULE}（127.0.0.1）"
    assert sign_in(stranger, "editor1").status_code == 302


def test_the_clearing_and_its_record_are_one_transaction(app, login_as, accounts, db, monkeypatch):
    """When the record cannot be written, the lockout stays: nothing unaudited happens."""
    admin = login_as("admin")
    fail(app.test_client(), "editor1", 5)

    def broken(*_args, **_kwargs):
        raise RuntimeError("the sign-in log is unavailable")

    monkeypatch.setattr(account_operations, "add_auth_event", broken)
    token = csrf_token(admin, "/staff/accounts")
    url = f"/staff/accounts/{accounts['editor'].id}/unlock"
    assert admin.post(url, data={"csrf_token": token}).status_code == 500
    assert sign_in(app.test_client(), "editor1").status_code == 429


def test_a_database_that_does_not_answer_refuses_sign_in_in_chinese(client, accounts, monkeypatch):
    def down(*_args, **_kwargs):
        raise sa.exc.OperationalError("INSERT", {}, Exception("could not connect"))

    monkeypatch.setattr(limiter.storage, "incr", down)
    refused = sign_in(client, "editor1")
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert "数据库暂时无法连接" in text(refused)


def test_a_counter_store_that_does_not_answer_refuses_sign_in_in_chinese(
    client, accounts, monkeypatch
):
    """Another storage (Redis) that fails: nobody is let in unchecked, nobody sees a 500."""
    storage = MemoryStorage()  # its errors are ValueErrors, as Redis's are ConnectionErrors

    def down(*_args, **_kwargs):
        raise ValueError("connection refused")

    monkeypatch.setattr(storage, "incr", down)
    monkeypatch.setattr(limiter, "_storage", storage)
    refused = sign_in(client, "editor1")
    assert refused.status_code == 503
    assert "登录次数暂时无法核对，暂不能登录，请稍后再试。" in text(refused)


REDIS_CLEAR = """
import sys, uuid
from flask_migrate import upgrade
from catalog.accounts import create_user
from catalog.extensions import db
from tests.conftest import make_app
from tests.staff.conftest import PASSWORD, csrf_token, sign_in

app = make_app(sys.argv[1], RATELIMIT_STORAGE_URI=sys.argv[2],
               RATELIMIT_KEY_PREFIX="test-" + uuid.uuid4().hex)
with app.app_context():
    upgrade()
    create_user("editor1", PASSWORD, "editor")
    admin_id = create_user("admin1", PASSWORD, "admin").id
    editor_id = create_user("editor2", PASSWORD, "editor").id
    db.session.commit()
admin = app.test_client()
statuses = [sign_in(admin, "admin1").status_code]
stranger = app.test_client()
statuses += [sign_in(stranger, "editor2", "wrong-%d-pass" % n).status_code for n in range(6)]
page = admin.get("/staff/accounts").get_data(as_text=True)
statuses.append("<td>账号 editor2</td>" in page)
token = csrf_token(admin, "/staff/accounts")
statuses.append(admin.post("/staff/accounts/%d/unlock" % editor_id,
                           data={"csrf_token": token}).status_code)
statuses.append(sign_in(stranger, "editor2").status_code)
print(statuses)
"""


def test_redis_counters_are_listed_and_cleared_after_the_record_commits(tmp_path):
    """RATELIMIT_STORAGE_URI=redis://…: the same pages; the counter is cleared once the
    record of its clearing is committed (own process: the limiter is one object per process)."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        with Redis.from_url(url) as redis:
            redis.ping()
    except RedisDown:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis not reachable at {url}")
        pytest.skip(f"Redis not reachable at {url}")
    result = subprocess.run(
        [sys.executable, "-c", REDIS_CLEAR, f"sqlite:///{tmp_path / 'r.sqlite3'}", url],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[302, 401, 401, 401, 401, 401, 429, True, 302, 302]"


def test_the_sign_in_log_says_why_in_chinese(app, login_as, accounts, db):
    """The details of the sign-in log that staff read on /staff/accounts/events."""
    app.test_client().get("/staff/audit")  # not signed in
    editor = login_as("editor")
    editor.get("/staff/accounts")  # an editor may not manage accounts
    copied = app.test_client()
    copied.set_cookie("session", editor.get_cookie("session").value)
    editor.post("/staff/logout", data={"csrf_token": csrf_token(editor, "/staff/")})
    copied.get("/staff/")  # the session ended with the logout
    details = [event.detail for event in events(db, AuthEventKind.access_refused)]
    assert details == ["未登录", "角色：编辑，需要权限：管理账号", "未登录"]
    [refused] = events(db, AuthEventKind.session_refused)
    assert refused.detail == f"账号编号 {accounts['editor'].id}，会话版本 1（已失效）"
    page = text(login_as("admin").get("/staff/accounts/events"))
    shown = '<td data-label="说明">{}</td>'.format  # the log's 说明 column
    assert shown("角色：编辑，需要权限：管理账号") in page and shown("未登录") in page
