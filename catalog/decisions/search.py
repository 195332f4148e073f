"""The public list's search words at 1,000,000 decisions (issue 24 part 8): what they match and
how an index finds the rows (docs/decision-search-speed.md has the measurements).

What a search matches is one condition, `matching`: an organisation's or sole trader's name (in
part), the beginning of its credit code (4 characters or more), the document number (in part),
and the licence item's name or the penalty's violation type (in part); never a natural person.
A whole valid credit code is looked up as a code only.

The indexes of migration 0034 hold the "grams" of those texts: each character and each pair of
adjacent characters, lower-cased (ASCII), and "^" with each leading part of the credit code. A
word of 1 or 2 characters is one gram; a longer one is looked up by its rarest pairs and its
rows are checked with `matching`, so the index only narrows the rows and the condition decides.
Since migration 0040 a row's grams also hold its unit's token and, when it was published late,
"@late" (a word with `unit` or `late=1` is one index intersection: filter_tokens), and a
natural person's name's grams marked "~" (the staff list's search, staff_search; never here).
- SQLite: an FTS5 table per kind whose rowid is the list's order (the decision day << 32 | id):
  its matches come newest first, so a page reads the first few and stops (`Candidates`).
- PostgreSQL: a GIN index of the column search_grams; the planner walks the (decided_on, id)
  index for a common word and reads the GIN index for a rare one (`gram_condition`).
A count stops at SEARCH_COUNT_LIMIT: "more than 200" costs what 200 cost. Each match counted is
a read of its row (what is public today and what the words find are checked on the row), a
random read of the disk when the table is cold: a count of 1,001 cost 20-30 ms of a search,
twice when both kinds had that many (docs/decision-search-speed.md, "Counting to 200").
"""

from __future__ import annotations

import bisect
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from catalog.decisions import public_rows
from catalog.decisions.filters import Cursor, DecisionFilters
from catalog.decisions.publication import (
    LICENCE,
    PENALTY,
    SEARCHABLE_CLASSES,
    PublicDecision,
)
from catalog.decisions.rules import add_months, credit_code_error
from catalog.extensions import db
from catalog.models import ApprovalItem, LicenceDecision, PenaltyDecision, PublicationPeriod

SEARCH_COUNT_LIMIT = 200  # a search counts its matches up to this, then says "more than"
CODE_ALPHABET = frozenset("0123456789ABCDEFGHJKLMNPQRTUWXY")  # GB 32100-2015
MIN_CODE_PREFIX = 4
RARE_PAIRS = 3  # a longer word is looked up by this many of its rarest pairs
JULIAN_OFFSET = 1_721_424  # date.toordinal() + this = SQLite's julianday() as an integer
ID_BITS = 32
ID_MASK = (1 << ID_BITS) - 1
SAMPLE_ROWS, SAMPLE_SECONDS = 4_000, 3_600  # rows read to tell rare pairs, and how often
WALK_SHARE, MORE_HITS = 0.003, 20  # PostgreSQL: see walks()
WINDOW_HITS, WINDOW_WALK_SHARE, WINDOW_MATCHES = 2, 0.01, 3  # PostgreSQL: walks(), window()
WINDOW_PAIR_RATIO = 8  # PostgreSQL: window_gram()
# Tokens among the grams (migration 0040): a decision's unit, its lateness, and the marker of a
# natural person's name grams (the staff list's search; the public one never looks them up)
UNIT_TOKEN, LATE_TOKEN, PERSON_MARK = "@unit", "@late", "~"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """Lower-cased as SQLite's lower() does it (ASCII letters only)."""
    return text.translate(_ASCII_LOWER)


def full_credit_code(q: str) -> str | None:
    """The words as a whole, valid 统一社会信用代码 (spaces and dashes ignored), or None."""
    code = q.replace(" ", "").replace("-", "").upper()
    if len(code) == 18 and code.isascii() and credit_code_error(code) is None:
        return code
    return None


