"""The search frame (catalog.search.frame) kept up to date in place after a change
(catalog.search.delta), and Latin spellings matched over its distinct spellings: on a generated
province, both databases, against a frame loaded whole and against a scan of every entry."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa

from catalog.enums import Status
from catalog.models import ApprovalItem, HandlingItem, SearchEntry
from catalog.province import generate_province
from catalog.revision import revision_key
from catalog.search import Filters, delta
from catalog.search.frame import FLAGS, Frame, Joined, containing, frames, load_frame
from catalog.search.terms import Spelling, _spelling_matches, spells
from catalog.services import create_item, update_item
from tests.factories import handling_item_data, item_data, publish
from tests.test_search_engine import actual, expected, read_rows


@pytest.fixture
def province(db, seed_dir):
    generate_province(300, seed_dir=seed_dir, seed=7, decisions_per_licence=0)
    db.session.commit()
    frames.clear()


def described(frame: Frame) -> dict[int, tuple]:
    """Every handling item the frame knows, as what a search reads of it: its place in code
    order, its facet group by name (None: not published), its common bits, its spelling, its
    name (Frame.named_labels), its parts (the frame's postings)."""
    parts_of: dict[int, list[int]] = {}
    for part_id in np.flatnonzero(frame.postings.row_of >= 0).tolist():
        for handling_id in frame.postings.of(part_id).tolist():
            parts_of.setdefault(handling_id, []).append(part_id)
    found = {}
    for handling_id in np.flatnonzero(frame.order_of >= 0).tolist():
        group = int(frame.group_of[handling_id])
        if group < frame.group_count:
            unit = int(frame.group_unit[group])
            facets = (
                frame.types[frame.group_type[group]],
                frame.units[unit] if unit < len(frame.units) else None,
                tuple(bool(frame.group_flags[flag][group]) for flag in FLAGS),
            )
        else:
            facets = None
        spelling = int(frame.spelling_of[handling_id])
        name = int(frame.name_of[handling_id])
        found[handling_id] = (
            int(frame.order_of[handling_id]), facets, bytes(frame.common[:, handling_id]),
            frame.spellings[spelling] if spelling >= 0 else None,
            frame.names[name] if name >= 0 else None,
            sorted(parts_of.pop(handling_id, [])),
        )  # fmt: skip
    assert not parts_of, parts_of  # no part of a handling item the frame does not know
    # and no id the frame does not know is published
    published = set(np.flatnonzero(frame.group_of < frame.group_count).tolist())
    assert published <= set(found)
    # its ids grouped by spelling (Frame.spelt) are the ids of each spelling: one, a few, all
    of = frame.spelling_of
    for chosen in (frame.spellings[:1], frame.spellings[1:4], frame.spellings):
        wanted = [index for index, spelling in enumerate(frame.spellings) if spelling in chosen]
        got = frame.spelt(lambda p, i, chosen=chosen: (p, i) in chosen).tolist()
        assert got == np.flatnonzero(np.isin(of, wanted) & (of >= 0)).tolist()
    return found


def _item(db, *conditions) -> ApprovalItem:
    return db.session.scalars(
        sa.select(ApprovalItem).where(ApprovalItem.status == Status.published, *conditions)
        .order_by(ApprovalItem.id).limit(1)
    ).one()  # fmt: skip


def _rename(db):
    item = _item(db, ApprovalItem.name.contains("许可"))
    update_item(item, item_data(code=item.code, name="旅客测试事项"))


def _unpublish_item(db):
    _item(db, ApprovalItem.name.contains("经营")).status = Status.unpublished


def _unpublish_handling(db):
    handling = db.session.scalars(
        sa.select(HandlingItem).where(HandlingItem.status == Status.published)
        .order_by(HandlingItem.id.desc()).limit(1)
    ).one()  # fmt: skip
    handling.status = Status.unpublished


def _add_in_the_middle(db):
    codes = sorted(db.session.scalars(sa.select(ApprovalItem.code)))
    code = codes[len(codes) // 2] + "A"  # between two others in code order
    handling = [
        handling_item_data(code=f"{code}-01"),
        handling_item_data(code=f"{code}-02", visits=1, visit_reason="核验原件", fees="none"),
    ]
    create_item(
        item_data(*handling, code=code, name="港口新设测试许可", handling_unit="新设测试科"),
        status=Status.published,
    )


def _recode(db):
    item = _item(db, ApprovalItem.code.like("%5"))
    update_item(item, item_data(
        handling_item_data(code=f"{item.code}-09", visits=1, visit_reason="核验原件"),
        handling_item_data(code=f"{item.code}-00"), code=item.code, name=item.name,
    ))  # fmt: skip


def _republish(db):
    item = db.session.scalars(
        sa.select(ApprovalItem).where(ApprovalItem.status == Status.unpublished).limit(1)
    ).one()
    item.status = Status.published


def _nothing_searched(db):
    item = _item(db)
    item.hours = "周一至周五"  # a column the frame does not read


CHANGES = [_rename, _unpublish_item, _unpublish_handling, _add_in_the_middle, _recode,
           _republish, _nothing_searched]  # fmt: skip


def test_the_frame_updated_in_place_equals_one_loaded_whole(province, db, monkeypatch):
    loads = []
    original = delta.load_frame
    monkeypatch.setattr(delta, "load_frame", lambda: loads.append(1) or original())
    delta.frame_of(revision_key())
    assert len(loads) == 1
    for change in CHANGES:
        change(db)
        db.session.commit()
        updated = delta.frame_of(revision_key())
        assert described(updated) == described(load_frame()), change.__name__
        rows = read_rows(db)
        for query in ("许可", "旅客", "港口新设", "gkxs", "道路 运输", ""):
            want = expected(rows, query, Filters())
            assert actual(query, Filters(), limit=40) == want, (change.__name__, query)
        units = actual("", Filters(unit="新设测试科"), limit=40)
        assert units == expected(rows, "", Filters(unit="新设测试科")), change.__name__
    assert len(loads) == 1, "every change was applied in place"


def test_an_update_leaves_the_previous_frame_as_it_was(province, db):
    """The next revision's frame shares the arrays a change leaves alone (the common bits when
    no searched text changed) and never writes into the previous frame's: a search begun on
    the previous revision still reads that revision."""
    previous = delta.frame_of(revision_key())
    for change in CHANGES:
        before = described(previous)
        change(db)
        db.session.commit()
        updated = delta.frame_of(revision_key())
        assert described(previous) == before, change.__name__
        if change is _nothing_searched:  # (a frame of its own, made by the update)
            assert updated is not previous
            assert updated.common is previous.common
            assert updated.order_of is previous.order_of
        assert not updated.common.flags.writeable
        previous = updated


def test_a_previous_revisions_frame_is_freed_once_no_search_holds_it(province, db):
    import gc
    import weakref

    first_revision = revision_key()
    first = frames.get(first_revision, lambda: delta.frame_of(first_revision))
    _rename(db)
    db.session.commit()
    second_revision = revision_key()
    second = frames.get(second_revision, lambda: delta.frame_of(second_revision))
    assert second is not first
    # a search still holding the first revision's frame is served that frame again ...
    assert frames.get(first_revision, lambda: pytest.fail("loaded again")) is first
    # ... and once none holds it, it is freed; the newest stays for the next searches
    gone = weakref.ref(first)
    del first
    gc.collect()
    assert gone() is None
    assert frames.get(second_revision, lambda: pytest.fail("loaded again")) is second


def test_a_reindex_or_a_bulk_load_loads_the_frame_whole(province, db, monkeypatch):
    from catalog.search import rebuild_index

    delta.frame_of(revision_key())
    loads = []
    original = delta.load_frame
    monkeypatch.setattr(delta, "load_frame", lambda: loads.append(1) or original())
    rebuild_index()
    db.session.commit()
    assert described(delta.frame_of(revision_key())) == described(load_frame())
    assert loads == [1]


def test_spellings_from_the_frame_match_a_scan_of_every_entry(province, db):
    """Latin terms of 1, 2 and 3+ letters: the frame's distinct spellings find exactly the
    entries the SQL rule (pinyin piece, initials' start, initials piece) finds."""
    frame = load_frame()
    spellings = db.session.execute(sa.select(SearchEntry.pinyin, SearchEntry.initials)).all()
    texts = {"q", "zzzz", "x"}
    for pinyin, initials in spellings[:60]:
        texts |= {initials[:1], initials[:2], initials[1:3], initials[:4], pinyin[:2],
                  pinyin[2:7], initials[-3:]}  # fmt: skip
    checked = 0
    for text in sorted(texts - {""}):
        scan = db.session.scalars(
            sa.select(SearchEntry.handling_item_id).where(_spelling_matches(text))
            .order_by(SearchEntry.handling_item_id)
        ).all()  # fmt: skip
        assert frame.spelt(spells(text)).tolist() == scan, text
        checked += bool(scan)
    assert checked > 50


def test_a_spelling_matched_over_the_texts_joined_is_the_spelling_by_spelling_rule(db):
    """Frame.spelt of a search.terms.Spelling (the texts joined and sorted) finds the same ids
    as the same Spelling called on each distinct spelling, for every way of matching: a piece
    of the pinyin or initials, their beginning, the whole of them. Frame.spelt_labels, which
    the ranking reads, gathered by the ids' labels, says of each id (one without an entry
    included) whether it is among them."""
    publish(db, *(item_data(code=f"S{n}", name=name) for n, name in enumerate(
        ["道路运输经营许可", "道路运输证配发", "道路货物运输", "港口经营许可", "港口", "道"]
    )))  # fmt: skip
    db.session.commit()
    frame = load_frame()
    texts = {"d", "dl", "dlys", "daolu", "daoluyunshu", "dao", "gk", "gang", "gangkou", "kou",
             "ys", "x", "zzzz", "jyxk", "gangkoujingyingxuke", "gkjyxk"}  # fmt: skip
    hows = (Spelling.IN, Spelling.BEGINS, Spelling.IS, None)
    every = np.arange(frame.size)  # (spelling_of: -1 for an id without an entry)
    matched = 0
    for text in sorted(texts):
        for pinyin in hows:
            for initials in hows:
                spelling = Spelling(text, pinyin, initials)
                by_rule = frame.spelt(lambda p, i, s=spelling: s(p, i)).tolist()
                assert frame.spelt(spelling).tolist() == by_rule, spelling
                at = frame.spelt_labels(spelling)[frame.labels(every)]
                assert every[at].tolist() == by_rule, spelling
                matched += bool(by_rule)
    assert matched > 40


def test_containing_finds_the_texts_python_finds_the_word_in():
    """containing() (the texts as one array of code points) lists, in order, exactly the texts
    `word in text` holds: words of one to several characters, a word repeated in one text, at a
    text's end and across two texts (which must not count), a character beyond the BMP, a word
    longer than every text, and the empty and line-break words looked for text by text."""
    texts = ("道路运输经营许可", "道路道路", "港口", "", "口道", "𠀀字号", "a\u00e9b", "路")
    together = Joined.of(texts)
    words = ["道", "道路", "路道", "口道", "港口", "口", "路", "𠀀", "𠀀字", "é", "ab", "a\u00e9b",
             "道路运输经营许可证", "许可", "可", "", "\n", "港口\n口道", "x", "\ud800"]  # fmt: skip
    for word in words:
        expected = [index for index, text in enumerate(texts) if word in text]
        found = containing(texts, together, word)
        assert found.tolist() == expected, word
    assert containing((), Joined.of(()), "道").tolist() == []
