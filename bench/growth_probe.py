"""The growth goal in-process: each class's distinct queries (the bench's generator, its seed)
timed with `catalog.search.search()` alone (the bench's in-process floor, result cache off) on
catalogs of two sizes, one after the other, several rounds; and a profile of the slowest
queries (cProfile and every statement timed) at one size.

    PYTHONPATH=. .venv/bin/python bench/growth_probe.py time --json out.json --rounds 3 \
        --catalog 30000=sqlite:///tmp/a.sqlite3,tmp/a.sqlite3 \
        --catalog 300000=sqlite:///tmp/b.sqlite3,tmp/b.sqlite3
    PYTHONPATH=. .venv/bin/python bench/growth_probe.py profile --catalog 300000=URL,SQLITE

The queries of a catalog are drawn from its SQLite file (the bench draws them from the SQLite
catalog of the size; the PostgreSQL one holds the same catalog for the same seed). Each size
runs in a process of its own (the frame and the caches are per process).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.queries import CACHED_MIX, CLASSES, generate_queries, read_catalog_text  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def queries_of(sqlite_path: str, seed: int, count: int):
    return generate_queries(read_catalog_text(Path(sqlite_path)), seed, count)


def timed(floor, query) -> list:
    """[word, filters, wall ms, this thread's CPU ms]: the CPU time leaves out the other
    processes of a shared machine (on SQLite nearly all of a search is this thread's)."""
    cpu = time.thread_time()
    wall = floor.search(query)
    return [query.word, dict(query.filters), wall, (time.thread_time() - cpu) * 1000]


def run_once(url: str, sqlite_path: str, seed: int, count: int) -> dict:
    """One round at one size, in this process: every query of every class once."""
    from bench.inprocess import InProcess

    queries = queries_of(sqlite_path, seed, count)
    with InProcess(url) as floor:
        for query in CACHED_MIX["3字"]:  # warm-up, as the bench's growth run
            floor.search(query)
        times = {name: [timed(floor, q) for q in queries[name]] for name in CLASSES}
    return {"frame_load_ms": floor.frame_load_ms, "times": times}


def profile_slowest(url: str, sqlite_path: str, seed: int, count: int, share: float) -> None:
    """Time every query, then run the slowest `share` of each class again under cProfile with
    every statement timed; print both."""
    import sqlalchemy as sa

    from bench.inprocess import InProcess

    queries = queries_of(sqlite_path, seed, count)
    with InProcess(url) as floor:
        for query in CACHED_MIX["3字"]:
            floor.search(query)
        slow = []
        for name in CLASSES:
            timed = sorted(((floor.search(q), q) for q in queries[name]), reverse=True)
            keep = max(1, int(len(timed) * share))
            slow += [(name, q) for _t, q in timed[:keep]]
            print(name, "slowest", [(q.word, dict(q.filters), round(t, 1))
                                    for t, q in timed[:keep]])  # fmt: skip
        statements: dict[str, list[float]] = {}
        started: list[float] = []

        def before(conn, cursor, statement, parameters, context, executemany):
            started.append(time.perf_counter())

        def after(conn, cursor, statement, parameters, context, executemany):
            key = " ".join(statement.split())[:160]
            statements.setdefault(key, []).append(time.perf_counter() - started.pop())

        engine = floor.db.engine
        sa.event.listen(engine, "before_cursor_execute", before)
        sa.event.listen(engine, "after_cursor_execute", after)
        profiler = cProfile.Profile()
        total = 0.0
        per_query = []
        for name, query in slow:
            profiler.enable()
            elapsed = floor.search(query)
            profiler.disable()
            total += elapsed
            per_query.append((round(elapsed, 1), name, query.word, dict(query.filters)))
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)
    print(f"\n{len(slow)} slow queries, {total:.0f} ms under the profiler")
    for row in sorted(per_query, reverse=True):
        print(" ", row)
    print("\nstatements (count, total ms, max ms):")
    for key, values in sorted(statements.items(), key=lambda kv: -sum(kv[1])):
        print(f"  {len(values):4d} {sum(values) * 1000:8.1f} {max(values) * 1000:7.1f}  {key}")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def summarise(rounds: list[dict[str, dict]]) -> None:
    """Per class, per round: p50/p95 at each size and the p95 ratio largest over smallest."""
    for index, by_size in enumerate(rounds):
        sizes = sorted(by_size, key=int)
        print(f"round {index + 1}: sizes {sizes}")
        for name in CLASSES:
            cells = []
            p95s = []
            cpus = []
            for size in sizes:
                rows = by_size[size]["times"][name]
                values = [row[2] for row in rows]
                p95s.append(percentile(values, 0.95))
                cpus.append(percentile([row[3] for row in rows], 0.95))
                cells.append(f"{percentile(values, 0.5):5.1f}/{p95s[-1]:5.1f} cpu {cpus[-1]:5.1f}")
            ratio = p95s[-1] / p95s[0] if p95s[0] else float("nan")
            cpu_ratio = cpus[-1] / cpus[0] if cpus[0] else float("nan")
            print(f"  {name:6s} " + "  ".join(cells) + f"  p95 x{ratio:.2f} cpu x{cpu_ratio:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("time", "profile", "one"))
    parser.add_argument("--catalog", action="append", required=True,
                        help="SIZE=DATABASE_URL,SQLITE_FILE (the queries' source)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--share", type=float, default=0.05)
    parser.add_argument("--json")
    options = parser.parse_args()
    catalogs = {}
    for spec in options.catalog:
        size, rest = spec.split("=", 1)
        url, sqlite_path = rest.rsplit(",", 1)
        catalogs[size] = (url, sqlite_path)
    if options.mode == "one":  # (a child: one round at one size, as JSON on stdout)
        ((url, sqlite_path),) = catalogs.values()
        print(json.dumps(run_once(url, sqlite_path, options.seed, options.count)))
        return 0
    if options.mode == "profile":
        for url, sqlite_path in catalogs.values():
            profile_slowest(url, sqlite_path, options.seed, options.count, options.share)
        return 0
    rounds = []
    for _round in range(options.rounds):
        by_size = {}
        for size, (url, sqlite_path) in sorted(catalogs.items(), key=lambda kv: int(kv[0])):
            done = subprocess.run(
                [sys.executable, __file__, "one", "--catalog", f"{size}={url},{sqlite_path}",
                 "--seed", str(options.seed), "--count", str(options.count)],
                capture_output=True, text=True, check=True, cwd=ROOT,
            )  # fmt: skip
            by_size[size] = json.loads(done.stdout.strip().splitlines()[-1])
        rounds.append(by_size)
        summarise([by_size])
        if options.json:
            Path(options.json).write_text(json.dumps(rounds, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
