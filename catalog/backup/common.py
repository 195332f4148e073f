"""What backup and restore share: the counted tables, the checks of a file and of its schema
revision, staging a file, and the operator's messages."""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import current_app

from catalog.extensions import db

SQLITE_HEADER = b"SQLite format 3\x00"
PG_DUMP_HEADER = b"PGDMP"
BACKENDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
LOCK_WAIT_SECONDS = 60  # how long a copy waits for another connection's lock

# What backup and restore report, and what makes a database "have data".
COUNTED = (
    ("approval_item", "项审批事项"),
    ("handling_item", "个业务办理项"),
    ("audit_event", "条审计记录"),
    ("auth_event", "条登录日志"),
    ("report_snapshot", "个快照"),
    ("user_account", "个账号"),
    ("attachment_blob", "个附件文件"),  # 空白表格 / 示例样表 (catalog.attachments)
    ("licence_decision", "条许可决定"),  # 双公示 (catalog.decisions)
    ("penalty_decision", "条处罚决定"),
)


class BackupError(Exception):
    """A refusal or a failure, worded for the operator."""


def count_rows(connection: sa.Connection) -> dict[str, int]:
    """Rows in each counted table that exists (an older schema lacks some)."""
    existing = set(sa.inspect(connection).get_table_names())
    return {
        table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
        for table, _label in COUNTED
        if table in existing
    }


def describe(counts: dict[str, int]) -> str:
    return "，".join(f"{counts[table]} {label}" for table, label in COUNTED if table in counts)


def schema_revision(connection: sa.Connection) -> str | None:
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def check_revision(revision: str | None) -> None:
    """Refuse a backup without a schema revision, or at one these migrations do not know."""
    if revision is None:
        raise BackupError("备份中没有数据库版本（alembic_version 表），不是本系统的备份，未恢复。")
    scripts = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    if revision not in {script.revision for script in scripts.walk_revisions()}:
        raise BackupError(
            f"备份的数据库版本 {revision} 不是本程序认识的版本（本程序最新为 "
            f"{scripts.get_current_head()}），可能来自更新的程序，未恢复。"
        )


def database_backend() -> str:
    backend = db.engine.dialect.name
    if backend not in BACKENDS:
        raise BackupError(f"不支持备份、恢复 {backend} 数据库（只支持 SQLite 和 PostgreSQL）。")
    return backend


def backup_kind(path: Path) -> str:
    """'sqlite' or 'postgresql', from the file's first bytes."""
    if not path.is_file():
        raise BackupError(f"找不到备份文件 {path}。")
    with path.open("rb") as handle:
        head = handle.read(len(SQLITE_HEADER))
    if head.startswith(SQLITE_HEADER):
        return "sqlite"
    if head.startswith(PG_DUMP_HEADER):
        return "postgresql"
    raise BackupError(
        f"{path} 不是本系统的备份文件（既不是 SQLite 数据库，也不是 pg_dump 自定义格式），未恢复。"
    )


def size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    return f"{size / 1024:.1f} KB" if size >= 1024 else f"{size} 字节"


@contextmanager
def staged(target: Path, overwrite: bool) -> Iterator[Path]:
    """A temporary file next to `target` (mode 0600), renamed onto it only if the block succeeds:
    a failed or interrupted backup never leaves a partial file."""
    if not target.parent.is_dir():
        raise BackupError(f"目录 {target.parent} 不存在，未备份。")
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(handle)
    part = Path(name)
    try:
        yield part
        with part.open("rb") as written:
            os.fsync(written.fileno())
        if overwrite:
            os.replace(part, target)
        else:
            try:
                os.link(part, target)  # fails if the target appeared meanwhile: never clobber
            except FileExistsError:
                raise BackupError(f"{target} 已存在，未覆盖（覆盖请加 --force）。") from None
        _fsync_directory(target.parent)
    finally:
        part.unlink(missing_ok=True)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX)."""
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


@contextmanager
def reported_errors(action: str) -> Iterator[None]:
    """A refusal or failure becomes one Chinese line on stderr and exit status 1."""
    try:
        yield
    except BackupError as exc:
        message = str(exc)
    except sa.exc.DBAPIError as exc:
        message = f"{action}：数据库出错：{exc.orig}"
    except (OSError, sqlite3.Error, sa.exc.SQLAlchemyError) as exc:
        message = f"{action}：{exc}"
    else:
        return
    click.echo(message, err=True)
    sys.exit(1)
