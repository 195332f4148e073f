"""Every rule of a decision record's fields, checked at once: the cleaned values, or Invalid
naming each field that breaks a rule (in Chinese). The one place these rules are written;
catalog.decisions.operations calls it for the staff forms, the importer and the seed alike."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from catalog.deadlines import CalendarRangeError
from catalog.decisions import rules
from catalog.decisions.columns import HEADERS, LICENCE, PENALTY
from catalog.decisions.lookups import Lookups
from catalog.domain import Invalid
from catalog.enums import (
    IdType,
    ItemType,
    LabelledEnum,
    LicenceCategory,
    LicenceStatus,
    PartyClass,
    PenaltyCategory,
    PenaltySeverity,
)
from catalog.extensions import db
from catalog.models import LicenceDecision, PenaltyDecision
from catalog.models import decisions as bounds
from catalog.schemas import CONTROL_CHARACTERS_MESSAGE, has_control_characters

Errors = dict[str, list[str]]

# A field is named in a message by its form label and template header (columns.py).
LABELS, PENALTY_LABELS = HEADERS[LICENCE], HEADERS[PENALTY]

# Free text where a whole resident ID number is refused (rules.unmasked_id_numbers). Not the
# certificate numbers: a 从业资格证's number is its holder's ID number; pages mask those.
FREE_TEXT = (
    "document_number", "party_name", "legal_representative", "content", "certificate_name",
    "violation_type", "violation_facts", "legal_basis",
)  # fmt: skip
MAX_LENGTHS = {
    "document_number": bounds.MAX_DOCUMENT_NUMBER,
    "party_name": bounds.MAX_NAME,
    "certificate_name": bounds.MAX_NAME,
    "certificate_number": bounds.MAX_NAME,
    "violation_type": bounds.MAX_NAME,
    "affected_licence": bounds.MAX_NAME,
    "legal_representative": bounds.MAX_PERSON,
    "party_id_number": bounds.MAX_ID_NUMBER,
    "authority": bounds.MAX_AUTHORITY,
    "data_source_unit": bounds.MAX_AUTHORITY,
    "party_credit_code": bounds.MAX_CODE + 4,  # spaces and dashes are taken out
    "authority_credit_code": bounds.MAX_CODE + 4,
}
AMOUNT_LIMIT = Decimal("9999999999")  # 万元; Numeric(16, 6) holds ten digits before the point


def credit_code_form(text: str) -> str:
    """A credit code as it is kept: without the spaces and dashes people write in it, in
    capitals (an import matches a row to its record by this form too)."""
    return text.strip().replace(" ", "").replace("-", "").upper()


def invalid(errors: Errors, labels: Mapping[str, str] = LABELS) -> Invalid:
    """Invalid whose message names each field (a command prints it; a form shows each
    message beside its field)."""
    refusal = Invalid(errors)
    refusal.message = "；".join(
        f"{labels.get(field, field)}：{' '.join(messages)}" for field, messages in errors.items()
    )
    return refusal


class _Reader:
    """Reads a submitted record's fields into Python values, collecting every error."""

    def __init__(self, data: Mapping[str, Any], labels: Mapping[str, str]):
        self.data, self.labels, self.errors = data, labels, {}

    def fail(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def text(self, field: str, *, required: bool = True) -> str | None:
        value = self.data.get(field)
        value = "" if value is None else str(value).strip()
        limit = MAX_LENGTHS.get(field, bounds.MAX_TEXT)
        if not value:
            if required:
                self.fail(field, f"请填写{self.labels[field]}。")
            return None
        if has_control_characters(value):
            self.fail(field, CONTROL_CHARACTERS_MESSAGE)
        elif len(value) > limit:
            self.fail(field, f"不能超过 {limit} 个字符。")
        elif field in FREE_TEXT and rules.unmasked_id_numbers(value):
            self.fail(
                field,
                "含有完整的身份证号码，公示内容不得包含自然人身份证号码；"
                "请删除或写成遮蔽形式（如 4110**********1234）。",
            )
        else:
            return value
        return None

    def choice(self, field: str, enum: type[LabelledEnum], *, required: bool = True):
        value = self.data.get(field)
        if value in (None, ""):
            if required:
                self.fail(field, f"请选择{self.labels[field]}。")
            return None
        for member in enum:
            if value in (member, member.value, member.label):
                return member
        self.fail(field, f"须为以下之一：{'、'.join(m.label for m in enum)}。")
        return None

    def day(self, field: str, *, required: bool = True) -> date | None:
        value = self.data.get(field)
        if value in (None, ""):
            if required:
                self.fail(field, f"请填写{self.labels[field]}。")
            return None
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(field, "不是有效的日期，请写成 2020-05-18 的形式。")
            return None

    def amount(self, field: str) -> Decimal | None:
        value = self.data.get(field)
        if value in (None, ""):
            return None
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            self.fail(field, "须为数字（单位：万元）。")
            return None
        if not amount.is_finite():
            self.fail(field, "须为数字（单位：万元）。")
        elif amount < 0:
            self.fail(field, "金额不能为负数。")
        elif amount >= AMOUNT_LIMIT or amount != amount.quantize(Decimal("0.000001")):
            self.fail(field, "金额过大或小数位过多（单位万元，最多6位小数，即精确到分以下）。")
        else:
            return amount
        return None

    def credit_code(self, field: str, *, required: bool) -> str | None:
        code = self.text(field, required=required)
        if code is None:
            return None
        code = credit_code_form(code)
        if message := rules.credit_code_error(code):
            self.fail(field, message)
            return None
        return code


def _party(reader: _Reader) -> dict[str, Any]:
    """The party's fields and the rules between them: an organisation has a valid credit code
    and no personal ID; a natural person has an ID (a resident ID passes its check digit) and
    no credit code or legal representative; a sole trader may have a credit code."""
    party_class = reader.choice("party_class", PartyClass)
    person = party_class == PartyClass.natural_person
    values = {
        "party_class": party_class,
        "party_name": reader.text("party_name"),
        "party_credit_code": reader.credit_code(
            "party_credit_code", required=party_class == PartyClass.organisation
        ),
        "legal_representative": reader.text("legal_representative", required=False),
        "party_id_type": reader.choice("party_id_type", IdType, required=person),
        "party_id_number": reader.text("party_id_number", required=person),
    }
    if person:
        if values["party_credit_code"]:
            reader.fail("party_credit_code", "自然人不填写统一社会信用代码。")
        if values["legal_representative"]:
            reader.fail("legal_representative", "自然人不填写法定代表人。")
        number = values["party_id_number"]
        if number and values["party_id_type"] == IdType.resident_id:
            number = values["party_id_number"] = number.upper()
            if message := rules.resident_id_error(number):
                reader.fail("party_id_number", message)
    elif party_class is not None:
        for field in ("party_id_type", "party_id_number"):
            if values[field]:
                reader.fail(field, "仅自然人填写证件类型和证件号码。")
    return values


def _authority_and_dates(reader: _Reader) -> dict[str, Any]:
    values = {
        "document_number": reader.text("document_number"),
        "authority": reader.text("authority"),
        "authority_credit_code": reader.credit_code("authority_credit_code", required=True),
        "data_source_unit": reader.text("data_source_unit"),
        "decided_on": reader.day("decided_on"),
        "published_on": reader.day("published_on"),
        "publish_by": None,
    }
    decided, published = values["decided_on"], values["published_on"]
    if decided and published and published < decided:
        reader.fail("published_on", f"公示日期（{published}）不能早于决定日期（{decided}）。")
    if decided:
        try:
            values["publish_by"] = rules.publish_by(decided)
        except CalendarRangeError as exc:
            reader.fail("decided_on", str(exc))
    return values


def _check_document_free(
    model: type, values: Mapping[str, Any], own_id: int | None, errors, lookups: Lookups
) -> None:
    number, authority = values["document_number"], values["authority"]
    if number and authority and lookups.document_taken(model, authority, number, own_id):
        errors.setdefault("document_number", []).append(
            f"{authority}已有文书号为“{number}”的决定，同一机关的文书号不能重复。"
        )


def check_licence(
    data: Mapping[str, Any], own_id: int | None = None, lookups: Lookups | None = None
) -> dict[str, Any]:
    """A licence decision's values as saved (item and handling item as ids), or Invalid."""
    with db.session.no_autoflush:  # reads other rows only; the caller's flush writes
        return _check_licence(data, own_id, lookups or Lookups())


def _check_licence(data: Mapping[str, Any], own_id: int | None, lookups: Lookups):
    reader = _Reader(data, LABELS)
    values = {**_authority_and_dates(reader), **_party(reader)}
    values.update(
        category=reader.choice("category", LicenceCategory),
        certificate_name=reader.text("certificate_name", required=False),
        certificate_number=reader.text("certificate_number", required=False),
        content=reader.text("content"),
        valid_from=reader.day("valid_from"),
        valid_until=reader.day("valid_until", required=False),
        status=reader.choice("status", LicenceStatus, required=False) or LicenceStatus.valid,
    )
    valid_from, valid_until = values["valid_from"], values["valid_until"]
    if valid_from and valid_until and valid_until < valid_from:
        reader.fail("valid_until", f"有效期至（{valid_until}）不能早于有效期自（{valid_from}）。")
    values["item_id"], values["handling_item_id"] = _licence_item(reader, lookups)
    _check_document_free(LicenceDecision, values, own_id, reader.errors, lookups)
    if reader.errors:
        raise invalid(reader.errors)
    return values


def _licence_item(reader: _Reader, lookups: Lookups) -> tuple[int | None, int | None]:
    """The approval item by its code, which must be a 行政许可 item, and the handling item by
    its code, which must be one of that item's."""
    code = reader.text("item")
    if code is None:
        return None, None
    item = lookups.item(code)
    if item is None:
        reader.fail("item", f"目录中没有编码为 {code} 的事项。")
        return None, None
    if item.item_type != ItemType.licence:
        reader.fail(
            "item",
            f"“{item.name}”是{item.item_type.label}事项，许可决定只能对应行政许可事项。",
        )
        return None, None
    handling_code = reader.text("handling_item", required=False)
    if handling_code is None:
        return item.id, None
    handling_id = lookups.handling_id(handling_code, item.id)
    if handling_id is None:
        reader.fail("handling_item", f"“{item.name}”没有编码为 {handling_code} 的业务办理项。")
    return item.id, handling_id


def check_penalty(
    data: Mapping[str, Any], own_id: int | None = None, lookups: Lookups | None = None
) -> dict[str, Any]:
    """A penalty decision's values as saved, or Invalid. Without a 公示截止日期 the longest
    period of the rule in force applies; a given one lies within that rule's bounds."""
    with db.session.no_autoflush:  # reads other rows only; the caller's flush writes
        return _check_penalty(data, own_id, lookups or Lookups())


def _check_penalty(data: Mapping[str, Any], own_id: int | None, lookups: Lookups):
    reader = _Reader(data, PENALTY_LABELS)
    values = {**_authority_and_dates(reader), **_party(reader)}
    values.update(
        violation_type=reader.text("violation_type"),
        violation_facts=reader.text("violation_facts"),
        legal_basis=reader.text("legal_basis"),
        category=reader.choice("category", PenaltyCategory),
        content=reader.text("content"),
        fine_amount=reader.amount("fine_amount"),
        confiscated_amount=reader.amount("confiscated_amount"),
        affected_licence=reader.text("affected_licence", required=False),
        severity=reader.choice("severity", PenaltySeverity),
        publication_ends_on=reader.day("publication_ends_on", required=False),
    )
    _publication_end(reader, values, lookups)
    _check_document_free(PenaltyDecision, values, own_id, reader.errors, lookups)
    if reader.errors:
        raise invalid(reader.errors, PENALTY_LABELS)
    return values


def _publication_end(reader: _Reader, values: dict[str, Any], lookups: Lookups) -> None:
    decided, severity = values["decided_on"], values["severity"]
    ends = values["publication_ends_on"]
    if decided is None or severity is None:
        return
    row = lookups.period(severity, decided)
    if row is None:
        reader.fail("severity", f"没有适用于{decided}的{severity.label}公示期限规则。")
        return
    period = rules.PublicationPeriod(row.min_months, row.max_months)
    earliest, latest = period.earliest_end(decided), period.latest_end(decided)
    if ends is None:
        values["publication_ends_on"] = ends = latest
    elif not earliest <= ends <= latest:
        reader.fail(
            "publication_ends_on",
            f"{severity.label}的公示期限为决定之日起最短{row.min_months}个月、"
            f"最长{row.max_months}个月（{row.source}），公示截止日期应在{earliest}至{latest}之间。",
        )
        return
    published = values["published_on"]
    if published and ends < published:
        reader.fail(
            "publication_ends_on", f"公示截止日期（{ends}）不能早于公示日期（{published}）。"
        )
