"""Extension singletons, bound to the app in create_app()."""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa
from flask import request
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so Alembic migrations can name what they alter on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()


def client_address() -> str:
    """The caller's address (behind a proxy, configure ProxyFix so this is the real one)."""
    return request.remote_addr or "unknown"


# Limits are declared where they apply (the login view); storage from RATELIMIT_STORAGE_URI.
limiter = Limiter(key_func=client_address, default_limits=[])
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@limiter.request_filter
def _reads_are_not_limited() -> bool:
    """The app's limits throttle sign-in attempts, which are POSTs; reading the catalog is not
    throttled here (the proxy limits request rates), and a read skips the limiter's lookup of
    its view's limits (6 % of a gunicorn worker's time serving cached searches, by py-spy)."""
    return request.method in READ_METHODS


@event.listens_for(Engine, "connect")
def _enable_sqlite_foreign_keys(dbapi_connection, _record) -> None:
    """SQLite enforces foreign keys (and so ON DELETE CASCADE) only when asked, per connection."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


@event.listens_for(Engine, "savepoint")
def _begin_before_a_first_sqlite_savepoint(connection, _name) -> None:
    """Python's sqlite3 module (3.11) opens a transaction only before an INSERT, UPDATE or
    DELETE, not before a SAVEPOINT: a savepoint taken before a transaction's first write began
    the transaction itself, and its RELEASE committed everything, so a later rollback left half
    a change in the database (a snapshot row without its items). Begin the transaction first.
    (Reads before the first write still take no lock, so writers queue on the busy timeout.)"""
    if connection.dialect.name != "sqlite":
        return
    driver = connection.connection.dbapi_connection
    if isinstance(driver, sqlite3.Connection) and not driver.in_transaction:
        driver.execute("BEGIN")


_KNOWN_TABLES: set[tuple[str, str]] = set()  # (database URL, table) found to be there


def has_table(connection: sa.Connection, name: str) -> bool:
    """Whether the database has the table `name` yet: not one migrated only to a revision
    before the one that adds it (migration tests write rows there through the ORM, whose
    commit hooks keep tables such as the report sums). Known once found, per database; a
    database without it is asked again each time, as it may be upgraded meanwhile."""
    key = (connection.engine.url.render_as_string(hide_password=True), name)
    if key in _KNOWN_TABLES:
        return True
    if sa.inspect(connection).has_table(name):
        _KNOWN_TABLES.add(key)
        return True
    return False
