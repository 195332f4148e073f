"""Staff forms of the 双公示 decision records, one field per column of
catalog.decisions.columns (the same words as the spreadsheet template). Only the shape is
here: every rule is catalog.decisions.checks', reported field by field."""

from __future__ import annotations

import re
from decimal import Decimal
from enum import Enum

from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from catalog.decisions.columns import AMOUNT, AREA, CHOICE, COLUMNS, DATE, LICENCE, PENALTY
from catalog.decisions.operations import record_data
from catalog.models import LicenceDecision, PenaltyDecision
from catalog.staff.forms import StaffForm, choices, plain_file_name


def _field(column):
    label, hint = column.header, {"description": column.hint} if column.hint else {}
    if column.widget == CHOICE:
        options = choices([("", "请选择"), *((m.value, m.label) for m in column.enum)])
        # an unknown value goes on to the checks, whose message lists the choices
        return SelectField(label, choices=options, validate_choice=False, **hint)
    if column.widget == AREA:
        return TextAreaField(label, render_kw={"rows": 3}, **hint)
    if column.widget == DATE:
        return StringField(label, render_kw={"type": "date"}, **hint)
    if column.widget == AMOUNT:
        return StringField(label, render_kw={"inputmode": "decimal"}, **hint)
    return StringField(label, **hint)


class DecisionForm(StaffForm):
    version = HiddenField()  # the version the form was opened on (optimistic locking)
    reason = TextAreaField("说明（可选，记入审计记录）", validators=[Length(max=2000)])


class DecisionEditForm(DecisionForm):
    reason = TextAreaField(
        "修改原因", validators=[DataRequired("请说明修改原因。"), Length(max=2000)]
    )


def _form_class(base: type, kind: str) -> type:
    fields = {column.key: _field(column) for column in COLUMNS[kind]}
    return type(f"{kind.title()}{base.__name__}", (base,), fields)


FORMS = {
    (kind, editing): _form_class(DecisionEditForm if editing else DecisionForm, kind)
    for kind in (LICENCE, PENALTY)
    for editing in (False, True)
}


def form_data(form, kind: str) -> dict[str, object]:
    """What the form holds, by the checks' field names."""
    return {column.key: form[column.key].data for column in COLUMNS[kind]}


def shown(value: object) -> str:
    """A stored value as the form's field holds it."""
    if value is None:
        return ""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def record_values(decision: LicenceDecision | PenaltyDecision) -> dict[str, str]:
    """A decision's fields as the form shows them (the item and handling item by code)."""
    return {key: shown(value) for key, value in record_data(decision).items()}


class CreditRepairForm(StaffForm):
    version = HiddenField()
    # the operation requires it, with its own message
    reason = TextAreaField("信用修复依据（如修复申请及审核结果）", validators=[Length(max=2000)])


class DecisionImportForm(StaffForm):
    kind = SelectField(
        "决定类别",
        choices=choices([(LICENCE, "行政许可决定"), (PENALTY, "行政处罚决定")]),
    )
    file = FileField(
        "双公示表（.xlsx，或 .csv：UTF-8 或 GB18030）",
        validators=[FileRequired("请选择文件。"), plain_file_name],
    )

    @property
    def file_name(self) -> str:
        return re.split(r"[\\/]", self.file.data.filename or "")[-1].strip()


class DecisionApplyForm(StaffForm):
    token = HiddenField()
