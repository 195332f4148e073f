"""The measurements of one database: distinct searches interleaved with Datasette and the
in-process floor, throughput mixes, the cached rows, item pages, the first report and search
after a published edit, and snapshots. Each returns plain numbers; bench/judge.py judges."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.parse
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

from bench.inprocess import SNAPSHOT_PREFIX, InProcess
from bench.judge import slowest, summarise
from bench.pg_waits import ActivitySampler
from bench.queries import Query
from bench.servers import ROOT, SECRET, Client, Timed, concurrent, log, repeated

# The three take turns by blocks of this many queries, each block in a rotated order, so that
# none always comes first (after another has brought the same rows into the page cache).
BLOCK = 10
ORDERS = (("app", "datasette", "in_process"), ("datasette", "in_process", "app"),
          ("in_process", "app", "datasette"))  # fmt: skip
SLOWEST = 5  # the slowest requests of each throughput mix kept in the results, a server
SLOW_MS = 1000.0  # a request of a throughput mix this slow is logged after its block


def distinct_latency(app_port: int, peer_port: int | None, floor: InProcess | None,
                     queries: list[Query], time_limit: float) -> dict[str, dict]:  # fmt: skip
    """Every query sent once to the app and to Datasette (one client each, as one citizen
    waits) and run once in-process, in alternating blocks of BLOCK queries; stops early at
    `time_limit` seconds (the summaries say how many were measured)."""
    app, peer = Client(app_port), Client(peer_port) if peer_port else None
    latencies: dict[str, list[float]] = {"app": [], "datasette": [], "in_process": []}
    errors = {"app": 0, "datasette": 0, "in_process": 0}
    deadline = time.monotonic() + time_limit
    try:
        for number, start in enumerate(range(0, len(queries), BLOCK)):
            if time.monotonic() > deadline:
                break
            block = queries[start : start + BLOCK]
            for who in ORDERS[number % len(ORDERS)]:
                for query in block:
                    if who == "app":
                        elapsed, failed = app.get(query.app_path())
                    elif who == "datasette" and peer is not None:
                        elapsed, failed = peer.get(query.datasette_path())
                    elif who == "in_process" and floor is not None:
                        elapsed, failed = floor.search(query), False
                    else:
                        continue
                    latencies[who].append(elapsed)
                    errors[who] += failed
    finally:
        app.close()
        if peer is not None:
            peer.close()
    return {who: summarise(values, errors=errors[who]) for who, values in latencies.items()
            if values}  # fmt: skip


def throughput(app_port: int, peer_port: int | None, mix: list[Query], *, clients: int,
               time_limit: float, block: int = 40, label: str = "",
               database_url: str | None = None) -> dict[str, dict]:  # fmt: skip
    """The mix's queries from `clients` connections at once, each query once per server, the
    app and Datasette taking turns by blocks; requests a second over the sum of their blocks'
    wall times. Each server's SLOWEST slowest requests (the query, the time, when in the mix)
    are kept and logged, a request over SLOW_MS after its block; on PostgreSQL, what the server's
    sessions were doing meanwhile (bench/pg_waits.py) is kept under "postgresql_activity"."""
    runs: dict[str, tuple[list[Timed], float]] = {"app": ([], 0.0), "datasette": ([], 0.0)}
    deadline = time.monotonic() + time_limit
    began = time.perf_counter()
    with ActivitySampler(database_url, time_limit=time_limit + 300) as sampler:
        for number, start in enumerate(range(0, len(mix), block)):
            if time.monotonic() > deadline:
                break
            part = mix[start : start + block]
            order = ("app", "datasette") if number % 2 == 0 else ("datasette", "app")
            for who in order:
                if who == "datasette" and peer_port is None:
                    continue
                port = app_port if who == "app" else peer_port
                paths = [q.app_path() if who == "app" else q.datasette_path() for q in part]
                offset = time.perf_counter() - began
                timed, wall = concurrent(port, paths, clients=clients, time_limit=time_limit)
                timed = [replace(t, at_s=round(t.at_s + offset, 3)) for t in timed]
                for slow in (t for t in timed if t.ms >= SLOW_MS):
                    log(f"{label} {who}: {slow.ms:,.0f} ms at {slow.at_s:.1f} s: {slow.path}")
                seen, walls = runs[who]
                runs[who] = (seen + timed, walls + wall)
    result = {}
    for who, (timed, wall) in runs.items():
        if timed:
            result[who] = {**summarise([t.ms for t in timed], wall, sum(t.failed for t in timed)),
                           "slowest": slowest(timed, SLOWEST)}  # fmt: skip
            worst = result[who]["slowest"][0]
            log(f"{label} {who}: {result[who]['rps']} requests/s, slowest {worst['ms']:,.1f} ms "
                f"at {worst['at_s']:.1f} s: {worst['path']}")  # fmt: skip
    if database_url and database_url.startswith("postgresql"):
        result["postgresql_activity"] = activity = sampler.summary()
        for note in activity["long"][:3]:
            log(f"{label} postgresql: {note['state']} {note['ms']:,.0f} ms, "
                f"{note['waits']}: {note['query'][:120]}")  # fmt: skip
    return result


def cached(port: int, queries: list[Query], count: int, time_limit: float,
           datasette: bool = False) -> dict:  # fmt: skip
    """The same few searches again and again (after one pass that fills the result cache)."""
    paths = [q.datasette_path() if datasette else q.app_path() for q in queries]
    repeated(port, paths, len(paths), time_limit)
    latencies, errors = repeated(port, paths, count, time_limit)
    return summarise(latencies, errors=errors)


def each_once(port: int, paths: list[str], time_limit: float) -> dict:
    """Every path once, in order, from one client; the summary and the SLOWEST slowest paths
    (the queries to look at when a class misses)."""
    latencies, errors = repeated(port, paths, len(paths), time_limit)
    # latencies[i] is paths[i]'s; fewer when the time limit stopped the round
    timed = sorted(zip(latencies, paths, strict=False), key=lambda pair: -pair[0])
    return {**summarise(latencies, errors=errors),
            "slowest": [{"path": path, "ms": ms} for ms, path in timed[:SLOWEST]]}  # fmt: skip


def after_change(app_port: int, floor: InProcess, fresh: list[Query], times: int) -> dict:
    """`times` rounds of: publish one edit, then the first GET /api/v1/report; and `times`
    rounds of: publish one edit, then the first search (a query not sent before). The worker
    learns of the change from the catalog's revision, as after a change made by any worker."""
    client = Client(app_port)
    reports, searches, errors = [], [], 0
    try:
        client.get("/api/v1/report")  # the report before: what a change makes stale
        for number in range(times):
            floor.publish_edit()
            elapsed, failed = client.get("/api/v1/report")
            reports.append(round(elapsed, 1))
            errors += failed
            floor.publish_edit()
            elapsed, failed = client.get(fresh[number % len(fresh)].app_path())
            searches.append(round(elapsed, 1))
            errors += failed
    finally:
        client.close()
    return {"report_ms": reports, "search_ms": searches, "errors": errors}


