"""Staff fixtures: accounts of every role, signing in through the real form with its CSRF token."""

from __future__ import annotations

import re

import pytest

from catalog.accounts import create_user
from catalog.extensions import limiter
from tests.factories import handling_item_data, item_data, publish

PASSWORD = "许昌交通运输2026审批"
ROLES = ("editor", "reviewer", "admin")
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client, path: str) -> str:
    match = _CSRF.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@pytest.fixture(autouse=True)
def fresh_limits(request):
    """Login counters start at zero in every test that runs the app in this process. Reset in
    that app's context: outside one the limiter would use the app made last (a test's own app,
    perhaps disposed already), and open a connection in its pool that nothing closes."""
    if "app" in request.fixturenames:
        with request.getfixturevalue("app").app_context():
            limiter.reset()


@pytest.fixture
def accounts(db):
    users = {role: create_user(f"{role}1", PASSWORD, role) for role in ROLES}
    db.session.commit()
    return users


@pytest.fixture
def catalog_item(db):
    publish(db, item_data(handling_item_data(code="A-01"), code="A", name="港口经营许可"))
    return "A"


def sign_in(client, username: str, password: str = PASSWORD, next_path: str | None = None):
    path = "/staff/login" + (f"?next={next_path}" if next_path else "")
    token = csrf_token(client, path)
    return client.post(path, data={"username": username, "password": password, "csrf_token": token})


@pytest.fixture
def login_as(app, accounts):
    """login_as("editor") -> a test client signed in with that role."""

    def make(role: str):
        client = app.test_client()
        response = sign_in(client, f"{role}1")
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return make
