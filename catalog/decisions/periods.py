"""The publication periods of penalties (data: table publication_period), and their default.

Migration 0029 writes the default into a catalog; `flask seed` writes it again when the table
is empty (a catalog whose rows were all removed), never over rows staff have set.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from catalog.enums import PenaltySeverity
from catalog.extensions import db
from catalog.models import PublicationPeriod

SOURCE_527 = "发改办财金〔2019〕527号"
# 《关于进一步完善“信用中国”网站及地方信用门户网站行政处罚信息信用修复机制的通知》
# (发改办财金〔2019〕527号), in force from 2019-07-01: a penalty for a general 失信 act is published
# for at least 3 months and at most 1 year from its decision, a serious one at least 6 months
# and at most 3 years; after the shortest period it may be ended early by 信用修复.
DEFAULT_PERIODS = (
    (PenaltySeverity.general, date(2019, 7, 1), 3, 12),
    (PenaltySeverity.serious, date(2019, 7, 1), 6, 36),
)


def ensure_default_periods() -> int:
    """Write the default periods when there are none; how many rows were written."""
    if db.session.scalar(sa.select(sa.func.count(PublicationPeriod.id))):
        return 0
    for severity, effective_from, min_months, max_months in DEFAULT_PERIODS:
        db.session.add(
            PublicationPeriod(
                severity=severity,
                effective_from=effective_from,
                min_months=min_months,
                max_months=max_months,
                source=SOURCE_527,
            )
        )
    db.session.flush()
    return len(DEFAULT_PERIODS)
