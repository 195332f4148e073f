"""Snapshots: freezing the published catalog with its report, reading a past report, comparing
two points in time. A snapshot is never changed after creation."""

from __future__ import annotations

import copy
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from catalog.audit import record
from catalog.domain import Conflict, DomainError, written_or
from catalog.drafts import diff
from catalog.enums import REPORTED_TYPES
from catalog.extensions import db
from catalog.figures import catalog_figures
from catalog.models import AuditAction, Snapshot
from catalog.report import SHARES, report_document
from catalog.reports import decisions
from catalog.reports.digests import kept_index
from catalog.reports.document import quality_of_rows
from catalog.reports.frozen import (
    IndexEntry,
    collection_paused,
    frozen_data,
    frozen_index,
    frozen_items,
    live_index_of,
    published_chunks,
    store_chunks,
)
from catalog.reports.rows import (
    HandlingRow,
    ItemRow,
    live_handling_rows,
    live_items,
    rows_from_catalog,
)
from catalog.reports.stored import stored_live_report
from catalog.revision import Cache, current_stamp, revision_key

CURRENT = "current"  # names the live catalog wherever a snapshot label is expected
BASELINE_LABEL = "2020"
BASELINE_NOTE = "2020年审批制度改革后公布的目录（种子数据载入时自动生成）"
MAX_LABEL = 50


class SnapshotError(DomainError):
    """A snapshot request that cannot be done; the message says why, in Chinese."""


@dataclass
class ReportSource:
    """The live catalog or one snapshot: (loaded on demand) its report, rows and data."""

    label: str | None  # None: the live catalog
    snapshot: Snapshot | None = None
    _report: dict[str, Any] | None = field(default=None, repr=False)
    _rows: tuple[list[ItemRow], list[HandlingRow]] | None = field(default=None, repr=False)
    # the live catalog's revision_key(), when the caller has read it already
    revision: tuple[str, str] | None = field(default=None, repr=False)

    @property
    def report(self) -> dict[str, Any]:
        """The live report is computed (or taken from the cache) when first read: the lists
        behind a count don't read it, and after a change it takes seconds at province scale."""
        if self._report is None:
            if self.snapshot is None:
                key = self.revision or revision_key()
                live = _live_reports.get(key, lambda: stored_live_report(key[1]))
                # a copy of its own (JSON as stored: orjson copies it in a fifth of the time)
                self._report = orjson.loads(orjson.dumps(live))
            else:
                self._report = self.snapshot.report
                if "data_quality" not in self._report:
                    # frozen before the report had it: from the frozen rows, when they carry
                    # the elements (None, "not available", when they do not)
                    self._report = {**self._report, "data_quality": quality_of_rows(self.rows[1])}
        return self._report

    @property
    def rows(self) -> tuple[list[ItemRow], list[HandlingRow]]:
        if self._rows is None:
            if self.snapshot is None:
                self._rows = (live_items(), live_handling_rows())
            else:
                self._rows = rows_from_catalog(frozen_items(self.snapshot))
        return self._rows


# The live report of each database, for the catalog revision it was computed from: a request
# reads the revision stamp (one row); after a change the report is read from the database
# when another worker has computed it already (catalog.reports.stored), else computed.
_live_reports = Cache(8)


def live_source() -> ReportSource:
    return ReportSource(None)


# The live report's headline of each database, per catalog revision, for the pages that show
# the figures only: the aggregates of the whole catalog, without the breakdowns, the policy
# exceptions and the fingerprint (at 300,000 handling items 0.2-0.7 s, where the whole report
# takes 3-4 s, most of it the fingerprint).
_live_headlines = Cache(8)


def live_headline() -> dict[str, Any]:
    """The live report's items, handling items, shares and compression."""
    return copy.deepcopy(_live_headlines.get(revision_key(), _headline))


def _headline() -> dict[str, Any]:
    return report_document(catalog_figures(), None)


def find_snapshot(label: str) -> Snapshot | None:
    label = (label or "")[:MAX_LABEL]
    # A snapshot never changes once made: one this session has loaded already (the list of
    # the compare page, which then compares one of them) is the one found, without another
    # round trip. (Its loaded state only: an expired object is not read again here.)
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Snapshot) and sa.inspect(obj).dict.get("label") == label:
            return obj
    return db.session.scalar(sa.select(Snapshot).where(Snapshot.label == label))


def source(label: str | None) -> ReportSource | None:
    """The live catalog for None/"current", a snapshot by label, or None when there is none."""
    if not label or label == CURRENT:
        return live_source()
    snapshot = find_snapshot(label)
    return None if snapshot is None else snapshot_source(snapshot)


def snapshot_source(snapshot: Snapshot) -> ReportSource:
    return ReportSource(snapshot.label, snapshot)


