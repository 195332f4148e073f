"""Changes to the synonym list and to the failed-query counts: validated once here (forms,
the import and `flask seed` all call these), flushed, audited in the same transaction. A change
of a synonym bumps the catalog's revision (catalog.revision), so every worker's search reads
the new list on its next search."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from catalog import audit
from catalog.domain import Conflict, Invalid, flush_or
from catalog.extensions import db
from catalog.models import AuditAction, AuditEvent, Role, Synonym, User
from catalog.models.search_learning import MAX_SYNONYM_TARGET, MAX_SYNONYM_TERM
from catalog.operations.actor import Actor
from catalog.schemas import CONTROL_CHARACTERS_MESSAGE, has_control_characters
from catalog.search import word_rows
from catalog.search.failed import dismiss_failed_query
from catalog.search.synonyms import read_seed_synonyms
from catalog.search.text import TERM_PATTERN, normalise

MAX_SYNONYMS = 2_000  # rows: the list is kept in memory by every worker
OBJECT_TYPE = "synonym"
STALE_MESSAGE = "该同义词已被他人修改或删除，本次未保存；请刷新页面查看最新内容后重试。"
Pair = tuple[str, str]


def _clean(value: object) -> str:
    return normalise(str(value or "")).strip()


def target_in_catalog(target: str) -> bool:
    """Whether some handling item's searched text (item name, situation, materials, legal
    bases, result) holds `target`, through the search's own index."""
    return db.session.scalar(sa.select(word_rows(target).exists())) is True


def _cycle(pairs: Iterable[Pair], new: Pair) -> list[str] | None:
    """The words of a cycle the new pair closes (its target leads back to its term), if any."""
    following: dict[str, list[str]] = {}
    for term, target in pairs:
        following.setdefault(term, []).append(target)
    term, target = new
    paths, seen = [[term, target]], {target}
    while paths:
        path = paths.pop()
        if path[-1] == term:
            return path
        for word in following.get(path[-1], []):
            if word == term or word not in seen:
                seen.add(word)
                paths.append([*path, word])
    return None


def check_pair(
    term: object, target: object, others: Iterable[Pair], *, in_catalog: bool = True
) -> tuple[Pair, dict[str, list[str]]]:
    """A synonym as it is stored and what is wrong with it ({field: [Chinese messages]}):
    nothing blank, bounded, one word people type, no control characters, not itself, not a
    duplicate of `others`, no cycle with them and (`in_catalog`) a target the catalog holds."""
    term, target = _clean(term), _clean(target)
    errors: dict[str, list[str]] = {}
    if not term:
        errors["term"] = ["请填写搜索词。"]
    elif has_control_characters(term):
        errors["term"] = [f"搜索词{CONTROL_CHARACTERS_MESSAGE}"]
    elif len(term) > MAX_SYNONYM_TERM:
        errors["term"] = [f"搜索词不能超过 {MAX_SYNONYM_TERM} 个字符。"]
    elif not TERM_PATTERN.fullmatch(term):
        errors["term"] = ["搜索词须是一个词：只含汉字、字母或数字，不含空格和标点。"]
    if not target:
        errors["target"] = ["请填写对应的词。"]
    elif has_control_characters(target):
        errors["target"] = [f"对应的词{CONTROL_CHARACTERS_MESSAGE}"]
    elif len(target) > MAX_SYNONYM_TARGET:
        errors["target"] = [f"对应的词不能超过 {MAX_SYNONYM_TARGET} 个字符。"]
    if errors:
        return (term, target), errors
    others = list(others)
    if term == target:
        errors["target"] = ["对应的词与搜索词相同：搜索词总能找到它自己，无需添加。"]
    elif (term, target) in others:
        errors["target"] = [f"同义词“{term}”→“{target}”已存在。"]
    elif cycle := _cycle(others, (term, target)):
        errors["target"] = [f"会形成循环：{'→'.join(cycle)}。"]
    elif in_catalog and not target_in_catalog(target):
        errors["target"] = [f"目录中找不到“{target}”：对应的词须是已有的事项名称或其中的词。"]
    return (term, target), errors


def stored_pairs(*, except_id: int | None = None) -> list[Pair]:
    query = sa.select(Synonym.term, Synonym.target)
    if except_id is not None:
        query = query.where(Synonym.id != except_id)
    return [(term, target) for term, target in db.session.execute(query)]


def _flush(term: str, target: str) -> None:
    # the same pair saved meanwhile by another request is a conflict
    flush_or(lambda: Conflict(f"同义词“{term}”→“{target}”刚被他人添加，本次未保存。"))


def _audit(actor: Actor, action: AuditAction, code: str, changes: dict, reason: str | None):
    audit.record(actor=actor.name, action=action, object_type=OBJECT_TYPE, object_code=code,
                 changes=changes, reason=reason)  # fmt: skip


def add_synonym(
    term: object, target: object, *, actor: User | Actor | str, reason: str | None = None,
    in_catalog: bool = True, action: AuditAction = AuditAction.create,
) -> Synonym:  # fmt: skip
    """Add term -> target; Invalid names what is wrong."""
    actor = Actor.of(actor)
    actor.require(Role.editor, "您的账号不能修改同义词。")
    others = stored_pairs()
    (term, target), errors = check_pair(term, target, others, in_catalog=in_catalog)
    if not errors and len(others) >= MAX_SYNONYMS:
        errors["term"] = [f"同义词已达上限 {MAX_SYNONYMS} 条，请先删除不再需要的。"]
    if errors:
        raise Invalid(errors)
    synonym = Synonym(term=term, target=target, updated_by=actor.name)
    db.session.add(synonym)
    _flush(term, target)
    _audit(actor, action, term, {"term": (None, term), "target": (None, target)}, reason)
    return synonym


