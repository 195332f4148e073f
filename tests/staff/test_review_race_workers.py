"""Races between the review's writes, through gunicorn with two workers, on both databases.

The issue asks that "races on the first draft and on a new item give the 409 page on both
databases, never a 500", and that an import never writes over a draft saved since its preview.
As in test_concurrent_workers.py, the real app runs under gunicorn with two sync worker
processes, each person is an HTTP session of their own, and racing requests leave together
from threads released by a barrier, so that the two workers serve them at the same moment. The
database is a throw-away PostgreSQL database, or a SQLite file that both workers open.

- An import previewed before another editor saved a draft of the same item is refused (409,
  the item listed) and the saved draft stays; fired at the same moment, one of the two is done
  and the other gets a 409, whichever wins.
- Two editors saving the first draft of an item at once: one is saved, the other gets the
  conflict page (409).
- Two editors creating an item with the same code at once: one is created, the other gets a
  409, or the form again (400) naming the taken code.
"""

from __future__ import annotations

import io
import json
import os
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from catalog.spreadsheets import (
    FIELD_OF_EXPORT_HEADER,
    ITEM_SHEET,
    MATERIAL_HEADERS,
    MATERIAL_SHEET,
    ROW_HEADERS,
)
from tests.conftest import temporary_postgres_database
from tests.staff.forms import read_form
from tests.staff.test_concurrent_workers import run_flask
from tests.workers import ACCESS_LOG, TIMEOUT, Browser, create_editors, free_port, gunicorn

NEW = "/staff/items/new"
APPLY = "/staff/import/apply"
ROUNDS = 3
EDITORS = ("editor_a", "editor_b")


@dataclass(frozen=True)
class Target:
    """A published seed item without a draft, and its first handling item (promised, with
    days to spare): each test races on items of its own, as the server is shared."""

    item: str
    code: str

    @property
    def edit(self) -> str:
        return f"/staff/handling/{self.code}/edit"


@contextmanager
def database(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":  # one file, opened by both workers
        yield f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
        return
    with temporary_postgres_database("catalog_gunicorn") as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory) -> Iterator[tuple[int, Path, sa.Engine, str]]:
    """gunicorn with 2 sync workers on a seeded database with editors editor_a and editor_b;
    one per database for the whole module (seeding and starting take most of the time)."""
    tmp_path = tmp_path_factory.mktemp(f"gunicorn_{request.param}")
    with database(request.param, tmp_path) as url:
        # One SECRET_KEY for both workers, else a cookie signed by one is refused by the other.
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "gunicorn-test-secret"}
        run_flask(env, "seed")
        create_editors(url, EDITORS)
        port, log, engine = free_port(), tmp_path / "gunicorn.log", sa.create_engine(url)
        args = ["--workers", "2", "--worker-class", "sync", "--bind", f"127.0.0.1:{port}",
                *ACCESS_LOG, "wsgi:app"]  # fmt: skip
        try:
            with gunicorn(args, env, log, port=port, workers=2):
                yield port, log, engine, request.param
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def editors(server) -> dict[str, Browser]:
    """editor_a and editor_b, signed in once (sign-ins are rate limited)."""
    signed_in = {name: Browser(server[0]) for name in EDITORS}
    for name, browser in signed_in.items():
        browser.sign_in(name)
    return signed_in


class WorkerLog:
    """gunicorn's output since the test began (the server is shared by the module's tests)."""

    def __init__(self, path: Path):
        self.path, self.start = path, len(path.read_bytes())

    def text(self) -> str:
        return self.path.read_bytes()[self.start :].decode()

    def workers_booted(self) -> int:
        return self.path.read_text().count("Booting worker with pid")


@pytest.fixture
def log(server) -> WorkerLog:
    return WorkerLog(server[1])


def targets(engine: sa.Engine, count: int) -> list[Target]:
    """`count` published items without a draft, each with a promised handling item."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT i.code, MIN(h.code) FROM approval_item i"
                    " JOIN handling_item h ON h.item_id = i.id"
                    " LEFT JOIN item_draft d ON d.item_id = i.id"
                    " WHERE i.status = 'published' AND d.id IS NULL"
                    " AND h.case_type = 'promised' AND h.promised_days > :rounds"
                    " GROUP BY i.code ORDER BY i.code"), {"rounds": ROUNDS},
        ).all()  # fmt: skip
    assert len(rows) >= count
    return [Target(item, code) for item, code in rows[:count]]


# -- what a browser sends ---------------------------------------------------------------------


def fields_of(html: str, form_action: str, **changes: str) -> dict[str, list[str]]:
    """The form posting to `form_action` on `html` as a browser submits it, with `changes`."""
    fields: dict[str, list[str]] = {}
    for name, value in read_form(html, form_action):
        fields.setdefault(name, []).append(value)
    return {**fields, **{name: [value] for name, value in changes.items()}}


def send(browser: Browser, method: str, path: str, body: bytes | None, headers: dict):
    """(status, raw body) of one request with the browser's cookies (bytes: a spreadsheet)."""
    cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in browser.cookies.items())
    connection = browser.connect()
    try:
        connection.request(method, path, body=body, headers={**headers, "Cookie": cookie})
        response = connection.getresponse()
        for set_cookie in response.headers.get_all("Set-Cookie") or []:
            browser.cookies.load(set_cookie)
        return response.status, response.read()
    finally:
        connection.close()


