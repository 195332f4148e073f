"""The entries' distinct parts and their postings (catalog.search.parts), which serve a Chinese
word's lookup: on a generated province (the generator's bulk path) and after the services'
edits, renames, deletions, material changes and a new part text, every 1-, 2-, 3- and
5-character piece of the catalog's text finds exactly the entries a plain scan of their text
finds; and the parts recomputed from the catalog's rows (the migration 0026's back-fill) are
the ones written. On both databases."""

from __future__ import annotations

import functools
import random

import numpy as np
import pytest
import sqlalchemy as sa

from catalog.enums import Status
from catalog.models import ApprovalItem, HandlingItem, SearchEntry, SearchPart, SearchPosting
from catalog.province import generate_province
from catalog.revision import revision_key
from catalog.search.delta import frame_of
from catalog.search.frame import id_list
from catalog.search.lookups import in_parts, part_rows
from catalog.search.part_list import PartSearch, load_part_list
from catalog.search.parts import PART, add_parts, fill, part_ids, parts_from_sources
from catalog.search.postings import Postings, load_postings
from catalog.search.terms import _like_pattern as like_pattern
from catalog.services import update_item
from tests.conftest import temporary_postgres_database
from tests.factories import handling_item_data, item_data
from tests.test_cli import flask


@pytest.fixture
def province(db, seed_dir):
    generate_province(300, seed_dir=seed_dir, seed=11, decisions_per_licence=0)
    db.session.commit()


def _postings(db) -> set[tuple[int, str, bool]]:
    return set(db.session.execute(
        sa.select(SearchPosting.handling_item_id, SearchPart.text, SearchPart.in_name)
        .join(SearchPart, SearchPart.id == SearchPosting.part_id)
    ).tuples())  # fmt: skip


def _recomputed(db) -> set[tuple[int, str, bool]]:
    return {
        (handling_id, text, in_name)
        for handling_id, parts in parts_from_sources(db.session.connection())
        for text, in_name in parts
    }


def _by_part(postings: Postings) -> dict[int, list[int]]:
    """The parts' handling items, the parts that have some (an update in place keeps a part
    whose last handling item went, with none)."""
    found = {part_id: sorted(postings.of(part_id).tolist())
             for part_id in np.flatnonzero(postings.row_of >= 0).tolist()}  # fmt: skip
    return {part_id: ids for part_id, ids in found.items() if ids}


def _agrees_with_a_scan(db) -> int:
    """Every piece of the entries' text a word can be looked up by through the parts finds the
    entries whose text (or name) has it, and no other; returns the number of pieces."""
    entries = db.session.execute(sa.select(SearchEntry.name, SearchEntry.body)).all()
    words = {w for name, body in entries for w in f"{name} {body}".split(" ") if w}
    pieces = []
    for size in (1, 2, 3, 5):  # every character; of longer pieces, a fixed draw of 150 each
        found = sorted({word[i : i + size] for word in words for i in range(len(word) - size + 1)})
        # (1-2 letters and digits, also looked up here, leave the codes out: the scan below
        # does not; test_search_engine's test of short words holds them to the uncoded text)
        found = [
            p for p in found if in_parts(p) and not p.isascii() and not {"%", "_", "\\"} & set(p)
        ]
        pieces += found if size == 1 else random.Random(size).sample(found, min(150, len(found)))
    held = load_part_list()  # the parts held in the process (catalog.search.part_list)
    # the search frame's postings: loaded whole the first time, updated in place after changes
    postings = frame_of(revision_key()).postings
    for piece in pieces:
        in_name = SearchEntry.name.contains(piece, autoescape=True)
        anywhere = sa.or_(in_name, SearchEntry.body.contains(piece, autoescape=True))
        search = PartSearch(held, postings)  # anywhere first, then the names from what it read
        for name_only, scan in ((False, anywhere), (True, in_name)):
            found = set(db.session.scalars(part_rows(piece, name_only=name_only)))
            scanned = set(db.session.scalars(
                sa.select(SearchEntry.handling_item_id).where(scan)
            ))  # fmt: skip
            assert found == scanned, (piece, name_only)
            assert set(search.ids_of(piece, name_only=name_only).tolist()) == scanned, piece
        # the names alone, asked first
        names = PartSearch(held, postings).ids_of(piece, name_only=True)
        assert set(names.tolist()) == set(db.session.scalars(
            sa.select(SearchEntry.handling_item_id).where(in_name)
        )), piece  # fmt: skip
    return len(pieces)


def _item(db, *conditions) -> ApprovalItem:
    return db.session.scalars(
        sa.select(ApprovalItem).where(*conditions).order_by(ApprovalItem.id).limit(1)
    ).one()


