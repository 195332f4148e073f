"""What every template may use besides Flask's own: times in the display zone (北京时间), stored
codes in words (actors, audited values, the sign-in log's details), the policy text."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from markupsafe import Markup

from catalog.attachments import BY_MEDIA_TYPE, size_label
from catalog.elements import NOT_PROVIDED
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
    OnlineDepth,
    PowerSource,
    ResultType,
    ReviewState,
    ServiceTarget,
    Status,
)
from catalog.models import Role
from catalog.ratios import POLICY_TEXT, PolicyRule
from catalog.report import SHARES
from catalog.schemas import NO_FEE
from catalog.staff.permissions import PERMISSION_LABELS
from catalog.throttle import UNITS


def time_zone() -> str:
    """The display zone's name as staff read it next to a time: "北京时间" (config.py)."""
    return current_app.config["DISPLAY_TIMEZONE_LABEL"]


def display_today() -> date:
    """Today in the display zone (DISPLAY_TIMEZONE, 北京时间 unless set otherwise)."""
    return datetime.now(ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])).date()


def beijing(
    moment: datetime | str | None,
    with_seconds: bool = False,
    with_zone: bool = True,
    date_only: bool = False,
) -> str:
    """A stored time (UTC, or an ISO string) in the display zone (DISPLAY_TIMEZONE, 北京时间
    unless set otherwise): "2026-12-03 17:30（北京时间）"; without the zone where a table's
    heading names it; only the day with `date_only`. Stored times stay UTC."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return moment
    if not isinstance(moment, datetime) and isinstance(moment, date):
        return moment.isoformat()  # a day has no zone to convert
    if moment.tzinfo is None:  # SQLite gives back naive datetimes; they were stored in UTC
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(ZoneInfo(current_app.config["DISPLAY_TIMEZONE"]))
    if date_only:
        return local.strftime("%Y-%m-%d")
    shown = local.strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")
    return shown + (f"（{time_zone()}）" if with_zone else "")


# Who did it, when it was not a person: the commands' names for the audit trail.
ACTORS = {"cli": "命令行", "seed": "种子数据", "system": "系统"}

# The measures an audit record's ratio effect names ("no_visit", "exceptions.<rule>").
MEASURES = {
    **{key: label for key, label, _attribute in SHARES},
    "compression": "时限压缩比",
    **{f"exceptions.{rule.value}": f"{rule.label}（项数）" for rule in PolicyRule},
}


def actor_label(actor: str | None) -> str:
    return ACTORS.get(actor or "", actor or "")


def _words(enum) -> dict:
    return {member.value: member.label for member in enum}


# Stored codes in words, by the last part of a field's path: an audited change's
# ("handling_items.A-01.case_type"), or a key inside a changed record (a material's "kind").
# "draft" is the item status of databases before migration 0014 too.
VALUE_WORDS: dict[str, dict] = {
    "status": {**_words(Status), "draft": "草稿"},
    "state": _words(ReviewState),
    "type": _words(ItemType),
    "result.type": _words(ResultType),
    "exercise_level": _words(ExerciseLevel),
    "power_source": _words(PowerSource),
    "service_targets": _words(ServiceTarget),
    "case_type": _words(CaseType),
    "forms": _words(HandlingForm),
    "online_depth": {depth.value: depth.label for depth in OnlineDepth},
    "kind": {**_words(MaterialKind), **_words(AttachmentKind)},  # a material's, a file's
    "form": _words(MaterialForm),
    "necessity": _words(Necessity),
    "source": _words(MaterialSource),
    "fees": {NO_FEE: "不收费"},
}
# The keys of a record inside a changed value: a material, a fee, a step, a legal basis.
RECORD_KEYS = {
    "name": "名称", "kind": "材料类型", "form": "材料形式", "copies": "份数",
    "necessity": "必要性", "source": "来源渠道", "notes": "备注", "standard": "收费标准",
    "amount": "金额", "basis": "收费依据", "days": "工作日", "law": "法律法规", "article": "条款",
    "text": "内容", "type": "类型", "question": "问题", "answer": "解答",
    # a file offered beside a material (catalog.attachments)
    "attachments": "附件", "attachment_data": "附件", "sha256": "SHA-256", "filename": "文件名",
}  # fmt: skip
FILE_KEYS = ("attachments", "attachment_data")  # a material's files (catalog.attachments)
# A field of an item or of a handling item (an audited change's, a refused form's), and what
# only an audit record holds: a snapshot's, an import mapping's.
FIELD_LABELS = {
    "law": "法律法规", "article": "条款", "text": "内容", "kind": "材料类型", "form": "材料形式",
    "copies": "份数", "necessity": "必要性", "source": "来源渠道", "notes": "备注",
    "standard": "收费标准", "amount": "金额", "basis": "收费依据", "days": "工作日",
    "reason": "修改原因", "acknowledge": "政策提示确认", "_schema": "整体",
    "name": "事项名称", "type": "事项类型", "implementing_body": "实施主体",
    "handling_unit": "承办机构", "exercise_level": "行使层级", "power_source": "权力来源",
    "service_targets": "服务对象", "legal_basis": "设定依据", "conditions": "受理条件",
    "result": "审批结果", "consultation": "咨询方式", "complaint": "监督投诉",
    "location": "办理地点", "hours": "办理时间", "status": "状态", "situation": "办理情形",
    "case_type": "办件类型", "statutory_days": "法定时限", "promised_days": "承诺时限",
    "visits": "到办事现场次数", "visit_reason": "必须现场办理原因", "forms": "办理形式",
    "online_depth": "网上办理深度", "fees": "收费", "materials": "申请材料", "steps": "办理流程",
    "revision": "草稿", "state": "审核状态",
    "fingerprint": "数据指纹", "items": "事项数", "mapping": "表头映射",
    "address": "窗口地址", "phone": "咨询电话", "map_url": "地图链接",  # a unit's window
    # a synonym's, a failed search's (search learning)
    "term": "搜索词", "target": "对应的词", "dismissed": "已处理",
    "online_url": "在线办理地址", "faq": "常见问题",
}  # fmt: skip


def _labels(parts: list[str]) -> list[str]:
    """A field and the keys inside it: a row number, or a record's key (a result's "name" is
    名称, not 事项名称)."""
    return [FIELD_LABELS.get(parts[0], parts[0])] + [
        f"第{int(part) + 1}行"
        if part.isdigit()
        else RECORD_KEYS.get(part) or FIELD_LABELS.get(part, part)
        for part in parts[1:]
    ]


def field_label(path: str) -> str:
    """A change's (or a refusal's) field path in words: 业务办理项 X-01 · 承诺时限."""
    parts = path.split(".")
    if parts[0] == "handling_items" and len(parts) >= 2:
        rest = " · ".join(_labels(parts[2:])) if parts[2:] else ""
        which = f"（第{int(parts[1]) + 1}个）" if parts[1].isdigit() else f" {parts[1]}"
        return f"业务办理项{which}" + (f" · {rest}" if rest else "")
    return " · ".join(_labels(parts))


# What an import mapping maps a header to when it takes no field (catalog.import_headers).
IGNORED_COLUMN = "忽略"


def change_value(value: object, field: str = "") -> object:
    """One side of an audited change as staff read it: stored codes (a status, a review state,
    an enumeration's value, 不收费) in words, a list or a record in a line, nothing as （无）."""
    if value is None or value == [] or value == {}:
        return "（无）"
    if field == "mapping" and isinstance(value, dict):  # an import mapping: header -> field
        return "；".join(
            f"{header} → {IGNORED_COLUMN if target == 'ignore' else target}"
            for header, target in value.items()
        )
    if field == "fingerprint":
        return Markup("<code>%s</code>") % value
    key = "result.type" if field.endswith("result.type") else field.rsplit(".", 1)[-1]
    if isinstance(value, list):  # records one after another; plain values as a series
        between = "；" if any(isinstance(part, dict) for part in value) else "、"
        return between.join(str(change_value(part, key)) for part in value)
    if isinstance(value, dict):
        keys = {**RECORD_KEYS, "kind": "类别"} if key in FILE_KEYS else RECORD_KEYS  # a file's
        return "，".join(
            f"{keys.get(name, name)}：{change_value(part, f'{key}.{name}')}"
            for name, part in value.items()
            if part is not None and part != ""
        )
    if isinstance(value, bool):
        return "是" if value else "否"
    words = VALUE_WORDS.get(key, {})
    return words.get(value, words.get(str(value), value))


def _role(value: str) -> str:
    return Role(value).label if value in Role._value2member_map_ else value


def _limit(match: re.Match) -> str:
    amount, multiples, unit = match.groups()
    return f"登录尝试已达上限（{multiples} {UNITS.get(unit, unit)}内 {amount} 次）"


# The details older versions of the app stored in English (catalog.auth_log): the rows stay
# as they were written, and read as the app writes them now.
LEGACY_AUTH_DETAILS = [
    (re.compile(r"not signed in"), lambda _m: "未登录"),
    (
        re.compile(r"role (\w+), needs (\w+)"),
        lambda m: f"角色：{_role(m[1])}，需要权限：{PERMISSION_LABELS.get(m[2], m[2])}",
    ),
    (
        re.compile(r"account (\d+), session version (\d+)"),
        lambda m: f"账号编号 {m[1]}，会话版本 {m[2]}（已失效）",
    ),
    (re.compile(r"limit (\d+) per (\d+) ([a-z]+?)s?"), _limit),
    (re.compile(r"role (\w+)"), lambda m: f"角色：{_role(m[1])}"),
]


def auth_detail(detail: str | None) -> str:
    """A sign-in log entry's detail as staff read it: as stored, or in Chinese when an older
    version of the app stored it in English."""
    for pattern, words in LEGACY_AUTH_DETAILS:
        match = pattern.fullmatch(detail or "")
        if match:
            return words(match)
    return detail or ""


_NOT_PROVIDED = Markup('<span class="not-provided">%s</span>') % NOT_PROVIDED


def _missing(value: object) -> bool:
    """Missing as catalog.elements counts an element: None, blank text or an empty list (0 and
    False are values)."""
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | dict):
        return not value
    return value is None


