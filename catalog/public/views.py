"""Public pages."""

from __future__ import annotations

from flask import Blueprint, render_template

from catalog.enums import REPORTED_TYPES
from catalog.report import DEFINITIONS, SHARES, current_report

blueprint = Blueprint("public", __name__)


@blueprint.get("/")
def home():
    """The catalog at a glance: items by type and the reform's headline ratios."""
    figures, document = current_report()
    return render_template(
        "public/home.html",
        figures=figures,
        report=document,
        item_types=REPORTED_TYPES,
        shares=SHARES,
        definitions=DEFINITIONS,
    )