def _check_version(synonym: Synonym, version: object) -> None:
    if str(version) != str(synonym.version):
        raise Conflict(STALE_MESSAGE)


def change_synonym(
    synonym: Synonym, term: object, target: object, *, version: object,
    actor: User | Actor | str, reason: str | None = None,
) -> dict[str, tuple[str, str]]:  # fmt: skip
    """Change a synonym seen at `version` (Conflict when it changed since); the changes."""
    actor = Actor.of(actor)
    actor.require(Role.editor, "您的账号不能修改同义词。")
    _check_version(synonym, version)
    others = stored_pairs(except_id=synonym.id)
    (term, target), errors = check_pair(term, target, others)
    if errors:
        raise Invalid(errors)
    changes = {name: (getattr(synonym, name), new) for name, new in
               (("term", term), ("target", target)) if getattr(synonym, name) != new}  # fmt: skip
    if changes:
        synonym.term, synonym.target, synonym.updated_by = term, target, actor.name
        _flush(term, target)
        _audit(actor, AuditAction.change, term, changes, reason)
    return changes


def delete_synonym(
    synonym: Synonym, *, version: object, actor: User | Actor | str, reason: str | None = None
) -> None:
    """Delete a synonym seen at `version` (Conflict when it changed since)."""
    actor = Actor.of(actor)
    actor.require(Role.editor, "您的账号不能修改同义词。")
    _check_version(synonym, version)
    changes = {"term": (synonym.term, None), "target": (synonym.target, None)}
    db.session.delete(synonym)
    db.session.flush()
    _audit(actor, AuditAction.retire, changes["term"][0], changes, reason)


@dataclass
class SynonymPlan:
    """What an uploaded list would do to the stored one: it replaces it, all or nothing."""

    rows: list[Pair] = field(default_factory=list)  # the file's pairs, cleaned, in order
    errors: list[tuple[int, str]] = field(default_factory=list)  # (row number, message)
    added: list[Pair] = field(default_factory=list)
    removed: list[Pair] = field(default_factory=list)
    unchanged: int = 0


def plan_replacement(rows: Iterable[tuple[int, object, object]]) -> SynonymPlan:
    """Check every (row number, term, target) of an upload against the others of the same
    file; the plan says what would be added and removed, or every row's errors."""
    plan = SynonymPlan()
    for number, term, target in rows:
        if len(plan.rows) >= MAX_SYNONYMS:
            plan.errors.append((number, f"同义词最多 {MAX_SYNONYMS} 条，之后的行未读取。"))
            break
        pair, errors = check_pair(term, target, plan.rows)
        if errors:
            plan.errors.extend((number, message) for m in errors.values() for message in m)
        else:
            plan.rows.append(pair)
    stored = set(stored_pairs())
    plan.added = [pair for pair in plan.rows if pair not in stored]
    plan.removed = sorted(stored - set(plan.rows))
    plan.unchanged = len(plan.rows) - len(plan.added)
    return plan


def replace_synonyms(
    rows: Iterable[tuple[int, object, object]], *, actor: User | Actor | str, source: str
) -> SynonymPlan:
    """Make the stored list the uploaded one: every row checked first, nothing written while
    any is wrong (Invalid, by row); each removal and addition audited."""
    actor = Actor.of(actor)
    actor.require(Role.editor, "您的账号不能修改同义词。")
    plan = plan_replacement(rows)
    if plan.errors:
        raise Invalid({f"row {n}": [f"第 {n} 行：{message}"] for n, message in plan.errors})
    reason = f"导入 {source}"
    removed = set(plan.removed)
    for synonym in db.session.scalars(sa.select(Synonym)):
        if (synonym.term, synonym.target) in removed:
            db.session.delete(synonym)
            changes = {"term": (synonym.term, None), "target": (synonym.target, None)}
            _audit(actor, AuditAction.import_, synonym.term, changes, reason)
    db.session.flush()
    for term, target in plan.added:
        db.session.add(Synonym(term=term, target=target, updated_by=actor.name))
        _audit(actor, AuditAction.import_, term, {"term": (None, term), "target": (None, target)},
               reason)  # fmt: skip
    _flush("…", "…")
    return plan


def seed_synonyms(path: str | Path, *, actor: str = "seed") -> int:
    """Load seed/synonyms.yaml as the starting list: only into a list nobody has kept yet
    (empty, and no synonym in the audit trail), so a re-run or a deletion by staff is never
    undone. The seed's own words are not checked against the catalog. How many were added."""
    kept = db.session.scalar(sa.select(sa.func.count()).select_from(Synonym))
    touched = db.session.scalar(sa.select(sa.exists().where(AuditEvent.object_type == OBJECT_TYPE)))
    if kept or touched:
        return 0
    reason = f"种子数据 {Path(path).name}"
    added = 0
    for term, target in read_seed_synonyms(path):
        add_synonym(term, target, actor=actor, reason=reason, in_catalog=False,
                    action=AuditAction.import_)  # fmt: skip
        added += 1
    return added


def dismiss_failed(text: str, *, actor: User | Actor | str, reason: str | None = None) -> int:
    """Forget the counts of a failed query staff have looked at (audited); rows deleted."""
    actor = Actor.of(actor)
    actor.require(Role.editor, "您的账号不能处理未找到结果的搜索。")
    text = str(text or "")[:50]
    deleted = dismiss_failed_query(text)
    if deleted:
        audit.record(actor=actor.name, action=AuditAction.retire, object_type="failed_query",
                     object_code=text, changes={"dismissed": (None, True)},
                     reason=reason or "已处理")  # fmt: skip
    return deleted
