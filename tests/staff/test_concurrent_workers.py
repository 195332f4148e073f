"""Two editors save the same handling item at the same moment, through gunicorn.

Issue 4 asks that the second of two concurrent saves never silently overwrites the first but
gets the conflict page, "tested with two real concurrent sessions on PostgreSQL". The in-process
test (test_editing.py) runs one request after the other; here the real app runs under gunicorn
with two sync worker processes on a throw-away PostgreSQL database, two HTTP sessions sign in as
different editors, and their saves are fired together so they race across the two processes.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import temporary_postgres_database
from tests.staff.forms import read_form
from tests.test_cli import flask
from tests.workers import ACCESS_LOG, TIMEOUT, Browser, create_editors, free_port, gunicorn

ITEM, CODE = "XCJT-01-075", "XCJT-01-075-01"  # 网络预约出租汽车经营许可 · 新办, from the seed
EDIT = f"/staff/handling/{CODE}/edit"
ROUNDS = 5


def run_flask(env: dict[str, str], *args: str, stdin: str = "") -> None:
    done = flask(env["DATABASE_URL"], *args, stdin=stdin)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, Path, sa.Engine]]:
    """gunicorn with 2 sync workers on a seeded database with editors editor_a and editor_b."""
    with temporary_postgres_database("catalog_gunicorn") as url:
        # One SECRET_KEY for both workers, else a cookie signed by one is refused by the other.
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "gunicorn-test-secret"}
        run_flask(env, "seed")
        create_editors(url, ("editor_a", "editor_b"))
        port, log, engine = free_port(), tmp_path / "gunicorn.log", sa.create_engine(url)
        args = ["--workers", "2", "--worker-class", "sync", "--bind", f"127.0.0.1:{port}",
                *ACCESS_LOG, "wsgi:app"]  # fmt: skip
        try:
            with gunicorn(args, env, log, port=port, workers=2):
                yield port, log, engine
        finally:
            engine.dispose()


def form_fields(html: str, **changes: str) -> dict[str, list[str]]:
    """The edit form on `html` as a browser would submit it, with `changes`, saved."""
    fields: dict[str, list[str]] = {}
    for name, value in read_form(html, EDIT):
        fields.setdefault(name, []).append(value)
    return {**fields, **{name: [value] for name, value in changes.items()}, "action": ["save"]}


def saved(engine: sa.Engine) -> tuple[str, list[tuple[str, str]]]:
    """The handling item's situation in the draft, and the item's draft events (actor, reason)."""
    with engine.connect() as connection:
        data = connection.execute(
            sa.text("SELECT d.data FROM item_draft d JOIN approval_item i ON i.id = d.item_id"
                    " WHERE i.code = :code"), {"code": ITEM},
        ).scalar_one()  # fmt: skip
        events = connection.execute(
            sa.text("SELECT actor, reason FROM audit_event WHERE action = 'draft'"
                    " AND object_code = :code ORDER BY id"), {"code": ITEM},
        ).all()  # fmt: skip
    situation = next(h["situation"] for h in data["handling_items"] if h["code"] == CODE)
    return situation, [tuple(event) for event in events]


def save_together(editors: dict[str, Browser], posts: dict, race: str) -> dict[str, tuple]:
    """Each editor POSTs its form from its own thread, released at once by a barrier."""
    barrier, results = threading.Barrier(len(editors)), {}

    def save(name: str) -> None:
        connection = editors[name].connect()  # connected first: the POSTs leave together
        barrier.wait(timeout=TIMEOUT)
        results[name] = editors[name].request(
            "POST", EDIT, posts[name], f"{race}-{name}", connection
        )

    threads = [threading.Thread(target=save, args=(name,)) for name in editors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT)
    assert not any(thread.is_alive() for thread in threads) and len(results) == len(editors)
    return results


def test_two_workers_racing_to_save_one_handling_item_never_overwrite(server):
    port, log, engine = server
    editors = {name: Browser(port) for name in ("editor_a", "editor_b")}
    for name, browser in editors.items():
        browser.sign_in(name)
    events: list[tuple[str, str]] = []
    for round_ in range(ROUNDS):
        pages = {name: browser.request("GET", EDIT)[2] for name, browser in editors.items()}
        versions = {dict(read_form(page, EDIT))["version"] for page in pages.values()}
        assert len(versions) == 1  # both opened the same version
        situation = {name: f"新办（{name} 第{round_}轮）" for name in editors}
        posts = {
            name: form_fields(pages[name], situation=situation[name], reason=f"{name} {round_}")
            for name in editors
        }
        results = save_together(editors, posts, race=str(round_))
        statuses = {name: result[0] for name, result in results.items()}
        errors = [line for line in log.read_text().splitlines() if "Error:" in line]
        assert sorted(statuses.values()) == [302, 409], (round_, statuses, errors)
        winner = next(name for name, status in statuses.items() if status == 302)
        loser = next(name for name in editors if name != winner)
        assert results[winner][1] == f"/staff/items/{ITEM}"  # to the item with its saved draft
        conflict = results[loser][2]
        assert "修改冲突" in conflict and "没有覆盖对方的修改" in conflict
        assert f'<td class="old">{situation[winner]}</td>' in conflict  # theirs, as saved
        assert f'<td class="new">{situation[loser]}</td>' in conflict  # mine, not saved
        events.append((winner, f"{winner} {round_}"))  # one draft event, the winner's
        assert saved(engine) == (situation[winner], events)

        # The loser resubmits the conflict page's form, now based on the winner's version.
        redo = form_fields(conflict)
        assert redo["situation"] == [situation[loser]] and redo["version"] != list(versions)
        assert editors[loser].request("POST", EDIT, redo)[0] == 302
        events.append((loser, f"{loser} {round_}"))
        assert saved(engine) == (situation[loser], events)

    text = log.read_text()
    assert text.count("Booting worker with pid") == 2, text  # two workers, none restarted
    served: dict[str, set[str]] = {}
    for pid, round_ in re.findall(r"access pid=<(\d+)> race=(\d+)-\w+ status=", text):
        served.setdefault(round_, set()).add(pid)
    # In every round the two racing saves were served by the two worker processes, one each.
    assert {race: len(pids) for race, pids in served.items()} == {str(r): 2 for r in range(ROUNDS)}
