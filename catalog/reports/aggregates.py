"""The report's sums, kept current in the transaction that changes the catalog.

The first report after a change used to read the whole catalog: four aggregate scans and a
sha256 streamed over every row, 4.1-5.2 s at 300,000 handling items on both databases (issue
22). Here every item in scope has one row of what it adds to the report (report_item_sums:
counts, sums, data-quality gaps, its part of the version 2 fingerprint), the groups of the
report's breakdowns (item type x handling unit) have their sums (report_group_sums), and the
handling items that break a policy rule have a row each (report_exception). At the commit of a
change (catalog.revision) the items it touched are read again, in Python with the ratio
engine's own functions, their rows replaced, and each group's sums moved by the difference. The
report reads the group rows and the exceptions: a few hundred rows instead of the catalog.

The sums are right at the revision in report_sums_state; whatever changes the catalog without
going through the session's unit of work (Core inserts, a migration) leaves it behind, and the
report is computed from the rows as before until rebuild() (bulk paths call it through
revision.bump(); `flask report-sums rebuild` by hand).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from catalog.edge import command_transaction
from catalog.elements import ELEMENTS, NOT_PROVIDED
from catalog.enums import ItemType
from catalog.extensions import db, has_table
from catalog.figures import (
    INCOMPLETE,
    ITEM_IN_SCOPE,
    MISSING_PREDICATES,
    POLICY_PREDICATES,
    QualityCounts,
    ReportAggregates,
    _count_where,
    handling_items_in_scope,
    handling_totals,
)
from catalog.measures import has_reason
from catalog.models import ApprovalItem, HandlingItem
from catalog.models.report_sums import (
    DIGEST_PARTS,
    MEASURE_COLUMNS,
    report_exception,
    report_group_sums,
    report_item_sums,
    report_sums_state,
)
from catalog.reports import digests
from catalog.reports.rows import (
    DIGEST_MODULUS,
    HANDLING_COLUMNS,
    ITEM_COLUMNS,
    ItemRow,
    item_digest,
    line_digest,
    live_handling_query,
    sum_fingerprint,
)

CHUNK = 2_000  # items read at once (an IN list both databases take comfortably)
REBUILD_CHUNK = 20_000  # items a rebuild reads at once (its memory: their rows)
_PART_BITS = 256 // DIGEST_PARTS
_PART_MASK = (1 << _PART_BITS) - 1
_RULES = list(POLICY_PREDICATES)  # bit i of report_exception.rules: the i-th rule
_STATE = 1


NO_UNIT = NOT_PROVIDED  # the group (and the ?unit=) of the items without a handling unit


def unit_key(unit: Any) -> Any:
    """An item's handling unit as the report groups by it: a missing one is NO_UNIT."""
    return NO_UNIT if unit is None or (isinstance(unit, str) and not unit.strip()) else unit


# -- the items' contributions: the report's own SQL sums, grouped by item -------------------------
#
# First written in Python (the ratio engine's figures_from_facts and broken_rules over each
# item's rows): 0.4 ms an item, so a rebuild at 300,000 handling items (271,461 items) took
# 109 s on the shared machine. The figures' SQL sums grouped by item instead, with only the
# fingerprint's digests in Python: see docs/report-speed.md. The tests hold both the sums and
# the report made of them to the ratio engine over the rows.


def _sums(condition: sa.ColumnElement[bool]) -> sa.Select:
    """Per item in scope with handling items in scope: handling_totals' sums, then the handling
    items lacking any element and each one (figures.quality_counts' counts)."""
    return (
        handling_totals(ApprovalItem.id)
        .add_columns(
            _count_where(INCOMPLETE),
            *(_count_where(predicate) for predicate in MISSING_PREDICATES.values()),
        )
        .where(condition)
    )