def upload(browser: Browser, content: bytes) -> tuple[int, str]:
    """Upload a spreadsheet on the import page (multipart, as the browser's file field)."""
    page = browser.request("GET", "/staff/import")[2]
    token = dict(read_form(page, "/staff/import"))["csrf_token"]
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="导入.xlsx"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    body = head.encode() + content + f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    status, page = send(browser, "POST", "/staff/import", body, headers)
    return status, page.decode()


def import_file(browser: Browser, target: Target, promised: int) -> bytes:
    """The export's rows of the target item as the browser downloads them, with the target
    handling item's promised days set; the materials sheet empty (materials are kept)."""
    status, exported = send(browser, "GET", "/staff/export.xlsx", None, {})
    assert status == 200
    rows = list(load_workbook(io.BytesIO(exported), read_only=True)[ITEM_SHEET].values)
    column = {FIELD_OF_EXPORT_HEADER[header]: index for index, header in enumerate(rows[0])}
    book = Workbook()
    sheet = book.active
    sheet.title = ITEM_SHEET
    sheet.append(ROW_HEADERS)
    for row in rows[1:]:
        if row[column["事项编码"]] == target.item:
            cells = {header: row[column[header]] for header in ROW_HEADERS}
            if cells["业务办理项编码"] == target.code:
                cells["承诺时限"] = promised
            sheet.append([cells[header] for header in ROW_HEADERS])
    book.create_sheet(MATERIAL_SHEET).append(MATERIAL_HEADERS)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def preview_import(browser: Browser, target: Target, promised: int) -> dict[str, list[str]]:
    """Upload a file changing the target's promised days; the apply form of its preview."""
    status, page = upload(browser, import_file(browser, target, promised))
    assert status == 200 and "修改 1 项" in page, page[-3000:]
    return fields_of(page, APPLY)


def together(requests: dict[str, tuple[Browser, str, dict]], race: str) -> dict[str, tuple]:
    """Each request (browser, path, fields) POSTed from its own thread, released at once."""
    barrier, results = threading.Barrier(len(requests)), {}

    def post(name: str) -> None:
        browser, path, fields = requests[name]
        connection = browser.connect()  # connected first: the POSTs leave together
        barrier.wait(timeout=TIMEOUT)
        results[name] = browser.request("POST", path, fields, f"{race}-{name}", connection)

    threads = [threading.Thread(target=post, args=(name,)) for name in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT)
    assert not any(thread.is_alive() for thread in threads) and len(results) == len(requests)
    return results


# -- what the database holds ------------------------------------------------------------------


def draft_of(engine: sa.Engine, item: str) -> dict | None:
    with engine.connect() as connection:
        data = connection.execute(
            sa.text("SELECT d.data FROM item_draft d JOIN approval_item i ON i.id = d.item_id"
                    " WHERE i.code = :code"), {"code": item},
        ).scalar_one_or_none()  # fmt: skip
    return json.loads(data) if isinstance(data, str) else data


def handling_in(data: dict, code: str) -> dict:
    return next(h for h in data["handling_items"] if h["code"] == code)


def events(engine: sa.Engine, item: str) -> list[tuple[str, str]]:
    """The item's audit events (action, actor), oldest first."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT action, actor FROM audit_event WHERE object_code = :code"
                    " ORDER BY id"), {"code": item},
        ).all()  # fmt: skip
    return [tuple(row) for row in rows]


def published(engine: sa.Engine, code: str) -> tuple[str, int]:
    """The handling item's published (situation, promised days)."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.text("SELECT situation, promised_days FROM handling_item WHERE code = :code"),
            {"code": code},
        ).one()
    return row[0], row[1]


