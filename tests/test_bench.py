"""The pure parts of `make bench`: the distinct query set it judges the search on, and how a
measurement becomes a judged target row (bench/queries.py, bench/judge.py). Nothing is timed."""

from __future__ import annotations

import sqlite3
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bench.judge import (
    CACHES,
    DATABASES,
    KINDS,
    LIMITS,
    growth_rows,
    judged,
    percentile,
    search_rows,
    summarise,
)
from bench.queries import (
    CACHED_MIX,
    CLASSES,
    FLAGS,
    ITEM_TYPES,
    CatalogText,
    Query,
    class_of,
    generate_queries,
    read_catalog_text,
)

TEXT = CatalogText(
    texts=(
        "道路运输经营许可", "出租汽车驾驶员从业资格证核发", "危险货物道路运输许可", "新办",
        "变更", "港口经营许可", "船舶营业运输证配发", "食品经营许可证核发", "营业执照",
        "建设项目使用林地审核审批", "特种设备使用登记", "城市道路占用挖掘许可", "取水许可",
        "网络预约出租汽车经营许可", "水路运输经营者资质认定", "药品零售企业许可",
    ),
    units=("交通运输局", "市场监督管理局", "水利局"),
)  # fmt: skip


def test_the_query_set_is_deterministic_for_the_seed_and_changes_with_it():
    first = generate_queries(TEXT, 2020, 30)
    assert first == generate_queries(TEXT, 2020, 30)
    assert first != generate_queries(TEXT, 2021, 30)


def test_every_query_is_distinct_in_its_class_and_in_the_whole_set():
    queries = generate_queries(TEXT, 2020, 30)
    every = [query for found in queries.values() for query in found]
    assert len(every) == len(set(every))
    assert all(0 < len(found) <= 30 for found in queries.values())


def test_each_query_is_of_the_class_it_is_listed_in():
    queries = generate_queries(TEXT, 2020, 30)
    assert list(queries) == list(CLASSES)
    for name, found in queries.items():
        for query in found:
            assert class_of(query) == name
            word = query.word
            if name in ("1字", "2字", "3字"):
                assert len(word) == int(name[0]) and not word.isascii()
            elif name == "4字+":
                assert len(word) >= 4 and not word.isascii()
            elif name == "首字母2":
                assert len(word) == 2 and word.isascii() and word.isalpha()
            elif name in ("拼音", "首字母3+"):
                assert len(word) >= 3 and word.isascii() and word.isalpha()
            else:
                assert len(query.filters) == 1
                key, value = query.filters[0]
                assert (
                    (key == "type" and value in ITEM_TYPES)
                    or (key == "unit" and value in TEXT.units)
                    or (key in FLAGS and value == "1")
                )


def test_queries_are_pieces_of_the_catalog_text():
    """A CJK query is a substring of some text: what someone who read the catalog types."""
    queries = generate_queries(TEXT, 2020, 30)
    for name in ("1字", "2字", "3字", "4字+", "筛选"):
        for query in queries[name]:
            assert any(query.word in text for text in TEXT.texts), query


def test_the_cached_mix_is_classed_as_named():
    for name, queries in CACHED_MIX.items():
        assert all(class_of(query) == name for query in queries)


def test_a_query_asks_the_app_and_datasette_the_same_thing():
    query = Query("许可", (("no_fee", "1"),))
    app = urllib.parse.parse_qs(urllib.parse.urlsplit(query.app_path()).query)
    assert app == {"q": ["许可"], "no_fee": ["1"], "limit": ["20"]}
    peer = urllib.parse.parse_qs(urllib.parse.urlsplit(query.datasette_path()).query)
    assert peer["name__contains"] == ["许可"] and peer["charges_fee__exact"] == ["0"]
    longer = urllib.parse.parse_qs(urllib.parse.urlsplit(
        Query("出租车", (("unit", "交通运输局"),)).datasette_path()).query)  # fmt: skip
    assert longer["_search"] == ["出租车"] and longer["unit__exact"] == ["交通运输局"]