def _exceptions(condition: sa.ColumnElement[bool]) -> sa.Select:
    flags = [sa.case((predicate, 1), else_=0) for predicate in POLICY_PREDICATES.values()]
    return handling_items_in_scope(
        ApprovalItem.id, HandlingItem.id, HandlingItem.code, *flags
    ).where(sa.or_(*POLICY_PREDICATES.values()), condition)


def _read(
    connection: sa.Connection, condition: sa.ColumnElement[bool]
) -> tuple[dict[int, Contribution], list[dict]]:
    """The contributions of the items in scope that meet `condition` (on ApprovalItem.id), and
    the exception rows of their handling items: four queries, whatever the number of items."""
    items = {
        item_id: ItemRow(code, name, ItemType(kind), unit)
        for item_id, code, name, kind, unit in connection.execute(
            sa.select(ApprovalItem.id, *ITEM_COLUMNS).where(ITEM_IN_SCOPE, condition)
        )
    }
    if not items:
        return {}, []
    digests = {item_id: item_digest(row) for item_id, row in items.items()}
    lines = live_handling_query(condition).with_only_columns(
        ApprovalItem.id, ApprovalItem.code, *HANDLING_COLUMNS[len(ITEM_COLUMNS) :]
    )
    for item_id, item_code, code, situation, case_type, statutory, promised, visits, reason, \
            depth in connection.execute(lines.order_by(None)):  # fmt: skip
        digests[item_id] += line_digest(
            ["handling", item_code, code, situation, _value(case_type), statutory, promised,
             visits, has_reason(reason), depth]
        )  # fmt: skip
    sums = {item_id: values for item_id, *values in connection.execute(_sums(condition))}
    nothing = [0] * (10 + len(MISSING_PREDICATES))
    found = {}
    for item_id, row in items.items():
        total, *totals, incomplete = (int(v) for v in sums.get(item_id, nothing)[:10])
        missing = (int(v) for v in sums.get(item_id, nothing)[10:])
        digest = digests[item_id] % DIGEST_MODULUS
        found[item_id] = Contribution(
            row.item_type.value,
            unit_key(row.handling_unit),
            (1, total, *totals, total - incomplete, *missing,
             *((digest >> (_PART_BITS * part)) & _PART_MASK for part in range(DIGEST_PARTS))),
        )  # fmt: skip
    exceptions = [
        {"handling_item_id": handling_id, "item_id": item_id, "code": code,
         "item_type": found[item_id].item_type, "unit": found[item_id].unit,
         "rules": sum(1 << index for index, flag in enumerate(flags) if flag)}
        for item_id, handling_id, code, *flags in connection.execute(_exceptions(condition))
    ]  # fmt: skip
    return found, exceptions


def _value(kind: object) -> str:
    return str(getattr(kind, "value", kind))


@dataclass(frozen=True)
class Contribution:
    item_type: str
    unit: str
    values: tuple[int, ...]  # in MEASURE_COLUMNS order

    @property
    def group(self) -> tuple[str, str]:
        return self.item_type, self.unit


def _item_values(item_id: int, made: Contribution) -> dict:
    return {"item_id": item_id, "item_type": made.item_type, "unit": made.unit,
            **dict(zip(MEASURE_COLUMNS, made.values, strict=True))}  # fmt: skip


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ids = sorted(ids)
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


# -- keeping them current ------------------------------------------------------------------------

Deltas = dict[tuple[str, str], list[int]]


