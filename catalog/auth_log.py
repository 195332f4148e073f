"""The authentication log: every sign-in attempt, session end, refused access and account
change, with who, what, when and from where, in the database and in the `catalog.auth` logger."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import has_request_context, request

from catalog.extensions import db
from catalog.models import AuthEvent, AuthEventKind, utcnow

log = logging.getLogger("catalog.auth")

LEVELS = {
    AuthEventKind.login_failed: logging.WARNING,
    AuthEventKind.login_throttled: logging.WARNING,
    AuthEventKind.access_refused: logging.WARNING,
}


def _values(
    kind: AuthEventKind, username: str | None, actor: str | None, detail: str | None
) -> dict:
    """The event's row, with the request it came from, and its line in the log."""
    values = {
        "occurred_at": utcnow(),
        "kind": kind,
        "username": (username or "")[:50] or None,
        "actor": (actor or "")[:50] or None,
        "detail": (detail or "")[:300] or None,
    }
    if has_request_context():
        values.update(
            address=(request.remote_addr or "")[:45] or None,
            method=request.method,
            path=request.full_path.rstrip("?")[:300],
        )
    log.log(
        LEVELS.get(kind, logging.INFO),
        "%s: user=%r actor=%r from=%s %s %s %s",
        kind.value,
        values["username"],
        values["actor"],
        values.get("address"),
        values.get("method"),
        values.get("path"),
        values["detail"] or "",
    )
    return values


def add_auth_event(
    kind: AuthEventKind,
    username: str | None = None,
    *,
    actor: str | None = None,
    detail: str | None = None,
) -> None:
    """Store an account change's event in the change's own transaction (the account
    operations): it is kept exactly when the change is."""
    db.session.add(AuthEvent(**_values(kind, username, actor, detail)))


def record_auth_event(
    kind: AuthEventKind,
    username: str | None = None,
    *,
    actor: str | None = None,
    detail: str | None = None,
) -> None:
    """Log one event and store it in its own transaction, so that it is kept whatever becomes
    of the request's (a failed sign-in, a refused access: the request writes nothing else)."""
    values = _values(kind, username, actor, detail)
    try:
        with db.engine.begin() as connection:
            connection.execute(sa.insert(AuthEvent).values(**values))
    except sa.exc.SQLAlchemyError as exc:  # the log line above still holds the event
        log.error("could not store auth event %s: %s", kind.value, type(exc).__name__)
