"""The OpenAPI 3.1 description of /api/v1, generated from the same schemas and limits the
endpoints use, so the document cannot drift from the code."""

from __future__ import annotations

from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from catalog.api.decision_schemas import add_decision_paths
from catalog.api.schemas import (
    DeadlineSchema,
    HitSchema,
    ItemSchema,
    UnitListSchema,
    UnitSchema,
    WindowSchema,
)
from catalog.enums import ItemType
from catalog.reports.schemas import (
    COMPARE_PARAMETERS,
    DECISIONS_UNIT_PARAMETER,
    DECISIONS_YEAR_PARAMETER,
    PROVENANCE_PARAMETERS,
    SCHEMAS,
    SNAPSHOT_PARAMETER,
)
from catalog.schemas import NO_FEE, FeeSchema, FeesField
from catalog.search import DEFAULT_LIMIT, MAX_LIMIT, MAX_QUERY_LENGTH, MAX_TERMS, Filters
from catalog.search.results import MAX_CURSOR_LENGTH

MAX_UNIT_LENGTH = 100
# No code, label or text of the catalog holds a NUL character: a parameter with one is a 400.
NO_NUL = "^[^\\x00]*$"
NUL_REFUSED = "参数含有 NUL 字符"


class FacetsSchema(Schema):
    type = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "事项类型 -> 业务办理项数"},
    )
    unit = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "承办机构 -> 业务办理项数"},
    )
    flags = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "no_visit / instant / no_fee / one_visit 的计数"},
    )


class ItemsPageSchema(Schema):
    items = fields.List(fields.Nested(HitSchema), required=True)
    total = fields.Integer(required=True)
    facets = fields.Nested(FacetsSchema, required=True)
    next = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "下一页的 cursor；没有下一页时为 null"},
    )


class ErrorBodySchema(Schema):
    status = fields.Integer(required=True)
    message = fields.String(required=True)
    details = fields.Dict()


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


