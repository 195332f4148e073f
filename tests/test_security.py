"""Security headers on every kind of response, HSTS only over HTTPS, the session cookie's flags,
and, in real headless Chromium, a policy that blocks inline script without breaking a page."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

import pytest
from flask import Response

from catalog.accounts import create_user
from catalog.extensions import db as _db
from catalog.extensions import limiter
from catalog.security import CONTENT_SECURITY_POLICY, SECURITY_HEADERS
from tests.browser import chromium_page, live_server
from tests.conftest import make_app
from tests.factories import publish_sample_with_snapshot
from tests.staff.conftest import PASSWORD, csrf_token, sign_in

EXPECTED = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "Strict-Transport-Security"
# One of each kind: a page, JSON, a page's and the API's 404, a static file, a redirect, a 405,
# a CSV and an XLSX download, the print stylesheet, the sign-in page.
RESPONSES = {
    "/": 200,
    "/api/v1/report": 200,
    "/no-such-page": 404,
    "/api/v1/no-such-thing": 404,
    "/static/site.css": 200,
    "/staff/": 302,
    "/staff/logout": 405,
    "/items.csv?q=港口": 200,
    "/reports/export.xlsx": 200,
    "/reports/print.css": 200,
    "/staff/login": 200,
}


def assert_security_headers(response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.getlist(name) == [value], name
    policy = response.headers["Permissions-Policy"]
    assert "camera=()" in policy and "geolocation=()" in policy
    assert len(response.headers.getlist("Permissions-Policy")) == 1


def test_the_policy_allows_nothing_inline():
    assert "unsafe" not in CONTENT_SECURITY_POLICY
    assert EXPECTED["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert SECURITY_HEADERS.keys() >= EXPECTED.keys()


@pytest.mark.parametrize(("path", "status"), RESPONSES.items(), ids=list(RESPONSES))
def test_every_kind_of_response_carries_the_headers_once(client, path, status):
    response = client.get(path)
    response.close()  # a static file is streamed from an open file
    assert response.status_code == status
    assert_security_headers(response)
    assert HSTS not in response.headers  # plain HTTP: a browser would ignore it anyway


def test_a_signed_in_staff_page_carries_the_headers(app, client, db):
    limiter.reset()
    create_user("editor1", PASSWORD, "editor")
    db.session.commit()
    assert sign_in(client, "editor1").status_code == 302
    for path in ("/staff/", "/staff/audit", "/staff/export.xlsx"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_security_headers(response)


@pytest.mark.parametrize("path", ["/", "/api/v1/report", "/no-such-page", "/static/site.css"])
def test_hsts_only_over_https(client, path):
    response = client.get(path, base_url="https://localhost")
    response.close()
    assert response.headers.getlist(HSTS) == ["max-age=31536000; includeSubDomains"]
    assert_security_headers(response)


def test_a_view_that_sets_a_header_keeps_it_and_errors_carry_them(database_url, db):
    app = make_app(database_url, PROPAGATE_EXCEPTIONS=False)

    @app.get("/own-policy")
    def own_policy():
        return Response("x", headers={"Content-Security-Policy": "sandbox", "X-Frame-Options": "x"})

    @app.get("/boom")
    def boom():
        raise RuntimeError("unexpected")

    client = app.test_client()
    own = client.get("/own-policy")
    broken = client.get("/boom")
    with app.app_context():
        _db.engine.dispose()
    assert own.headers.getlist("Content-Security-Policy") == ["sandbox"]
    assert own.headers.getlist("X-Frame-Options") == ["x"]
    assert own.headers["X-Content-Type-Options"] == "nosniff"
    assert broken.status_code == 500
    assert_security_headers(broken)


def session_cookie(response) -> dict[str, str | bool]:
    """The attributes of the session cookie a response sets, by lower-case name."""
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert len(headers) == 1, response.headers.getlist("Set-Cookie")
    morsel = SimpleCookie(headers[0])["session"]
    return {
        "secure": bool(morsel["secure"]),
        "httponly": bool(morsel["httponly"]),
        "samesite": morsel["samesite"],
    }


def test_session_cookie_is_httponly_and_lax(app, client, db):
    assert session_cookie(client.get("/staff/login")) == {
        "secure": False,
        "httponly": True,
        "samesite": "Lax",
    }
    limiter.reset()
    create_user("editor1", PASSWORD, "editor")
    db.session.commit()
    signed_in = sign_in(client, "editor1")
    assert signed_in.status_code == 302
    assert session_cookie(signed_in)["httponly"] and session_cookie(signed_in)["samesite"] == "Lax"


def test_a_nul_character_in_a_posted_form_is_a_bad_request(client, db):
    """The NUL check reads the form of a request that has one (GETs carry none)."""
    limiter.reset()
    token = csrf_token(client, "/staff/login")
    form = {"username": "editor\x001", "password": PASSWORD, "csrf_token": token}
    response = client.post("/staff/login", data=form)
    limiter.reset()
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)


def test_session_cookie_is_secure_when_configured(database_url, db):
    app = make_app(database_url, SESSION_COOKIE_SECURE=True)
    response = app.test_client().get("/staff/login", base_url="https://localhost")
    with app.app_context():
        _db.engine.dispose()
    assert response.status_code == 200
    assert session_cookie(response) == {"secure": True, "httponly": True, "samesite": "Lax"}
    assert HSTS in response.headers


def test_behind_a_proxy_the_client_address_and_scheme_come_from_its_headers(database_url, db):
    import sqlalchemy as sa

    from catalog.models import AuthEvent

    proxied = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    app = make_app(database_url, PROXY_FIX_HOPS=1)
    plain = make_app(database_url)
    response = app.test_client().get("/staff/audit", headers=proxied)  # refused: logged
    direct = plain.test_client().get("/", headers=proxied)
    for each in (app, plain):
        with each.app_context():
            _db.engine.dispose()
    assert HSTS in response.headers and HSTS not in direct.headers  # only a trusted proxy counts
    address = db.session.scalar(sa.select(AuthEvent.address).order_by(AuthEvent.id.desc()))
    assert address == "203.0.113.7"


# In Chromium: the policy blocks inline script and style (the control), and the app's own pages
# load their stylesheet and forms without a single violation.

CLEAN_PAGES = [
    "/",
    "/items?q=港口",
    "/items?q=没有这个事项",
    "/items/P",
    "/handling/P-01/notice",
    "/handling/P-01/deadline?date=2026-09-30",
    "/handling/P-01/deadline?date=2099-01-01",
    "/no-such-page",
    "/reports",
    "/reports?snapshot=基线",
    "/reports/items?measure=visit",
    "/reports/items?measure=all&unit=行政审批服务科",
    "/reports/compare",
    "/reports/compare?from=基线",
    "/staff/login",
]
STAFF_PAGES = [
    "/staff/",
    "/staff/items/P",
    "/staff/items/P/edit",
    "/staff/handling/P-01/edit",
    "/staff/items/new",
    "/staff/audit",
    "/staff/import",
    "/staff/snapshots",
    "/staff/password",
    "/staff/accounts",
    "/staff/accounts/events",
    "/reports",
]
VIOLATION_LISTENER = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
  (event) => window.__violations.push(event.violatedDirective + " " + event.blockedURI));
"""


