"""Snapshot speed on the database DATABASE_URL names (docs/snapshots-speed.md).

    python bench/snapshot_speed.py create LABEL       make and commit a snapshot: wall and CPU
                                                      time, resting and peak RSS
    python bench/snapshot_speed.py compare FROM TO    compare two snapshots (twice, nothing
                                                      kept between), then kept, then the API
    python bench/snapshot_speed.py seed               /reports/compare?from=2020 and its API
                                                      twin: the first request, then 30 more

Run it on a copy of the measurement data (`create` writes a snapshot); one process at a time.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """The highest resident size seen while the block runs, sampled every 50 ms."""

    def __enter__(self) -> PeakRss:
        self.before = self.peak = _rss_mb()
        self._running = True
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while self._running:
            self.peak = max(self.peak, _rss_mb())
            time.sleep(0.05)

    def __exit__(self, *_exc: Any) -> None:
        self._running = False
        self._thread.join()


def _timed(work: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def create(app, label: str) -> None:
    from catalog.extensions import db
    from catalog.operations.snapshots import create_snapshot

    with app.app_context(), PeakRss() as rss:

        def work() -> None:
            create_snapshot(label, actor="bench")
            db.session.commit()

        _none, wall, cpu = _timed(work)
    print(f"create {label}: {wall:.1f} s (CPU {cpu:.1f} s); RSS {rss.before:.0f} MB, "
          f"peak {rss.peak:.0f} MB (+{rss.peak - rss.before:.0f})")  # fmt: skip


def compare(app, old: str, new: str) -> None:
    from catalog.reports import snapshots
    from catalog.reports.queries import comparison

    with app.app_context(), PeakRss() as rss:
        for _round in range(2):
            snapshots._comparisons.clear()
            result, wall, cpu = _timed(lambda: comparison({"from": old, "to": new}))
            items = result["items"]
            print(f"compare {old} -> {new}: {wall:.2f} s (CPU {cpu:.2f} s); added "
                  f"{len(items['added'])}, removed {len(items['removed'])}, changed "
                  f"{len(items['changed'])}")  # fmt: skip
        _result, wall, _cpu = _timed(lambda: comparison({"from": old, "to": new}))
        print(f"kept: {wall * 1000:.1f} ms")
    response, wall, _cpu = _timed(
        lambda: app.test_client().get(f"/api/v1/report/compare?from={old}&to={new}")
    )
    print(f"API (kept): {response.status_code}, {wall * 1000:.0f} ms")
    print(f"RSS {rss.before:.0f} MB, peak {rss.peak:.0f} MB")


def seed(app) -> None:
    client = app.test_client()
    for url in ("/reports/compare?from=2020", "/api/v1/report/compare?from=2020"):
        times = []
        for _request in range(31):
            response, wall, _cpu = _timed(lambda url=url: client.get(url))
            assert response.status_code == 200, (url, response.status_code)
            times.append(wall * 1000)
        rest = sorted(times[1:])
        print(f"{url}: first {times[0]:.1f} ms; then median {statistics.median(rest):.1f}, "
              f"p95 {rest[int(len(rest) * 0.95) - 1]:.1f}, max {rest[-1]:.1f} ms")  # fmt: skip


def main(argv: list[str]) -> None:
    from catalog import create_app

    app = create_app()
    command, *args = argv
    {"create": create, "compare": compare, "seed": seed}[command](app, *args)


if __name__ == "__main__":
    main(sys.argv[1:])