def test_the_parts_agree_with_a_scan_after_every_kind_of_change(province, db):
    assert _agrees_with_a_scan(db) > 600
    assert _postings(db) == _recomputed(db)

    # a rename to a name no part had (a new part text), and a new situation
    renamed = _item(db, ApprovalItem.name.contains("许可"))
    update_item(renamed, item_data(
        handling_item_data(code=f"{renamed.code}-01", situation="遗失补办"),
        code=renamed.code, name="旅客联程运输测试事项",
    ))  # fmt: skip
    # materials changed: one gone, one renamed to a new text, one added
    changed = _item(db, ApprovalItem.id > renamed.id)
    update_item(changed, item_data(
        handling_item_data(code=f"{changed.code}-01", materials=[
            {"name": "全新测试材料（原件）"}, {"name": "营业执照"},
        ]),
        code=changed.code, name=changed.name,
        legal_basis=[{"law": "《港口法》", "text": "测试条文"}],
    ))  # fmt: skip
    # a handling item deleted (the item keeps one of its two), and an item deleted whole
    several = _item(db, ApprovalItem.id.in_(
        sa.select(HandlingItem.item_id).group_by(HandlingItem.item_id)
        .having(sa.func.count() > 1)
    ))  # fmt: skip
    kept = several.handling_items[0]
    update_item(several, item_data(
        handling_item_data(code=kept.code, situation=kept.situation),
        code=several.code, name=several.name,
    ))  # fmt: skip
    gone = _item(db, ApprovalItem.id > changed.id, ApprovalItem.id != several.id)
    gone_ids = [handling.id for handling in gone.handling_items]
    db.session.delete(gone)
    db.session.commit()

    assert _agrees_with_a_scan(db) > 600
    assert _postings(db) == _recomputed(db)
    # the frame's postings, updated in place, are those loaded whole
    assert _by_part(frame_of(revision_key()).postings) == _by_part(load_postings())
    assert not db.session.scalar(
        sa.select(sa.func.count()).where(SearchPosting.handling_item_id.in_(gone_ids))
    )
    assert set(db.session.scalars(part_rows("联程运输测"))) == {
        handling.id for handling in renamed.handling_items
    }
    assert set(db.session.scalars(part_rows("全新测试材料"))) == {
        handling.id for handling in changed.handling_items
    }
    assert db.session.get(ApprovalItem, renamed.id).status == Status.published


def test_the_back_fill_writes_what_the_writers_wrote(province, db):
    """The migration's back-fill (fill) from the catalog's rows, into emptied tables: the same
    postings as the generator and the services wrote."""
    item = _item(db, ApprovalItem.name.contains("经营"))
    update_item(item, item_data(code=item.code, name="港口经营测试许可"))
    db.session.commit()
    written = _postings(db)
    connection = db.session.connection()
    connection.execute(SearchPosting.__table__.delete())
    connection.execute(PART.delete())
    assert fill(connection) == len(written)
    assert _postings(db) == written


def test_a_part_another_writer_added_is_read_not_added_again(province, db):
    """Two writers adding the same new part: the second's insert does nothing (the unique key;
    INSERT ... ON CONFLICT DO NOTHING), and it reads the first's row."""
    connection = db.session.connection()
    new = ("两个写入者的新材料", False)
    first = part_ids(connection, [new])  # the first writer
    (key,) = first
    # the second read before the first's insert: it inserts the same part too
    add_parts(connection, [{"key": key, "text": new[0], "in_name": False}])
    assert db.session.scalar(sa.select(sa.func.count()).where(PART.c.key == key)) == 1
    assert part_ids(connection, [new]) == first


