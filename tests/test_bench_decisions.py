"""The pure parts of the decision search stage of `make bench` (bench/decision_queries.py, its
rows in bench/judge.py) and a smoke run of the stage on a small catalog of its own: one gunicorn
worker per database, every query answered. Nothing here judges a speed."""

from __future__ import annotations

import argparse
import sqlite3
import urllib.parse
from collections import Counter

import pytest

from bench.decision_queries import (
    CLASSES,
    FILTERED_CLASSES,
    SEARCH_CLASSES,
    Decision,
    DecisionQuery,
    Party,
    generate_decision_queries,
    read_decisions,
    read_parties,
)
from bench.decision_report import EDIT_REASON
from bench.judge import KINDS, LIMITS, judged

PARTIES = (
    Party("许昌市宏达顺通物流有限公司", "91411000MA3X0B5K2W"),
    Party("禹州市鑫源恒运运输有限公司", "91411000MA47HTY1XD"),
    Party("长葛市王伟宏达货运部", "92411000MA9PD3UQ0A"),
    Party("鄢陵县聚力众诚汽车维修有限公司", "91411000MAC7LWQX8N"),
)


def test_the_decision_queries_are_deterministic_for_the_seed_and_distinct():
    first = generate_decision_queries(PARTIES, 2020, 10)
    assert first == generate_decision_queries(PARTIES, 2020, 10)
    assert first != generate_decision_queries(PARTIES, 2021, 10)
    assert list(first) == list(CLASSES)
    every = [query for found in first.values() for query in found]
    assert len(every) == len(set(every))


def test_each_decision_query_is_what_its_class_says():
    names = {party.name for party in PARTIES}
    codes = {party.credit_code for party in PARTIES}
    queries = generate_decision_queries(PARTIES, 2020, 10)
    assert all(query.word in names for query in queries["名称全称"])
    for query in queries["名称2字"]:
        assert len(query.word) == 2 and any(query.word in name for name in names)
    for query in queries["名称3字+"]:
        assert len(query.word) >= 3 and query.word not in names
        assert any(query.word in name for name in names)
    assert queries["信用代码"] and all(query.word in codes for query in queries["信用代码"])
    for query in queries["代码前缀"]:
        assert 6 <= len(query.word) <= 17
        assert any(code.startswith(query.word) for code in codes)


DECISIONS = (
    Decision("licence", "许昌市宏达顺通物流有限公司", "91411000MA3X0B5K2W", "道路运输科", 2020,
             False, item="XCJT-01-001", status="valid"),
    Decision("licence", "长葛市王伟宏达货运部", "92411000MA9PD3UQ0A", "公路管理科", 2020, True,
             item="XCJT-02-003", status="revoked"),
    Decision("licence", None, None, "公路管理科", 2020, False, item="XCJT-02-003",
             status="valid"),  # a natural person: never searched
    Decision("penalty", "禹州市鑫源恒运运输有限公司", "91411000MA47HTY1XD", "执法支队", 2020,
             False, category="fine"),
)  # fmt: skip


def test_the_filtered_queries_are_deterministic_distinct_and_leave_the_others_as_they_were():
    first = generate_decision_queries(PARTIES, 2020, 10, DECISIONS)
    assert first == generate_decision_queries(PARTIES, 2020, 10, DECISIONS)
    without = generate_decision_queries(PARTIES, 2020, 10)
    assert {name: first[name] for name in SEARCH_CLASSES} == {
        name: without[name] for name in SEARCH_CLASSES
    }
    assert all(first[name] for name in FILTERED_CLASSES)
    assert not any(without[name] for name in FILTERED_CLASSES)
    every = [query for found in first.values() for query in found]
    assert len(every) == len(set(every))


def _drawn_from(query: DecisionQuery, keys: set[str]) -> list[Decision]:
    """The decisions whose values are the query's filters (and whose party has its words)."""
    filters = dict(query.filters)
    assert set(filters) <= keys, query
    found = []
    for row in DECISIONS:
        values = {"unit": row.unit, "year": str(row.year), "item": row.item,
                  "status": row.status, "late": str(int(row.late)), "kind": row.kind,
                  "category": row.category}  # fmt: skip
        words = not query.word or query.word in (row.party_name or "") or (
            query.word == row.credit_code)  # fmt: skip
        if words and all(values[key] == value for key, value in filters.items()):
            found.append(row)
    return found


def test_each_filtered_query_finds_the_decision_it_was_drawn_from():
    queries = generate_decision_queries(PARTIES, 2020, 10, DECISIONS)
    searchable = {row for row in DECISIONS if row.kind == "licence" and row.party_name}
    for name, keys in (("名称+单位", {"unit", "year"}), ("名称+事项", {"item"}),
                       ("名称+状态", {"kind", "status"}), ("名称+逾期", {"late"})):  # fmt: skip
        for query in queries[name]:
            assert 2 <= len(query.word) <= 6 and query.filters[0][0] in keys
            assert set(_drawn_from(query, keys)) & searchable, query
    for query in queries["代码+条件"]:
        assert len(query.word) == 18 and len(query.filters) == 1
        assert set(_drawn_from(query, {"year", "unit", "late", "kind", "item"})) & searchable
    assert {query.word for query in queries["名称+逾期"] if dict(query.filters)["late"] == "1"}
    for query in queries["仅条件"]:
        assert not query.word and query.filters
        assert _drawn_from(query, {"year", "unit", "item", "kind", "status", "late", "category"})
    assert any(dict(q.filters).get("category") for q in queries["仅条件"])


