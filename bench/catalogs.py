"""The databases the bench measures: the synthetic province catalog (generated once per size
and seed into bench/data/ and PostgreSQL catalog_bench_<size>_<seed>, then reused), the
Datasette copy of it, the seed catalog (for /reports/compare on the 199-item catalog), and the
decision catalog (the province with its 双公示 records: app-decisions-<size>-<seed>.sqlite3 and
catalog_bench_decisions_<size>)."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.servers import BIN, DATA, ROOT, SECRET, log

POSTGRES_SERVER = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
GENERATED_TABLES = ("approval_item", "legal_basis", "handling_item", "material", "fee",
                    "search_entry")  # fmt: skip
DECISION_TABLES = ("licence_decision", "penalty_decision")
PER_LICENCE = 20  # the decision catalog's licence decisions per licence handling item


def flask_cli(database_url: str, *args: str, timeout: int = 1800) -> str:
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": SECRET}
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, text=True,
        capture_output=True, timeout=timeout, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def upgrade(url: str) -> None:
    """Bring a reused catalog to the code's schema, and its report sums to its revision (the
    migration that adds them leaves a catalog with items to `report-sums rebuild`), and the
    双公示 report's figures likewise (migration 0039 fills them; a rebuild only if they miss
    decisions written around the service layer)."""
    flask_cli(url, "db", "upgrade")
    flask_cli(url, "report-sums", "rebuild", "--if-stale")
    flask_cli(url, "decisions", "sums", "rebuild", "--if-stale")  # 双公示 figures (0039 fills)


def decisions_until() -> date:
    """The last decision day of a generated decision catalog: today in 北京时间 (the day the
    app counts publication from), so that its penalties are still published when measured.
    (Until 2026-12-07 the catalog was decided in 2020, and on the run's day every penalty's
    publication had ended: the decision search measured licences alone.)"""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


# (SQL) a penalty published today: a decision catalog without one is generated again
PUBLISHED = ("EXISTS (SELECT 1 FROM penalty_decision WHERE publication_ends_on >= :today"
             " AND published_on <= :today)")  # fmt: skip


def sqlite_catalog(size: int, seed: int, generated: dict, *, decisions: bool = False) -> Path:
    path = DATA / (f"app-decisions-{size}-{seed}.sqlite3" if decisions else
                   f"app-{size}-{seed}.sqlite3")  # fmt: skip
    done = path.with_suffix(".done")
    if path.exists() and done.exists() and decisions and not _published(path):
        log(f"{path.name}: no penalty is published any more; generating it again")
        done.unlink()
    if path.exists() and done.exists():
        log(f"reusing {path.name}")
        upgrade(f"sqlite:///{path}")  # made by an older version, perhaps
        return path
    path.unlink(missing_ok=True)
    log(f"generating {size:,} handling items into {path.name}")
    label = "sqlite decisions" if decisions else "sqlite"
    generated[label, size] = generate(f"sqlite:///{path}", size, seed, decisions=decisions)
    done.touch()
    return path


def _published(path: Path) -> bool:
    """Whether a SQLite decision catalog still has a penalty in publication today."""
    with sqlite3.connect(path) as connection:
        statement = "SELECT " + PUBLISHED.replace(":today", "?")
        today = decisions_until().isoformat()
        return bool(connection.execute(statement, (today, today)).fetchone()[0])


def generate(url: str, size: int, seed: int, *, decisions: bool = False) -> dict:
    """Run generate-province; its rows a second: writing them (as the command reports it), and
    from the start of the command to its end (with the search indexes and statistics). The
    search catalogs have no decision records (measured on a catalog of their own)."""
    import sqlalchemy as sa

    flask_cli(url, "db", "upgrade")
    started = time.perf_counter()
    per_licence = PER_LICENCE if decisions else 0
    until = ["--decisions-until", decisions_until().isoformat()] if decisions else []
    summary = flask_cli(url, "generate-province", "--handling-items", str(size), "--seed",
                        str(seed), "--decisions-per-licence", str(per_licence), *until,
                        timeout=7200)  # fmt: skip
    summary = summary.strip().splitlines()[-1]
    seconds = time.perf_counter() - started
    engine = sa.create_engine(url)
    tables = GENERATED_TABLES + (DECISION_TABLES if decisions else ())
    with engine.connect() as connection:
        rows = sum(connection.scalar(sa.text(f"SELECT count(*) FROM {table}"))
                   for table in tables)  # fmt: skip
    engine.dispose()
    writing = re.search(r"写入 ([\d.]+) 秒", summary)
    log(f"generated in {seconds:.0f} s ({rows / seconds:,.0f} rows/s)")
    return {"rows": rows, "seconds": round(seconds, 1), "rows_per_s": round(rows / seconds),
            "writing_rows_per_s": round(rows / float(writing[1])) if writing else None,
            "summary": summary}  # fmt: skip


def datasette_copy(app_db: Path) -> Path:
    """The same handling items as one table with an FTS5 trigram index over the same text the
    app searches (item name and situation; materials, legal bases, codes), and a column for
    every filter the app offers."""
    path = app_db.with_name(app_db.stem + "-datasette-v2.sqlite3")
    if path.exists():
        return path
    log(f"building the Datasette database {path.name}")
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    connection = sqlite3.connect(partial)
    connection.executescript(f"""
        ATTACH DATABASE '{app_db}' AS app;
        CREATE TABLE handling_items AS
          SELECT h.id AS id, h.code AS code, a.code AS item_code, a.name AS item_name,
                 h.situation AS situation, a.item_type AS type, a.handling_unit AS unit,
                 h.case_type AS case_type, h.statutory_days AS statutory_days,
                 h.promised_days AS promised_days, h.visits AS visits,
                 h.charges_fee AS charges_fee, h.online_depth AS online_depth,
                 s.name AS name, s.body AS body
          FROM app.handling_item h JOIN app.approval_item a ON a.id = h.item_id
          JOIN app.search_entry s ON s.handling_item_id = h.id
          WHERE h.status = 'published' AND a.status = 'published';
        CREATE UNIQUE INDEX handling_items_id ON handling_items(id);
        CREATE INDEX handling_items_type ON handling_items(type);
        CREATE INDEX handling_items_unit ON handling_items(unit);
        CREATE VIRTUAL TABLE handling_items_fts USING fts5(
          name, body, content='handling_items', content_rowid='id', tokenize='trigram');
        INSERT INTO handling_items_fts(handling_items_fts) VALUES ('rebuild');
        DETACH DATABASE app;
        VACUUM;
    """)
    connection.close()
    partial.rename(path)
    return path


def _postgres_database(name: str, *, complete) -> tuple[str, bool]:
    """The URL of database `name`, and whether it already holds what `complete(url)` checks;
    an incomplete one is dropped and created empty."""
    import sqlalchemy as sa

    server = sa.make_url(POSTGRES_SERVER)
    url = server.set(database=name).render_as_string(hide_password=False)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.scalar(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if exists:
                engine = sa.create_engine(url)
                try:
                    with engine.connect() as check:
                        if complete(check):
                            return url, True
                except sa.exc.DBAPIError:
                    pass
                finally:
                    engine.dispose()
                connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return url, False


def catalog_complete(connection, size: int, *, decisions: bool = False) -> bool:
    """Whether a PostgreSQL catalog holds the generated province of `size` handling items (and
    decisions, written last in the same transaction). (Until 2026-12-06 the decisions' check
    was not valid SQL, so their catalog was dropped and generated again on every run.)"""
    import sqlalchemy as sa

    complete = "SELECT (SELECT count(*) FROM handling_item) = :size"
    if decisions:  # (and a penalty still published: decisions_until)
        complete += " AND EXISTS (SELECT 1 FROM licence_decision) AND " + PUBLISHED
    values = {"size": size, "today": decisions_until()}
    return bool(connection.scalar(sa.text(complete), values))


def postgres_catalog(size: int, seed: int, generated: dict, *, decisions: bool = False) -> str:

    name = f"catalog_bench_decisions_{size}" if decisions else f"catalog_bench_{size}_{seed}"
    url, reused = _postgres_database(
        name, complete=lambda connection: catalog_complete(connection, size, decisions=decisions)
    )
    if reused:
        log(f"reusing PostgreSQL database {name}")
        upgrade(url)
        return url
    log(f"generating {size:,} handling items into PostgreSQL {name}")
    label = "postgresql decisions" if decisions else "postgresql"
    generated[label, size] = generate(url, size, seed, decisions=decisions)
    return url


def seed_catalogs(with_postgres: bool) -> dict[str, str]:
    """The seed catalog (199 items and the 2020 snapshot `flask seed` freezes), once per
    database; rebuilt each run (seconds), as the schema may have moved."""
    path = DATA / "seed.sqlite3"
    path.unlink(missing_ok=True)
    urls = {"sqlite": f"sqlite:///{path}"}
    if with_postgres:
        urls["postgresql"], _reused = _postgres_database("catalog_bench_seed",
                                                          complete=lambda _c: False)  # fmt: skip
    for url in urls.values():
        flask_cli(url, "db", "upgrade")
        flask_cli(url, "seed")
    return urls


def settle(postgres_url: str | None) -> None:
    """Let the writing of a fresh catalog end before anything is timed: PostgreSQL's
    checkpoint and the kernel's write-back would otherwise run under the first measurements."""
    if postgres_url:
        import sqlalchemy as sa

        engine = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("CHECKPOINT")
        except sa.exc.DBAPIError as error:  # a role without pg_checkpoint: carry on
            log(f"no CHECKPOINT ({error.orig}); PostgreSQL writes in the background")
        finally:
            engine.dispose()
    os.sync()


