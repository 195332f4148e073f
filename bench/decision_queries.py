"""The distinct queries of the decision search stage (issue 24 part 8): an organisation's name,
whole or in part, and its credit code, whole or its first characters, drawn from the public
organisations and sole traders of the decision catalog. Pure and deterministic for the seed, so
the same data and seed give the same query set on both databases (generated from the same seed,
they hold the same records).
"""

from __future__ import annotations

import random
import re
import sqlite3
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

# Class names as the results and the README show them.
CLASSES = ("名称全称", "名称2字", "名称3字+", "信用代码", "代码前缀")
CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
SEARCHABLE = ("organisation", "sole_trader")


@dataclass(frozen=True)
class Party:
    name: str
    credit_code: str


@dataclass(frozen=True, order=True)
class DecisionQuery:
    """One search of the public decision list: the words typed."""

    word: str

    def app_path(self, limit: int = 20) -> str:
        return "/api/v1/decisions?" + urllib.parse.urlencode({"q": self.word, "limit": limit})


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


def _piece(rng: random.Random, name: str, low: int, high: int) -> str | None:
    runs = [run for run in CJK_RUN.findall(name) if len(run) >= low]
    if not runs:
        return None
    run = rng.choice(runs)
    length = rng.randint(low, min(high, len(run)))
    start = rng.randint(0, len(run) - length)
    return run[start : start + length]


def _candidate(name: str, rng: random.Random, parties: tuple[Party, ...]) -> DecisionQuery | None:
    party = rng.choice(parties)
    if name == "名称全称":
        return DecisionQuery(party.name)
    if name == "名称2字":
        piece = _piece(rng, party.name, 2, 2)
    elif name == "名称3字+":
        piece = _piece(rng, party.name, 3, 8)
        piece = None if piece == party.name else piece
    elif name == "信用代码":
        piece = party.credit_code
    else:  # the first 6 to 17 characters of a code
        piece = party.credit_code[: rng.randint(6, 17)]
    return DecisionQuery(piece) if piece else None


def generate_decision_queries(
    parties: tuple[Party, ...], seed: int, per_class: int
) -> dict[str, list[DecisionQuery]]:
    """Up to `per_class` distinct queries of every class, in the order drawn; no query is in
    two classes."""
    seen: set[DecisionQuery] = set()
    queries: dict[str, list[DecisionQuery]] = {}
    for position, name in enumerate(CLASSES):
        rng = random.Random(f"{seed}:decisions:{position}:{name}")
        drawn: list[DecisionQuery] = []
        for _attempt in range(per_class * 60):  # bounded: a class may have fewer
            if len(drawn) >= per_class or not parties:
                break
            query = _candidate(name, rng, parties)
            if query is None or query in seen:
                continue
            seen.add(query)
            drawn.append(query)
        queries[name] = drawn
    return queries
