"""Backup and restore as an operator runs them: `flask --app wsgi backup|restore` in a subprocess,
on a throw-away database of each backend."""

from __future__ import annotations

import csv
import hashlib
import os
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from alembic.script import ScriptDirectory

import catalog.models  # noqa: F401  (registers every table on the metadata)
from catalog.backup.postgres import libpq_connection
from catalog.extensions import db as _db
from catalog.search.synonyms import read_seed_synonyms
from tests.conftest import PROJECT_ROOT, make_app, temporary_postgres_database
from tests.test_cli import flask

PASSWORD = "tea garden under the bridge 1987\n"
HEAD = ScriptDirectory(str(PROJECT_ROOT / "migrations")).get_current_head()
# (a new snapshot's items are chunks; report_snapshot_item holds those of snapshots before 0025)
APPEND_ONLY = ("audit_event", "auth_event", "report_snapshot", "report_snapshot_chunk")
SEARCHES = ("网约车", "出租汽车", "证", "wyc")


def invoke(database_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """The same command in this process (much faster than a new interpreter): for the setup
    and the refusals; the operator's path itself runs through `flask` above."""
    app = make_app(database_url)
    try:
        result = app.test_cli_runner().invoke(args=list(args), input=stdin)
    finally:
        with app.app_context():
            _db.engine.dispose()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def refused(result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stdout + result.stderr


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request, tmp_path):
    """An empty database with no tables at all, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
        return
    with temporary_postgres_database("catalog_backup") as url:
        yield url


@contextmanager
def empty_database(like: str, tmp_path: Path) -> Iterator[str]:
    """Another empty database on the backend of `like`."""
    if like.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'drill.sqlite3'}"
        return
    with temporary_postgres_database("catalog_drill") as url:
        yield url


def table_rows(database_url: str) -> dict[str, list[tuple]]:
    """Every row of every table, ordered by primary key: the database as data."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = {
                table.name: [
                    tuple(row)
                    for row in connection.execute(
                        sa.select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for table in _db.metadata.sorted_tables
            }
            version = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            rows["alembic_version"] = [tuple(row) for row in version]
            return rows
    finally:
        engine.dispose()


def search_results(database_url: str) -> dict[str, list[str]]:
    app = make_app(database_url)
    try:
        client = app.test_client()
        return {
            query: [
                hit["code"]
                for hit in client.get(f"/api/v1/items?q={query}&limit=100").json["items"]
            ]
            for query in SEARCHES
        }
    finally:
        with app.app_context():
            _db.engine.dispose()


def edit_one_item_by_import(database_url: str, tmp_path: Path) -> None:
    """Change where the first item is handled, through export, a spreadsheet edit and import."""
    exported = tmp_path / "items.csv"
    ok(invoke(database_url, "export-items", "--output", str(exported)))
    with exported.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    first = rows[0]["事项编码"]
    for row in rows:
        if row["事项编码"] == first:
            row["办理地点"] = "许昌市政务服务中心三楼交通运输窗口"
    with exported.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    materials = tmp_path / "items-materials.csv"
    ok(invoke(database_url, "import-items", str(exported), "--materials", str(materials),
             "--publish"))  # fmt: skip


def store_a_file(database_url: str) -> None:
    """A stored 空白表格 (catalog.attachments): its bytes live in the database, so in backups."""
    from tests.attachment_files import pdf

    content = pdf("backup")
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.insert(_db.metadata.tables["attachment_blob"]).values(
                    sha256=hashlib.sha256(content).hexdigest(), media_type="application/pdf",
                    size=len(content), data=content, created_at=datetime.now(UTC),
                )
            )  # fmt: skip
    finally:
        engine.dispose()


def test_restore_returns_everything_to_the_moment_of_the_backup(fresh_database, tmp_path):
    url = fresh_database
    ok(invoke(url, "seed"))
    ok(invoke(url, "create-user", "wang", "--role", "editor", stdin=PASSWORD))
    ok(invoke(url, "create-user", "li_si", "--role", "reviewer", stdin=PASSWORD))
    ok(invoke(url, "disable-user", "wang"))
    ok(invoke(url, "snapshot", "create", "--label", "2021-06"))
    edit_one_item_by_import(url, tmp_path)
    store_a_file(url)
    at_backup = table_rows(url)
    searches = search_results(url)
    assert len(at_backup["approval_item"]) == 190 and len(at_backup["auth_event"]) == 3
    # the seed's 190 items and baseline, the snapshot, the import's draft, submit and publish,
    # the seed's unit windows (one event a unit) and starting synonyms (one event a pair), and
    # its modelled decision records (one event a record)
    seed = PROJECT_ROOT / "seed"
    windows = yaml.safe_load((seed / "units.yaml").read_text(encoding="utf-8"))["units"]
    decisions = yaml.safe_load((seed / "decisions.yaml").read_text(encoding="utf-8"))
    audited = (
        195 + len(windows) + len(read_seed_synonyms(seed / "synonyms.yaml"))
        + decisions["licence"]["total"] + decisions["penalty"]["total"]
    )  # fmt: skip
    assert len(at_backup["audit_event"]) == audited and len(at_backup["report_snapshot"]) == 2
    assert all(searches.values()), searches

    backup = tmp_path / "catalog.backup"
    made = ok(flask(url, "backup", str(backup)))
    assert (
        f"190 项审批事项，199 个业务办理项，{audited} 条审计记录，3 条登录日志，2 个快照，2 个账号"
        in (made.stdout)
    )
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600  # it holds the password hashes
    assert "1 个附件文件" in made.stdout
    counts = (decisions["licence"]["total"], decisions["penalty"]["total"])
    assert "{} 条许可决定，{} 条处罚决定".format(*counts) in made.stdout

    # The catalog, the audit trail, the sign-in log, the accounts and the snapshots move on.
    ok(invoke(url, "snapshot", "create", "--label", "2021-12"))
    ok(invoke(url, "disable-user", "li_si"))
    ok(invoke(url, "create-user", "zhao", "--role", "admin", stdin=PASSWORD))
    ok(invoke(url, "seed", "--force"))
    changed = table_rows(url)
    assert changed != at_backup

    not_confirmed = flask(url, "restore", str(backup))
    refused(not_confirmed, "--yes")
    assert "2 个快照" not in not_confirmed.stderr and "3 个快照，3 个账号" in not_confirmed.stderr
    assert table_rows(url) == changed

    restored = ok(flask(url, "restore", str(backup), "--yes"))
    assert "将替换数据库中原有的数据" in restored.stdout
    assert "2 个快照，2 个账号" in restored.stdout
    assert table_rows(url) == at_backup
    assert search_results(url) == searches
    # the report's kept sums came back with the rows and the revision they are right at
    assert "一致" in ok(invoke(url, "report-sums", "check")).stdout

    # A restore drill: the same backup into an empty database, which needs no --yes.
    with empty_database(url, tmp_path) as drill:
        ok(invoke(drill, "restore", str(backup)))
        assert table_rows(drill) == at_backup

    # The restored logs and snapshots are still append-only in the database itself.
    engine = sa.create_engine(url)
    try:
        for table in APPEND_ONLY:
            with pytest.raises(sa.exc.DBAPIError), engine.begin() as connection:
                connection.exec_driver_sql(f"DELETE FROM {table}")
    finally:
        engine.dispose()


def test_an_older_backup_is_migrated_to_the_current_schema(fresh_database, tmp_path):
    url = fresh_database
    ok(invoke(url, "db", "upgrade", "0004"))  # before the sign-in log and the snapshots
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO user_account (username, password_hash, role, active,"
                    " session_version, created_at) VALUES ('lao', 'x', 'editor', :yes, 1, :now)"
                ),
                {"yes": True, "now": datetime(2021, 3, 1, tzinfo=UTC)},
            )
    finally:
        engine.dispose()
    old = tmp_path / "old.backup"
    made = ok(invoke(url, "backup", str(old)))
    assert "数据库版本 0004" in made.stdout and "1 个账号" in made.stdout

    ok(invoke(url, "seed"))  # migrates to the head and fills every table
    restored = ok(flask(url, "restore", str(old), "--yes"))
    assert f"备份的数据库版本 0004，已升级到 {HEAD}" in restored.stdout

    rows = table_rows(url)
    assert rows["alembic_version"] == [(HEAD,)]
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            accounts = connection.exec_driver_sql(
                "SELECT username, must_change_password FROM user_account"
            ).all()
    finally:
        engine.dispose()
    assert [tuple(account) for account in accounts] == [("lao", False)]
    for table in ("approval_item", "audit_event", "auth_event", "report_snapshot"):
        assert rows[table] == [], table
    assert "新增 190 项" in ok(invoke(url, "seed")).stdout


