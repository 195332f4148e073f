"""Writing the audit trail; the services call this in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

from catalog.extensions import db
from catalog.models import AuditAction, AuditEvent


def jsonable(value: Any) -> Any:
    """A value as JSON can hold it: enums by value, decimals as text, dates (and times) in ISO
    8601, containers recursively."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value


def record(
    *,
    actor: str,
    action: AuditAction,
    object_type: str,
    object_code: str,
    changes: Mapping[str, tuple[Any, Any]],
    reason: str | None,
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event: who, what, which object, {field: [old, new]}, why, and what else the
    change carried (acknowledged warnings, the effect on the ratios; AuditEvent.details)."""
    event = AuditEvent(
        actor=actor,
        action=action,
        object_type=object_type,
        object_code=object_code,
        changes={field: [jsonable(old), jsonable(new)] for field, (old, new) in changes.items()},
        reason=reason,
        details=jsonable(details) if details else None,
    )
    db.session.add(event)
    return event
