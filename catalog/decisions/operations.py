"""Writing decision records: create, update (with the version the form was opened on), and
ending a penalty's publication early (信用修复). Each checks every rule first
(catalog.decisions.checks), writes nothing when one fails, audits what it wrote in the same
transaction and flushes; the edge commits."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import sqlalchemy as sa

from catalog import audit
from catalog.decisions import rules, sums
from catalog.decisions.checks import (
    LABELS,
    PENALTY_LABELS,
    check_licence,
    check_penalty,
    invalid,
)
from catalog.decisions.columns import COLUMNS, LICENCE, PENALTY
from catalog.decisions.lookups import Lookups, period_for
from catalog.domain import Conflict, Invalid, flush_or
from catalog.extensions import db
from catalog.models import (
    AuditAction,
    AuditEvent,
    CreditRepair,
    LicenceDecision,
    PenaltyDecision,
    utcnow,
)
from catalog.schemas import CONTROL_CHARACTERS_MESSAGE, has_control_characters

Decision = LicenceDecision | PenaltyDecision
OBJECT_TYPES = {LicenceDecision: "licence_decision", PenaltyDecision: "penalty_decision"}
MAX_REASON = 2000


class DecisionConflict(Conflict):
    """The record changed since the form was opened; nothing was written."""

    def __init__(self, document_number: str):
        super().__init__(
            f"在您编辑期间，决定“{document_number}”已被他人修改，本次提交未保存。"
            "请查看最新内容后重新提交。"
        )


def _flush(document_number: str) -> None:
    """Flush in a savepoint: a document number taken by a concurrent request between the
    check and the write is a conflict (409), and the transaction stays usable."""
    conflict = f"文书号“{document_number}”已被同时提交的其他决定使用，本次未保存，请刷新后重试。"
    flush_or(lambda: Conflict(conflict))


def _actor_name(actor: Any) -> str:
    return getattr(actor, "username", None) or str(actor)


def _create(model: type, values: Mapping[str, Any], actor: Any, reason: str | None) -> Decision:
    name = _actor_name(actor)
    decision = model(**values, updated_by=name)
    db.session.add(decision)
    _flush(decision.document_number)
    changes = sums.Changes()  # the report's figures, in this transaction
    changes.add(sums.contribution(decision, repaired=False))
    changes.apply()
    audit.record(
        actor=name,
        action=AuditAction.create,
        object_type=OBJECT_TYPES[model],
        object_code=decision.document_number,
        changes={field: (None, value) for field, value in values.items()},
        reason=reason,
    )
    return decision


def differences(decision: Decision, values: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{field: (old, new)} of the checked `values` that differ from the record."""
    return {
        field: (getattr(decision, field), value)
        for field, value in values.items()
        if getattr(decision, field) != value
    }


def _write(decision: Decision, changes: Mapping[str, tuple[Any, Any]], name: str) -> None:
    for field, (_old, new) in changes.items():
        setattr(decision, field, new)
    decision.updated_by = name


def _audit_change(decision: Decision, changes, name: str, reason: str | None) -> None:
    """An edit as the trail records it, from the form and the import alike."""
    audit.record(
        actor=name,
        action=AuditAction.change,
        object_type=OBJECT_TYPES[type(decision)],
        object_code=decision.document_number,
        changes=changes,
        reason=reason,
    )


def _update(
    decision: Decision,
    values: Mapping[str, Any],
    *,
    expected_version: int | str | None,
    actor: Any,
    reason: str | None,
) -> dict[str, tuple[Any, Any]]:
    if str(expected_version) != str(decision.version):
        raise DecisionConflict(decision.document_number)
    changes = differences(decision, values)
    if not changes:
        return changes
    before = sums.contribution(decision)
    _write(decision, changes, _actor_name(actor))
    _flush(decision.document_number)
    moved = sums.Changes()  # the report's figures: the record leaves its row for its new one
    moved.move(before, sums.contribution(decision))
    moved.apply()
    _audit_change(decision, changes, _actor_name(actor), reason)
    return changes


def create_licence(
    data: Mapping[str, Any], *, actor: Any, reason: str | None = None
) -> LicenceDecision:
    """Record a licence decision (every rule checked; nothing written when one fails)."""
    return _create(LicenceDecision, check_licence(data), actor, reason)


def update_licence(
    decision: LicenceDecision,
    data: Mapping[str, Any],
    *,
    expected_version: int | str | None,
    actor: Any,
    reason: str | None = None,
) -> dict[str, tuple[Any, Any]]:
    """Bring a licence decision to `data`; {field: (old, new)}, audited when not empty."""
    values = check_licence(data, own_id=decision.id)
    return _update(decision, values, expected_version=expected_version, actor=actor, reason=reason)


def create_penalty(
    data: Mapping[str, Any], *, actor: Any, reason: str | None = None
) -> PenaltyDecision:
    """Record a penalty decision (every rule checked; nothing written when one fails)."""
    return _create(PenaltyDecision, check_penalty(data), actor, reason)