@dataclass(frozen=True)
class Words:
    """The search words as the indexes look them up: the grams of the text (the word itself
    for 1 or 2 characters, else its pairs of characters without a space), lower-cased as the
    database's index is, and the beginning of a credit code when the words could be one."""

    text: str
    grams: tuple[str, ...]
    code_prefix: str | None

    @classmethod
    def of(cls, q: str, lower: Callable[[str], str] = ascii_lower) -> Words:
        lowered = lower(q)
        if len(lowered) <= 2:
            grams = (lowered,)
        else:
            pairs = [lowered[i : i + 2] for i in range(len(lowered) - 1)]
            grams = tuple(dict.fromkeys(p for p in pairs if not any(c.isspace() for c in p)))
            if not grams:  # only spaced pairs ("a b c"): the characters
                grams = tuple(dict.fromkeys(c for c in lowered if not c.isspace()))
        code = q.replace(" ", "").replace("-", "").upper()
        prefix = code if MIN_CODE_PREFIX <= len(code) < 18 and set(code) <= CODE_ALPHABET else None
        return cls(q, grams, prefix)


def matching(model: type, q: str, subject: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
    """The rows of one kind that the search words find: `subject` is the licence item's name
    or the penalty's violation type. Never a natural person's name or ID number."""
    searchable = model.party_class.in_(SEARCHABLE_CLASSES)
    code = full_credit_code(q)
    if code is not None:  # by the index on party_credit_code, whatever the size of the table
        return sa.and_(searchable, model.party_credit_code == code)
    words = Words.of(q)
    conditions = [
        sa.and_(searchable, model.party_name.icontains(q, autoescape=True)),
        model.document_number.icontains(q, autoescape=True),
        subject.icontains(q, autoescape=True),
    ]
    if words.code_prefix:
        conditions.append(sa.and_(searchable, model.party_credit_code.startswith(
            words.code_prefix, autoescape=True)))  # fmt: skip
    return sa.or_(*conditions)


def unit_token(unit: str) -> str:
    """The gram of a data source unit: its UTF-8 bytes in hex (lower case), after "@unit"."""
    return UNIT_TOKEN + unit.encode().hex()


def filter_tokens(filters: DecisionFilters | None) -> list[str]:
    """The grams that the filters' unit and late=1 add to a search's lookup (0040): one index
    intersection finds a common word within one unit or among the late decisions."""
    tokens = []
    if filters is not None and filters.unit:
        tokens.append(unit_token(filters.unit))
    if filters is not None and filters.late:
        tokens.append(LATE_TOKEN)
    return tokens


def _phrase(gram: str) -> str:
    return '"' + gram.replace('"', '""') + '"'


# --- which pairs are rare: a sample of the rows, per process ---------------------------------


_SEPARATOR = "\x1e"  # between the sampled rows' texts in Sample.texts (never searched)
KEPT_CACHED = 64  # (today, filters) whose kept rows a sample holds (Sample._kept_rows)


@dataclass(frozen=True)
class Sample:
    """About SAMPLE_ROWS rows of a kind, spread evenly over the ids: what the search matches in
    each (lower-cased as the database's index is) and its days of publication, and how many
    rows hold each pair of characters. It tells which pairs of a word are rare, and
    (PostgreSQL) whether a word is common enough among the public rows to read the list's
    order rather than the GIN index. Read once an hour per process (a few milliseconds); a
    stale or unlucky sample makes a search slower, never its result different.

    A search asks it several questions (walks()); each is answered without a Python loop over
    the rows: the words are found in the rows' texts joined into one string (str.find), and
    the rows a day and the filters keep are worked out once and kept (a loop over 4,000 rows
    for each question cost 4-5 ms of each search, more than most of its statements)."""

    rows: tuple[SampledRow, ...]
    pairs: dict[str, int]
    step: int  # one sampled row for this many ids
    texts: str = field(init=False, repr=False, compare=False)  # the rows' texts, joined
    codes: str = field(init=False, repr=False, compare=False)  # "\x1e" + each row's code
    starts: tuple[int, ...] = field(init=False, repr=False, compare=False)  # of each text
    code_starts: tuple[int, ...] = field(init=False, repr=False, compare=False)
    kept: dict = field(init=False, repr=False, compare=False)  # _kept_rows's

    def __post_init__(self) -> None:
        def joined(parts: list[str]) -> tuple[str, tuple[int, ...]]:
            starts, at = [], 0
            for part in parts:
                starts.append(at)
                at += len(part) + 1
            return _SEPARATOR.join(parts), tuple(starts)

        texts, starts = joined([row.text for row in self.rows])
        codes, code_starts = joined([_SEPARATOR + (row.code or "") for row in self.rows])
        for name, value in (("texts", texts), ("starts", starts), ("codes", codes),
                            ("code_starts", code_starts), ("kept", {})):  # fmt: skip
            object.__setattr__(self, name, value)

    def found(self, q: str, lower: Callable[[str], str], today: date,
              filters: DecisionFilters | None = None) -> int:  # fmt: skip
        """How many of the sampled rows public on `today` the words find (and that meet the
        filters' unit, status or category and lateness; not an item: see walks())."""
        kept = self._kept_rows(today, filters)[0]
        return len(self.matching(q, lower) & kept)

    def window(self, q: str, lower: Callable[[str], str], today: date,
               filters: DecisionFilters | None, before: date | None, wanted: int
               ) -> date | None:  # fmt: skip
        """PostgreSQL: the first decision day of the window a page of `wanted` rows decided on
        `before` or earlier is first looked for in (walks()): the newest days expected to hold
        WINDOW_MATCHES times as many of the word's rows, from the sampled rows the filters
        keep, newest first, and the share of them the words find. None past the oldest kept
        row. (A second, wider window, when the first held too few, read a large range of the
        order's index for a word with a few hundred rows, which the lookup alone reads at
        once: 38-40 ms cold.)"""
        kept, days = self._kept_rows(today, filters)  # (negated ordinals: ascending)
        first = 0 if before is None else bisect.bisect_left(days, -before.toordinal())
        rows = len(days) - first  # kept rows decided on `before` or earlier
        matched = self.matching(q, lower)
        hits = sum(
            1 for i in matched & kept
            if (day := self.rows[i].decided_on) is not None and (before is None or day <= before)
        )  # fmt: skip
        if not hits:
            return None
        # a kept sampled row stands for `step` rows, of which hits / rows hold the words
        needed = -(-WINDOW_MATCHES * wanted * rows // (hits * self.step))
        return date.fromordinal(-days[first + needed - 1]) if needed <= rows else None

    def matching(self, q: str, lower: Callable[[str], str]) -> set[int]:
        """The positions of the sampled rows the words find: their text holds the words, or
        their code begins with the words' code prefix."""
        text, prefix = lower(q), Words.of(q, lower).code_prefix
        found = self._holding(self.texts, self.starts, text)
        if prefix:
            found |= self._holding(self.codes, self.code_starts, _SEPARATOR + prefix)
        return found

    @staticmethod
    def _holding(joined: str, starts: tuple[int, ...], text: str) -> set[int]:
        """The positions of the parts of `joined` (each beginning at its `starts`) holding
        `text` within the part."""
        found: set[int] = set()
        at = joined.find(text)
        while at != -1:
            i = bisect.bisect_right(starts, at) - 1
            end = starts[i + 1] - 1 if i + 1 < len(starts) else len(joined)
            if at + len(text) <= end:  # within the part: on to the next part
                found.add(i)
                at = joined.find(text, end + 1)
            else:  # across a separator: further on
                at = joined.find(text, at + 1)
        return found

    def _kept_rows(self, today: date, filters: DecisionFilters | None
                   ) -> tuple[frozenset[int], list[int]]:  # fmt: skip
        """The positions of the sampled rows public on `today` that meet the filters (but an
        item), and the decision days of those that have one, newest first (as negated
        ordinals, for bisect), worked out once for each day and filters."""
        wanted = filters or DecisionFilters()
        value = wanted.status or wanted.category
        key = (today, wanted.unit, value, wanted.late)
        if (kept := self.kept.get(key)) is None:
            positions = frozenset(
                i for i, row in enumerate(self.rows)
                if row.published_on <= today
                and (row.ends_on is None or row.ends_on >= today)
                and (not wanted.unit or row.unit == wanted.unit)
                and (not value or row.value == value)
                and (wanted.late is None or row.late == wanted.late)
            )  # fmt: skip
            days = sorted(-self.rows[i].decided_on.toordinal() for i in positions
                          if self.rows[i].decided_on is not None)  # fmt: skip
            if len(self.kept) >= KEPT_CACHED:
                self.kept.clear()
            kept = self.kept[key] = (positions, days)
        return kept


@dataclass(frozen=True, slots=True)
class SampledRow:
    text: str  # lower-cased, joined by "\x1f" (never searched): the document number, the
    # subject, a searchable party's name
    code: str | None  # a searchable party's credit code
    published_on: date
    ends_on: date | None  # a penalty's publication_ends_on
    unit: str  # what the list's filters ask of a row (walks())
    value: str  # a licence's status, a penalty's category
    late: bool
    staff: str = ""  # lower-cased: the party's name (whoever the party) and the document
    # number, joined by "\x1f": what the staff list's search reads (staff_search)
    decided_on: date | None = None  # (Sample.window)


_samples: dict[tuple[str, str], tuple[float, Sample]] = {}


def sample(model: type, lower: Callable[[str], str]) -> Sample:
    key = (str(db.engine.url), model.__tablename__)
    cached = _samples.get(key)
    if cached and time.monotonic() - cached[0] < SAMPLE_SECONDS:
        return cached[1]
    top = db.session.scalar(sa.select(sa.func.max(model.id))) or 0
    wanted = list(range(1, top + 1, max(1, top // SAMPLE_ROWS)))  # (top: the last id)
    subject = public_rows.subject(LICENCE if model is LicenceDecision else PENALTY)
    ends = model.publication_ends_on if model is PenaltyDecision else sa.null()
    value = LicenceDecision.status if model is LicenceDecision else PenaltyDecision.category
    statement = sa.select(model.party_name, model.party_class, model.party_credit_code,
                          model.document_number, subject, model.published_on, ends,
                          model.data_source_unit, value, model.publish_by,
                          model.decided_on)  # fmt: skip
    if model is LicenceDecision:
        statement = statement.join(ApprovalItem, ApprovalItem.id == model.item_id)
    rows, pairs = [], Counter()
    for start in range(0, len(wanted), 500):
        chosen = statement.where(model.id.in_(wanted[start : start + 500]))
        for (name, party_class, code, number, text, published, ends_on, unit, kind_value,
             publish_by, decided) in db.session.execute(chosen):  # fmt: skip
            searchable = party_class in SEARCHABLE_CLASSES
            texts = tuple(lower(t) for t in (number, text, name if searchable else None) if t)
            joined = "\x1f".join(texts)
            staff = "\x1f".join(lower(t) for t in (name, number) if t)
            rows.append(SampledRow(joined, code if searchable else None, published, ends_on,
                                   unit, kind_value.value, published > publish_by,
                                   staff, decided))  # fmt: skip
            pairs.update({t[i : i + 2] for t in texts for i in range(len(t) - 1)})
    found = Sample(tuple(rows), dict(pairs), max(1, top // SAMPLE_ROWS))
    _samples[key] = (time.monotonic(), found)
    return found


def rarest(model: type, words: Words, lower: Callable[[str], str]) -> list[str]:
    """The grams a word is looked up by: itself (1 or 2 characters), or its RARE_PAIRS rarest
    pairs (together they hold few rows that do not match, so few are read and rejected)."""
    if len(words.grams) <= 1:
        return list(words.grams)
    pairs = sample(model, lower).pairs
    return sorted(words.grams, key=lambda gram: pairs.get(gram, 0))[:RARE_PAIRS]


# --- PostgreSQL: the GIN index of search_grams -----------------------------------------------


def gram_condition(model: type, q: str, filters: DecisionFilters | None = None,
                   gram: str | None = None) -> sa.ColumnElement[bool] | None:  # fmt: skip
    """PostgreSQL: the rows whose search_grams hold the words' rarest grams (or the credit
    code's beginning), for the GIN index; None for a whole credit code (its own index). The
    grams are lower-cased by PostgreSQL's lower(), as Python's str.lower does. With `gram`
    (a window's, Plan.window_gram) that gram alone: the rest of the word is checked on the
    row (matching())."""
    if full_credit_code(q) is not None:
        return None
    grams_type = postgresql.ARRAY(sa.Text)
    column = sa.literal_column(f"{model.__tablename__}.search_grams", grams_type)
    if gram is not None:
        return column.contains(sa.bindparam(None, [gram], grams_type))
    words, added = Words.of(q, str.lower), filter_tokens(filters)
    looked_up = [rarest(model, words, str.lower) + added]
    if words.code_prefix:
        looked_up.append(["^" + words.code_prefix.lower(), *added])
    return sa.or_(*(column.contains(sa.bindparam(None, keys, grams_type)) for keys in looked_up))


@dataclass(frozen=True)
class Plan:
    """PostgreSQL: how a search of one kind is read (walks())."""

    walk: bool  # the page: the list's order, each row checked, until 21 match
    more_than_counted: bool  # certainly more than SEARCH_COUNT_LIMIT: not counted
    # the page: first among the rows decided on this day or later (Sample.window), looked up
    # by this one gram of the word (window_gram())
    window: date | None = None
    window_gram: str | None = None


def walks(model: type, q: str, today: date, filters: DecisionFilters | None = None, *,
          before: date | None = None, wanted: int = 0) -> Plan:  # fmt: skip
    """PostgreSQL: the planner cannot tell a common word from a rare one (it multiplies its
    pairs' shares as if independent: 790 rows expected, 54,508 found, 520 ms to sort them), so
    the sample does. A word in WALK_SHARE of the sample or more reads the kind in the list's
    order (ix_*_order) and stops at 21 matches, instead of fetching every match through the
    GIN index to sort them. A word found in MORE_HITS sampled rows or more, which stand for
    ten times SEARCH_COUNT_LIMIT rows, has more than that many: the chance that it has not is
    below 1e-13 (its sampled rows would be a Poisson draw of mean 2 or less); a count would
    have read its whole GIN posting list (18 ms for 66,512 rows, 40 for the count). A rarer
    word found in WINDOW_HITS sampled rows or more looks its page of `wanted` rows (decided
    on `before` or earlier) up in a window of the newest days first (Sample.window), by one
    of its grams (window_gram()): the GIN lookup ANDed with ix_*_order's range reads the
    pages of the window's candidates only, where the lookup alone read every match's
    (docs/decision-search-speed.md, "Windows"); such a word walks only from
    WINDOW_WALK_SHARE, where a walk stops within 2,100 rows. The
    sampled rows counted are those the filters keep too (a common word may be rare in one
    unit); an item's few decisions are read through its own index, never walked."""
    drawn = sample(model, str.lower)
    if filters is not None and filters.item:
        return Plan(walk=False, more_than_counted=False)
    hits = drawn.found(q, str.lower, today, filters)
    share = hits / len(drawn.rows) if drawn.rows else 0.0
    more = hits >= MORE_HITS and hits * drawn.step >= 10 * SEARCH_COUNT_LIMIT
    gram = window_gram(model, q, filters, drawn, hits) if wanted and hits >= WINDOW_HITS else None
    walk = share >= (WALK_SHARE if gram is None else WINDOW_WALK_SHARE)
    window = None
    if gram is not None and not walk:
        window = drawn.window(q, str.lower, today, filters, before, wanted)
    return Plan(walk=walk, more_than_counted=more, window=window,
                window_gram=gram if window is not None else None)  # fmt: skip


def window_gram(model: type, q: str, filters: DecisionFilters | None, drawn: Sample,
                hits: int) -> str | None:  # fmt: skip
    """The one gram a window looks the words up by (walks()), or None for no window: the GIN
    lookup must be one gram, for PostgreSQL's estimate of its rows is then the gram's own and
    it ANDs the lookup with the window's range of ix_*_order. For several grams it multiplies
    their shares, expects a few rows, and checks each candidate's day on its row instead
    (4,842 rows read for a window's 63 matches of 运公交有限公). So a word of 1-2 characters
    is looked up by itself, a longer one by its rarest pair (its other characters checked on
    each candidate row), when the sample finds that pair in at most WINDOW_PAIR_RATIO times
    the word's `hits` rows: the window then reads at most that many candidates for each match
    it holds. None with a code prefix or a filter's token (several grams)."""
    words = Words.of(q, str.lower)
    if words.code_prefix or filter_tokens(filters):
        return None
    grams = rarest(model, words, str.lower)
    if len(grams) == 1 or drawn.pairs.get(grams[0], 0) <= WINDOW_PAIR_RATIO * hits:
        return grams[0]
    return None


# What the planner may not do while walking: ix_*_order is then the only plan left with no sort.
WALK_SETTINGS = ["enable_bitmapscan", "enable_seqscan", "enable_sort", "enable_incremental_sort",
                 "max_parallel_workers_per_gather"]  # fmt: skip


@contextmanager
def walking(walk: bool) -> Iterator[None]:
    """PostgreSQL: the statements inside walk the list's order (WALK_SETTINGS off, for this
    transaction only), when `walk`; then the planner chooses again."""
    if not walk:
        yield
        return
    _set(WALK_SETTINGS, restore=False)
    try:
        yield
    finally:
        _set(WALK_SETTINGS, restore=True)


def _set(settings: list[str], *, restore: bool) -> None:
    """The settings off (or 0), or back to their values (TO DEFAULT: what RESET gives), for
    this transaction: one round trip of SET LOCAL statements (set_config() over pg_settings
    cost 1.1 ms a call, twice a walk; these 0.15 ms). The names are WALK_SETTINGS', never
    the request's."""

    def value(name: str) -> str:
        return "DEFAULT" if restore else "0" if name.startswith("max") else "off"

    db.session.execute(sa.text("; ".join(f"SET LOCAL {name} TO {value(name)}"
                                         for name in settings)))  # fmt: skip


def _pieces(text: str) -> set[str]:
    return {text[i : i + size] for size in (1, 2) for i in range(len(text) - size + 1)}


def row_grams(name: str | None, party_class: str, code: str | None, number: str,
              subject: str, unit: str, late: bool) -> list[str]:  # fmt: skip
    """PostgreSQL: a row's search_grams as migrations 0034 and 0040 make them (characters and
    pairs of the lower-cased texts, "^" and each leading part of the code, a natural person's
    name's with "~" before each, the unit's token and "@late"), for a bulk load that writes them
    itself (its trigger, 0.3 ms a row, tripled generate-province's writing); a test holds the
    two equal."""
    searchable = party_class in {kind.value for kind in SEARCHABLE_CLASSES}
    texts = [text.lower() for text in (name if searchable else None, number, subject) if text]
    grams = {gram for text in texts for gram in _pieces(text)}
    if searchable and code:
        grams |= {"^" + code[:size].lower() for size in range(1, len(code) + 1)}
    if not searchable and name:
        grams |= {PERSON_MARK + gram for gram in _pieces(name.lower())}
    grams |= {unit_token(unit), *([LATE_TOKEN] if late else [])}
    return sorted(grams)


def with_grams(table: sa.Table) -> sa.Table:
    """PostgreSQL: a decision table as a bulk load writes it: its columns and search_grams."""
    columns = [sa.Column(column.name, column.type) for column in table.columns]
    return sa.Table(table.name, sa.MetaData(), *columns,
                    sa.Column("search_grams", postgresql.ARRAY(sa.Text)))  # fmt: skip


# --- SQLite: the FTS5 tables, newest first ---------------------------------------------------


def sort_key(day: date, row_id: int = 0) -> int:
    """The FTS rowid of a decision: its place in the list's order (newest last)."""
    return ((day.toordinal() + JULIAN_OFFSET) << ID_BITS) | row_id


def from_sort_key(key: int) -> tuple[date, int]:
    return date.fromordinal((key >> ID_BITS) - JULIAN_OFFSET), key & ID_MASK


def _fts(model: type) -> str:
    return f"{model.__tablename__}_grams"


def match_expression(model: type, q: str, filters: DecisionFilters | None = None) -> str:
    """SQLite: the FTS5 query of the words' candidates (within the filters' unit and among the
    late decisions, when asked: filter_tokens)."""
    words = Words.of(q)
    added = filter_tokens(filters)
    parts = [rarest(model, words, ascii_lower) + added]
    if words.code_prefix:
        parts.append(["^" + words.code_prefix.lower(), *added])
    return " OR ".join(f"({' AND '.join(_phrase(gram) for gram in part)})" for part in parts)


def candidate_keys(model: type, q: str, limit: int,
                   filters: DecisionFilters | None = None) -> list[int]:  # fmt: skip
    """SQLite: the FTS keys of up to `limit` rows of a kind that the words may find (the
    index's candidates, unchecked), newest first."""
    fts = _fts(model)
    return db.session.scalars(
        sa.text(f"SELECT rowid FROM {fts} WHERE {fts} MATCH :match ORDER BY rowid DESC"
                " LIMIT :limit"), {"match": match_expression(model, q, filters), "limit": limit},
    ).all()  # fmt: skip


def candidate_count(model: type, q: str, cap: int,
                    filters: DecisionFilters | None = None) -> int:  # fmt: skip
    """SQLite: how many FTS candidates of a kind the words have, counted up to `cap` (the index
    alone: no row is read)."""
    fts = _fts(model)
    return db.session.scalar(
        sa.text(f"SELECT count(*) FROM (SELECT rowid FROM {fts} WHERE {fts} MATCH :match"
                " LIMIT :cap)"), {"match": match_expression(model, q, filters), "cap": cap},
    )  # fmt: skip


def found_keys(kind: str, model: type, q: str, today: date, *, limit: int,
               above: int | None = None, below: int | None = None,
               narrowing: Sequence[sa.ColumnElement[bool]] = (),
               filters: DecisionFilters | None = None) -> list[int]:  # fmt: skip
    """SQLite: the FTS keys of up to `limit` public rows of a kind that the words find (and
    that meet the filters' `narrowing` conditions), newest first, from `above` (included) to
    `below` (excluded). One statement: the FTS candidates in the list's order, each row
    checked (`matching`; the item's name read only for a row its party and number miss),
    until `limit` pass."""
    fts = sa.table(_fts(model), sa.column("rowid", sa.BigInteger))
    key = fts.c.rowid
    statement = (
        sa.select(key)
        .select_from(fts.join(model, model.id == key.op("&")(ID_MASK)))
        .where(
            sa.literal_column(fts.name).op("MATCH")(match_expression(model, q, filters)),
            public_rows.public(kind, today),
            *narrowing,
            matching(model, q, public_rows.subject(kind, correlated=True)),
        )
        .order_by(key.desc())
        .limit(limit)
    )
    if above is not None:
        statement = statement.where(key >= above)
    if below is not None:
        statement = statement.where(key < below)
    return db.session.scalars(statement).all()


# --- SQLite: a page of a search ------------------------------------------------------------


def indexed(filters: DecisionFilters) -> bool:
    """Whether a search is served by the FTS order (SQLite): words other than a whole credit
    code, with any filter but an item (whose few decisions its own index finds). A filter
    (unit, status, category, late) is then checked on each candidate beside the words: most
    candidates of a common word meet a status or lateness, so a page stops as early as
    without the filter (docs/decision-search-speed.md, "Searches with filters")."""
    return (
        bool(filters.q)
        and full_credit_code(filters.q) is None
        and not filters.item
        and db.session.get_bind().dialect.name == "sqlite"
    )


Narrowing = Callable[[str, type], Sequence[sa.ColumnElement[bool]]]


def indexed_page(filters: DecisionFilters, after: Cursor | None, limit: int, today: date,
                 narrowing: Narrowing = lambda kind, model: ()
                 ) -> tuple[list[PublicDecision], list[int]]:  # fmt: skip
    """SQLite: a page of a search and the count of each kind (up to SEARCH_COUNT_LIMIT + 1),
    from the FTS candidates newest first (found_keys), each checked against the filters'
    conditions of its kind (`narrowing`); then the page's rows."""
    keys, counts = {}, []
    enough = max(SEARCH_COUNT_LIMIT, limit) + 1  # to count, and the first page
    for kind, model, _select in public_rows.kinds(filters):
        above, below = key_bounds(kind, filters.year, today)
        narrow = narrowing(kind, model)
        found = found_keys(kind, model, filters.q, today, limit=enough, above=above, below=below,
                           narrowing=narrow, filters=filters)  # fmt: skip
        counts.append(min(len(found), SEARCH_COUNT_LIMIT + 1))
        if after is not None:
            start = sort_key(after.decided_on, after.id)
            if kind != after.kind:  # the other kind's rows of that day: before or after
                start = sort_key(after.decided_on + timedelta(days=int(kind > after.kind)))
            below = start if below is None else min(below, start)
            found = found_keys(kind, model, filters.q, today, limit=limit + 1, above=above,
                               below=below, narrowing=narrow, filters=filters)  # fmt: skip
        keys[kind] = found[: limit + 1]
    order = [(from_sort_key(key), kind) for kind, found in keys.items() for key in found]
    return public_rows.rows_in_order(public_rows.kinds(filters), order, limit + 1, today), counts


def key_bounds(kind: str, year: int | None, today: date) -> tuple[int | None, int | None]:
    """The FTS keys a kind's public rows can have (day_bounds)."""
    first, end = day_bounds(kind, year, today)
    return (None if first is None else sort_key(first)), (None if end is None else sort_key(end))


def day_bounds(kind: str, year: int | None, today: date) -> tuple[date | None, date | None]:
    """The decision days a kind's public rows can have, from `first` (included) to `end`
    (excluded), None where unbounded: the year's, and for penalties none decided before the
    earliest public one (earliest_public_penalty), as one lower bound (with two, SQLite ranged
    over one and checked every row against the other: 120 ms for a year whose penalties had
    all left publication, at 597,000 penalties). The list (listing._conditions) and the FTS
    keys (key_bounds) both read it."""
    first = end = None
    if year is not None:
        first, end = date(year, 1, 1), date(year + 1, 1, 1)
    if kind == PENALTY and (earliest := earliest_public_penalty(today)) is not None:
        first = earliest if first is None else max(first, earliest)
    return first, end


def earliest_public_penalty(today: date) -> date | None:
    """The earliest decision day a penalty public on `today` can have: none is published
    longer than the longest period of any rule (catalog.decisions.checks holds every
    penalty's 公示截止日期 within its rule's; a few days' margin for month ends). None while
    there is no rule."""
    longest = db.session.scalar(sa.select(sa.func.max(PublicationPeriod.max_months)))
    return None if longest is None else add_months(today, -longest) - timedelta(days=4)