def list_snapshots(with_reports: Iterable[str | None] = ()) -> list[Snapshot]:
    """Every snapshot, oldest first; the reports of those labelled in `with_reports` (the ones
    a page compares next) read in the same statement, not each in one of its own (the column
    is deferred: ~0.5 MB a report at 300,000)."""
    labels = [label for label in with_reports if label]
    query = sa.select(Snapshot).order_by(Snapshot.created_at, Snapshot.id)
    if not labels:
        return list(db.session.scalars(query))
    report = sa.case((Snapshot.label.in_(labels), Snapshot.report), else_=sa.null())
    listed = []
    for snapshot, document in db.session.execute(query.add_columns(report)):
        if document is not None and "report" not in sa.inspect(snapshot).dict:
            set_committed_value(snapshot, "report", document)
        listed.append(snapshot)
    return listed


def check_label(label: str | None) -> str:
    label = unicodedata.normalize("NFC", (label or "").strip())
    if not label:
        raise SnapshotError("请填写快照名称，例如 2021-06。")
    if len(label) > MAX_LABEL:
        raise SnapshotError(f"快照名称不能超过{MAX_LABEL}个字符。")
    if label == CURRENT or any(unicodedata.category(char)[0] in "CZ" and char != " "
                               for char in label):  # fmt: skip
        raise SnapshotError("快照名称只能包含文字、数字、空格和标点，且不能是“current”。")
    if find_snapshot(label) is not None:
        raise SnapshotError(f"已有名为 {label} 的快照；快照创建后不可修改，请换一个名称。")
    return label


def create_snapshot(label: str, *, actor: str, note: str | None = None) -> Snapshot:
    """Freeze the published catalog and its report under `label`, with its audit record in the
    same transaction; flushes only. Staff and commands call it through
    catalog.operations.snapshots, which checks who may.

    The items are read and written a chunk at a time (catalog.reports.frozen): at 300,000
    handling items it took minutes and gigabytes with the whole catalog as ORM objects and
    one row per item. The report is the live report of the revision the items were read at
    (computed from SQL aggregates, or the one already stored for that revision: the tests hold
    it to the report of the rows); the revision is read before and after the items, and a
    change committed in between refuses the snapshot (nothing is kept), so the report always
    describes exactly the frozen items."""
    label = check_label(label)
    note = (note or "").strip()[:500] or None
    stamp = current_stamp()
    now = datetime.now(UTC)
    report = stored_live_report(revision_key()[1])
    report["generated_at"] = now.isoformat(timespec="seconds")
    report["snapshot"] = {"label": label, "created_at": report["generated_at"], "note": note}
    report["decisions"] = decisions.freeze()  # the 双公示 figures as they are now
    snapshot = Snapshot(
        label=label,
        created_at=now,
        created_by=actor,
        note=note,
        fingerprint=report["fingerprint"],
        report=report,
    )
    # another request may have taken the label since check_label
    with written_or(lambda: Conflict(f"快照 {label} 已被同时提交的请求创建，本次未保存。")):
        db.session.add(snapshot)
    counted = _Counted()
    with collection_paused(), closing(published_chunks()) as chunks:
        items = store_chunks(snapshot.id, counted.through(chunks))
    in_scope = (report["items"]["total"], report["handling_items"]["total"])
    if current_stamp() != stamp or (counted.items, counted.handling_items) != in_scope:
        raise Conflict("生成快照期间目录被修改，快照未保存，请重试。")
    record(
        actor=actor, action=AuditAction.snapshot, object_type="snapshot", object_code=label,
        changes={"fingerprint": (None, snapshot.fingerprint), "items": (None, items)},
        reason=note,
    )  # fmt: skip
    return snapshot


