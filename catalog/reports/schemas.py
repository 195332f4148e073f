"""The shapes of the report's JSON (the report document, the list behind a count, a comparison,
the snapshots), described for the OpenAPI document."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from catalog.decisions.filters import MAX_UNIT_LENGTH
from catalog.enums import REPORTED_TYPES
from catalog.report import SHARES
from catalog.reports.measures import ITEMS, MEASURES
from catalog.reports.queries import MAX_PAGE, MAX_UNIT
from catalog.reports.snapshots import BASELINE_LABEL, MAX_LABEL


class ShareSchema(Schema):
    count = fields.Integer(required=True)
    total = fields.Integer(required=True)
    percent = fields.Float(required=True, allow_none=True, metadata={"description": "0/0 为 null"})


class CompressionSchema(Schema):
    statutory_days = fields.Integer(required=True)
    promised_days = fields.Integer(required=True)
    handling_items = fields.Integer(required=True)
    percent = fields.Float(required=True, allow_none=True)


class ItemCountsSchema(Schema):
    total = fields.Integer(required=True)
    by_type = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class HandlingCountsSchema(Schema):
    total = fields.Integer(required=True)
    with_statutory_limit = fields.Integer(required=True)


class ExceptionsSchema(Schema):
    count = fields.Integer(required=True)
    handling_items = fields.List(fields.String(), required=True)


class ElementGapsSchema(Schema):
    key = fields.String(required=True, metadata={"description": "要素键，如 implementing_body"})
    label = fields.String(required=True, metadata={"description": "国家规定的要素名称"})
    level = fields.String(
        required=True, validate=validate.OneOf(["item", "handling_item"]),
        metadata={"description": "item：事项的要素（计入该事项的每个业务办理项）"},
    )  # fmt: skip
    count = fields.Integer(required=True, metadata={"description": "缺少该要素的业务办理项数"})
    measure = fields.String(required=True, metadata={"description": "清单的 measure 参数"})


class DataQualitySchema(Schema):
    handling_items = fields.Integer(required=True)
    complete = fields.Integer(required=True, metadata={"description": "要素齐全的业务办理项"})
    incomplete = fields.Integer(required=True)
    percent = fields.Float(
        required=True, allow_none=True, metadata={"description": "要素完整率；0/0 为 null"}
    )
    elements = fields.List(fields.Nested(ElementGapsSchema), required=True)


def _section_fields() -> dict[str, fields.Field]:
    return {
        "items": fields.Nested(ItemCountsSchema, required=True),
        "handling_items": fields.Nested(HandlingCountsSchema, required=True),
        **{key: fields.Nested(ShareSchema, required=True) for key, _label, _a in SHARES},
        "compression": fields.Nested(CompressionSchema, required=True),
        "policy_exceptions": fields.Dict(
            keys=fields.String(), values=fields.Nested(ExceptionsSchema), required=True
        ),
    }


GroupSchema = Schema.from_dict(
    {"key": fields.String(required=True), "label": fields.String(required=True),
     **_section_fields()},
    name="ReportGroup",
)  # fmt: skip


class BreakdownsSchema(Schema):
    by_type = fields.List(fields.Nested(GroupSchema), required=True)
    by_unit = fields.List(fields.Nested(GroupSchema), required=True)


class LateDecisionSchema(Schema):
    document_number = fields.String(required=True)
    decided_on = fields.String(required=True, metadata={"description": "决定日期 YYYY-MM-DD"})
    published_on = fields.String(required=True)
    publish_by = fields.String(required=True, metadata={"description": "应公示截止（第7个工作日）"})


class ItemDecisionsSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    count = fields.Integer(required=True)


class CategorySchema(Schema):
    key = fields.String(required=True, metadata={"description": "处罚类别，/decisions 的 category"})
    label = fields.String(required=True)
    count = fields.Integer(required=True)
    fine_total = fields.Float(required=True, metadata={"description": "万元"})
    confiscated_total = fields.Float(required=True, metadata={"description": "万元"})


def _kind_fields() -> dict[str, fields.Field]:
    return {
        "total": fields.Integer(required=True),
        "on_time": fields.Nested(ShareSchema, required=True),
        "late": fields.List(
            fields.Nested(LateDecisionSchema),
            required=True,
            metadata={"description": "逾期公示的决定，按决定日期排列的前 50 条（旧快照：全部）"},
        ),
        "late_total": fields.Integer(
            metadata={
                "description": "逾期公示的决定条数（2026-12 之前的快照没有此项：即 late 的条数）"
            }
        ),
        "late_list": fields.String(
            metadata={
                "description": "全部逾期公示决定的公开列表（/api/v1/decisions，今日公开的部分）"
            }
        ),
    }


LicenceFiguresSchema = Schema.from_dict(
    {**_kind_fields(), "licence_items": fields.Integer(required=True),
     "with_decisions": fields.Integer(required=True),
     "by_item": fields.List(fields.Nested(ItemDecisionsSchema), required=True, metadata={
         "description": "有许可决定的事项，按决定数从多到少的前 200 项（共 with_decisions 项）"}),
     "without_decisions": fields.List(fields.String(), required=True, metadata={
         "description": "没有许可决定的行政许可事项编码，按编码排列的前 50 项（旧快照：全部）"}),
     "without_decisions_total": fields.Integer(metadata={
         "description": "没有许可决定的事项数（旧快照没有此项：即 without_decisions 的项数）"}),
     "without_decisions_list": fields.String(metadata={
         "description": "全部没有许可决定的事项的分页页面"})},
    name="LicenceFigures",
)  # fmt: skip
PenaltyFiguresSchema = Schema.from_dict(
    {**_kind_fields(), "fine_total": fields.Float(required=True),
     "by_category": fields.List(fields.Nested(CategorySchema), required=True)},
    name="PenaltyFigures",
)  # fmt: skip


class DecisionUnitSchema(Schema):
    unit = fields.String(required=True)
    licence = fields.Integer(required=True)
    penalty = fields.Integer(required=True)
    on_time = fields.Nested(ShareSchema, required=True)


class DecisionReportSchema(Schema):
    title = fields.String(required=True)
    year = fields.Integer(required=True)
    unit = fields.String(
        required=True, allow_none=True,
        metadata={"description": "数据来源单位；null 为全部单位"},
    )  # fmt: skip
    licence = fields.Nested(LicenceFiguresSchema, required=True)
    penalty = fields.Nested(PenaltyFiguresSchema, required=True)
    by_unit = fields.List(fields.Nested(DecisionUnitSchema), required=True)


def _hidden_kind(keys: str, description: str) -> dict[str, fields.Field]:
    return {
        "total": fields.Integer(required=True),
        "on_time": fields.Integer(required=True),
        "late": fields.Integer(required=True),
        keys: fields.Dict(
            keys=fields.String(), values=fields.Integer(), required=True,
            metadata={"description": description},
        ),
    }  # fmt: skip


class HiddenUnitSchema(Schema):
    licence = fields.Integer(required=True)
    penalty = fields.Integer(required=True)
    on_time = fields.Integer(required=True)


class NotPublicSchema(Schema):
    total = fields.Integer(required=True)
    licence = fields.Nested(
        Schema.from_dict(_hidden_kind("by_item", "事项编码 → 条数（只列非零的）"),
                         name="NotPublicLicence"),
        required=True,
    )  # fmt: skip
    penalty = fields.Nested(
        Schema.from_dict(_hidden_kind("by_category", "处罚类别 → 条数（只列非零的）"),
                         name="NotPublicPenalty"),
        required=True,
    )  # fmt: skip
    by_unit = fields.Dict(
        keys=fields.String(), values=fields.Nested(HiddenUnitSchema), required=True,
        metadata={"description": "数据来源单位 → 条数（只列有的）"},
    )  # fmt: skip


class DecisionsSectionSchema(Schema):
    year = fields.Integer(
        required=True, allow_none=True,
        metadata={"description": "统计的决定年份：decisions_year，默认为有决定的最近一年"},
    )  # fmt: skip
    years = fields.List(
        fields.Integer(), required=True,
        metadata={"description": "从最早到最近一个有决定的年份"},
    )  # fmt: skip
    unit = fields.String(
        required=True, allow_none=True,
        metadata={"description": "统计的数据来源单位：decisions_unit；null 为全部单位"},
    )  # fmt: skip
    units = fields.List(
        fields.String(), required=True,
        metadata={"description": "可选的数据来源单位（decisions_unit 的取值）：该年有决定的单位和"
                  "承办行政许可事项的单位；快照为生成时的全部单位"},
    )  # fmt: skip
    report = fields.Nested(
        DecisionReportSchema, required=True, allow_none=True,
        metadata={"description": "同 flask decisions report --format json；该年无决定为 null"},
    )  # fmt: skip
    not_public = fields.Nested(
        NotPublicSchema, required=True, allow_none=True,
        metadata={"description": "report 的各个数字中，今天不在公开列表 /decisions 中的决定条数"
                  "（公示期满或信用修复的处罚决定、公示日期在今天之后的决定）：数字 = 公开列表的"
                  "条数 + 此数。只用于当前统计；快照和无决定的年份为 null"},
    )  # fmt: skip


class SnapshotRefSchema(Schema):
    label = fields.String(required=True)
    created_at = fields.String(required=True)
    note = fields.String(allow_none=True)


ReportSchema = Schema.from_dict(
    {
        "title": fields.String(required=True),
        "generated_at": fields.String(required=True),
        "fingerprint": fields.String(
            required=True,
            metadata={
                "description": "数据指纹：sha256-sum:…（第2版，逐行摘要之和）；"
                "2026年12月前的快照为 sha256:…（第1版，整体摘要）。同一版本的指纹相同即数据相同。"
            },
        ),
        "snapshot": fields.Nested(SnapshotRefSchema, required=True, allow_none=True),
        **_section_fields(),
        "data_quality": fields.Nested(
            DataQualitySchema,
            required=True,
            allow_none=True,
            metadata={"description": "数据质量（要素完整率）；快照的冻结数据不含全部要素时为 null"},
        ),
        "breakdowns": fields.Nested(BreakdownsSchema, required=True),
        "decisions": fields.Nested(
            DecisionsSectionSchema,
            required=True,
            allow_none=True,
            metadata={
                "description": "双公示：决定年份的全部许可、处罚决定的统计（快照为生成时的统计）；"
                "本项出现之前生成的快照为 null"
            },
        ),
    },
    name="Report",
)


class ProvenanceSchema(Schema):
    measure = fields.String(required=True)
    label = fields.String(required=True)
    type = fields.String(required=True, allow_none=True)
    unit = fields.String(required=True, allow_none=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    limited = fields.Integer(required=True)
    statutory_days = fields.Integer(required=True)
    promised_days = fields.Integer(required=True)
    rows = fields.List(fields.Dict(), required=True)


class ComparedSideSchema(Schema):
    label = fields.String(required=True)
    fingerprint = fields.String(required=True)
    generated_at = fields.String(required=True)


class RatioChangeSchema(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    change = fields.Float(required=True, allow_none=True, metadata={"description": "百分点"})
    from_ = fields.Dict(required=True, data_key="from")
    to = fields.Dict(required=True)


class ItemRefSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class FieldChangeSchema(Schema):
    field = fields.String(required=True)
    old = fields.Raw(required=True, allow_none=True)
    new = fields.Raw(required=True, allow_none=True)


class ChangedItemSchema(ItemRefSchema):
    changes = fields.List(fields.Nested(FieldChangeSchema), required=True)


class ItemChangesSchema(Schema):
    added = fields.List(fields.Nested(ItemRefSchema), required=True)
    removed = fields.List(fields.Nested(ItemRefSchema), required=True)
    changed = fields.List(fields.Nested(ChangedItemSchema), required=True)


class ComparisonSchema(Schema):
    from_ = fields.Nested(ComparedSideSchema, required=True, data_key="from")
    to = fields.Nested(ComparedSideSchema, required=True)
    ratios = fields.List(fields.Nested(RatioChangeSchema), required=True)
    items = fields.Nested(ItemChangesSchema, required=True)


class SnapshotInfoSchema(Schema):
    label = fields.String(required=True)
    created_at = fields.String(required=True)
    created_by = fields.String(required=True)
    note = fields.String(required=True, allow_none=True)
    fingerprint = fields.String(required=True)


class SnapshotListSchema(Schema):
    snapshots = fields.List(fields.Nested(SnapshotInfoSchema), required=True)


SCHEMAS = {
    "Share": ShareSchema,
    "Report": ReportSchema,
    "Provenance": ProvenanceSchema,
    "Comparison": ComparisonSchema,
    "SnapshotList": SnapshotListSchema,
}

DECISIONS_UNIT_PARAMETER = {
    "in": "query",
    "name": "decisions_unit",
    "required": False,
    "schema": {"type": "string", "maxLength": MAX_UNIT_LENGTH},
    "description": "双公示统计只计这个数据来源单位的决定（取值见 decisions.units）；省略为全部单位",
    "example": "行政审批服务科",
}
DECISIONS_YEAR_PARAMETER = {
    "in": "query",
    "name": "decisions_year",
    "required": False,
    "schema": {"type": "integer", "minimum": 2000, "maximum": 2099},
    "description": "双公示统计的决定年份；省略为有决定的最近一年",
    "example": 2020,
}
SNAPSHOT_PARAMETER = {
    "in": "query",
    "name": "snapshot",
    "required": False,
    "schema": {"type": "string", "maxLength": MAX_LABEL},
    "description": "快照名称；省略或 current 为当前已发布的目录",
    "example": BASELINE_LABEL,
}
PROVENANCE_PARAMETERS = [
    SNAPSHOT_PARAMETER,
    {"in": "query", "name": "measure", "required": False,
     "schema": {"type": "string", "enum": [ITEMS, *MEASURES], "default": "all"},
     "description": "哪个数字背后的清单；items 为审批事项本身"},
    {"in": "query", "name": "type", "required": False,
     "schema": {"type": "string", "enum": [t.value for t in REPORTED_TYPES]}},
    {"in": "query", "name": "unit", "required": False,
     "schema": {"type": "string", "maxLength": MAX_UNIT}},
    {"in": "query", "name": "page", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}},
]  # fmt: skip
COMPARE_PARAMETERS = [
    {"in": "query", "name": "from", "required": True,
     "schema": {"type": "string", "maxLength": MAX_LABEL}, "example": BASELINE_LABEL},
    {"in": "query", "name": "to", "required": False,
     "schema": {"type": "string", "maxLength": MAX_LABEL, "default": "current"}},
]  # fmt: skip
