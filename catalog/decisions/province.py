"""Decision records for the synthetic province catalog (generate-province): about
`per_licence` licence decisions for each generated licence handling item, and penalties in
the proportion of the bureau's 2020 report (1,240 to 2,036), all in one year (the seed's, or
the 365 days up to a given day: a catalog whose penalties are still published), with parties
drawn from a pool of fictitious organisations and sole traders with valid credit codes (and
natural persons with valid ID numbers), so that searching a company's records meets the
catalog's real shape at scale (issue 24, part 8).

Written as rows in batches, like the rest of the province (no audit event per record), each
kind in the order of its decision days, as records arrive; the values are those the
operations would store: publish_by from the holiday calendar, a penalty's end at the longest
period of the rule in force."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from catalog.decisions.lookups import period_for
from catalog.decisions.periods import ensure_default_periods
from catalog.decisions.rules import PublicationPeriod, add_months, publish_by
from catalog.decisions.search import row_grams, with_grams
from catalog.decisions.seed import Model, penalty_fields, read_parameters
from catalog.enums import ItemType, LicenceCategory, LicenceStatus, PenaltySeverity
from catalog.models import ApprovalItem, HandlingItem, LicenceDecision, PenaltyDecision, utcnow

ACTOR = "generate-province"
PER_LICENCE = 20  # licence decisions per licence handling item, on average
PENALTIES_PER_LICENCE = 1240 / 2036  # the bureau's 2020 proportion
DECISIONS_PER_PARTY = 8  # the pool of organisations and sole traders grows with the records
LATE_SHARE = 0.015  # published after 7 working days (as modelled in seed/decisions.yaml)
SERIOUS_SHARE = 0.03
BATCH = 5_000

Insert = Callable[[sa.Connection, sa.Table, list[dict[str, Any]]], None]


def _authority_codes(model: Model, bodies: list[str]) -> dict[str, str]:
    """A fictitious credit code for each implementing body: a 机关 (11) of Henan (410000)."""
    return {body: model.credit_code("11410000") for body in sorted(bodies)}


def _in_order(model: Model, count: int) -> Iterator[date]:
    """`count` decision days of the model's year, earliest first: records are written in the
    order of their decisions, as they arrive (a decision is published, and entered, within
    days), so the newest have the highest ids."""
    return iter(sorted(model.rng.choice(model.days) for _ in range(count)))


def _latest_end(severity: PenaltySeverity, decided_on: date) -> date:
    row = period_for(severity, decided_on)
    return PublicationPeriod(row.min_months, row.max_months).latest_end(decided_on)


def generate_decisions(
    connection: sa.Connection,
    insert: Insert,
    *,
    seed_dir: Path,
    prefix: str,
    per_licence: int = PER_LICENCE,
    seed: int = 2020,
    until: date | None = None,
) -> dict[str, int]:
    """Write the decisions of the generated licence handling items (codes starting with
    `prefix`) through `insert`; the row counts written. Nothing when per_licence is 0 or the
    seed has no decisions.yaml (whose violations the records follow, and whose year they are
    decided in; with `until`, in the 365 days up to that day instead)."""
    parameters = read_parameters(seed_dir)
    if per_licence <= 0 or parameters is None:
        return {}
    handling = connection.execute(
        sa.select(HandlingItem.id, ApprovalItem.id, ApprovalItem.name,
                  ApprovalItem.implementing_body, ApprovalItem.handling_unit,
                  HandlingItem.situation)
        .join(ApprovalItem, ApprovalItem.id == HandlingItem.item_id)
        .where(ApprovalItem.item_type == ItemType.licence,
               ApprovalItem.code.like(f"{prefix}-%"))
        .order_by(HandlingItem.id)
    ).all()  # fmt: skip
    if not handling:
        return {}
    ensure_default_periods()  # as the seed does: a catalog made without the migrations
    year, rng = int(parameters["year"]), random.Random(seed)
    expected = round(len(handling) * per_licence * (1 + PENALTIES_PER_LICENCE))
    pool = max(expected // DECISIONS_PER_PARTY, 100)
    model = Model(rng, year, organisations=pool * 3 // 4, sole_traders=pool // 4, name_words=3,
                  until=until)  # fmt: skip
    authorities = _authority_codes(model, list({row[3] for row in handling}))
    now = utcnow()
    common = {"version": 1, "created_at": now, "updated_at": now, "updated_by": ACTOR}
    written = {LicenceDecision.__tablename__: 0, PenaltyDecision.__tablename__: 0}
    rows: list[dict[str, Any]] = []
    # PostgreSQL: each row's search_grams written with it (search.row_grams), its trigger
    # being off for the load (catalog.bulk_load)
    grams = connection.dialect.name == "postgresql"

    def write(table: sa.Table) -> None:
        if rows:
            insert(connection, with_grams(table) if grams else table, rows)
            written[table.name] += len(rows)
            rows.clear()

    def searched(row: dict[str, Any], subject: str) -> dict[str, Any]:
        if grams:
            row["search_grams"] = row_grams(row["party_name"], row["party_class"],
                                            row["party_credit_code"], row["document_number"],
                                            subject, row["data_source_unit"],
                                            row["published_on"] > row["publish_by"])  # fmt: skip
        return row

    licence_table = LicenceDecision.__table__
    sizes = [rng.randint(0, 2 * per_licence) for _ in handling]
    days = _in_order(model, sum(sizes))
    for (handling_id, item_id, name, body, unit, situation), size in zip(handling, sizes,
                                                                          strict=True):  # fmt: skip
        for _ in range(size):
            party = model.party([5, 2, 4])
            decided, published = model.dates(rng.random() < LATE_SHARE, next(days))
            number = written[licence_table.name] + len(rows) + 1
            rows.append(searched({
                **common, **party.fields(),
                "document_number": f"豫交许〔{decided.year}〕{number}号", "item_id": item_id,
                "handling_item_id": handling_id, "category": LicenceCategory.ordinary.value,
                "certificate_name": f"{name}决定", "certificate_number": f"豫交证{number:08d}",
                "content": f"准予{name}（{situation}）。", "decided_on": decided,
                "valid_from": decided,
                "valid_until": add_months(decided, 48) - timedelta(days=1),
                "status": LicenceStatus.valid.value, "authority": body,
                "authority_credit_code": authorities[body], "data_source_unit": unit or body,
                "published_on": published, "publish_by": publish_by(decided),
            }, name))  # fmt: skip
            if len(rows) >= BATCH:
                write(licence_table)
    write(licence_table)

    latest_end = cache(_latest_end)
    penalty_table, bodies = PenaltyDecision.__table__, sorted(authorities)
    penalties = round(written[licence_table.name] * PENALTIES_PER_LICENCE)
    days = _in_order(model, penalties)
    for number in range(1, penalties + 1):
        fields = penalty_fields(model, parameters["penalty"], late=rng.random() < LATE_SHARE,
                                decided=next(days))  # fmt: skip
        severity = (
            PenaltySeverity.serious if rng.random() < SERIOUS_SHARE else PenaltySeverity.general
        )
        decided: date = fields["decided_on"]
        body = rng.choice(bodies)
        rows.append(searched({
            **common, **fields, "document_number": f"豫交罚〔{decided.year}〕{number}号",
            "severity": severity.value, "authority": body,
            "authority_credit_code": authorities[body], "publish_by": publish_by(decided),
            "publication_ends_on": latest_end(severity, decided),
        }, fields["violation_type"]))  # fmt: skip
        if len(rows) >= BATCH:
            write(penalty_table)
    write(penalty_table)
    return written
