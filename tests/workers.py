"""The real app under gunicorn, for the tests of what only several worker processes show (races,
a limit counted once for all workers, slow clients), and a plain HTTP client for it.

Each of those modules starts gunicorn its own way (workers, worker class, configuration file,
database); how it is started, waited for and stopped is here, once.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from tests.conftest import PROJECT_ROOT
from tests.staff.conftest import PASSWORD

TIMEOUT = 30  # seconds: the bound of every wait
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
# The access log line of each request: which worker served it, the test's X-Race tag, the status.
ACCESS_LOG = ["--access-logfile", "-",
              "--access-logformat", "access pid=%(p)s race=%({x-race}i)s status=%(s)s"]  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(args: Sequence[str], env: Mapping[str, str], log: Path, *, port: int,
             workers: int) -> Iterator[subprocess.Popen]:  # fmt: skip
    """`python -m gunicorn <args>` in the project, in a process group of its own, its output in
    `log`; yielded once `workers` workers have loaded and warmed the app (wsgi.py logs "Worker
    ready": gunicorn's "Booting worker" comes at the fork, and a race begun then met one
    worker, the others still loading) and the app answers on `port`. On leaving,
    the whole group (master and workers) is sent SIGTERM, then SIGKILL if it has not stopped."""
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *args], cwd=PROJECT_ROOT, env=dict(env),
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + TIMEOUT
        while log.read_text().count("Worker ready (pid:") < workers or not answers(port):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "gunicorn did not start:\n" + log.read_text()
            time.sleep(0.1)
        yield process
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=TIMEOUT)
                break


def answers(port: int) -> bool:
    try:
        return Browser(port).request("GET", "/staff/login")[0] == 200
    except OSError:
        return False


class Browser:
    """One person's browser: its own session cookie, a new connection for each request."""

    def __init__(self, port: int, headers: dict[str, str] | None = None):
        self.port, self.cookies, self.headers = port, SimpleCookie(), headers or {}

    def connect(self) -> http.client.HTTPConnection:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        connection.connect()
        return connection

    def request(self, method, path, fields=None, race="-", connection=None):
        """(status, Location, body) of one request; 3xx are not followed."""
        connection = connection or self.connect()
        cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in self.cookies.items())
        headers = {**self.headers, "X-Race": race, "Cookie": cookie}
        body = None
        if fields is not None:
            body = urlencode(fields, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            for cookie in response.headers.get_all("Set-Cookie") or []:
                self.cookies.load(cookie)
            return response.status, response.getheader("Location"), response.read().decode()
        finally:
            connection.close()

    def sign_in(self, username: str) -> None:
        token = CSRF.search(self.request("GET", "/staff/login")[2]).group(1)
        fields = {"username": username, "password": PASSWORD, "csrf_token": token}
        status, location, _ = self.request("POST", "/staff/login", fields)
        assert status == 302 and location == "/staff/", (status, location)


def create_editors(database_url: str, names: Sequence[str]) -> None:
    """Editor accounts with PASSWORD on a migrated database, made in this process through the
    service `flask create-user` calls: one app instead of a `flask` process each (about 2.6 s
    apiece; the command itself is tested in tests/staff/test_editing.py)."""
    from catalog.extensions import db
    from catalog.operations.accounts import create_account
    from catalog.operations.actor import COMMAND_LINE
    from tests.conftest import make_app

    app = make_app(database_url)
    with app.app_context():
        try:
            for name in names:
                create_account(name, PASSWORD, "editor", actor=COMMAND_LINE)
            db.session.commit()
        finally:
            db.session.remove()
            db.engine.dispose()
