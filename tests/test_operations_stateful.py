"""Random sequences of staff operations against a model of what each item should hold.

Two editors and two reviewers (and the command line) work on a small catalog: they open an
item (and remember its version), save promised_days/situation changes into its draft with the
version they last saw (sometimes a stale one), submit, return with a note, publish, discard,
retire a handling item or a whole item, preview an import (and apply it later, against the
versions of that preview) and freeze snapshots. Each step is one transaction, as the edge
(catalog.edge) runs it: the operation, then a commit, or a rollback on a refusal of the domain.

The model predicts every step's outcome (done, or which refusal) before it runs, and after every
step the database must agree with it:

(a) no saved change is lost unless a conflict was raised: every item's draft and published
    rows are what the model says (current_data, published_data, review state, contributors,
    statuses), and a refused step wrote nothing, audit included;
(b) every publish has exactly one audit event `publish`, with its actor, its time, every field
    changed (old -> new) and the effect on the ratios, which must be the figures as they
    really were before and after;
(c) the report equals the ratio engine over the published rows (the SQL aggregates against
    catalog.ratios over the rows in scope, which must be the model's published rows);
(d) no public page or API shows a draft: /api/v1/items/<code> is the published data of a
    published item, 404 for any other, and the guide page of an item with a pending draft
    shows none of the draft's new situations.

Two bugs of the catalog found this way (fixed) have tests of their own at the end: the API
listed retired handling items, and publishing the draft of a retired item made it public
again (the machine still does not publish a retired item's draft: its test covers it).

Settings are modest (20 sequences of up to 16 steps): about 20-35 s per database.
"""

from __future__ import annotations

import copy
import io
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from openpyxl import Workbook, load_workbook

from catalog import figures
from catalog.accounts import create_user
from catalog.audit import jsonable
from catalog.domain import DomainError, Invalid, NotAllowed
from catalog.drafts import RatioPreview, current_data, diff, editable_version, published_data
from catalog.enums import REPORTED_TYPES, ItemType, Status
from catalog.importing import ImportConflict, SpreadsheetError, parse_rows, plan_import, read_file
from catalog.models import (
    ApprovalItem,
    AuditAction,
    AuditEvent,
    HandlingItem,
    Snapshot,
    User,
)
from catalog.operations import items as operations
from catalog.operations.imports import apply_import
from catalog.operations.items import EditConflict
from catalog.operations.snapshots import create_snapshot
from catalog.ratios import figures_from_facts
from catalog.reports.frozen import frozen_items
from catalog.reports.snapshots import SnapshotError
from catalog.services import create_item as create_rows
from catalog.spreadsheets import (
    FIELD_OF_EXPORT_HEADER,
    ITEM_SHEET,
    MATERIAL_HEADERS,
    MATERIAL_SHEET,
    ROW_HEADERS,
    export_data,
    to_xlsx,
)
from tests.conftest import wipe
from tests.factories import handling_item_data, item_data

PASSWORD = "许昌交通运输2026审批"
EDITORS = ("e1", "e2")
REVIEWERS = ("r1", "r2")
PEOPLE = EDITORS + REVIEWERS
COMMAND = "cli"
NEW = "D"  # the item an import may create
CODES = ("A", "B", "C", NEW)
# Most steps on A, so that edits, reviews and imports meet on one item.
PICK = st.sampled_from(("A", "A", "A", "B", "C", NEW))
PICK_INDEX = st.integers(0, 5)  # 0: any item, else one where the step can be done
FRESH = st.sampled_from((True, True, False))  # reopen the item first, or use the old form
# Reported types (licence, confirmation) and one outside the report (punishment).
CATALOG = (
    item_data(
        handling_item_data(code="A-01"),
        handling_item_data(code="A-02", situation="变更", promised_days=8),
        code="A",
        name="港口经营许可",
    ),
    item_data(handling_item_data(code="B-01", promised_days=10), code="B", type="confirmation"),
    item_data(handling_item_data(code="C-01"), code="C", name="违规经营处罚", type="punishment"),
)
PROMISED = st.sampled_from((2, 3, 5, 8, 20, 25))  # 25 is over the statutory 20: refused
STATUTORY = 20


