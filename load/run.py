"""make load: public readers and racing editors against gunicorn on a throw-away PostgreSQL.

One bounded run on loopback: create a database, seed it, add the staff accounts, serve the app
under gunicorn, then for a fixed time drive concurrent public readers (keep-alive connections)
while staff sessions edit the same 20 handling items and now and then publish a draft. Then
check against the database: no 5xx, every accepted edit in the audit trail exactly once, every
rejected one a 409 that left no trace, each item's final value the last accepted edit's, and
the served report equal to the ratio engine's on the final data. Prints the figures and the
checks; exits 1 when a check fails. gunicorn is stopped and the database dropped whatever
happens; every loop is bounded in count and time, and the whole run by a hard deadline.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # config.py and the tests' form reader live at the top level

import sqlalchemy as sa  # noqa: E402

from tests.staff.forms import read_form  # noqa: E402

SERVER = os.environ.get("LOAD_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1/postgres")
SECRET = "load-run-secret-key"  # one key for every worker, else cookies fail across them
PASSWORD = "许昌交通运输2026负载"
TERMS = ["道路", "许可", "出租车", "港口", "网约车", "危货", "驾培", "运输", "daolu", "dlys",
         "chuzuche", "wyc", "gkjyxk"]  # fmt: skip
READS = ("search", "guide", "api_search", "reports", "api_report")
TARGETS = 20  # handling items the editors share
PUBLISH_EVERY = 5  # an editor publishes after every 5th of their edits that is accepted
TIMEOUT = 30  # seconds: any one request, any wait for gunicorn
MAX_LOOPS = 100_000  # the count bound of every thread's loop
HEADROOM = 180  # seconds beyond --seconds for setup and checks: the hard deadline of the run
# gunicorn as deployed (deploy/gunicorn.conf.py: gevent workers, whose greenlets overlap the
# waits on PostgreSQL and keep the readers' keep-alive connections), with 2 processes for 2
# cores (rendering and search are CPU-bound; two processes also make saves race across
# processes as in production).
CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
WORKERS = 2


@dataclass
class Edit:
    editor: str
    handling: str
    item: str
    reason: str
    seen: int  # the promised days the form showed
    promised: int  # the promised days it saved
    outcome: str  # accepted (302 to the item), conflict (409 conflict page), other
    status: int


class Tally:
    """What every thread saw, under one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.status: Counter[tuple[str, int]] = Counter()  # (kind, status); 0: no answer
        self.edits: list[Edit] = []
        self.publishes: Counter[str] = Counter()
        self.problems: list[str] = []
        self.reconnects = 0

    def request(self, kind: str, status: int, seconds: float, note: str = "") -> None:
        with self.lock:
            self.status[kind, status] += 1
            self.latency[kind].append(seconds)
            if (status >= 500 or status == 0) and len(self.problems) < 10:
                self.problems.append(f"{kind} {status} {note[:300]}")