def test_bad_and_foreign_files_are_refused_before_anything_is_touched(fresh_database, tmp_path):
    url = fresh_database
    backend = sa.make_url(url).get_backend_name()
    ok(invoke(url, "create-user", "wang", "--role", "editor", stdin=PASSWORD))
    good = tmp_path / "good.backup"
    ok(invoke(url, "backup", str(good)))
    data = good.read_bytes()

    other_sqlite = tmp_path / "other.sqlite3"
    with sqlite3.connect(other_sqlite) as connection:
        connection.execute("CREATE TABLE note (text)")
    unknown = tmp_path / "unknown.backup"
    if backend == "sqlite":
        unknown.write_bytes(data)
        with sqlite3.connect(unknown) as connection:
            connection.execute("UPDATE alembic_version SET version_num = 'ffff0000'")
    else:
        engine = sa.create_engine(url)
        try:
            with engine.begin() as connection:
                connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffff0000'")
            ok(invoke(url, "backup", str(unknown)))
            with engine.begin() as connection:
                connection.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{HEAD}'")
        finally:
            engine.dispose()
    before = table_rows(url)

    cases = {
        "random": (os.urandom(8192), "不是本系统的备份文件"),
        "empty": (b"", "不是本系统的备份文件"),
        "truncated": (data[: len(data) // 2], "已损坏"),
        "unknown revision": (unknown.read_bytes(), "ffff0000 不是本程序认识的版本"),
    }
    if backend == "sqlite":
        cases["damaged pages"] = (data[:8192] + os.urandom(len(data) - 8192), "已损坏")
        cases["not ours"] = (other_sqlite.read_bytes(), "不是本系统的备份")
        cases["from postgresql"] = (b"PGDMP" + os.urandom(4096), "是 PostgreSQL 数据库的备份")
    else:
        cases["damaged"] = (b"PGDMP" + os.urandom(4096), "无法读取")
        cases["from sqlite"] = (other_sqlite.read_bytes(), "是 SQLite 数据库的备份")
    for name, (content, message) in cases.items():
        path = tmp_path / "candidate.backup"
        path.write_bytes(content)
        result = invoke(url, "restore", str(path), "--yes")
        assert result.returncode == 1, name
        refused(result, message)
    refused(invoke(url, "restore", str(tmp_path / "missing.backup")), "找不到备份文件")
    if backend == "sqlite":
        database = sa.make_url(url).database
        refused(invoke(url, "restore", database, "--yes"), "就是当前的数据库文件")
    assert table_rows(url) == before


def test_backup_never_overwrites_without_force_nor_leaves_a_partial_file(fresh_database, tmp_path):
    url = fresh_database
    folder = tmp_path / "backups"
    folder.mkdir()
    target = folder / "catalog.backup"
    refused(invoke(url, "backup", str(target)), "没有可备份的内容")  # nothing migrated yet
    assert list(folder.iterdir()) == []

    ok(invoke(url, "create-user", "wang", "--role", "editor", stdin=PASSWORD))
    ok(invoke(url, "backup", str(target)))
    first = target.read_bytes()
    ok(invoke(url, "create-user", "li_si", "--role", "editor", stdin=PASSWORD))
    refused(invoke(url, "backup", str(target)), "已存在，未覆盖（覆盖请加 --force）")
    assert target.read_bytes() == first
    forced = ok(invoke(url, "backup", str(target), "--force"))
    assert "2 个账号" in forced.stdout and target.read_bytes() != first
    refused(invoke(url, "backup", str(tmp_path / "nowhere" / "x.backup")), "不存在")
    assert [path.name for path in folder.iterdir()] == ["catalog.backup"]


def test_a_failing_or_missing_pg_dump_leaves_no_file(tmp_path, monkeypatch):
    with temporary_postgres_database("catalog_backup") as url:
        ok(invoke(url, "create-user", "wang", "--role", "editor", stdin=PASSWORD))
        fake = tmp_path / "bin"
        fake.mkdir()
        pg_dump = fake / "pg_dump"
        pg_dump.write_text(
            '#!/bin/sh\nfor a; do case "$a" in --file=*) echo half > "${a#--file=}";; esac; done\n'
            'echo "pg_dump: error: connection lost" >&2\nexit 1\n'
        )
        pg_dump.chmod(0o755)
        folder = tmp_path / "backups"
        folder.mkdir()
        target = folder / "catalog.backup"
        monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
        failed = invoke(url, "backup", str(target))
        refused(failed, "pg_dump 失败，未写入备份：pg_dump: error: connection lost")
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
        missing = invoke(url, "backup", str(target))
        refused(missing, "找不到 pg_dump：请安装 PostgreSQL 客户端")
        assert list(folder.iterdir()) == []


def test_sqlite_backup_while_another_connection_is_writing(tmp_path):
    database = tmp_path / "catalog.sqlite3"
    url = f"sqlite:///{database}"
    ok(invoke(url, "create-user", "wang", "--role", "editor", stdin=PASSWORD))
    writer = sqlite3.connect(database, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute(
            "INSERT INTO user_account (username, password_hash, role, active, session_version,"
            " created_at, must_change_password) VALUES ('uncommitted', 'x', 'editor', 1, 1,"
            " '2021-03-01 00:00:00', 0)"
        )
        made = flask(url, "backup", str(tmp_path / "copy.sqlite3"))
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    ok(made)
    assert "1 个账号" in made.stdout
    with sqlite3.connect(tmp_path / "copy.sqlite3") as copy:
        assert copy.execute("SELECT username FROM user_account").fetchall() == [("wang",)]
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_the_password_stays_off_the_command_line():
    conninfo, env = libpq_connection(
        sa.make_url("postgresql+psycopg://app:s3cr%27t@db.example:5433/catalog?sslmode=require")
    )
    assert conninfo == (
        "dbname='catalog' host='db.example' port='5433' user='app' sslmode='require'"
    )
    assert env["PGPASSWORD"] == "s3cr't"
    assert "s3cr" not in conninfo