def refresh_items(connection: sa.Connection, item_ids: Iterable[int]) -> Deltas:
    """Replace the rows of these items (changed, added or deleted in this transaction) and
    return how each group's sums move. On PostgreSQL the items are locked first (in id order),
    so that two transactions touching one item read each other's committed rows."""
    deltas: Deltas = defaultdict(lambda: [0] * len(MEASURE_COLUMNS))
    for chunk in _chunks(item_ids):
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.select(ApprovalItem.id)
                .where(ApprovalItem.id.in_(chunk))
                .order_by(ApprovalItem.id)
                .with_for_update()
            )
        old = connection.execute(
            sa.select(report_item_sums).where(report_item_sums.c.item_id.in_(chunk))
        ).all()
        new, exceptions = _read(connection, ApprovalItem.id.in_(chunk))
        for row in old:
            into = deltas[(row.item_type, row.unit)]
            for index, name in enumerate(MEASURE_COLUMNS):
                into[index] -= getattr(row, name)
        for made in new.values():
            into = deltas[made.group]
            for index, value in enumerate(made.values):
                into[index] += value
        connection.execute(report_item_sums.delete().where(report_item_sums.c.item_id.in_(chunk)))
        connection.execute(report_exception.delete().where(report_exception.c.item_id.in_(chunk)))
        if new:
            connection.execute(
                report_item_sums.insert(), [_item_values(i, made) for i, made in new.items()]
            )
        if exceptions:
            connection.execute(report_exception.insert(), exceptions)
        digests.refresh(connection, chunk)
    return {group: values for group, values in deltas.items() if any(values)}


def apply_deltas(connection: sa.Connection, deltas: Deltas) -> None:
    """Move each group's sums (in group order: two transactions never wait on each other's
    groups in a cycle)."""
    table = report_group_sums
    for (item_type, unit), values in sorted(deltas.items()):
        moved = connection.execute(
            table.update()
            .where(table.c.item_type == item_type, table.c.unit == unit)
            .values({name: table.c[name] + value
                     for name, value in zip(MEASURE_COLUMNS, values, strict=True) if value})
        )  # fmt: skip
        if not moved.rowcount:
            connection.execute(
                table.insert().values(
                    item_type=item_type, unit=unit,
                    **dict(zip(MEASURE_COLUMNS, values, strict=True)),
                )
            )  # fmt: skip


def available(connection: sa.Connection) -> bool:
    """Whether the database has the sums' tables: not one migrated only to a revision before
    0024 (a migration test writes rows there)."""
    return has_table(connection, report_sums_state.name)


def state(connection: sa.Connection) -> str | None:
    """The revision the sums are right at (None: never built)."""
    return connection.scalar(
        sa.select(report_sums_state.c.stamp).where(report_sums_state.c.id == _STATE)
    )


def set_state(connection: sa.Connection, stamp: str) -> None:
    table = report_sums_state
    if not connection.execute(
        table.update().where(table.c.id == _STATE).values(stamp=stamp)
    ).rowcount:
        connection.execute(table.insert().values(id=_STATE, stamp=stamp))


def rebuild(connection: sa.Connection) -> int:
    """Compute every row again from the catalog (bulk writes, a first build), and the items'
    data digests (catalog.reports.digests); the caller sets the state. Returns the items in
    scope. At 300,000 handling items: see docs/report-speed.md."""
    for table in (report_item_sums, report_group_sums, report_exception):
        connection.execute(table.delete())
    ids = connection.scalars(
        sa.select(ApprovalItem.id).where(ITEM_IN_SCOPE).order_by(ApprovalItem.id)
    ).all()
    for start in range(0, len(ids), REBUILD_CHUNK):  # by ranges of ids: each read is a range scan
        chunk = ids[start : start + REBUILD_CHUNK]
        new, exceptions = _read(connection, ApprovalItem.id.between(chunk[0], chunk[-1]))
        if new:
            connection.execute(
                report_item_sums.insert(), [_item_values(i, made) for i, made in new.items()]
            )
        if exceptions:
            connection.execute(report_exception.insert(), exceptions)
    sums = [sa.func.sum(report_item_sums.c[name]) for name in MEASURE_COLUMNS]
    group = (report_item_sums.c.item_type, report_item_sums.c.unit)
    connection.execute(
        report_group_sums.insert().from_select(
            ["item_type", "unit", *MEASURE_COLUMNS], sa.select(*group, *sums).group_by(*group)
        )
    )
    digests.rebuild(connection)
    return len(ids)


