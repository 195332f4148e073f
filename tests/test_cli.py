"""The commands as an operator runs them: `flask --app wsgi ...` on a fresh database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from catalog.ratios import figures_from_facts
from tests.conftest import PROJECT_ROOT, temporary_postgres_database
from tests.test_seed_catalog import PUBLISHED_BY_TYPE, facts_from_files


def flask(
    database_url: str, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`flask --app wsgi ARGS` as an operator runs it, on `database_url` (and `env`)."""
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "cli-test", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=PROJECT_ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request, tmp_path):
    """An empty database with no tables at all, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    with temporary_postgres_database("catalog_cli") as url:
        yield url


def test_report_seed_report_on_a_fresh_database(fresh_database):
    empty = flask(fresh_database, "report", "--format", "json")
    assert empty.returncode == 1
    assert "没有可统计的数据" in empty.stderr
    assert "Traceback" not in empty.stderr + empty.stdout

    seeded = flask(fresh_database, "seed")
    assert seeded.returncode == 0, seeded.stderr
    assert "新增 190 项" in seeded.stdout
    assert "已载入同义词" in seeded.stdout  # the starting synonym list (search learning)

    again = flask(fresh_database, "seed")
    assert again.returncode == 0
    assert "未做修改" in again.stdout
    assert "同义词" not in again.stdout  # loaded once, never again

    report = flask(fresh_database, "report", "--format", "json")
    assert report.returncode == 0, report.stderr
    document = json.loads(report.stdout)
    reference = figures_from_facts(*facts_from_files(PROJECT_ROOT / "seed"))
    assert document["items"] == {
        "total": 190,
        "by_type": {item_type.value: count for item_type, count in PUBLISHED_BY_TYPE.items()},
    }
    assert document["handling_items"]["total"] == 199
    assert document["no_visit"] == {"count": 181, "total": 199, "percent": 90.95}
    assert document["instant"] == {"count": 105, "total": 199, "percent": 52.76}
    assert document["compression"]["percent"] == 87.69
    assert document["compression"]["statutory_days"] == reference.statutory_days
    assert document["compression"]["promised_days"] == reference.promised_days

    text = flask(fresh_database, "report", "--format", "text")
    assert text.returncode == 0
    assert "不见面审批占比：181 / 199 = 90.95%" in text.stdout
    assert "时限压缩比" in text.stdout and "87.69%" in text.stdout


def test_report_format_is_checked(fresh_database):
    result = flask(fresh_database, "report", "--format", "pdf")
    assert result.returncode == 2
    assert "Invalid value for '--format'" in result.stderr


def test_migrations_upgrade_and_downgrade_cleanly(fresh_database):
    assert flask(fresh_database, "db", "upgrade").returncode == 0
    downgrade = flask(fresh_database, "db", "downgrade", "base")
    assert downgrade.returncode == 0, downgrade.stderr
    engine = sa.create_engine(fresh_database)
    try:
        assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    assert flask(fresh_database, "db", "upgrade").returncode == 0


def test_migrations_are_not_cut_short_by_the_apps_statement_timeout():
    # The app cancels a PostgreSQL statement after DATABASE_STATEMENT_TIMEOUT (meant for
    # requests); building an index over a province's catalog takes minutes. Here a migration's
    # first statement waits for a lock held 6 s (past the start of flask), far past the app's
    # 0.5 s, and must still succeed.
    with temporary_postgres_database("catalog_migrate") as url:
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"
            )
        locker = engine.connect()
        locker.exec_driver_sql("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE")
        release = threading.Timer(6.0, locker.rollback)
        release.start()
        try:
            upgrade = flask(url, "db", "upgrade", env={"DATABASE_STATEMENT_TIMEOUT": "0.5"})
        finally:
            release.join()
            locker.close()
            engine.dispose()
        assert upgrade.returncode == 0, upgrade.stderr[-2000:]


def test_models_and_migrations_agree(fresh_database):
    """`flask db check` fails when a model change has no migration."""
    assert flask(fresh_database, "db", "upgrade").returncode == 0
    check = flask(fresh_database, "db", "check")
    assert check.returncode == 0, check.stdout + check.stderr


def test_project_root_has_the_design_card_layout():
    for name in (
        "wsgi.py",
        "config.py",
        "catalog",
        "templates",
        "seed",
        "tests",
        "README.md",
        "pyproject.toml",
        "Makefile",
        "migrations",
        ".ci/run",
    ):
        assert (Path(PROJECT_ROOT) / name).exists(), name


def test_report_exports_and_snapshots_from_the_command_line(fresh_database, tmp_path):
    from openpyxl import load_workbook

    seeded = flask(fresh_database, "seed")
    assert "已生成基线快照 2020" in seeded.stdout
    made = flask(fresh_database, "snapshot", "create", "--label", "2021-06", "--note", "半年")
    assert made.returncode == 0 and "已生成快照 2021-06" in made.stdout
    again = flask(fresh_database, "snapshot", "create", "--label", "2021-06")
    assert again.returncode == 1 and "已有名为 2021-06 的快照" in again.stderr
    listed = flask(fresh_database, "snapshot", "list").stdout.splitlines()
    assert [line.split("\t")[0] for line in listed] == ["2020", "2021-06"]

    workbook = tmp_path / "report.xlsx"
    written = flask(fresh_database, "report", "--format", "xlsx", "--output", str(workbook),
                    "--snapshot", "2020")  # fmt: skip
    assert written.returncode == 0, written.stderr
    summary = load_workbook(workbook, read_only=True)["汇总"]
    rows = {row[0]: row[1:3] for row in summary.iter_rows(values_only=True) if row and row[0]}
    assert rows["不见面审批占比"] == (181, 199)
    csv_text = flask(fresh_database, "report", "--format", "csv").stdout
    assert "全部,全部,即办件占比,105,199,52.76" in csv_text
    missing = flask(fresh_database, "report", "--snapshot", "1999")
    assert missing.returncode == 1 and "没有名为 1999 的快照" in missing.stderr
    no_file = flask(fresh_database, "report", "--format", "xlsx")
    assert no_file.returncode == 2 and "--output" in no_file.stderr


def test_reindex_after_a_change_by_hand_gives_the_report_of_the_changed_catalog(fresh_database):
    """A change written with SQL, not through the app, starts no catalog revision: the report
    stored for the current one is still served. `reindex` starts a new revision, so the report
    (and every worker's cached searches) is computed again from the tables."""
    assert flask(fresh_database, "seed").returncode == 0

    def no_visit() -> dict:
        report = flask(fresh_database, "report", "--format", "json")
        assert report.returncode == 0, report.stderr
        return json.loads(report.stdout)["no_visit"]

    assert no_visit()["count"] == 181  # computed, and stored for the revision
    engine = sa.create_engine(fresh_database)
    with engine.begin() as connection:
        changed = connection.execute(sa.text(
            "UPDATE handling_item SET visits = 1, visit_reason = '核验原件' WHERE code = ("
            "SELECT min(code) FROM handling_item WHERE visits = 0 AND status = 'published')"
        )).rowcount  # fmt: skip
    engine.dispose()
    assert changed == 1
    reindexed = flask(fresh_database, "reindex")
    assert reindexed.returncode == 0, reindexed.stderr
    assert no_visit() == {"count": 180, "total": 199, "percent": 90.45}


@pytest.mark.parametrize("server", ["", "gunicorn/23.0.0"])
def test_only_a_gunicorn_worker_loads_the_pinyin_dictionary_at_start(server, tmp_path):
    """pypinyin's dictionaries take 0.3 s to load: a `flask` command that indexes no name
    (report, snapshot, db, backup) does not load them; a gunicorn worker does, before its first
    request, as a search reads them (the synonyms' spellings). The worker then freezes what it
    has made (gc.freeze): hundreds of thousands of objects a full collection no longer scans."""
    code = "import gc, sys, wsgi; print('pypinyin' in sys.modules, gc.get_freeze_count())"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'start.sqlite3'}",
           "SECRET_KEY": "cli-test", "SERVER_SOFTWARE": server}  # fmt: skip
    started = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env,
                             capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert started.returncode == 0, started.stderr
    loaded, frozen = started.stdout.split()
    assert loaded == str(bool(server))
    assert (int(frozen) > 100_000) if server else int(frozen) == 0