class Browser:
    """A staff member's browser: a session cookie, a fresh connection for every request."""

    def __init__(self, port: int, tally: Tally):
        self.port, self.tally, self.cookies = port, tally, SimpleCookie()

    def request(self, kind, method, path, fields=None) -> tuple[int, str | None, str]:
        """(status, Location, body); 3xx are not followed."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        headers = {"Cookie": "; ".join(f"{k}={m.value}" for k, m in self.cookies.items())}
        body = None if fields is None else urlencode(fields, doseq=True)
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            for cookie in response.headers.get_all("Set-Cookie") or []:
                self.cookies.load(cookie)
            result = response.status, response.getheader("Location"), response.read().decode()
        except (OSError, http.client.HTTPException) as exc:
            result = 0, None, repr(exc)
        finally:
            connection.close()
        self.tally.request(kind, result[0], time.perf_counter() - started, f"{path} {result[2]}")
        return result

    def form(self, kind: str, page: str, action: str | None) -> tuple[str, dict[str, list[str]]]:
        """The page, and its form posting to `action` as a browser submits it ({}: none)."""
        status, _, html = self.request(kind, "GET", page)
        fields: dict[str, list[str]] = {}
        for name, value in read_form(html, action) if status == 200 else ():
            fields.setdefault(name, []).append(value)
        return html, fields

    def sign_in(self, username: str) -> None:
        _, fields = self.form("staff_login", "/staff/login", None)  # its form has no action
        fields.update(username=[username], password=[PASSWORD])
        status, location, _ = self.request("staff_login", "POST", "/staff/login", fields)
        if (status, location) != (302, "/staff/"):
            raise RuntimeError(f"{username} could not sign in: {status} {location}")


def read_loop(port: int, end: float, seed: int, guides: list[str], tally: Tally) -> None:
    """One public reader on one keep-alive connection, until `end`."""
    rng = random.Random(seed)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    for _ in range(MAX_LOOPS):
        if time.monotonic() >= end:
            break
        term = quote(rng.choice(TERMS))
        kind, path = rng.choice([
            ("search", f"/items?q={term}"), ("guide", f"/items/{rng.choice(guides)}"),
            ("api_search", f"/api/v1/items?q={term}"), ("reports", "/reports"),
            ("api_report", "/api/v1/report"),
        ])  # fmt: skip
        started = time.perf_counter()
        for attempt in (1, 2):  # the server may close an idle keep-alive connection: reopen once
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                body = response.read().decode(errors="replace")
                tally.request(kind, response.status, time.perf_counter() - started, body)
                break
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                retry = attempt == 1 and isinstance(exc, ConnectionResetError | BrokenPipeError)
                tally.reconnects += retry
                if not retry:
                    tally.request(kind, 0, time.perf_counter() - started, f"{path} {exc!r}")
                    break
    connection.close()


def edit_loop(browser: Browser, name: str, targets, end: float, seed: int, tally: Tally) -> None:
    """One editor: open a shared handling item, change its promised days, save; after every
    PUBLISH_EVERY-th accepted edit, publish the item's draft."""
    rng, accepted = random.Random(seed), 0
    for n in range(1, MAX_LOOPS):
        if time.monotonic() >= end:
            break
        handling, item = rng.choice(targets)
        path = f"/staff/handling/{handling}/edit"
        _, fields = browser.form("staff_edit_form", path, path)
        if not fields:
            tally.edits.append(Edit(name, handling, item, "", -1, -1, "other", 0))
            continue
        statutory, current = int(fields["statutory_days"][0]), int(fields["promised_days"][0])
        promised = rng.choice([days for days in range(statutory + 1) if days != current])
        reason = f"load-{name}-{n}"
        fields.update(promised_days=[str(promised)], reason=[reason], acknowledge=["y"],
                      action=["save"])  # fmt: skip
        time.sleep(rng.uniform(0.05, 0.3))  # reading the form: others may save meanwhile
        status, location, body = browser.request("staff_save", "POST", path, fields)
        outcome = "other"
        if (status, location) == (302, f"/staff/items/{item}"):
            outcome = "accepted"
        elif status == 409 and "修改冲突" in body:  # the conflict page
            outcome = "conflict"
        tally.edits.append(Edit(name, handling, item, reason, current, promised, outcome, status))
        accepted += outcome == "accepted"
        if outcome == "accepted" and accepted % PUBLISH_EVERY == 0:
            publish(browser, item, tally)


def publish(browser: Browser, item: str, tally: Tally) -> None:
    """Submit the item's draft for review and publish it from its staff page, as a reviewer
    does (the page's one review form posts to each action by its buttons)."""
    action = f"/staff/items/{item}/publish"
    page, fields = browser.form("staff_item", f"/staff/items/{item}", None)
    fields = {k: v for k, v in fields.items() if k in ("csrf_token", "version", "note")}
    if "version" in fields and 'formaction="/staff/items/' + item + '/submit"' in page:
        browser.request("staff_submit", "POST", f"/staff/items/{item}/submit", fields)
        page, fields = browser.form("staff_item", f"/staff/items/{item}", None)
        fields = {k: v for k, v in fields.items() if k in ("csrf_token", "version", "note")}
    if "version" not in fields or f'formaction="{action}"' not in page:
        tally.publishes["no draft"] += 1  # someone published it first: no draft to review
        return
    # A draft whose edits cancelled out changes nothing (its publish is audited all the same).
    no_op = '<td class="new">' not in page.split('id="draft-heading"')[-1].split("</section>")[0]
    status, location, _ = browser.request("staff_publish", "POST", action, fields)
    page = browser.request("staff_item", "GET", location)[2] if status == 302 else ""
    if "<p>已审核通过并发布。</p>" in page:
        tally.publishes["published (no change)" if no_op else "published"] += 1
    else:
        if "已被他人修改" in page:
            tally.publishes["conflict"] += 1
        elif "没有待发布的草稿" in page:  # published by another reviewer in the meantime
            tally.publishes["no draft"] += 1
        else:
            tally.publishes["other"] += 1