def test_the_filters_alone_include_each_single_filter_the_public_form_offers():
    """仅条件 asks a year alone (the list by year, 136 ms before one bound of the days), a
    kind, lateness, a status and a category alone, besides the combinations."""
    queries = generate_decision_queries(PARTIES, 2020, 60, DECISIONS)
    alone = {query.filters[0][0] for query in queries["仅条件"] if len(query.filters) == 1}
    assert {"year", "kind", "late", "status", "category", "item"} <= alone


def test_a_filtered_query_asks_the_public_api_with_its_filters():
    query = DecisionQuery("宏达", (("unit", "公路管理科"), ("year", "2020")))
    parts = urllib.parse.urlsplit(query.app_path())
    assert parts.path == "/api/v1/decisions"
    assert urllib.parse.parse_qs(parts.query) == {
        "q": ["宏达"], "unit": ["公路管理科"], "year": ["2020"], "limit": ["20"]}  # fmt: skip
    alone = urllib.parse.urlsplit(DecisionQuery("", (("item", "XCJT-01-001"),)).app_path())
    assert urllib.parse.parse_qs(alone.query) == {"item": ["XCJT-01-001"], "limit": ["20"]}
    assert query.label == "宏达 unit=公路管理科 year=2020"


def test_a_decision_query_asks_the_public_api():
    path = DecisionQuery("宏达 物流").app_path()
    parts = urllib.parse.urlsplit(path)
    assert parts.path == "/api/v1/decisions"
    assert urllib.parse.parse_qs(parts.query) == {"q": ["宏达 物流"], "limit": ["20"]}


def test_parties_are_read_from_organisations_and_sole_traders_only(tmp_path):
    path = tmp_path / "app.sqlite3"
    connection = sqlite3.connect(path)
    connection.executescript("""
        CREATE TABLE licence_decision (id INTEGER PRIMARY KEY, party_name TEXT,
                                       party_class TEXT, party_credit_code TEXT);
        INSERT INTO licence_decision VALUES (2, '甲公司', 'organisation', 'A'),
            (4, '张三', 'natural_person', NULL), (6, '乙货运部', 'sole_trader', 'B'),
            (8, '甲公司', 'organisation', 'A'), (9, '丙公司', 'organisation', 'C');
    """)
    connection.commit()
    connection.close()
    assert read_parties(path, every=2) == (Party("甲公司", "A"), Party("乙货运部", "B"))


def test_decisions_are_read_with_their_filter_values_and_natural_persons_unnamed(tmp_path):
    path = tmp_path / "app.sqlite3"
    connection = sqlite3.connect(path)
    connection.executescript("""
        CREATE TABLE approval_item (id INTEGER PRIMARY KEY, code TEXT);
        CREATE TABLE licence_decision (id INTEGER PRIMARY KEY, item_id INT, party_name TEXT,
            party_class TEXT, party_credit_code TEXT, data_source_unit TEXT, decided_on TEXT,
            published_on TEXT, publish_by TEXT, status TEXT);
        CREATE TABLE penalty_decision (id INTEGER PRIMARY KEY, party_name TEXT,
            party_class TEXT, party_credit_code TEXT, data_source_unit TEXT, decided_on TEXT,
            published_on TEXT, publish_by TEXT, category TEXT);
        INSERT INTO approval_item VALUES (1, 'XCJT-01-001');
        INSERT INTO licence_decision VALUES
            (2, 1, '甲公司', 'organisation', 'A', '科一', '2020-05-06', '2020-05-20',
             '2020-05-15', 'valid'),
            (3, 1, '乙公司', 'organisation', 'B', '科一', '2020-05-06', '2020-05-07',
             '2020-05-15', 'valid'),
            (4, 1, '张三', 'natural_person', NULL, '科二', '2019-03-01', '2019-03-02',
             '2019-03-12', 'revoked');
        INSERT INTO penalty_decision VALUES
            (2, '丙货运部', 'sole_trader', 'C', '支队', '2020-07-01', '2020-07-02',
             '2020-07-10', 'fine');
    """)
    connection.commit()
    connection.close()
    assert read_decisions(path, every=2) == (
        Decision("licence", "甲公司", "A", "科一", 2020, True, item="XCJT-01-001",
                 status="valid"),
        Decision("licence", None, None, "科二", 2019, False, item="XCJT-01-001",
                 status="revoked"),
        Decision("penalty", "丙货运部", "C", "支队", 2020, False, category="fine"),
    )  # fmt: skip


