"""Staff forms (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

import json
import re
import unicodedata

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)

from catalog.enums import (
    REPORTED_TYPES,
    AttachmentKind,
    CaseType,
    ExerciseLevel,
    HandlingForm,
    MaterialForm,
    MaterialKind,
    MaterialSource,
    Necessity,
    OnlineDepth,
    PowerSource,
    ResultType,
    ServiceTarget,
)
from catalog.models.accounts import Role
from catalog.schemas import NO_FEE

CHARGES = "charges"  # 是否收费: the fees listed below (NO_FEE: 不收费; empty: not provided)
BLANK_ROWS = 2  # empty rows offered under each list, to add entries without JavaScript


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


NOT_PROVIDED_CHOICE = ("", "（暂未提供）")


class OptionalSelectField(SelectField):
    """A select of an element that may be missing: its first option is empty, and choosing it
    gives None (never ""), as the services store a missing element."""

    def __init__(self, label=None, validators=None, choices=(), **kwargs):
        super().__init__(
            label,
            validators,
            choices=[SelectChoice(*NOT_PROVIDED_CHOICE), *choices],
            coerce=_none_if_blank,
            **kwargs,
        )


def _none_if_blank(value):
    return None if value in (None, "") else str(value)


# WTForms' own messages ("不是有效的选择。", "该字段是必填字段。") in Chinese, from the
# translations WTForms ships (WTF_I18N_ENABLED is off in config.py: Flask-Babel is not used).
MESSAGES_IN = ["zh"]


class StaffForm(FlaskForm):
    """Every staff form, its messages in Chinese."""

    class Meta:
        locales = MESSAGES_IN


class LoginForm(StaffForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名。"), Length(max=50)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码。"), Length(max=128)])


class LogoutForm(StaffForm):
    """An empty form: logging out is a POST with a CSRF token."""


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def __init__(self, *args, **kwargs):
        # WTForms' Chinese has no words for this one (and would echo the values sent)
        kwargs.setdefault("invalid_choice_message", "所选内容中有无效的选项。")
        super().__init__(*args, **kwargs)


class RowForm(Form):
    """One entry of an editable list: an order number and a remove box (no CSRF of its own)."""

    class Meta:  # a row is a form of its own: it does not take its list's form's locales
        locales = MESSAGES_IN

    order = IntegerField("顺序", validators=[Optional()])
    remove = BooleanField("删除")


class MaterialRowForm(RowForm):
    # a text area: a long name wraps instead of being cut off (site.css .edit-rows)
    name = TextAreaField("材料名称", validators=[Length(max=200)], render_kw={"rows": 1})
    kind = SelectField("类型", choices=choices(MaterialKind.choices()))
    form = SelectField("形式", choices=choices(MaterialForm.choices()))
    copies = IntegerField("份数", default=1, validators=[Optional()])
    necessity = SelectField("必要性", choices=choices(Necessity.choices()))
    source = SelectField("来源", choices=choices(MaterialSource.choices()))
    notes = StringField("备注", validators=[Length(max=2000)])
    # the files offered beside it (空白表格 / 示例样表), as JSON, carried through a save of this
    # form unchanged; they are added and removed on the material's files page (staff/attachments)
    attachments = HiddenField("附件")


class FeeRowForm(RowForm):
    name = StringField("收费项目", validators=[Length(max=200)])
    standard = StringField("收费标准", validators=[Length(max=2000)])
    amount = StringField("金额（元）", validators=[Length(max=20)])
    basis = StringField("收费依据", validators=[Length(max=2000)])


class StepRowForm(RowForm):
    name = StringField("环节", validators=[Length(max=100)])
    days = IntegerField("工作日", validators=[Optional()])


class HandlingItemForm(StaffForm):
    """The limits, visits and channels of one handling item. Only the shape is checked here;
    every rule is the service layer's, which reports errors per field."""

    version = HiddenField()  # the version the editor started from (optimistic locking)
    situation = StringField("办理情形")
    case_type = SelectField("办件类型", choices=choices(CaseType.choices()))
    statutory_days = IntegerField("法定时限（工作日，空为无期限）", validators=[Optional()])
    promised_days = IntegerField(
        "承诺时限（工作日）", validators=[InputRequired("请填写承诺时限。")]
    )
    visits = SelectField(
        "到办事现场次数", choices=choices([("0", "0次"), ("1", "1次"), ("2", "2次")])
    )
    visit_reason = TextAreaField("必须现场办理原因说明")
    forms = CheckboxesField("办理形式", choices=choices(HandlingForm.choices()))
    online_depth = OptionalSelectField(
        "网上办理深度",
        choices=choices((str(d), f"{d}级：{OnlineDepth(d).label}") for d in range(1, 8)),
    )
    online_url = StringField("在线办理地址", render_kw={"inputmode": "url"})
    materials = FieldList(FormField(MaterialRowForm), label="申请材料")
    charges = OptionalSelectField(
        "是否收费", choices=choices([(NO_FEE, "不收费"), (CHARGES, "收费（填写下方收费项目）")])
    )
    fees = FieldList(FormField(FeeRowForm), label="收费项目")
    steps = FieldList(FormField(StepRowForm), label="办理流程")
    reason = TextAreaField(
        "修改原因", validators=[DataRequired("请说明修改原因。"), Length(max=2000)]
    )
    acknowledge = BooleanField("我已知晓上述政策提示，仍要保存")