def assert_no_server_error(log: WorkerLog, results: dict[str, tuple]) -> None:
    text = log.text()
    assert "Traceback" not in text and " status=5" not in text, text[-5000:]
    for status, _location, body in results.values():
        assert status < 500 and "Traceback" not in body, body[-3000:]


def assert_served_by_both_workers(log: WorkerLog, races: list[str]) -> None:
    """The races really ran in two worker processes: at least one race's two requests were
    served one by each (on a loaded machine the kernel may hand both of one race to the same
    worker, which then serves them one after the other: still a valid round, not a race)."""
    text = log.text()
    assert log.workers_booted() == 2, text  # two workers, none restarted
    served: dict[str, set[str]] = {}
    for pid, race in re.findall(r"access pid=<(\d+)> race=([\w.]+)-\w+ status=", text):
        served.setdefault(race, set()).add(pid)
    assert any(len(served.get(race, ())) == 2 for race in races), served


def refused_import(body: str, item: str) -> bool:
    """An import's 409: the preview again with the items changed since listed, or (lost at
    the item's row lock, after the preview's versions were checked) the conflict page."""
    if "未导入：预览之后" in body:
        return f">{item}</a></li>" in body  # the conflict is listed
    return "在您编辑期间该事项已被他人修改" in body


# -- the tests ----------------------------------------------------------------------------------


def test_an_import_previewed_before_a_saved_draft_is_refused_and_the_draft_stays(
    server, editors, log
):
    engine = server[2]
    a, b = editors["editor_a"], editors["editor_b"]
    [x] = targets(engine, 1)
    situation, promised = published(engine, x.code)
    apply_form = preview_import(a, x, promised - 1)  # A previews a file: X's promised days - 1

    page = b.request("GET", x.edit)[2]  # B saves a draft of X meanwhile
    mine = f"{situation}（B 的修改）"
    saved = b.request(
        "POST", x.edit, fields_of(page, x.edit, situation=mine, reason="B 改", action="save")
    )
    assert saved[0] == 302, saved[2][-3000:]

    status, _location, body = a.request("POST", APPLY, apply_form)  # A applies the preview
    assert_no_server_error(log, {"apply": (status, None, body)})
    assert status == 409, body[-3000:]
    assert "未导入：预览之后有 1 个事项已被他人修改" in body and f">{x.item}</a></li>" in body
    kept = handling_in(draft_of(engine, x.item), x.code)
    assert (kept["situation"], kept["promised_days"]) == (mine, promised)  # B's survives
    assert events(engine, x.item)[-1:] == [("draft", "editor_b")]  # nothing imported


def test_the_fresh_preview_on_an_import_conflict_page_can_be_applied(server, editors, log):
    engine = server[2]
    a, b = editors["editor_a"], editors["editor_b"]
    [x] = targets(engine, 1)
    situation, promised = published(engine, x.code)
    apply_form = preview_import(a, x, promised - 1)
    page = b.request("GET", x.edit)[2]
    mine = f"{situation}（B 的修改）"
    b.request("POST", x.edit, fields_of(page, x.edit, situation=mine, reason="B", action="save"))
    status, _location, body = a.request("POST", APPLY, apply_form)
    assert status == 409
    # The 409 page is a fresh preview over B's draft: it shows that the file's situation
    # replaces B's; A confirms it knowingly, and the file is what the draft then holds.
    assert mine in body
    status, location, _body = a.request("POST", APPLY, fields_of(body, APPLY))
    assert (status, location) == (302, "/staff/?drafts=1")
    kept = handling_in(draft_of(engine, x.item), x.code)
    assert (kept["situation"], kept["promised_days"]) == (situation, promised - 1)


def test_an_import_and_a_draft_save_racing_on_two_workers_never_both_win(
    request, server, editors, log
):
    engine = server[2]
    a, b = editors["editor_a"], editors["editor_b"]
    [x] = targets(engine, 1)
    history = events(engine, x.item)
    situation, promised = published(engine, x.code)
    races = []
    for round_ in range(ROUNDS):
        apply_form = preview_import(a, x, promised - 1)
        page = b.request("GET", x.edit)[2]
        mine = f"{situation.split('（')[0]}（B 第{round_}轮）"
        save_form = fields_of(page, x.edit, situation=mine, reason=f"B {round_}", action="save")
        race = f"import.{round_}"
        results = together(
            {"editor_a": (a, APPLY, apply_form), "editor_b": (b, x.edit, save_form)}, race
        )
        races.append(race)
        assert_no_server_error(log, results)
        statuses = {name: result[0] for name, result in results.items()}
        assert sorted(statuses.values()) == [302, 409], (round_, statuses)
        now = handling_in(draft_of(engine, x.item), x.code)
        if statuses["editor_a"] == 302:  # the import won: B got the conflict page, unsaved
            assert "修改冲突" in results["editor_b"][2]
            promised -= 1
            assert (now["situation"], now["promised_days"]) == (situation, promised)
            history.append(("import", "editor_a"))
        else:  # B's save won: the import was refused, and nothing of it written
            assert refused_import(results["editor_a"][2], x.item), results["editor_a"][2][-3000:]
            situation = mine
            assert (now["situation"], now["promised_days"]) == (situation, promised)
            history.append(("draft", "editor_b"))
        assert events(engine, x.item) == history
    assert_served_by_both_workers(log, races)


