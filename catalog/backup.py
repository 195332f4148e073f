"""Backup and restore: a consistent copy of the running database, and putting one back.

SQLite: the sqlite3 backup API copies every page under one read lock, so the copy is consistent
while the app keeps writing. PostgreSQL: pg_dump's custom format, taken from a snapshot exported
by the transaction that counts the rows, so the counts printed are those of the file. A restore
checks the whole file before the database is touched, replaces the database in one step (the
backup API; psql running pg_restore's script in a single transaction) and then migrates it to
the current schema.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import click
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from sqlalchemy.pool import NullPool

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
)


class BackupError(Exception):
    """A refusal or a failure, worded for the operator."""


# --- shared -----------------------------------------------------------------------------------


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


# --- SQLite -----------------------------------------------------------------------------------


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


# --- PostgreSQL -------------------------------------------------------------------------------


def libpq_connection(url: sa.URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string for pg_dump, pg_restore and psql, and their environment: a
    password goes into PGPASSWORD, never onto the command line where `ps` shows it."""
    params: dict[str, object] = {
        "dbname": url.database,
        "host": url.host,
        "port": url.port,
        "user": url.username,
    }
    for key, value in url.query.items():
        params[key] = value if isinstance(value, str) else value[-1]
    password = params.pop("password", None) or url.password
    conninfo = " ".join(
        f"{key}={_conninfo_value(value)}"
        for key, value in params.items()
        if value not in (None, "")
    )
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = str(password)
    return conninfo, env


def _conninfo_value(value: object) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def run_tool(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            args, env=env, capture_output=True, text=True, errors="replace", check=False
        )
    except FileNotFoundError:
        raise BackupError(
            f"找不到 {args[0]}：请安装 PostgreSQL 客户端（apt-get install postgresql-client），"
            "其版本不低于数据库服务器的版本。"
        ) from None


def tool_output(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    return "；".join(lines[-3:]) or f"退出码 {result.returncode}"


def backup_postgres(url: sa.URL, part: Path) -> tuple[str, dict[str, int]]:
    conninfo, env = libpq_connection(url)
    with db.engine.connect() as connection:
        connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            revision = schema_revision(connection)
            if revision is None:
                raise BackupError("数据库尚未初始化（没有 alembic_version 表），没有可备份的内容。")
            snapshot = connection.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
            counts = count_rows(connection)
            dumped = run_tool(
                ["pg_dump", "--format=custom", "--no-password", f"--snapshot={snapshot}",
                 f"--file={part}", f"--dbname={conninfo}"],
                env,
            )  # fmt: skip
    if dumped.returncode != 0:
        raise BackupError(f"pg_dump 失败，未写入备份：{tool_output(dumped)}")
    listed = run_tool(["pg_restore", "--list", str(part)])
    if listed.returncode != 0:
        raise BackupError(f"pg_dump 写出的文件无法读取，未写入备份：{tool_output(listed)}")
    return revision, counts


TOC_OBJECT = re.compile(r"^\d+; \d+ \d+ (TABLE|FUNCTION) (?!DATA )(\S+) ([^\s(]+)")
TOC_EXTENSION = re.compile(r"^\d+; \d+ \d+ (?:EXTENSION - (\S+)|COMMENT - EXTENSION )")
COPY_REVISION = re.compile(r"^COPY (\S+\.)?alembic_version \(version_num\) FROM stdin;$")


@dataclass
class Dump:
    """What a pg_dump file holds, and the SQL that restores it (written by pg_restore)."""

    script: Path
    revision: str | None = None
    tables: set[tuple[str, str]] = field(default_factory=set)
    functions: set[tuple[str, str]] = field(default_factory=set)
    extensions: list[str] = field(default_factory=list)


def read_dump(path: Path, workdir: Path) -> Dump:
    """Read the whole dump into a restore script: a damaged file fails here, untouched."""
    listed = run_tool(["pg_restore", "--list", str(path)])
    if listed.returncode != 0:
        raise BackupError(f"备份文件无法读取，可能已损坏（{tool_output(listed)}），未恢复。")
    dump = Dump(script=workdir / "restore.sql")
    entries = []
    for line in listed.stdout.splitlines():
        if match := TOC_OBJECT.match(line):
            target = dump.tables if match[1] == "TABLE" else dump.functions
            target.add((match[2], match[3]))
        if match := TOC_EXTENSION.match(line):
            # Extensions are created if missing, never dropped: they may belong to another role.
            if match[1]:
                dump.extensions.append(match[1])
            line = ";" + line
        entries.append(line)
    (workdir / "restore.list").write_text("\n".join(entries) + "\n", encoding="utf-8")
    written = run_tool(
        ["pg_restore", "--clean", "--if-exists", "--no-owner",
         f"--use-list={workdir / 'restore.list'}", f"--file={dump.script}", str(path)]
    )  # fmt: skip
    if written.returncode != 0:
        raise BackupError(f"备份文件已损坏，无法完整读取（{tool_output(written)}），未恢复。")
    with dump.script.open(encoding="utf-8", errors="replace") as script:
        for line in script:
            if COPY_REVISION.match(line.rstrip("\n")):
                value = next(script, "").rstrip("\n")
                dump.revision = None if value == "\\." else value
                break
    return dump


def restore_postgres(url: sa.URL, dump: Dump) -> None:
    """Run the dump's script in one transaction, after dropping the tables and functions the
    dump does not have (a newer schema's), so that the migrations can add them back."""
    schemas = sorted({schema for schema, _name in dump.tables})
    with db.engine.connect() as connection:
        tables = connection.execute(
            sa.text(
                "SELECT schemaname, tablename, format('%I.%I', schemaname, tablename)"
                " FROM pg_tables WHERE schemaname = ANY(:schemas)"
            ),
            {"schemas": schemas},
        ).all()
        functions = connection.execute(
            sa.text(
                "SELECT n.nspname, p.proname, format('%I.%I(%s)', n.nspname, p.proname,"
                " pg_get_function_identity_arguments(p.oid))"
                " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                " WHERE n.nspname = ANY(:schemas) AND p.prokind = 'f' AND NOT EXISTS ("
                "  SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass"
                "  AND d.objid = p.oid AND d.deptype = 'e')"
            ),
            {"schemas": schemas},
        ).all()
    db.engine.dispose()
    prologue = [f'CREATE EXTENSION IF NOT EXISTS "{name}";' for name in dump.extensions]
    prologue += [
        f"DROP TABLE IF EXISTS {qualified} CASCADE;"
        for schema, name, qualified in tables
        if (schema, name) not in dump.tables
    ]
    prologue += [
        f"DROP FUNCTION IF EXISTS {signature} CASCADE;"
        for schema, name, signature in functions
        if (schema, name) not in dump.functions
    ]
    conninfo, env = libpq_connection(url)
    command = ["psql", "--no-psqlrc", "--quiet", "--no-password", "--single-transaction",
               "--set=ON_ERROR_STOP=1", f"--dbname={conninfo}"]  # fmt: skip
    if prologue:
        command += ["--command", "\n".join(prologue)]
    restored = run_tool([*command, "--file", str(dump.script)], env)
    if restored.returncode != 0:
        raise BackupError(f"恢复失败，数据库未做任何修改（已整体回滚）：{tool_output(restored)}")


def postgres_counts() -> dict[str, int]:
    with db.engine.connect() as connection:
        return count_rows(connection)


# --- commands ---------------------------------------------------------------------------------


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
