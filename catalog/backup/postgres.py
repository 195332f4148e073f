"""PostgreSQL: pg_dump's custom format, taken from a snapshot exported by the transaction that
counts the rows; a restore checks the dump's table of contents and runs pg_restore's script
in one transaction through psql."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from catalog.backup.common import (
    BackupError,
    count_rows,
    schema_revision,
)
from catalog.extensions import db


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
