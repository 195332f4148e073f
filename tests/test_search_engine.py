"""The search engine (indexes that return ids, a frame of the catalog that ranks and counts them)
against a plain reading of the rules over every entry, on a generated province catalog with
drafts in it: the same hits in the same order with the same ranks, walked page by page, the same
total and the same facets, for words of every length, pinyin, initials, several terms, synonyms
and filters; on both databases."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from catalog.enums import CaseType, ItemType, Status
from catalog.models import ApprovalItem, HandlingItem, SearchEntry
from catalog.province import generate_province
from catalog.search import Filters, Synonyms, normalise, parse_query, search
from catalog.search.text import TERM_PATTERN
from catalog.services import update_item
from tests.factories import item_data

SYNONYMS = Synonyms.from_mapping({"出租车": ["出租汽车", "巡游出租汽车"], "码头": ["港口"]})


@dataclass(frozen=True)
class Row:
    id: int
    code: str
    item_code: str
    item_name: str
    name: str
    body: str
    pinyin: str
    initials: str
    published: bool
    type: str
    unit: str
    visits: int
    instant: bool
    fee: bool


@pytest.fixture
def province(db, seed_dir) -> list[Row]:
    generate_province(400, seed_dir=seed_dir, seed=5, decisions_per_licence=0)
    db.session.commit()
    # drafts: a few handling items, and a few items with all theirs
    for handling in db.session.scalars(sa.select(HandlingItem).where(HandlingItem.id % 17 == 0)):
        handling.status = Status.unpublished
    for item in db.session.scalars(sa.select(ApprovalItem).where(ApprovalItem.id % 23 == 0)):
        item.status = Status.unpublished
    db.session.commit()
    return read_rows(db)


def read_rows(db) -> list[Row]:
    rows = db.session.execute(
        sa.select(
            HandlingItem.id, HandlingItem.code, ApprovalItem.code, SearchEntry.item_name,
            SearchEntry.name,
            SearchEntry.body, SearchEntry.pinyin, SearchEntry.initials,
            sa.and_(HandlingItem.status == Status.published,
                    ApprovalItem.status == Status.published),
            ApprovalItem.item_type, ApprovalItem.handling_unit, HandlingItem.visits,
            HandlingItem.case_type, HandlingItem.charges_fee,
        )
        .join(ApprovalItem, HandlingItem.item_id == ApprovalItem.id)
        .join(SearchEntry, SearchEntry.handling_item_id == HandlingItem.id)
    ).all()  # fmt: skip
    return [
        Row(id_, code, item_code, item_name, name, body, pinyin, initials, bool(published),
            ItemType(kind).value, unit, visits, CaseType(case) == CaseType.instant, bool(fee))
        for id_, code, item_code, item_name, name, body, pinyin, initials, published, kind, unit,
        visits, case, fee in rows
    ]  # fmt: skip


# --- the rules, read plainly ---------------------------------------------------------------


def spells(term, row: Row) -> bool:
    text = term.text
    return (text in row.pinyin or row.initials.startswith(text)
            or (len(text) >= 3 and text in row.initials))  # fmt: skip


def in_body(word: str, row: Row) -> bool:
    """A word of 1 or 2 characters does not match inside the codes (the body holds them)."""
    if len(word) >= 3:
        return word in row.body
    codes = {normalise(row.item_code), normalise(row.code)}
    return any(word in text for text in row.body.split(" ") if text not in codes)


def matches(term, row: Row) -> bool:
    found = any(word in row.name or in_body(word, row) for word in term.words)
    return found or (term.is_latin and spells(term, row))


def in_name(term, row: Row) -> bool:
    return any(word in row.name for word in term.words) or (term.is_latin and spells(term, row))


def rank(query: str, terms, row: Row) -> int:
    if not terms:
        return 0
    whole = "".join(term.text for term in terms)
    exact = {whole, normalise(query).strip()}
    if len(terms) == 1:
        exact.update(terms[0].words)
    latin = terms[0].is_latin and len(terms) == 1
    if row.item_name in exact or (latin and whole in (row.pinyin, row.initials)):
        return 0
    if any(row.item_name.startswith(word) for word in exact) or (
        latin and row.pinyin.startswith(whole)
    ):
        return 1
    return 2 if all(in_name(term, row) for term in terms) else 3


def passes(filters: Filters, row: Row, without: str | None = None) -> bool:
    checks = {
        "type": filters.type is None or row.type == ItemType(filters.type).value,
        "unit": filters.unit is None or row.unit == filters.unit,
        "no_visit": not filters.no_visit or row.visits == 0,
        "instant": not filters.instant or row.instant,
        "no_fee": not filters.no_fee or not row.fee,
        "one_visit": not filters.one_visit or row.visits <= 1,
    }
    return all(ok for name, ok in checks.items() if name != without)


def expected(rows: list[Row], query: str, filters: Filters):
    terms = parse_query(query, SYNONYMS)
    found = [row for row in rows if row.published and all(matches(t, row) for t in terms)]
    hits = sorted(
        ((rank(query, terms, row), row.code) for row in found if passes(filters, row)),
    )
    facets = {}
    for name in ("type", "unit"):
        counts: dict[str, int] = {}
        for row in found:
            if passes(filters, row, without=name):
                counts[getattr(row, name)] = counts.get(getattr(row, name), 0) + 1
        facets[name] = dict(sorted(counts.items(), key=lambda entry: (-entry[1], entry[0])))
    chosen = [row for row in found if passes(filters, row)]
    facets["flags"] = {
        "no_visit": sum(row.visits == 0 for row in chosen),
        "instant": sum(row.instant for row in chosen),
        "no_fee": sum(not row.fee for row in chosen),
        "one_visit": sum(row.visits <= 1 for row in chosen),
    }
    return [(code, r) for r, code in hits], len(hits), facets


def actual(query: str, filters: Filters, *, limit: int):
    hits, cursor, first = [], None, None
    while True:
        page = search(query, filters, synonyms=SYNONYMS, cursor=cursor, limit=limit)
        first = first or page
        hits += [(hit.handling_item.code, hit.rank) for hit in page.hits]
        cursor = page.next_cursor
        if cursor is None:
            return hits, first.total, first.facets
        assert len(hits) <= first.total, "the pages run past the total"


# --- the queries ---------------------------------------------------------------------------


def queries(rows: list[Row]) -> list[tuple[str, Filters]]:
    rng = random.Random(20201128)
    names = [row.name for row in rows]
    bodies = [row.body for row in rows]
    units = sorted({row.unit for row in rows})
    typed = []
    for size in (1, 2, 2, 3, 4, 6):
        for source in (names, bodies):
            text = rng.choice([t for t in source if len(t) > size])
            start = rng.randrange(len(text) - size)
            typed.append(text[start : start + size])
    for row in rng.sample(rows, 4):
        typed += [row.pinyin[:6], row.initials[:3], row.initials[:2], row.item_name]
    typed += ["许可 运输", "道路 经营 许可", "出租车", "码头", "证", "许可证", "q", "zzzz", ""]
    chosen = [(query, Filters()) for query in typed if query.strip()]
    chosen += [
        ("许可", Filters(type=ItemType.licence, no_visit=True)),
        ("运输", Filters(instant=True, no_fee=True)),
        ("", Filters(type=ItemType.confirmation)),
        ("", Filters(unit=units[0], one_visit=True)),
        ("登记", Filters(unit=units[-1])),
        ("经营", Filters(unit="没有这个机构")),
    ]
    return chosen


def test_search_agrees_with_the_rules_read_plainly(province, db):
    """Every query's page (ranks and order), total and facets are the rules' read plainly; a
    match's name is the frame's (Frame.named), so telling the names apart asks no statement."""
    checked = 0
    for query, filters in queries(province):
        want_hits, want_total, want_facets = expected(province, query, filters)
        got_hits, got_total, got_facets = actual(query, filters, limit=9)
        assert got_total == want_total, (query, filters)
        assert got_hits == want_hits, (query, filters)
        assert got_facets == want_facets, (query, filters)
        checked += bool(want_hits)
    assert checked >= 30  # most queries find something: the comparison is not of empty lists


def test_the_engine_follows_a_change_at_once(province, db):
    """An edit changes the revision: the next search reads a new frame (status, facets)."""
    before = actual("许可", Filters(), limit=100)[1]
    # an item whose handling items are all published: the edit below keeps a handling item's
    # status, so one the fixture unpublished would stay out of the search (and the rows'
    # physical order, which an unordered LIMIT follows on PostgreSQL, changes with vacuum)
    unpublished = sa.select(HandlingItem.id).where(
        HandlingItem.item_id == ApprovalItem.id, HandlingItem.status != Status.published
    )
    item = db.session.scalar(
        sa.select(ApprovalItem)
        .where(ApprovalItem.status == Status.published, ApprovalItem.name.contains("许可"),
               ~unpublished.exists())
        .order_by(ApprovalItem.id)
        .limit(1)
    )  # fmt: skip
    handled = len(item.handling_items)
    item.status = Status.unpublished
    db.session.commit()
    assert actual("许可", Filters(), limit=100)[1] == before - handled
    item.status = Status.published
    update_item(item, item_data(code=item.code, name="全新名称的测试事项"))
    db.session.commit()
    assert actual("全新名称", Filters(), limit=100)[1] == len(item.handling_items)


def test_the_common_bits_agree_with_the_text(province, db):
    """The frame lists the entries of a common character or pair from their bits (search.common)
    instead of the index: exactly the entries whose name or body has it, for every one of them,
    as the generator wrote them and as the services rewrite them."""
    from catalog.search.common import COMMON_TOKENS
    from catalog.search.frame import load_frame

    def having(rows: list[Row], *tokens: str) -> list[int]:
        return sorted(r.id for r in rows if any(t in r.name or t in r.body for t in tokens))

    frame = load_frame()
    assert sum(bool(having(province, token)) for token in COMMON_TOKENS) > 200
    for token in COMMON_TOKENS:
        assert frame.having([token]).tolist() == having(province, token), token
    assert frame.having(["旅客", "许可"]).tolist() == having(province, "旅客", "许可")

    # an item gains a common pair it did not have, and loses its others
    item = db.session.scalar(
        sa.select(ApprovalItem).join(HandlingItem).join(SearchEntry)
        .where(ApprovalItem.status == Status.published, ~SearchEntry.body.contains("旅客"),
               ~SearchEntry.name.contains("旅客"), SearchEntry.name.contains("许可")).limit(1)
    )  # fmt: skip
    update_item(item, item_data(code=item.code, name="旅客测试事项"))
    db.session.commit()
    rows = read_rows(db)
    assert load_frame().having(["旅客"]).tolist() == having(rows, "旅客")
    for query in ("旅客", "许可"):
        want_hits, want_total, want_facets = expected(rows, query, Filters())
        assert actual(query, Filters(), limit=50) == (want_hits, want_total, want_facets)


def test_a_short_word_does_not_match_inside_the_codes(province, db):
    """The letters every generated code begins with (HN-…) were a token of every entry, and a
    search for them (two-letter initials, as a citizen types 河南) read every entry: 0.5-1.3 s at
    300,000 handling items on PostgreSQL (docs/search-speed.md, *A token of every entry*). A
    word of 1 or 2 characters no longer matches inside a code: the lookup of hn finds only the
    entries with hn elsewhere, and the search the names it spells. A code is found by a word of
    3+ characters, and a code as written (HN-0304-…, hyphens and all) is one such word.

    Since migration 0043 every 1- or 2-character word of letters and digits is looked up
    through the parts (in the process, no statement), which hold the texts without the codes:
    each such piece of the province's texts, and a few found nowhere or everywhere, finds
    exactly the entries whose name or uncoded body has it, through the parts held and through
    the database's parts (word_rows)."""
    from catalog.revision import revision_key
    from catalog.search import lookups as engine
    from catalog.search import word_rows
    from catalog.search.delta import frame_of
    from catalog.search.part_list import load_part_list

    assert all("hn" in normalise(row.code) and "hn" in row.body for row in province)
    texts = [row.name for row in province]
    texts += [word for row in province for word in row.body.split(" ") if in_body(word, row)]
    pieces = {text[i : i + size] for text in texts for size in (1, 2)
              for i in range(len(text) - size + 1)}  # fmt: skip
    short = sorted(p for p in pieces if p.isascii() and TERM_PATTERN.fullmatch(p))
    assert {"hn", "h", "0", "01"} <= {*short, "hn", "h", "0", "01"} and len(short) > 20, short
    held = engine.PartSearch(load_part_list(), frame_of(revision_key()).postings)
    for word in [*short, "hn", "h", "0", "01", "zq", "9x"]:
        assert engine.in_parts(word), word
        outside = sorted(row.id for row in province if word in row.name or in_body(word, row))
        in_name = sorted(row.id for row in province if word in row.name)
        (lookup,) = engine._term_lookups([word], name_only=False, parts=held)
        assert sorted(lookup.ids().tolist()) == outside, word
        assert sorted(db.session.scalars(word_rows(word))) == outside, word
        assert sorted(db.session.scalars(word_rows(word, name_only=True))) == in_name, word
    for word in ("hn", "h", "0", "01"):
        outside = [row.id for row in province if word in row.name or in_body(word, row)]
        assert len(outside) < len(province) // 2, word  # the codes' made it every entry
    published = [row for row in province if row.published]
    for query in ("hn", "01"):
        got = actual(query, Filters(), limit=100)
        assert got == expected(province, query, Filters())
        assert got[1] < len(published) // 2, query
    row = published[7]
    for query in (
        row.code,
        row.code.lower(),
        f"{row.code} {row.item_name}",
        row.item_code,
        row.code[:7],
    ):
        got = actual(query, Filters(), limit=100)
        assert got == expected(province, query, Filters()), query
        assert row.code in [code for code, _rank in got[0]], query


