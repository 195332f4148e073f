"""The migration tests' starting point: an app on a new, empty database migrated to a given
revision, in its app context, once on SQLite and once on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade

from catalog.extensions import db as _db
from tests.conftest import make_app, temporary_postgres_database


@contextmanager
def migrated_app(backend: str, revision: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on a new, empty database ("sqlite": a file under `tmp_path`; "postgresql": a
    temporary database, dropped afterwards) migrated to `revision`, in its app context."""
    if backend == "sqlite":
        database = nullcontext(f"sqlite:///{tmp_path / f'at_{revision}.sqlite3'}")
    else:
        database = temporary_postgres_database(f"catalog_at_{revision}")
    with database as url:
        app = make_app(url)
        with app.app_context():
            try:
                upgrade(revision=revision)
                yield app
            finally:
                _db.session.remove()
                _db.engine.dispose()


def app_migrated_to(revision: str):
    """A fixture, to be named in the test module (`at_0018 = app_migrated_to("0018")`): each
    test that takes it runs on SQLite and again on PostgreSQL, in `migrated_app`."""

    @pytest.fixture(params=["sqlite", "postgresql"])
    def fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
        with migrated_app(request.param, revision, tmp_path) as app:
            yield app

    return fixture
