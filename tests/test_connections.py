"""A pooled PostgreSQL connection is tested before use once it has been idle for
DATABASE_PING_AFTER seconds, and trusted before that (catalog.connections).

Each test closes the app's pooled connection from the server's side (pg_terminate_backend, as a
restart or an idle timeout would) and looks at what the next requests meet.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

import config
from catalog.errors import DATABASE_UNAVAILABLE
from catalog.extensions import db
from tests.conftest import make_app, temporary_postgres_database
from tests.factories import handling_item_data, item_data, publish

SEARCH = "/api/v1/items?q=港口"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with temporary_postgres_database("catalog_ping") as url:
        yield url


def app_pinging_after(url: str, seconds: float) -> Flask:
    app = make_app(url, DATABASE_PING_AFTER=seconds)
    with app.app_context():
        upgrade()
        publish(db, item_data(handling_item_data(code="A-01"), code="A", name="港口经营许可"))
        db.session.commit()
    return app


def close_the_apps_connections(url: str) -> int:
    """Terminate every other session on the app's database, as a server restart would."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return len(
                connection.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).all()
            )
    finally:
        engine.dispose()


def found(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [hit["code"] for hit in response.get_json()["items"]]


@pytest.mark.parametrize("seconds", [0, 0.2])
def test_a_connection_idle_longer_than_the_setting_is_tested_and_replaced(postgres_url, seconds):
    app = app_pinging_after(postgres_url, seconds)
    client = app.test_client()
    try:
        assert found(client.get(SEARCH)) == ["A-01"]
        assert close_the_apps_connections(postgres_url) >= 1
        time.sleep(seconds * 1.5)
        # The closed connection is found out before use and a new one serves the request.
        assert found(client.get(SEARCH)) == ["A-01"]
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_connection_used_within_the_setting_is_trusted_and_the_pool_renewed_after_it_fails(
    postgres_url,
):
    app = app_pinging_after(postgres_url, 3600)
    client = app.test_client()
    try:
        assert found(client.get(SEARCH)) == ["A-01"]
        assert close_the_apps_connections(postgres_url) >= 1
        # Not tested: the request meets the closed connection, as one in flight would.
        response = client.get(SEARCH)
        assert response.status_code == 503
        assert response.get_json() == {"error": {"status": 503, "message": DATABASE_UNAVAILABLE}}
        assert found(client.get(SEARCH)) == ["A-01"]  # the pool was renewed: no restart needed
    finally:
        with app.app_context():
            db.engine.dispose()


def test_sqlite_connections_are_never_tested(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'catalog.sqlite3'}", DATABASE_PING_AFTER=0)
    with app.app_context():
        assert not db.engine.pool.dispatch.checkout  # no listener: nothing to test


def test_database_ping_after_defaults_to_a_second_and_reads_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_PING_AFTER", raising=False)
    assert config.load(tmp_path)["DATABASE_PING_AFTER"] == 1
    monkeypatch.setenv("DATABASE_PING_AFTER", "0")
    assert config.load(tmp_path)["DATABASE_PING_AFTER"] == 0
    monkeypatch.setenv("DATABASE_PING_AFTER", " 2.5 ")
    assert config.load(tmp_path)["DATABASE_PING_AFTER"] == 2.5


@pytest.mark.parametrize("value", ["-1", "3601", "soon", "nan", "inf", "1s"])
def test_a_wrong_database_ping_after_stops_the_app_naming_the_setting(value, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_PING_AFTER", value)
    with pytest.raises(ValueError, match="DATABASE_PING_AFTER"):
        config.load(tmp_path)


def test_an_engine_asked_to_ping_every_checkout_gets_no_second_test(postgres_url):
    options = config.engine_options(postgres_url) | {"pool_pre_ping": True}
    app = make_app(postgres_url, SQLALCHEMY_ENGINE_OPTIONS=options)
    with app.app_context():
        assert not db.engine.pool.dispatch.checkout  # SQLAlchemy's own pre-ping, not ours
        db.engine.dispose()
