"""The distinct queries of the decision search stage (issue 24 part 8): an organisation's name,
whole or in part, and its credit code, whole or its first characters, drawn from the public
organisations and sole traders of the decision catalog; then the same searches combined with the
list's filters (unit, year, item, status, late), and the filters alone, each drawn from one
decision of the catalog (its own unit, item, status ...), so that it finds that decision. Pure
and deterministic for the seed, so the same data and seed give the same query set on both
databases (generated from the same seed, they hold the same records).
"""

from __future__ import annotations

import random
import sqlite3
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from bench.queries import cjk_piece

# Class names as the results and the README show them: the search words alone, then with filters.
SEARCH_CLASSES = ("名称全称", "名称2字", "名称3字+", "信用代码", "代码前缀")
FILTERED_CLASSES = ("名称+单位", "名称+事项", "名称+状态", "名称+逾期", "代码+条件", "仅条件")
CLASSES = SEARCH_CLASSES + FILTERED_CLASSES
SEARCHABLE = ("organisation", "sole_trader")


@dataclass(frozen=True)
class Party:
    name: str
    credit_code: str


@dataclass(frozen=True)
class Decision:
    """One decision as the filtered queries draw from it: its party's name and credit code
    (None for a natural person, never searched), and the values the list filters by."""

    kind: str  # licence or penalty
    party_name: str | None
    credit_code: str | None
    unit: str
    year: int
    late: bool
    item: str | None = None  # a licence's item code
    status: str | None = None  # a licence's status
    category: str | None = None  # a penalty's category


@dataclass(frozen=True, order=True)
class DecisionQuery:
    """One request of the public decision list: the words typed (none: the filters alone) and
    the filters chosen, as the list's parameters."""

    word: str
    filters: tuple[tuple[str, str], ...] = ()

    def app_path(self, limit: int = 20) -> str:
        params = {"q": self.word} if self.word else {}
        params.update(self.filters)
        return "/api/v1/decisions?" + urllib.parse.urlencode({**params, "limit": limit})

    @property
    def label(self) -> str:
        """The query as the results' examples show it."""
        return " ".join([self.word] * bool(self.word) + [f"{k}={v}" for k, v in self.filters])


def read_parties(sqlite_path: Path, *, every: int = 50) -> tuple[Party, ...]:
    """The organisations and sole traders of every `every`-th licence decision (each once, in
    id order), from the app's SQLite database: a party with more decisions is likelier drawn,
    as it is likelier looked for."""
    connection = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    try:
        rows = connection.execute(
            "SELECT party_name, party_credit_code FROM licence_decision"
            " WHERE party_class IN (?, ?) AND id % ? = 0 ORDER BY id",
            (*SEARCHABLE, every),
        ).fetchall()
    finally:
        connection.close()
    return tuple(dict.fromkeys(Party(name, code) for name, code in rows))


def read_decisions(sqlite_path: Path, *, every: int = 50) -> tuple[Decision, ...]:
    """Every `every`-th licence and penalty decision (in id order), from the app's SQLite
    database, with the values the list filters by."""
    connection = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    party = ("CASE WHEN d.party_class IN (?, ?) THEN d.party_name END,"
             " CASE WHEN d.party_class IN (?, ?) THEN d.party_credit_code END,"
             " d.data_source_unit, CAST(substr(d.decided_on, 1, 4) AS INTEGER),"
             " d.published_on > d.publish_by")  # fmt: skip
    try:
        licences = connection.execute(
            f"SELECT {party}, a.code, d.status FROM licence_decision d"
            " JOIN approval_item a ON a.id = d.item_id WHERE d.id % ? = 0 ORDER BY d.id",
            (*SEARCHABLE, *SEARCHABLE, every),
        ).fetchall()
        penalties = connection.execute(
            f"SELECT {party}, d.category FROM penalty_decision d WHERE d.id % ? = 0 ORDER BY d.id",
            (*SEARCHABLE, *SEARCHABLE, every),
        ).fetchall()
    finally:
        connection.close()
    return tuple(
        [Decision("licence", name, code, unit, year, bool(late), item=item, status=status)
         for name, code, unit, year, late, item, status in licences]
        + [Decision("penalty", name, code, unit, year, bool(late), category=category)
           for name, code, unit, year, late, category in penalties]
    )  # fmt: skip


