"""The targets `make bench` judges, and how one measurement becomes one judged row.

Every row of the results' "targets" says what was measured (`target`, `measured`), against what
(`limit`), whether it was met, on which database (`sqlite` / `postgresql`), whether the
searches behind it were distinct (each sent once: what the long tail of citizens meets) or
repeated until the result cache serves them (`cached`), and its `kind`. Nothing here measures:
the functions are pure, so tests/test_bench.py holds them to the rules.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable

KINDS = ("search", "throughput", "report_after_change", "search_after_change", "snapshot",
         "compare", "item_page", "memory", "growth", "decision_search")  # fmt: skip
DATABASES = ("sqlite", "postgresql")
CACHES = ("distinct", "cached")

# The goals of issue 22 (300,000 handling items, one worker per server).
LIMITS = {
    "search_p95_ms": 50.0,
    "search_p95_vs_floor": 3.0,  # the served p95 over the in-process p95 of the same rounds
    "throughput_vs_datasette": 1.5,  # at least
    "report_after_change_ms": 1000.0,
    "search_after_change_ms": 100.0,
    "snapshot_s": 30.0,
    "compare_snapshots_s": 2.0,
    "compare_page_seed_ms": 20.0,
    "item_page_p95_ms": 20.0,
    "worker_memory_mb": 250.0,
    "growth": 1.5,  # a class's p95 at the largest size over its p95 at the smallest
    # issue 24 part 8: an organisation's name or credit code among about 1,000,000 decisions
    "decision_search_p95_ms": 50.0,
}
AT_LEAST = {"throughput_vs_datasette"}  # every other limit is a ceiling


def judged(target: str, measured: float | None, limit_key: str, *, kind: str, database: str,
           cache: str, errors: int = 0, **details) -> dict:  # fmt: skip
    """One row. A measurement that could not be taken (None) or a run with failed requests is
    not met: a target is never met by default."""
    if kind not in KINDS or database not in DATABASES or cache not in CACHES:
        raise ValueError(f"bad target row: {kind=} {database=} {cache=}")
    limit = LIMITS[limit_key]
    if measured is None or errors:
        met = False
    elif limit_key in AT_LEAST:
        met = measured >= limit
    else:
        met = measured <= limit
    row = {"target": target, "measured": measured, "limit": limit, "met": met,
           "database": database, "cache": cache, "kind": kind}  # fmt: skip
    if errors:
        row["errors"] = errors
    row.update(details)
    return row


def percentile(values: Iterable[float], share: float) -> float | None:
    """The nearest-rank percentile (p95 of 200 latencies: the 190th smallest)."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, -(-int(share * 1000) * len(ordered) // 1000))  # ceil(share * n)
    return round(ordered[min(len(ordered), rank) - 1], 2)


def summarise(latencies: list[float], wall: float | None = None, errors: int = 0) -> dict:
    """p50/p95/p99 in ms, and requests a second over `wall` seconds when given."""
    if not latencies:
        return {"n": 0, "errors": errors, "p50": None, "p95": None, "p99": None, "rps": None}
    return {"n": len(latencies), "errors": errors,
            "p50": round(statistics.median(latencies), 2),
            "p95": percentile(latencies, 0.95), "p99": percentile(latencies, 0.99),
            "rps": round(len(latencies) / wall, 1) if wall else None}  # fmt: skip


def slowest(timed: Iterable, count: int) -> list[dict]:
    """The `count` slowest of a round's timed requests (bench.servers.Timed), slowest first:
    each its path, milliseconds, when it began (seconds into the round), connection and
    whether it failed."""
    ordered = sorted(timed, key=lambda t: (-t.ms, t.at_s))[:count]
    return [{"path": t.path, "ms": t.ms, "at_s": t.at_s, "client": t.client,
             "failed": t.failed} for t in ordered]  # fmt: skip


def ratio(ours: float | None, theirs: float | None) -> float | None:
    return round(ours / theirs, 2) if ours and theirs else None


def search_rows(database: str, name: str, served: dict, floor: dict | None, cache: str) -> list:
    """A class's p95 against 50 ms, and (distinct searches) against 3 x the in-process p95 of
    the same rounds."""
    rows = [judged(f"search p95 {name} ({database}, {cache}) ms", served["p95"],
                   "search_p95_ms", kind="search", database=database, cache=cache,
                   errors=served["errors"], n=served["n"])]  # fmt: skip
    if floor is not None:
        rows.append(judged(
            f"search p95 {name} ({database}, {cache}) / in-process", ratio(served["p95"],
            floor["p95"]), "search_p95_vs_floor", kind="search", database=database,
            cache=cache, errors=served["errors"]))  # fmt: skip
    return rows


def growth_rows(database: str, by_size: dict[int, dict[str, dict]]) -> list[dict]:
    """Each class's distinct p95 at the largest size over its p95 at the smallest."""
    sizes = sorted(by_size)
    if len(sizes) < 2:
        return []
    small, large = sizes[0], sizes[-1]
    rows = []
    for name, run in by_size[large].items():
        first = by_size[small].get(name)
        p95s = {size: by_size[size].get(name, {}).get("p95") for size in sizes}
        rows.append(judged(
            f"growth p95 {name} ({database}) {large:,} / {small:,}",
            ratio(run["p95"], first["p95"] if first else None), "growth", kind="growth",
            database=database, cache="distinct", p95_ms=p95s))  # fmt: skip
    return rows
