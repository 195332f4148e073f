"""Header mappings saved under a source name, audited: made on the upload page's mapping step
and saved when the import read with them is applied (catalog.operations.imports)."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa

from catalog import audit
from catalog.domain import Conflict, DomainError, flush_or
from catalog.extensions import db
from catalog.import_headers import check_mapping
from catalog.models import AuditAction, ImportMapping, Role, User
from catalog.models.imports import MAX_SOURCE_NAME
from catalog.operations.actor import Actor
from catalog.schemas import CONTROL_CHARACTERS_MESSAGE, has_control_characters


class MappingError(DomainError):
    """A mapping or source name that cannot be saved (Chinese message)."""


def check_source_name(name: str) -> str:
    """A source name as it is saved: trimmed, at most MAX_SOURCE_NAME characters, no control
    characters; MappingError otherwise."""
    name = (name or "").strip()
    if has_control_characters(name):
        raise MappingError(f"来源名称：{CONTROL_CHARACTERS_MESSAGE}")
    if len(name) > MAX_SOURCE_NAME:
        raise MappingError(f"来源名称不能超过 {MAX_SOURCE_NAME} 个字符。")
    return name


def saved_mapping(source_name: str) -> ImportMapping | None:
    """The mapping saved under `source_name` (checked first), if any."""
    name = check_source_name(source_name)
    if not name:
        return None
    return db.session.scalar(sa.select(ImportMapping).where(ImportMapping.source_name == name))


def saved_mappings() -> list[ImportMapping]:
    return list(db.session.scalars(sa.select(ImportMapping).order_by(ImportMapping.source_name)))


def save_mapping(
    source_name: str, mapping: Mapping[str, str], *, actor: User | Actor | str
) -> ImportMapping:
    """Save (or replace) the mapping of `source_name`: header -> field or "ignore", checked by
    the rule a --mapping file follows (check_mapping). Audited in the same transaction."""
    actor = Actor.of(actor)
    actor.require(Role.editor, "您的账号不能保存表头映射。")
    name = check_source_name(source_name)
    if not name:
        raise MappingError("请填写来源名称。")
    if not mapping:
        raise MappingError("映射为空，无需保存。")
    try:
        check_mapping(mapping)
    except ValueError as exc:
        raise MappingError(str(exc)) from None
    plain = {str(header): str(target) for header, target in mapping.items()}
    saved = saved_mapping(name)
    old = saved.mapping if saved else None
    if saved is None:
        saved = ImportMapping(source_name=name, mapping=plain, updated_by=actor.name)
        db.session.add(saved)
    else:
        saved.mapping, saved.updated_by = plain, actor.name
    conflict = f"映射“{name}”刚被其他人保存，本次未导入任何内容；请重新上传，确认映射后再导入。"
    flush_or(lambda: Conflict(conflict))  # a name another request saved meanwhile
    audit.record(
        actor=actor.name,
        action=AuditAction.create if old is None else AuditAction.change,
        object_type="import_mapping",
        object_code=name,
        changes={"mapping": (old, plain)},
        reason="导入时的表头映射",
    )
    return saved