def _fees_property(self, field: fields.Field, **kwargs: Any) -> dict:
    if isinstance(field, FeesField):
        choices = [
            {"type": "string", "enum": [NO_FEE]},
            {"type": "array", "items": {"$ref": "#/components/schemas/Fee"}},
        ]
        # null: not provided (catalog.elements), which is not "none" (不收费)
        return {"oneOf": [*choices, {"type": "null"}] if field.allow_none else choices}
    return {}


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(schema: str, description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _query(name: str, schema: dict, description: str, **extra: Any) -> dict:
    return {
        "in": "query",
        "name": name,
        "required": False,
        "schema": schema,
        "description": description,
        **extra,
    }


SEARCH_PARAMETERS = [
    _query(
        "q",
        {"type": "string", "maxLength": MAX_QUERY_LENGTH},
        "搜索词：中文（任意长度）、拼音全拼或首字母；多个词用空格分开，须同时匹配",
        example="网约车",
    ),
    _query("type", {"type": "string", "enum": [t.value for t in ItemType]}, "事项类型"),
    _query("unit", {"type": "string", "maxLength": MAX_UNIT_LENGTH}, "承办机构"),
    *[
        _query(flag, {"type": "string", "enum": ["0", "1", "true", "false"]}, label)
        for flag, label in zip(
            Filters.FLAGS,
            ("只看不见面办理", "只看即办件", "只看不收费", "只看最多跑一次"),
            strict=True,
        )
    ],
    _query("cursor", {"type": "string", "maxLength": MAX_CURSOR_LENGTH}, "上一页返回的 next"),
    _query(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        "每页条数",
    ),
]


@cache
def openapi_document() -> dict:
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title="许昌市交通运输局 政务服务事项目录 API",
        version="1",
        openapi_version="3.1.0",
        plugins=[plugin],
        info={
            "description": "公开的审批事项、业务办理项、办事指南与改革指标，"
            "以及双公示（行政许可与行政处罚决定，自然人证件号码一律脱敏）。"
            '错误一律为 {"error": {"status": …, "message": …}}；'
            "参数含有 NUL 字符时为 400，数据库暂时无法连接时为 503。"
        },
    )
    plugin.converter.add_attribute_function(_fees_property)
    for name, schema in (
        ("Fee", FeeSchema),
        ("Hit", HitSchema),
        ("Unit", UnitSchema),
        ("UnitList", UnitListSchema),
        ("Window", WindowSchema),  # before Item, which refers to it
        ("Item", ItemSchema),
        ("Facets", FacetsSchema),
        ("ItemsPage", ItemsPageSchema),
        ("Deadline", DeadlineSchema),
        ("Error", ErrorSchema),
        *SCHEMAS.items(),
    ):
        spec.components.schema(name, schema=schema)
    spec.path(
        "/api/v1/items",
        operations={
            "get": {
                "summary": "搜索已发布的业务办理项（分页、筛选、分面计数）",
                "parameters": SEARCH_PARAMETERS,
                "responses": {
                    "200": _json("ItemsPage", "一页结果"),
                    "400": _error(
                        f"参数有误：limit 不在1到{MAX_LIMIT}之间，"
                        f"搜索词超过{MAX_QUERY_LENGTH}个字符或{MAX_TERMS}个词，"
                        "cursor 不是上一页返回的 next，筛选值无效"
                    ),
                },
            }
        },
    )
    spec.path(
        "/api/v1/items/{code}",
        operations={
            "get": {
                "summary": "一个已发布事项及其业务办理项、申请材料和收费",
                "parameters": [
                    {
                        "in": "path",
                        "name": "code",
                        "required": True,
                        "schema": {"type": "string", "maxLength": 40},
                        "example": "XCJT-01-075",
                    }
                ],
                "responses": {
                    "200": _json("Item", "事项"),
                    "400": _error(NUL_REFUSED),
                    "404": _error("没有这个已发布事项"),
                },
            }
        },
    )
    spec.path(
        "/api/v1/handling-items/{code}/deadline",
        operations={
            "get": {
                "summary": "按申请日期计算承诺与法定办结日期（工作日，含调休）",
                "parameters": [
                    {
                        "in": "path",
                        "name": "code",
                        "required": True,
                        "schema": {"type": "string", "maxLength": 50},
                        "example": "XCJT-01-075-01",
                    },
                    {
                        "in": "query",
                        "name": "date",
                        "required": True,
                        "schema": {"type": "string", "format": "date"},
                        "example": "2026-09-30",
                    },
                ],
                "responses": {
                    "200": _json("Deadline", "办结日期"),
                    "400": _error("日期无效、超出节假日日历覆盖的年份，或编码含有 NUL 字符"),
                    "404": _error("没有这个已发布业务办理项"),
                },
            }
        },
    )
    spec.path(
        "/api/v1/units",
        operations={
            "get": {
                "summary": "各承办机构的办理窗口：窗口地址、咨询电话、办公时间、地图链接",
                "responses": {"200": _json("UnitList", "办理窗口"), "400": _error(NUL_REFUSED)},
            }
        },
    )
    spec.path(
        "/api/v1/units/{name}",
        operations={
            "get": {
                "summary": "一个承办机构的办理窗口",
                "parameters": [
                    {
                        "in": "path",
                        "name": "name",
                        "required": True,
                        "schema": {"type": "string", "maxLength": 50},
                        "example": "运输服务科",
                    }
                ],
                "responses": {
                    "200": _json("Unit", "办理窗口"),
                    "400": _error(NUL_REFUSED),
                    "404": _error("这个单位没有办理窗口记录"),
                },
            }
        },
    )
    spec.path(
        "/api/v1/report",
        operations={
            "get": {
                "summary": "改革指标报告（与 flask report --format json 相同，另含 decisions "
                "双公示统计），可指定快照",
                "parameters": [
                    SNAPSHOT_PARAMETER,
                    DECISIONS_YEAR_PARAMETER,
                    DECISIONS_UNIT_PARAMETER,
                ],
                "responses": {
                    "200": _json("Report", "报告"),
                    "400": _error(
                        "decisions_year 不是2000到2099之间的四位数字；"
                        "decisions_unit 超过100个字符；" + NUL_REFUSED
                    ),
                    "404": _error("没有这个快照；没有这个数据来源单位（或快照中没有它的统计）"),
                },
            }
        },
    )
    spec.path(
        "/api/v1/report/items",
        operations={
            "get": {
                "summary": "报告中一个数字背后的业务办理项（或审批事项）清单",
                "parameters": PROVENANCE_PARAMETERS,
                "responses": {
                    "200": _json("Provenance", "清单"),
                    "400": _error(
                        "参数有误：measure 或 type 不是可选值，unit 过长，page 超出清单的页数"
                    ),
                    "404": _error("没有这个快照"),
                },
            }
        },
    )
    spec.path(
        "/api/v1/report/compare",
        operations={
            "get": {
                "summary": "比较两个快照（或快照与当前目录）：指标变化与事项增删改",
                "parameters": COMPARE_PARAMETERS,
                "responses": {
                    "200": _json("Comparison", "比较结果"),
                    "400": _error("参数有误：缺少 from，或 from 与 to 是同一个快照"),
                    "404": _error("没有这个快照"),
                },
            }
        },
    )
    spec.path(
        "/api/v1/snapshots",
        operations={
            "get": {
                "summary": "全部报告快照（按生成时间）",
                "responses": {"200": _json("SnapshotList", "快照"), "400": _error(NUL_REFUSED)},
            }
        },
    )
    add_decision_paths(spec, error=_error, json=_json, query=_query)  # issue 24
    document = spec.to_dict()
    _refuse_nul_in_text_parameters(document)
    _empty_choice_is_unset(document)
    return document


def _empty_choice_is_unset(document: dict) -> None:
    """A choice sent empty (`type=`, as a form's "全部" sends it) is taken as not given: the
    document lists "" among the values of every query parameter with a list of values."""
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                if parameter["in"] == "query" and "" not in schema.get("enum", [""]):
                    parameter["schema"] = {**schema, "enum": ["", *schema["enum"]]}


def _refuse_nul_in_text_parameters(document: dict) -> None:
    """Every free-text parameter says it takes no NUL character (the app answers 400)."""
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                if schema.get("type") == "string" and not {"enum", "format"} & set(schema):
                    parameter["schema"] = {**schema, "pattern": NO_NUL}
