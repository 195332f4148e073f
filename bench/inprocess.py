"""The app inside the bench's own process: the in-process floor of the searches, one published
edit (what "after a change" means), and snapshot creation timed without a server.

Run as a script it times one snapshot (`python bench/inprocess.py snapshot LABEL`) or deletes
the bench's snapshots (`drop-snapshots`), in a process of its own the caller bounds with a
timeout; DATABASE_URL names the database.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from werkzeug.datastructures import MultiDict  # noqa: E402

from bench.queries import Query  # noqa: E402
from bench.servers import SECRET  # noqa: E402

BENCH_ACTOR = "bench"
SNAPSHOT_PREFIX = "bench-"


class InProcess:
    """The app in this process, its searches run against the database without HTTP or JSON,
    the result cache off: what a search costs the app itself, the floor under the served one.
    Each search is its own unit of work, as in a request: its session is ended after it. The
    catalog's frame is loaded by the first search (timed apart, `frame_load_ms`); the frame
    and caches are per process, so one InProcess at a time."""

    def __init__(self, database_url: str):
        os.environ["DATABASE_URL"] = database_url
        from catalog import create_app
        from catalog.extensions import db
        from catalog.public.queries import run_search
        from catalog.search.frame import frames
        from catalog.search.text import pinyin_of

        self.db, self.run_search = db, run_search
        self.app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET,
                               "SEARCH_RESULT_CACHE": 0})  # fmt: skip
        self.context = self.app.app_context()
        self.context.push()
        frames.clear()  # (an earlier InProcess in this process loaded it)
        pinyin_of("许昌")  # pypinyin's dictionaries, as a gunicorn worker loads them (wsgi.py)
        started = time.perf_counter()
        self.search(Query(""))
        self.frame_load_ms = round((time.perf_counter() - started) * 1000, 1)

    def search(self, query: Query) -> float:
        """One search; the milliseconds it took."""
        args = MultiDict(query.filters)
        started = time.perf_counter()
        self.run_search(query.word, args, cursor=None, limit=20)
        self.db.session.remove()
        return (time.perf_counter() - started) * 1000

    def publish_edit(self) -> str:
        """Publish one edit through the staff operations (save a draft, submit, publish), as a
        reviewer does, and commit it: the first published item whose first handling item can
        take one day less (or more) of promised time, with its situation toggled too (a change
        both the report and the search index see). The item's code."""
        from catalog.drafts import current_data, editable_version
        from catalog.edge import command_transaction
        from catalog.operations import items as operations

        @command_transaction
        def edit() -> str:
            item, code = self._edited()
            data = json.loads(json.dumps(current_data(item), default=str))
            handling = next(h for h in data["handling_items"] if h["code"] == code)
            promised = handling["promised_days"]
            handling["promised_days"] = promised - 1 if promised >= 1 else promised + 1
            situation = handling.get("situation") or ""
            handling["situation"] = situation[:-1] if situation.endswith("甲") else situation + "甲"
            operations.save_draft(
                item, data, actor=BENCH_ACTOR, reason="基准测试：发布一处修改",
                expected_version=editable_version(item), acknowledged=True,
            )  # fmt: skip
            operations.submit(item, actor=BENCH_ACTOR, expected_version=editable_version(item))
            operations.publish(item, actor=BENCH_ACTOR, expected_version=editable_version(item))
            return item.code

        try:
            return edit()
        finally:
            self.db.session.remove()

    def _edited(self):
        """The first published item with a published handling item whose promised time can
        move by a day either way (not 即办件, statutory time unset or at least 2 days)."""
        import sqlalchemy as sa

        from catalog.enums import CaseType, Status
        from catalog.models import ApprovalItem, HandlingItem

        statement = (
            sa.select(ApprovalItem, HandlingItem.code)
            .join(HandlingItem, HandlingItem.item_id == ApprovalItem.id)
            .where(ApprovalItem.status == Status.published,
                   HandlingItem.status == Status.published,
                   HandlingItem.case_type != CaseType.instant,
                   sa.or_(HandlingItem.statutory_days.is_(None),
                          HandlingItem.statutory_days >= 2))
            .order_by(ApprovalItem.id, HandlingItem.id).limit(1)
        )  # fmt: skip
        return self.db.session.execute(statement).one()

    def close(self) -> None:
        self.db.session.remove()
        self.db.engine.dispose()
        self.context.pop()

    def __enter__(self) -> InProcess:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


def _snapshot(label: str) -> dict:
    """Create one snapshot as `flask snapshot create` does (the operation in one committed
    transaction), timed from the call to the commit."""
    from catalog import create_app
    from catalog.edge import command_transaction
    from catalog.operations.snapshots import create_snapshot

    app = create_app({"SECRET_KEY": SECRET})
    with app.app_context():
        started = time.perf_counter()
        command_transaction(lambda: create_snapshot(label, actor=BENCH_ACTOR))()
        return {"seconds": round(time.perf_counter() - started, 2)}


def _drop_snapshots() -> dict:
    """Delete the bench's snapshots (each holds its items' data: left behind, a reused
    database would grow by two copies of the catalog a run). Snapshots are frozen by triggers
    (migration 0006); in this one transaction of the bench's own database they are set aside:
    on PostgreSQL by replica mode (triggers do not fire), on SQLite by dropping the delete
    triggers and creating them again from their own stored SQL before the commit."""
    import sqlalchemy as sa

    from catalog import create_app
    from catalog.extensions import db

    app = create_app({"SECRET_KEY": SECRET})
    prefix = {"prefix": SNAPSHOT_PREFIX + "%"}
    with app.app_context(), db.engine.begin() as connection:
        sqlite = connection.dialect.name == "sqlite"
        triggers = []
        if sqlite:
            triggers = connection.execute(sa.text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN "
                "('report_snapshot', 'report_snapshot_item', 'report_snapshot_chunk') "
                "AND name LIKE '%no_delete'"
            )).all()  # fmt: skip
            for name, _sql in triggers:
                connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
        else:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for table in ("report_snapshot_item", "report_snapshot_chunk"):
            connection.execute(sa.text(
                f"DELETE FROM {table} WHERE snapshot_id IN "
                "(SELECT id FROM report_snapshot WHERE label LIKE :prefix)"), prefix)  # fmt: skip
        dropped = connection.execute(
            sa.text("DELETE FROM report_snapshot WHERE label LIKE :prefix"), prefix
        ).rowcount
        for _name, sql in triggers:
            connection.exec_driver_sql(sql)
    return {"dropped": dropped}


if __name__ == "__main__":
    command = sys.argv[1]
    result = _snapshot(sys.argv[2]) if command == "snapshot" else _drop_snapshots()
    print(json.dumps(result))