def test_the_page_reads_its_rows_from_the_listed_indexes(province, db):
    """A page's handling items and their items are read by id in one statement. On PostgreSQL
    two covering indexes hold what it reads (migration 0042: at 300,000 handling items the
    tables' rows no longer fit PostgreSQL's buffers, and every distinct page read half of its
    160 buffers from outside them; with the indexes it reads them alone), so they must include
    every column the list shows, which this holds to the statement. (Which plan PostgreSQL
    picks depends on the tables' size: on these few rows it may read them whole.) On SQLite by
    rowid, each table being its own index by id."""
    from catalog.search import results

    read = {"handling_item": set(), "approval_item": set()}
    for column in results._PAGE_HITS.selected_columns[1:]:
        read[column.table.name].add(column.name)
    read["handling_item"] |= {"item_id"}  # the join's
    if db.engine.dialect.name == "postgresql":
        for table, columns in read.items():
            indexes = {index["name"]: index for index in sa.inspect(db.engine).get_indexes(table)}
            listed = indexes[f"ix_{table}_listed"]
            assert listed["column_names"] == ["id"]
            assert set(listed["dialect_options"]["postgresql_include"]) == columns - {"id"}, table
        return
    seen: list[str] = []

    def plan(conn, _cursor, statement, parameters, _context, _many):
        if "catalog_revision" in statement and "handling_item.id IN" in statement:
            lines = conn.connection.dbapi_connection.execute(
                "EXPLAIN QUERY PLAN " + statement, parameters
            ).fetchall()
            seen.append("\n".join(" ".join(map(str, line)) for line in lines))

    sa.event.listen(db.engine, "before_cursor_execute", plan)
    try:
        page = search("许可", Filters(), synonyms=SYNONYMS)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", plan)
    assert page.hits and seen  # (two when the revision read first was stale: search.query)
    for explained in seen:
        for table in read:
            assert f"SEARCH {table} USING INTEGER PRIMARY KEY" in explained, explained
