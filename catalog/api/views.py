"""JSON endpoints."""

from __future__ import annotations

from flask import Blueprint, jsonify

from catalog.report import current_report

blueprint = Blueprint("api", __name__)


@blueprint.get("/report")
def report():
    """The reform report of the published catalog (the home page's twin)."""
    _figures, document = current_report()
    return jsonify(document)
