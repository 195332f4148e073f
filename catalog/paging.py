"""Row ids that come from a request: in a URL path (`<id:…>`) or as a `before=` page cursor.

Ids are 32-bit integers in both databases. A larger number in a URL names no row (404), and as a
cursor it is malformed (400); either way it never reaches the database, which would refuse it
with an error instead of finding nothing.
"""

from __future__ import annotations

from flask import request
from werkzeug.routing import IntegerConverter

from catalog.domain import DomainError

MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<id:name>`: a positive row id; anything else does not match the route (404)."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        super().__init__(url_map, min=1, max=MAX_ID)


def before_id(name: str = "before") -> int | None:
    """The `before=` id of a page newest first: None when absent; DomainError (400) when it is
    not an id."""
    value = request.args.get(name, "")
    if not value:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 10 and 1 <= int(value) <= MAX_ID):
        raise DomainError("分页参数无效，请从第一页重新开始。")
    return int(value)