@contextmanager
def throwaway_database():
    admin = sa.create_engine(SERVER, isolation_level="AUTOCOMMIT")
    name = f"catalog_load_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield sa.make_url(SERVER).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def flask(env: dict[str, str], *args: str, stdin: str = "") -> None:
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args], input=stdin, env=env, cwd=ROOT,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stderr}")


@contextmanager
def gunicorn(env: dict[str, str], log: Path):
    """gunicorn in its own process group on a free loopback port; the group is killed after."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(WORKERS)}
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(CONFIG)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        until = time.monotonic() + TIMEOUT
        while log.read_text().count("Booting worker") < WORKERS:
            if process.poll() is not None or time.monotonic() > until:
                raise RuntimeError("gunicorn did not start:\n" + log.read_text())
            time.sleep(0.2)
        served_report(port)  # it answers
        yield port
    finally:
        for sig, wait in ((signal.SIGTERM, TIMEOUT), (signal.SIGKILL, 5)):
            with suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=wait)
                break


def served_report(port: int) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        connection.request("GET", "/api/v1/report")
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


def database_state(url: str) -> dict:
    """What the database holds after the run, read in-process: the audit events, each handling
    item's promised days now (its draft's, else published), each draft's reason, and the
    report as the ratio engine (over the rows) and the SQL aggregates compute it."""
    from catalog import create_app
    from catalog.extensions import db
    from catalog.figures import catalog_figures, policy_exceptions
    from catalog.models import AuditEvent, HandlingItem, ItemDraft
    from catalog.report import report_document
    from catalog.reports.document import build_report
    from catalog.reports.rows import live_handling_rows, live_items

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET})
    as_served = lambda document: json.loads(app.json.dumps(document))  # noqa: E731
    with app.app_context():
        drafts = {d.item.code: d for d in db.session.scalars(sa.select(ItemDraft))}
        promised = {h.code: h.promised_days for h in db.session.scalars(sa.select(HandlingItem))}
        for draft in drafts.values():
            promised.update({h["code"]: h["promised_days"] for h in draft.data["handling_items"]})
        columns = (AuditEvent.action, AuditEvent.reason, AuditEvent.object_code)
        state = {
            "events": db.session.execute(sa.select(*columns).order_by(AuditEvent.id)).all(),
            "promised": promised,
            "draft_reasons": {code: draft.reason for code, draft in drafts.items()},
            "engine": as_served(build_report(live_items(), live_handling_rows())),
            "figures": as_served(report_document(catalog_figures(), policy_exceptions())),
        }
        db.session.remove()
        db.engine.dispose()
    return state


def checks(state: dict, served: list[dict], tally: Tally, log: str) -> list[tuple]:
    """(name, passed, detail) of every check."""
    drafts: dict[tuple[str, str], list[int]] = {}  # (reason, item): its draft events' positions
    last_draft: dict[str, str] = {}  # item: the reason of its last draft event
    publish_events = 0
    for position, (action, reason, code) in enumerate(state["events"]):
        if action == "draft":
            drafts.setdefault((reason, code), []).append(position)
            last_draft[code] = reason
        publish_events += action == "publish" and (reason or "").startswith("load-")
    by_outcome = defaultdict(list)
    for edit in tally.edits:
        by_outcome[edit.outcome].append(edit)
    accepted, conflicts = by_outcome["accepted"], by_outcome["conflict"]
    unrecorded = [e.reason for e in accepted if len(drafts.get((e.reason, e.item), ())) != 1]
    saved = {reason for reason, _item in drafts}
    leaked = [e.reason for e in conflicts if e.reason in saved]
    last: dict[str, Edit] = {}  # handling item: its last accepted edit, in audit order
    overwritten = []  # accepted saves whose form did not show the value they replaced
    for edit in sorted(accepted, key=lambda e: drafts.get((e.reason, e.item), [-1])[0]):
        before = last.get(edit.handling)
        if before is not None and edit.seen != before.promised:
            overwritten.append(f"{edit.reason} over {before.reason}")
        last[edit.handling] = edit
    now = state["promised"]
    wrong = [f"{code} {now[code]}, not {e.promised} ({e.reason})"
             for code, e in last.items() if now[code] != e.promised]  # fmt: skip
    stale = [c for c, reason in state["draft_reasons"].items() if reason != last_draft.get(c)]
    count = lambda test: sum(n for (k, s), n in tally.status.items() if test(k, s))  # noqa: E731
    errors, unanswered = count(lambda k, s: s >= 500), count(lambda k, s: s == 0)
    odd_reads = count(lambda k, s: k in READS and s not in (0, 200))
    restarts = log.count("Booting worker") - WORKERS
    engine, figures = state["engine"], state["figures"]
    for document in [engine, *served]:
        document.pop("generated_at", None)
    differs = sorted({k for doc in served for k in engine if doc.get(k) != engine[k]})
    off = sorted({k for doc in served for k in figures if doc.get(k) != figures[k]})
    published = tally.publishes["published"] + tally.publishes["published (no change)"]
    other = [(e.reason, e.status) for e in by_outcome["other"]]
    return [
        ("no 5xx response", errors == 0, f"{errors} 5xx, {unanswered} unanswered"),
        ("every read answered 200", odd_reads + unanswered == 0, f"{odd_reads} other statuses"),
        ("no worker restarted or timed out", restarts == 0 and "WORKER TIMEOUT" not in log,
         f"{restarts} restarts"),
        ("every accepted edit in the audit trail exactly once", not unrecorded,
         f"{len(accepted)} accepted, {len(unrecorded)} lost or doubled {unrecorded[:5]}"),
        ("every rejected edit was a 409 conflict", not other, f"other: {other[:5]}"),
        ("no conflicted edit saved", not leaked, f"{len(conflicts)} 409s; saved: {leaked[:5]}"),
        ("no accepted save overwrote a value its form did not show", not overwritten,
         f"{len(overwritten)} {overwritten[:5]}"),
        ("each edited value is its last accepted edit", not wrong,
         f"{len(last)} handling items; wrong: {wrong[:5]}"),
        ("each draft carries its item's last draft event", not stale, f"stale: {stale[:5]}"),
        ("every publish has its audit event", publish_events == published,
         f"{publish_events} events, {published} seen"),
        ("/api/v1/report == build_report(live rows)", not differs, f"differs in {differs}"),
        ("/api/v1/report == catalog_figures()", not off,
         f"differs in {off}; compression {engine['compression']['percent']} %"),
    ]  # fmt: skip


def drive(port: int, args, url: str, names: list[str], tally: Tally) -> tuple[float, int]:
    """Readers and editors together until the time is up: (seconds taken, threads alive).
    The editors share the first promised-type handling items by code with at least 2
    statutory days, so that their promised days can change."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        guides = list(connection.scalars(sa.text("SELECT code FROM approval_item")))
        targets = connection.execute(sa.text(
            "SELECT h.code, i.code FROM handling_item h JOIN approval_item i ON i.id = h.item_id"
            " WHERE h.case_type = 'promised' AND h.statutory_days >= 2 ORDER BY h.code LIMIT :n"
        ), {"n": TARGETS}).all()  # fmt: skip
    engine.dispose()
    browsers = {name: Browser(port, tally) for name in names}
    for name, browser in browsers.items():
        browser.sign_in(name)
    started = time.monotonic()
    end = started + args.seconds
    threads = [threading.Thread(target=read_loop, args=(port, end, n, guides, tally), daemon=True)
               for n in range(args.readers)]  # fmt: skip
    threads += [threading.Thread(target=edit_loop, daemon=True,
                                 args=(browsers[name], name, targets, end, 1000 + n, tally))
                for n, name in enumerate(names)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:  # daemons: one that hangs cannot keep the run alive
        thread.join(timeout=max(0.1, end + TIMEOUT + 5 - time.monotonic()))
    return time.monotonic() - started, sum(thread.is_alive() for thread in threads)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="how long to drive the load")
    parser.add_argument("--readers", type=int, default=50, help="concurrent public readers")
    parser.add_argument("--editors", type=int, default=5, help="concurrent staff sessions")
    args = parser.parse_args()
    limit = int(args.seconds + HEADROOM)

    def over(_signum, _frame):
        raise TimeoutError(f"hard deadline: the run took more than {limit} s")

    signal.signal(signal.SIGALRM, over)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the cleanup runs
    signal.alarm(limit)
    tally = Tally()
    with tempfile.TemporaryDirectory() as tmp, throwaway_database() as url:
        # The sign-in throttle counts failures only: in memory per worker is enough here.
        # Four eyes off: every editor here is a reviewer who publishes drafts holding their own
        # edits (the race is what is measured; four eyes is tested in the suite).
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET,
               "RATELIMIT_STORAGE_URI": "memory://", "REVIEW_FOUR_EYES": "0"}  # fmt: skip
        flask(env, "seed")
        names = [f"load_editor_{n}" for n in range(1, args.editors + 1)]
        for name in names:  # reviewers: they edit like editors and may also publish
            flask(env, "create-user", name, "--role", "reviewer", stdin=PASSWORD + "\n")
        log = Path(tmp) / "gunicorn.log"
        with gunicorn(env, log) as port:
            try:
                elapsed, hung = drive(port, args, url, names, tally)
                served = [served_report(port) for _ in range(4)]  # both workers' cached reports
            finally:
                signal.alarm(0)  # what is left, the checks and the cleanup, is bounded
        results = checks(database_state(url), served, tally, log.read_text())
    results.append(("every thread finished in time", hung == 0, f"{hung} still running"))
    report(tally, results, elapsed, args)
    return 0 if all(passed for _name, passed, _detail in results) else 1


