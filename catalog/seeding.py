"""Load the bureau's catalog from the text files under seed/ through the service layer.

A re-run changes nothing unless the seed changed; it never overwrites an item that staff edited
after it was seeded, unless forced. Errors name the file, the line, the item and the field.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from catalog.domain import DomainError
from catalog.enums import Status
from catalog.extensions import db
from catalog.models import ApprovalItem, AuditAction, SeedLoad, utcnow
from catalog.operations.units import seed_units
from catalog.services import CatalogValidationError, create_item, item_data, update_item

# libyaml's parser when PyYAML was built with it (the wheels are): several times faster.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

BUREAU_FILE = "bureau.yaml"
UNITS_FILE = "units.yaml"
SEED_ACTOR = "seed"
ITEMS_DIR = "items"


class SeedError(DomainError):
    """A seed file that cannot be loaded; the message says where and why."""

    def __init__(self, message: str):
        super().__init__(f"种子数据有误：{message}")


@dataclass(frozen=True)
class SeedRecord:
    path: Path
    index: int
    node: yaml.Node  # the item's YAML node, for line numbers
    data: dict[str, Any]  # the item with the bureau defaults applied

    @property
    def code(self) -> str:
        return str(self.data.get("code", "?"))

    def where(self, field_path: str | None = None) -> str:
        line = _line_of(self.node, field_path.split(".") if field_path else [])
        return f"{self.path}:{line} 第{self.index + 1}个事项（{self.code}）"


@dataclass
class SeedResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_edits: list[str] = field(default_factory=list)  # edited by staff, left as they are
    overwritten: list[str] = field(default_factory=list)  # edited by staff, replaced (--force)
    snapshot: str | None = None  # the label of the baseline snapshot this load created
    units: list[str] = field(default_factory=list)  # unit windows written (units.yaml)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.overwritten or self.units)


def _line_of(node: yaml.Node, path: list[str]) -> int:
    """The 1-based line of the deepest node along a field path ("handling_items.0.visits")."""
    for segment in path:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((value for key, value in node.value if key.value == segment), None)
        elif isinstance(node, yaml.SequenceNode) and segment.isdigit():
            position = int(segment)
            child = node.value[position] if position < len(node.value) else None
        if child is None:
            break
        node = child
    return node.start_mark.line + 1


def _parse(path: Path) -> tuple[Any, yaml.Node | None]:
    try:
        text = path.read_text(encoding="utf-8")
        return yaml.load(text, Loader=SafeLoader), yaml.compose(text, Loader=SafeLoader)
    except (OSError, UnicodeDecodeError) as exc:
        raise SeedError(f"{path}: 无法读取：{exc}") from None
    except yaml.YAMLError as exc:
        raise SeedError(f"{path}: YAML 格式错误：{exc}") from None


def read_seed(seed_dir: Path) -> Iterator[SeedRecord]:
    """Every item record of the seed, bureau defaults applied, in file order."""
    bureau_path = seed_dir / BUREAU_FILE
    defaults, _node = _parse(bureau_path)
    if not isinstance(defaults, dict):
        raise SeedError(f"{bureau_path}: 须为“键: 值”形式的默认值。")
    item_files = sorted((seed_dir / ITEMS_DIR).glob("*.yaml"))
    if not item_files:
        raise SeedError(f"{seed_dir / ITEMS_DIR}: 没有找到事项文件（*.yaml）。")
    for path in item_files:
        content, root = _parse(path)
        if not isinstance(content, dict) or not isinstance(content.get("items"), list):
            raise SeedError(f"{path}: 须为 “items:” 下的事项列表。")
        items_node = next(value for key, value in root.value if key.value == "items")
        for index, (record, node) in enumerate(
            zip(content["items"], items_node.value, strict=True)
        ):
            if not isinstance(record, dict):
                raise SeedError(
                    f"{path}:{node.start_mark.line + 1} 第{index + 1}个事项：须为映射。"
                )
            yield SeedRecord(path, index, node, {**defaults, **record})


def read_unit_windows(seed_dir: Path) -> list[dict[str, Any]]:
    """The handling units' windows (units.yaml): each unit with bureau.yaml's location and
    hours and the file's phone; none when the seed has no units.yaml."""
    path = seed_dir / UNITS_FILE
    if not path.exists():
        return []
    content, _node = _parse(path)
    defaults, _node = _parse(seed_dir / BUREAU_FILE)
    if not isinstance(content, dict) or not isinstance(content.get("units"), list):
        raise SeedError(f"{path}: 须有 “units:” 下的单位名称列表。")
    window = {
        "address": defaults.get("location"),
        "hours": defaults.get("hours"),
        "phone": content.get("phone"),
    }
    return [{"name": name, **window} for name in content["units"]]


def digest(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _write(record: SeedRecord, item: ApprovalItem | None) -> ApprovalItem:
    try:
        reason = f"种子数据 {record.path.name}"
        if item is None:
            return create_item(
                record.data, status=Status.published, actor=SEED_ACTOR, reason=reason
            )
        update_item(item, record.data, actor=SEED_ACTOR, reason=reason, action=AuditAction.import_)
        return item
    except CatalogValidationError as exc:
        problems = "；".join(
            f"{record.where(path)} 字段 {path}：{' '.join(messages)}"
            for path, messages in exc.errors.items()
        )
        raise SeedError(problems) from None


def load_seed(seed_dir: Path, *, force: bool = False) -> SeedResult:
    """Bring the database to the seed; flushes, the caller commits or rolls back."""
    result = SeedResult()
    seen: dict[str, SeedRecord] = {}
    for record in read_seed(seed_dir):
        if record.code in seen:
            raise SeedError(
                f"{record.where('code')} 编码与 {seen[record.code].where('code')} 重复。"
            )
        seen[record.code] = record
        seed_digest = digest(record.data)
        item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == record.code))
        state = db.session.get(SeedLoad, record.code)
        if item is None:
            item = _write(record, None)
            result.created.append(record.code)
        else:
            edited = state is None or digest(item_data(item)) != state.content_digest
            if edited and not force:
                result.kept_edits.append(record.code)
                continue
            if not edited and state.seed_digest == seed_digest:
                result.unchanged.append(record.code)
                continue
            _write(record, item)
            (result.overwritten if edited else result.updated).append(record.code)
        content_digest = digest(item_data(item))
        if state is None:
            state = SeedLoad(
                item_code=record.code, seed_digest=seed_digest, content_digest=content_digest
            )
            db.session.add(state)
        state.seed_digest, state.content_digest = seed_digest, content_digest
        state.loaded_at = utcnow()
    db.session.flush()
    result.units = seed_units(read_unit_windows(seed_dir), force=force)
    # The first load also freezes the 2020 catalog and its report, the audits' baseline.
    from catalog.reports.snapshots import create_baseline_snapshot

    baseline = create_baseline_snapshot()
    result.snapshot = baseline.label if baseline else None
    return result