def test_catalog_text_is_read_once_per_distinct_text(tmp_path):
    path = tmp_path / "catalog.sqlite3"
    connection = sqlite3.connect(path)
    connection.executescript("""
        CREATE TABLE approval_item (id INTEGER PRIMARY KEY, name TEXT, status TEXT,
                                    handling_unit TEXT);
        CREATE TABLE handling_item (id INTEGER PRIMARY KEY, situation TEXT, status TEXT);
        CREATE TABLE material (id INTEGER PRIMARY KEY, name TEXT);
        INSERT INTO approval_item VALUES (1, '道路运输经营许可', 'published', '交通运输局'),
            (2, '港口经营许可', 'retired', '港务局'), (3, '取水许可', 'published', NULL);
        INSERT INTO handling_item VALUES (1, '新办', 'published'), (2, '新办', 'published'),
            (3, NULL, 'published');
        INSERT INTO material VALUES (40, '营业执照'), (41, '承诺书');
    """)  # fmt: skip
    connection.commit()
    connection.close()
    text = read_catalog_text(path)
    assert text.texts == ("道路运输经营许可", "取水许可", "新办", "营业执照")
    assert text.units == ("交通运输局",)


# --- judging --------------------------------------------------------------------------------


def test_a_row_carries_what_was_judged_and_where():
    row = judged("search p95 1字 (postgresql, distinct) ms", 42.0, "search_p95_ms",
                 kind="search", database="postgresql", cache="distinct", n=200)  # fmt: skip
    assert row == {"target": "search p95 1字 (postgresql, distinct) ms", "measured": 42.0,
                   "limit": LIMITS["search_p95_ms"], "met": True, "database": "postgresql",
                   "cache": "distinct", "kind": "search", "n": 200}  # fmt: skip


@pytest.mark.parametrize(
    ("limit_key", "measured", "met"),
    [
        ("search_p95_ms", LIMITS["search_p95_ms"], True),  # the limit itself is met
        ("search_p95_ms", LIMITS["search_p95_ms"] + 0.01, False),
        ("throughput_vs_datasette", LIMITS["throughput_vs_datasette"], True),  # a floor
        ("throughput_vs_datasette", LIMITS["throughput_vs_datasette"] - 0.01, False),
        ("throughput_vs_datasette", LIMITS["throughput_vs_datasette"] * 3, True),
        ("worker_memory_mb", LIMITS["worker_memory_mb"] * 3, False),
        ("snapshot_s", None, False),  # not measured (a timeout): never met by default
    ],
)
def test_met_is_measured_against_the_limit_in_the_right_direction(limit_key, measured, met):
    row = judged("t", measured, limit_key, kind="snapshot", database="sqlite", cache="distinct")
    assert row["met"] is met


def test_a_run_with_failed_requests_is_not_met():
    row = judged("t", 1.0, "search_p95_ms", kind="search", database="sqlite", cache="cached",
                 errors=3)  # fmt: skip
    assert row["met"] is False and row["errors"] == 3


@pytest.mark.parametrize("labels", [{"kind": "speed"}, {"database": "mysql"}, {"cache": "warm"}])
def test_a_row_outside_the_named_kinds_databases_and_caches_is_refused(labels):
    fields = {"kind": KINDS[0], "database": DATABASES[0], "cache": CACHES[0], **labels}
    with pytest.raises(ValueError):
        judged("t", 1.0, "search_p95_ms", **fields)


def test_search_rows_judge_the_p95_and_the_floor_ratio_for_distinct_searches():
    served = summarise([10.0] * 19 + [40.0])
    floor = summarise([5.0] * 19 + [10.0])
    rows = search_rows("sqlite", "2字", served, floor, "distinct")
    assert [row["kind"] for row in rows] == ["search", "search"]
    assert [row["cache"] for row in rows] == ["distinct", "distinct"]
    assert rows[0]["measured"] == served["p95"] and rows[0]["met"]
    assert rows[1]["measured"] == round(served["p95"] / floor["p95"], 2)
    assert rows[1]["limit"] == LIMITS["search_p95_vs_floor"]
    assert len(search_rows("sqlite", "2字", served, None, "cached")) == 1


def test_growth_is_the_largest_sizes_p95_over_the_smallests():
    by_size = {30_000: {"1字": {"p95": 10.0}}, 100_000: {"1字": {"p95": 12.0}},
               300_000: {"1字": {"p95": 16.0}}}  # fmt: skip
    (row,) = growth_rows("postgresql", by_size)
    assert row["measured"] == 1.6 and row["met"] is False
    assert (row["kind"], row["database"], row["cache"]) == ("growth", "postgresql", "distinct")
    assert row["p95_ms"] == {30_000: 10.0, 100_000: 12.0, 300_000: 16.0}
    assert growth_rows("sqlite", {30_000: {"1字": {"p95": 1.0}}}) == []


