"""What the public may see of a decision record: every public field, with a natural person's ID
number masked and any ID number written whole in a text masked too. Every public surface (the
pages, the JSON API, the CSV export) is built from PublicDecision and nothing else, so the
privacy rules live here once (docs/decisions.md, "Public pages and privacy")."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any

from catalog.decisions.columns import LICENCE, PENALTY  # the kinds, named once
from catalog.decisions.rules import mask_id_number, unmasked_id_numbers
from catalog.enums import (
    IdType,
    LicenceCategory,
    LicenceStatus,
    PartyClass,
    PenaltyCategory,
)

KIND_LABELS = {LICENCE: "行政许可", PENALTY: "行政处罚"}
# Classes of party the public may search by name and credit code (natural persons: never).
SEARCHABLE_CLASSES = (PartyClass.organisation, PartyClass.sole_trader)


def mask_text(text: str | None) -> str | None:
    """`text` with every resident ID number written whole in it masked: a 从业资格证's number
    is its holder's ID number, and a text saved before the free-text check would show one."""
    if not text:
        return text
    for number in unmasked_id_numbers(text):
        text = text.replace(number, mask_id_number(number))
    return text


@dataclass(frozen=True, slots=True)
class PublicDecision:
    """One decision as the public sees it. The fields of the other kind are None."""

    kind: str
    id: int
    document_number: str
    party_name: str
    party_class: PartyClass
    party_credit_code: str | None
    legal_representative: str | None
    party_id_type: IdType | None
    party_id_number: str | None  # masked (4110**********1234)
    decided_on: date
    published_on: date
    authority: str
    authority_credit_code: str
    data_source_unit: str
    category: str  # a LicenceCategory or PenaltyCategory value
    content: str
    # licence decisions
    item_code: str | None = None
    item_name: str | None = None
    situation: str | None = None
    certificate_name: str | None = None
    certificate_number: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    status: str | None = None  # a LicenceStatus value
    # penalty decisions
    violation_type: str | None = None
    violation_facts: str | None = None
    legal_basis: str | None = None
    fine_amount: Decimal | None = None
    confiscated_amount: Decimal | None = None
    affected_licence: str | None = None
    publication_ends_on: date | None = None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def category_label(self) -> str:
        categories = LicenceCategory if self.kind == LICENCE else PenaltyCategory
        return categories(self.category).label

    @property
    def status_label(self) -> str | None:
        return None if self.status is None else LicenceStatus(self.status).label

    @property
    def subject(self) -> str:
        """What it decides: the licence item, or the penalty's violation."""
        return (self.item_name if self.kind == LICENCE else self.violation_type) or ""

    @property
    def is_organisation(self) -> bool:
        """An organisation or sole trader with a credit code: it has a page of its own."""
        return self.party_class in SEARCHABLE_CLASSES and bool(self.party_credit_code)


FIELD_NAMES = tuple(field.name for field in fields(PublicDecision))
_MASKED_TEXTS = (
    "document_number", "party_name", "legal_representative", "content", "certificate_name",
    "certificate_number", "violation_type", "violation_facts", "legal_basis",
    "affected_licence",
)  # fmt: skip


def _enum_value(value: Any) -> Any:
    return getattr(value, "value", value)


def public_decision(kind: str, source: Any) -> PublicDecision:
    """The public view of a decision read from the database (a row of catalog.decisions.listing
    or an ORM record with the same attribute names). The one place where a record's fields
    become public: the ID number is masked, and so is any ID number inside a text."""
    values = {name: getattr(source, name, None) for name in FIELD_NAMES if name != "kind"}
    for name in _MASKED_TEXTS:
        values[name] = mask_text(values[name])
    number = values["party_id_number"]
    values["party_id_number"] = mask_id_number(number) if number else None
    values["party_class"] = PartyClass(_enum_value(values["party_class"]))
    if values["party_id_type"] is not None:
        values["party_id_type"] = IdType(_enum_value(values["party_id_type"]))
    values["category"] = _enum_value(values["category"])
    values["status"] = _enum_value(values["status"])
    return PublicDecision(kind=kind, **values)


def _day(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def amount_text(value: Decimal | None) -> str:
    """An amount in 万元 as written for people: 3, 0.15 (not 3.000000)."""
    return "" if value is None else format(value.normalize(), "f")


CSV_HEADER = (
    "类别", "决定文书号", "行政相对人名称", "行政相对人类别", "统一社会信用代码", "法定代表人",
    "证件类型", "证件号码", "事项编码", "事项名称（违法行为类型）", "许可类别（处罚类别）",
    "许可内容（处罚内容）", "许可证书名称", "许可证书编号", "有效期自", "有效期至", "状态",
    "违法事实", "处罚依据", "罚款金额（万元）", "没收违法所得金额（万元）", "暂扣或吊销证照",
    "决定日期", "公示日期", "公示截止日期", "决定机关", "决定机关统一社会信用代码",
    "数据来源单位",
)  # fmt: skip


def csv_row(decision: PublicDecision) -> list[str]:
    """One line of the CSV export, in CSV_HEADER's order (every value already public)."""
    d = decision
    licence = d.kind == LICENCE
    return [
        d.kind_label, d.document_number, d.party_name, d.party_class.label,
        d.party_credit_code or "", d.legal_representative or "",
        d.party_id_type.label if d.party_id_type else "", d.party_id_number or "",
        d.item_code or "", d.subject, d.category_label, d.content,
        d.certificate_name or "", d.certificate_number or "", _day(d.valid_from),
        ("长期" if licence and d.valid_until is None else _day(d.valid_until)),
        d.status_label or "", d.violation_facts or "", d.legal_basis or "",
        amount_text(d.fine_amount), amount_text(d.confiscated_amount), d.affected_licence or "",
        _day(d.decided_on), _day(d.published_on), _day(d.publication_ends_on), d.authority,
        d.authority_credit_code, d.data_source_unit,
    ]  # fmt: skip
