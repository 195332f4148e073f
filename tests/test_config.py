"""Settings come from the environment; the secret key is generated once, never hard-coded."""

from __future__ import annotations

import stat

import pytest
import sqlalchemy as sa

import config
from tests.conftest import temporary_postgres_database


def test_default_database_is_sqlite_under_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    settings = config.load(tmp_path / "instance")
    assert (
        settings["SQLALCHEMY_DATABASE_URI"]
        == f"sqlite:///{tmp_path / 'instance' / 'catalog.sqlite3'}"
    )


def test_postgres_urls_get_the_psycopg_driver(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://user@db.example/catalog")
    assert config.load(tmp_path)["SQLALCHEMY_DATABASE_URI"] == (
        "postgresql+psycopg://user@db.example/catalog"
    )
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://user@db.example/catalog")
    assert config.load(tmp_path)["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


def test_secret_key_is_generated_once_into_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = config.load(tmp_path)["SECRET_KEY"]
    second = config.load(tmp_path)["SECRET_KEY"]
    assert first == second
    assert len(first) >= 64
    key_file = tmp_path / "secret_key"
    assert key_file.read_text() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert config.load(tmp_path / "other")["SECRET_KEY"] != first


def test_environment_and_overrides_win(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-env")
    assert config.load(tmp_path)["SECRET_KEY"] == "from-env"
    assert config.load(tmp_path, {"SECRET_KEY": "override"})["SECRET_KEY"] == "override"
    assert not (tmp_path / "secret_key").exists()


def test_postgresql_sessions_read_ahead_what_database_io_concurrency_says(monkeypatch):
    """A bitmap scan of a table out of memory asks for this many pages at once: 200 unless
    DATABASE_IO_CONCURRENCY says otherwise, set on every connection the app opens."""
    with temporary_postgres_database("catalog_io") as url:
        for value, expected in (("", "200"), ("16", "16"), ("0", "0")):
            monkeypatch.setenv("DATABASE_IO_CONCURRENCY", value)
            engine = sa.create_engine(url, **config.engine_options(url))
            try:
                with engine.connect() as connection:
                    shown = connection.exec_driver_sql("SHOW effective_io_concurrency").scalar()
            finally:
                engine.dispose()
            assert shown == expected


@pytest.mark.parametrize("value", ["-1", "1001", "many", "2.5", "²"])
def test_a_wrong_database_io_concurrency_stops_the_app_naming_the_setting(value, monkeypatch):
    monkeypatch.setenv("DATABASE_IO_CONCURRENCY", value)
    with pytest.raises(ValueError, match="DATABASE_IO_CONCURRENCY"):
        config.engine_options("postgresql+psycopg://postgres@127.0.0.1/test")
