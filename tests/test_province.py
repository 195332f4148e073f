"""The synthetic province catalog: deterministic, realistic in shape, usable by every page."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from catalog.models import ApprovalItem, Fee, HandlingItem, Material, SearchEntry
from catalog.province import (
    BATCH,
    CITIES,
    DEPARTMENTS,
    MAX_SIZE,
    WRITTEN,
    ProvinceError,
    check_size,
    generate_province,
)
from catalog.reports.snapshots import live_source
from tests.conftest import temporary_postgres_database
from tests.factories import item_data, publish
from tests.test_cli import flask


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def search_indexes(db) -> set[str]:
    """The search entries' indexes and triggers (the load drops PostgreSQL's GIN indexes and
    the SQLite triggers that feed its FTS5 tables, and builds them again)."""
    connection = db.session.connection()
    indexes = {index["name"] for index in sa.inspect(connection).get_indexes("search_entry")}
    if connection.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :table"
    else:
        query = ("SELECT DISTINCT trigger_name FROM information_schema.triggers"
                 " WHERE event_object_table = :table")  # fmt: skip
    triggers = set(connection.scalars(sa.text(query), {"table": "search_entry"}))
    return indexes | triggers


def found(client, word: str) -> set[str]:
    results = client.get(f"/api/v1/items?q={word}&limit=50").get_json()
    return {hit["item_code"] for hit in results["items"]}


def test_a_small_province_has_the_shape_and_is_searchable(db, seed_dir, client):
    publish(db, item_data(code="BEFORE-1", name="既有测试码头事项"))
    indexes = search_indexes(db)
    assert len(indexes) > 5
    counts = generate_province(2_000, seed_dir=seed_dir, seed=7)
    db.session.commit()
    assert search_indexes(db) == indexes  # built again after the load
    assert found(client, "既有测试码头") == {"BEFORE-1"}  # what was there is still found
    assert count(db, HandlingItem) - 1 == counts["handling_item"] == 2_000  # and BEFORE-1's
    assert count(db, SearchEntry) - 1 == 2_000
    assert count(db, Material) >= 2_000 and count(db, Fee) > 0
    assert count(db, ApprovalItem) < 2_000  # some items have several handling items
    generated = ApprovalItem.code.startswith("HN-")
    units = set(db.session.scalars(sa.select(ApprovalItem.handling_unit).where(generated)))
    assert units == set(DEPARTMENTS)
    bodies = set(db.session.scalars(sa.select(ApprovalItem.implementing_body).distinct()))
    assert any(body.startswith("许昌市") for body in bodies)
    report = live_source().report
    assert 80 <= report["no_visit"]["percent"] <= 98  # the seed's 90.95 %, give or take
    assert report["items"]["by_type"]["licence"] > report["items"]["by_type"]["confirmation"]
    results = client.get("/api/v1/items?q=许可&limit=5").get_json()
    assert results["total"] > 100
    code = results["items"][0]["item_code"]
    assert client.get(f"/items/{code}").status_code == 200
    publish(db, item_data(code="AFTER-1", name="其后测试码头事项"))  # ids continue after the load
    assert db.session.scalar(sa.select(ApprovalItem.id).where(ApprovalItem.code == "AFTER-1"))
    assert found(client, "其后测试码头") == {"AFTER-1"}  # the index follows new items again
    assert found(client, "测试码头") == {"BEFORE-1", "AFTER-1"}


def test_a_load_that_fails_leaves_the_database_as_it_was(db, seed_dir, client):
    """The indexes and triggers taken out of the load come back with the rollback: items
    published afterwards are still found."""
    indexes = search_indexes(db)
    db.session.rollback()  # (nothing begun: the load's own statements open the transaction)

    def interrupted(_written: int) -> None:
        raise RuntimeError("the load stops after its first batch")

    with pytest.raises(RuntimeError):
        generate_province(BATCH + 10, seed_dir=seed_dir, progress=interrupted)
    db.session.rollback()
    assert search_indexes(db) == indexes
    assert count(db, HandlingItem) == 0
    publish(db, item_data(code="LATER-1", name="失败之后测试码头事项"))
    assert found(client, "失败之后") == {"LATER-1"}


def test_the_same_seed_number_gives_the_same_catalog(db, seed_dir, tmp_path):
    generate_province(300, seed_dir=seed_dir, seed=11)
    db.session.commit()
    first = live_source().report["fingerprint"]
    other = flask(f"sqlite:///{tmp_path / 'p.sqlite3'}", "generate-province",
                  "--handling-items", "300", "--seed", "11")  # fmt: skip
    assert other.returncode == 0, other.stderr
    assert "行/秒" in other.stdout
    again = flask(f"sqlite:///{tmp_path / 'p.sqlite3'}", "report", "--format", "json")
    import json

    assert json.loads(again.stdout)["fingerprint"] == first
    different = flask(f"sqlite:///{tmp_path / 'q.sqlite3'}", "generate-province",
                      "--handling-items", "300", "--seed", "12")  # fmt: skip
    assert different.returncode == 0
    report = flask(f"sqlite:///{tmp_path / 'q.sqlite3'}", "report", "--format", "json")
    assert json.loads(report.stdout)["fingerprint"] != first


def test_nonsense_sizes_and_a_second_run_are_refused(db, seed_dir, tmp_path):
    for size in (0, -5, MAX_SIZE + 1):
        with pytest.raises(ProvinceError, match="业务办理项数须在"):
            check_size(size)
    refused = flask(f"sqlite:///{tmp_path / 'r.sqlite3'}", "generate-province",
                    "--handling-items", "0")  # fmt: skip
    assert refused.returncode == 2 and "业务办理项数须在 1 到 5,000,000 之间" in refused.stderr
    generate_province(10, seed_dir=seed_dir)
    db.session.commit()
    with pytest.raises(ProvinceError, match="已有合成的省级目录"):
        generate_province(10, seed_dir=seed_dir)
    assert len(CITIES) == 18


def test_on_postgresql_the_command_leaves_the_tables_it_wrote_vacuumed():
    """Every page all-visible, so that what an index answers alone (the search frame's reads,
    migration 0011) skips the table, without waiting for autovacuum (or without it)."""
    with temporary_postgres_database("catalog_vacuum") as url:
        done = flask(url, "generate-province", "--handling-items", "60")
        assert done.returncode == 0, done.stderr
        engine = sa.create_engine(url)
        try:
            with engine.connect() as connection:
                pages = connection.execute(
                    sa.text("SELECT relname, relpages, relallvisible FROM pg_class"
                            " WHERE relname = ANY(:names)"),
                    {"names": [model.__tablename__ for model in WRITTEN]},
                ).all()  # fmt: skip
        finally:
            engine.dispose()
    assert len(pages) == len(WRITTEN)
    for name, count_, visible in pages:
        assert count_ > 0 and visible == count_, (name, count_, visible)