def test_a_decision_search_row_is_judged_against_50_ms():
    assert "decision_search" in KINDS
    row = judged("decision search p95 名称2字 (sqlite) ms", 49.0, "decision_search_p95_ms",
                 kind="decision_search", database="sqlite", cache="distinct")  # fmt: skip
    assert row["limit"] == LIMITS["decision_search_p95_ms"] == 50.0 and row["met"]
    late = judged("t", 50.5, "decision_search_p95_ms", kind="decision_search",
                  database="postgresql", cache="distinct")  # fmt: skip
    assert late["met"] is False


@pytest.fixture
def bench_data(tmp_path, monkeypatch):
    """bench/data/ in a temporary directory: the smoke run writes nowhere else."""
    import bench.catalogs
    import bench.servers

    for module in (bench.catalogs, bench.servers):
        monkeypatch.setattr(module, "DATA", tmp_path)
    return tmp_path


def test_the_stage_answers_every_query_on_a_small_catalog(bench_data):
    """The stage end to end on SQLite (a catalog of 60 handling items, 3 queries a class):
    the catalog is generated once and reused, every query gets an answer from the app, and
    so does every report asked after a decision change, with two snapshots compared."""
    from bench.decisions import decision_search

    options = argparse.Namespace(decision_handling_items=60, seed=7, skip_postgres=True,
                                 decision_queries=3, class_time_limit=60,
                                 changes=2)  # fmt: skip
    generated: dict = {}
    section, rows = decision_search(options, generated)
    assert list(generated) == [("sqlite decisions", 60)]
    searches = [row for row in rows if row["kind"] == "decision_search"]
    assert len(searches) == len(CLASSES)
    for row in searches:
        assert row["n"] > 0 and "errors" not in row and row["measured"] is not None, row
    assert {row["database"] for row in rows} == {"sqlite"}
    assert section["sqlite"]["distinct"].keys() == set(CLASSES)
    with sqlite3.connect(bench_data / "app-decisions-60-7.sqlite3") as catalog:
        years = catalog.execute(
            "SELECT substr(decided_on, 1, 4) AS year FROM licence_decision UNION ALL"
            " SELECT substr(decided_on, 1, 4) FROM penalty_decision").fetchall()  # fmt: skip
    # decided in the year up to the run (decisions_until), reported for the year most are in
    assert section["report_year"] == int(Counter(year for (year,) in years).most_common(1)[0][0])
    others = [row for row in rows if row["kind"] != "decision_search"]
    assert [row["kind"] for row in others] == [
        "report_after_change", "report_after_change", "snapshot", "compare"]  # fmt: skip
    for row in others:
        assert "errors" not in row and row["measured"] is not None, row
    changed = section["sqlite"]["report_after_change"]
    assert len(changed["page_ms"]) == len(changed["api_ms"]) == 2
    assert len(section["sqlite"]["snapshots"]["snapshot_s"]) == 2
    # each change went through the service (audited): two per round, one between the snapshots
    with sqlite3.connect(bench_data / "app-decisions-60-7.sqlite3") as catalog:
        edits = catalog.execute("SELECT count(*) FROM audit_event WHERE reason = ?",
                                (EDIT_REASON,)).fetchone()[0]  # fmt: skip
    assert edits == 2 * 2 + 1
    again: dict = {}
    decision_search(options, again)
    assert again == {}  # reused


def test_a_generated_decision_catalog_on_postgresql_is_known_complete_and_reused():
    """The bench reuses a PostgreSQL catalog that holds the generated province and its
    decisions, a penalty among them still published today, and only then (the check was once
    not valid SQL: the million decisions were generated again on every run; the decisions
    were once all of 2020, and no penalty was published when measured)."""
    import sqlalchemy as sa

    from bench.catalogs import catalog_complete, decisions_until
    from tests.conftest import temporary_postgres_database
    from tests.test_cli import flask

    until = decisions_until().isoformat()
    with temporary_postgres_database("bench_complete") as url:
        for args in (("db", "upgrade"), ("generate-province", "--handling-items", "40", "--seed",
                                          "7", "--decisions-per-licence", "2",
                                          "--decisions-until", until)):  # fmt: skip
            done = flask(url, *args)
            assert done.returncode == 0, done.stderr
        engine = sa.create_engine(url)
        try:
            with engine.connect() as connection:
                assert catalog_complete(connection, 40, decisions=True)
                assert catalog_complete(connection, 40)
                assert not catalog_complete(connection, 41, decisions=True)
                connection.execute(sa.text("DELETE FROM penalty_decision"))
                assert not catalog_complete(connection, 40, decisions=True)  # none published
                connection.rollback()
                connection.execute(sa.text("DELETE FROM licence_decision"))
                assert not catalog_complete(connection, 40, decisions=True)
                assert catalog_complete(connection, 40)
                connection.rollback()
        finally:
            engine.dispose()
