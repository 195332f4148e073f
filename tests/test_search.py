"""Search as citizens type: short Chinese words, synonyms, pinyin, several words; on both DBs."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from catalog.search import (
    MAX_QUERY_LENGTH,
    Filters,
    SearchError,
    Synonyms,
    highlight,
    parse_query,
    pinyin_of,
    search,
)
from catalog.search.common import common_bits
from catalog.search.index import entry_values
from catalog.search.results import MAX_CURSOR_RANK, encode_cursor
from catalog.search.text import LATIN_PATTERN, TERM_PATTERN, character_grams, normalise
from catalog.services import create_item, update_item
from tests.factories import handling_item_data, item_data, publish, publish_rows

SYNONYMS = Synonyms.from_mapping(
    {"网约车": ["网络预约出租汽车"], "超限": ["超限运输"], "危货": ["危险货物"]}
)


@pytest.fixture
def catalog(db):
    """A small published catalog with realistic names; one draft that must never show."""
    publish(
        db,
        item_data(
            handling_item_data(code="NET-01"),
            handling_item_data(
                code="NET-02", situation="变更", case_type="instant", promised_days=0
            ),
            code="NET",
            name="网络预约出租汽车经营许可",
        ),
        item_data(
            handling_item_data(code="TAXI-01", visits=1, visit_reason="现场核验车辆"),
            code="TAXI",
            name="巡游出租汽车经营许可",
            handling_unit="城市客运科",
        ),
        item_data(
            handling_item_data(code="PORT-01"),
            code="PORT",
            name="港口经营许可",
            type="confirmation",
            handling_unit="港航海事科",
        ),
        item_data(
            handling_item_data(code="OVER-01", materials=[{"name": "车辆行驶证"}]),
            code="OVER",
            name="公路超限运输许可",
            legal_basis=[{"law": "《公路法》", "article": "第五十条"}],
        ),
        item_data(
            handling_item_data(code="DG-01", materials=[{"name": "危险货物运输车辆清单"}]),
            code="DG",
            name="道路危险货物运输经营许可",
        ),
        item_data(handling_item_data(code="BANK-01"), code="BANK", name="银行业务许可"),
    )
    create_item(item_data(handling_item_data(code="DRAFT-01"), code="DRAFT", name="港口草稿事项"))
    db.session.commit()


def codes(query: str, filters: Filters | None = None, **kwargs) -> list[str]:
    result = search(query, filters or Filters(), synonyms=SYNONYMS, **kwargs)
    return [hit.handling_item.code for hit in result.hits]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("港", ["PORT-01"]),  # one character
        ("港口", ["PORT-01"]),  # two characters: LIKE, not a trigram MATCH
        ("出租", ["NET-01", "NET-02", "TAXI-01"]),
        ("出租汽车经营", ["NET-01", "NET-02", "TAXI-01"]),
        ("行驶证", ["OVER-01"]),  # a material
        ("第五十条", ["OVER-01"]),  # the legal basis
        ("网约车", ["NET-01", "NET-02"]),  # synonym
        ("超限", ["OVER-01"]),
        ("危货", ["DG-01"]),
        ("wangyueche", ["NET-01", "NET-02"]),  # full pinyin of a synonym
        ("wyc", ["NET-01", "NET-02"]),  # initials of a synonym
        ("chaoxian", ["OVER-01"]),  # full pinyin of the name
        ("gkjyxk", ["PORT-01"]),  # initials of the name
        ("网约 变更", ["NET-02"]),  # several words: AND
        ("出租 港口", []),
        ("net-02", ["NET-02"]),  # a code
    ],
)
def test_queries_find_the_right_items(catalog, query, expected):
    assert sorted(codes(query)) == sorted(expected)


def test_multi_reading_characters_take_the_reading_of_the_phrase(catalog):
    assert pinyin_of("银行业务许可") == ("yinhangyewuxuke", "yhywxk")
    assert codes("yinhang") == ["BANK-01"]
    assert codes("yinxing") == []  # 行 read as xing would flood results with wrong matches


def test_drafts_are_never_found(catalog):
    assert codes("草稿") == []


def test_ranking_exact_then_prefix_then_name_then_other_fields(catalog, db):
    publish(
        db,
        item_data(
            handling_item_data(code="PX-01", materials=[{"name": "港口经营许可证"}]),
            code="PX",
            name="水路运输经营许可",
        ),
        item_data(handling_item_data(code="PP-01"), code="PP", name="港口经营许可变更"),
    )
    result = search("港口经营许可", Filters(), synonyms=SYNONYMS)
    assert [(hit.handling_item.code, hit.rank) for hit in result.hits] == [
        ("PORT-01", 0),
        ("PP-01", 1),
        ("PX-01", 3),
    ]


def test_filters_and_facet_counts(catalog):
    result = search("出租", Filters(), synonyms=SYNONYMS)
    assert result.total == 3
    assert result.facets["type"] == {"licence": 3}
    assert result.facets["unit"] == {"行政审批服务科": 2, "城市客运科": 1}
    assert result.facets["flags"] == {"no_visit": 2, "instant": 1, "no_fee": 3, "one_visit": 3}
    assert codes("出租", Filters(no_visit=True)) == ["NET-01", "NET-02"]
    assert codes("出租", Filters(instant=True)) == ["NET-02"]
    assert codes("出租", Filters(unit="城市客运科")) == ["TAXI-01"]
    assert codes("", Filters(type="confirmation")) == ["PORT-01"]


def test_keyset_pagination_walks_every_hit_once(catalog):
    seen, cursor = [], None
    while True:
        page = search("", Filters(), synonyms=SYNONYMS, cursor=cursor, limit=2)
        seen += [hit.handling_item.code for hit in page.hits]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == page.total == 7
    assert len(set(seen)) == 7


def test_index_follows_edits(catalog, db):
    item = create_item(item_data(code="NEW", name="小微型客车租赁备案"))
    publish_rows(item)
    db.session.commit()
    assert codes("租赁") == ["NEW-01"]
    update_item(item, item_data(code="NEW", name="汽车租赁经营备案"))
    db.session.commit()
    assert codes("小微型") == []
    assert codes("qczl") == ["NEW-01"]
    assert codes("小微") == [] and codes("微") == []  # the index of single characters too
    assert codes("汽车租") == ["NEW-01"] and codes("经营备") == ["NEW-01"]


def test_short_words_never_span_punctuation_or_spaces(catalog):
    # OVER's legal basis reads "《公路法》 第五十条": 公路法 is there, 法第 is not
    assert codes("路法") == ["OVER-01"]
    assert codes("法第") == [] and codes("法 第") == ["OVER-01"]  # two words: both are there


# text as people write it in a catalog: CJK, full-width forms, Latin, digits, punctuation,
# invisible characters, combining marks, and empty pieces
PIECES = st.text(
    st.sampled_from(list("道路运输许可港口经营证明ＡＢ１２ab12ΣΑσ（）《》 ,.-_%\u200b\u0301ﬁ")),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(
    item_name=PIECES, situation=PIECES, codes=st.lists(PIECES, min_size=3, max_size=3),
    bases=st.lists(st.tuples(PIECES, st.none() | PIECES, st.none() | PIECES), max_size=2),
    materials=st.lists(PIECES, max_size=4),
)  # fmt: skip
def test_an_entry_read_part_by_part_is_the_entry_read_whole(
    item_name, situation, codes, bases, materials
):
    """entry_values reads each part of an entry's text apart, and caches it; the entry must be
    what reading the joined text gives, character for character and bit for bit."""
    item_code, handling_code, result_name = codes
    entry = entry_values(
        item_name=item_name, item_code=item_code, result_name=result_name, legal_bases=bases,
        handling_code=handling_code, situation=situation, material_names=materials,
    )  # fmt: skip
    parts = [situation, item_code, handling_code, result_name]
    parts += [f"{law} {article or ''} {text or ''}" for law, article, text in bases]
    name = normalise(f"{item_name} {situation}")
    body = normalise(" ".join([*parts, *materials]))
    # a word of 1 or 2 characters does not match inside the codes: the common bits leave their
    # characters out (the trigrams of the body find the codes)
    del parts[1:3]
    uncoded = normalise(" ".join([*parts, *materials]))
    chars = f"{character_grams(name)} {character_grams(uncoded)}"
    assert (entry["name"], entry["body"]) == (name, body)
    assert entry["common"] == common_bits(chars)
    assert "chars" not in entry and "name_chars" not in entry  # (dropped by migration 0044)


def test_the_index_of_short_words_agrees_with_a_scan(catalog, db):
    """Every 1- and 2-character piece of the indexed text (and pieces across punctuation)
    finds through the index exactly the entries whose text contains it, and through the
    name's index exactly those whose name does; a piece of letters and digits alone not inside
    the codes. (Latin letters also match pinyin: the pinyin tests cover them.)"""
    from catalog.models import ApprovalItem, HandlingItem, SearchEntry
    from catalog.search import word_rows

    entries = db.session.execute(
        sa.select(SearchEntry.handling_item_id, SearchEntry.name, SearchEntry.body,
                  ApprovalItem.code, HandlingItem.code)
        .join(HandlingItem, HandlingItem.id == SearchEntry.handling_item_id)
        .join(ApprovalItem, ApprovalItem.id == HandlingItem.item_id)
    ).all()  # fmt: skip
    text = " ".join(name + " " + body for _id, name, body, _item, _handling in entries)
    pieces = sorted({text[i : i + size] for size in (1, 2) for i in range(len(text) - size + 1)})
    pieces = [
        piece for piece in pieces
        if piece.strip() and not LATIN_PATTERN.match(piece) and not {"%", "_"} & set(piece)
    ]  # fmt: skip
    assert len(pieces) > 150, len(pieces)
    assert any(piece.isdigit() for piece in pieces)  # the codes' digits among them
    for piece in pieces:
        scanned = {False: set(), True: set()}
        for id_, name, body, item_code, handling_code in entries:
            if TERM_PATTERN.fullmatch(piece):
                codes = {normalise(item_code), normalise(handling_code)}
                body = " ".join(word for word in body.split(" ") if word not in codes)
            if piece in name:
                scanned[True].add(id_)
            if piece in name or piece in body:
                scanned[False].add(id_)
        for name_only in (False, True):
            found = set(db.session.scalars(word_rows(piece, name_only=name_only)))
            assert found == scanned[name_only], (piece, name_only)


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "*",
        "NEAR(",
        "OR",
        "a OR b",
        "%",
        "_",
        "\\",
        "'; DROP TABLE handling_item; --",
        "<script>alert(1)</script>",
        "\u200b港\u200b口",
        "！？。，",
        "   ",
    ],
)
def test_operators_and_punctuation_are_plain_text(catalog, query):
    result = search(query, Filters(), synonyms=SYNONYMS)
    assert result.total >= 0  # answered normally, whatever it found


def test_percent_and_underscore_separate_words_and_are_never_wildcards(catalog):
    assert codes("%") == codes("")
    assert codes("港%许可") == codes("港 许可") == ["PORT-01"]
    assert codes("网_车") == codes("网 车")


def test_too_long_or_too_many_terms_is_refused_clearly():
    with pytest.raises(SearchError, match="最多100个字符"):
        parse_query("港" * (MAX_QUERY_LENGTH + 1), SYNONYMS)
    with pytest.raises(SearchError, match="搜索词过多"):
        parse_query(" ".join("abcdefghi"), SYNONYMS)


@pytest.mark.parametrize("cursor", ["abc", "!!!", "W10", "eyJ4IjoxfQ"])
def test_bad_cursor_is_refused_clearly(catalog, cursor):
    with pytest.raises(SearchError, match="分页参数无效"):
        search("", Filters(), synonyms=SYNONYMS, cursor=cursor)


@pytest.mark.parametrize("query", ["", "港", "港口", "gk"])
def test_a_cursor_past_every_hit_gives_an_empty_last_page(catalog, query):
    """A cursor after the last code of the worst rank, or of the highest rank a cursor may
    carry (beyond the four the ranking gives), lies after every hit: an empty page and no next
    one, not an error (the sort keys are 32 bits wide; the cursor's place is compared with
    them). The first page of the same search is not empty."""
    assert search(query, Filters(), synonyms=SYNONYMS).hits
    for rank in (3, MAX_CURSOR_RANK):
        cursor = encode_cursor(rank, "~")  # (after every code: "~" sorts after letters)
        result = search(query, Filters(), synonyms=SYNONYMS, cursor=cursor)
        assert (result.hits, result.next_cursor) == ([], None), rank


def test_bad_filters_are_refused_clearly():
    with pytest.raises(SearchError, match="事项类型"):
        Filters.from_args({"type": "tax"})
    with pytest.raises(SearchError, match="no_visit"):
        Filters.from_args({"no_visit": "maybe"})
    assert Filters.from_args({"no_visit": "1", "type": "licence"}).as_args() == {
        "no_visit": "1",
        "type": "licence",
    }


def test_highlight_escapes_and_marks():
    marked = highlight("<b>港口</b>经营", ["港口"])
    assert isinstance(marked, Markup)
    assert str(marked) == "&lt;b&gt;<mark>港口</mark>&lt;/b&gt;经营"
    assert str(highlight("道路运输", ["道路", "路运"])) == "<mark>道路运</mark>输"


def test_the_seed_answers_what_people_type(seeded, db):
    from catalog.search import load_synonyms
    from tests.conftest import PROJECT_ROOT

    synonyms = load_synonyms(
        str(PROJECT_ROOT / "seed" / "synonyms.yaml"),
        str(PROJECT_ROOT / "seed" / "query_words.yaml"),
    )

    def names(query):
        result = search(query, Filters(), synonyms=synonyms, limit=100)
        return {hit.item.name for hit in result.hits}

    assert "巡游出租汽车经营许可" in names("出租")
    assert "网络预约出租汽车经营许可" in names("网约车")
    assert names("wyc") == names("网约车")
    port = search("港口", Filters(), synonyms=synonyms, limit=100).hits
    in_name = ["港口" in hit.item.name for hit in port]
    assert in_name[0] and in_name == sorted(in_name, reverse=True)  # names first, then the rest
    assert "公路超限运输许可" in names("超限")
    assert names("chaoxian") >= {"公路超限运输许可"}
    assert names("我要开网约车") == names("网约车")
    assert "港口经营许可" in names("港口经营许可怎么办理")


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("我要开网约车", "网约车"),
        ("我想要申请港口经营许可", "港口经营许可"),
        ("出租车需要什么材料", "出租车"),
        ("办理", "办理"),
        ("申请表", "申请表"),
        ("开会", "开会"),
    ],
)
def test_filler_words_are_dropped_while_two_characters_remain(typed, kept):
    words = Synonyms.from_mapping(
        {}, prefixes=["我要", "我想要", "申请", "开", "办理"], suffixes=["需要什么材料", "怎么办理"]
    )
    assert words.strip_fillers(typed) == kept


def test_words_of_every_length_go_through_an_index(catalog, backend, db):
    from catalog.search import word_rows

    def sql(word: str, *, name_only: bool = False) -> str:
        return str(word_rows(word, name_only=name_only).compile(db.engine))

    # Chinese words of any length, and 1-2 letters or digits: through the parts on both
    # (tests/test_search_parts.py)
    for word in ("出租汽", "出租", "港", "ab", "a", "12"):
        assert "search_posting" in sql(word) and "search_posting" in sql(word, name_only=True)
    if backend == "sqlite":  # longer Latin and digit words: the FTS5 tables of trigrams
        assert "search_fts MATCH" in sql("abc") and "LIKE" not in sql("abc")
        assert "search_name_fts MATCH" in sql("abc", name_only=True)
        assert "LIKE" not in sql("abc", name_only=True)
    else:
        assert "LIKE" in sql("abc")  # served by the pg_trgm GIN index
    assert "search_posting" not in sql("abc")
    # 1-2 characters with something else (no index holds them): LIKE, on both
    assert "LIKE" in sql("a-") and "search_posting" not in sql("a-")
    # Both paths agree: every hit of the 3-character word is a hit of its 2-character prefix.
    assert set(codes("出租汽")) <= set(codes("出租")) and codes("出租汽")


def test_trigram_index_follows_deletes(catalog, db):
    from catalog.models import ApprovalItem

    db.session.delete(db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "PORT")))
    db.session.commit()
    assert codes("港口经营") == []


def test_postgresql_plans_every_search_for_its_own_words():
    # psycopg prepares a statement run 5 times; PostgreSQL's generic plan for a search cannot
    # know how common its word is (17 s instead of 1 s for a common word at 300,000 items)
    import config
    from tests.conftest import postgres_server_url

    url = postgres_server_url()
    engine = sa.create_engine(url, **config.engine_options(url))
    try:
        with engine.connect() as connection:
            settings = dict(connection.execute(sa.text(
                "SELECT name, setting FROM pg_settings WHERE name IN ('plan_cache_mode', 'jit')"
            )).all())  # fmt: skip
    finally:
        engine.dispose()
    assert settings == {"plan_cache_mode": "force_custom_plan", "jit": "off"}
