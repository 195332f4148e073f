"""SQLite: the backup API copies every page under one read lock, so a copy is consistent while
the app keeps writing, and a restore is the same copy the other way."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from catalog.backup.common import (
    LOCK_WAIT_SECONDS,
    BackupError,
    count_rows,
    schema_revision,
)


def sqlite_file(url: sa.URL) -> Path:
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupError("只能备份、恢复文件形式的 SQLite 数据库。")
    return Path(url.database)


def open_readonly(path: Path) -> sqlite3.Connection:
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=LOCK_WAIT_SECONDS)


@contextmanager
def readonly_connection(path: Path) -> Iterator[sa.Connection]:
    engine = sa.create_engine("sqlite://", creator=lambda: open_readonly(path), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def copy_sqlite(source: Path, target: Path) -> None:
    """Every page of `source` into `target` in one step, so the copy is one consistent state;
    waits at most LOCK_WAIT_SECONDS for the locks of other connections."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS

    def progress(status: int, _remaining: int, _total: int) -> None:
        waiting = status in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
        if waiting and time.monotonic() > deadline:
            raise BackupError(f"数据库被其他连接锁定超过 {LOCK_WAIT_SECONDS} 秒，未完成。")

    reader = open_readonly(source)
    try:
        writer = sqlite3.connect(target, timeout=LOCK_WAIT_SECONDS)
        try:
            reader.backup(writer, progress=progress)
        finally:
            writer.close()
    finally:
        reader.close()


def backup_sqlite(database: Path, part: Path) -> tuple[str, dict[str, int]]:
    if not database.is_file():
        raise BackupError(f"数据库文件 {database} 不存在，没有可备份的内容。")
    copy_sqlite(database, part)
    with readonly_connection(part) as connection:
        check = connection.exec_driver_sql("PRAGMA quick_check").scalar()
        if check != "ok":
            raise BackupError(f"备份副本校验未通过（{check}），未写入。")
        revision = schema_revision(connection)
        if revision is None:
            raise BackupError("数据库尚未初始化（没有 alembic_version 表），没有可备份的内容。")
        return revision, count_rows(connection)


def check_sqlite_backup(path: Path) -> str | None:
    """The backup's schema revision, once SQLite finds the file intact."""
    try:
        with readonly_connection(path) as connection:
            problems = connection.exec_driver_sql("PRAGMA integrity_check").scalars().all()
            if problems != ["ok"]:
                raise BackupError(f"备份文件已损坏（{'；'.join(problems[:3])}），未恢复。")
            return schema_revision(connection)
    except sa.exc.DBAPIError as exc:
        raise BackupError(f"备份文件已损坏，无法读取（{exc.orig}），未恢复。") from None


def sqlite_counts(database: Path) -> dict[str, int]:
    if not database.is_file():
        return {}
    with readonly_connection(database) as connection:
        return count_rows(connection)