def provided(value: object, attribute: str | None = None) -> object:
    """An element as a page shows it: the value (or its `attribute`, as an enum's label), or
    暂未提供 where it is missing (catalog.elements): never an empty line, never "None"."""
    if _missing(value):
        return _NOT_PROVIDED
    return getattr(value, attribute) if attribute else value


def fee_label(charges_fee: bool | None) -> str:
    """是否收费 in words: 收费, 不收费, or 暂未提供 (not provided is not 不收费)."""
    if charges_fee is None:
        return _NOT_PROVIDED
    return "收费" if charges_fee else "不收费"


def names_situation(name: str, situation: str | None) -> bool:
    """Whether an item's name already ends with its handling item's situation in brackets, as
    "港口经营许可（变更）" does for 变更 (full-width or ASCII brackets)."""
    if not situation or not situation.strip():
        return False
    situation, name = situation.strip(), name.rstrip()
    return name.endswith((f"（{situation}）", f"({situation})"))


def with_situation(name: str, situation: str | None) -> str:
    """A handling item's title: its item's name with the situation in brackets, "道路货物运输
    经营许可（新办）"; the name alone when there is no situation or the name already ends with it
    (never "港口经营许可（变更）（变更）")."""
    if not situation or not situation.strip() or names_situation(name, situation):
        return name
    return f"{name}（{situation.strip()}）"