def test_percentile_is_the_nearest_rank():
    values = [float(n) for n in range(1, 201)]
    assert percentile(values, 0.95) == 190.0
    assert percentile(values, 0.5) == 100.0
    assert percentile([], 0.95) is None


def test_readme_table_quotes_every_judged_row_and_marks_the_missed(capsys, tmp_path):
    """bench/readme_table.py: README's tables are printed from a results file, so a missed
    target shows as missed and the counts are the file's."""
    import json

    from bench import readme_table

    served, floor = summarise([10.0] * 19 + [40.0]), summarise([5.0] * 20)
    slow = summarise([80.0] * 20)
    rows = [
        *search_rows("sqlite", "2字", served, floor, "distinct"),
        *search_rows("postgresql", "2字", slow, slow, "distinct"),
        judged("snapshot creation (postgresql, worst of 2) s", 42.0, "snapshot_s",
               kind="snapshot", database="postgresql", cache="distinct"),
    ]  # fmt: skip
    results = {
        "handling_items": 1000, "finished_at": "2026-12-04T20:16:12+00:00", "seconds": 5,
        "machine": {"cores": 2, "cpu": "x", "python": "3.11", "sqlite": "3.40.1"},
        "sqlite": {"distinct": {"2字": {"app": served, "datasette": slow}}, "cached": {}},
        "postgresql": {"distinct": {"2字": {"app": slow, "datasette": slow}}, "cached": {}},
        "targets": rows,
    }  # fmt: skip
    path = tmp_path / "latest.json"
    path.write_text(json.dumps(results), encoding="utf-8")
    assert readme_table.main(str(path)) == 0
    printed = capsys.readouterr().out
    assert "bench/results/20261204-201612-1000.json" in printed
    assert f"{len(rows)} targets, 2 missed" in printed  # PostgreSQL's 80 ms and the snapshot
    assert "met in 2 of 2 classes" in printed
    assert f"| 2字 | {served['p95']:g} | 80 | 80 | 80 |" in printed
    assert "| snapshot creation (postgresql, worst of 2) s | 42 | 30 | **no** |" in printed


def test_the_slowest_requests_of_a_round_are_kept_slowest_first():
    from bench.judge import slowest
    from bench.servers import Timed

    timed = [Timed(f"/q{n}", float(n % 7), False, n / 10, n % 4) for n in range(20)]
    kept = slowest(timed, 3)
    assert [row["ms"] for row in kept] == [6.0, 6.0, 5.0]
    assert kept[0] == {"path": "/q6", "ms": 6.0, "at_s": 0.6, "client": 2, "failed": False}
    assert slowest([], 3) == []