class ReviewForm(StaffForm):
    version = HiddenField()
    note = TextAreaField("审核意见", validators=[Length(max=2000)])


class RetireForm(StaffForm):
    """Retiring needs a reason; the operation says so when it is missing."""

    version = HiddenField()
    reason = TextAreaField("停用原因", validators=[Length(max=2000)])


MAX_FILE_NAME = 255  # as long as a file system allows


def plain_file_name(_form, field) -> None:
    """An uploaded file's name goes into the audit trail: no control character (PostgreSQL
    refuses a NUL; a line break would forge a line), no lone surrogate, a bounded length."""
    name = getattr(field.data, "filename", None) or ""
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in name):
        raise ValidationError("文件名不能包含控制字符（如 NUL）或无效的 Unicode 字符。")
    if len(name) > MAX_FILE_NAME:
        raise ValidationError(f"文件名不能超过{MAX_FILE_NAME}个字符。")


class ImportForm(StaffForm):
    file = FileField(
        "事项表（.xlsx，或 .csv）", validators=[FileRequired("请选择文件。"), plain_file_name]
    )
    materials = FileField("申请材料表（仅 CSV 导入时需要）", validators=[plain_file_name])
    # checked by catalog.operations.mappings.check_source_name (one rule, one message)
    source_name = StringField("来源名称（可选，用于保存和套用表头映射）")

    @property
    def file_name(self) -> str:
        """The uploaded file's own name, without the folders some browsers send."""
        return re.split(r"[\\/]", self.file.data.filename or "")[-1].strip()


class MappingForm(StaffForm):
    """The mapping step: the kept upload's token and the source name; one select a column
    (column-0, column-1, …), read by the view, since the columns are the file's."""

    token = HiddenField()
    source_name = StringField("来源名称（可选；确认导入时保存此映射，下次同一来源的文件自动套用）")


class ApplyImportForm(StaffForm):
    token = HiddenField()
    publish = BooleanField("直接发布（仅审核人员）")


class LegalBasisRowForm(RowForm):
    law = StringField("法律法规名称", validators=[Length(max=200)])
    article = StringField("条款", validators=[Length(max=100)])
    text = StringField("内容", validators=[Length(max=5000)])


class FaqRowForm(RowForm):
    """One question and its answer; the lengths are the service's rule (catalog.schemas)."""

    question = TextAreaField("问题", render_kw={"rows": 1})
    answer = TextAreaField("解答", render_kw={"rows": 3})


class ItemForm(StaffForm):
    """Every element of an approval item itself (its handling items are edited one by one)."""

    version = HiddenField()
    name = StringField("事项名称", validators=[InputRequired("请填写事项名称。")])
    type = SelectField("事项类型", choices=choices(
        (t.value, t.label) for t in REPORTED_TYPES))  # fmt: skip
    implementing_body = StringField("实施主体")
    handling_unit = StringField("承办机构")
    exercise_level = OptionalSelectField("行使层级", choices=choices(ExerciseLevel.choices()))
    power_source = OptionalSelectField("权力来源", choices=choices(PowerSource.choices()))
    service_targets = CheckboxesField("服务对象", choices=choices(ServiceTarget.choices()))
    legal_basis = FieldList(FormField(LegalBasisRowForm), label="设定依据")
    conditions = TextAreaField("受理条件")
    result_name = StringField("审批结果名称")
    result_type = OptionalSelectField("审批结果类型", choices=choices(ResultType.choices()))
    consultation = TextAreaField("咨询方式")
    complaint = TextAreaField("监督投诉方式")
    location = TextAreaField("办理地点")
    hours = TextAreaField("办理时间")
    faq = FieldList(FormField(FaqRowForm), label="常见问题")
    reason = TextAreaField(
        "修改原因", validators=[DataRequired("请说明修改原因。"), Length(max=2000)]
    )