@dataclass
class Expected:
    """What the model says an item holds."""

    published: dict[str, Any]  # its rows (published or not) as data
    status: Status
    pending: dict[str, Any] | None = None  # its draft
    state: str | None = None  # the draft's review state
    contributors: list[str] = field(default_factory=list)
    retired_handling: set[str] = field(default_factory=set)
    revision: int = 0  # bumped by every change an open form must not be saved over
    publishes: int = 0

    @property
    def current(self) -> dict[str, Any]:
        return self.pending if self.pending is not None else self.published

    def handling_status(self, code: str) -> Status:
        if code in self.retired_handling:
            return Status.retired
        return Status.published if self.status == Status.published else Status.unpublished


@dataclass
class Preview:
    """An import someone previewed and has not applied yet."""

    actor: str
    content: bytes
    versions: dict[str, str | None]  # plan.versions of the preview
    revisions: dict[str, int | None]  # the model's revisions then (None: no such item)
    data: dict[str, dict[str, Any]]  # what the file makes of each item


def workbook(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = ITEM_SHEET
    sheet.append(ROW_HEADERS)
    for row in rows:
        sheet.append(row)
    book.create_sheet(MATERIAL_SHEET).append(MATERIAL_HEADERS)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def exported_rows() -> list[dict[str, Any]]:
    """The export's item sheet as staff download it, one dict per handling item."""
    sheet = load_workbook(io.BytesIO(to_xlsx(export_data())), read_only=True)[ITEM_SHEET]
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    fields = [FIELD_OF_EXPORT_HEADER[header] for header in values[0]]
    return [dict(zip(fields, row, strict=True)) for row in values[1:]]


def plan_of(content: bytes):
    return plan_import(parse_rows(*read_file("导入.xlsx", content, None)))


def item_of(db, code: str) -> ApprovalItem:
    return db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == code))


def audit_count(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))


def without_status(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key != "status"}


def as_item_data(api: dict[str, Any]) -> dict[str, Any]:
    """An item as the API gives it, as item data. The API writes what item data leaves out
    while unset, and what is not the item's own: every material's files with their download
    facts (docs/attachments.md), the FAQ and each online address (docs/guide.md), and the unit's
    window (docs/units.md), and the count of its published licence decisions (docs/decisions.md).
    This catalog sets none of the first three, the window is the unit's, and it has no
    decisions."""
    data = without_status(api)
    assert data.pop("licence_decisions") == 0, data
    assert data.pop("faq") == [], data
    assert data.pop("window")["name"] == data["handling_unit"]
    for handling in data["handling_items"]:
        assert handling.pop("online_url") is None, handling
        for material in handling["materials"]:
            assert material.pop("attachments") == [], material
    return data