class Watch:
    """What a page reports while it is watched: console errors, page errors, dialogs."""

    def __init__(self, page):
        self.console: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.add_init_script(VIOLATION_LISTENER)
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))

    def policy_messages(self) -> list[str]:
        return [
            line
            for line in self.console
            if re.search(r"Content Security Policy|Permissions-Policy|Refused", line)
        ]


@pytest.mark.browser
def test_chromium_enforces_the_policy(database_url, db):
    """The control: inline script, an inline handler and an inline style are blocked."""
    app = make_app(database_url)

    @app.get("/inline")
    def inline():
        return (
            '<!doctype html><html lang="en"><title>x</title>'
            "<script>window.__ran = 1</script>"
            '<img src="data:," onload="window.__ran = 2" alt="">'
            '<p id="styled" style="color: rgb(255, 0, 0)">x</p></html>'
        )

    try:
        with live_server(app) as base, chromium_page() as page:
            watch = Watch(page)
            page.goto(base + "/inline")
            page.wait_for_load_state("load")
            assert page.evaluate("window.__ran") is None
            colour = page.locator("#styled").evaluate("node => getComputedStyle(node).color")
            assert colour != "rgb(255, 0, 0)"
            violations = page.evaluate("window.__violations")
            assert any(v.startswith("script-src") for v in violations), violations
            assert any(v.startswith("style-src") for v in violations), violations
            assert watch.policy_messages()
    finally:
        with app.app_context():
            _db.engine.dispose()


@pytest.mark.browser
def test_the_policy_breaks_no_page_in_chromium(app, db):
    publish_sample_with_snapshot(db)
    create_user("admin1", PASSWORD, "admin")
    db.session.commit()
    limiter.reset()
    with live_server(app) as base, chromium_page() as page:
        watch = Watch(page)
        visited = []
        for path in CLEAN_PAGES:
            response = page.goto(base + path)
            assert response.status in (200, 400, 404), path
            visited.append((path, page.evaluate("window.__violations")))
            if path == "/":
                header = page.locator(".site-header")
                colour = header.evaluate("node => getComputedStyle(node).backgroundColor")
                assert colour == "rgb(11, 79, 138)"  # the stylesheet loaded under the policy
        page.goto(base + "/staff/login")  # the form posts under form-action 'self'
        page.get_by_label("用户名").fill("admin1")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(re.compile(r"/staff/$"))
        for path in STAFF_PAGES:
            response = page.goto(base + path)
            assert response.status == 200, path
            visited.append((path, page.evaluate("window.__violations")))
    assert [(path, found) for path, found in visited if found] == []
    assert watch.policy_messages() == []
    assert watch.errors == []
    assert watch.dialogs == []
