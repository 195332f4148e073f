"""Distinct searches in-process, by class: what a search not seen before costs (issue 22).

Draws a few hundred DISTINCT queries a class from the catalog itself (pieces of item names and
material names of 1, 2, 3 and 4+ characters, pinyin pieces, initials of 2 and of 3+ letters,
words with a filter), sends each once to catalog.search.search() in-process with the result
cache off (SEARCH_RESULT_CACHE=0), and prints p50/p95/p99 a class. With --after-change it
also edits one item, commits, and times the first search after it (the frame's update).

    PYTHONPATH=. .venv/bin/python bench/search_probe.py --database-url sqlite:////tmp/x.sqlite3
    PYTHONPATH=. .venv/bin/python bench/search_probe.py --database-url postgresql://... --json out

The draw is deterministic for --seed; the same queries serve both databases when they hold
the same catalog (the shared 300,000-item data of the bench).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLASSES = ("1 char", "2 chars", "3 chars", "4+ chars", "pinyin", "initials 2", "initials 3+",
           "with filters")  # fmt: skip


def _pieces(texts: list[str], length: int, rng: random.Random, count: int) -> list[str]:
    """Distinct substrings of `length` CJK characters (a run of letters/digits is skipped)."""
    found: set[str] = set()
    for _attempt in range(count * 50):
        text = rng.choice(texts)
        if len(text) < length:
            continue
        start = rng.randrange(len(text) - length + 1)
        piece = text[start : start + length]
        if all("\u4e00" <= ch <= "\u9fff" for ch in piece):
            found.add(piece)
        if len(found) >= count:
            break
    return sorted(found)


def draw_queries(count: int, seed: int) -> dict[str, list[str]]:
    """{class: [query or "query&filter=..."]}, distinct within and across classes."""
    import sqlalchemy as sa

    from catalog.enums import Status
    from catalog.extensions import db
    from catalog.models import ApprovalItem, Material
    from catalog.search.text import pinyin_of

    rng = random.Random(seed)
    names = sorted(set(db.session.scalars(
        sa.select(ApprovalItem.name).where(ApprovalItem.status == Status.published).distinct()
    )))  # fmt: skip
    materials = sorted(set(db.session.scalars(sa.select(Material.name).distinct().limit(20000))))
    units = db.session.scalars(sa.select(ApprovalItem.handling_unit).distinct())
    units = sorted(set(units) - {None})
    texts = names + materials
    queries = {
        "1 char": _pieces(texts, 1, rng, count),
        "2 chars": _pieces(texts, 2, rng, count),
        "3 chars": _pieces(texts, 3, rng, count),
        "4+ chars": sorted({*_pieces(texts, 4, rng, count // 2), *_pieces(texts, 5, rng, count)}),
    }
    spelt = [pinyin_of(piece) for piece in _pieces(names, 2, rng, count * 2)]
    queries["pinyin"] = sorted({full for full, _initials in spelt if len(full) >= 4})[:count]
    initials = [pinyin_of(name)[1] for name in names]
    queries["initials 2"] = sorted({i[:2] for i in initials if len(i) >= 2})
    three = set()
    for text in initials:
        if len(text) >= 3:
            start = rng.randrange(len(text) - 2)
            three.add(text[start : start + rng.choice((3, 3, 4))])
    queries["initials 3+"] = sorted(three - set(queries["initials 2"]))
    words = _pieces(texts, 2, rng, count) + _pieces(texts, 3, rng, count)
    filters = ["type=licence", "no_visit=1", "one_visit=1", "no_fee=1", "instant=1"]
    with_filters = set()
    for word in words:
        choice = rng.choice([*filters, "unit"])
        value = f"unit={rng.choice(units)}" if choice == "unit" else choice
        with_filters.add(f"{word}&{value}")
    queries["with filters"] = sorted(with_filters)
    seen: set[str] = set()
    for name in CLASSES:  # distinct across classes too, then a sample of `count`
        unique = [query for query in queries[name] if query not in seen]
        seen.update(unique)
        rng.shuffle(unique)
        queries[name] = unique[:count]
    return queries


def summarise(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)

    def pick(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 2)

    return {"n": len(ordered), "p50": round(statistics.median(ordered), 2), "p95": pick(0.95),
            "p99": pick(0.99), "max": round(ordered[-1], 2)}  # fmt: skip


def time_search(word: str, filters: str) -> float:
    import urllib.parse

    from catalog.extensions import db
    from catalog.search import Filters, search

    args = dict(urllib.parse.parse_qsl(filters))
    started = time.perf_counter()
    search(word, Filters.from_args(args), synonyms=lambda _revision: _NO_SYNONYMS)
    took = (time.perf_counter() - started) * 1000
    db.session.remove()
    return took


def _edit_one_item() -> float:
    """Change one published item's situation and commit; the next search's time in ms."""
    import sqlalchemy as sa

    from catalog.enums import Status
    from catalog.extensions import db
    from catalog.models import ApprovalItem
    from catalog.search import index_item

    item = db.session.scalars(
        sa.select(ApprovalItem).where(ApprovalItem.status == Status.published).limit(1)
    ).one()
    item.handling_items[0].situation = f"探测{time.time_ns() % 100000}"  # as a service would
    index_item(item)
    db.session.commit()
    db.session.remove()
    return time_search("运输", "")


def _frame_after_edit() -> float:
    """Edit one item as above; the frame's update alone, in ms (the frame of the new revision,
    made as the first search makes it)."""
    from catalog.extensions import db
    from catalog.revision import revision_key
    from catalog.search.delta import frame_of

    _edit_one_item()  # (its search brings the frame up to date: edit once more, untimed)
    import sqlalchemy as sa

    from catalog.enums import Status
    from catalog.models import ApprovalItem
    from catalog.search import index_item

    item = db.session.scalars(
        sa.select(ApprovalItem).where(ApprovalItem.status == Status.published).limit(1)
    ).one()
    item.handling_items[0].situation = f"探测{time.time_ns() % 100000}"
    index_item(item)
    db.session.commit()
    db.session.remove()
    started = time.perf_counter()
    frame_of(revision_key())
    took = (time.perf_counter() - started) * 1000
    db.session.remove()
    return took


_NO_SYNONYMS = None

# PostgreSQL layouts tried for the lookups of Chinese words (docs/search-speed.md): each a
# table, made from search_entry by --make-layouts, and the lookup of a word in it.
LAYOUTS = {
    "search_entry (today)": ("search_entry", "search_entry"),
    "narrow tables": ("exp_grams", "exp_text"),
}
MAKE_LAYOUTS = [
    "DROP TABLE IF EXISTS exp_grams, exp_text",
    "CREATE TABLE exp_grams AS SELECT handling_item_id, chars, name_chars FROM search_entry",
    "CREATE INDEX ix_exp_grams_chars ON exp_grams"
    " USING gin (to_tsvector('simple'::regconfig, chars))",
    "CREATE TABLE exp_text AS SELECT handling_item_id, name, body FROM search_entry",
    "CREATE INDEX ix_exp_text_name ON exp_text USING gin (name gin_trgm_ops)",
    "CREATE INDEX ix_exp_text_body ON exp_text USING gin (body gin_trgm_ops)",
]


def _lookup_sql(table: str, word: str) -> tuple[str, dict[str, str]]:
    """The id list of the entries with `word`, as catalog.search.lookups asks it of PostgreSQL:
    a token of the characters and pairs for 1-2 characters, LIKE through pg_trgm for more."""
    ids = "string_agg(handling_item_id::text, ',')"
    if len(word) < 3:
        where = "to_tsvector('simple'::regconfig, chars) @@ plainto_tsquery('simple', :word)"
        return f"SELECT {ids} FROM {table} WHERE {where}", {"word": word}
    return (f"SELECT {ids} FROM {table} WHERE name LIKE :pattern OR body LIKE :pattern",
            {"pattern": f"%{word}%"})  # fmt: skip


def compare_layouts(queries: dict[str, list[str]]) -> dict[str, dict]:
    """p50/p95 of the lookups alone, per class and layout, the layouts taking turns."""
    import sqlalchemy as sa

    from catalog.extensions import db
    from catalog.search.common import POSITION

    timings: dict[tuple[str, str], list[float]] = {}
    for name in ("1 char", "2 chars", "3 chars", "4+ chars"):
        for word in queries[name]:
            if word in POSITION:  # a common word: the search reads the frame's bits instead
                continue
            for layout, (grams, text) in LAYOUTS.items():
                table = grams if len(word) < 3 else text
                statement, params = _lookup_sql(table, word)
                started = time.perf_counter()
                db.session.execute(sa.text(statement), params).scalar()
                took = (time.perf_counter() - started) * 1000
                timings.setdefault((layout, name), []).append(took)
            db.session.remove()
    return {f"{layout} / {name}": summarise(found) for (layout, name), found in timings.items()}


def main() -> int:
    global _NO_SYNONYMS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--count", type=int, default=200, help="queries a class")
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--classes", default=",".join(CLASSES))
    parser.add_argument("--after-change", type=int, default=0, help="edits to time")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument(
        "--layouts",
        action="store_true",
        help="PostgreSQL: time the lookups in each layout of LAYOUTS instead",
    )
    parser.add_argument(
        "--make-layouts",
        action="store_true",
        help="PostgreSQL: build the tables of LAYOUTS first (minutes)",
    )
    options = parser.parse_args()
    os.environ["DATABASE_URL"] = options.database_url
    sys.path.insert(0, str(ROOT))
    from catalog import create_app
    from catalog.search.frame import frames
    from catalog.search.text import Synonyms

    _NO_SYNONYMS = Synonyms({}, {})
    app = create_app({"SQLALCHEMY_DATABASE_URI": options.database_url, "SEARCH_RESULT_CACHE": 0,
                      "SECRET_KEY": "probe"})  # fmt: skip
    results: dict[str, object] = {"database": options.database_url.split(":")[0]}
    with app.app_context():
        queries = draw_queries(options.count, options.seed)
        if options.layouts or options.make_layouts:
            import sqlalchemy as sa

            from catalog.extensions import db

            if options.make_layouts:
                for statement in MAKE_LAYOUTS:
                    db.session.execute(sa.text(statement))
                db.session.commit()
                with db.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT"
                ) as connection:  # reads an index answers skip the heap only once vacuumed
                    connection.exec_driver_sql("VACUUM ANALYZE exp_grams")
                    connection.exec_driver_sql("VACUUM ANALYZE exp_text")
            results.update(compare_layouts(queries))
            print(json.dumps(results, ensure_ascii=False, indent=1))
            return 0
        frames.clear()
        results["first search (frame load), ms"] = round(time_search("", ""), 1)
        for name in options.classes.split(","):
            latencies = []
            for query in queries[name]:
                word, _sep, filters = query.partition("&")
                latencies.append(time_search(word, filters))
            results[name] = summarise(latencies)
            print(f"{name:14} {results[name]}", flush=True)
        if options.after_change:
            after = [_edit_one_item() for _ in range(options.after_change)]
            results["first search after a change"] = summarise(after)
            print(f"after change   {results['first search after a change']}")
            try:
                update = [_frame_after_edit() for _ in range(options.after_change)]
            except ImportError:  # (a version before catalog.search.delta)
                update = None
            if update:
                results["frame update after a change"] = summarise(update)
                print(f"frame update   {results['frame update after a change']}")
    print(json.dumps(results, ensure_ascii=False))
    if options.json:
        Path(options.json).write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
