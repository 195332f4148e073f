"""The public rows of each kind of decision, as one select each: what the list, a record page and
an organisation page read (catalog.decisions.listing) and what the search checks its candidates
against (catalog.decisions.search). What the public sees: docs/decisions.md."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import sqlalchemy as sa
import sqlalchemy.orm

from catalog.decisions.filters import DecisionFilters
from catalog.decisions.operations import publicly_listed
from catalog.decisions.publication import LICENCE, PENALTY, PublicDecision, public_decision
from catalog.extensions import db
from catalog.models import ApprovalItem, HandlingItem, LicenceDecision, PenaltyDecision


def _null(type_: sa.types.TypeEngine) -> sa.ColumnElement:
    return sa.cast(sa.null(), type_)


def _shared(model: type, kind: str) -> list[sa.ColumnElement]:
    return [
        sa.literal_column(f"'{kind}'", sa.String).label("kind"),
        model.id, model.document_number, model.party_name, model.party_class,
        model.party_credit_code, model.legal_representative, model.party_id_type,
        model.party_id_number, model.decided_on, model.published_on, model.authority,
        model.authority_credit_code, model.data_source_unit,
        sa.type_coerce(model.category, sa.String).label("category"), model.content,
    ]  # fmt: skip


def licences(today: date) -> sa.Select:
    L = LicenceDecision
    return (
        sa.select(
            *_shared(L, LICENCE),
            ApprovalItem.code.label("item_code"),
            ApprovalItem.name.label("item_name"),
            HandlingItem.situation.label("situation"),
            L.certificate_name,
            L.certificate_number,
            L.valid_from,
            L.valid_until,
            sa.type_coerce(L.status, sa.String).label("status"),
            _null(sa.String).label("violation_type"),
            _null(sa.Text).label("violation_facts"),
            _null(sa.Text).label("legal_basis"),
            _null(PenaltyDecision.fine_amount.type).label("fine_amount"),
            _null(PenaltyDecision.fine_amount.type).label("confiscated_amount"),
            _null(sa.String).label("affected_licence"),
            _null(sa.Date).label("publication_ends_on"),
        )
        .join(ApprovalItem, ApprovalItem.id == L.item_id)
        .outerjoin(HandlingItem, HandlingItem.id == L.handling_item_id)
        .where(public(LICENCE, today))
    )


def penalties(today: date) -> sa.Select:
    P = PenaltyDecision
    return sa.select(
        *_shared(P, PENALTY),
        _null(sa.String).label("item_code"), _null(sa.String).label("item_name"),
        _null(sa.String).label("situation"), _null(sa.String).label("certificate_name"),
        _null(sa.String).label("certificate_number"), _null(sa.Date).label("valid_from"),
        _null(sa.Date).label("valid_until"), _null(sa.String).label("status"),
        P.violation_type, P.violation_facts, P.legal_basis, P.fine_amount,
        P.confiscated_amount, P.affected_licence, P.publication_ends_on,
    ).where(public(PENALTY, today))  # fmt: skip


def public(kind: str, today: date) -> sa.ColumnElement[bool]:
    """The rows of a kind the public sees on `today`: published, and a penalty still within
    its publication (operations.publicly_listed)."""
    if kind == LICENCE:
        return LicenceDecision.published_on <= today
    return sa.and_(PenaltyDecision.published_on <= today, publicly_listed(today))


def subject(kind: str, *, correlated: bool = False) -> sa.ColumnElement[str]:
    """What the search matches besides the party and the document: the licence item's name
    (in a statement that joins the item, or `correlated`: read for each row only when asked),
    the penalty's violation type."""
    if kind == PENALTY:
        return PenaltyDecision.violation_type
    if correlated:  # (its own alias: the statement may join the item for its columns too)
        item = sa.orm.aliased(ApprovalItem)
        return (
            sa.select(item.name)
            .where(item.id == LicenceDecision.item_id)
            .correlate(LicenceDecision)
            .scalar_subquery()
        )
    return ApprovalItem.name


def kinds(filters: DecisionFilters) -> list[tuple[str, type, Callable[[date], sa.Select]]]:
    """The kinds of decision the filters keep, with their model and public select."""
    kinds = []
    for kind, model, select in ((LICENCE, LicenceDecision, licences),
                                (PENALTY, PenaltyDecision, penalties)):  # fmt: skip
        if (filters.kind and filters.kind != kind) or (kind == PENALTY and filters.licences_only):
            continue
        if kind == LICENCE and filters.penalties_only:
            continue
        kinds.append((kind, model, select))
    return kinds


def rows_in_order(kinds: list, order: list[tuple[tuple[date, int], str]], limit: int,
                  today: date) -> list[PublicDecision]:  # fmt: skip
    """The public rows of the first `limit` of `order` ((decision day, id), kind) in the list's
    order: newest day first, on one day licences before penalties, then the highest id."""
    order = sorted(order, key=lambda entry: (-entry[0][0].toordinal(), entry[1],
                                             -entry[0][1]))[:limit]  # fmt: skip
    loaded = {}
    for kind, model, select in kinds:
        ids = [row_id for (_day, row_id), of in order if of == kind]
        if ids:
            rows = db.session.execute(select(today).where(model.id.in_(ids))).all()
            loaded.update({(kind, row.id): public_decision(kind, row) for row in rows})
    return [loaded[kind, row_id] for (_day, row_id), kind in order]
