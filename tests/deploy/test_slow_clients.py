"""Slow clients cannot starve the workers of deploy/gunicorn.conf.py, with no proxy in front.

Issue 20 found two connections that sent their headers slowly enough to block a 2-worker
gunicorn with sync workers: a normal request waited 32.9 s, until the worker timeout killed
both workers. Here gunicorn runs with the real deploy/gunicorn.conf.py on a small SQLite
catalog, overriding only what its environment variables let a test override (the bind address,
2 workers, a body deadline of BODY_SECONDS instead of a minute). 20 connections trickle a
request's headers, or a POST's body, a byte a second; meanwhile normal requests must each be
answered within the issue's bound of 1 s. Then every trickling connection must have been let go
within the configuration's deadline (its headers: closed; its body: 408), and no worker may
have grown past the issue's memory bound.
"""

from __future__ import annotations

import http.client
import os
import re
import runpy
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest
from flask_migrate import upgrade
from gunicorn.config import Config

from catalog.extensions import db
from tests.conftest import PROJECT_ROOT, make_app
from tests.factories import item_data, publish
from tests.workers import CSRF, TIMEOUT, Browser, free_port, gunicorn

CONFIG = PROJECT_ROOT / "deploy" / "gunicorn.conf.py"
TRICKLERS = 20
TRICKLE_EVERY = 1.0  # seconds between two bytes of one trickling connection
SETTLE = 1.5  # seconds of trickling before the first normal request: every connection is in
NORMAL = ("/", "/api/v1/items", "/", "/api/v1/items")
BOUND = 1.0  # seconds: the acceptance bound for a normal request
WAIT = 5.0  # seconds a normal request may take before the test calls the server starved
BODY_SECONDS = 4  # the body deadline given to the server (GUNICORN_BODY_SECONDS)
WORKER_MEMORY = 250 * 1024 * 1024  # bytes: the bound on a worker's peak resident size
# A request whose headers never end: the request line, then a header value a byte a second.
SLOW_HEADERS = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: trickle\r\nX-Slow: " + b"a" * 200
# A sign-in whose headers come at once and whose body a byte a second.
SLOW_BODY_HEADERS = (
    b"POST /staff/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\n"
)
SLOW_BODY = b"username=" + b"a" * 191


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[int, Path]]:
    """gunicorn -c deploy/gunicorn.conf.py with 2 workers on a free loopback port and a SQLite
    file with three published items (made here through the services: a tenth of the time of
    `flask seed`), in its own process group, which is killed if it does not stop in time."""
    folder = tmp_path_factory.mktemp("slow_clients")
    url = f"sqlite:///{folder / 'catalog.sqlite3'}"
    with make_app(url).app_context():
        upgrade()
        publish(db, *(item_data(code=f"XCJT-90-{number:03d}") for number in range(3)))
        db.engine.dispose()
    port, log = free_port(), folder / "gunicorn.log"
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "slow-clients-test",
           "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2",
           "GUNICORN_BODY_SECONDS": str(BODY_SECONDS)}  # fmt: skip
    with gunicorn(["-c", str(CONFIG)], env, log, port=port, workers=2):
        yield port, log


class Tricklers:
    """`count` connections that each send `head` at once, then `trickle` a byte every
    TRICKLE_EVERY seconds, all from one thread, noting what the server answers each and when it
    closes each; all closed on leaving the `with` block."""

    def __init__(self, port: int, count: int, head: bytes, trickle: bytes):
        address = ("127.0.0.1", port)
        self.sockets = [socket.create_connection(address, TIMEOUT) for _ in range(count)]
        for connection in self.sockets:
            connection.sendall(head)
        self.trickle = trickle
        self.received = [b""] * count
        self.closed_at: dict[int, float] = {}  # index -> time.monotonic() the server closed it
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

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

    def wait_closed(self, seconds: float) -> list[float]:
        """Wait until the server has closed every connection or `seconds` since they began
        have passed; the seconds after which it closed each."""
        while self.open() and time.monotonic() < self.started + seconds:
            time.sleep(0.1)
        return sorted(round(at - self.started, 1) for at in self.closed_at.values())

    def _run(self) -> None:
        for offset in range(len(self.trickle)):  # bounded: the bytes run out at last
            for index in range(len(self.sockets)):
                if index not in self.closed_at and not self._send(index, offset):
                    self.closed_at[index] = time.monotonic()
            if self._stop.wait(TRICKLE_EVERY):
                return

    def _send(self, index: int, offset: int) -> bool:
        """Note what the server sent, send the next byte; False once the server closed."""
        connection = self.sockets[index]
        try:
            if select.select([connection], [], [], 0)[0]:
                data = connection.recv(4096)
                if not data:
                    return False
                self.received[index] += data
            connection.sendall(self.trickle[offset : offset + 1])
        except OSError:
            return False
        return True