def _candidate(name: str, rng: random.Random, parties: tuple[Party, ...]) -> DecisionQuery | None:
    party = rng.choice(parties)
    if name == "名称全称":
        return DecisionQuery(party.name)
    if name == "名称2字":
        piece = cjk_piece(rng, (party.name,), 2, 2)
    elif name == "名称3字+":
        piece = cjk_piece(rng, (party.name,), 3, 8)
        piece = None if piece == party.name else piece
    elif name == "信用代码":
        piece = party.credit_code
    else:  # the first 6 to 17 characters of a code
        piece = party.credit_code[: rng.randint(6, 17)]
    return DecisionQuery(piece) if piece else None


def _filtered(name: str, rng: random.Random, pools: dict[str, tuple[Decision, ...]]
              ) -> DecisionQuery | None:  # fmt: skip
    """A query of a filtered class drawn from one decision: a piece of its party's name (2 to 6
    characters) or its whole credit code with its own unit, item, status, lateness or year;
    or (仅条件) some of its filters alone, a penalty's category among them."""
    if name == "仅条件":
        row = rng.choice(pools["all"])
        # the list's filters alone and together, as the public form offers them: a year
        # alone, a kind alone, lateness alone, a status or a category alone among them
        late = ("late", str(int(row.late)))
        choices = [(("year", str(row.year)),), (("kind", row.kind),), (late,),
                   (("kind", row.kind), ("unit", row.unit), late)]  # fmt: skip
        if row.kind == "penalty":
            choices += [(("category", row.category), ("year", str(row.year))),
                        (("unit", row.unit), ("category", row.category)),
                        (("category", row.category),)]  # fmt: skip
        else:
            choices += [
                (("year", str(row.year)), ("unit", row.unit)),
                (("item", row.item),),
                (("kind", "licence"), ("unit", row.unit), ("status", row.status)),
                (("item", row.item), late),
                (("unit", row.unit), late),
                (("status", row.status),),
                (("year", str(row.year)), ("item", row.item)),
            ]
        return DecisionQuery("", rng.choice(choices))
    # half of the lateness class from late decisions: few are late, and the list says so
    late_pool = name == "名称+逾期" and pools["late"] and rng.random() < 0.5
    row = rng.choice(pools["late"] if late_pool else pools["searchable"])
    if name == "代码+条件":
        filters = rng.choice([(("year", str(row.year)),), (("unit", row.unit),),
                              (("late", str(int(row.late))),), (("kind", "licence"),),
                              (("item", row.item),)])  # fmt: skip
        return DecisionQuery(row.credit_code, filters)
    piece = cjk_piece(rng, (row.party_name,), 2, 6)
    if not piece:
        return None
    if name == "名称+单位":
        year = (("year", str(row.year)),) if rng.random() < 0.5 else ()
        return DecisionQuery(piece, (("unit", row.unit), *year))
    if name == "名称+事项":
        return DecisionQuery(piece, (("item", row.item),))
    if name == "名称+状态":
        return DecisionQuery(piece, (("kind", "licence"), ("status", row.status)))
    return DecisionQuery(piece, (("late", str(int(row.late))),))  # 名称+逾期


def generate_decision_queries(
    parties: tuple[Party, ...], seed: int, per_class: int,
    decisions: tuple[Decision, ...] = (),
) -> dict[str, list[DecisionQuery]]:  # fmt: skip
    """Up to `per_class` distinct queries of every class, in the order drawn; no query is in
    two classes. The filtered classes are drawn from `decisions` (none without them); their
    searches from the licences of organisations and sole traders (the public list's)."""
    searchable = tuple(d for d in decisions if d.kind == "licence" and d.party_name)
    pools = {"all": decisions, "searchable": searchable,
             "late": tuple(d for d in searchable if d.late)}  # fmt: skip
    seen: set[DecisionQuery] = set()
    queries: dict[str, list[DecisionQuery]] = {}
    for position, name in enumerate(CLASSES):
        rng = random.Random(f"{seed}:decisions:{position}:{name}")
        filtered = name in FILTERED_CLASSES
        drawn: list[DecisionQuery] = []
        for _attempt in range(per_class * 60):  # bounded: a class may have fewer
            if len(drawn) >= per_class or not (searchable if filtered else parties):
                break
            query = _filtered(name, rng, pools) if filtered else _candidate(name, rng, parties)
            if query is None or query in seen:
                continue
            seen.add(query)
            drawn.append(query)
        queries[name] = drawn
    return queries