def attachment_type_label(media_type: str) -> str:
    """What a stored file is, in words (catalog.attachments)."""
    kind = BY_MEDIA_TYPE.get(media_type)
    return kind.label if kind is not None else "文件"


def material_file_list(value: object) -> list[dict]:
    """A material row's files from its hidden field (JSON), for showing them; [] when unreadable."""
    try:
        files = json.loads(value) if isinstance(value, str) and value.strip() else value or []
    except ValueError:
        return []
    if not isinstance(files, list):
        return []
    return [f for f in files if isinstance(f, dict) and isinstance(f.get("filename"), str)]


def register(app: Flask) -> None:
    app.add_template_filter(with_situation)
    app.add_template_global(names_situation)
    app.add_template_filter(provided)
    app.add_template_filter(fee_label)
    app.add_template_global(_NOT_PROVIDED, "not_provided")
    app.add_template_filter(beijing)
    app.add_template_filter(actor_label)
    app.add_template_filter(change_value)
    app.add_template_filter(field_label)
    app.add_template_filter(auth_detail)
    # files offered beside materials: "Word 文档", "12.3 KB"
    app.add_template_filter(attachment_type_label)
    app.add_template_filter(size_label, "file_size")
    app.add_template_filter(material_file_list)
    app.add_template_global(time_zone)
    app.add_template_global(POLICY_TEXT, "policy_text")
    app.add_template_global(MEASURES, "measure_labels")
    from catalog.operations.units import tel_href  # a unit window's phone as a tel: link

    app.add_template_filter(tel_href)
    from catalog.decisions.publication import amount_text  # 万元 of a penalty: 3, 0.15

    app.add_template_filter(amount_text, "amount")
    from catalog.decisions.staff_export import export_summary  # an export's audit details

    app.add_template_filter(export_summary)


def compile_templates(app: Flask) -> int:
    """Compile every template once, when a worker starts (wsgi.py), instead of on the first
    request that renders each: the first /reports/compare of a fresh worker spent 40 of its
    80 ms compiling its template (52 templates: 0.36 s at start). Returns how many."""
    names = app.jinja_env.list_templates(extensions=("html",))
    for name in names:
        app.jinja_env.get_template(name)
    return len(names)
