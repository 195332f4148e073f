"""The shape of an approval item as data: what services load, and what they dump.

The same schema reads the seed files, the API's JSON and staff forms, and writes the canonical
form that the API returns and the seed compares. Shape and types are checked here; the rules
between fields (promised <= statutory, a visit needs a reason, ...) live in catalog.services.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_dump,
    post_load,
    pre_load,
    validate,
    validates,
)

from catalog.enums import (
    AttachmentKind,
    CaseType,
    ExerciseLevel,
    HandlingForm,
    ItemType,
    MaterialForm,
    MaterialKind,
    MaterialSource,
    Necessity,
    PowerSource,
    ResultType,
    ServiceTarget,
)
from catalog.links import MAX_URL_CHARS, online_url_problem

NO_FEE = "none"  # the explicit "不收费" in data files and the API
MAX_LIMIT_DAYS = 1000  # sanity bound on any time limit, in working days
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"

MESSAGES = {
    "required": "必填项。",
    "null": "不能为空。",
    "invalid": "格式不正确。",
    "type": "类型不正确。",
}


def _messages(**extra: str) -> dict[str, str]:
    return {**MESSAGES, **extra}


# Text of the catalog holds no control character: a NUL is refused by PostgreSQL and breaks
# every export, and the others are invisible noise. Tab, line feed and carriage return are
# white space a pasted text may carry; a lone surrogate cannot be stored as UTF-8 at all.
CONTROL_CHARACTERS_MESSAGE = "不能包含控制字符（如 NUL）或无效的 Unicode 字符。"
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def has_control_characters(value: str) -> bool:
    """Whether `value` holds a character no text of the catalog may hold (see above)."""
    return _CONTROL_CHARACTERS.search(value) is not None


def refuse_control_characters(value: str) -> None:
    if isinstance(value, str) and has_control_characters(value):
        raise ValidationError(CONTROL_CHARACTERS_MESSAGE)


def text(
    max_length: int,
    *,
    required: bool = True,
    validators: tuple[validate.Validator, ...] = (),
    required_message: str = MESSAGES["required"],
) -> fields.String:
    """A trimmed text field; optional ones may be null."""
    checks = [
        validate.Length(max=max_length, error=f"不能超过{max_length}个字符。"),
        refuse_control_characters,
        *validators,
    ]
    if required:
        checks.append(validate.Length(min=1, error="不能为空。"))
        return fields.String(
            required=True,
            validate=checks,
            error_messages=_messages(invalid="须为文本。", required=required_message),
        )
    return fields.String(
        allow_none=True,
        load_default=None,
        validate=checks,
        error_messages=_messages(invalid="须为文本。"),
    )


CODE_FORMAT = validate.Regexp(
    CODE_PATTERN, error="编码只能包含字母、数字、- 和 _，且以字母或数字开头。"
)


def integer(
    low: int, high: int, *, required: bool = True, allow_none: bool = False, **kwargs: Any
) -> fields.Integer:
    return fields.Integer(
        required=required,
        allow_none=allow_none,
        strict=False,
        validate=validate.Range(low, high, error=f"须为{low}到{high}之间的整数。"),
        error_messages=_messages(invalid="须为整数。"),
        **kwargs,
    )


def choice(enum_class: type, **kwargs: Any) -> fields.Enum:
    options = "、".join(f"{member.value}（{member.label}）" for member in enum_class)
    return fields.Enum(
        enum_class,
        by_value=True,
        error_messages=_messages(unknown=f"取值无效，可选：{options}。"),
        **kwargs,
    )


class StrictSchema(Schema):
    """Unknown keys are errors: a misspelt field must not be dropped silently."""

    class Meta:
        unknown = RAISE


class TrimStrings:
    """Strip surrounding white space; a blank optional text becomes null."""

    @pre_load
    def _trim(self, data: Any, **_: Any) -> Any:
        if not isinstance(data, dict):
            return data
        by_key = {field.data_key or name: field for name, field in self.load_fields.items()}
        trimmed = {}
        for key, value in data.items():
            if isinstance(value, str):
                value = value.strip()
                field = by_key.get(key)
                if not value and field is not None and not field.required:
                    value = None
            trimmed[key] = value
        return trimmed


class LegalBasisSchema(TrimStrings, StrictSchema):
    law = text(200)
    article = text(100, required=False)
    text = text(5000, required=False)


SHA256_PATTERN = r"^[0-9a-f]{64}$"
MAX_ATTACHMENTS_PER_MATERIAL = 6  # 空白表格 and 示例样表 together


class AttachmentSchema(TrimStrings, StrictSchema):
    """A file offered beside a material (空白表格 / 示例样表), by its content's SHA-256; that
    the catalog holds the file is checked by the services (catalog.attachments)."""

    # plain strings: an item's data is JSON
    kind = text(
        10,
        validators=(
            validate.OneOf(
                [kind.value for kind in AttachmentKind],
                error="取值无效，可选："
                + "、".join(f"{kind.value}（{kind.label}）" for kind in AttachmentKind)
                + "。",
            ),
        ),
    )
    sha256 = text(
        64,
        validators=(validate.Regexp(SHA256_PATTERN, error="须为64位小写十六进制的 SHA-256 值。"),),
    )
    filename = text(255)


class MaterialSchema(TrimStrings, StrictSchema):
    name = text(200)
    kind = choice(MaterialKind, load_default=MaterialKind.original)
    form = choice(MaterialForm, load_default=MaterialForm.paper)
    copies = integer(0, 99, required=False, load_default=1)
    necessity = choice(Necessity, load_default=Necessity.required)
    source = choice(MaterialSource, load_default=MaterialSource.applicant)
    notes = text(2000, required=False)
    # the files offered beside it; an item's data leaves the key out when there are none, so
    # an item without files has the same data (and seed digest) as before they existed
    attachments = fields.List(
        fields.Nested(AttachmentSchema),
        attribute="attachment_data",
        load_default=list,
        validate=validate.Length(
            max=MAX_ATTACHMENTS_PER_MATERIAL,
            error=f"每项材料最多附{MAX_ATTACHMENTS_PER_MATERIAL}个文件。",
        ),
        error_messages=_messages(),
    )
    omit_no_attachments = True

    @post_load
    def _files_in_kind_order(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        # 空白表格 before 示例样表, each kind in the order given: one order for the pages, the
        # API and the spreadsheet's two columns (export -> import changes nothing)
        order = [kind.value for kind in AttachmentKind]
        data["attachment_data"] = sorted(
            data["attachment_data"], key=lambda file: order.index(file["kind"])
        )
        return data

    @post_dump
    def _omit_no_attachments(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if self.omit_no_attachments and not data.get("attachments"):
            data.pop("attachments", None)
        return data


class FeeSchema(TrimStrings, StrictSchema):
    name = text(200)
    standard = text(2000)
    amount = fields.Decimal(
        places=2,
        allow_none=True,
        load_default=None,
        as_string=True,
        error_messages=_messages(invalid="须为金额数字。", special="须为金额数字。"),
        metadata={"type": "string", "description": '元，两位小数，如 "10.00"'},
    )
    basis = text(2000, required_message="收费须写明收费依据。")

    @validates("amount")
    def _not_negative(self, value: Decimal | None, **_: Any) -> None:
        if value is not None and value < 0:
            raise ValidationError("金额不能为负数。")


class StepSchema(TrimStrings, StrictSchema):
    name = text(100)
    days = integer(0, MAX_LIMIT_DAYS, required=False, allow_none=True, load_default=None)


_FEES = FeeSchema(many=True)


class FeesField(fields.Field):
    """The literal "none" (不收费), a non-empty list of fees, or null: not provided (the row's
    charges_fee is None)."""

    default_error_messages = {
        "invalid": f"请填写收费项目列表，或写 {NO_FEE} 表示不收费。",
        "required": f"必填项：请填写收费项目，或写 {NO_FEE} 表示不收费。",
    }

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        # the row's charges_fee tells "not provided" (None) from 不收费; with no row (a schema
        # writing its defaults, as the OpenAPI generator does) an empty value is 不收费
        if isinstance(obj, dict):
            charges = obj.get("charges_fee", False)
        else:
            charges = getattr(obj, "charges_fee", False)
        if charges is None and not value:
            return None
        if not value:
            return NO_FEE
        return _FEES.dump(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() == NO_FEE:
            return []
        if not isinstance(value, list) or not value:
            raise self.make_error("invalid")
        return _FEES.load(value)


def _valid_online_url(value: str | None) -> None:
    problem = online_url_problem(value) if value is not None else None
    if problem:
        raise ValidationError(problem)


# 常见问题 of an item: at most this many question/answer pairs, each part this long
MAX_FAQ_ENTRIES, MAX_QUESTION_CHARS, MAX_ANSWER_CHARS = 30, 200, 2000


class FaqEntrySchema(TrimStrings, StrictSchema):
    question = text(MAX_QUESTION_CHARS, required_message="常见问题须填写问题。")
    answer = text(MAX_ANSWER_CHARS, required_message="常见问题须填写解答。")


class OmitUnset:
    """The elements added after data was first frozen (0019: the online address, the FAQ) are
    left out of the canonical data while unset, so an item without them dumps exactly as it did
    before (the seed's digests, drafts and snapshots stay comparable); the API, which documents
    every field, writes them always (omit_unset = False)."""

    omit_unset = True
    unset_when_empty: tuple[str, ...] = ()

    @post_dump
    def _omit_unset(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if self.omit_unset:
            for key in self.unset_when_empty:
                if key in data and data[key] in (None, []):
                    del data[key]
        return data


class HandlingItemSchema(OmitUnset, TrimStrings, StrictSchema):
    code = text(50, validators=(CODE_FORMAT,))
    situation = text(100, required=False)
    case_type = choice(CaseType, required=True)
    statutory_days = integer(0, MAX_LIMIT_DAYS, required=True, allow_none=True)
    promised_days = integer(0, MAX_LIMIT_DAYS)
    visits = integer(0, 2)
    visit_reason = text(2000, required=False)
    # may be missing: no form, no depth, fees None (catalog.elements)
    forms = fields.List(choice(HandlingForm), load_default=list, error_messages=_messages())
    online_depth = integer(1, 7, required=False, allow_none=True, load_default=None)
    fees = FeesField(allow_none=True, load_default=None)
    materials = fields.List(fields.Nested(MaterialSchema), load_default=list)
    steps = fields.List(fields.Nested(StepSchema), load_default=list)
    # 在线办理地址 (catalog.links); may be absent: no address
    online_url = fields.String(
        allow_none=True,
        load_default=None,
        validate=_valid_online_url,
        error_messages=_messages(invalid="在线办理地址须为文本。"),
        metadata={
            "description": "在线办理地址（http 或 https 网址）；null：未提供",
            "format": "uri",
            "maxLength": MAX_URL_CHARS,
        },
    )

    unset_when_empty = ("online_url",)

    @post_load
    def _normalise(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        chosen = set(data["forms"])
        data["forms"] = [form for form in HandlingForm if form in chosen]
        data["charges_fee"] = None if data["fees"] is None else bool(data["fees"])
        return data


class ResultSchema(TrimStrings, StrictSchema):
    name = text(200, required=False)
    type = choice(ResultType, allow_none=True, load_default=None)


def _no_result() -> dict[str, None]:
    return {"name": None, "type": None}


class ItemSchema(OmitUnset, TrimStrings, StrictSchema):
    code = text(40, validators=(CODE_FORMAT,))
    name = text(200)
    item_type = choice(ItemType, required=True, data_key="type")
    # Every element below may be missing (None, or an empty list); catalog.elements lists the
    # gaps. What the ratios read (code, name, type; the handling items' limits) is required.
    implementing_body = text(100, required=False)
    handling_unit = text(100, required=False)
    exercise_level = choice(ExerciseLevel, allow_none=True, load_default=None)
    power_source = choice(PowerSource, allow_none=True, load_default=None)
    service_targets = fields.List(
        choice(ServiceTarget), load_default=list, error_messages=_messages()
    )
    legal_bases = fields.List(
        fields.Nested(LegalBasisSchema),
        load_default=list,
        data_key="legal_basis",
        error_messages=_messages(),
    )
    conditions = text(10000, required=False)
    result = fields.Nested(ResultSchema, allow_none=True, load_default=_no_result)
    consultation = text(2000, required=False)
    complaint = text(2000, required=False)
    location = text(2000, required=False)
    hours = text(2000, required=False)
    handling_items = fields.List(
        fields.Nested(HandlingItemSchema),
        required=True,
        validate=validate.Length(min=1, error="至少包含一个业务办理项。"),
        error_messages=_messages(),
    )
    # 常见问题, in order; may be absent: none
    faq = fields.List(
        fields.Nested(FaqEntrySchema),
        load_default=list,
        validate=validate.Length(max=MAX_FAQ_ENTRIES, error=f"常见问题最多{MAX_FAQ_ENTRIES}条。"),
        error_messages=_messages(),
        metadata={"description": "常见问题（问题与解答），按顺序；没有时为空列表"},
    )

    unset_when_empty = ("faq",)

    @post_load
    def _to_columns(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        # A JSON column holds plain strings, in the enumeration's order.
        chosen = set(data["service_targets"])
        data["service_targets"] = [target.value for target in ServiceTarget if target in chosen]
        result = data.pop("result") or _no_result()
        data["result_name"] = result.get("name")
        data["result_type"] = result.get("type")
        return data


class ItemDumpSchema(ItemSchema):
    """The canonical output form of an item (its ORM object dumped), with its status."""

    class Meta:
        unknown = EXCLUDE

    result = fields.Nested(ResultSchema)
    service_targets = fields.List(fields.String())
    status = fields.String(attribute="status.value")