def update_penalty(
    decision: PenaltyDecision,
    data: Mapping[str, Any],
    *,
    expected_version: int | str | None,
    actor: Any,
    reason: str | None = None,
) -> dict[str, tuple[Any, Any]]:
    """Bring a penalty decision to `data`; {field: (old, new)}, audited when not empty."""
    values = check_penalty(data, own_id=decision.id)
    return _update(decision, values, expected_version=expected_version, actor=actor, reason=reason)


def check_many(
    kind: type[Decision],
    records: list[Mapping[str, Any]],
    own_ids: list[int | None] | None = None,
) -> tuple[list[dict[str, Any] | None], dict[str, list[str]]]:
    """Every record of one kind checked by the same rules as the forms' operations (and a
    document number repeated within the batch), nothing written: (the values of each record,
    None where it fails; every error keyed "<n>.<field>" with n counted from 1). `own_ids`
    names the existing record each one would update (None: a new one), as the edit form's
    check does; two records of the batch may not update the same one. The import's preview
    shows the errors cell by cell; create_many refuses the batch on any."""
    check = check_licence if kind is LicenceDecision else check_penalty
    own_ids = own_ids or [None] * len(records)
    lookups = Lookups(batch=True)
    lookups.remember_documents(
        kind, (str(data.get("document_number") or "").strip() for data in records)
    )
    checked, seen, updating, errors = [], {}, {}, {}
    for number, (data, own_id) in enumerate(zip(records, own_ids, strict=True), start=1):
        checked.append(None)
        try:
            values = check(data, own_id=own_id, lookups=lookups)
        except Invalid as exc:
            errors.update({f"{number}.{field}": msgs for field, msgs in exc.errors.items()})
            continue
        key = (values["authority"], values["document_number"])
        if key in seen:
            errors[f"{number}.document_number"] = [f"与第{seen[key]}条的文书号重复。"]
            continue
        if own_id is not None and own_id in updating:
            errors[f"{number}.document_number"] = [
                f"与第{updating[own_id]}条对应同一条已有决定（文书号和机关统一社会信用代码相同）。"
            ]
            continue
        seen[key] = number
        if own_id is not None:
            updating[own_id] = number
        checked[-1] = values
    return checked, errors


def create_many(
    kind: type[Decision], records: list[Mapping[str, Any]], *, actor: Any, reason: str | None
) -> int:
    """Record many decisions of one kind at once (the seed): each checked by check_many, then
    written by insert_many. All or nothing: Invalid names each record (1-based) and its
    fields."""
    checked, errors = check_many(kind, records)
    if errors:
        labels = PENALTY_LABELS if kind is PenaltyDecision else LABELS
        raise invalid(
            errors,
            {path: f"第{path.split('.')[0]}条 {labels.get(path.split('.', 1)[1], path)}"
             for path in errors},
        )  # fmt: skip
    return insert_many(kind, checked, actor=actor, reason=reason)


def insert_many(
    kind: type[Decision], rows: list[dict[str, Any]], *, actor: Any, reason: str | None
) -> int:
    """Write decisions whose values check_many returned, and audit each (one create event per
    record), in two bulk statements."""
    name, now = _actor_name(actor), utcnow()
    if not rows:
        return 0
    db.session.execute(
        sa.insert(kind),
        [{**values, "version": 1, "created_at": now, "updated_at": now, "updated_by": name}
         for values in rows],
    )  # fmt: skip
    db.session.execute(
        sa.insert(AuditEvent),
        [
            {
                "occurred_at": now, "actor": name, "action": AuditAction.create,
                "object_type": OBJECT_TYPES[kind], "object_code": values["document_number"],
                "changes": {key: [None, audit.jsonable(value)] for key, value in values.items()},
                "reason": reason,
            }
            for values in rows
        ],
    )  # fmt: skip
    sums.added(LICENCE if kind is LicenceDecision else PENALTY, rows)  # the report's figures
    return len(rows)


def update_many(
    updates: list[tuple[Decision, dict[str, Any]]],
    *,
    versions: Mapping[int, int],
    actor: Any,
    reason: str | None,
) -> int:
    """Bring many decisions to values check_many returned for them (an import's apply), each
    from the version `versions` says was seen (else DecisionConflict naming it, nothing
    written), in one flush; each record changed is audited as the edit form's save is. The
    number of records changed."""
    name, changed = _actor_name(actor), []
    repaired = _repaired({d.id for d, _values in updates if isinstance(d, PenaltyDecision)})
    moved = sums.Changes()  # the report's figures: each record from its row to its new one
    for decision, values in updates:
        if versions.get(decision.id) != decision.version:
            raise DecisionConflict(decision.document_number)
        if changes := differences(decision, values):
            before = sums.contribution(decision, repaired=decision.id in repaired)
            _write(decision, changes, name)
            moved.move(before, sums.contribution(decision, repaired=decision.id in repaired))
            changed.append((decision, changes))
    if changed:
        flush_or(
            lambda: Conflict(
                "导入的文书号已被同时提交的其他决定使用，本次未导入任何内容，请重新上传后再试。"
            )
        )
    moved.apply()
    for decision, changes in changed:
        _audit_change(decision, changes, name, reason)
    return len(changed)


