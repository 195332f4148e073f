"""Freezing the published catalog and its report under a label (reviewers and commands)."""

from __future__ import annotations

from catalog.models import Role, Snapshot, User
from catalog.operations.actor import Actor
from catalog.reports import snapshots


def create_snapshot(label: str, *, actor: User | Actor | str, note: str | None = None) -> Snapshot:
    """A new snapshot, audited in the same transaction (catalog.reports.snapshots)."""
    actor = Actor.of(actor)
    actor.require(Role.reviewer, "只有审核人员可以生成快照。")
    return snapshots.create_snapshot(label, actor=actor.name, note=note)
