"""The decision search stage of `make bench` (issue 24 part 8): searching an organisation's name
or credit code among about 1,000,000 双公示 decisions, alone and with the list's filters, and the
list filtered without words, on SQLite and PostgreSQL, each distinct query sent once through the
app as deployed (gunicorn, one worker, deploy/gunicorn.conf.py), p95 per class against 50 ms.
`BENCH_DECISIONS_ONLY=1 make bench` runs this stage alone (docs/benchmark.md).

The catalog is the synthetic province with its decisions (generate-province with 20 licence
decisions per licence handling item, penalties in the 2020 proportion, decided in the year up to
the day it is generated so that its penalties are published), generated once into
bench/data/app-decisions-<size>-<seed>.sqlite3 and PostgreSQL catalog_bench_decisions_<size>,
then reused.
"""

from __future__ import annotations

import argparse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from bench import decision_report, rounds
from bench.catalogs import postgres_catalog, settle, sqlite_catalog
from bench.decision_queries import (
    CLASSES,
    DecisionQuery,
    generate_decision_queries,
    read_decisions,
    read_parties,
)
from bench.decision_report import DecisionEditor
from bench.judge import judged
from bench.servers import gunicorn, log, serving

# Untimed before the rounds: the worker's imports, its first statements, the page cache.
WARM_UP = [DecisionQuery(word) for word in ("有限公司", "许昌市", "货运部", "91411000MA", "宏达")]


def _each_once(port: int, queries: list[DecisionQuery], time_limit: float) -> dict:
    """Every query once from one keep-alive client (one citizen), in order; bounded in time."""
    return rounds.each_once(port, [query.app_path() for query in queries], time_limit)


def decision_catalogs(size: int, seed: int, with_postgres: bool, generated: dict):
    """The SQLite and PostgreSQL decision catalogs, generated side by side when missing."""
    with ThreadPoolExecutor(max_workers=1) as background:
        postgres = (
            background.submit(postgres_catalog, size, seed, generated, decisions=True)
            if with_postgres
            else None
        )
        app_db = sqlite_catalog(size, seed, generated, decisions=True)
        postgres_url = postgres.result() if postgres else None
    settle(postgres_url)
    return app_db, postgres_url


def decision_search(options: argparse.Namespace, generated: dict) -> tuple[dict, list[dict]]:
    """The stage: its section of the results and its judged rows (kind decision_search)."""
    size = options.decision_handling_items
    app_db, postgres_url = decision_catalogs(size, options.seed, not options.skip_postgres,
                                             generated)  # fmt: skip
    decisions = read_decisions(app_db)
    queries = generate_decision_queries(read_parties(app_db), options.seed,
                                        options.decision_queries, decisions)  # fmt: skip
    # the report's year: the one most decisions were taken in (those of the year up to the day
    # the catalog was generated: bench.catalogs.decisions_until)
    year = Counter(row.year for row in decisions).most_common(1)[0][0] if decisions else None
    section: dict = {"handling_items": size, "report_year": year,
                     "queries": {n: len(q) for n, q in queries.items()},
                     "examples": {n: [q.label for q in found[:3]] for n, found in
                                  queries.items()}}  # fmt: skip
    rows: list[dict] = []
    for database, url in (("sqlite", f"sqlite:///{app_db}"), ("postgresql", postgres_url)):
        if url is None:
            continue
        log(f"decisions: {database}, starting the app")
        with serving(gunicorn(f"app-decisions-{database}", url)) as (app,):
            _each_once(app.port, WARM_UP, 120)
            runs = {}
            for name in CLASSES:
                log(f"decisions: {database}, {name} ({len(queries[name])} queries)")
                runs[name] = run = _each_once(app.port, queries[name], options.class_time_limit)
                rows.append(judged(f"decision search p95 {name} ({database}) ms", run["p95"],
                                   "decision_search_p95_ms", kind="decision_search",
                                   database=database, cache="distinct", errors=run["errors"],
                                   n=run["n"], p50=run["p50"]))  # fmt: skip
            section[database] = {"distinct": runs}
            if year is not None:
                section[database].update(_report_rounds(database, url, app.port, year, options,
                                                        rows))  # fmt: skip
            section[database]["memory_mb"] = app.peak_memory_mb()
    return section, rows


def _report_rounds(database: str, url: str, port: int, year: int, options: argparse.Namespace,
                   rows: list[dict]) -> dict:  # fmt: skip
    """The 双公示 report after a decision change, then two snapshots and their comparison
    (bench/decision_report.py); their part of the section, their judged rows added to `rows`."""
    editor = DecisionEditor(url, year)
    log(f"decisions: {database}, {options.changes} decision changes, then the first report")
    changed = decision_report.after_change(port, editor, options.changes)
    for name, label in (("page", "page"), ("api", "GET /api/v1/report")):
        worst = max(changed[f"{name}_ms"], default=None)
        rows.append(judged(f"first 双公示 report {label} after a decision change ({database}, "
                           f"{year}, worst of {len(changed[f'{name}_ms'])}) ms", worst,
                           "report_after_change_ms", kind="report_after_change",
                           database=database, cache="distinct", errors=changed["errors"],
                           all_ms=changed[f"{name}_ms"]))  # fmt: skip
    log(f"decisions: {database}, two snapshots with the decision figures and their comparison")
    made = rounds.snapshots(url, port, editor, timeout=300)
    worst = None if None in made["snapshot_s"] else max(made["snapshot_s"], default=None)
    rows.append(judged(f"snapshot creation with decisions ({database}, worst of 2) s", worst,
                       "snapshot_s", kind="snapshot", database=database, cache="distinct",
                       all_s=made["snapshot_s"]))  # fmt: skip
    rows.append(judged(f"comparing two snapshots with decisions ({database}, first request) s",
                       made["compare_s"], "compare_snapshots_s", kind="compare",
                       database=database, cache="distinct", errors=made["errors"]))  # fmt: skip
    return {"report_after_change": changed, "snapshots": made}
