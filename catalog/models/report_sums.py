"""The report's sums kept current by the transactions that change the catalog
(catalog.reports.aggregates): each item's contribution, their sums per group (item type x
handling unit), the policy exceptions, and the revision the sums were last made right at."""

from __future__ import annotations

import sqlalchemy as sa

from catalog.extensions import db
from catalog.models.catalog import code_column

# The data-quality elements as column names (catalog.elements keys, "." as "_"); a test holds
# them to catalog.elements.ELEMENTS.
ELEMENT_COLUMNS = (
    "implementing_body", "handling_unit", "exercise_level", "power_source", "service_targets",
    "legal_basis", "conditions", "result_name", "result_type", "consultation", "complaint",
    "location", "hours", "situation", "visit_reason", "forms", "online_depth", "fees",
    "materials", "steps",
)  # fmt: skip
DIGEST_PARTS = 8  # the fingerprint's 256-bit sum in 32-bit parts: their sums fit a BIGINT
# Every sum, in this order: items, the ratio engine's counts (figures.handling_totals' order),
# complete handling items, the handling items lacking each element, the fingerprint's parts.
MEASURE_COLUMNS = (
    "items", "handling_items", "instant", "no_visit", "at_most_one_visit", "online_capable",
    "fully_online", "limited", "statutory_days", "promised_days", "complete",
    *(f"missing_{name}" for name in ELEMENT_COLUMNS),
    *(f"digest_{part}" for part in range(DIGEST_PARTS)),
)  # fmt: skip


def _measures() -> list[sa.Column]:
    return [sa.Column(name, sa.BigInteger, nullable=False) for name in MEASURE_COLUMNS]


# One row per item in scope: what it adds to its group (subtracted when it changes).
report_item_sums = sa.Table(
    "report_item_sums",
    db.metadata,
    sa.Column("item_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("item_type", sa.String(20), nullable=False),
    sa.Column("unit", sa.String(100), nullable=False),  # document.unit_key(handling_unit)
    *_measures(),
)

# One row per group: the sums the report reads (a handful of rows instead of a scan).
report_group_sums = sa.Table(
    "report_group_sums",
    db.metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("item_type", sa.String(20), nullable=False),
    sa.Column("unit", sa.String(100), nullable=False),
    *_measures(),
    sa.UniqueConstraint("item_type", "unit"),
)

# One row per handling item in scope that breaks a policy rule: the report's lists.
report_exception = sa.Table(
    "report_exception",
    db.metadata,
    sa.Column("handling_item_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("item_id", sa.Integer, nullable=False, index=True),
    sa.Column("item_type", sa.String(20), nullable=False),
    sa.Column("unit", sa.String(100), nullable=False),
    sa.Column("code", code_column(50), nullable=False),
    sa.Column("rules", sa.Integer, nullable=False),  # bit i: the i-th catalog.ratios.PolicyRule
)

# One row per published item (of any type): the digest of its data as a snapshot freezes it
# (catalog.reports.frozen.digest), so that the live side of a comparison is one read of this
# index instead of every item's rows (migration 0028).
item_data_digest = sa.Table(
    "item_data_digest",
    db.metadata,
    sa.Column("item_id", sa.Integer, primary_key=True, autoincrement=False),
    # indexed, not unique: a transaction may hand one item's code to another, and the items'
    # rows are replaced a chunk of items at a time
    sa.Column("code", code_column(50), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("digest", sa.String(32), nullable=False),
)

# One row: the catalog revision (catalog_revision.stamp) the sums (and the digests) are right at.
report_sums_state = sa.Table(
    "report_sums_state",
    db.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("stamp", sa.String(32), nullable=False),
)
