"""The fields of a licence and a penalty decision as staff see them: the form's labels and the
双公示 spreadsheet template's column headers are the same words, written here once. The keys
are the fields catalog.decisions.checks reads; the rules themselves are there, not here."""

from __future__ import annotations

from dataclasses import dataclass

from catalog.enums import (
    IdType,
    LabelledEnum,
    LicenceCategory,
    LicenceStatus,
    PartyClass,
    PenaltyCategory,
    PenaltySeverity,
)

LICENCE, PENALTY = "licence", "penalty"
KIND_LABELS = {LICENCE: "行政许可决定", PENALTY: "行政处罚决定"}
TEXT, AREA, CHOICE, DATE, AMOUNT = "text", "area", "choice", "date", "amount"


@dataclass(frozen=True)
class Column:
    key: str  # the field catalog.decisions.checks reads
    header: str  # the form's label and the template's column header
    required: bool = False  # the template marks it with *; the rule itself is in checks
    widget: str = TEXT
    enum: type[LabelledEnum] | None = None
    hint: str = ""


def _party() -> tuple[Column, ...]:
    return (
        Column("party_name", "行政相对人名称", True),
        Column("party_class", "行政相对人类别", True, CHOICE, PartyClass),
        Column("party_credit_code", "统一社会信用代码", hint="法人及非法人组织必填，18位"),
        Column("legal_representative", "法定代表人", hint="自然人不填"),
        Column("party_id_type", "证件类型", widget=CHOICE, enum=IdType, hint="仅自然人填写"),
        Column("party_id_number", "证件号码", hint="仅自然人填写；身份证按 GB 11643 校验"),
    )


def _authority(word: str) -> tuple[Column, ...]:
    return (
        Column("authority", f"{word}机关", True),
        Column("authority_credit_code", f"{word}机关统一社会信用代码", True),
        Column("data_source_unit", "数据来源单位", True),
        Column("published_on", "公示日期", True, DATE, hint="决定之日起7个工作日内公示"),
    )


COLUMNS: dict[str, tuple[Column, ...]] = {
    LICENCE: (
        Column("document_number", "行政许可决定文书号", True),
        Column("item", "事项编码", True, hint="目录中的行政许可事项"),
        Column("handling_item", "业务办理项编码", hint="可不填"),
        Column("category", "许可类别", True, CHOICE, LicenceCategory),
        Column("certificate_name", "许可证书名称"),
        Column("certificate_number", "许可证书编号"),
        Column("content", "许可内容", True, AREA),
        *_party(),
        Column("decided_on", "许可决定日期", True, DATE),
        Column("valid_from", "有效期自", True, DATE),
        Column("valid_until", "有效期至", widget=DATE, hint="空为长期"),
        *_authority("许可"),
        Column("status", "当前状态", widget=CHOICE, enum=LicenceStatus, hint="空为有效"),
    ),
    PENALTY: (
        Column("document_number", "行政处罚决定书文号", True),
        Column("violation_type", "违法行为类型", True),
        Column("violation_facts", "违法事实", True, AREA),
        Column("legal_basis", "处罚依据", True, AREA),
        Column("category", "处罚类别", True, CHOICE, PenaltyCategory),
        Column("content", "处罚内容", True, AREA),
        Column("fine_amount", "罚款金额（万元）", widget=AMOUNT),
        Column("confiscated_amount", "没收违法所得、没收非法财物的金额（万元）", widget=AMOUNT),
        Column("affected_licence", "暂扣或吊销证照名称及编号"),
        *_party(),
        Column("decided_on", "处罚决定日期", True, DATE),
        *_authority("处罚"),
        Column("severity", "失信程度", True, CHOICE, PenaltySeverity),
        Column("publication_ends_on", "公示截止日期", widget=DATE, hint="空则按最长公示期限"),
    ),
}
HEADERS = {kind: {c.key: c.header for c in columns} for kind, columns in COLUMNS.items()}
# The header row of a sheet of this kind holds these (catalog.import_headers.SIGNATURES).
SIGNATURES = {
    LICENCE: ("行政许可决定文书号", "许可决定日期"),
    PENALTY: ("行政处罚决定书文号", "处罚决定日期"),
}
# Columns of the national 双公示 templates this catalog does not keep: read as ignored, so a
# file made from those templates imports without a mapping.
IGNORED_HEADERS = (
    "行政许可决定文书名称", "行政处罚决定书名称", "行政相对人代码_2(工商注册号)",
    "行政相对人代码_3(组织机构代码)", "行政相对人代码_4(税务登记号)",
    "行政相对人代码_5(事业单位证书号)", "行政相对人代码_6(社会组织登记证号)",
    "法定代表人证件类型", "法定代表人证件号码", "数据来源单位统一社会信用代码",
    "处罚有效期", "备注", "序号",
)  # fmt: skip