def _repaired(penalty_ids: set[int]) -> set[int]:
    """Which of these penalties a credit repair ended (one statement per 500)."""
    ids, found = sorted(penalty_ids), set()
    for start in range(0, len(ids), 500):
        found.update(db.session.scalars(
            sa.select(CreditRepair.penalty_id)
            .where(CreditRepair.penalty_id.in_(ids[start : start + 500]))
        ))  # fmt: skip
    return found


def record_data(decision: Decision) -> dict[str, Any]:
    """A decision's fields as the checks read them, the item and handling item by code: what
    the edit form shows, and what an import's row is laid over."""
    kind = LICENCE if isinstance(decision, LicenceDecision) else PENALTY
    data: dict[str, Any] = {}
    for column in COLUMNS[kind]:
        if column.key == "item":
            data["item"] = decision.item.code
        elif column.key == "handling_item":
            data["handling_item"] = decision.handling_item.code if decision.handling_item else None
        else:
            data[column.key] = getattr(decision, column.key)
    return data


def end_publication_early(
    penalty: PenaltyDecision,
    *,
    reason: str | None,
    actor: Any,
    today: date,
    expected_version: int | str | None = None,
) -> CreditRepair:
    """信用修复: end a penalty's publication today, once its shortest period is over (the rule
    in force on its decision date), with the staff member's reason; audited. The penalty
    leaves the public pages and stays visible to staff. With `expected_version` (the version
    the staff member's page showed), a penalty changed since is a DecisionConflict (409)."""
    if expected_version is not None and str(expected_version) != str(penalty.version):
        raise DecisionConflict(penalty.document_number)
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = ["请说明信用修复的依据（如修复申请及审核结果）。"]
    elif len(reason) > MAX_REASON or has_control_characters(reason):
        errors["reason"] = [f"不能超过 {MAX_REASON} 个字符，且{CONTROL_CHARACTERS_MESSAGE}"]
    if penalty.credit_repair is not None:
        errors["publication_ends_on"] = [
            f"该处罚已于{penalty.credit_repair.ended_on}经信用修复结束公示。"
        ]
    elif today > penalty.publication_ends_on:
        errors["publication_ends_on"] = [f"该处罚的公示已于{penalty.publication_ends_on}期满。"]
    else:
        row = period_for(penalty.severity, penalty.decided_on)
        if row is not None:
            earliest = rules.PublicationPeriod(row.min_months, row.max_months).earliest_end(
                penalty.decided_on
            )
            if today < earliest:
                errors["publication_ends_on"] = [
                    f"{penalty.severity.label}最短公示{row.min_months}个月（{row.source}），"
                    f"{earliest}前不能提前结束公示。"
                ]
    if errors:
        raise invalid(errors, {"reason": "信用修复原因", "publication_ends_on": "公示截止日期"})
    moved = sums.Changes()  # the report's figures: the penalty now counts as ended early
    moved.move(
        sums.contribution(penalty, repaired=False), sums.contribution(penalty, repaired=True)
    )
    repair = CreditRepair(
        penalty=penalty, ended_on=today, reason=reason, recorded_by=_actor_name(actor)
    )
    db.session.add(repair)
    db.session.flush()
    moved.apply()
    audit.record(
        actor=_actor_name(actor),
        action=AuditAction.change,
        object_type="penalty_decision",
        object_code=penalty.document_number,
        changes={"credit_repair.ended_on": (None, today)},
        reason=reason,
        details={"credit_repair": True},
    )
    return repair


def publicly_listed(today: date) -> sa.ColumnElement[bool]:
    """The penalties the public may see on `today`: within their 公示截止日期 and not ended
    early by 信用修复 (staff see all of them)."""
    return sa.and_(
        PenaltyDecision.publication_ends_on >= today,
        ~sa.exists().where(CreditRepair.penalty_id == PenaltyDecision.id),
    )


def is_publicly_listed(penalty: PenaltyDecision, today: date) -> bool:
    """publicly_listed for one loaded penalty."""
    return penalty.credit_repair is None and today <= penalty.publication_ends_on


def record_opened(decision: Decision, *, actor: Any) -> None:
    """Staff opened the full record (a natural person's whole ID number among it): the audit
    trail names who opened which record and when (issue 24, part 3). No field changes."""
    audit.record(
        actor=_actor_name(actor),
        action=AuditAction.view,
        object_type=OBJECT_TYPES[type(decision)],
        object_code=decision.document_number,
        changes={},
        reason=None,
        details={"record_id": decision.id},
    )


def records_exported(
    kind: str, *, filters: dict[str, str], count: int, file_format: str, actor: Any
) -> None:
    """Staff exported full records (whole ID numbers among them): the audit trail names who
    exported how many records of which kind, with which filters (action "export", 导出)."""
    audit.record(
        actor=_actor_name(actor),
        action=AuditAction.export,
        object_type=OBJECT_TYPES[LicenceDecision if kind == LICENCE else PenaltyDecision],
        object_code=f"批量导出（{file_format.upper()}）",
        changes={},
        reason=None,
        details={"export": {"format": file_format, "filters": filters, "records": count}},
    )
