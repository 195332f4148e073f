"""No request is a server error: every HTML route, public and staff, fuzzed as each role.

For every route outside the JSON API (which tests/api/test_fuzz.py fuzzes from its OpenAPI
document), Hypothesis generates requests: path parameters (codes that exist, text of any kind,
numbers far past a database integer), query strings (the parameters the views read, and others),
form bodies (the field names of every staff form, with the session's valid CSRF token, and
others), and headers (`Host`, `Content-Type`, a `Content-Length` that lies). Each request is
sent anonymously and signed in as an editor, a reviewer and an admin, on SQLite and on
PostgreSQL. Every answer must be below 500, and every 4xx must say what is wrong in Chinese, in
the page's error shape, never in Werkzeug's English.

The examples are derandomised (the same requests on every run) and bounded: FUZZ_EXAMPLES per
route and backend. The requests that found bugs are kept as plain tests at the end.
"""

from __future__ import annotations

import base64
import json
import os
import re
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from wtforms import Form

from catalog.reports.snapshots import create_snapshot
from catalog.staff import decision_forms
from catalog.staff import forms as staff_forms
from tests.factories import handling_item_data, item_data, publish
from tests.staff.conftest import ROLES, csrf_token, sign_in

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
CJK = re.compile(r"[\u4e00-\u9fff]")
# What Werkzeug writes on its own error pages: none of it may reach a browser.
WERKZEUG_ENGLISH = ("Bad Request", "The browser (or proxy)", "Not Found", "Method Not Allowed",
                    "Internal Server Error", "Traceback", "Request Entity Too Large")  # fmt: skip


def _html_rules(app: Flask) -> list[tuple[str, str]]:
    rules = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/", "/static/")):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            rules.append((rule.rule, method))
    return sorted(rules)


def _form_field_names() -> list[str]:
    """Every field name the staff forms read, list rows included (materials-0-name, …)."""
    from catalog import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"})
    names: set[str] = set()
    with app.test_request_context():
        classes = [*vars(staff_forms).values(), *vars(decision_forms).values()]
        for value in [*classes, *decision_forms.FORMS.values()]:
            if isinstance(value, type) and issubclass(value, Form) and value is not Form:
                try:
                    form = value(meta={"csrf": False})
                except TypeError:
                    continue
                for field in form:
                    names.add(field.name)
                    names.update(f"{field.name}-0-{sub}" for sub in ("name", "form", "copies",
                                 "kind", "amount", "basis", "standard", "document", "article",
                                 "title", "days"))  # fmt: skip
    return sorted(names)


# Built from the app's own url map and forms (no database is touched).
def _document_app() -> Flask:
    from catalog import create_app

    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"})


RULES = _html_rules(_document_app())
FIELD_NAMES = _form_field_names()
QUERY_NAMES = ["q", "cursor", "before", "page", "type", "unit", "status", "snapshot", "from",
               "to", "next", "review", "drafts", "exceptions", "actor", "action", "code", "kind",
               "username", "date", "limit", "metric", "measure", "sort", "no_visit", "instant",
               "one_visit", "no_fee", "format"]  # fmt: skip
CODES = ["A", "A-01", "A-02", "B", "NOPE", "2020"]


def _cursor(payload) -> str:
    raw = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


texts = st.text(max_size=40)
numbers = st.one_of(
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
    st.sampled_from(["0", "1", "2", "-1", "2147483648", "9" * 30, "1e9", "0x10", "²", "١٠"]),
)
hostile = st.sampled_from(
    [
        "",
        " ",
        "%",
        "\\",
        "//evil.example",
        "/%09/evil.example",
        "\r\nX: y",
        "\x01",
        "\u202e",
        "\ud7ff",
        "x" * 5000,
        "港口经营许可",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        _cursor([1, "\ud800"]),
        _cursor([1, "A\u0000"]),
        _cursor([10**30, "A"]),
        _cursor("[" * 1200),
        "[" * 1200,
        "licence",
        "published",
        "unpublished",
        "submitted",
    ]
)
values = st.one_of(texts, numbers, hostile, st.sampled_from(CODES))
path_values = st.one_of(st.sampled_from(CODES), numbers, texts.filter(bool), hostile)
queries = st.dictionaries(st.one_of(st.sampled_from(QUERY_NAMES), texts), values, max_size=5)
bodies = st.dictionaries(st.one_of(st.sampled_from(FIELD_NAMES), texts), values, max_size=8)
hosts = st.sampled_from(
    [None, "a" * 300, "exa mple.com", "例子.中国", "localhost:99999", "[::1", "", "..", "x\ty"]
)
content_types = st.sampled_from(
    [
        None,
        "multipart/form-data",  # no boundary
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded; charset=nonexistent",
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
    ]
)
lengths = st.sampled_from([None, "0", "5", "99999999", "-1", "abc"])


def _path(rule: str, value: str) -> str:
    return re.sub(r"<[^>]+>", quote(value, safe=""), rule)


def _is_chinese_error(response) -> bool:
    body = response.get_data(as_text=True)
    return bool(CJK.search(body)) and not any(text in body for text in WERKZEUG_ENGLISH)


@pytest.fixture
def fuzz_catalog(db):
    """A published item with two handling items, one with a draft, and a snapshot."""
    publish(
        db,
        item_data(
            handling_item_data(code="A-01"),
            handling_item_data(code="A-02", situation="变更", visits=1, visit_reason="核验原件"),
            code="A",
            name="港口经营许可",
        ),
        item_data(code="B", name="道路运输从业人员资格证核发", type="confirmation"),
    )
    create_snapshot("2020", actor="fuzz")
    db.session.commit()