READ_CHUNK = 8 << 20  # bytes read at a time by read_into_memory: its memory, whatever the file

# Every relation of the catalog (tables, indexes, materialized views), and the TOAST tables
# of its tables with their indexes.
_RELATIONS = """
SELECT c.oid FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
  AND c.relkind IN ('r', 'i', 'm')
UNION ALL
SELECT c.reltoastrelid FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
  AND c.relkind IN ('r', 'm') AND c.reltoastrelid <> 0
UNION ALL
SELECT i.indexrelid FROM pg_index i JOIN pg_class c ON c.reltoastrelid = i.indrelid
WHERE c.relnamespace = 'public'::regnamespace
"""


def read_into_memory(app_db: Path | None, postgres_url: str | None) -> dict:
    """Read every page of a catalog through the kernel, so that it sits in the page cache, as
    the catalog of a server in use does: the growth run does this to each size before timing
    it, so that the sizes compare the search and not the disk (this machine pages out what is
    idle for 60 s, and a catalog generated just before its rounds is in memory while one
    coming back after other stages is not). The SQLite file (and its WAL) is read in
    READ_CHUNK pieces; PostgreSQL's relations through pg_prewarm's 'read' mode, which fills
    the OS cache, not PostgreSQL's buffers (without the extension, `postgresql_blocks` is
    None and the run carries on). How much was read and how long it took."""
    started = time.perf_counter()
    read = 0
    for path in (app_db, Path(f"{app_db}-wal")) if app_db else ():
        if path.exists():
            with path.open("rb") as handle:
                while chunk := handle.read(READ_CHUNK):
                    read += len(chunk)
    blocks: int | None = 0
    if postgres_url:
        import sqlalchemy as sa

        engine = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
                blocks = int(connection.exec_driver_sql(
                    f"SELECT coalesce(sum(pg_prewarm(oid, 'read')), 0) FROM ({_RELATIONS}) r(oid)"
                ).scalar_one())  # fmt: skip
        except sa.exc.DBAPIError as error:  # no contrib package, or a role that may not create it
            log(f"no pg_prewarm ({error.orig}); PostgreSQL's catalog is timed as it is")
            blocks = None
        finally:
            engine.dispose()
    return {"sqlite_bytes": read, "postgresql_blocks": blocks,
            "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
