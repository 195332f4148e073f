"""The rows the decision checks read (catalog.decisions.checks): the licence item, its handling
item, the publication period in force, a document number already taken. One record's check
asks the database each time; a batch (operations.create_many) remembers what it read and asks
for the document numbers of the whole batch at once, so the rules stay in one place and a
batch of thousands does not make thousands of round trips for each."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import sqlalchemy as sa

from catalog.enums import PenaltySeverity
from catalog.extensions import db
from catalog.models import ApprovalItem, HandlingItem, PublicationPeriod

CHUNK = 500  # document numbers asked for in one statement


class Lookups:
    def __init__(self, *, batch: bool = False):
        self.batch = batch
        self._items: dict[str, Any] = {}
        self._handling: dict[tuple[str, int], int | None] = {}
        self._periods: dict[tuple[PenaltySeverity, date], PublicationPeriod | None] = {}
        # per model: (authority, document number) -> the id of the record that has it
        self._taken: dict[type, dict[tuple[str, str], int]] = {}

    def item(self, code: str):
        """(id, name, item_type) of the approval item with `code`, or None."""
        if code not in self._items or not self.batch:
            self._items[code] = db.session.execute(
                sa.select(ApprovalItem.id, ApprovalItem.name, ApprovalItem.item_type).where(
                    ApprovalItem.code == code
                )
            ).first()
        return self._items[code]

    def handling_id(self, code: str, item_id: int) -> int | None:
        key = (code, item_id)
        if key not in self._handling or not self.batch:
            self._handling[key] = db.session.scalar(
                sa.select(HandlingItem.id).where(
                    HandlingItem.code == code, HandlingItem.item_id == item_id
                )
            )
        return self._handling[key]

    def period(self, severity: PenaltySeverity, decided_on: date) -> PublicationPeriod | None:
        """The period in force for a penalty of `severity` decided on `decided_on`: the row of
        that severity with the latest effective_from on or before it."""
        key = (severity, decided_on)
        if key not in self._periods or not self.batch:
            self._periods[key] = period_for(severity, decided_on)
        return self._periods[key]

    def remember_documents(self, model: type, numbers: Iterable[str]) -> None:
        """For a batch: read at once which of `numbers` are taken, by which authority and
        record."""
        taken = self._taken.setdefault(model, {})
        numbers = sorted(set(numbers))
        for start in range(0, len(numbers), CHUNK):
            rows = db.session.execute(
                sa.select(model.authority, model.document_number, model.id).where(
                    model.document_number.in_(numbers[start : start + CHUNK])
                )
            )
            taken.update(((authority, number), id_) for authority, number, id_ in rows)

    def document_taken(self, model: type, authority: str, number: str, own_id: int | None) -> bool:
        if self.batch and model in self._taken:
            return self._taken[model].get((authority, number), own_id) != own_id
        taken = db.session.scalar(
            sa.select(model.id).where(
                model.authority == authority, model.document_number == number, model.id != own_id
            )
        )
        return taken is not None


def period_for(severity: PenaltySeverity, decided_on: date) -> PublicationPeriod | None:
    """The publication period in force for a penalty of `severity` decided on `decided_on`."""
    return db.session.scalar(
        sa.select(PublicationPeriod)
        .where(
            PublicationPeriod.severity == severity,
            PublicationPeriod.effective_from <= decided_on,
        )
        .order_by(PublicationPeriod.effective_from.desc())
        .limit(1)
    )
