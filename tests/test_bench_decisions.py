"""The pure parts of the decision search stage of `make bench` (bench/decision_queries.py, its
rows in bench/judge.py) and a smoke run of the stage on a small catalog of its own: one gunicorn
worker per database, every query answered. Nothing here judges a speed."""

from __future__ import annotations

import argparse
import sqlite3
import urllib.parse

import pytest

from bench.decision_queries import (
    CLASSES,
    DecisionQuery,
    Party,
    generate_decision_queries,
    read_parties,
)
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
    the catalog is generated once and reused, and every query gets an answer from the app."""
    from bench.decisions import decision_search

    options = argparse.Namespace(decision_handling_items=60, seed=7, skip_postgres=True,
                                 decision_queries=3, class_time_limit=60)  # fmt: skip
    generated: dict = {}
    section, rows = decision_search(options, generated)
    assert list(generated) == [("sqlite decisions", 60)]
    assert [row["kind"] for row in rows] == ["decision_search"] * len(CLASSES)
    assert {row["database"] for row in rows} == {"sqlite"}
    for row in rows:
        assert row["n"] > 0 and "errors" not in row and row["measured"] is not None, row
    assert section["sqlite"]["distinct"].keys() == set(CLASSES)
    again: dict = {}
    decision_search(options, again)
    assert again == {}  # reused
