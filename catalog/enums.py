"""Enumerations of the national element schema, with the Chinese labels users see."""

from __future__ import annotations

import enum


class LabelledEnum(enum.StrEnum):
    """A string enum whose members carry a Chinese label (and maybe a national code)."""

    label: str
    national_code: str

    def __new__(cls, value: str, label: str, national_code: str = ""):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        member.national_code = national_code
        return member

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(member.value, member.label) for member in cls]


class ItemType(LabelledEnum):
    licence = "licence", "行政许可", "01"
    punishment = "punishment", "行政处罚", "02"
    coercion = "coercion", "行政强制", "03"
    levy = "levy", "行政征收", "04"
    payment = "payment", "行政给付", "05"
    inspection = "inspection", "行政检查", "06"
    confirmation = "confirmation", "行政确认", "07"
    reward = "reward", "行政奖励", "08"
    adjudication = "adjudication", "行政裁决", "09"
    other = "other", "其他行政权力", "10"
    public_service = "public_service", "公共服务", "20"


# The item types the reform report counts (142 / 37 / 1 / 1 / 9), in report order.
REPORTED_TYPES: tuple[ItemType, ...] = (
    ItemType.licence,
    ItemType.confirmation,
    ItemType.reward,
    ItemType.adjudication,
    ItemType.other,
)


class Status(LabelledEnum):
    unpublished = "unpublished", "未发布"  # never published yet: a new item, until its first review
    published = "published", "已发布"
    retired = "retired", "已停用"


class ReviewState(LabelledEnum):
    """Where an item's pending revision (its draft) stands in review (审核); docs/review.md."""

    draft = "draft", "草稿"  # being edited; editors save into it
    submitted = "submitted", "待审核"  # the editor submitted it; a reviewer publishes or returns it
    returned = "returned", "退回修改"  # a reviewer sent it back with a note


class CaseType(LabelledEnum):
    instant = "instant", "即办件", "1"
    promised = "promised", "承诺件", "2"


class ExerciseLevel(LabelledEnum):
    national = "national", "国家级", "1"
    province = "province", "省级", "2"
    city = "city", "市级", "3"
    county = "county", "县级", "4"
    town = "town", "镇（乡、街道）级", "5"
    village = "village", "村（社区）级", "6"


class PowerSource(LabelledEnum):
    statutory = "statutory", "法定本级行使", "1"
    delegated = "delegated", "上级下放", "2"
    authorised_by_superior = "authorised_by_superior", "上级授权", "3"
    authorised_by_peer = "authorised_by_peer", "同级授权", "4"
    entrusted_by_superior = "entrusted_by_superior", "上级委托", "5"
    entrusted_by_peer = "entrusted_by_peer", "同级委托", "6"


class ServiceTarget(LabelledEnum):
    natural_person = "natural_person", "自然人", "1"
    enterprise = "enterprise", "企业法人", "2"
    institution = "institution", "事业法人", "3"
    social_org = "social_org", "社会组织法人", "4"
    unincorporated = "unincorporated", "非法人企业", "5"
    government = "government", "行政机关", "6"
    other_org = "other_org", "其他组织", "9"


class ResultType(LabelledEnum):
    certificate = "certificate", "证照", "1"
    approval_document = "approval_document", "批文", "2"
    other = "other", "其他", "3"


class HandlingForm(LabelledEnum):
    window = "window", "窗口办理", "1"
    online = "online", "网上办理", "2"
    express = "express", "快递申请", "3"


class OnlineDepth(enum.IntEnum):
    consultation = 1
    receipt = 2
    pre_review = 3
    acceptance = 4
    handling = 5
    result_feedback = 6
    e_licence = 7

    @property
    def label(self) -> str:
        return _DEPTH_LABELS[self]


_DEPTH_LABELS = {
    OnlineDepth.consultation: "互联网咨询",
    OnlineDepth.receipt: "互联网收件",
    OnlineDepth.pre_review: "互联网预审",
    OnlineDepth.acceptance: "互联网受理",
    OnlineDepth.handling: "互联网办理",
    OnlineDepth.result_feedback: "互联网办理结果信息反馈",
    OnlineDepth.e_licence: "互联网电子证照反馈",
}


class MaterialKind(LabelledEnum):
    original = "original", "原件"
    copy = "copy", "复印件"
    original_or_copy = "original_or_copy", "原件或复印件"


class MaterialForm(LabelledEnum):
    paper = "paper", "纸质", "1"
    electronic = "electronic", "电子化", "2"
    paper_or_electronic = "paper_or_electronic", "纸质/电子化", "3"


class Necessity(LabelledEnum):
    required = "required", "必要", "1"
    optional = "optional", "非必要", "2"
    deferred = "deferred", "容缺后补", "3"


class MaterialSource(LabelledEnum):
    applicant = "applicant", "申请人自备"
    government = "government", "政府部门核发"
    other = "other", "其他"


class AttachmentKind(LabelledEnum):
    """What a file attached to a material is (catalog.attachments)."""

    blank = "blank", "空白表格"
    sample = "sample", "示例样表"


# --- 双公示 decision records (issue 24; catalog.decisions) ---------------------------------


class LicenceCategory(LabelledEnum):
    """许可类别, as the 双公示 licence template lists them."""

    ordinary = "ordinary", "普通"
    franchise = "franchise", "特许"
    accreditation = "accreditation", "认可"
    approval = "approval", "核准"
    registration = "registration", "登记"
    other = "other", "其他"


class LicenceStatus(LabelledEnum):
    """Where a licence decision stands (当前状态)."""

    valid = "valid", "有效"
    revoked = "revoked", "撤销"
    cancelled = "cancelled", "注销"
    changed = "changed", "变更"


class PenaltyCategory(LabelledEnum):
    """处罚类别 (《行政处罚法》 article 9, as the 双公示 penalty template lists them)."""

    warning = "warning", "警告"
    criticism = "criticism", "通报批评"
    fine = "fine", "罚款"
    confiscation = "confiscation", "没收违法所得"
    licence_suspension = "licence_suspension", "暂扣或吊销许可证件"
    business_suspension = "business_suspension", "责令停产停业"
    other = "other", "其他"


class PenaltySeverity(LabelledEnum):
    """How 发改办财金〔2019〕527号 classes a penalty for its publication period."""

    general = "general", "一般失信行为"
    serious = "serious", "严重失信行为"


class PartyClass(LabelledEnum):
    """行政相对人类别."""

    organisation = "organisation", "法人及非法人组织"
    sole_trader = "sole_trader", "个体工商户"
    natural_person = "natural_person", "自然人"


class IdType(LabelledEnum):
    """证件类型 of a natural person; only the resident ID has a check digit we verify."""

    resident_id = "resident_id", "身份证"
    passport = "passport", "护照"
    hk_macao_permit = "hk_macao_permit", "港澳居民来往内地通行证"
    taiwan_permit = "taiwan_permit", "台湾居民来往大陆通行证"
    foreign_permanent = "foreign_permanent", "外国人永久居留身份证"
