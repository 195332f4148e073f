"""The JSON shapes of the public decision records (issue 24) and their part of the OpenAPI
document: the schemas the endpoints dump with are the ones the document describes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import url_for
from marshmallow import Schema, fields

from catalog.decisions import filters as limits
from catalog.decisions import listing, search
from catalog.decisions.publication import LICENCE, PENALTY, PublicDecision
from catalog.enums import IdType, LicenceCategory, LicenceStatus, PartyClass, PenaltyCategory

AMOUNT_PATTERN = r"^\d+(\.\d+)?$"


def _choice(enum, description: str, **kwargs: Any) -> fields.String:
    labels = "；".join(f"{member.value}：{member.label}" for member in enum)
    values = [m.value for m in enum] + ([None] if kwargs.get("allow_none") else [])
    return fields.String(
        metadata={"enum": values, "description": f"{description}（{labels}）"}, **kwargs
    )


def _text(description: str, nullable: bool = True) -> fields.String:
    return fields.String(required=True, allow_none=nullable, metadata={"description": description})


def _day(description: str, nullable: bool = True) -> fields.Date:
    return fields.Date(required=True, allow_none=nullable, metadata={"description": description})


class DecisionSchema(Schema):
    """One public decision. A natural person's ID number is masked (4110**********1234); the
    fields of the other kind are null."""

    kind = fields.String(
        required=True,
        metadata={
            "enum": [LICENCE, PENALTY],
            "description": "licence：行政许可决定；penalty：行政处罚决定",
        },
    )
    id = fields.Integer(required=True)
    url = _text("本条记录的数据接口地址", nullable=False)
    page_url = _text("本条记录的公开页面地址", nullable=False)
    document_number = _text("决定文书号", nullable=False)
    party_name = _text("行政相对人名称", nullable=False)
    party_class = _choice(PartyClass, "行政相对人类别", required=True)
    party_credit_code = _text("统一社会信用代码（自然人为 null）")
    organisation_url = _text("该单位全部公示决定的数据接口地址（自然人为 null）")
    legal_representative = _text("法定代表人")
    party_id_type = _choice(IdType, "证件类型（自然人）", required=True, allow_none=True)
    party_id_number = _text("证件号码（自然人），已脱敏：只显示前4位和后4位")
    decided_on = _day("决定日期", nullable=False)
    published_on = _day("公示日期", nullable=False)
    authority = _text("决定机关", nullable=False)
    authority_credit_code = _text("决定机关统一社会信用代码", nullable=False)
    data_source_unit = _text("数据来源单位", nullable=False)
    category = fields.String(
        required=True,
        metadata={
            "enum": [c.value for c in LicenceCategory] + [c.value for c in PenaltyCategory],
            "description": "许可类别（"
            + "；".join(f"{c.value}：{c.label}" for c in LicenceCategory)
            + "）或处罚类别（"
            + "；".join(f"{c.value}：{c.label}" for c in PenaltyCategory)
            + "）",
        },
    )
    content = _text("许可内容或处罚内容", nullable=False)
    item_code = _text("许可事项编码")
    item_name = _text("许可事项名称")
    situation = _text("办理情形")
    certificate_name = _text("许可证书名称")
    certificate_number = _text("许可证书编号（其中的身份证号码已脱敏）")
    valid_from = _day("有效期自")
    valid_until = _day("有效期至（许可决定为 null 时：长期）")
    status = _choice(LicenceStatus, "许可状态", required=True, allow_none=True)
    violation_type = _text("违法行为类型")
    violation_facts = _text("违法事实")
    legal_basis = _text("处罚依据")
    fine_amount = fields.String(
        required=True,
        allow_none=True,
        metadata={"pattern": AMOUNT_PATTERN, "description": "罚款金额（万元）"},
    )
    confiscated_amount = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "pattern": AMOUNT_PATTERN,
            "description": "没收违法所得、没收非法财物的金额（万元）",
        },
    )
    affected_licence = _text("暂扣或吊销的证照（其中的身份证号码已脱敏）")
    publication_ends_on = _day("公示截止日期（处罚决定）")


class DecisionPageSchema(Schema):
    decisions = fields.List(fields.Nested(DecisionSchema), required=True)
    total = fields.Integer(
        required=True,
        metadata={"description": "符合条件的决定总数；total_exact 为 false 时，实际数量超过此数"},
    )
    total_exact = fields.Boolean(
        required=True,
        metadata={
            "description": f"总数是否确切：搜索时只数到 {search.SEARCH_COUNT_LIMIT:,} 条，"
            f"不搜索时数到 {listing.COUNT_LIMIT:,} 条，超过时为 false"
        },
    )
    next = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "下一页的 cursor；没有下一页时为 null"},
    )


class OrganisationSchema(Schema):
    credit_code = _text("统一社会信用代码", nullable=False)
    name = _text("名称（最近一条决定所载）", nullable=False)
    party_class = _choice(PartyClass, "类别", required=True)
    page_url = _text("公开页面地址", nullable=False)
    licences = fields.List(
        fields.Nested(DecisionSchema),
        required=True,
        metadata={"description": f"行政许可决定，最近的{listing.ORGANISATION_ROWS}条"},
    )
    penalties = fields.List(
        fields.Nested(DecisionSchema),
        required=True,
        metadata={"description": f"公示中的行政处罚决定，最近的{listing.ORGANISATION_ROWS}条"},
    )
    more_licences = fields.Boolean(
        required=True,
        metadata={
            "description": "是否还有更早的许可决定（见 /api/v1/decisions?q=统一社会信用代码）"
        },
    )
    more_penalties = fields.Boolean(required=True)


DECISION = DecisionSchema()
DECISION_PAGE = DecisionPageSchema()
ORGANISATION = OrganisationSchema()


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def plain(decision: PublicDecision) -> dict[str, Any]:
    """A PublicDecision in the schema's terms: enum values, amounts as text, the URLs."""
    endpoint = "licence" if decision.kind == LICENCE else "penalty"
    values = {name: getattr(decision, name, None) for name in DecisionSchema._declared_fields}
    values.update(
        url=url_for(f"decisions_api.{endpoint}", decision_id=decision.id),
        page_url=url_for(f"decisions.{endpoint}", decision_id=decision.id),
        organisation_url=url_for(
            "decisions_api.organisation", credit_code=decision.party_credit_code
        )
        if decision.is_organisation
        else None,
        party_class=decision.party_class.value,
        party_id_type=decision.party_id_type.value if decision.party_id_type else None,
        fine_amount=_amount(decision.fine_amount),
        confiscated_amount=_amount(decision.confiscated_amount),
    )
    return values


