"""Who may reach which staff page: every route, every role; sessions that must end, do."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisDown

from catalog.accounts import disable_user, find_user
from tests.conftest import PROJECT_ROOT
from tests.staff.conftest import csrf_token, sign_in

# (method, path, {role: expected status}); anonymous is always sent to the login page.
MATRIX = [
    ("GET", "/staff/", {"editor": 200, "reviewer": 200, "admin": 200}),
    ("GET", "/staff/items/A", {"editor": 200, "reviewer": 200, "admin": 200}),
    ("GET", "/staff/items/A/edit", {"editor": 200, "reviewer": 200, "admin": 200}),
    ("GET", "/staff/items/new", {"editor": 200, "reviewer": 200, "admin": 200}),
    ("POST", "/staff/items/A/handling/new", {"editor": 302, "reviewer": 302, "admin": 302}),
    ("POST", "/staff/items/new", {"editor": 400, "reviewer": 400, "admin": 400}),
    ("POST", "/staff/items/A/edit", {"editor": 400, "reviewer": 400, "admin": 400}),
    ("GET", "/staff/handling/A-01/edit", {"editor": 200, "reviewer": 200, "admin": 200}),
    ("POST", "/staff/handling/A-01/edit", {"editor": 400, "reviewer": 400, "admin": 400}),
    # a material's files (空白表格 / 示例样表): the page; an upload without a file; a removal
    # from a stale page (the matrix posts version 1)
    (
        "GET",
        "/staff/handling/A-01/materials/0/files",
        {"editor": 200, "reviewer": 200, "admin": 200},
    ),
    (
        "POST",
        "/staff/handling/A-01/materials/0/files",
        {"editor": 400, "reviewer": 400, "admin": 400},
    ),
    (
        "POST",
        "/staff/handling/A-01/materials/0/files/0/remove",
        {"editor": 409, "reviewer": 409, "admin": 409},
    ),
    ("GET", "/staff/audit", {"editor": 200, "reviewer": 200, "admin": 200}),
    ("POST", "/staff/items/A/publish", {"editor": 403, "reviewer": 302, "admin": 302}),
    ("POST", "/staff/items/A/retire", {"editor": 403, "reviewer": 302, "admin": 302}),
    ("POST", "/staff/items/A/discard", {"editor": 302, "reviewer": 302, "admin": 302}),
    ("POST", "/staff/items/A/submit", {"editor": 302, "reviewer": 302, "admin": 302}),
    ("POST", "/staff/items/A/return", {"editor": 403, "reviewer": 302, "admin": 302}),
    ("POST", "/staff/handling/A-01/retire", {"editor": 403, "reviewer": 302, "admin": 302}),
    ("GET", "/staff/export.xlsx", {"editor": 200, "reviewer": 200, "admin": 200}),
    ("GET", "/staff/template.xlsx", {"editor": 200, "reviewer": 200, "admin": 200}),
    ("GET", "/staff/import", {"editor": 200, "reviewer": 200, "admin": 200}),
    ("POST", "/staff/import", {"editor": 400, "reviewer": 400, "admin": 400}),  # no file
    ("POST", "/staff/import/apply", {"editor": 400, "reviewer": 400, "admin": 400}),  # no upload
    ("POST", "/staff/import/mapping", {"editor": 400, "reviewer": 400, "admin": 400}),  # no upload
    ("GET", "/staff/accounts", {"editor": 403, "reviewer": 403, "admin": 200}),
    ("POST", "/staff/accounts", {"editor": 403, "reviewer": 403, "admin": 400}),  # empty form
    # {editor} is the editor account's id (ids differ between databases and runs).
    ("POST", "/staff/accounts/{editor}/disable", {"editor": 403, "reviewer": 403, "admin": 302}),
    ("GET", "/staff/accounts/{editor}/password", {"editor": 403, "reviewer": 403, "admin": 200}),
    ("POST", "/staff/accounts/{editor}/password", {"editor": 403, "reviewer": 403, "admin": 400}),
    ("GET", "/staff/accounts/events", {"editor": 403, "reviewer": 403, "admin": 200}),
    # not locked out: back to the accounts page with a message
    ("POST", "/staff/accounts/{editor}/unlock", {"editor": 403, "reviewer": 403, "admin": 302}),
    ("POST", "/staff/accounts/unlock-address", {"editor": 403, "reviewer": 403, "admin": 400}),
    ("GET", "/staff/password", {"editor": 200, "reviewer": 200, "admin": 200}),
    ("POST", "/staff/password", {"editor": 400, "reviewer": 400, "admin": 400}),  # empty form
    ("GET", "/staff/snapshots", {"editor": 403, "reviewer": 200, "admin": 200}),
    ("POST", "/staff/snapshots", {"editor": 403, "reviewer": 400, "admin": 400}),  # no label
    ("GET", "/staff/units", {"editor": 200, "reviewer": 200, "admin": 200}),
    ("GET", "/staff/units/edit", {"editor": 403, "reviewer": 200, "admin": 200}),
    # no name: refused by the unit operation's check, nothing written
    ("POST", "/staff/units/edit", {"editor": 403, "reviewer": 400, "admin": 400}),
    ("POST", "/staff/logout", {"editor": 302, "reviewer": 302, "admin": 302}),
    # search learning: the synonym list (an id no synonym has: 404 once allowed) and the
    # failed searches; an empty add form is refused, a dismissal of nothing named too
    ("GET", "/staff/synonyms", {"editor": 200, "reviewer": 200, "admin": 200}),
    ("POST", "/staff/synonyms", {"editor": 400, "reviewer": 400, "admin": 400}),
    ("GET", "/staff/synonyms/0/edit", {"editor": 404, "reviewer": 404, "admin": 404}),
    ("POST", "/staff/synonyms/0/edit", {"editor": 404, "reviewer": 404, "admin": 404}),
    ("POST", "/staff/synonyms/0/delete", {"editor": 404, "reviewer": 404, "admin": 404}),
    ("GET", "/staff/synonyms.csv", {"editor": 200, "reviewer": 200, "admin": 200}),
    ("POST", "/staff/synonyms/import", {"editor": 400, "reviewer": 400, "admin": 400}),
    ("POST", "/staff/synonyms/import/apply", {"editor": 400, "reviewer": 400, "admin": 400}),
    ("GET", "/staff/failed-searches", {"editor": 200, "reviewer": 200, "admin": 200}),
    ("POST", "/staff/failed-searches/synonym", {"editor": 400, "reviewer": 400, "admin": 400}),
    ("POST", "/staff/failed-searches/dismiss", {"editor": 400, "reviewer": 400, "admin": 400}),
    # 双公示 decisions (issue 24): the list, a form (an empty one refused field by field),
    # a record no decision has (404 once allowed), the import with no file or no preview
    ("GET", "/staff/decisions", {"editor": 200, "reviewer": 200, "admin": 200}),
    ("GET", "/staff/decisions/licence/new", {"editor": 200, "reviewer": 200, "admin": 200}),
    ("POST", "/staff/decisions/penalty/new", {"editor": 400, "reviewer": 400, "admin": 400}),
    ("GET", "/staff/decisions/penalty/999999", {"editor": 404, "reviewer": 404, "admin": 404}),
    ("GET", "/staff/decisions/licence/999999/edit", {"editor": 404, "reviewer": 404, "admin": 404}),
    (
        "POST",
        "/staff/decisions/licence/999999/edit",
        {"editor": 404, "reviewer": 404, "admin": 404},
    ),
    (
        "POST",
        "/staff/decisions/penalty/999999/repair",
        {"editor": 404, "reviewer": 404, "admin": 404},
    ),
    (
        "GET",
        "/staff/decisions/template-penalty.xlsx",
        {"editor": 200, "reviewer": 200, "admin": 200},
    ),
    # the export of full records (issue 24): every role that sees the list
    ("GET", "/staff/decisions/export.csv", {"editor": 200, "reviewer": 200, "admin": 200}),
    ("GET", "/staff/decisions/export.xlsx", {"editor": 200, "reviewer": 200, "admin": 200}),
    ("GET", "/staff/decisions/import", {"editor": 200, "reviewer": 200, "admin": 200}),
    ("POST", "/staff/decisions/import", {"editor": 400, "reviewer": 400, "admin": 400}),
    ("POST", "/staff/decisions/import/apply", {"editor": 400, "reviewer": 400, "admin": 400}),
]


def staff_rules(app):
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/staff/") and rule.endpoint != "staff.login"
    ]


def test_every_staff_view_declares_a_permission(app):
    for rule in staff_rules(app):
        view = app.view_functions[rule.endpoint]
        assert hasattr(view, "permission"), f"{rule.rule} has no permission check"


def test_the_matrix_covers_every_staff_route(app):
    covered = {(method, path) for method, path, _roles in MATRIX}
    for rule in staff_rules(app):
        methods = rule.methods - {"HEAD", "OPTIONS"}
        pattern = re.compile("^" + re.sub(r"<[^>]+>", "[^/]+", rule.rule) + "$")
        for method in methods:
            assert any(m == method and pattern.match(p) for m, p in covered), (method, rule.rule)


@pytest.mark.parametrize(("method", "path", "expected"), MATRIX)
def test_anonymous_visitors_are_sent_to_sign_in(client, catalog_item, method, path, expected):
    # A POST carries a valid token (any visitor can get one from the sign-in page), so it is
    # the permission check, not CSRF protection, that refuses it.
    data = {"csrf_token": csrf_token(client, "/staff/login")} if method == "POST" else {}
    response = client.open(path.format(editor=1), method=method, data=data)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")


@pytest.mark.parametrize("role", ["editor", "reviewer", "admin"])
@pytest.mark.parametrize(("method", "path", "expected"), MATRIX)
def test_each_role_gets_its_answer(login_as, accounts, catalog_item, role, method, path, expected):
    client = login_as(role)
    path = path.format(editor=accounts["editor"].id)
    data = {}
    if method == "POST":
        data = {
            "csrf_token": csrf_token(client, "/staff/items/A"),
            "reason": "测试",
            "version": "1",
        }
    response = client.open(path, method=method, data=data)
    assert response.status_code == expected[role], response.get_data(as_text=True)[400:900]


def test_a_post_without_a_valid_csrf_token_is_refused(login_as, catalog_item):
    client = login_as("reviewer")
    for token in (None, "forged"):
        data = {"reason": "测试"} | ({"csrf_token": token} if token else {})
        response = client.post("/staff/items/A/retire", data=data)
        assert response.status_code == 400
        assert "表单已过期或来源无效" in response.get_data(as_text=True)


def test_wrong_password_is_refused_without_saying_which_part(client, accounts):
    response = sign_in(client, "editor1", "wrong-password-123")
    assert response.status_code == 401
    assert "用户名或密码不正确" in response.get_data(as_text=True)
    response = sign_in(client, "nobody", "wrong-password-123")
    assert "用户名或密码不正确" in response.get_data(as_text=True)


def test_sign_in_is_throttled_per_account(client, accounts):
    statuses = [sign_in(client, "editor1", f"wrong-{n}-password").status_code for n in range(6)]
    assert statuses == [401] * 5 + [429]
    assert "尝试次数过多" in sign_in(client, "editor1").get_data(as_text=True)


def test_next_never_leaves_the_site(client, accounts):
    response = sign_in(client, "editor1", next_path="//evil.example/")
    assert response.headers["Location"] == "/staff/"
    response = sign_in(client, "editor1", next_path="/staff/audit")
    assert response.headers["Location"] == "/staff/audit"


def test_logout_ends_every_copy_of_the_session(app, login_as, catalog_item):
    client = login_as("editor")
    copied = app.test_client()
    copied.set_cookie("session", client.get_cookie("session").value)
    assert copied.get("/staff/").status_code == 200
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})
    assert copied.get("/staff/").status_code == 302  # the copied cookie no longer works


def test_disabling_an_account_ends_its_sessions(login_as, catalog_item, db):
    client = login_as("editor")
    disable_user(find_user("editor1"))
    db.session.commit()
    assert client.get("/staff/").status_code == 302
    assert sign_in(client, "editor1").status_code == 401


def test_idle_sessions_expire(app, login_as, catalog_item, monkeypatch):
    client = login_as("editor")
    with client.session_transaction() as session:
        session["seen_at"] -= 31 * 60
    response = client.get("/staff/")
    assert response.status_code == 302


def test_public_readers_are_served_without_a_session(client, catalog_item):
    """A reader without a session cookie gets none made for them; the answer still varies with
    the cookie, since a signed-in member of staff may be answered otherwise (a redirect to
    choose their own password, say)."""
    for path in ("/", "/items?q=港口", "/api/v1/items?q=港口", "/api/v1/report"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Set-Cookie" not in response.headers, path
        assert "Cookie" in response.vary, path


def test_a_forged_session_cookie_is_an_anonymous_reader(client, catalog_item):
    client.set_cookie("session", "eyJfdXNlcl9pZCI6IjE6MSJ9.forged.signature")
    assert client.get("/api/v1/items?q=港口").status_code == 200
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")


def test_a_throttled_address_can_still_read(client, accounts, catalog_item):
    """The limits throttle sign-in attempts (POSTs) only: reading goes on."""
    statuses = [sign_in(client, "editor1", f"wrong-{n}-password").status_code for n in range(6)]
    assert statuses[-1] == 429
    for path in ("/", "/api/v1/items?q=港口", "/staff/login"):
        assert client.get(path).status_code == 200, path


REDIS_CHECK = """
import sys, uuid
from flask_migrate import upgrade
from catalog.accounts import create_user
from catalog.extensions import db
from tests.conftest import make_app
from tests.staff.conftest import PASSWORD, sign_in

app = make_app(sys.argv[1], RATELIMIT_STORAGE_URI=sys.argv[2],
               RATELIMIT_KEY_PREFIX="test-" + uuid.uuid4().hex)
with app.app_context():
    upgrade()
    create_user("editor1", PASSWORD, "editor")
    db.session.commit()
clients = [app.test_client(), app.test_client()]  # as if two worker processes: shared counts
print([sign_in(clients[n % 2], "editor1", "wrong-%d-pass" % n).status_code for n in range(6)])
"""


def test_throttling_can_live_in_redis(tmp_path):
    """RATELIMIT_STORAGE_URI=redis://… keeps the counters in Redis (own process: the limiter
    is one object per process, bound to one app)."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        with Redis.from_url(url) as redis:
            redis.ping()
    except RedisDown:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis not reachable at {url}")
        pytest.skip(f"Redis not reachable at {url}")
    result = subprocess.run(
        [sys.executable, "-c", REDIS_CHECK, f"sqlite:///{tmp_path / 'r.sqlite3'}", url],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[401, 401, 401, 401, 401, 429]"
