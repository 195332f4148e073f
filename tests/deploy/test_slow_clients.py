"""Slow clients cannot starve the workers of deploy/gunicorn.conf.py, with no proxy in front.

Issue 20 found two connections that sent their headers slowly enough to block a 2-worker
gunicorn with sync workers: a normal request waited 32.9 s, until the worker timeout killed
both workers. Here gunicorn runs with the real deploy/gunicorn.conf.py (only its bind and its
worker count overridden, through the environment variables it reads) on a small SQLite catalog;
20 connections trickle a request's headers a byte a second, and meanwhile normal requests must
each be answered within the issue's bound of 1 s. Then every trickling connection must have
been closed by the server within the time the configuration gives a client for its headers,
and no worker may have grown past the issue's memory bound.
"""

from __future__ import annotations

import http.client
import os
import runpy
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from flask_migrate import upgrade
from gunicorn.config import Config

from catalog.extensions import db
from tests.conftest import PROJECT_ROOT, make_app
from tests.factories import item_data, publish
from tests.staff.test_concurrent_workers import TIMEOUT, answers, free_port

CONFIG = PROJECT_ROOT / "deploy" / "gunicorn.conf.py"
TRICKLERS = 20
TRICKLE_EVERY = 1.0  # seconds between two bytes of one trickling connection
SETTLE = 1.5  # seconds of trickling before the first normal request: every connection is in
NORMAL = ("/", "/api/v1/items", "/", "/api/v1/items")
BOUND = 1.0  # seconds: the acceptance bound for a normal request
WAIT = 5.0  # seconds a normal request may take before the test calls the server starved
WORKER_MEMORY = 250 * 1024 * 1024  # bytes: the bound on a worker's peak resident size
# A request that never ends: the request line, then a header value a byte a second.
SLOW_REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: trickle\r\nX-Slow: " + b"a" * 200


@contextmanager
def deployed_gunicorn(env: dict[str, str], log: Path) -> Iterator[int]:
    """gunicorn -c deploy/gunicorn.conf.py with 2 workers on a free loopback port, in its own
    process group, which is killed if it does not stop in time."""
    port = free_port()
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2"}
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(CONFIG)],
            cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + TIMEOUT
        while log.read_text().count("Booting worker with pid") < 2 or not answers(port):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "gunicorn did not start:\n" + log.read_text()
            time.sleep(0.1)
        yield port
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=TIMEOUT)
                break


class Tricklers:
    """`count` connections sending SLOW_REQUEST a byte every TRICKLE_EVERY seconds from one
    thread, noting when the server closes each; all closed on leaving the `with` block."""

    def __init__(self, port: int, count: int):
        address = ("127.0.0.1", port)
        self.sockets = [socket.create_connection(address, TIMEOUT) for _ in range(count)]
        self.closed_at: dict[int, float] = {}  # index -> time.monotonic() the server closed it
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)

    def __enter__(self) -> Tricklers:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=TIMEOUT)
        for connection in self.sockets:
            connection.close()

    def open(self) -> int:
        return len(self.sockets) - len(self.closed_at)

    def _trickle(self) -> None:
        for offset in range(len(SLOW_REQUEST)):  # bounded: the request runs out at last
            for index, connection in enumerate(self.sockets):
                if index not in self.closed_at and not self._send(connection, offset):
                    self.closed_at[index] = time.monotonic()
            if self._stop.wait(TRICKLE_EVERY):
                return

    @staticmethod
    def _send(connection: socket.socket, offset: int) -> bool:
        """Send the next byte; False once the server has closed the connection."""
        try:
            if select.select([connection], [], [], 0)[0] and not connection.recv(4096):
                return False  # the server closed it (an error response would be data first)
            connection.sendall(SLOW_REQUEST[offset : offset + 1])
        except OSError:
            return False
        return True


def normal_request(port: int, path: str) -> tuple[int | str, float]:
    """(status or the error, seconds) of a GET on a connection of its own."""
    start = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status, time.monotonic() - start
    except OSError as error:
        return repr(error), time.monotonic() - start
    finally:
        connection.close()


def peak_memory(pid: int) -> int:
    """A process's peak resident set size in bytes (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for {pid}")


@pytest.fixture(scope="module")
def small_catalog(tmp_path_factory) -> dict[str, str]:
    """The environment of a server on a SQLite file with three published items, made here
    through the services (a tenth of the time of `flask seed`)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('slow_clients') / 'catalog.sqlite3'}"
    with make_app(url).app_context():
        upgrade()
        publish(db, *(item_data(code=f"XCJT-90-{number:03d}") for number in range(3)))
        db.engine.dispose()
    return {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "slow-clients-test"}


def test_trickling_clients_do_not_delay_a_normal_request(small_catalog, tmp_path):
    settings = runpy.run_path(str(CONFIG))
    header_time = settings.get("keepalive", Config().keepalive)  # a client's time for its headers
    log = tmp_path / "gunicorn.log"
    with deployed_gunicorn(small_catalog, log) as port, Tricklers(port, TRICKLERS) as tricklers:
        time.sleep(SETTLE)
        answered = []
        for path in NORMAL:  # one after the other; a starved server fails at the first
            answered.append((path, *normal_request(port, path)))
            if answered[-1][1] != 200 or answered[-1][2] > BOUND:
                break
        still_open = tricklers.open()
        deadline = tricklers.started + header_time + TRICKLE_EVERY + 2  # bounded, then checked
        while tricklers.open() and time.monotonic() < deadline:
            time.sleep(0.1)
        cut_off = sorted(round(at - tricklers.started, 1) for at in tricklers.closed_at.values())
        workers = [
            int(line.rsplit(":", 1)[1]) for line in log.read_text().splitlines()
            if "Booting worker with pid" in line
        ]  # fmt: skip
        peaks = {pid: peak_memory(pid) for pid in workers if Path(f"/proc/{pid}").exists()}
    slow = [(path, status, round(took, 3)) for path, status, took in answered
            if status != 200 or took > BOUND]  # fmt: skip
    assert not slow, f"normal requests not answered within {BOUND} s: {slow}"
    assert still_open == TRICKLERS, "connections were dropped before the normal requests: no test"
    assert len(cut_off) == TRICKLERS, (
        f"{TRICKLERS - len(cut_off)} trickling connections still open after {header_time} s: "
        f"closed after {cut_off} s"
    )
    assert all(peak < WORKER_MEMORY for peak in peaks.values()), peaks