def dump_decision(decision: PublicDecision) -> dict[str, Any]:
    return DECISION.dump(plain(decision))


def _path(name: str, schema: dict, example: str) -> dict:
    return {"in": "path", "name": name, "required": True, "schema": schema, "example": example}


def add_decision_paths(spec, error, json, query) -> None:
    """The decision records' schemas and endpoints, in the API's OpenAPI document."""
    for name, schema in (
        ("Decision", DecisionSchema),
        ("DecisionPage", DecisionPageSchema),
        ("Organisation", OrganisationSchema),
    ):
        spec.components.schema(name, schema=schema)
    parameters = [
        query(
            "q",
            {"type": "string", "maxLength": limits.MAX_QUERY_LENGTH},
            "搜索词：单位或个体工商户的名称（部分）、统一社会信用代码（18位）、决定文书号（部分）、"
            "许可事项名称或违法行为类型（部分）。自然人不能按姓名或证件号码查询",
            example="运输",
        ),
        query(
            "kind",
            {"type": "string", "enum": [LICENCE, PENALTY]},
            "类别：licence 行政许可，penalty 行政处罚",
        ),
        query(
            "year",
            {"type": "integer", "minimum": limits.FIRST_YEAR, "maximum": limits.LAST_YEAR},
            "决定日期的年份",
            example=2020,
        ),
        query("unit", {"type": "string", "maxLength": limits.MAX_UNIT_LENGTH}, "数据来源单位"),
        query(
            "status",
            {"type": "string", "enum": [s.value for s in LicenceStatus]},
            "许可状态（只查许可决定）",
        ),
        query(
            "item",
            {"type": "string", "maxLength": limits.MAX_ITEM_CODE_LENGTH},
            "行政许可事项编码（只查该事项的许可决定）",
        ),
        query(
            "category",
            {"type": "string", "enum": [c.value for c in PenaltyCategory]},
            "处罚类别（只查处罚决定）："
            + "，".join(f"{c.value} {c.label}" for c in PenaltyCategory),
        ),
        query(
            "late",
            {"type": "string", "enum": ["0", "1"]},
            "1：逾期公示（公示日期晚于决定后第7个工作日）；0：按时公示",
        ),
        query(
            "cursor",
            {"type": "string", "maxLength": limits.MAX_CURSOR_LENGTH},
            "上一页返回的 next",
        ),
        query(
            "limit",
            {
                "type": "integer",
                "minimum": 1,
                "maximum": limits.MAX_LIMIT,
                "default": limits.DEFAULT_LIMIT,
            },
            "每页条数",
        ),
    ]
    spec.path(
        "/api/v1/decisions",
        operations={
            "get": {
                "summary": "双公示：已公示的行政许可与行政处罚决定（搜索、筛选、分页；最新的在前）",
                "parameters": parameters,
                "responses": {
                    "200": json("DecisionPage", "一页决定"),
                    "400": error(
                        "参数有误：year 不是四位年份，status 或 item 与 kind=penalty 同用，"
                        "item 不是行政许可事项，cursor 不是上一页返回的 next，limit 超出范围"
                    ),
                },
            }
        },
    )
    decision_id = _path("decision_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}, "1")
    for kind, plural, label in (
        (LICENCE, "licences", "行政许可决定"),
        (PENALTY, "penalties", "公示中的行政处罚决定"),
    ):
        spec.path(
            f"/api/v1/decisions/{plural}/{{decision_id}}",
            operations={
                "get": {
                    "summary": f"一条{label}（自然人的证件号码已脱敏）",
                    "parameters": [decision_id],
                    "responses": {
                        "200": json("Decision", label),
                        "404": error(listing.NOT_PUBLIC[kind]),
                    },
                },
            },
        )
    spec.path(
        "/api/v1/organisations/{credit_code}",
        operations={
            "get": {
                "summary": "一个单位（或个体工商户）的全部已公示许可决定与公示中的处罚决定",
                "parameters": [
                    _path("credit_code", {"type": "string", "maxLength": 30}, "91411000MA74TF1LAN")
                ],
                "responses": {
                    "200": json("Organisation", "单位及其决定"),
                    "400": error("统一社会信用代码无效（GB 32100-2015 校验）"),
                    "404": error("没有这个单位的公示决定"),
                },
            }
        },
    )
