"""What the PostgreSQL server was doing while the bench timed a round: pg_stat_activity of the
bench's database sampled every INTERVAL seconds from a thread of the bench's own (its own
connection, autocommit), so that a slow request in the results can be read against what its
statement waited on (a lock, I/O, the client) or whether no statement of the app was running
at all (the time went elsewhere: the worker, the network, the client).

Each sample keeps only what is unusual: an app statement active for LONG_MS or more (its text,
how long it had run, its wait event), a session idle in a transaction for LONG_MS or more (it
holds its locks), and lock waits (with the sessions blocking them). The summary counts every
active sample by wait event, so a round whose statements mostly waited shows it. Sampling
stops with the round; it is bounded in time like every loop of the bench.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import sqlalchemy as sa

INTERVAL = 0.05  # seconds between samples
LONG_MS = 300.0  # a statement or an open transaction this old is noted
KEPT = 12  # notes kept a round (the longest)
_SAMPLE = sa.text("""
    SELECT pid, state, coalesce(wait_event_type, '') AS wait_type,
           coalesce(wait_event, '') AS wait_event, backend_type,
           extract(epoch FROM clock_timestamp() - query_start) * 1000 AS query_ms,
           extract(epoch FROM clock_timestamp() - xact_start) * 1000 AS xact_ms,
           query_start, left(query, 240) AS query,
           cardinality(pg_blocking_pids(pid)) AS blocked_by
    FROM pg_stat_activity
    WHERE pid <> pg_backend_pid()
      AND (datname = current_database() OR backend_type <> 'client backend')
      AND state IS DISTINCT FROM 'idle'
""")


class ActivitySampler:
    """A context manager sampling pg_stat_activity while a round runs; `summary()` after."""

    def __init__(self, database_url: str | None, *, time_limit: float = 900):
        self.url, self.time_limit = database_url, time_limit
        self.samples = 0
        self.waits: Counter[str] = Counter()
        self.notes: dict[tuple, dict[str, Any]] = {}
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ActivitySampler:
        if self.url and self.url.startswith("postgresql"):
            self._thread = threading.Thread(target=self._run, name="pg-activity", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def _run(self) -> None:
        engine = sa.create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        deadline = time.monotonic() + self.time_limit
        try:
            with engine.connect() as connection:
                while not self._stop.is_set() and time.monotonic() < deadline:
                    self._note(connection.execute(_SAMPLE).mappings().all())
                    self._stop.wait(INTERVAL)
        except sa.exc.SQLAlchemyError as error:  # the round goes on unsampled
            self.error = repr(error)[:300]
        finally:
            engine.dispose()

    def _note(self, rows) -> None:
        self.samples += 1
        for row in rows:
            active = row["state"] == "active"
            wait = f"{row['wait_type']}/{row['wait_event']}" if row["wait_type"] else "CPU"
            if row["backend_type"] != "client backend":  # autovacuum, checkpointer, ...
                if active or row["wait_type"] not in ("", "Activity"):
                    self.waits[f"{row['backend_type']}: {wait}"] += 1
                continue
            if active:
                self.waits[wait] += 1
            long_query = active and (row["query_ms"] or 0) >= LONG_MS
            idle_in_transaction = (row["state"] or "").startswith("idle in")
            long_idle = idle_in_transaction and (row["xact_ms"] or 0) >= LONG_MS
            if long_query or long_idle or row["blocked_by"]:
                key = (row["pid"], row["query_start"])
                note = self.notes.setdefault(key, {"pid": row["pid"], "query": row["query"],
                                                   "ms": 0.0, "waits": Counter(),
                                                   "blocked": False})  # fmt: skip
                age = row["xact_ms"] if long_idle else row["query_ms"]
                note["ms"] = round(max(note["ms"], age or 0), 1)
                note["state"] = row["state"]
                note["waits"][wait] += 1
                note["blocked"] |= bool(row["blocked_by"])

    def summary(self) -> dict[str, Any]:
        """The samples taken, the active samples by wait event, and the longest notes."""
        longest = sorted(self.notes.values(), key=lambda note: -note["ms"])[:KEPT]
        result: dict[str, Any] = {
            "samples": self.samples,
            "interval_s": INTERVAL,
            "active_by_wait": dict(self.waits.most_common()),
            "long": [{**note, "waits": dict(note["waits"])} for note in longest],
        }
        if self.error:
            result["error"] = self.error
        return result
