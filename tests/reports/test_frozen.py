"""A snapshot's frozen data (catalog.reports.frozen): read with plain queries, it is exactly
what services.item_data() gives; stored in chunks, it reads back whole and item by item; a
comparison over the digests finds what the field-by-field comparison of everything finds."""

from __future__ import annotations

import hashlib
import threading
import zlib
from datetime import UTC, datetime

import orjson
import pytest
import sqlalchemy as sa

from catalog.attachments import store
from catalog.domain import Conflict
from catalog.drafts import diff
from catalog.enums import Status
from catalog.models import ApprovalItem, HandlingItem, Snapshot, SnapshotChunk
from catalog.reports import frozen, snapshots
from catalog.reports.frozen import frozen_index, frozen_items, published_chunks
from catalog.reports.rows import published_catalog
from catalog.reports.snapshots import compare, create_snapshot, source
from catalog.services import item_data as dump_item
from catalog.services import update_item
from tests import attachment_files as files
from tests.factories import (
    REQUIRED_ONLY,
    SAMPLE_FAQ,
    SAMPLE_ONLINE_URL,
    handling_item_data,
    item_data,
    publish,
)
from tests.reports.conftest import insert_old_form_snapshot


def every_shape(db) -> None:
    """Items with each element present, missing, empty or in each of its forms."""
    blank, sample = store(files.pdf("blank")), store(files.png())
    db.session.flush()
    with_files = {"name": "申请表", "attachments": [
        {"kind": "sample", "sha256": sample.sha256, "filename": "样表.png"},
        {"kind": "blank", "sha256": blank.sha256, "filename": "空白表.pdf"},
    ]}  # fmt: skip
    fees = [
        {"name": "工本费", "standard": "每证10元", "amount": "10.5", "basis": "价费字〔2020〕1号"},
        {"name": "检测费", "standard": "按实收取", "amount": None, "basis": "价费字〔2020〕2号"},
    ]
    publish(
        db,
        item_data(code="A-1"),
        REQUIRED_ONLY,
        item_data(
            handling_item_data(code="B-1-01", fees=fees, online_url=SAMPLE_ONLINE_URL,
                               materials=[with_files, {"name": "身份证", "copies": 0}]),
            handling_item_data(code="B-1-02", fees=None, case_type="instant", promised_days=0,
                               visits=2, visit_reason="现场核验", steps=[], forms=[]),
            handling_item_data(code="B-1-03", statutory_days=None, online_depth=None),
            code="B-1", faq=SAMPLE_FAQ, service_targets=["natural_person", "enterprise"],
            result={"name": None, "type": None}, legal_basis=[
                {"law": "法一", "article": None, "text": "条文"}, {"law": "法二"}],
        ),
        item_data(code="C-1", name="未公布的事项"),
    )  # fmt: skip
    # an unpublished item, and a published item's unpublished handling item, are not frozen
    db.session.scalar(
        sa.select(ApprovalItem).where(ApprovalItem.code == "C-1")
    ).status = Status.unpublished
    db.session.scalar(
        sa.select(HandlingItem).where(HandlingItem.code == "B-1-03")
    ).status = Status.unpublished
    db.session.commit()


def test_the_frozen_data_is_item_data_of_every_shape(db, monkeypatch):
    every_shape(db)
    expected = published_catalog()
    assert [item["code"] for item in expected] == ["A-1", "B-1", "T-02-001"]
    assert [h["code"] for h in expected[1]["handling_items"]] == ["B-1-01", "B-1-02"]
    for size in (1, 2, 1000):
        assert [item for chunk in published_chunks(size) for item in chunk] == expected
    # and the same read in turn, without the read-ahead thread (a gevent worker)
    with monkeypatch.context() as patched:
        patched.setattr("catalog.reports.frozen._threads_allowed", lambda _connection: False)
        assert [item for chunk in published_chunks(2) for item in chunk] == expected
    # built with every dict's keys in sorted order: a snapshot writes them unsorted as the
    # canonical JSON its digests are of
    for item in (item for chunk in published_chunks() for item in chunk):
        assert orjson.dumps(item) == orjson.dumps(item, option=orjson.OPT_SORT_KEYS)
    assert [item for chunk in published_chunks(codes=["B-1", "C-1"]) for item in chunk] == [
        expected[1]
    ]
    # and item_data() of the item itself, without the unpublished handling item
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "A-1"))
    assert expected[0] == dump_item(item)


def test_a_snapshot_stores_the_canonical_json_of_item_data_byte_for_byte(db, monkeypatch):
    """What a snapshot's chunks hold, and the digests of its index, are those of the sorted
    JSON of item_data() (the ORM and marshmallow): snapshots made before and after stay
    comparable, item by item."""
    monkeypatch.setattr("catalog.reports.frozen.STORED_ITEMS", 2)
    every_shape(db)
    snapshot = create_snapshot("字节", actor="tester")
    db.session.commit()
    texts = [orjson.dumps(item, option=orjson.OPT_SORT_KEYS) for item in published_catalog()]
    chunks = db.session.execute(
        sa.select(SnapshotChunk.data, SnapshotChunk.item_index)
        .where(SnapshotChunk.snapshot_id == snapshot.id)
        .order_by(SnapshotChunk.position)
    ).all()
    assert [zlib.decompress(data) for data, _index in chunks] == [
        b"[" + b",".join(texts[start : start + 2]) + b"]" for start in range(0, len(texts), 2)
    ]
    digests = [
        entry[2] for _data, index in chunks for entry in orjson.loads(zlib.decompress(index))
    ]
    assert digests == [hashlib.blake2b(text, digest_size=16).hexdigest() for text in texts]


