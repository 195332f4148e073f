"""Files attached to materials (空白表格 / 示例样表): what is accepted, how it is stored, who may
download it, and clearing away what nothing refers to.

Accepted are PDF, DOCX, XLSX, PNG and JPEG, recognised by their content alone (never the name
or the browser's Content-Type): the signature of each format, and for DOCX and XLSX a zip whose
[Content_Types].xml names the document's main part, present in the zip, and no macros. A file
is stored once per content, under its SHA-256 (models.AttachmentBlob); materials refer to it by
hash. docs/attachments.md describes the whole.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from flask import current_app

from catalog.domain import Invalid
from catalog.enums import Status
from catalog.extensions import db
from catalog.models import (
    ApprovalItem,
    AttachmentBlob,
    HandlingItem,
    ItemDraft,
    Material,
    MaterialAttachment,
    utcnow,
)

DEFAULT_MAX_BYTES = 10 * 1024 * 1024  # ATTACHMENT_MAX_BYTES
SHA256 = re.compile(r"[0-9a-f]{64}")
ALLOWED = "PDF、DOCX、XLSX、PNG、JPEG"


@dataclass(frozen=True)
class FileType:
    media_type: str
    label: str  # what people are told the file is
    extension: str


PDF = FileType("application/pdf", "PDF", ".pdf")
PNG = FileType("image/png", "PNG 图片", ".png")
JPEG = FileType("image/jpeg", "JPEG 图片", ".jpg")
DOCX = FileType(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word 文档", ".docx"
)
XLSX = FileType(
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel 表格", ".xlsx"
)
BY_MEDIA_TYPE = {kind.media_type: kind for kind in (PDF, PNG, JPEG, DOCX, XLSX)}

# The content type of an OOXML package's main part, as [Content_Types].xml names it
_MAIN_PARTS = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
}
_MACRO_PARTS = (
    "application/vnd.ms-word.document.macroenabled.main+xml",
    "application/vnd.ms-word.template.macroenabledtemplate.main+xml",
    "application/vnd.ms-excel.sheet.macroenabled.main+xml",
    "application/vnd.ms-excel.template.macroenabled.main+xml",
    "application/vnd.ms-excel.addin.macroenabled.main+xml",
    "application/vnd.ms-office.vbaproject",
)
_CONTENT_TYPES = "[Content_Types].xml"
_CONTENT_TYPES_MAX = 256 * 1024  # a real one is a few kilobytes
_ZIP_MAX_ENTRIES = 10_000
_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"


class RefusedFile(Invalid):
    """An uploaded file the catalog does not take; the message names the problem."""

    def __init__(self, message: str, field: str = "file"):
        super().__init__({field: [message]})


def max_bytes() -> int:
    return int(current_app.config.get("ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def size_label(size: int) -> str:
    """A file size as people read it: 12.3 KB, 1.5 MB."""
    if size < 1024:
        return f"{size} 字节"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def detect(content: bytes) -> FileType:
    """The type of a file from its content; RefusedFile says what is wrong with it."""
    if content.startswith(b"%PDF-"):
        return PDF
    if content.startswith(b"\x89PNG\r\n\x1a\n") and content[12:16] == b"IHDR":
        return PNG
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith(b"PK\x03\x04"):
        return _office(content)
    if content.startswith(b"MZ"):
        raise RefusedFile(f"文件是可执行程序，不能上传。只接受 {ALLOWED} 文件。")
    if content.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise RefusedFile(
            "文件是旧版 Office 格式（.doc/.xls），不能上传：请另存为 .docx 或 .xlsx 后再上传。"
        )
    raise RefusedFile(f"无法识别文件类型（按文件内容判断，与扩展名无关）。只接受 {ALLOWED} 文件。")


def _office(content: bytes) -> FileType:
    """A DOCX or XLSX package: its main part named in [Content_Types].xml and present, and no
    macros. Only the small [Content_Types].xml is decompressed (bounded), never the parts."""
    not_office = (
        f"文件是 ZIP 压缩包，但不是 Word（.docx）或 Excel（.xlsx）文档。只接受 {ALLOWED} 文件。"
    )
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as package:
            entries = package.infolist()
            if len(entries) > _ZIP_MAX_ENTRIES:
                raise RefusedFile(not_office)
            names = {entry.filename for entry in entries}
            if any(name.lower().endswith("vbaproject.bin") for name in names):
                raise RefusedFile(_MACRO_MESSAGE)
            info = next((e for e in entries if e.filename == _CONTENT_TYPES), None)
            if info is None or info.file_size > _CONTENT_TYPES_MAX:
                raise RefusedFile(not_office)
            with package.open(info) as stream:
                listing = stream.read(_CONTENT_TYPES_MAX + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError):
        raise RefusedFile("ZIP 文件已损坏或无法读取。") from None
    if len(listing) > _CONTENT_TYPES_MAX:
        raise RefusedFile(not_office)
    try:
        root = ElementTree.fromstring(listing)
    except (ElementTree.ParseError, DefusedXmlException, ValueError):
        raise RefusedFile(not_office) from None
    found: set[FileType] = set()
    for override in root.iter(f"{_NS}Override"):
        content_type = (override.get("ContentType") or "").strip().lower()
        if content_type in _MACRO_PARTS:
            raise RefusedFile(_MACRO_MESSAGE)
        kind = _MAIN_PARTS.get(content_type)
        if kind is not None and (override.get("PartName") or "").lstrip("/") in names:
            found.add(kind)
    for default in root.iter(f"{_NS}Default"):
        if (default.get("ContentType") or "").strip().lower() in _MACRO_PARTS:
            raise RefusedFile(_MACRO_MESSAGE)
    if len(found) != 1:
        raise RefusedFile(not_office)
    return found.pop()


_MACRO_MESSAGE = (
    "文件含有宏（如 .docm、.xlsm），出于安全不能上传：请另存为不含宏的 .docx 或 .xlsx。"
)


def check_file(content: bytes) -> FileType:
    """What an upload is, or RefusedFile: empty, too large, or not an accepted type."""
    if not content:
        raise RefusedFile("文件是空的。")
    limit = max_bytes()
    if len(content) > limit:
        raise RefusedFile(f"文件超过 {size_label(limit)}（本文件 {size_label(len(content))}）。")
    return detect(content)


def store(content: bytes) -> AttachmentBlob:
    """Store a checked file once per content: the blob already held, or a new one (flushed)."""
    kind = check_file(content)
    digest = hashlib.sha256(content).hexdigest()
    blob = db.session.get(AttachmentBlob, digest)
    if blob is None:
        blob = AttachmentBlob(
            sha256=digest, media_type=kind.media_type, size=len(content), data=content
        )
        # another request storing the same content at the same moment: one row either way (the
        # savepoint is rolled back by its block, and the row the other request stored is read)
        try:
            with db.session.begin_nested():
                db.session.add(blob)
                db.session.flush()
        except sa.exc.IntegrityError:
            blob = db.session.get(AttachmentBlob, digest)
    return blob


def missing_file_errors(loaded: Mapping[str, Any]) -> dict[str, list[str]]:
    """{path: [message]} for every attachment of an item's (loaded) data whose file the
    catalog does not hold: a reference is only ever to a stored file."""
    wanted: dict[str, list[str]] = {}
    for h, handling in enumerate(loaded["handling_items"]):
        for m, material in enumerate(handling["materials"]):
            for a, attachment in enumerate(material.get("attachment_data") or []):
                path = f"handling_items.{h}.materials.{m}.attachments.{a}.sha256"
                wanted.setdefault(attachment["sha256"], []).append(path)
    if not wanted:
        return {}
    held = set(
        db.session.scalars(
            sa.select(AttachmentBlob.sha256).where(AttachmentBlob.sha256.in_(list(wanted)))
        )
    )
    return {
        path: [f"目录中没有 SHA-256 为 {digest[:12]}… 的文件，请先上传该文件。"]
        for digest, paths in wanted.items()
        if digest not in held
        for path in paths
    }


def blob_or_none(sha256: str) -> AttachmentBlob | None:
    return db.session.get(AttachmentBlob, sha256)


def is_published(sha256: str) -> bool:
    """Whether a material of a published handling item of a published item offers the file."""
    return (
        db.session.scalar(
            sa.select(MaterialAttachment.id)
            .join(Material, Material.id == MaterialAttachment.material_id)
            .join(HandlingItem, HandlingItem.id == Material.handling_item_id)
            .join(ApprovalItem, ApprovalItem.id == HandlingItem.item_id)
            .where(
                MaterialAttachment.sha256 == sha256,
                HandlingItem.status == Status.published,
                ApprovalItem.status == Status.published,
            )
            .limit(1)
        )
        is not None
    )


def _draft_references(drafts: Iterable[ItemDraft]) -> set[str]:
    return {
        attachment.get("sha256")
        for draft in drafts
        for handling in draft.data.get("handling_items", [])
        for material in handling.get("materials", [])
        for attachment in material.get("attachments", [])
    }


def prune(older_than: timedelta = timedelta(days=1), now: datetime | None = None) -> list[str]:
    """Remove the blobs no material and no draft refers to, stored before `older_than` ago
    (a younger one may be an upload whose draft is being saved); their hashes. Flushes."""
    cutoff = (now or utcnow()) - older_than
    candidates = set(
        db.session.scalars(
            sa.select(AttachmentBlob.sha256).where(
                AttachmentBlob.created_at < cutoff,
                ~sa.exists().where(MaterialAttachment.sha256 == AttachmentBlob.sha256),
            )
        )
    )
    if not candidates:
        return []
    unused = sorted(candidates - _draft_references(db.session.scalars(sa.select(ItemDraft))))
    if unused:
        db.session.execute(sa.delete(AttachmentBlob).where(AttachmentBlob.sha256.in_(unused)))
    return unused
