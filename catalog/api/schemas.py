"""Output schemas of the JSON API."""

from __future__ import annotations

from flask import url_for
from marshmallow import Schema, fields

from catalog.schemas import ItemDumpSchema


class HitSchema(Schema):
    """One handling item in a result list."""

    code = fields.String(attribute="handling_item.code")
    situation = fields.String(attribute="handling_item.situation")
    item_code = fields.String(attribute="item.code")
    item_name = fields.String(attribute="item.name")
    type = fields.String(attribute="item.item_type.value")
    handling_unit = fields.String(attribute="item.handling_unit")
    case_type = fields.String(attribute="handling_item.case_type.value")
    statutory_days = fields.Integer(attribute="handling_item.statutory_days", allow_none=True)
    promised_days = fields.Integer(attribute="handling_item.promised_days")
    visits = fields.Integer(attribute="handling_item.visits")
    charges_fee = fields.Boolean(attribute="handling_item.charges_fee")
    online_depth = fields.Integer(attribute="handling_item.online_depth")
    rank = fields.Integer()
    url = fields.Function(lambda hit: url_for("api.item", code=hit.item.code))


class ItemSchema(ItemDumpSchema):
    """An item with its handling items, materials and fees, as the guide shows it."""


HITS = HitSchema(many=True)
ITEM = ItemSchema()


class DeadlineSchema(Schema):
    """Completion dates of a handling item for an application date."""

    handling_item = fields.String(required=True)
    applied_on = fields.Date(required=True)
    promised_days = fields.Integer(required=True)
    promised_date = fields.Date(required=True)
    statutory_days = fields.Integer(required=True, allow_none=True)
    statutory_date = fields.Date(required=True, allow_none=True)


DEADLINE = DeadlineSchema()