class NewItemForm(ItemForm):
    """A new item starts with its code and its first handling item; it stays a draft (never
    public) until a reviewer publishes it."""

    code = StringField("事项编码", validators=[InputRequired("请填写事项编码。"), Length(max=40)])
    handling_code = StringField(
        "首个业务办理项编码", validators=[InputRequired("请填写业务办理项编码。"), Length(max=50)]
    )
    situation = StringField("办理情形", default="新办")
    statutory_days = IntegerField("法定时限（工作日，空为无期限）", validators=[Optional()])
    promised_days = IntegerField("承诺时限（工作日）", default=0, validators=[InputRequired()])
    case_type = SelectField("办件类型", choices=choices(CaseType.choices()), default="promised")


class AccountForm(StaffForm):
    username = StringField("用户名", validators=[InputRequired("请填写用户名。"), Length(max=50)])
    role = SelectField("角色", choices=choices(Role.choices()))
    password = PasswordField(
        "初始密码", validators=[InputRequired("请设置密码。"), Length(max=128)]
    )
    confirm = PasswordField(
        "再次输入密码", validators=[EqualTo("password", "两次输入的密码不一致。")]
    )


class PasswordResetForm(StaffForm):
    """An admin sets a temporary password; the user must replace it at the next sign-in."""

    password = PasswordField(
        "临时密码", validators=[InputRequired("请设置密码。"), Length(max=128)]
    )
    confirm = PasswordField(
        "再次输入密码", validators=[EqualTo("password", "两次输入的密码不一致。")]
    )


class PasswordChangeForm(PasswordResetForm):
    current = PasswordField(
        "当前密码", validators=[InputRequired("请输入当前密码。"), Length(max=128)]
    )
    password = PasswordField(
        "新密码", validators=[InputRequired("请设置新密码。"), Length(max=128)]
    )


class SnapshotForm(StaffForm):
    label = StringField("快照名称", validators=[InputRequired("请填写快照名称。"), Length(max=50)])
    note = StringField("说明", validators=[Length(max=500)])


class DisableAccountForm(StaffForm):
    """An empty form: disabling is a POST with a CSRF token."""


class ClearLockoutForm(StaffForm):
    """An empty form: clearing an account's lockout is a POST with a CSRF token."""


class ClearAddressLockoutForm(StaffForm):
    address = HiddenField(validators=[DataRequired(), Length(max=45)])


class NewHandlingForm(StaffForm):
    """A new handling item starts as a copy of the item's first one, in the item's draft."""

    version = HiddenField()
    code = StringField("业务办理项编码", validators=[InputRequired("请填写编码。"), Length(max=50)])
    situation = StringField("办理情形（可暂不填写）", validators=[Length(max=100)])


class MaterialFileForm(StaffForm):
    """A file to offer beside a material: 空白表格 or 示例样表. What the file is, is decided by
    its content in catalog.attachments, not here."""

    version = HiddenField()
    kind = SelectField("文件类别", choices=choices(AttachmentKind.choices()))
    file = FileField(
        "文件（PDF、Word .docx、Excel .xlsx、PNG 或 JPEG 图片）",
        validators=[FileRequired("请选择要上传的文件。"), plain_file_name],
    )
    reason = TextAreaField(
        "修改原因", validators=[DataRequired("请说明修改原因。"), Length(max=2000)]
    )


class RemoveFileForm(StaffForm):
    version = HiddenField()
    reason = TextAreaField(
        "修改原因", validators=[DataRequired("请说明修改原因。"), Length(max=2000)]
    )


def files_to_form(files: list[dict]) -> str:
    """A material's files (its data's "attachments") as its row's hidden field holds them."""
    return json.dumps(files, ensure_ascii=False, separators=(",", ":")) if files else ""


def files_from_form(value: str | None) -> object:
    """A row's hidden field back as the material's files; what is not JSON is passed on as it
    is, for the service's schema to refuse with its message."""
    if not (value or "").strip():
        return []
    try:
        return json.loads(value)
    except ValueError:
        return value
