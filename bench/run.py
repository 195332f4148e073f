"""make bench: the catalog's searches as users meet them, on SQLite and PostgreSQL, against
Datasette and against the app's own in-process floor; then the first report and search after a
published edit, snapshots, comparisons, item pages and memory. docs/benchmark.md has the method.

The headline searches are distinct: a query set drawn from the catalog (bench/queries.py), each
query sent once per server, the app, Datasette and the same search in-process taking turns by
short blocks. A fixed mix repeated until the result cache serves it gives the secondary
("cached") rows. Every target is judged in bench/judge.py and written to bench/results/ whether
met or not; the exit status is non-zero when one is missed. BENCH_GROWTH=1 adds the growth run
(the same distinct rounds at 30,000 and 100,000 handling items). Last, the decision search
(bench/decisions.py: an organisation's name or credit code among about 1,000,000 双公示
decisions); BENCH_DECISIONS_ONLY=1 runs that stage alone, BENCH_SKIP_DECISIONS=1 leaves it out.
Every server is stopped whatever happens; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import rounds  # noqa: E402
from bench.catalogs import (  # noqa: E402
    datasette_copy,
    postgres_catalog,
    read_into_memory,
    seed_catalogs,
    settle,
    sqlite_catalog,
)
from bench.decisions import decision_search  # noqa: E402
from bench.inprocess import InProcess  # noqa: E402
from bench.judge import growth_rows, judged, ratio, search_rows, summarise  # noqa: E402
from bench.queries import (  # noqa: E402
    CACHED_MIX,
    CLASSES,
    generate_queries,
    read_catalog_text,
    split,
)
from bench.report import print_table  # noqa: E402
from bench.servers import DATA, Client, datasette, gunicorn, log, serving  # noqa: E402

RESULTS = ROOT / "bench" / "results"
# Throughput mixes: which classes each draws its (distinct) queries from.
MIXES = {
    "全部": CLASSES,
    "3+字或字母": ("3字", "4字+", "拼音", "首字母3+"),
    "1-2字或字母": ("1字", "2字", "首字母2"),
    "筛选": ("筛选",),
}
FRESH = 10  # queries kept back for the first search after each change


def settings() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    env = os.environ.get
    parser.add_argument("--handling-items", type=int,
                        default=int(env("BENCH_HANDLING_ITEMS", "300000")))  # fmt: skip
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--queries", type=int, default=int(env("BENCH_QUERIES", "200")),
                        help="distinct queries per class for latency")  # fmt: skip
    parser.add_argument(
        "--mix-queries",
        type=int,
        default=int(env("BENCH_MIX_QUERIES", "1000")),
        help="distinct queries per class held back for the throughput mixes",
    )
    parser.add_argument(
        "--class-time-limit",
        type=float,
        default=150.0,
        help="seconds per class and database for the distinct rounds",
    )
    parser.add_argument("--changes", type=int, default=3, help="published edits per measure")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--growth", action="store_true",
                        default=env("BENCH_GROWTH", "") not in ("", "0"))  # fmt: skip
    parser.add_argument("--growth-sizes", default=env("BENCH_GROWTH_SIZES", "30000,100000"))
    parser.add_argument("--decisions-only", action="store_true",
                        default=env("BENCH_DECISIONS_ONLY", "") not in ("", "0"),
                        help="only the decision search stage (bench/decisions.py)")  # fmt: skip
    parser.add_argument("--skip-decisions", action="store_true",
                        default=env("BENCH_SKIP_DECISIONS", "") not in ("", "0"))  # fmt: skip
    parser.add_argument("--decision-handling-items", type=int,
                        default=int(env("BENCH_DECISION_HANDLING_ITEMS", "65000")),
                        help="the decision catalog's size: 20 licence decisions per licence "
                             "handling item, about 1,000,000 at 65,000")  # fmt: skip
    parser.add_argument("--decision-queries", type=int,
                        default=int(env("BENCH_DECISION_QUERIES", "200")),
                        help="distinct queries per class of the decision search")  # fmt: skip
    return parser.parse_args()


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    memory = next(int(line.split()[1]) // 1024 for line in
                  Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))  # fmt: skip
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_mb": memory,
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "platform": platform.platform(), "load_average": os.getloadavg(),
            "page_cache_reclaim": page_cache_reclaim()}  # fmt: skip


DAMON_SCHEMES = Path("/sys/kernel/mm/damon/admin/kdamonds/0/contexts/0/schemes")


def page_cache_reclaim() -> str | None:
    """Whether the kernel pages out memory left idle (DAMON's pageout scheme, which this
    machine runs: a catalog not read for a minute is read from disk again, so the first
    stage's data is cold by the last stage); None when it does not."""
    try:
        action = (DAMON_SCHEMES / "0" / "action").read_text().strip()
        age = int((DAMON_SCHEMES / "0" / "access_pattern" / "age" / "min").read_text())
        aggregation = int((DAMON_SCHEMES.parent / "monitoring_attrs" / "intervals" /
                           "aggr_us").read_text())  # fmt: skip
        state = (DAMON_SCHEMES.parents[2] / "state").read_text().strip()
    except (OSError, ValueError):
        return None
    if state != "on" or action != "pageout":
        return None
    return f"DAMON pageout of memory idle for {age * aggregation / 1_000_000:g} s or more"


def catalogs(size: int, seed: int, with_postgres: bool, generated: dict) -> tuple[Path, str | None]:
    """The SQLite and PostgreSQL catalogs of `size`, generated side by side when missing."""
    with ThreadPoolExecutor(max_workers=1) as background:
        postgres = background.submit(postgres_catalog, size, seed, generated) if with_postgres \
            else None  # fmt: skip
        app_db = sqlite_catalog(size, seed, generated)
        postgres_url = postgres.result() if postgres else None
    settle(postgres_url)
    return app_db, postgres_url


def item_paths(app_db: Path, count: int, seed: int) -> list[str]:
    connection = sqlite3.connect(app_db)
    codes = [code for (code,) in connection.execute(
        "SELECT code FROM approval_item WHERE status = 'published' ORDER BY id")]  # fmt: skip
    connection.close()
    return [f"/items/{urllib.parse.quote(code)}" for code in
            random.Random(seed).sample(codes, min(count, len(codes)))]  # fmt: skip


def query_parts(queries: dict, options: argparse.Namespace) -> tuple[dict, dict, list]:
    """Each class's queries for latency, each mix's queries (its classes' interleaved: the
    per-group mixes draw on one half of what each class keeps back, 全部 on the other), and
    the 3字 queries kept for the first search after each change."""
    fresh = queries["3字"][-FRESH:]
    latency, mix_parts = {}, {}
    for name in CLASSES:
        kept = [query for query in queries[name] if query not in fresh]
        latency[name], rest = split(kept, options.queries, len(kept))
        # two equal halves of what is left, however few (1字 and 首字母2 have fewer queries
        # than asked at 300,000: a half that took all of them left the mix of all empty)
        half = min(options.mix_queries // 2, len(rest) // 2)
        mix_parts[name] = (rest[:half], rest[half : 2 * half])
    mixes = {}
    for mix, classes in MIXES.items():
        queries_of = [mix_parts[name][1 if mix == "全部" else 0] for name in classes]
        mixes[mix] = [q for group in zip(*queries_of, strict=False) for q in group]
    return latency, mixes, fresh


def measure_database(database: str, url: str, peer_port: int, queries: dict, items: list[str],
                     options: argparse.Namespace) -> tuple[dict, list[dict]]:  # fmt: skip
    """Every measurement of one database with its own app server; the section and its rows."""
    section: dict = {"distinct": {}, "throughput": {}, "cached": {}}
    rows: list[dict] = []
    latency, mixes, fresh = query_parts(queries, options)
    log(f"{database}: loading the in-process floor's frame, starting the app")
    with InProcess(url) as floor, serving(gunicorn(f"app-{database}", url)) as (app,):
        section["frame_load_ms"] = floor.frame_load_ms
        warm = [query for mix in CACHED_MIX.values() for query in mix]
        rounds.distinct_latency(app.port, peer_port, floor, warm, 60)  # warm-up, untimed
        for name in CLASSES:
            log(f"{database}: distinct {name} ({len(latency[name])} queries)")
            runs = rounds.distinct_latency(app.port, peer_port, floor, latency[name],
                                           options.class_time_limit)  # fmt: skip
            section["distinct"][name] = runs
            rows += search_rows(database, name, runs["app"], runs.get("in_process"), "distinct")
        phases = {"distinct searches": app.peak_memory_mb()}
        for mix, interleaved in mixes.items():
            log(f"{database}: throughput, mix {mix}, 4 clients")
            runs = rounds.throughput(app.port, peer_port, interleaved, clients=4,
                                     time_limit=120, label=f"{database} {mix}",
                                     database_url=url)  # fmt: skip
            section["throughput"][mix] = runs
            rows.append(_throughput_row(database, mix, runs, "distinct"))
        log(f"{database}: the cached rows (a fixed mix, repeated)")
        for name in CLASSES:
            run = rounds.cached(app.port, CACHED_MIX[name], 60, 60)
            section["cached"][name] = run
            rows += search_rows(database, name, run, None, "cached")
        everything = [query for mix in CACHED_MIX.values() for query in mix] * 8
        runs = rounds.throughput(app.port, peer_port, everything, clients=4, time_limit=120,
                                 label=f"{database} 全部 (cached)", database_url=url)  # fmt: skip
        section["throughput"]["全部 (cached)"] = runs
        rows.append(_throughput_row(database, "全部", runs, "cached"))
        phases["throughput and cached"] = app.peak_memory_mb()
        log(f"{database}: item pages, each once")
        section["item_page"] = run = rounds.each_once(app.port, items, 60)
        rows.append(judged(f"item page p95 ({database}) ms", run["p95"], "item_page_p95_ms",
                           kind="item_page", database=database, cache="distinct",
                           errors=run["errors"], n=run["n"]))  # fmt: skip
        log(f"{database}: {options.changes} published edits, then the first report / search")
        changed = rounds.after_change(app.port, floor, fresh, options.changes)
        section["after_change"] = changed
        worst = max(changed["report_ms"], default=None)
        rows.append(judged(f"first report after a change ({database}, worst of "
                           f"{len(changed['report_ms'])}) ms", worst, "report_after_change_ms",
                           kind="report_after_change", database=database, cache="distinct",
                           errors=changed["errors"], all_ms=changed["report_ms"]))  # fmt: skip
        worst = max(changed["search_ms"], default=None)
        rows.append(judged(f"first search after a change ({database}, worst of "
                           f"{len(changed['search_ms'])}) ms", worst, "search_after_change_ms",
                           kind="search_after_change", database=database, cache="distinct",
                           errors=changed["errors"], all_ms=changed["search_ms"]))  # fmt: skip
        phases["item pages and changes"] = app.peak_memory_mb()
        log(f"{database}: two snapshots and their comparison")
        made = rounds.snapshots(url, app.port, floor, timeout=300)
        section["snapshots"] = made
        worst = None if None in made["snapshot_s"] else max(made["snapshot_s"])
        rows.append(judged(f"snapshot creation ({database}, worst of 2) s", worst, "snapshot_s",
                           kind="snapshot", database=database, cache="distinct",
                           all_s=made["snapshot_s"]))  # fmt: skip
        rows.append(judged(f"comparing two snapshots ({database}, first request) s",
                           made["compare_s"], "compare_snapshots_s", kind="compare",
                           database=database, cache="distinct", errors=made["errors"]))  # fmt: skip
        section["memory_mb"] = phases["snapshots compared"] = app.peak_memory_mb()
        rows.append(judged(f"worker memory ({database}, peak RSS) MB", section["memory_mb"],
                           "worker_memory_mb", kind="memory", database=database,
                           cache="distinct", peak_after_mb=phases))  # fmt: skip
    return section, rows


def _throughput_row(database: str, mix: str, runs: dict, cache: str) -> dict:
    app, peer = runs.get("app", {}), runs.get("datasette", {})
    return judged(f"throughput {mix} ({database}, {cache}, 4 clients) / Datasette",
                  ratio(app.get("rps"), peer.get("rps")), "throughput_vs_datasette",
                  kind="throughput", database=database, cache=cache,
                  errors=app.get("errors", 0), app_rps=app.get("rps"),
                  datasette_rps=peer.get("rps"))  # fmt: skip


FRESH_WORKERS = 3  # the seed's comparison: the first request of this many fresh workers


def seed_compare(with_postgres: bool) -> tuple[dict, list[dict]]:
    """/reports/compare?from=2020 on the seed catalog: the first request of each of
    FRESH_WORKERS fresh workers (one sample each; judged on their median, every one kept in
    the row), then 30 more on the last worker (served from what its first computed). Before
    them the databases settle: the stages before leave PostgreSQL writing (the bench's
    snapshots deleted, autovacuum), which one sample a worker would otherwise carry."""
    section, rows = {}, []
    catalogs = seed_catalogs(with_postgres)
    settle(catalogs.get("postgresql"))
    for database, url in catalogs.items():
        firsts, failed = [], 0
        for number in range(FRESH_WORKERS):
            with serving(gunicorn(f"app-seed-{database}-{number}", url)) as (app,):
                client = Client(app.port)
                first, missed = client.get("/reports/compare?from=2020")
                client.close()
                firsts.append(round(first, 2))
                failed += int(missed)
                if number == FRESH_WORKERS - 1:
                    again, errors = rounds.repeated(app.port, ["/reports/compare?from=2020"],
                                                    30, 60)  # fmt: skip
        run = summarise(again, errors=errors)
        section[database] = {"first_ms": firsts, "repeated": run}
        rows.append(judged(f"/reports/compare on the seed ({database}, first request of a fresh "
                           f"worker, median of {FRESH_WORKERS}) ms", statistics.median(firsts),
                           "compare_page_seed_ms", kind="compare", database=database,
                           cache="distinct", errors=failed, all_ms=firsts))  # fmt: skip
        rows.append(judged(f"/reports/compare on the seed ({database}, p95 of 30) ms",
                           run["p95"], "compare_page_seed_ms", kind="compare",
                           database=database, cache="cached", errors=errors))  # fmt: skip
    return section, rows


def growth(options: argparse.Namespace, generated: dict, warmed: dict) -> tuple[dict, list[dict]]:
    """The distinct rounds of the app and its in-process floor (no Datasette) at each growth
    size and at the run's size, measured alike, smallest first; each class's p95 at the run's
    size over its p95 at the smallest. Each catalog is read into the page cache right before
    its rounds (read_into_memory, recorded in `warmed`): a size generated just before would
    otherwise be in memory and one coming back after other stages on disk. (The headline
    rounds interleave Datasette, whose scans share the machine's cores and page cache: their
    p95s are not compared with these.)"""
    smaller = {int(size) for size in options.growth_sizes.split(",")
               if 0 < int(size) < options.handling_items}  # fmt: skip
    sizes = sorted(smaller | {options.handling_items})
    by_database: dict[str, dict[int, dict]] = {}
    for size in sizes if len(sizes) > 1 else ():
        app_db, postgres_url = catalogs(size, options.seed, not options.skip_postgres, generated)
        queries = generate_queries(read_catalog_text(app_db), options.seed, options.queries)
        for database, url in (("sqlite", f"sqlite:///{app_db}"), ("postgresql", postgres_url)):
            if url is None:
                continue
            read = (app_db, None) if database == "sqlite" else (None, postgres_url)
            warmed[f"{database} {size}"] = done = read_into_memory(*read)
            log(f"growth: {size:,} handling items on {database} (read into memory: {done})")
            with (
                InProcess(url) as floor,
                serving(gunicorn(f"app-{database}-{size}", url)) as (app,),
            ):
                rounds.distinct_latency(app.port, None, floor, CACHED_MIX["3字"], 30)
                by_database.setdefault(database, {})[size] = {
                    name: rounds.distinct_latency(app.port, None, floor, queries[name],
                                                  options.class_time_limit)["app"]
                    for name in CLASSES
                }  # fmt: skip
    rows = [row for database, by_size in by_database.items()
            for row in growth_rows(database, by_size)]  # fmt: skip
    return {database: {str(size): runs for size, runs in by_size.items()}
            for database, by_size in by_database.items()}, rows  # fmt: skip


def main() -> int:
    options = settings()
    DATA.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    generated: dict = {}
    results: dict = {"handling_items": options.handling_items, "seed": options.seed,
                     "settings": vars(options), "machine": machine()}  # fmt: skip
    targets: list[dict] = []
    try:
        if not options.decisions_only:
            targets += catalog_stages(options, generated, results)
        if not options.skip_decisions:
            results["decisions"], rows = decision_search(options, generated)
            targets += rows
    except (Exception, SystemExit, KeyboardInterrupt) as error:  # written all the same, marked
        results["failed"] = repr(error)
        log(f"the run stopped: {error!r}")
    results["generation"] = {f"{database} {size}": done
                             for (database, size), done in generated.items()}  # fmt: skip
    results["targets"] = targets
    results["seconds"] = round(time.perf_counter() - started)
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    print_table(results)
    if "failed" in results:
        print("THE RUN STOPPED EARLY:", results["failed"])
    # a run of the decision stage alone keeps latest.json (the whole run's) as it is
    size = f"decisions-{options.decision_handling_items}" if options.decisions_only \
        else options.handling_items  # fmt: skip
    name = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{size}.json"
    latest = "latest-decisions.json" if options.decisions_only else "latest.json"
    for path in (RESULTS / name, RESULTS / latest):
        path.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n")
    log(f"results written to bench/results/{name} and {latest} ({results['seconds']} s)")
    return 0 if "failed" not in results and all(target["met"] for target in targets) else 1


def catalog_stages(options: argparse.Namespace, generated: dict, results: dict) -> list[dict]:
    """Everything but the decision search: the search catalog's rounds on both databases
    against Datasette, the seed's comparison, and the growth run when asked."""
    targets: list[dict] = []
    app_db, postgres_url = catalogs(options.handling_items, options.seed,
                                    not options.skip_postgres, generated)  # fmt: skip
    datasette_db = datasette_copy(app_db)
    queries = generate_queries(read_catalog_text(app_db), options.seed,
                               options.queries + options.mix_queries + FRESH)  # fmt: skip
    items = item_paths(app_db, 50, options.seed)
    results["queries"] = {name: len(found) for name, found in queries.items()}
    with serving(datasette(datasette_db)) as (peer,):
        databases = [("sqlite", f"sqlite:///{app_db}"), ("postgresql", postgres_url)]
        for database, url in databases:
            if url is not None:
                results[database], rows = measure_database(
                    database, url, peer.port, queries, items, options)  # fmt: skip
                targets += rows
        results["datasette_memory_mb"] = peer.peak_memory_mb()
    results["seed_compare"], rows = seed_compare(not options.skip_postgres)
    targets += rows
    if options.growth:
        growth_started = time.perf_counter()
        warmed = results["growth_read_into_memory"] = {}
        results["growth"], rows = growth(options, generated, warmed)
        results["growth_seconds"] = round(time.perf_counter() - growth_started)
        targets += rows
    return targets


if __name__ == "__main__":
    sys.exit(main())