@contextmanager
def _loopback_server() -> Iterator[int]:
    """A loopback HTTP server whose /slow answers late and /missing is a 404; its port."""
    import http.server
    import threading
    import time

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            time.sleep(0.3 if self.path == "/slow" else 0.01)
            self.send_response(404 if self.path == "/missing" else 200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


def test_a_concurrent_round_times_every_request_with_its_path():
    """bench.servers.concurrent: every path once, each timed, the slow one the slowest, when it
    began within the round."""
    from bench.judge import slowest
    from bench.servers import concurrent

    paths = [f"/fast{n}" for n in range(10)] + ["/slow", "/missing"]
    with _loopback_server() as port:
        timed, wall = concurrent(port, paths, clients=3, time_limit=30)
    assert sorted(t.path for t in timed) == sorted(paths)
    assert [t.path for t in timed if t.failed] == ["/missing"]
    worst = slowest(timed, 1)[0]
    assert worst["path"] == "/slow" and worst["ms"] >= 300
    assert 0 <= worst["at_s"] < wall and {t.client for t in timed} <= {0, 1, 2}


def test_each_path_once_keeps_the_slowest_paths_with_their_times():
    """bench.rounds.each_once (the decision classes, the item pages): the summary of every
    path sent once, and the slowest paths named, slowest first, to look at when a class
    misses."""
    from bench.rounds import SLOWEST, each_once

    paths = ["/fast1", "/slow", "/fast2", "/missing"] + [f"/fast{n}" for n in range(3, 9)]
    with _loopback_server() as port:
        run = each_once(port, paths, time_limit=30)
    assert run["n"] == len(paths) and run["errors"] == 1
    assert len(run["slowest"]) == SLOWEST
    assert run["slowest"][0]["path"] == "/slow" and run["slowest"][0]["ms"] >= 300
    assert all(entry["ms"] < 300 for entry in run["slowest"][1:])
    times = [entry["ms"] for entry in run["slowest"]]
    assert times == sorted(times, reverse=True)


def test_the_activity_sampler_notes_a_long_statement_on_postgresql(database_url):
    """bench/pg_waits.py: on PostgreSQL a statement running while the round is sampled is noted
    with its text and how long it ran; on SQLite there is no server to sample."""
    import sqlalchemy as sa

    from bench.pg_waits import ActivitySampler

    engine = sa.create_engine(database_url)
    try:
        with ActivitySampler(database_url) as sampler, engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                connection.exec_driver_sql("SELECT pg_sleep(0.8)")
    finally:
        engine.dispose()
    summary = sampler.summary()
    if engine.dialect.name == "postgresql":
        assert summary["samples"] >= 5
        (note,) = [note for note in summary["long"] if "pg_sleep" in note["query"]]
        assert note["ms"] >= 300 and note["waits"] == {"Timeout/PgSleep": note["waits"][
            "Timeout/PgSleep"]}  # fmt: skip
        assert summary["active_by_wait"]["Timeout/PgSleep"] >= 3
    else:
        assert summary == {"samples": 0, "interval_s": 0.05, "active_by_wait": {}, "long": []}


def _damon(root, *, state="on", action="pageout", age="12", aggregation="5000000"):
    """A fake DAMON admin tree as this machine's kernel lays it out."""
    context = root / "kdamonds" / "0" / "contexts" / "0"
    scheme = context / "schemes" / "0"
    (scheme / "access_pattern" / "age").mkdir(parents=True)
    (context / "monitoring_attrs" / "intervals").mkdir(parents=True)
    (root / "kdamonds" / "0" / "state").write_text(state + "\n")
    (scheme / "action").write_text(action + "\n")
    (scheme / "access_pattern" / "age" / "min").write_text(age + "\n")
    (context / "monitoring_attrs" / "intervals" / "aggr_us").write_text(aggregation + "\n")
    return context / "schemes"


def test_the_results_say_when_the_kernel_pages_out_idle_memory(tmp_path, monkeypatch):
    """The decision catalog is cold when its stage starts on a machine that pages out what was
    idle for a minute: the results' machine section says so, and says nothing otherwise."""
    import bench.run

    monkeypatch.setattr(bench.run, "DAMON_SCHEMES", _damon(tmp_path / "on"))
    assert bench.run.page_cache_reclaim() == "DAMON pageout of memory idle for 60 s or more"
    assert bench.run.machine()["page_cache_reclaim"].startswith("DAMON pageout")
    monkeypatch.setattr(bench.run, "DAMON_SCHEMES", _damon(tmp_path / "off", state="off"))
    assert bench.run.page_cache_reclaim() is None
    monkeypatch.setattr(bench.run, "DAMON_SCHEMES", _damon(tmp_path / "stat", action="stat"))
    assert bench.run.page_cache_reclaim() is None
    monkeypatch.setattr(bench.run, "DAMON_SCHEMES", tmp_path / "absent" / "schemes")
    assert bench.run.page_cache_reclaim() is None


def test_reading_a_catalog_into_memory_reads_every_page_of_both_databases(tmp_path):
    """bench.catalogs.read_into_memory (the growth run, before each size): every byte of the
    SQLite file, in bounded pieces, and every block of the PostgreSQL catalog's tables, indexes
    and TOAST tables (pg_prewarm, in a database of its own: the extension stays out of the
    suite's)."""
    import sqlalchemy as sa

    from bench.catalogs import READ_CHUNK, read_into_memory
    from tests.conftest import temporary_postgres_database

    app_db = tmp_path / "catalog.sqlite3"
    connection = sqlite3.connect(app_db)
    connection.execute("CREATE TABLE t (text TEXT)")
    connection.executemany("INSERT INTO t VALUES (?)", [("道路运输" * 500,)] * 3000)
    connection.commit()
    connection.close()
    assert app_db.stat().st_size > 2 * READ_CHUNK  # read in several pieces
    assert read_into_memory(app_db, None)["sqlite_bytes"] == app_db.stat().st_size

    with temporary_postgres_database("catalog_prewarm") as url:
        engine = sa.create_engine(url)
        try:
            with engine.begin() as connection:
                connection.exec_driver_sql("CREATE TABLE t (id int PRIMARY KEY, text text)")
                connection.exec_driver_sql(  # texts long enough to go to the TOAST table
                    "INSERT INTO t SELECT n, (SELECT string_agg(md5(n || '-' || g), '')"
                    " FROM generate_series(1, 200) g) FROM generate_series(1, 500) n"
                )
            with engine.connect() as connection:
                toasted = connection.exec_driver_sql(
                    "SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE oid = 't'::regclass"
                ).scalar_one()
                expected = connection.exec_driver_sql(
                    "SELECT sum(pg_relation_size(oid)) / current_setting('block_size')::int"
                    " FROM pg_class WHERE oid IN ('t'::regclass, 't_pkey'::regclass,"
                    " (SELECT reltoastrelid FROM pg_class WHERE oid = 't'::regclass),"
                    " (SELECT indexrelid FROM pg_index WHERE indrelid ="
                    "  (SELECT reltoastrelid FROM pg_class WHERE oid = 't'::regclass)))"
                ).scalar_one()
        finally:
            engine.dispose()
        done = read_into_memory(None, url)
    assert done["sqlite_bytes"] == 0
    assert toasted > 0 and done["postgresql_blocks"] == expected


def test_without_pg_prewarm_the_catalog_is_timed_as_it_is(tmp_path):
    """A role that may not create the extension: read_into_memory says so and returns, and
    the growth run carries on (it stopped the whole run before)."""
    import uuid

    import sqlalchemy as sa

    from bench.catalogs import read_into_memory
    from tests.conftest import temporary_postgres_database

    role = f"bench_reader_{uuid.uuid4().hex[:8]}"
    with temporary_postgres_database("catalog_prewarm") as url:
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.exec_driver_sql(f"CREATE ROLE {role} LOGIN NOSUPERUSER")
            reader = sa.make_url(url).set(username=role, password=None)
            engine = sa.create_engine(reader)
            with engine.connect() as connection:  # the role signs in: it is refused the extension
                assert connection.exec_driver_sql("SELECT current_user").scalar_one() == role
            engine.dispose()
            done = read_into_memory(None, reader.render_as_string(hide_password=False))
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f"DROP OWNED BY {role}")
                connection.exec_driver_sql(f"DROP ROLE {role}")
            admin.dispose()
    assert done["postgresql_blocks"] is None and done["sqlite_bytes"] == 0


