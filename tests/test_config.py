"""Settings come from the environment; the secret key is generated once, never hard-coded."""

from __future__ import annotations

import stat

import config


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
