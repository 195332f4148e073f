"""Pending imports: what a spreadsheet's preview was built from, kept until it is applied.

Not the uploaded file: its rows as parsed (compressed JSON) and the versions of the items the
preview saw, one file a preview under IMPORT_PENDING_FOLDER, named by the account and a random
token. A preview is kept IMPORT_PENDING_TTL_SECONDS at most; an account keeps
IMPORT_PENDING_PER_ACCOUNT, all accounts IMPORT_PENDING_TOTAL_BYTES; the oldest go first when
a new one would pass them. Stale ones are removed at start-up and whenever one is written.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import tempfile
import time
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app

from catalog.domain import DomainError
from catalog.importing import ParsedItem, Problem, SpreadsheetError

FORMAT = 1
ROWS, FILE = "rows", "file"
SUFFIX = ".pending"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")  # secrets.token_urlsafe(16)
_STORED = re.compile(r"(\d+)\.([A-Za-z0-9_-]{22})\.pending")
_LEFTOVERS = (".tmp", ".json")  # a write cut short; the upload itself, as hex (before 2026-12)
_LOCK = ".lock"
GONE_MESSAGE = (
    "这次上传的预览已失效：暂存的内容已被清理（超过 {hours} 小时未确认导入、之后又上传了文件，"
    "或暂存空间已满）。数据库未做任何修改，请重新上传文件。"
)


class PreviewGone(DomainError):
    """The preview's stored rows are gone (applied, expired or evicted): upload again."""

    status = 410

    def __init__(self) -> None:
        ttl = current_app.config["IMPORT_PENDING_TTL_SECONDS"]
        super().__init__(GONE_MESSAGE.format(hours=f"{ttl / 3600:g}"))


@dataclass(frozen=True)
class PendingImport:
    token: str
    source: str  # the uploaded file's name, as the audit trail names the import
    versions: dict[str, str | None]  # what the preview saw (catalog.importing.Plan.versions)
    rows: bytes  # compressed, as freeze() (or freeze_file(), kind FILE) made them
    kind: str = "rows"  # ROWS: a preview's rows; FILE: an upload waiting for its mapping step
    # FILE: what the mapping step needs (its columns with their letters and first values, the
    # source name); ROWS: the mapping the rows were read with, saved only when they are applied
    details: dict | None = None

    def items(self) -> list[ParsedItem]:
        """The rows as parsed, fresh objects on every call (planning adds to them)."""
        if self.kind != ROWS:
            raise PreviewGone()
        try:
            stored = json.loads(zlib.decompress(self.rows).decode("utf-8", "surrogatepass"))
            return [_parsed(item) for item in stored]
        except (zlib.error, ValueError, KeyError, TypeError):
            raise PreviewGone() from None


def _parsed(stored: dict) -> ParsedItem:
    positions = stored["material_rows"]
    return ParsedItem(
        code=stored["code"],
        data=stored["data"],
        rows=stored["rows"],
        material_rows={(index, position): row for index, position, row in positions},
        notes=stored["notes"],
        sheets=tuple(stored.get("sheets") or ParsedItem.sheets),  # kept since issue 21
    )


def _folder() -> Path:
    return Path(current_app.config["IMPORT_PENDING_FOLDER"])


def freeze(items: list[ParsedItem]) -> bytes:
    """The rows as parsed, compressed, at most IMPORT_PENDING_MAX_BYTES (else SpreadsheetError).
    Call it before planning: a plan adds what the file leaves out to the items it plans."""
    config = current_app.config
    limit = min(config["IMPORT_PENDING_MAX_BYTES"], config["IMPORT_PENDING_TOTAL_BYTES"])
    compressor = zlib.compressobj(6)
    chunks: list[bytes] = []
    size = 0

    def add(chunk: bytes) -> None:
        nonlocal size
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:  # checked as it grows: memory stays bounded too
            message = f"文件内容过多，无法暂存预览（压缩后超过 {limit / 1024 / 1024:g} MB）。"
            raise SpreadsheetError([Problem("文件", None, None, message + "请拆分后分别导入。")])

    for index, item in enumerate(items):
        plain = {
            "code": item.code,
            "data": item.data,
            "rows": item.rows,
            "material_rows": [[i, p, row] for (i, p), row in item.material_rows.items()],
            "notes": item.notes,
            "sheets": item.sheets,
        }
        text = ("[" if index == 0 else ",") + json.dumps(plain, ensure_ascii=False)
        add(compressor.compress(text.encode("utf-8", "surrogatepass")))
    add(compressor.compress(b"]" if items else b"[]") + compressor.flush())
    return b"".join(chunks)


def freeze_file(content: bytes, materials: bytes | None) -> bytes:
    """An upload whose headers need the mapping step, compressed, at most
    IMPORT_PENDING_MAX_BYTES like a preview's rows (else SpreadsheetError). It is read again,
    through the same bounded readers, once its columns are mapped."""
    config = current_app.config
    limit = min(config["IMPORT_PENDING_MAX_BYTES"], config["IMPORT_PENDING_TOTAL_BYTES"])
    head = len(content).to_bytes(8, "big") + (b"\1" if materials is not None else b"\0")
    frozen = zlib.compress(head + content + (materials or b""), 6)
    if len(frozen) > limit:
        message = f"文件内容过多，无法暂存以指定表头（压缩后超过 {limit / 1024 / 1024:g} MB）。"
        raise SpreadsheetError([Problem("文件", None, None, message + "请拆分后分别导入。")])
    return frozen