def test_every_mix_has_each_of_its_classes_alike_when_a_class_has_fewer_queries_than_asked():
    """1字 and 首字母2 have fewer distinct queries than asked at 300,000 (496 and 374 of
    1,210): what is left after latency is halved, so neither mix is left without them, and
    the mix of all takes as many of each class. No query is used twice."""
    import argparse

    from bench.run import FRESH, query_parts

    sizes = {name: 1210 for name in CLASSES} | {"1字": 496, "首字母2": 374}
    queries = {name: [Query(f"{name}{n}") for n in range(size)] for name, size in sizes.items()}
    options = argparse.Namespace(queries=200, mix_queries=1000)
    latency, mixes, fresh = query_parts(queries, options)
    assert {name: len(kept) for name, kept in latency.items()} == dict.fromkeys(CLASSES, 200)
    assert len(fresh) == FRESH
    # 首字母2 keeps 174 after latency: 87 for the per-group mixes and 87 for the mix of all
    assert len(mixes["全部"]) == 87 * len(CLASSES)
    assert len(mixes["1-2字或字母"]) == 87 * 3
    assert len(mixes["3+字或字母"]) == 500 * 4
    assert len(mixes["筛选"]) == 500
    used = [q for kept in latency.values() for q in kept] + fresh
    used += [q for mix in mixes.values() for q in mix]
    assert len(used) == len(set(used))