def test_a_chinese_word_is_looked_up_through_the_parts(db, backend):
    """Both databases: a Chinese word of any length, and 1-2 letters or digits (migration
    0043), through the postings; a longer Latin one through the trigram indexes."""
    from catalog.search import word_rows

    def sql(word: str, *, name_only: bool = False) -> str:
        return str(word_rows(word, name_only=name_only).compile(db.engine))

    for word in ("港", "港口", "港口经营", "e证", "ab", "12", "x"):
        assert "search_posting" in sql(word) and "search_posting" in sql(word, name_only=True)
    assert "in_name" in sql("港口", name_only=True) and "in_name" not in sql("港口")
    for word in ("abc", "1234", "a-"):  # a code, or in one; nothing a part holds alone
        assert "search_posting" not in sql(word)
    assert "search_posting" not in sql("港 口")  # a space: parts are joined by them


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request, tmp_path):
    """An empty database, on each backend (as tests/test_cli.py's)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    with temporary_postgres_database("catalog_parts") as url:
        yield url


def test_migration_0026_back_fills_an_existing_catalog(fresh_database):
    """A catalog made before 0026 (here: made at the head, then taken down to 0025, which drops
    the tables): upgrading writes the postings the generator wrote, and on PostgreSQL leaves
    them vacuumed, so a word's ids come from the index alone."""

    def postings() -> set[tuple]:
        engine = sa.create_engine(fresh_database)
        try:
            with engine.connect() as connection:
                return set(connection.execute(sa.text(
                    "SELECT p.handling_item_id, s.text, s.in_name FROM search_posting p"
                    " JOIN search_part s ON s.id = p.part_id"
                )).tuples())  # fmt: skip
        finally:
            engine.dispose()

    for args in (("db", "upgrade"), ("generate-province", "--handling-items", "300")):
        assert flask(fresh_database, *args).returncode == 0
    written = postings()
    assert len(written) > 1000
    downgrade = flask(fresh_database, "db", "downgrade", "0025")
    assert downgrade.returncode == 0, downgrade.stderr
    upgrade = flask(fresh_database, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    assert postings() == written
    # the next part a service adds gets an id of its own (PostgreSQL's sequence was left at 1
    # by the back-fill, and the part's insert met an id already taken: 500 on every edit)
    engine = sa.create_engine(fresh_database)
    try:
        with engine.begin() as connection:
            before = connection.execute(sa.text("SELECT max(id) FROM search_part")).scalar()
            (added,) = part_ids(connection, [("迁移之后新增的材料", False)]).values()
    finally:
        engine.dispose()
    assert added > before
    if fresh_database.startswith("postgresql"):  # vacuumed: every page all-visible
        engine = sa.create_engine(fresh_database)
        try:
            with engine.connect() as connection:
                pages, visible = connection.execute(sa.text(
                    "SELECT relpages, relallvisible FROM pg_class WHERE relname = 'search_posting'"
                )).one()  # fmt: skip
        finally:
            engine.dispose()
        assert pages > 0 and visible == pages


def test_the_parts_held_find_any_word_of_a_name_and_the_frame_ranks_names_as_listed(province, db):
    """The parts held in the process: a word of any characters but a space (Latin letters and
    digits too) is in an entry's name exactly when it is in its name part. The search frame's
    names and item names, updated in place after the change, rank them as the database lists
    them (name_lists: the exact and prefix item names, read plainly)."""
    frame_of(revision_key())  # the frame before the change: the one after is updated in place
    item = _item(db, ApprovalItem.name.contains("许可"))
    update_item(item, item_data(
        handling_item_data(code=f"{item.code}-01", situation="ETC卡办理"),
        code=item.code, name="ETC2号测试许可",
    ))  # fmt: skip
    db.session.commit()
    held = load_part_list()
    frame = frame_of(revision_key())
    every = np.flatnonzero(frame.order_of >= 0)
    entries = db.session.execute(sa.select(SearchEntry.item_name, SearchEntry.name)).all()
    words = {"etc", "etc卡", "2号", "c2", "q", "zzzz", "卡办", "许可 ", "测试许可"}
    rng = random.Random(5)
    for item_name, name in rng.sample(entries, 40):
        words |= {item_name, item_name[:1], item_name[:3], item_name[1:4], name[-3:], name}
    for word in sorted(words - {""}):
        if " " not in word:
            scanned = set(db.session.scalars(sa.select(SearchEntry.handling_item_id).where(
                SearchEntry.name.contains(word, autoescape=True))))  # fmt: skip
            found = PartSearch(held, frame.postings).ids_of(word, name_only=True)
            assert set(found.tolist()) == scanned, word
        dialect = db.engine.dialect.name
        params = {"exact": [word], **begins_params("b0", word, dialect)}
        listed = [found for _tier, found in db.session.execute(name_lists(1, dialect), params)]
        # the frame's names and item names (the ranking's) say the same as the database
        exact, begins = (set(np.fromstring(found or "", dtype=np.int64, sep=",").tolist())
                         for found in listed)  # fmt: skip
        ranks = frame.name_rank_labels([word])[frame.labels(every)]
        assert set(every[ranks == 0].tolist()) == exact, word
        assert set(every[ranks == 1].tolist()) == begins - exact, word
        in_name = set(db.session.scalars(sa.select(SearchEntry.handling_item_id).where(
            SearchEntry.name.contains(word, autoescape=True))))  # fmt: skip
        assert set(every[frame.named_labels([word])[frame.labels(every)]].tolist()) == in_name, word
    etc = PartSearch(held, frame.postings).ids_of("etc", name_only=True)
    assert etc.size == len(item.handling_items)


@functools.cache
def name_lists(count: int, dialect: str) -> sa.CompoundSelect:
    """One statement, both lists, each served by the indexes alone (without reading a row):
    the ids whose item name is one of `count` words, then those whose item name begins with
    one of them: what the search read before it ranked from the frame's item names
    (Frame.name_ranks), kept here as the plain reading the frame is held to."""
    name = SearchEntry.item_name
    named = name.in_(sa.bindparam("exact", expanding=True))
    begins = [(name, f"b{index}") for index in range(count)]
    if dialect == "sqlite":  # a range: SQLite's LIKE ignores case, so cannot use the index
        starts = [sa.and_(column >= sa.bindparam(key), column < sa.bindparam(key + "_end"))
                  for column, key in begins]  # fmt: skip
    else:
        starts = [column.like(sa.bindparam(key), escape="\\") for column, key in begins]
    ids = id_list(SearchEntry.handling_item_id, dialect=dialect)
    lists = [sa.select(sa.literal(tier).label("tier"), ids).where(condition)
             for tier, condition in ((0, named), (1, sa.or_(*starts)))]  # fmt: skip
    return sa.union_all(*lists).order_by("tier")


def begins_params(key: str, word: str, dialect: str) -> dict[str, str]:
    if dialect == "sqlite":
        return {key: word, key + "_end": word + "\U0010ffff"}
    return {key: like_pattern(word, prefix=True)}