class _Counted:
    """The items and handling items in the report's scope among the chunks passed through."""

    def __init__(self) -> None:
        self.items = self.handling_items = 0

    def through(self, chunks: Iterator[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
        reported = {item_type.value for item_type in REPORTED_TYPES}
        for chunk in chunks:
            for item in chunk:
                if item["type"] in reported:
                    self.items += 1
                    self.handling_items += len(item["handling_items"])
            yield chunk


def create_baseline_snapshot() -> Snapshot | None:
    """The first snapshot, when there is none yet: the seed's 2020 catalog."""
    if db.session.scalar(sa.select(sa.func.count(Snapshot.id))):
        return None
    return create_snapshot(BASELINE_LABEL, actor="seed", note=BASELINE_NOTE)


RATIO_KEYS = (*((key, label) for key, label, _attribute in SHARES), ("compression", "时限压缩比"))


def _change(old: float | None, new: float | None) -> float | None:
    return None if old is None or new is None else round(new - old, 2)


# Comparisons, per the two sides (a snapshot never changes; the live catalog per revision).
_comparisons = Cache(8)


def compare(old: ReportSource, new: ReportSource) -> dict[str, Any]:
    """Ratio changes (percentage points) and items added, removed and changed field by field.

    The ratios are the two stored reports'; the items are matched by code over the two indexes
    of (code, name, digest), and only the items whose digests differ are read and compared
    field by field (catalog.reports.frozen). Kept per pair of sides: on the seed the live
    catalog as data took 80-200 ms per request."""
    # (database, live revision, side, side): the revision is read only when a side is the live
    # catalog, and stands second so that an uncommitted one is never kept (revision.Cache)
    if old.snapshot is None or new.snapshot is None:
        url, stamp = revision_key()
        for side in (old, new):  # its report is the one of the revision compared
            if side.snapshot is None and side.revision is None:
                side.revision = (url, stamp)
    else:
        url, stamp = db.engine.url.render_as_string(hide_password=True), ""
    key = (url, stamp, _side(old), _side(new))
    return _comparisons.get(key, lambda: _compare(old, new, stamp))


def _side(source: ReportSource) -> Any:
    """What tells a snapshot's items apart from another's (the live catalog: None)."""
    snapshot = source.snapshot
    if snapshot is None:
        return None
    return (snapshot.id, snapshot.label, snapshot.fingerprint, snapshot.created_at.isoformat())


def _compare(old: ReportSource, new: ReportSource, stamp: str) -> dict[str, Any]:
    ratios = [
        {"key": key, "label": label, "from": old.report[key], "to": new.report[key],
         "change": _change(old.report[key]["percent"], new.report[key]["percent"])}
        for key, label in RATIO_KEYS
    ]  # fmt: skip
    added, removed, before, after = [], [], [], []
    # the live side's index, when not kept with the catalog, reads the whole catalog as data;
    # closed, whatever happens, before the request goes on (its reading thread done)
    with (
        collection_paused(),
        closing(_index(old, stamp)) as olds,
        closing(_index(new, stamp)) as news,
    ):
        for old_entry, new_entry in _matched(olds, news):
            if old_entry is None:
                added.append({"code": new_entry[0], "name": new_entry[1]})
            elif new_entry is None:
                removed.append({"code": old_entry[0], "name": old_entry[1]})
            elif old_entry[2] != new_entry[2]:
                before.append(old_entry)
                after.append(new_entry)
    old_data, new_data = _data_of(old, before), _data_of(new, after)
    changed = []
    for entry in after:
        code = entry[0]
        changes = diff(old_data[code], new_data[code])
        if changes:
            changed.append(
                {"code": code, "name": new_data[code]["name"],
                 "changes": [{"field": path, "old": was, "new": now}
                             for path, (was, now) in changes.items()]}
            )  # fmt: skip
    return {
        "from": _described(old),
        "to": _described(new),
        "ratios": ratios,
        "items": {"added": added, "removed": removed, "changed": changed},
    }


def _index(source: ReportSource, stamp: str) -> Iterator[IndexEntry]:
    """(code, name, digest, where) of every item of a side, in code order (`stamp`: the live
    catalog's revision)."""
    if source.snapshot is not None:
        yield from frozen_index(source.snapshot)
        return
    kept = kept_index(stamp)  # the digests kept with the catalog (catalog.reports.digests)
    if kept:
        yield from kept
        return
    for chunk in published_chunks():
        yield from live_index_of(chunk)


def _matched(old: Iterator[IndexEntry], new: Iterator[IndexEntry]
             ) -> Iterator[tuple[IndexEntry | None, IndexEntry | None]]:  # fmt: skip
    """Two code-ordered indexes merged: (old entry or None, new entry or None) per code."""
    before, after = next(old, None), next(new, None)
    while before is not None or after is not None:
        if after is None or (before is not None and before[0] < after[0]):
            yield before, None
            before = next(old, None)
        elif before is None or after[0] < before[0]:
            yield None, after
            after = next(new, None)
        else:
            yield before, after
            before, after = next(old, None), next(new, None)


def _data_of(source: ReportSource, entries: list[IndexEntry]) -> dict[str, dict[str, Any]]:
    """The data of some items of one side, by code."""
    if not entries:
        return {}
    if source.snapshot is not None:
        return frozen_data(source.snapshot, entries)
    codes = [entry[0] for entry in entries]
    return {item["code"]: item for chunk in published_chunks(codes=codes) for item in chunk}


def _brief(item: dict[str, Any]) -> dict[str, str]:
    return {"code": item["code"], "name": item["name"]}


def _described(source: ReportSource) -> dict[str, Any]:
    return {
        "label": source.label or CURRENT,
        "fingerprint": source.report["fingerprint"],
        "generated_at": source.report["generated_at"],
    }


def trend(sources: list[ReportSource]) -> dict[str, Any]:
    """Each ratio's percent over the given reports, in order."""
    return {
        "labels": [source.label or "当前" for source in sources],
        "series": [
            {
                "key": key,
                "label": label,
                "values": [source.report[key]["percent"] for source in sources],
            }
            for key, label in RATIO_KEYS
        ],
    }
