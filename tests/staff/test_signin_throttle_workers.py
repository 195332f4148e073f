"""The sign-in throttle counts once for all gunicorn workers, on SQLite and on PostgreSQL.

With Flask-Limiter's memory:// storage each worker process counted apart: the limit of 5
failures per account let 10 through with 2 workers and 33 of 45 with 8. Here the real app runs
under gunicorn with WORKERS worker processes (gevent ones, as deploy/gunicorn.conf.py deploys
them, and sync ones) and its default storage, the app's own database, nothing else configured.
Wrong passwords leave together from threads released by a barrier, so that the workers serve
them at the same moment: exactly as many are checked as the limits allow, whichever workers
serve them. gunicorn trusts one proxy hop (PROXY_FIX_HOPS=1), so each round names its client
addresses in X-Forwarded-For and the rounds do not share an address's count. The sign-in
redirect is checked over the same sockets: the Location header exactly as gunicorn sends it.
"""

from __future__ import annotations

import os
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import PROJECT_ROOT, temporary_postgres_database
from tests.staff.conftest import PASSWORD
from tests.test_cli import flask
from tests.workers import (
    ACCESS_LOG,
    CSRF,
    TIMEOUT,
    Browser,
    create_editors,
    free_port,
    gunicorn,
)

WORKERS = 4
ACCOUNTS = ("editor_a", "editor_b", "editor_c")  # locked out by the first round
SIGNER = "editor_d"  # signs in for the redirect checks
PER_ACCOUNT, PER_ADDRESS = 5, 20  # the defaults: 5 and 20 failures in 10 minutes


SETUPS = {
    # the deployed configuration: deploy/gunicorn.conf.py, gevent workers (many requests of a
    # worker at once, each its own greenlet and connection)
    "gevent": ["-c", str(PROJECT_ROOT / "deploy" / "gunicorn.conf.py")],
    "sync": ["--worker-class", "sync", "wsgi:app"],  # one request at a time per worker
}


@pytest.fixture(
    scope="module",
    params=[(db, setup) for db in ("sqlite", "postgresql") for setup in SETUPS],
    ids=lambda param: "-".join(param),
)
def server(request, tmp_path_factory) -> Iterator[tuple[int, Path, sa.Engine]]:
    """gunicorn with WORKERS workers on a database with editor accounts; one per database and
    worker setup for the module (each round uses accounts and addresses of its own)."""
    backend, setup = request.param
    tmp_path = tmp_path_factory.mktemp(f"throttle_{backend}_{setup}")
    with database(backend, tmp_path) as url:
        port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "gunicorn-test-secret",
               "PROXY_FIX_HOPS": "1", "GUNICORN_BIND": f"127.0.0.1:{port}",
               "GUNICORN_WORKERS": str(WORKERS)}  # fmt: skip
        env.pop("RATELIMIT_STORAGE_URI", None)  # the default: the app's database
        assert flask(url, "db", "upgrade").returncode == 0
        create_editors(url, (*ACCOUNTS, SIGNER))
        log, engine = tmp_path / "gunicorn.log", sa.create_engine(url)
        args = [*SETUPS[setup], "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}",
                *ACCESS_LOG]  # fmt: skip
        try:
            with gunicorn(args, env, log, port=port, workers=WORKERS):
                yield port, log, engine
        finally:
            engine.dispose()


