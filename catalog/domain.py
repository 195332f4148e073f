"""The errors of the domain: what the operations raise and the edge (catalog.edge) renders.

Every layer that refuses a change raises one of these with a message in Chinese; the edge
rolls the transaction back and answers 400, 403 or 409 (a page, the API's error shape, or the
CLI's message and exit code). Nothing below the edge decides how a refusal looks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError

from catalog.extensions import db


class DomainError(Exception):
    """A request the catalog refuses; `message` says why, in Chinese."""

    status = 400
    exit_code = 1

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class Invalid(DomainError):
    """Input that breaks a rule; `errors` maps a field path to its messages (Chinese)."""

    def __init__(self, errors: Mapping[str, list[str]]):
        self.errors = {path: list(messages) for path, messages in errors.items()}
        super().__init__("；".join(" ".join(messages) for messages in self.errors.values()))


class NotAllowed(DomainError):
    """The actor may not do this (checked by the operations too, not only by the views)."""

    status = 403


class Conflict(DomainError):
    """Someone changed what this request was based on; nothing was written over it."""

    status = 409


@contextmanager
def written_or(conflict: Callable[[], DomainError]) -> Iterator[None]:
    """Write the block's changes in a savepoint and flush them there. A unique key that another
    request took between the check and the write (IntegrityError) rolls back the savepoint
    only, so the transaction stays usable, and raises conflict() (built after the rollback,
    so it may read what won)."""
    try:
        with db.session.begin_nested():
            yield
            db.session.flush()
    except IntegrityError as exc:
        raise conflict() from exc


def flush_or(conflict: Callable[[], DomainError]) -> None:
    """Flush what is pending as written_or() writes a block."""
    with written_or(conflict):
        pass