def test_two_workers_racing_to_save_the_first_draft_give_one_draft_and_a_409(
    request, server, editors, log
):
    engine = server[2]
    races = []
    for round_, x in enumerate(targets(engine, ROUNDS)):
        pages = {name: browser.request("GET", x.edit)[2] for name, browser in editors.items()}
        versions = {dict(read_form(page, x.edit))["version"] for page in pages.values()}
        assert len(versions) == 1 and versions.pop().endswith(".0")  # no draft yet
        situation = {name: f"新办（{name} 首稿 {round_}）" for name in editors}
        posts = {
            name: (editors[name], x.edit, fields_of(pages[name], x.edit, reason=f"{name} 首稿",
                                                    situation=situation[name], action="save"))
            for name in editors
        }  # fmt: skip
        race = f"first.{round_}"
        results = together(posts, race)
        races.append(race)
        assert_no_server_error(log, results)
        statuses = {name: result[0] for name, result in results.items()}
        assert sorted(statuses.values()) == [302, 409], (round_, statuses)
        winner = next(name for name, status in statuses.items() if status == 302)
        loser = next(name for name in editors if name != winner)
        assert results[winner][1] == f"/staff/items/{x.item}"
        conflict = results[loser][2]
        assert "修改冲突" in conflict and "没有覆盖对方的修改" in conflict
        assert handling_in(draft_of(engine, x.item), x.code)["situation"] == situation[winner]
        assert [e for e in events(engine, x.item) if e[0] == "draft"] == [("draft", winner)]
    assert_served_by_both_workers(log, races)


def new_item_fields(page: str, code: str, editor: str) -> dict[str, list[str]]:
    return fields_of(
        page, NEW, code=code, name=f"新增事项 {code}", implementing_body="许昌市交通运输局",
        handling_unit="行政审批服务科", service_targets="enterprise",
        **{"legal_basis-0-law": "《中华人民共和国道路运输条例》"}, conditions="符合条件。",
        result_name="许可证", consultation="窗口咨询", complaint="12328",
        location="许昌市政务服务中心", hours="法定工作日", handling_code=f"{code}-01",
        situation=f"新办（{editor}）", statutory_days="20", promised_days="5",
        reason=f"{editor} 新建", action="save",
    )  # fmt: skip


def test_two_workers_racing_to_create_one_code_give_one_item_and_no_500(server, editors, log):
    engine = server[2]
    races = []
    for round_ in range(ROUNDS):
        code = f"XCJT-99-{round_:03d}"
        posts = {
            name: (browser, NEW, new_item_fields(browser.request("GET", NEW)[2], code, name))
            for name, browser in editors.items()
        }
        race = f"new.{round_}"
        results = together(posts, race)
        races.append(race)
        assert_no_server_error(log, results)
        statuses = {name: result[0] for name, result in results.items()}
        assert sorted(statuses.values()) in ([302, 400], [302, 409]), (round_, statuses)
        winner = next(name for name, status in statuses.items() if status == 302)
        loser = next(name for name in editors if name != winner)
        assert results[winner][1] == f"/staff/items/{code}"
        refused = results[loser][2]
        if statuses[loser] == 400:  # the form again, naming the code the winner took (the
            # item's, or its handling item's when the winner committed between the two checks)
            said = re.findall(r"<li>([^<]*)</li>", refused)
            assert any(re.search(rf"编码 {code}(-01)? 已被", line) for line in said), said
        else:
            assert "本次未保存" in refused, refused[-3000:]
        with engine.connect() as connection:
            made = connection.execute(
                sa.text("SELECT i.status, h.situation FROM approval_item i"
                        " JOIN handling_item h ON h.item_id = i.id WHERE i.code = :code"),
                {"code": code},
            ).all()  # fmt: skip
        assert [tuple(row) for row in made] == [("unpublished", f"新办（{winner}）")]
        assert events(engine, code) == [("create", winner)]
    assert_served_by_both_workers(log, races)