def report(tally: Tally, results: list[tuple], elapsed: float, args) -> None:
    print(f"\n{args.readers} readers, {args.editors} editors, {elapsed:.1f} s; gunicorn "
          f"{WORKERS} workers of deploy/gunicorn.conf.py; PostgreSQL\n")  # fmt: skip
    print(f"{'requests':<16}{'count':>7}{'per s':>7}{'p50 ms':>8}{'p95 ms':>8}  statuses")

    def line(kind: str, times: list[float], statuses: object) -> None:
        times = sorted(times) or [float("nan")]
        p50, p95 = (f"{times[int(q * (len(times) - 1))] * 1000:.0f}" for q in (0.5, 0.95))
        print(f"{kind:<16}{len(times):>7}{len(times) / elapsed:>7.1f}{p50:>8}{p95:>8}  {statuses}")

    for kind in sorted(tally.latency):
        line(kind, tally.latency[kind], {s: n for (k, s), n in tally.status.items() if k == kind})
    line("all reads", [t for kind in READS for t in tally.latency[kind]],
         f"keep-alive reconnects: {tally.reconnects}")  # fmt: skip
    outcomes = Counter(edit.outcome for edit in tally.edits)
    lost = next(detail for name, _passed, detail in results if name.startswith("every accepted"))
    print(f"\nedits: {outcomes['accepted']} accepted (302), {outcomes['conflict']} conflicts "
          f"(409), {outcomes['other']} other; {lost}")  # fmt: skip
    print(f"publishes: {dict(tally.publishes) or 'none'}")
    for problem in tally.problems:
        print(f"  problem: {problem}")
    print()
    for name, passed, detail in results:
        print(f"{'PASS' if passed else 'FAIL'}  {name}  ({detail})")


if __name__ == "__main__":
    sys.exit(main())