def _in_own_process(database_url: str, *args: str, timeout: float) -> dict | None:
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": SECRET}
    try:
        done = subprocess.run([sys.executable, str(ROOT / "bench" / "inprocess.py"), *args],
                              cwd=ROOT, env=env, text=True, capture_output=True,
                              timeout=timeout, check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        log(f"{' '.join(args)}: no answer in {timeout:.0f} s")
        return None
    if done.returncode != 0:
        log(f"{' '.join(args)} failed: {done.stderr[-2000:]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


class Editor(Protocol):
    """What publishes one change between two snapshots: the catalog stage's InProcess (an
    item's edit), the decision stage's DecisionEditor (a decision's)."""

    def publish_edit(self) -> str: ...


def snapshots(database_url: str, app_port: int, floor: Editor, timeout: float) -> dict:
    """Two snapshots with one published edit between them (each in a process of its own,
    bounded by `timeout`), then the first comparison of the two through the API; the bench's
    snapshots are deleted afterwards."""
    stamp = f"{datetime.now(UTC):%m%d%H%M%S}"
    labels = [f"{SNAPSHOT_PREFIX}{stamp}-a", f"{SNAPSHOT_PREFIX}{stamp}-b"]
    result: dict = {"snapshot_s": [], "compare_s": None, "errors": 0}
    try:
        for number, label in enumerate(labels):
            if number:
                floor.publish_edit()
            made = _in_own_process(database_url, "snapshot", label, timeout=timeout)
            result["snapshot_s"].append(made["seconds"] if made else None)
            if made is None:  # a second one would not finish either: not measured
                break
        if len(result["snapshot_s"]) == 2 and all(result["snapshot_s"]):
            client = Client(app_port, timeout=timeout)
            query = urllib.parse.urlencode({"from": labels[0], "to": labels[1]})
            elapsed, failed = client.get(f"/api/v1/report/compare?{query}")
            client.close()
            result["compare_s"] = round(elapsed / 1000, 3)
            result["errors"] += failed
    finally:
        _in_own_process(database_url, "drop-snapshots", timeout=600)
    return result
