"""Servers on loopback and the clients that time them. Every server is stopped (its whole
process group) whatever happens; every loop is bounded in count and in time."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DATA = ROOT / "bench" / "data"
SECRET = "bench-secret-key"
# gunicorn's access log line: when, status, milliseconds in the worker, the request line
ACCESS_FORMAT = '%(t)s %(s)s %(M)sms "%(r)s"'


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A server process on loopback; always stopped (its whole process group)."""

    def __init__(self, name: str, command: list[str], port: int, ready_path: str, env=None):
        self.name, self.port, self.ready_path = name, port, ready_path
        self.log = open(DATA / f"{name}.log", "w")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited; see {self.log.name}")
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                connection.request("GET", self.ready_path)
                if connection.getresponse().status < 500:
                    return
            except OSError:
                pass
            finally:
                connection.close()  # a kept-alive connection is not left to the collector
            time.sleep(0.3)
        raise SystemExit(f"{self.name} not ready after {timeout} s; see {self.log.name}")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids = [int(pid) for pid in children.read_text().split()] if children.exists() else []
        return pids or [self.process.pid]

    def peak_memory_mb(self) -> float:
        """The largest peak resident set (VmHWM) among the server's serving processes."""
        peaks = []
        for pid in self.worker_pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peaks.append(int(line.split()[1]) / 1024)
        return round(max(peaks, default=0.0), 1)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
        self.log.close()


@contextlib.contextmanager
def serving(*servers_args) -> Iterator[list[Server]]:
    servers: list[Server] = []
    try:
        for args in servers_args:
            servers.append(Server(*args))
        for server in servers:
            server.wait_ready()
        yield servers
    finally:
        for server in servers:
            server.stop()


def gunicorn(name: str, database_url: str) -> tuple:
    """The app as deployed: gunicorn with deploy/gunicorn.conf.py (gevent, APP_SLOTS requests in
    the app at once, PostgreSQL's waits yielding to the other requests), one worker; each
    request's line, status and time in the worker go to the server's log (bench/data/). The
    timeout is the bench's (a snapshot of a province may take minutes), and the worker is not
    recycled: deployed, the other workers serve while one restarts, where here the only one
    would stall the clients for its restart."""
    port = free_port()
    command = [str(BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
               "--workers", "1", "--bind", f"127.0.0.1:{port}", "--timeout", "300",
               "--max-requests", "0", "--access-logfile", "-",
               "--access-logformat", ACCESS_FORMAT]  # fmt: skip
    env = {"DATABASE_URL": database_url, "SECRET_KEY": SECRET}
    return (name, command, port, "/api/v1/items?q=&limit=1", env)


def datasette(database: Path) -> tuple:
    """Datasette tuned as it would be for this: immutable, suggested facets off. It names an
    immutable database after its file, so it serves a link named catalog.sqlite3."""
    port = free_port()
    link = DATA / "catalog.sqlite3"
    link.unlink(missing_ok=True)
    link.symlink_to(database.name)
    command = [str(BIN / "datasette"), "serve", "-i", str(link), "--port", str(port),
               "--setting", "suggest_facets", "off", "--setting", "sql_time_limit_ms",
               "20000"]  # fmt: skip
    return ("datasette", command, port, "/-/versions.json", {})


class Client:
    """One keep-alive connection: what one citizen's browser holds."""

    def __init__(self, port: int, timeout: float = 120):
        self.port, self.timeout = port, timeout
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def get(self, path: str) -> tuple[float, bool]:
        """The milliseconds a GET took and whether it failed (status >= 400 or no answer)."""
        started = time.perf_counter()
        try:
            self.connection.request("GET", path)
            response = self.connection.getresponse()
            response.read()
            failed = response.status >= 400
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                         timeout=self.timeout)  # fmt: skip
            failed = True
        return (time.perf_counter() - started) * 1000, failed

    def close(self) -> None:
        self.connection.close()


@dataclass(frozen=True)
class Timed:
    """One request of a concurrent round: what was asked, how long it took, when it began
    (seconds after the round began) and on which of the round's connections."""

    path: str
    ms: float
    failed: bool
    at_s: float
    client: int


def concurrent(port: int, paths: list[str], *, clients: int,
               time_limit: float) -> tuple[list[Timed], float]:  # fmt: skip
    """Each path GET once, from `clients` keep-alive connections taking the next path as they
    come free; stops early at `time_limit` seconds. Every request timed, and the wall time."""
    timed: list[Timed] = []
    lock = threading.Lock()
    pending = iter(paths)
    deadline = time.monotonic() + time_limit
    started = time.perf_counter()

    def worker(number: int) -> None:
        client = Client(port)
        for path in pending:
            if time.monotonic() > deadline:
                break
            at = time.perf_counter() - started
            elapsed, failed = client.get(path)
            with lock:
                timed.append(Timed(path, round(elapsed, 2), failed, round(at, 3), number))
        client.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(time_limit + 300)
    return timed, time.perf_counter() - started


def repeated(port: int, paths: list[str], count: int, time_limit: float) -> tuple[list, int]:
    """`count` GETs cycling over paths from one client (the cached rows: the same searches
    again); the latencies and the errors."""
    client = Client(port)
    latencies, errors = [], 0
    deadline = time.monotonic() + time_limit
    try:
        for index in range(count):
            if time.monotonic() > deadline:
                break
            elapsed, failed = client.get(paths[index % len(paths)])
            latencies.append(elapsed)
            errors += failed
    finally:
        client.close()
    return latencies, errors
