"""Report tests sign in as staff too: the staff fixtures, shared."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from catalog.models import Snapshot, SnapshotItem
from tests.staff.conftest import accounts, fresh_limits, login_as  # noqa: F401


def insert_old_form_snapshot(
    db, label: str, report: dict[str, Any], catalog: list[dict[str, Any]], created_at: datetime
) -> Snapshot:
    """A snapshot in the form before migration 0025 (one report_snapshot_item row an item),
    inserted as it is, and committed: a snapshot is never changed after creation."""
    snapshot = Snapshot(label=label, created_at=created_at, created_by="tester",
                        fingerprint=report["fingerprint"], report=report)  # fmt: skip
    db.session.add(snapshot)
    db.session.flush()
    db.session.execute(
        sa.insert(SnapshotItem),
        [{"snapshot_id": snapshot.id, "code": item["code"], "data": item} for item in catalog],
    )
    db.session.commit()
    return snapshot
