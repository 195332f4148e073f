"""The transaction edge: the one place where a request or a command commits or rolls back.

The operations (catalog.operations) and the services below them only flush. A staff view that
writes is wrapped in `@transaction`, a command that writes in `@command_transaction`; each
commits when it succeeds and rolls back when it fails, and turns a refusal of the domain
(catalog.domain) into a clear answer: a page or the API's error shape with 400, 403 or 409,
or the command's message on stderr and its exit code. tests/test_edge.py fails when any other
module commits or rolls back by itself.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click
from flask import current_app, g, make_response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from catalog.domain import DomainError
from catalog.extensions import db

# Written by a request that raced another one; the version counters or a unique key caught
# it at the commit, so nothing was overwritten.
RACE_ERRORS = (StaleDataError, IntegrityError)
RACE_MESSAGE = "内容已被他人同时修改，本次提交未保存，请刷新后重试。"


def keep_nothing() -> None:
    """Roll this request's or command's changes back at the edge, whatever it answers (a
    refusal shown as a redirect with a message, a dry run)."""
    g.keep_nothing = True


def start_over() -> None:
    """Roll back what this request has written so far and go on reading, then roll back at
    the edge as well: for a view that answers a race it lost with a fresh look at the data."""
    db.session.rollback()
    keep_nothing()


def after_commit(callback: Callable[[], None]) -> None:
    """Run `callback` once the edge has committed (work that must not be inside the
    transaction, such as PostgreSQL's VACUUM)."""
    g.setdefault("after_commit", []).append(callback)


def _finish(keep: bool) -> None:
    callbacks = g.pop("after_commit", [])
    g.pop("keep_nothing", None)
    if not keep:
        db.session.rollback()
        return
    db.session.commit()
    for callback in callbacks:
        callback()


def transaction(view: Callable[..., Any]) -> Callable[..., Any]:
    """A view's one transaction: commit when it answers below 400 (a page, a redirect),
    roll back when it answers an error or raises. A refusal of the domain that the view does
    not render itself becomes the error page (or the API's error shape) with its status."""
    from catalog.errors import error_response  # the renderer; it imports nothing of this

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        g.pop("keep_nothing", None)
        try:
            response = make_response(view(*args, **kwargs))
        except DomainError as refusal:
            _finish(keep=False)
            return error_response(refusal.status, refusal.message)
        except BaseException:
            _finish(keep=False)
            raise
        try:
            _finish(keep=response.status_code < 400 and not g.get("keep_nothing"))
        except RACE_ERRORS:
            db.session.rollback()
            current_app.logger.info("a write lost a race at the commit; answered 409")
            return error_response(409, RACE_MESSAGE)
        return response

    wrapped.transaction = True
    return wrapped


def command_transaction(command: Callable[..., Any]) -> Callable[..., Any]:
    """A command's one transaction: commit when it returns, roll back when it fails. A
    refusal of the domain is printed (in Chinese) with the words "nothing was changed", and
    the command exits with the refusal's exit code."""

    @wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        g.pop("keep_nothing", None)
        try:
            result = command(*args, **kwargs)
        except DomainError as refusal:
            _finish(keep=False)
            click.echo(f"{refusal.message}（数据库未做任何修改。）", err=True)
            sys.exit(refusal.exit_code)
        except BaseException:
            _finish(keep=False)
            raise
        try:
            _finish(keep=not g.get("keep_nothing"))
        except RACE_ERRORS:
            db.session.rollback()
            click.echo(RACE_MESSAGE, err=True)
            sys.exit(1)
        return result

    wrapped.transaction = True
    return wrapped
