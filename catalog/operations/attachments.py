"""Attaching a file to a material (空白表格 / 示例样表) and taking it off: changes of the item's
draft like every other edit (checked, versioned, audited, reviewed before it is public)."""

from __future__ import annotations

import copy
import posixpath
import unicodedata
from typing import Any

from catalog.attachments import BY_MEDIA_TYPE, JPEG, FileType, RefusedFile, store
from catalog.domain import Invalid
from catalog.drafts import current_data
from catalog.enums import AttachmentKind
from catalog.models import ApprovalItem, AttachmentBlob, ItemDraft
from catalog.operations.items import Who, check_version, save_draft
from catalog.schemas import MAX_ATTACHMENTS_PER_MATERIAL

MAX_NAME = 255


def display_name(raw: str | None, kind: FileType, attachment_kind: AttachmentKind) -> str:
    """The name a file is downloaded under: the upload's own name without any folder, ending
    in the extension of what the file is (a PDF named 表.docx is offered as 表.pdf)."""
    name = (raw or "").replace("\\", "/")
    name = posixpath.basename(name).strip()
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in name):
        raise RefusedFile("文件名不能包含控制字符（如 NUL）或无效的 Unicode 字符。")
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem = name
    suffixes = (".jpg", ".jpeg") if kind is JPEG else (kind.extension,)
    if not dot or f".{extension.lower()}" not in suffixes:
        name = f"{stem.strip() or attachment_kind.label}{kind.extension}"
    if len(name) > MAX_NAME:
        name = name[: MAX_NAME - len(kind.extension)] + kind.extension
    return name


def _material(data: dict[str, Any], handling_code: str, index: int) -> dict[str, Any]:
    handling = next((h for h in data["handling_items"] if h["code"] == handling_code), None)
    if handling is None or not 0 <= index < len(handling["materials"]):
        raise Invalid({"material": ["该申请材料已不存在（可能已被他人修改），请刷新后重试。"]})
    return handling["materials"][index]


def attach_file(
    item: ApprovalItem,
    handling_code: str,
    material_index: int,
    *,
    kind: AttachmentKind | str,
    content: bytes,
    filename: str | None,
    actor: Who,
    reason: str | None,
    expected_version: str | None,
) -> tuple[ItemDraft, AttachmentBlob]:
    """Store the file (once per content) and offer it beside a material in the item's draft."""
    kind = AttachmentKind(kind)
    check_version(item, expected_version)  # before storing anything for a stale form
    data = copy.deepcopy(current_data(item))
    material = _material(data, handling_code, material_index)
    attachments = material.setdefault("attachments", [])
    if len(attachments) >= MAX_ATTACHMENTS_PER_MATERIAL:
        raise RefusedFile(
            f"“{material['name']}”已有{len(attachments)}个文件，"
            f"每项材料最多{MAX_ATTACHMENTS_PER_MATERIAL}个；请先删除不需要的文件。"
        )
    blob = store(content)
    if any(f["sha256"] == blob.sha256 and f["kind"] == kind.value for f in attachments):
        raise RefusedFile(f"“{material['name']}”已有内容完全相同的{kind.label}。")
    name = display_name(filename, BY_MEDIA_TYPE[blob.media_type], kind)
    attachments.append({"kind": kind.value, "sha256": blob.sha256, "filename": name})
    draft = save_draft(
        item,
        data,
        actor=actor,
        reason=reason,
        expected_version=expected_version,
        acknowledged=True,  # a file changes no rule a warning is about
    )
    return draft, blob


def detach_file(
    item: ApprovalItem,
    handling_code: str,
    material_index: int,
    attachment_index: int,
    *,
    actor: Who,
    reason: str | None,
    expected_version: str | None,
) -> ItemDraft:
    """Take a file off a material in the item's draft (the stored file stays until pruned)."""
    check_version(item, expected_version)
    data = copy.deepcopy(current_data(item))
    attachments = _material(data, handling_code, material_index).get("attachments", [])
    if not 0 <= attachment_index < len(attachments):
        raise Invalid({"attachment": ["该文件已不在此材料下（可能已被他人删除），请刷新后重试。"]})
    del attachments[attachment_index]
    return save_draft(
        item,
        data,
        actor=actor,
        reason=reason,
        expected_version=expected_version,
        acknowledged=True,
    )