def thaw_file(pending: PendingImport) -> tuple[bytes, bytes | None]:
    """The upload kept by freeze_file: (the file, the materials CSV or None)."""
    if pending.kind != FILE:
        raise PreviewGone()
    try:
        whole = zlib.decompress(pending.rows)
    except zlib.error:
        raise PreviewGone() from None
    size, has_materials = int.from_bytes(whole[:8], "big"), whole[8:9] == b"\1"
    content, materials = whole[9 : 9 + size], whole[9 + size :]
    return content, materials if has_materials else None


def keep(
    rows: bytes,
    versions: Mapping[str, str | None],
    *,
    source: str,
    account_id: int,
    kind: str = ROWS,
    details: dict | None = None,
) -> str:
    """Store a preview's rows (freeze()) and versions for the account, or an upload waiting
    for its mapping step (kind FILE, freeze_file()); returns its token. Makes room first:
    stale previews, then the account's and everyone's oldest beyond the quotas."""
    header = {"format": FORMAT, "source": source, "versions": dict(versions), "kind": kind}
    if details is not None:
        header["details"] = details
    body = json.dumps(header).encode() + b"\n" + rows  # JSON escapes every line break
    token = secrets.token_urlsafe(16)
    folder = _folder()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _locked(folder):
        _make_room(folder, account_id, len(body))
        _write(folder / f"{account_id}.{token}{SUFFIX}", body)
    return token


def load(token: str, *, account_id: int) -> PendingImport:
    """The account's preview under `token`; PreviewGone when there is none (any more)."""
    if not _TOKEN.fullmatch(token or ""):
        raise PreviewGone()
    path = _folder() / f"{account_id}.{token}{SUFFIX}"
    try:
        with path.open("rb") as handle:
            if os.fstat(handle.fileno()).st_mtime < time.time() - _ttl():
                raise PreviewGone()
            header, _newline, rows = handle.read().partition(b"\n")
        stored = json.loads(header)
        if stored.get("format") != FORMAT:
            raise PreviewGone()
        return PendingImport(
            token, str(stored["source"]), dict(stored["versions"]), rows,
            kind=str(stored.get("kind", ROWS)), details=stored.get("details"),
        )  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise PreviewGone() from None


def discard(token: str | None, *, account_id: int) -> None:
    """Remove the account's preview under `token`, if it is still there."""
    if token and _TOKEN.fullmatch(token):
        (_folder() / f"{account_id}.{token}{SUFFIX}").unlink(missing_ok=True)


def init_app(app: Flask) -> None:
    """Remove stale previews and the leftovers of earlier versions at start-up. A folder that
    cannot be cleaned is logged, not fatal: the catalog serves without imports."""
    folder = Path(app.config["IMPORT_PENDING_FOLDER"])
    if not folder.is_dir():
        return
    try:
        with _locked(folder):
            _sweep(folder, app.config["IMPORT_PENDING_TTL_SECONDS"])
    except OSError as error:
        app.logger.warning("cannot clean pending imports in %s: %s", folder, error)


# -- the folder ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stored:
    path: Path
    account_id: int
    size: int
    written: int  # ns


def _ttl() -> float:
    return current_app.config["IMPORT_PENDING_TTL_SECONDS"]


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One writer at a time in the folder, across worker processes."""
    with (folder / _LOCK).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _sweep(folder: Path, ttl: float) -> list[_Stored]:
    """Remove stale previews and leftovers (call it holding the lock: no write is under way);
    the live previews, oldest first."""
    oldest_kept = time.time_ns() - int(ttl * 1e9)
    live = []
    for entry in os.scandir(folder):
        try:
            if entry.name.endswith(_LEFTOVERS):
                os.unlink(entry.path)
            elif match := _STORED.fullmatch(entry.name):
                stat = entry.stat()
                if stat.st_mtime_ns < oldest_kept:
                    os.unlink(entry.path)
                else:
                    path = Path(entry.path)
                    live.append(_Stored(path, int(match[1]), stat.st_size, stat.st_mtime_ns))
        except FileNotFoundError:  # discarded by a request meanwhile
            continue
    return sorted(live, key=lambda stored: (stored.written, stored.path.name))


def _make_room(folder: Path, account_id: int, size: int) -> None:
    config = current_app.config
    live = _sweep(folder, config["IMPORT_PENDING_TTL_SECONDS"])
    mine = [stored for stored in live if stored.account_id == account_id]
    doomed = mine[: max(0, len(mine) + 1 - config["IMPORT_PENDING_PER_ACCOUNT"])]
    others = [stored for stored in live if stored not in doomed]
    total = sum(stored.size for stored in others) + size
    for stored in others:  # oldest first, whoever's
        if total <= config["IMPORT_PENDING_TOTAL_BYTES"]:
            break
        doomed.append(stored)
        total -= stored.size
    for stored in doomed:
        stored.path.unlink(missing_ok=True)


def _write(path: Path, body: bytes) -> None:
    """Whole or not at all: a temporary file (owner-only) renamed over the name."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(body)
        now = time.time_ns()  # finer than the file system's clock: the order of writes
        os.utime(temporary, ns=(now, now))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
