"""Page cursors and row ids that come from a request: an id in a URL path (`<id:…>`) or as a
`before=` page cursor, and the opaque `cursor=` of a list in code order.

Ids are 32-bit integers in both databases. A larger number in a URL names no row (404), and as a
cursor it is malformed (400); either way it never reaches the database, which would refuse it
with an error instead of finding nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Literal

from flask import request
from werkzeug.routing import IntegerConverter

from catalog.domain import DomainError

MAX_ID = 2**31 - 1
BAD_CURSOR = "分页参数无效，请从第一页重新开始。"


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
        raise DomainError(BAD_CURSOR)
    return int(value)


@dataclass(frozen=True, slots=True)
class CodeCursor:
    """Where a page of a list in code order starts: after `code` (the next page) or ends:
    before it (the previous page)."""

    direction: Literal["after", "before"]
    code: str

    def encode(self) -> str:
        raw = json.dumps([self.direction, self.code], ensure_ascii=False, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


# A code is at most 50 characters (handling items; items 40), 4 bytes each in UTF-8 at most:
# anything longer than this was not made by CodeCursor.encode.
MAX_CODE_CURSOR_LENGTH = 300


def code_cursor(name: str = "cursor", *, max_code_length: int = 50) -> CodeCursor | None:
    """The `cursor=` of a page in code order: None when absent; DomainError (400) for anything
    CodeCursor.encode did not make (a code the database could not compare included: a lone
    surrogate, a control character)."""
    value = request.args.get(name, "")
    if not value:
        return None
    try:
        if len(value) > MAX_CODE_CURSOR_LENGTH:
            raise ValueError
        padded = value + "=" * (-len(value) % 4)
        direction, code = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if direction not in ("after", "before"):
            raise ValueError
        if not isinstance(code, str) or not 0 < len(code) <= max_code_length:
            raise ValueError
        if not code.isprintable():
            raise ValueError
        code.encode("utf-8")
    except (ValueError, TypeError, binascii.Error, UnicodeError, RecursionError):
        raise DomainError(BAD_CURSOR) from None
    return CodeCursor(direction, code)