class OperationsMachine(RuleBasedStateMachine):
    """Set up by make_machine(): the app's `db`, a test client and the users' password hash."""

    db: Any
    client: Any
    password_hash: str

    def __init__(self):
        super().__init__()
        db = self.db
        db.session.rollback()
        db.session.remove()
        with db.engine.begin() as connection:
            wipe(connection)
        for name in PEOPLE:  # as create_user left them (hashing once per test is enough)
            role = "editor" if name in EDITORS else "reviewer"
            db.session.add(User(username=name, password_hash=self.password_hash, role=role))
        for payload in CATALOG:
            create_rows(payload, status=Status.published)
        db.session.commit()
        self.items = {
            payload["code"]: Expected(
                published=published_data(item_of(db, payload["code"])), status=Status.published
            )
            for payload in CATALOG
        }
        self.seen: dict[tuple[str, str], tuple[str, dict[str, Any], int]] = {}
        self.previews: list[Preview] = []
        self.labels: set[str] = set()
        self.snapshots = 0
        self.counter = 0

    # -- running a step as the edge does ----------------------------------------------------

    def actor(self, name: str) -> User | str:
        if name == COMMAND:
            return COMMAND
        return self.db.session.scalar(sa.select(User).where(User.username == name))

    def attempt(self, operation, refusal: type[DomainError] | None, events: int = 1):
        """Run `operation` in one transaction: commit when it succeeds, roll back when the
        domain refuses it. The model's prediction (`refusal`, or None for done) must hold,
        and exactly `events` audit events must be written, none when refused."""
        db = self.db
        before = audit_count(db)
        try:
            result = operation()
        except DomainError as refused:
            db.session.rollback()
            assert refusal is not None and isinstance(refused, refusal), (
                f"predicted {refusal.__name__ if refusal else 'success'}, got {refused!r}"
            )
            assert audit_count(db) == before, "a refused step left audit events"
            db.session.rollback()
            return refused
        db.session.commit()
        assert refusal is None, f"predicted {refusal.__name__}, but it was done"
        assert audit_count(db) == before + events
        return result

    def look(self, name: str, code: str) -> tuple[str, dict[str, Any], int]:
        """`name` opens the item: the version their form carries and the data it shows."""
        item = item_of(self.db, code)
        self.seen[name, code] = (
            editable_version(item),
            copy.deepcopy(current_data(item)),
            self.items[code].revision,
        )
        self.db.session.rollback()
        return self.seen[name, code]

    def form_of(self, name: str, code: str, fresh: bool) -> tuple[str, dict[str, Any], int]:
        if fresh or (name, code) not in self.seen:
            return self.look(name, code)
        return self.seen[name, code]

    def in_state(self, *states: str) -> bool:
        """Whether some item's draft is in one of `states` (a review step has work to do)."""
        return any(expected.state in states for expected in self.items.values())

    def choose(self, pick: int, wanted) -> str:
        """Mostly an item where the step can be done; now and then any item (to be refused)."""
        codes = sorted(code for code, expected in self.items.items() if wanted(expected))
        if pick == 0 or not codes:
            codes = sorted(self.items)
        return codes[pick % len(codes)]

    @initialize(
        starts=st.lists(
            st.tuples(
                st.sampled_from(("A", "B", "C")),
                st.sampled_from(EDITORS),
                st.sampled_from(("draft", "submitted", "returned")),
            ),
            max_size=2,
            unique_by=lambda start: start[0],
        )
    )
    def start_reviews(self, starts):
        """Start with a draft or two in review: the steps below then meet on them sooner."""
        for code, editor, state in starts:
            expected = self.items[code]
            data = copy.deepcopy(expected.published)
            data["handling_items"][0]["promised_days"] = 3
            item = item_of(self.db, code)
            operations.save_draft(
                item, data, actor=self.actor(editor), reason="起步",
                expected_version=editable_version(item), acknowledged=True,
            )  # fmt: skip
            if state != "draft":
                operations.submit(item, actor=COMMAND, expected_version=editable_version(item))
            if state == "returned":
                operations.return_to_editor(
                    item, actor=COMMAND, expected_version=editable_version(item), note="补充依据"
                )
            self.db.session.commit()
            expected.pending, expected.state, expected.contributors = data, state, [editor]
            expected.revision += 1

    # -- the rules ----------------------------------------------------------------------------

    @rule(name=st.sampled_from(PEOPLE), code=PICK)
    def open_item(self, name, code):
        if code in self.items:
            self.look(name, code)

    @rule(
        editor=st.sampled_from((*EDITORS, *EDITORS, "r1")),  # a reviewer may edit too
        code=PICK,
        index=st.integers(0, 1),
        promised=PROMISED,
        new_situation=st.booleans(),
        fresh=FRESH,
    )
    def save_draft(self, editor, code, index, promised, new_situation, fresh):
        if code not in self.items:
            return
        expected = self.items[code]
        version, data, revision = self.form_of(editor, code, fresh)
        data = copy.deepcopy(data)
        handling = data["handling_items"][index % len(data["handling_items"])]
        handling["promised_days"] = promised
        if new_situation:
            self.counter += 1
            handling["situation"] = f"情形{self.counter}"
        if revision != expected.revision:
            refusal = EditConflict
        elif data == expected.current or promised > STATUTORY:
            refusal = Invalid
        else:
            refusal = None

        def save():
            return operations.save_draft(
                item_of(self.db, code), data, actor=self.actor(editor), reason="调整时限",
                expected_version=version, acknowledged=True,
            )  # fmt: skip

        refused = self.attempt(save, refusal)
        if isinstance(refused, EditConflict):
            # the conflict shows what is there now, and the version a new form carries
            assert refused.current == expected.current
            assert refused.current_version == editable_version(item_of(self.db, code))
            self.db.session.rollback()
        if refusal is None:
            # a submitted draft goes back to draft; a returned one stays returned till submitted
            expected.pending = data
            expected.state = "returned" if expected.state == "returned" else "draft"
            if editor not in expected.contributors:
                expected.contributors.append(editor)
            expected.revision += 1

    @precondition(lambda self: self.in_state("draft", "returned"))
    @rule(editor=st.sampled_from(EDITORS), pick=PICK_INDEX, fresh=FRESH)
    def submit(self, editor, pick, fresh):
        code = self.choose(pick, lambda e: e.state in ("draft", "returned"))
        expected = self.items[code]
        version, _data, revision = self.form_of(editor, code, fresh)
        if expected.pending is None:
            refusal = Invalid
        elif revision != expected.revision:
            refusal = EditConflict
        elif expected.state == "submitted":
            refusal = Invalid
        else:
            refusal = None
        self.attempt(
            lambda: operations.submit(
                item_of(self.db, code), actor=self.actor(editor), expected_version=version
            ),
            refusal,
        )
        if refusal is None:
            expected.state = "submitted"
            expected.revision += 1

    @precondition(lambda self: self.in_state("submitted"))
    @rule(
        reviewer=st.sampled_from(REVIEWERS),
        pick=PICK_INDEX,
        fresh=FRESH,
        note=st.sampled_from(("请核实承诺时限的依据。", "请核实承诺时限的依据。", "  ")),
    )
    def return_to_editor(self, reviewer, pick, fresh, note):
        code = self.choose(pick, lambda e: e.state == "submitted")
        expected = self.items[code]
        version, _data, revision = self.form_of(reviewer, code, fresh)
        if not note.strip() or expected.pending is None:
            refusal = Invalid
        elif revision != expected.revision:
            refusal = EditConflict
        elif expected.state != "submitted":
            refusal = Invalid
        else:
            refusal = None
        self.attempt(
            lambda: operations.return_to_editor(
                item_of(self.db, code), actor=self.actor(reviewer), expected_version=version,
                note=note,
            ),
            refusal,
        )  # fmt: skip
        if refusal is None:
            expected.state = "returned"
            expected.revision += 1
            assert item_of(self.db, code).draft.review_note == note
            self.db.session.rollback()

    @precondition(lambda self: self.in_state("submitted"))
    @rule(
        reviewer=st.sampled_from((*REVIEWERS, *REVIEWERS, "e1")),
        pick=PICK_INDEX,
        fresh=FRESH,
    )
    def publish(self, reviewer, pick, fresh):
        code = self.choose(pick, lambda e: e.state == "submitted")
        expected = self.items[code]
        if expected.status == Status.retired and expected.state == "submitted":
            return  # a retired item's draft: covered by its own test below
        version, _data, revision = self.form_of(reviewer, code, fresh)
        if reviewer in EDITORS:
            refusal = NotAllowed
        elif expected.pending is None:
            refusal = Invalid
        elif revision != expected.revision:
            refusal = EditConflict
        elif expected.state != "submitted":
            refusal = Invalid
        elif reviewer in expected.contributors:
            refusal = NotAllowed  # four eyes
        else:
            refusal = None
        figures_before = figures.catalog_figures()
        exceptions_before = figures.policy_exception_counts()
        self.attempt(
            lambda: operations.publish(
                item_of(self.db, code), actor=self.actor(reviewer), expected_version=version
            ),
            refusal,
        )
        if refusal is not None:
            return
        changes: dict[str, Any] = {}
        if expected.status == Status.unpublished:
            changes["status"] = (Status.unpublished, Status.published)
            for handling in expected.published["handling_items"]:
                if handling["code"] not in expected.retired_handling:
                    changes[f"handling_items.{handling['code']}.status"] = (
                        Status.unpublished,
                        Status.published,
                    )
            expected.status = Status.published
        changes.update(diff(expected.published, expected.pending))
        changes["revision.state"] = ("submitted", None)
        effect = RatioPreview(
            before=figures_before,
            after=figures.catalog_figures(),
            exceptions_before=exceptions_before,
            exceptions_after=figures.policy_exception_counts(),
        )
        events = self.db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == AuditAction.publish, AuditEvent.object_code == code)
            .order_by(AuditEvent.id)
        ).all()
        assert len(events) == expected.publishes + 1
        event = events[-1]
        assert (event.actor, event.object_type) == (reviewer, "item")
        assert event.occurred_at is not None
        assert event.changes == jsonable(changes)
        assert event.details["ratios"] == jsonable(effect.as_changes())
        assert event.details["contributors"] == expected.contributors
        assert event.details["self_published"] is False
        self.db.session.rollback()
        expected.published, expected.pending, expected.state = expected.pending, None, None
        expected.contributors = []
        expected.publishes += 1
        expected.revision += 1

    @precondition(lambda self: self.in_state("draft", "submitted", "returned"))
    @rule(editor=st.sampled_from(EDITORS), pick=PICK_INDEX, fresh=FRESH)
    def discard(self, editor, pick, fresh):
        code = self.choose(pick, lambda e: e.pending is not None)
        expected = self.items[code]
        version, _data, revision = self.form_of(editor, code, fresh)
        if expected.pending is None:
            refusal = Invalid
        elif revision != expected.revision:
            refusal = EditConflict
        else:
            refusal = None
        self.attempt(
            lambda: operations.discard(
                item_of(self.db, code), actor=self.actor(editor), expected_version=version
            ),
            refusal,
        )
        if refusal is None:
            expected.pending, expected.state, expected.contributors = None, None, []
            expected.revision += 1

    @precondition(lambda self: sum(len(e.retired_handling) for e in self.items.values()) < 2)
    @rule(reviewer=st.sampled_from(REVIEWERS), code=PICK, index=st.integers(0, 1))
    def retire_handling_item(self, reviewer, code, index):
        if code not in self.items:
            return
        expected = self.items[code]
        listed = expected.published["handling_items"]
        handling_code = listed[index % len(listed)]["code"]
        refusal = Invalid if handling_code in expected.retired_handling else None

        def retire():
            handling = self.db.session.scalar(
                sa.select(HandlingItem).where(HandlingItem.code == handling_code)
            )
            operations.retire_handling_item(handling, actor=self.actor(reviewer), reason="停办")

        self.attempt(retire, refusal)
        if refusal is None:
            expected.retired_handling.add(handling_code)

    @precondition(lambda self: not any(e.status == Status.retired for e in self.items.values()))
    @rule(
        reviewer=st.sampled_from(REVIEWERS),
        code=st.sampled_from(("B", "C", NEW)),  # A stays for the review cycle
        with_version=st.booleans(),
        fresh=FRESH,
    )
    def retire_item(self, reviewer, code, with_version, fresh):
        if code not in self.items:
            return
        expected = self.items[code]
        version, _data, revision = self.form_of(reviewer, code, fresh)
        refusal = EditConflict if with_version and revision != expected.revision else None
        self.attempt(
            lambda: operations.retire_item(
                item_of(self.db, code), actor=self.actor(reviewer), reason="职权取消",
                expected_version=version if with_version else None,
            ),
            refusal,
        )  # fmt: skip
        if refusal is None:
            expected.status = Status.retired
            expected.retired_handling |= {h["code"] for h in expected.published["handling_items"]}
            expected.revision += 1

    @precondition(lambda self: len(self.previews) < 3)
    @rule(
        name=st.sampled_from((*PEOPLE, COMMAND)),
        code=st.sampled_from(("A", "A", "B", "C")),
        index=st.integers(0, 1),
        promised=PROMISED,
        new_item=st.booleans(),
    )
    def preview_import(self, name, code, index, promised, new_item):
        """Upload a file: its plan is shown, nothing is written; applied later (below)."""
        expected = self.items[code]
        rows = [row for row in exported_rows() if row["事项编码"] == code]
        changed = rows[index % len(rows)]
        changed["承诺时限"] = promised
        data = {code: copy.deepcopy(expected.current)}
        data[code]["handling_items"][index % len(rows)]["promised_days"] = promised
        if new_item and NEW not in self.items:
            rows.append({**rows[0], "事项编码": NEW, "业务办理项编码": f"{NEW}-01",
                         "事项名称": "新增事项"})  # fmt: skip
        content = workbook([[row[header] for header in ROW_HEADERS] for row in rows])
        try:
            plan = plan_of(content)
        except SpreadsheetError:
            assert promised > STATUTORY
            return
        finally:
            self.db.session.rollback()  # a preview writes nothing
        assert promised <= STATUTORY
        for _parsed, new in plan.new:
            data[new["code"]] = new
            assert (new["name"], [h["code"] for h in new["handling_items"]]) == (
                "新增事项",
                [f"{NEW}-01"],
            )
        for _parsed, planned, _changes in plan.changed:
            assert planned == data[planned["code"]]
        self.previews.append(
            Preview(
                actor=name,
                content=content,
                versions=dict(plan.versions),
                revisions={c: self.items[c].revision if c in self.items else None for c in data},
                data=data,
            )
        )

    @precondition(lambda self: self.previews)
    @rule(pick=st.integers(0, 2), publish=st.sampled_from((False, False, True)))
    def apply_import(self, pick, publish):
        preview = self.previews.pop(pick % len(self.previews))
        touched = [
            code for code, data in preview.data.items()
            if code not in self.items or data != self.items[code].current
        ]  # fmt: skip
        now = {code: expected.revision for code, expected in self.items.items()}
        stale = [code for code in touched if preview.revisions[code] != now.get(code)]
        retired = [c for c in touched if c in self.items and self.items[c].status == Status.retired]
        if publish and retired:
            publish = False  # a retired item's draft: covered by its own test below
        if publish and preview.actor != COMMAND:
            refusal = NotAllowed  # editors may not publish; reviewers not their own (four eyes)
        elif stale:
            refusal = ImportConflict
        else:
            refusal = None

        def apply():
            plan = plan_of(preview.content)
            assert sorted(p.code for p, _data in plan.new) + sorted(
                p.code for p, _data, _changes in plan.changed
            ) == sorted(c for c in touched if c not in self.items) + sorted(
                c for c in touched if c in self.items
            )
            apply_import(
                plan, actor=self.actor(preview.actor), source="导入.xlsx", publish=publish,
                preview_versions=preview.versions,
            )  # fmt: skip

        refused = self.attempt(apply, refusal, events=len(touched) * (3 if publish else 1))
        if isinstance(refused, ImportConflict):
            assert sorted(refused.codes) == sorted(stale)
        if refusal is not None:
            return
        for code in touched:
            if code not in self.items:
                created = preview.data[code]
                self.items[code] = Expected(published=created, status=Status.unpublished)
            expected = self.items[code]
            expected.pending = preview.data[code]
            expected.state = "returned" if expected.state == "returned" else "draft"
            if preview.actor not in expected.contributors:
                expected.contributors.append(preview.actor)
            expected.revision += 1
            if publish:
                if expected.status == Status.unpublished:
                    expected.status = Status.published
                expected.published, expected.pending, expected.state = expected.pending, None, None
                expected.contributors = []
                expected.publishes += 1
                expected.revision += 1

    @precondition(lambda self: self.snapshots < 2)
    @rule(
        name=st.sampled_from((*REVIEWERS, COMMAND)), label=st.sampled_from(("2026-一", "2026-二"))
    )
    def snapshot(self, name, label):
        self.snapshots += 1
        refusal = SnapshotError if label in self.labels else None  # a label is never reused
        self.attempt(lambda: create_snapshot(label, actor=self.actor(name)), refusal)
        if refusal is not None:
            return
        self.labels.add(label)
        snapshot = self.db.session.scalar(sa.select(Snapshot).where(Snapshot.label == label))
        frozen = {item["code"]: item for item in frozen_items(snapshot)}
        published = {c: e for c, e in self.items.items() if e.status == Status.published}
        assert sorted(frozen) == sorted(published)
        for code, expected in published.items():
            shown = {**expected.published}
            shown["handling_items"] = [
                h for h in shown["handling_items"] if h["code"] not in expected.retired_handling
            ]
            assert without_status(frozen[code]) == shown  # the published rows, never a draft
        self.db.session.rollback()

    # -- invariants -----------------------------------------------------------------------------

    @invariant()
    def items_hold_what_was_saved(self):
        """(a) every saved change is where the model says: nothing lost without a conflict."""
        db = self.db
        codes = db.session.scalars(sa.select(ApprovalItem.code).order_by(ApprovalItem.code))
        assert list(codes) == sorted(self.items)
        for code, expected in self.items.items():
            item = item_of(db, code)
            assert item.status == expected.status, code
            assert published_data(item) == expected.published, code
            assert current_data(item) == expected.current, code
            draft = item.draft
            assert (draft.state.value if draft else None) == expected.state, code
            assert (draft.contributors if draft else []) == expected.contributors, code
            assert {h.code: h.status for h in item.handling_items} == {
                h["code"]: expected.handling_status(h["code"])
                for h in expected.published["handling_items"]
            }, code
        db.session.rollback()

    @invariant()
    def every_publish_is_audited_once(self):
        """(b) one publish event per publish, each with its actor, time, changes and ratios."""
        db = self.db
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == AuditAction.publish)
        ).all()
        counts = {code: 0 for code in self.items}
        for event in events:
            counts[event.object_code] += 1
            assert event.actor and event.occurred_at is not None and event.changes
            assert "ratios" in event.details
        assert counts == {code: e.publishes for code, e in self.items.items()}
        db.session.rollback()

    @invariant()
    def report_is_the_ratio_engine_over_published_rows(self):
        """(c) the SQL aggregates equal catalog.ratios over the published rows in scope."""
        types, facts = figures.in_scope_item_types(), figures.in_scope_facts()
        assert figures.catalog_figures() == figures_from_facts(types, facts)
        in_scope = {
            h["code"]: h["promised_days"]
            for e in self.items.values()
            if e.status == Status.published and ItemType(e.published["type"]) in REPORTED_TYPES
            for h in e.published["handling_items"]
            if h["code"] not in e.retired_handling
        }
        assert {fact.code: fact.promised_days for fact in facts} == in_scope
        self.db.session.rollback()

    @invariant()
    def public_pages_show_no_draft(self):
        """(d) the API shows the published rows of a published item, 404 for any other; the
        guide page of an item with a pending draft shows none of the draft's situations."""
        for code, expected in self.items.items():
            api = self.client.get(f"/api/v1/items/{code}")
            if expected.status != Status.published:
                assert api.status_code == 404, code
                continue
            assert api.status_code == 200, code
            offered = {**expected.published}  # a retired handling item is no longer offered
            offered["handling_items"] = [
                h for h in offered["handling_items"] if h["code"] not in expected.retired_handling
            ]
            assert as_item_data(api.get_json()) == offered, code
            shown = {h["situation"] for h in expected.published["handling_items"]}
            pending = {h["situation"] for h in (expected.pending or {}).get("handling_items", [])}
            if pending - shown:  # (rendering the guide is the slow part: only when it matters)
                guide = self.client.get(f"/items/{code}")
                assert guide.status_code == 200, code
                page = guide.get_data(as_text=True)
                assert not {s for s in pending - shown if s in page}, code


