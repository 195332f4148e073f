"""Output schemas of the JSON API."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from flask import current_app, url_for
from marshmallow import Schema, fields

from catalog.enums import AttachmentKind
from catalog.schemas import SHA256_PATTERN, FeesField, ItemDumpSchema
from catalog.schemas import HandlingItemSchema as InputHandlingItemSchema
from catalog.schemas import MaterialSchema as InputMaterialSchema
from catalog.search import Hit


class HitSchema(Schema):
    """One handling item in a result list: the documented shape (the OpenAPI document is built
    from it). Result lists are written by dump_hits(), which gives exactly what this schema's
    dump would (the tests hold the two together) at a fraction of the cost."""

    # situation, handling_unit, charges_fee and online_depth are null where not provided
    # (catalog.elements); charges_fee null is not false (不收费)
    code = fields.String(attribute="handling_item.code")
    situation = fields.String(attribute="handling_item.situation", allow_none=True)
    item_code = fields.String(attribute="item.code")
    item_name = fields.String(attribute="item.name")
    type = fields.String(attribute="item.item_type.value")
    handling_unit = fields.String(attribute="item.handling_unit", allow_none=True)
    case_type = fields.String(attribute="handling_item.case_type.value")
    statutory_days = fields.Integer(attribute="handling_item.statutory_days", allow_none=True)
    promised_days = fields.Integer(attribute="handling_item.promised_days")
    visits = fields.Integer(attribute="handling_item.visits")
    charges_fee = fields.Boolean(attribute="handling_item.charges_fee", allow_none=True)
    online_depth = fields.Integer(attribute="handling_item.online_depth", allow_none=True)
    rank = fields.Integer()
    url = fields.Function(lambda hit: url_for("api.item", code=hit.item.code))


class MaterialFileSchema(Schema):
    """A file offered beside a material (空白表格 blank / 示例样表 sample), as the API writes it:
    its download URL, the media type its content was recognised as, its size in bytes and its
    SHA-256 (the URL's content never changes)."""

    kind = fields.String(
        attribute="kind.value", required=True,
        metadata={"enum": [kind.value for kind in AttachmentKind],
                  "description": "blank：空白表格；sample：示例样表"},
    )  # fmt: skip
    filename = fields.String(required=True)
    sha256 = fields.String(required=True, metadata={"pattern": SHA256_PATTERN})
    media_type = fields.String(attribute="blob.media_type", required=True)
    size = fields.Integer(attribute="blob.size", required=True, metadata={"minimum": 0})
    url = fields.Function(
        lambda file: url_for("files.download", sha256=file.sha256, filename=file.filename),
        required=True,
        metadata={"type": "string", "description": "下载地址（以附件方式下载）"},
    )


class MaterialSchema(InputMaterialSchema):
    """A material as the API writes it: always with its list of files (maybe empty)."""

    attachments = fields.List(fields.Nested(MaterialFileSchema), required=True)
    omit_no_attachments = False


class HandlingItemSchema(InputHandlingItemSchema):
    """A handling item as the API writes it. Its fees are "none" (不收费), a list, or null: not
    provided. Declared without the input schema's load default, which the OpenAPI document's
    generator would write out through FeesField with no handling item to read."""

    fees = FeesField(required=True, allow_none=True)
    omit_unset = False  # online_url is null where none is given (catalog.schemas.OmitUnset)
    materials = fields.List(fields.Nested(MaterialSchema), required=True)


class UnitSchema(Schema):
    """A handling unit's window (办理窗口, catalog.operations.units); null where unknown."""

    name = fields.String(required=True, metadata={"description": "单位名称（事项的承办机构）"})
    address = fields.String(allow_none=True, metadata={"description": "窗口地址"})
    phone = fields.String(allow_none=True, metadata={"description": "咨询电话"})
    hours = fields.String(allow_none=True, metadata={"description": "办公时间"})
    map_url = fields.String(allow_none=True, metadata={"description": "地图链接（http/https）"})
    notes = fields.String(allow_none=True, metadata={"description": "备注"})


class UnitListSchema(Schema):
    units = fields.List(fields.Nested(UnitSchema), required=True)


class WindowSchema(UnitSchema):
    """Where an item is handled: its unit's window; where the unit has no record (recorded
    false) or its record lacks them, the address and hours are the item's own 办理地点 and
    办理时间."""

    name = fields.String(
        attribute="unit", allow_none=True, metadata={"description": "承办机构；null：暂未提供"}
    )
    recorded = fields.Boolean(required=True, metadata={"description": "承办机构是否有窗口记录"})


class WindowField(fields.Nested):
    """An item's window, computed from its unit's record (catalog.operations.units)."""

    def __init__(self, **kwargs: Any):
        super().__init__(WindowSchema, required=True, **kwargs)

    def get_value(self, obj: Any, attr: str, accessor=None, default=None) -> Any:
        from catalog.operations.units import window_of

        return window_of(obj)


class ItemSchema(ItemDumpSchema):
    """An item with its handling items, materials and fees, as the guide shows it. Every element
    that may be missing (catalog.elements) is null or an empty list then, as documented."""

    handling_items = fields.List(fields.Nested(HandlingItemSchema), required=True)
    window = WindowField(metadata={"description": "办理地点：承办机构的办理窗口"})
    licence_decisions = fields.Integer(
        attribute="published_licence_decisions",
        required=True,
        metadata={"description": "本事项已公示的行政许可决定条数（见 /api/v1/decisions?item=…）"},
    )
    omit_unset = False  # faq is [] where an item has none (catalog.schemas.OmitUnset)


ITEM = ItemSchema()
UNIT = UnitSchema()

_CODE = "__code__"  # a stand-in that the URL converter leaves as it is
# What percent-encoding leaves as it is in a path segment (RFC 3986's unreserved characters);
# codes are made of these (HN-0100-01-0006390), and are then written without quoting.
_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+")


def item_url_builder() -> Callable[[str], str]:
    """url_for("api.item", code=...) for many codes: the route is built once, around a stand-in
    for the code, and each code is quoted as the route's converter quotes it."""
    head, _stand_in, tail = url_for("api.item", code=_CODE).rpartition(_CODE)
    url_map = current_app.url_map
    to_url = url_map.converters["default"](url_map).to_url  # the converter of <code>
    unreserved = _UNRESERVED.fullmatch
    return lambda code: head + (code if unreserved(code) else to_url(code)) + tail


def dump_hits(hits: Iterable[Hit]) -> list[dict[str, Any]]:
    """HitSchema(many=True).dump(hits), written out: a search page writes 20 to 100 hits, and
    marshmallow's per-field machinery cost more than the search itself."""
    item_url = item_url_builder()
    dumped = []
    for hit in hits:
        handling, item = hit.handling_item, hit.item
        dumped.append({
            "code": handling.code,
            "situation": handling.situation,
            "item_code": item.code,
            "item_name": item.name,
            "type": item.item_type.value,
            "handling_unit": item.handling_unit,
            "case_type": handling.case_type.value,
            "statutory_days": handling.statutory_days,
            "promised_days": handling.promised_days,
            "visits": handling.visits,
            "charges_fee": handling.charges_fee,
            "online_depth": handling.online_depth,
            "rank": int(hit.rank),
            "url": item_url(item.code),
        })  # fmt: skip
    return dumped


class DeadlineSchema(Schema):
    """Completion dates of a handling item for an application date."""

    handling_item = fields.String(required=True)
    applied_on = fields.Date(required=True)
    promised_days = fields.Integer(required=True)
    promised_date = fields.Date(required=True)
    statutory_days = fields.Integer(required=True, allow_none=True)
    statutory_date = fields.Date(required=True, allow_none=True)
    # True when the date falls in a year after the holiday calendar's last, where days are
    # counted Monday to Friday less the fixed-date holidays: an estimate until that year's
    # holidays are in the calendar.
    promised_estimated = fields.Boolean(required=True)
    statutory_estimated = fields.Boolean(required=True)


DEADLINE = DeadlineSchema()
