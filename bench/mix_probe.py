"""The PostgreSQL throughput mix 全部 of `make bench`, alone and repeated: what looks for a stall
in it (docs/benchmark.md, *A stall in the mix*) without the whole run.

    .venv/bin/python bench/mix_probe.py --runs 5 [--distinct 20] [--database sqlite]

Each run starts a fresh app server (one gunicorn worker, as `make bench` starts it) on the
generated catalog (reused; generated when missing), loads the in-process floor as the bench
does, warms the worker on the cached mix, optionally sends the first N distinct queries of each
class with the floor and Datasette interleaved (`--distinct`: what precedes the mix in the
bench), then times the mix 全部 with Datasette taking turns, 4 clients, every request timed and
PostgreSQL's sessions sampled (bench/pg_waits.py). A run's result (the mix's summary, its
slowest requests, what the server waited on) goes to bench/data/mix-probe-<time>.json; the
server's log, each request's time in the worker among it, to bench/data/app-probe-*.log.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import rounds  # noqa: E402
from bench.catalogs import datasette_copy  # noqa: E402
from bench.inprocess import InProcess  # noqa: E402
from bench.queries import CACHED_MIX, CLASSES, generate_queries, read_catalog_text  # noqa: E402
from bench.run import FRESH, catalogs, query_parts  # noqa: E402
from bench.servers import DATA, datasette, gunicorn, log, serving  # noqa: E402


def settings() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handling-items", type=int, default=300000)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--mix", default="全部")
    parser.add_argument("--distinct", type=int, default=0,
                        help="distinct queries a class sent before the mix")  # fmt: skip
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--mix-queries", type=int, default=60)
    return parser.parse_args()


def main() -> int:
    options = settings()
    app_db, postgres_url = catalogs(options.handling_items, options.seed,
                                    options.database == "postgresql", {})  # fmt: skip
    url = postgres_url if options.database == "postgresql" else f"sqlite:///{app_db}"
    queries = generate_queries(read_catalog_text(app_db), options.seed,
                               options.queries + options.mix_queries + FRESH)  # fmt: skip
    latency, mixes, _fresh = query_parts(queries, options)
    mix = mixes[options.mix]
    results = []
    with serving(datasette(datasette_copy(app_db))) as (peer,):
        for number in range(options.runs):
            name = f"app-probe-{options.database}-{number}"
            with InProcess(url) as floor, serving(gunicorn(name, url)) as (app,):
                warm = [query for queries_of in CACHED_MIX.values() for query in queries_of]
                rounds.distinct_latency(app.port, peer.port, floor, warm, 60)
                for name_of in CLASSES if options.distinct else ():
                    rounds.distinct_latency(app.port, peer.port, floor,
                                            latency[name_of][: options.distinct], 60)  # fmt: skip
                started = time.perf_counter()
                runs = rounds.throughput(app.port, peer.port, mix, clients=4, time_limit=120,
                                         label=f"run {number + 1} {options.database} "
                                         f"{options.mix}", database_url=url)  # fmt: skip
                runs["seconds"] = round(time.perf_counter() - started, 1)
                runs["server_log"] = f"bench/data/{name}.log"
                results.append(runs)
    summary = [{who: {key: run[who][key] for key in ("rps", "p50", "p95", "p99")}
                for who in ("app", "datasette") if who in run} for run in results]  # fmt: skip
    out = DATA / f"mix-probe-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps({"settings": vars(options), "runs": results}, ensure_ascii=False,
                              indent=1, default=str) + "\n")  # fmt: skip
    for number, line in enumerate(summary, 1):
        log(f"run {number}: {json.dumps(line, ensure_ascii=False)}")
    log(f"written to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