def test_a_failed_read_ahead_fails_the_snapshot_and_keeps_nothing(db, monkeypatch):
    """The rounds are read in a thread: what goes wrong there goes wrong in the request, and
    the thread is done before the request goes on."""
    every_shape(db)
    children = {*frozen._IN_RANGE.values(), *frozen._BY_IDS.values()}
    run = frozen._run

    def failing(connection, dialect, statement, params):
        if statement in children:
            raise RuntimeError("读取失败")
        return run(connection, dialect, statement, params)

    monkeypatch.setattr(frozen, "_run", failing)
    with pytest.raises(RuntimeError, match="读取失败"):
        create_snapshot("失败", actor="tester")
    assert not [t for t in threading.enumerate() if t.name.startswith("snapshot-read")]
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Snapshot.id))) == 0


def test_a_snapshot_reads_its_items_back_and_compares_like_a_full_comparison(db, monkeypatch):
    monkeypatch.setattr("catalog.reports.frozen.STORED_ITEMS", 2)  # several chunks
    monkeypatch.setattr("catalog.reports.frozen.INDEX_BATCH", 1)  # their index in batches
    every_shape(db)
    create_snapshot("前", actor="tester")
    db.session.commit()
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "B-1"))
    data = {k: v for k, v in dump_item(item).items() if k != "status"}
    data["handling_items"][0]["promised_days"] = 3
    data["name"] = "改名的事项"
    update_item(item, data)
    publish(db, item_data(code="D-1"))
    db.session.execute(sa.delete(HandlingItem).where(HandlingItem.code == "T-02-001-01"))
    db.session.execute(sa.delete(ApprovalItem).where(ApprovalItem.code == "T-02-001"))
    db.session.commit()
    create_snapshot("后", actor="tester")
    db.session.commit()

    before, after = source("前"), source("后")
    assert list(frozen_items(after.snapshot)) == published_catalog()
    assert [entry[0] for entry in frozen_index(after.snapshot)] == ["A-1", "B-1", "D-1"]
    result = compare(before, after)
    old = {item["code"]: item for item in frozen_items(before.snapshot)}
    new = {item["code"]: item for item in frozen_items(after.snapshot)}
    assert result["items"]["added"] == [{"code": "D-1", "name": new["D-1"]["name"]}]
    assert result["items"]["removed"] == [{"code": "T-02-001", "name": old["T-02-001"]["name"]}]
    expected = [
        {"code": code, "name": new[code]["name"],
         "changes": [{"field": path, "old": was, "new": now}
                     for path, (was, now) in diff(old[code], new[code]).items()]}
        for code in sorted(set(old) & set(new)) if diff(old[code], new[code])
    ]  # fmt: skip
    assert result["items"]["changed"] == expected
    fields = {change["field"] for change in expected[0]["changes"]}
    assert fields == {"name", "handling_items.B-1-01.promised_days"}
    # against the live catalog: the same, read from the database
    assert compare(before, source(None))["items"] == result["items"]
    assert compare(after, source(None))["items"] == {"added": [], "removed": [], "changed": []}


def test_a_snapshot_of_the_old_form_compares_as_one_of_chunks(db):
    """Snapshots frozen before 0025 hold one report_snapshot_item row per item."""
    every_shape(db)
    create_snapshot("新", actor="tester")
    db.session.commit()
    catalog = published_catalog()
    now = datetime.now(UTC)
    report = source("新").snapshot.report
    insert_old_form_snapshot(db, "旧", report, catalog, now)
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "A-1"))
    data = {k: v for k, v in dump_item(item).items() if k != "status"}
    data["hours"] = "全天"
    update_item(item, data)
    db.session.commit()
    assert list(frozen_items(source("旧").snapshot)) == catalog
    assert compare(source("旧"), source("新"))["items"]["changed"] == []
    changed = compare(source("旧"), source(None))["items"]["changed"]
    assert [(c["code"], c["changes"][0]["field"]) for c in changed] == [("A-1", "hours")]
    assert (
        compare(source("新"), source(None))["items"] == compare(source("旧"), source(None))["items"]
    )


def test_a_change_committed_while_the_items_are_read_refuses_the_snapshot(db, monkeypatch):
    publish(db, item_data(code="A-1"))
    stamps = iter(["before", "after"])
    monkeypatch.setattr(snapshots, "current_stamp", lambda: next(stamps))
    with pytest.raises(Conflict, match="生成快照期间目录被修改"):
        create_snapshot("途中", actor="tester")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Snapshot.id))) == 0


def test_a_comparison_with_the_live_catalog_follows_each_change(db):
    """Kept per revision: a committed change is seen at once, and a change not yet committed
    is seen by its own transaction only, never kept for the others."""
    publish(db, item_data(code="A-1"))
    create_snapshot("那时", actor="tester")
    db.session.commit()
    assert compare(source("那时"), source(None))["items"]["changed"] == []
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "A-1"))
    data = {k: v for k, v in dump_item(item).items() if k != "status"}
    update_item(item, {**data, "hours": "全天"})
    db.session.flush()
    changed = compare(source("那时"), source(None))["items"]["changed"]
    assert [change["code"] for change in changed] == ["A-1"]
    db.session.rollback()
    assert compare(source("那时"), source(None))["items"]["changed"] == []
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "A-1"))
    update_item(item, {**data, "hours": "全天"})
    db.session.commit()
    assert len(compare(source("那时"), source(None))["items"]["changed"]) == 1
