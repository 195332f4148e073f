"""flask backup and flask restore."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_migrate import upgrade

from catalog.backup.common import (
    BACKENDS,
    BackupError,
    backup_kind,
    check_revision,
    count_rows,
    database_backend,
    describe,
    reported_errors,
    schema_revision,
    size_text,
    staged,
)
from catalog.backup.postgres import (
    backup_postgres,
    postgres_counts,
    read_dump,
    restore_postgres,
)
from catalog.backup.sqlite import (
    backup_sqlite,
    check_sqlite_backup,
    copy_sqlite,
    sqlite_counts,
    sqlite_file,
)
from catalog.extensions import db


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="覆盖已有的文件。")
@with_appcontext
def backup_command(file: Path, force: bool) -> None:
    """Write a consistent copy of the database to FILE while the app keeps running."""
    with reported_errors("备份失败"):
        backend = database_backend()
        if file.exists() and not force:
            raise BackupError(f"{file} 已存在，未覆盖（覆盖请加 --force）。")
        url = db.engine.url
        with staged(file, overwrite=force) as part:
            if backend == "sqlite":
                revision, counts = backup_sqlite(sqlite_file(url), part)
            else:
                revision, counts = backup_postgres(url, part)
        size = file.stat().st_size
    click.echo(
        f"已备份到 {file}（{BACKENDS[backend]}，{size_text(size)}，数据库版本 {revision}）："
        f"{describe(counts)}。"
    )


@click.command("restore")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--yes", is_flag=True, help="确认替换数据库中已有的数据。")
@with_appcontext
def restore_command(file: Path, yes: bool) -> None:
    """Replace the database with the backup FILE (checked first), then migrate it."""
    with reported_errors("恢复失败"), tempfile.TemporaryDirectory(prefix="restore-") as workdir:
        backend = database_backend()
        kind = backup_kind(file)
        if kind != backend:
            raise BackupError(
                f"{file} 是 {BACKENDS[kind]} 数据库的备份，当前数据库是 {BACKENDS[backend]}，"
                "不能跨数据库类型恢复，未恢复。"
            )
        url = db.engine.url
        if backend == "sqlite":
            database = sqlite_file(url)
            if database.exists() and os.path.samefile(file, database):
                raise BackupError(f"{file} 就是当前的数据库文件，未恢复。")
            revision = check_sqlite_backup(file)
        else:
            dump = read_dump(file, Path(workdir))
            revision = dump.revision
        check_revision(revision)

        current = sqlite_counts(database) if backend == "sqlite" else postgres_counts()
        if any(current.values()):
            if not yes:
                raise BackupError(
                    f"数据库中已有数据（{describe(current)}），恢复会把它们全部替换为备份的内容。"
                    "确认后加 --yes 再运行；未恢复。"
                )
            click.echo(f"将替换数据库中原有的数据：{describe(current)}。")

        if backend == "sqlite":
            db.engine.dispose()
            copy_sqlite(file, database)
        else:
            restore_postgres(url, dump)
        db.engine.dispose()
        try:
            upgrade()
        except Exception as exc:
            raise BackupError(
                f"已恢复备份（数据库版本 {revision}），但升级到当前数据库结构失败：{exc}。"
                "请排查后运行 flask --app wsgi db upgrade。"
            ) from None
        with db.engine.connect() as connection:
            head, counts = schema_revision(connection), count_rows(connection)
    upgraded = "" if head == revision else f"，已升级到 {head}"
    click.echo(f"已从 {file} 恢复（备份的数据库版本 {revision}{upgraded}）：{describe(counts)}。")