@contextmanager
def database(backend: str, tmp_path: Path) -> Iterator[str]:
    """A throw-away database: a SQLite file that every worker opens, or PostgreSQL."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
        return
    with temporary_postgres_database("catalog_throttle") as url:
        yield url


class Client(Browser):
    """A browser behind the proxy: its address is what X-Forwarded-For says."""

    def __init__(self, port: int, address: str):
        super().__init__(port, {"X-Forwarded-For": address})

    def form(self, path: str = "/staff/login") -> dict[str, str]:
        status, _location, page = self.request("GET", path)
        assert status == 200, page[:500]
        return {"csrf_token": CSRF.search(page).group(1)}


def at_once(port: int, attempts: list[tuple[str, str, str]], race: str) -> list[int]:
    """Each (address, username, password) POSTed to the sign-in form from its own thread
    and its own session, all released together; their statuses, in order."""
    clients = [Client(port, address) for address, _name, _password in attempts]
    tokens = [client.form() for client in clients]
    barrier, statuses = threading.Barrier(len(attempts)), [0] * len(attempts)

    def post(index: int) -> None:
        _address, username, password = attempts[index]
        fields = {**tokens[index], "username": username, "password": password}
        barrier.wait(timeout=TIMEOUT)
        statuses[index] = clients[index].request("POST", "/staff/login", fields, race)[0]

    threads = [threading.Thread(target=post, args=(n,)) for n in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT * 2)
    assert all(statuses), statuses
    return statuses


def workers_that_served(log: Path, race: str) -> set[str]:
    return set(re.findall(rf"access pid=<?(\d+)>? race={re.escape(race)} ", log.read_text()))


def test_each_account_lets_exactly_five_wrong_passwords_through(server):
    """Fifteen wrong passwords for each of three accounts at once, each from an address of
    its own (the address limit stays out of it): five of each are checked (401), the rest
    refused (429), and a right password is refused as well while the lockout lasts."""
    port, log, _engine = server
    attempts = [
        (f"10.1.{account}.{n}", name, f"wrong-{n}-password")
        for account, name in enumerate(ACCOUNTS)
        for n in range(15)
    ]
    statuses = at_once(port, attempts, "accounts")
    served = list(zip((name for _address, name, _password in attempts), statuses, strict=True))
    by_account = {
        name: Counter(status for who, status in served if who == name) for name in ACCOUNTS
    }
    assert by_account == {name: {401: PER_ACCOUNT, 429: 15 - PER_ACCOUNT} for name in ACCOUNTS}
    assert len(workers_that_served(log, "accounts")) >= 2, log.read_text()[-3000:]

    locked = Client(port, "10.1.9.1")
    fields = {**locked.form(), "username": "editor_a", "password": PASSWORD}
    status, _location, page = locked.request("POST", "/staff/login", fields)
    assert status == 429 and "请 10 分钟后再试" in page


def test_an_address_lets_exactly_twenty_wrong_passwords_through(server):
    """Thirty wrong passwords from one address at once, each for another name (the account
    limit stays out of it): twenty are checked, ten refused."""
    port, log, _engine = server
    attempts = [("10.2.0.1", f"nobody{n}", "wrong-password") for n in range(30)]
    statuses = at_once(port, attempts, "address")
    assert Counter(statuses) == {401: PER_ADDRESS, 429: 30 - PER_ADDRESS}
    assert len(workers_that_served(log, "address")) >= 2, log.read_text()[-3000:]


def test_the_counters_are_rows_of_the_apps_database(server):
    _port, _log, engine = server
    with engine.connect() as connection:
        rows = dict(connection.execute(sa.text("SELECT key, count FROM throttle_counter")).all())
    accounts = {key: count for key, count in rows.items() if "/signin-account/editor_" in key}
    assert sorted(accounts.values()) == [15, 15, 16]  # each attempt counted, refused or not
    assert rows[next(key for key in rows if "/signin-address/10.2.0.1/" in key)] == 30


# (the query string's next, as sent) -> the Location header, as gunicorn sends it
REDIRECTS = {
    "/%09/evil.com": "/staff/",
    "/%0a/x": "/staff/",
    "/%0d/x": "/staff/",
    "/%5C%5Cevil.com": "/staff/",
    "/%2F%2Fevil.com": "/staff/",
    "https://evil.com": "/staff/",
    "%E3%80%80//evil.com": "/staff/",
    "/staff/audit": "/staff/audit",
}


@pytest.mark.parametrize(("query", "location"), REDIRECTS.items(), ids=list(REDIRECTS))
def test_a_sign_in_redirects_only_to_this_site_over_the_wire(server, query, location):
    port, _log, _engine = server
    client = Client(port, f"10.3.0.{list(REDIRECTS).index(query) + 1}")
    path = f"/staff/login?next={query}"
    fields = {**client.form(path), "username": SIGNER, "password": PASSWORD}
    status, sent, _page = client.request("POST", path, fields)
    assert (status, sent) == (302, location)
