"""The 双公示 report's figures, kept in the transaction that changes decisions.

The report used to group every decision of the year: six statements over 1,577,000 rows took
5.1-5.7 s at province scale on every request (docs/decisions.md, "Report at province scale").
Here each decision adds one to a row of `decision_sums` keyed by what the report groups by and
what decides whether the public sees it:

    (year of decided_on, data source unit, kind, licence item (0 for a penalty), 处罚类别 ("" for
     a licence), on time, the month the penalty's publication ends (yyyymm; 0 for a licence),
     ended by a credit repair)  ->  decisions, fines and confiscations in millionths of 万元

The amounts are integers (the columns hold 万元 to 6 places), so the sums are exact on both
databases. The service layer keeps them (catalog.decisions.operations: create, update,
update_many, insert_many, end_publication_early; the import's apply goes through these): it
takes a record's key before a change and after, and moves one decision between the two rows in
the same transaction (a rolled-back change rolls its sums back with it). Bulk writers that do
not go through it (generate-province) call rebuild(). The report reads these rows
(catalog.decisions.report), so its cost is the number of (unit, item) pairs, not of decisions.

`flask decisions sums rebuild [--if-stale]` computes them again from the rows; `check` compares.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

import click
import sqlalchemy as sa
from flask.cli import with_appcontext
from sqlalchemy.dialects import postgresql, sqlite

from catalog.decisions.columns import LICENCE, PENALTY
from catalog.edge import command_transaction
from catalog.enums import PenaltyCategory
from catalog.extensions import db, has_table
from catalog.models import CreditRepair, LicenceDecision, PenaltyDecision, decision_sums

MICROS = 1_000_000  # millionths of 万元 (the amounts' 6 places)
KEY_COLUMNS = ("year", "unit", "kind", "item_id", "category", "on_time", "ends_month", "repaired")
VALUE_COLUMNS = ("decisions", "fine_micros", "confiscated_micros")


class Key(NamedTuple):
    year: int
    unit: str
    kind: str
    item_id: int
    category: str
    on_time: bool
    ends_month: int
    repaired: bool


def micros(value: Any) -> int:
    """万元 (Decimal, or a float as SQLite gives it) as whole millionths: exact for the
    columns' 6 places."""
    if value is None:
        return 0
    return int((Decimal(str(value)) * MICROS).to_integral_value())


def from_micros(value: int) -> Decimal:
    return Decimal(value) / MICROS


def month_of(day: date) -> int:
    return day.year * 100 + day.month


def _category(value: Any) -> str:
    return PenaltyCategory(value).value


def key_of(kind: str, values: Mapping[str, Any], repaired: bool = False) -> Key:
    """The row a decision with `values` (its columns) counts in."""
    licence = kind == LICENCE
    return Key(
        values["decided_on"].year,
        values["data_source_unit"],
        kind,
        values["item_id"] if licence else 0,
        "" if licence else _category(values["category"]),
        values["published_on"] <= values["publish_by"],
        0 if licence else month_of(values["publication_ends_on"]),
        False if licence else repaired,
    )


def _amounts(kind: str, values: Mapping[str, Any]) -> tuple[int, int]:
    if kind == LICENCE:
        return 0, 0
    return micros(values.get("fine_amount")), micros(values.get("confiscated_amount"))


_FIELDS = (
    "decided_on", "data_source_unit", "item_id", "category", "published_on", "publish_by",
    "publication_ends_on", "fine_amount", "confiscated_amount",
)  # fmt: skip


class Contribution(NamedTuple):
    key: Key
    fine: int
    confiscated: int


def contribution(decision: Any, repaired: bool | None = None) -> Contribution:
    """What a loaded decision adds now (before a change: what the change takes away).
    `repaired`: whether a penalty's publication was ended by a credit repair (read from the
    record when not given)."""
    kind = LICENCE if isinstance(decision, LicenceDecision) else PENALTY
    values = {name: getattr(decision, name, None) for name in _FIELDS}
    if repaired is None:
        repaired = kind == PENALTY and decision.credit_repair is not None
    return Contribution(key_of(kind, values, repaired), *_amounts(kind, values))


class Changes:
    """Moves of decisions between rows, applied together."""

    def __init__(self) -> None:
        self.deltas: dict[Key, list[int]] = defaultdict(lambda: [0, 0, 0])

    def add(self, made: Contribution, sign: int = 1) -> None:
        delta = self.deltas[made.key]
        delta[0] += sign
        delta[1] += sign * made.fine
        delta[2] += sign * made.confiscated

    def move(self, old: Contribution, new: Contribution) -> None:
        if old != new:
            self.add(old, -1)
            self.add(new, 1)

    def apply(self) -> None:
        apply(self.deltas)


def _upsert(connection: sa.Connection) -> sa.Insert:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(decision_sums)
    return statement.on_conflict_do_update(
        index_elements=list(KEY_COLUMNS),
        set_={name: decision_sums.c[name] + statement.excluded[name] for name in VALUE_COLUMNS},
    )


def available(connection: sa.Connection) -> bool:
    """Whether the database has the table (not one migrated only to a revision before 0039,
    as a migration test's may be)."""
    return has_table(connection, decision_sums.name)