def make_machine(app, db) -> type[OperationsMachine]:
    user = create_user("hash-source", PASSWORD, "editor")
    password_hash = user.password_hash
    db.session.rollback()

    class Machine(OperationsMachine):
        pass

    Machine.db, Machine.client, Machine.password_hash = db, app.test_client(), password_hash
    return Machine


SETTINGS = settings(
    max_examples=20,
    stateful_step_count=16,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_random_operations_keep_every_change_and_show_no_draft(app, db):
    run_state_machine_as_test(make_machine(app, db), settings=SETTINGS)


def test_the_api_leaves_out_a_retired_handling_item(client, db):
    create_rows(CATALOG[0], status=Status.published)
    db.session.commit()
    handling = db.session.scalar(sa.select(HandlingItem).where(HandlingItem.code == "A-02"))
    operations.retire_handling_item(handling, actor=COMMAND, reason="停办")
    db.session.commit()
    listed = [h["code"] for h in client.get("/api/v1/items/A").get_json()["handling_items"]]
    assert listed == ["A-01"]


def test_publishing_the_draft_of_a_retired_item_keeps_it_retired(client, db):
    create_rows(CATALOG[0], status=Status.published)
    db.session.commit()
    item = item_of(db, "A")
    data = copy.deepcopy(published_data(item))
    data["handling_items"][0]["promised_days"] = 3
    operations.save_draft(
        item, data, actor="e1", reason="调整时限", expected_version=editable_version(item),
        acknowledged=True,
    )  # fmt: skip
    operations.submit(item, actor="e1", expected_version=editable_version(item))
    operations.retire_item(item, actor="r1", reason="职权取消")
    db.session.commit()
    assert client.get("/api/v1/items/A").status_code == 404
    try:
        operations.publish(item, actor="r2", expected_version=editable_version(item))
        db.session.commit()
    except DomainError:  # refusing to publish a retired item is fine too
        db.session.rollback()
    assert item_of(db, "A").status == Status.retired
    assert client.get("/api/v1/items/A").status_code == 404
