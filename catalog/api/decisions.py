"""JSON twins of the public decision pages (catalog.public.decisions): the list, one record,
one organisation. Same query functions, same privacy rules; described in the OpenAPI
document (catalog.api.decision_schemas)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for

from catalog.api.decision_schemas import DECISION_PAGE, ORGANISATION, dump_decision, plain
from catalog.decisions import filters as limits
from catalog.decisions import listing
from catalog.decisions.publication import LICENCE, PENALTY
from catalog.domain import Invalid
from catalog.errors import error_response

blueprint = Blueprint("decisions_api", __name__)


@blueprint.get("/decisions")
def decisions():
    """A page of the public decisions: /decisions's twin."""
    raw_limit = request.args.get("limit", str(limits.DEFAULT_LIMIT))
    if not (raw_limit.isascii() and raw_limit.isdigit() and len(raw_limit) <= 3) or not (
        1 <= int(raw_limit) <= limits.MAX_LIMIT
    ):
        return error_response(400, f"每页条数（limit）须为1到{limits.MAX_LIMIT}之间的整数。")
    try:
        filters = listing.DecisionFilters.from_args(request.args)
        page = listing.list_decisions(
            filters, cursor=request.args.get("cursor"), limit=int(raw_limit)
        )
    except Invalid as exc:
        return error_response(400, exc.message)
    return jsonify(DECISION_PAGE.dump({
        "decisions": [plain(decision) for decision in page.decisions],
        "total": page.total,
        "total_exact": page.total_exact,
        "next": page.next_cursor,
    }))  # fmt: skip


def _record(kind: str, decision_id: int):
    decision = listing.public_record(kind, decision_id)
    if decision is None:
        return error_response(404, listing.NOT_PUBLIC[kind])
    return jsonify(dump_decision(decision))


@blueprint.get("/decisions/licences/<id:decision_id>")
def licence(decision_id: int):
    """One licence decision."""
    return _record(LICENCE, decision_id)


@blueprint.get("/decisions/penalties/<id:decision_id>")
def penalty(decision_id: int):
    """One penalty decision, while it is published."""
    return _record(PENALTY, decision_id)


@blueprint.get("/organisations/<credit_code>")
def organisation(credit_code: str):
    """An organisation's public licences and penalties, by its credit code."""
    try:
        found = listing.organisation(credit_code)
    except Invalid as exc:
        return error_response(400, exc.message)
    if found is None:
        return error_response(404, listing.no_organisation(credit_code))
    return jsonify(ORGANISATION.dump({
        "credit_code": found.credit_code,
        "name": found.name,
        "party_class": found.party_class.value,
        "page_url": url_for("decisions.organisation", credit_code=found.credit_code),
        "licences": [plain(decision) for decision in found.licences],
        "penalties": [plain(decision) for decision in found.penalties],
        "more_licences": found.more_licences,
        "more_penalties": found.more_penalties,
    }))  # fmt: skip