def apply(deltas: Mapping[Key, list[int]]) -> None:
    """Add `deltas` to their rows in the session's transaction: a row is made when missing,
    and one left without decisions is deleted (so that a row means "decided under": the
    report's test of an item needs no look at the counts)."""
    rows = [
        {**key._asdict(), "decisions": n, "fine_micros": fine, "confiscated_micros": conf}
        for key, (n, fine, conf) in sorted(deltas.items())
        if n or fine or conf
    ]
    if not rows:
        return
    connection = db.session.connection()
    if not available(connection):
        return
    connection.execute(_upsert(connection), rows)
    emptied = [key._asdict() for key, (n, _fine, _conf) in deltas.items() if n < 0]
    if emptied:
        connection.execute(
            decision_sums.delete().where(
                *(decision_sums.c[name] == sa.bindparam(f"k_{name}") for name in KEY_COLUMNS),
                decision_sums.c.decisions == 0,
            ),
            [{f"k_{name}": value for name, value in key.items()} for key in emptied],
        )


def added(kind: str, rows: Iterable[Mapping[str, Any]]) -> None:
    """New decisions written in bulk (operations.insert_many): each adds one to its row."""
    changes = Changes()
    for values in rows:
        changes.add(Contribution(key_of(kind, values), *_amounts(kind, values)))
    changes.apply()


# -- computed from the rows ----------------------------------------------------------------------


def _grouped(kind: str) -> sa.Select:
    """Every row of `kind` grouped by the key: what the kept rows must equal."""
    model = LicenceDecision if kind == LICENCE else PenaltyDecision
    year = sa.cast(sa.extract("year", model.decided_on), sa.Integer)
    on_time = sa.case((model.published_on <= model.publish_by, True), else_=False)
    if kind == LICENCE:
        item, category = model.item_id, sa.literal("")
        ends, repaired = sa.literal(0), sa.literal(False)
        fine = confiscated = sa.literal(0)
    else:
        item, category = sa.literal(0), sa.type_coerce(model.category, sa.String)
        ends = sa.cast(
            sa.extract("year", model.publication_ends_on) * 100
            + sa.extract("month", model.publication_ends_on),
            sa.Integer,
        )
        repaired = sa.case((CreditRepair.id.is_not(None), True), else_=False)

        def whole(column):
            return sa.func.sum(
                sa.cast(sa.func.round(sa.func.coalesce(column, 0) * MICROS), sa.BigInteger)
            )

        fine, confiscated = whole(model.fine_amount), whole(model.confiscated_amount)
    keys = [year, model.data_source_unit, sa.literal(kind), item, category, on_time, ends,
            repaired]  # fmt: skip
    statement = sa.select(*keys, sa.func.count(), fine, confiscated)
    if kind == PENALTY:
        statement = statement.outerjoin(CreditRepair, CreditRepair.penalty_id == model.id)
    return statement.group_by(*keys)


def computed(connection: sa.Connection) -> dict[Key, tuple[int, int, int]]:
    """The sums as the rows give them now (check, tests)."""
    result = {}
    for kind in (LICENCE, PENALTY):
        for *key, n, fine, conf in connection.execute(_grouped(kind)):
            year, unit, kind_, item, category, on_time, ends, repaired = key
            made = Key(int(year), unit, kind_, int(item), _category(category) if category else "",
                       bool(on_time), int(ends), bool(repaired))  # fmt: skip
            result[made] = (int(n), int(fine or 0), int(conf or 0))
    return result


def kept(connection: sa.Connection) -> dict[Key, tuple[int, int, int]]:
    """The kept rows (none is left at 0 decisions: apply deletes it)."""
    return {
        Key(*(row[name] for name in KEY_COLUMNS)): tuple(int(row[name]) for name in VALUE_COLUMNS)
        for row in connection.execute(sa.select(decision_sums)).mappings()
    }


def rebuild(connection: sa.Connection) -> int:
    """Compute every row again from the decisions (after bulk writes, a first build): one
    grouped statement per kind, written by the database itself. Returns the rows."""
    connection.execute(decision_sums.delete())
    for kind in (LICENCE, PENALTY):
        connection.execute(decision_sums.insert().from_select(
            [*KEY_COLUMNS, *VALUE_COLUMNS], _grouped(kind)
        ))  # fmt: skip
    return connection.scalar(sa.select(sa.func.count()).select_from(decision_sums)) or 0


def stale(connection: sa.Connection) -> bool:
    """Whether the kept rows miss decisions written around the service layer: the number of
    each kind kept against the rows counted (a count of each table: what a deployment can
    afford after every upgrade)."""
    for kind, model in ((LICENCE, LicenceDecision), (PENALTY, PenaltyDecision)):
        kept_n = connection.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(decision_sums.c.decisions), 0)).where(
                decision_sums.c.kind == kind
            )
        )
        if int(kept_n) != connection.scalar(sa.select(sa.func.count()).select_from(model)):
            return True
    return False


# -- by hand -------------------------------------------------------------------------------------


@click.group("sums")
def sums_group() -> None:
    """The 双公示 report's figures kept by every change of a decision."""


@sums_group.command("rebuild")
@click.option("--if-stale", is_flag=True,
              help="只在汇总与决定记录条数不一致时重建（升级数据库之后运行）。")  # fmt: skip
@with_appcontext
@command_transaction
def rebuild_command(if_stale: bool) -> None:
    """Compute the 双公示 figures again from the decisions."""
    connection = db.session.connection()
    if if_stale and not stale(connection):
        click.echo("双公示统计汇总与决定记录一致，无需重建。")
        return
    started = time.perf_counter()
    rows = rebuild(connection)
    click.echo(f"双公示统计汇总已重建：{rows} 行，用时 {time.perf_counter() - started:.1f} 秒。")


@sums_group.command("check")
@with_appcontext
def check_command() -> None:
    """Say whether the kept figures equal those computed from the decisions."""
    connection = db.session.connection()
    if kept(connection) != computed(connection):
        raise click.ClickException(
            "双公示统计汇总与逐条计算的结果不一致，请运行 flask decisions sums rebuild。"
        )
    click.echo("双公示统计汇总与逐条计算的结果一致。")