# -- reading them --------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeptSums:
    """What the report document is made of, read from the kept sums."""

    aggregates: ReportAggregates
    quality: QualityCounts
    fingerprint: str


_TOTALS = MEASURE_COLUMNS[1:10]  # figures.handling_totals' sums
_MISSING = MEASURE_COLUMNS[11 : 11 + len(ELEMENTS)]
_DIGEST = MEASURE_COLUMNS[11 + len(ELEMENTS) :]


def read(connection: sa.Connection) -> KeptSums:
    """The sums of every group and the exceptions: two small reads."""
    items: dict[tuple[str, str], int] = {}
    totals: dict[tuple[str, str], tuple[int, ...]] = {}
    overall = [0] * len(MEASURE_COLUMNS)
    for row in connection.execute(sa.select(report_group_sums)):
        if not row.items:
            continue  # a group whose items all left
        items[(row.item_type, row.unit)] = int(row.items)
        totals[(row.item_type, row.unit)] = tuple(int(getattr(row, name)) for name in _TOTALS)
        for index, name in enumerate(MEASURE_COLUMNS):
            overall[index] += int(getattr(row, name))
    broken = [
        (item_type, unit, code, frozenset(r for i, r in enumerate(_RULES) if rules >> i & 1))
        for item_type, unit, code, rules in connection.execute(
            sa.select(
                report_exception.c.item_type, report_exception.c.unit,
                report_exception.c.code, report_exception.c.rules,
            ).order_by(report_exception.c.code)
        )
    ]  # fmt: skip
    values = dict(zip(MEASURE_COLUMNS, overall, strict=True))
    quality = QualityCounts(
        values["handling_items"],
        values["complete"],
        {element.key: values[name] for element, name in zip(ELEMENTS, _MISSING, strict=True)},
    )
    digest = sum(values[name] << (_PART_BITS * part) for part, name in enumerate(_DIGEST))
    return KeptSums(ReportAggregates(items, totals, broken), quality, sum_fingerprint(digest))


# -- by hand -----------------------------------------------------------------------------------


@click.group("report-sums")
def report_sums_group() -> None:
    """The report's sums kept current by every change (catalog.reports.aggregates)."""


@report_sums_group.command("rebuild")
@click.option("--if-stale", is_flag=True,
              help="只在汇总不是当前版本时重建（升级数据库之后运行）。")  # fmt: skip
@with_appcontext
@command_transaction
def rebuild_command(if_stale: bool) -> None:
    """Compute the sums again from the catalog (after the migration that adds them, or a change
    of the catalog's tables by hand), at the catalog's current revision. --if-stale: only when
    they are not of the current revision (one row read), as a deployment runs it after every
    `flask db upgrade`."""
    from catalog.revision import bump, current_stamp  # (revision reads this module)

    if if_stale and state(db.session.connection()) == current_stamp():
        click.echo("报告汇总已是当前版本，无需重建。")
        return
    started = time.perf_counter()
    bump(db.session.connection())
    click.echo(f"报告汇总已重建，用时 {time.perf_counter() - started:.1f} 秒。")


@report_sums_group.command("check")
@with_appcontext
def check_command() -> None:
    """Say whether the sums are right at the catalog's revision (and equal the rows')."""
    from catalog.reports.document import live_report, scanned_report
    from catalog.revision import current_stamp

    connection = db.session.connection()
    if state(connection) != current_stamp():
        raise click.ClickException("报告汇总不是当前版本的，请运行 flask report-sums rebuild。")
    kept, scanned = live_report(), scanned_report()
    kept.pop("generated_at"), scanned.pop("generated_at")
    if kept != scanned or digests.kept_index(current_stamp()) != digests.computed_index():
        raise click.ClickException(
            "报告汇总与逐行计算的结果不一致，请运行 flask report-sums rebuild。"
        )
    click.echo("报告汇总是当前版本的，与逐行计算的结果一致。")