def normal_requests(port: int) -> list[tuple[str, int | str, float]]:
    """(path, status or the error, seconds) of GETs of NORMAL, one after the other, each on a
    connection of its own; a starved server fails at the first, after WAIT seconds."""
    answered = []
    for path in NORMAL:
        start = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            answered.append((path, response.status, time.monotonic() - start))
        except OSError as error:
            answered.append((path, repr(error), time.monotonic() - start))
            break
        finally:
            connection.close()
    return answered


def too_slow(answered: list[tuple[str, int | str, float]]) -> list[tuple]:
    return [(path, status, round(took, 3)) for path, status, took in answered
            if status != 200 or took > BOUND]  # fmt: skip


def peak_memory(log: Path) -> dict[int, int]:
    """Each live worker's peak resident set size in bytes (VmHWM)."""
    peaks = {}
    for pid in re.findall(r"Booting worker with pid: (\d+)", log.read_text()):
        status = Path(f"/proc/{pid}/status")
        with suppress(FileNotFoundError):
            line = next(ln for ln in status.read_text().splitlines() if ln.startswith("VmHWM:"))
            peaks[int(pid)] = int(line.split()[1]) * 1024
    return peaks


def test_trickling_headers_do_not_delay_a_normal_request(server):
    port, log = server
    settings = runpy.run_path(str(CONFIG))
    header_time = settings.get("keepalive", Config().keepalive)  # a client's time for its headers
    with Tricklers(port, TRICKLERS, b"", SLOW_HEADERS) as tricklers:
        time.sleep(SETTLE)
        answered = normal_requests(port)
        still_open = tricklers.open()
        closed_after = tricklers.wait_closed(header_time + TRICKLE_EVERY + 2)
    assert not too_slow(answered), f"not answered within {BOUND} s: {too_slow(answered)}"
    assert still_open == TRICKLERS, "connections were dropped before the normal requests: no test"
    assert len(closed_after) == TRICKLERS, (
        f"{TRICKLERS - len(closed_after)} connections still sending headers after "
        f"{header_time} s; the others closed after {closed_after} s"
    )
    assert all(received == b"" for received in tricklers.received)  # closed, not answered
    assert all(peak < WORKER_MEMORY for peak in peak_memory(log).values()), peak_memory(log)


def test_trickling_bodies_do_not_delay_a_normal_request(server):
    port, log = server
    with Tricklers(port, TRICKLERS, SLOW_BODY_HEADERS, SLOW_BODY) as tricklers:
        time.sleep(SETTLE)
        answered = normal_requests(port)
        browser = Browser(port)  # a sign-in, its body read ahead of the app like the others'
        token = CSRF.search(browser.request("GET", "/staff/login")[2]).group(1)
        fields = {"username": "nobody", "password": "wrong", "csrf_token": token}
        sign_ins = []  # a form, and one the size of an upload (read ahead into a file)
        for padding in ("", "x" * 200_000):
            start = time.monotonic()
            status = browser.request("POST", "/staff/login", {**fields, "padding": padding})[0]
            sign_ins.append((len(padding), status, round(time.monotonic() - start, 3)))
        still_open = tricklers.open()
        closed_after = tricklers.wait_closed(BODY_SECONDS + TRICKLE_EVERY + 2)
    assert not too_slow(answered), f"not answered within {BOUND} s: {too_slow(answered)}"
    # Refused for the password, so each form was read whole (a lost CSRF token would be a 400).
    assert all(status == 401 and took <= BOUND for _, status, took in sign_ins), sign_ins
    assert still_open == TRICKLERS, "connections were dropped before the normal requests: no test"
    statuses = [received.split(b"\r\n", 1)[0].decode() for received in tricklers.received]
    assert statuses == ["HTTP/1.1 408 Request Timeout"] * TRICKLERS, (statuses, closed_after)
    assert all(peak < WORKER_MEMORY for peak in peak_memory(log).values()), peak_memory(log)