@pytest.mark.parametrize(("rule", "method"), RULES, ids=[f"{m} {r}" for r, m in RULES])
def test_no_request_to_a_page_is_a_server_error(app, accounts, fuzz_catalog, rule, method):
    clients = {None: app.test_client()}
    tokens = {None: csrf_token(clients[None], "/staff/login")}
    for role in ROLES:
        clients[role] = app.test_client()
        assert sign_in(clients[role], f"{role}1").status_code == 302
        tokens[role] = csrf_token(clients[role], "/staff/password")
    answered = []

    @given(
        role=st.sampled_from([None, *ROLES]),
        path_value=path_values,
        query=queries,
        body=bodies,
        host=hosts,
        content_type=content_types,
        length=lengths,
        with_token=st.booleans(),
    )
    @settings(
        max_examples=FUZZ_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        # no shrinking: a failure reports the request as generated, and the time stays bounded
        phases=[Phase.explicit, Phase.generate],
    )
    def check(role, path_value, query, body, host, content_type, length, with_token):
        headers = {}
        if host is not None:
            headers["Host"] = host
        if content_type is not None:
            headers["Content-Type"] = content_type
        data = None
        if method == "POST":
            if with_token:
                body = {**body, "csrf_token": tokens[role]}
            data = urlencode(body).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
            if length is not None:
                headers["Content-Length"] = length
        url = _path(rule, path_value)
        query_string = urlencode(query)
        response = clients[role].open(
            url, method=method, query_string=query_string, data=data, headers=headers
        )
        answered.append(response.status_code)
        where = f"{method} {url}?{query_string} as {role}: {response.status_code}"
        assert response.status_code < 500, where
        if response.status_code >= 400:
            assert _is_chinese_error(response), where + "\n" + response.get_data(as_text=True)

    check()
    assert len(answered) >= min(FUZZ_EXAMPLES, 10)


# --- the requests that found bugs (issue 20) -------------------------------------------------


@pytest.mark.parametrize(
    "cursor",
    [
        _cursor([1, "\ud800"]),
        _cursor([1, "A\u0000"]),
        _cursor("[" * 1200),
        "[" * 1200,
        _cursor([10**30, "A"]),
        _cursor([True, "A"]),
    ],
    ids=["lone surrogate", "nul", "nested", "nested raw", "huge rank", "boolean rank"],
)
@pytest.mark.parametrize("path", ["/items", "/api/v1/items"])
def test_a_forged_cursor_is_a_bad_request(client, fuzz_catalog, path, cursor):
    response = client.get(path, query_string={"q": "许可", "cursor": cursor})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "分页参数无效" in body or "cursor 过长" in body  # the API names its length limit


def test_a_real_cursor_still_pages(client, db):
    publish(db, *(item_data(code=f"P{n:02}", name=f"港口经营许可{n}") for n in range(30)))
    first = client.get("/api/v1/items", query_string={"q": "港口", "limit": 10}).get_json()
    second = client.get(
        "/api/v1/items", query_string={"q": "港口", "limit": 10, "cursor": first["next"]}
    ).get_json()
    assert second["items"] and not {h["code"] for h in first["items"]} & {
        h["code"] for h in second["items"]
    }


@pytest.mark.parametrize("path", ["/staff/audit", "/staff/accounts/events"])
@pytest.mark.parametrize("before", [str(10**23), "2147483648", "-5", "1e3", "١٠"])
def test_an_id_cursor_out_of_range_is_a_bad_request(login_as, path, before):
    response = login_as("admin").get(path, query_string={"before": before})
    assert response.status_code == 400
    assert "分页参数无效" in response.get_data(as_text=True)


def test_an_id_cursor_in_range_pages_the_audit_trail(login_as, fuzz_catalog):
    admin = login_as("admin")
    assert admin.get("/staff/audit?before=2147483647").status_code == 200
    assert admin.get("/staff/accounts/events?before=1").status_code == 200


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_account_id_past_any_row_is_not_found(login_as, method):
    admin = login_as("admin")
    token = csrf_token(admin, "/staff/accounts")
    for path in ("/staff/accounts/99999999999999999999999/password",
                 "/staff/accounts/2147483648/disable"):  # fmt: skip
        response = admin.open(path, method=method, data={"csrf_token": token})
        assert response.status_code in (404, 405), path
        assert _is_chinese_error(response)


def test_an_unreadable_host_header_gets_the_chinese_page(client, fuzz_catalog):
    for path in ("/", "/items/A", "/no-such-page", "/api/v1/items"):
        response = client.get(path, headers={"Host": "a" * 300})
        assert response.status_code == 400, path
        assert "主机名" in response.get_data(as_text=True)


def test_control_characters_in_an_edit_are_refused_by_name(login_as, fuzz_catalog):
    """The form names the field; nothing is saved (a vertical tab, as pasted from Word)."""
    from tests.staff.forms import submit

    editor = login_as("editor")
    path = "/staff/items/A/edit"
    response = submit(editor, path, path, {"name": "港口经营\x0b许可", "reason": "改名"}, "save")
    assert response.status_code == 400
    assert "不能包含控制字符" in response.get_data(as_text=True)
    assert "港口经营\x0b许可" not in login_as("reviewer").get("/staff/items/A").get_data(
        as_text=True
    )


def test_a_control_character_in_a_review_note_is_refused(login_as, db, fuzz_catalog):
    from catalog.domain import Invalid
    from catalog.models import ApprovalItem
    from catalog.operations import items as operations

    item = db.session.query(ApprovalItem).filter_by(code="A").one()
    with pytest.raises(Invalid, match="控制字符"):
        operations.retire_item(item, actor="tester", reason="停用\x00")
    assert item.status.value == "published"
