"""The review workflow of catalog.operations.items: states, four eyes, acknowledged warnings,
the ratio effect in the audit trail, new items, imports against newer versions, and the audit
of snapshots and account changes in the change's own transaction."""

from __future__ import annotations

import copy

import pytest
import sqlalchemy as sa

from catalog.accounts import AccountError, create_user
from catalog.domain import Invalid, NotAllowed
from catalog.drafts import current_data, editable_version, published_data
from catalog.enums import ReviewState, Status
from catalog.models import ApprovalItem, AuditAction, AuditEvent, AuthEvent, AuthEventKind
from catalog.operations import items as operations
from catalog.operations.accounts import create_account, disable_account
from catalog.operations.snapshots import create_snapshot
from tests.factories import handling_item_data, item_data, publish

PASSWORD = "许昌交通运输2026审批"


@pytest.fixture
def staff(db):
    names = ("editor1", "editor2", "reviewer1", "reviewer2")
    users = {name: create_user(name, PASSWORD, name[:-1]) for name in names}
    db.session.commit()
    return users


@pytest.fixture
def item(db):
    publish(db, item_data(code="A"))
    return db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "A"))


def with_promised(item, days: int) -> dict:
    data = copy.deepcopy(current_data(item))
    data["handling_items"][0]["promised_days"] = days
    return data


def save(item, actor, days: int, **options):
    return operations.save_draft(
        item, with_promised(item, days), actor=actor, reason=f"改为{days}天",
        expected_version=editable_version(item), **options,
    )  # fmt: skip


def act(operation, item, actor, **options):
    return operation(item, actor=actor, expected_version=editable_version(item), **options)


def last_event(db) -> AuditEvent:
    return db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()


def test_a_draft_goes_through_review_before_it_is_published(item, staff, db):
    save(item, staff["editor1"], 3)
    assert item.draft.state == ReviewState.draft
    with pytest.raises(Invalid, match="须先由编辑提交审核"):
        act(operations.publish, item, staff["reviewer1"])
    act(operations.submit, item, staff["editor1"])
    with pytest.raises(Invalid, match="无需重复提交"):  # a double submit
        act(operations.submit, item, staff["editor1"])
    with pytest.raises(NotAllowed):
        act(operations.publish, item, staff["editor2"])  # editors never publish
    act(operations.publish, item, staff["reviewer1"])
    db.session.commit()
    assert item.draft is None and item.handling_items[0].promised_days == 3
    with pytest.raises(Invalid, match="没有待发布的草稿"):  # publishing it again
        act(operations.publish, item, staff["reviewer1"])


def test_a_returned_draft_carries_the_note_and_is_resubmitted(item, staff, db):
    save(item, staff["editor1"], 3)
    act(operations.submit, item, staff["editor1"])
    with pytest.raises(Invalid, match="须填写审核意见"):  # returning without a note
        act(operations.return_to_editor, item, staff["reviewer1"], note="  ")
    version = editable_version(item)
    act(operations.return_to_editor, item, staff["reviewer1"], note="请补充依据")
    db.session.commit()
    assert (item.draft.state, item.draft.review_note) == (ReviewState.returned, "请补充依据")
    assert editable_version(item) != version  # a form opened before the return is stale
    with pytest.raises(operations.EditConflict):
        operations.submit(item, actor=staff["editor1"], expected_version=version)
    save(item, staff["editor1"], 2)
    assert item.draft.state == ReviewState.returned  # until the editor submits again
    act(operations.submit, item, staff["editor1"])
    act(operations.publish, item, staff["reviewer1"])
    db.session.commit()
    actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-6:] == [
        AuditAction.draft, AuditAction.submit, AuditAction.return_,
        AuditAction.draft, AuditAction.submit, AuditAction.publish,
    ]  # fmt: skip


def test_saving_into_a_submitted_draft_takes_it_back_to_draft(item, staff, db):
    save(item, staff["editor1"], 3)
    act(operations.submit, item, staff["editor1"])
    save(item, staff["editor2"], 2)
    assert item.draft.state == ReviewState.draft
    assert item.draft.contributors == ["editor1", "editor2"]
    assert last_event(db).changes["revision.state"] == ["submitted", "draft"]


def test_four_eyes_no_one_publishes_their_own_change(item, staff, db):
    save(item, staff["reviewer1"], 3)
    act(operations.submit, item, staff["reviewer1"])
    db.session.commit()
    with pytest.raises(NotAllowed, match="四眼原则"):
        act(operations.publish, item, staff["reviewer1"])
    db.session.rollback()
    assert item.draft.state == ReviewState.submitted  # refused, nothing changed
    act(operations.publish, item, staff["reviewer2"])
    db.session.commit()
    assert last_event(db).details["self_published"] is False


def test_without_four_eyes_a_self_published_change_is_marked(item, staff, db, app):
    app.config["REVIEW_FOUR_EYES"] = False
    try:
        save(item, staff["reviewer1"], 3)
        act(operations.submit, item, staff["reviewer1"])
        act(operations.publish, item, staff["reviewer1"])
        db.session.commit()
    finally:
        app.config["REVIEW_FOUR_EYES"] = True
    event = last_event(db)
    assert (event.actor, event.details["self_published"]) == ("reviewer1", True)


def test_warnings_must_be_acknowledged_and_the_acknowledgement_is_audited(item, staff, db):
    with pytest.raises(Invalid, match="请确认已知晓政策提示"):
        save(item, staff["editor1"], 12)  # over 10 days, compression 40 %
    db.session.rollback()
    save(item, staff["editor1"], 12, acknowledged=True)
    saved = last_event(db)
    rules = sorted(ack["rule"] for ack in saved.details["acknowledged"])
    assert rules == ["compression_below_minimum", "promised_over_limit"]
    assert {ack["by"] for ack in saved.details["acknowledged"]} == {"editor1"}
    act(operations.submit, item, staff["editor1"])
    act(operations.publish, item, staff["reviewer1"])
    db.session.commit()
    published = last_event(db)
    assert published.details["acknowledged"] == saved.details["acknowledged"]
    ratios = published.details["ratios"]
    assert ratios["compression"] == ["75.00", "40.00"]  # (20-5)/20 -> (20-12)/20
    assert ratios["exceptions.promised_over_limit"] == [0, 1]
    assert ratios["exceptions.compression_below_minimum"] == [0, 1]


def test_a_new_item_is_published_by_review_without_a_further_edit(staff, db):
    item = operations.create_item(item_data(code="N"), actor=staff["editor1"], reason="新增")
    db.session.commit()
    assert (item.status, item.draft.state) == (Status.unpublished, ReviewState.draft)
    act(operations.submit, item, staff["editor1"])
    act(operations.publish, item, staff["reviewer1"])
    db.session.commit()
    assert item.status == Status.published
    assert [h.status for h in item.handling_items] == [Status.published]
    assert item.version == 2  # created, then published in one step
    event = last_event(db)
    assert event.changes["status"] == ["unpublished", "published"]
    assert event.details["ratios"]["no_visit"] == [None, "100.00"]


def test_discarding_keeps_the_rows_and_audits_what_was_dropped(item, staff, db):
    save(item, staff["editor1"], 3)
    act(operations.discard, item, staff["editor2"])
    db.session.commit()
    assert item.draft is None and published_data(item) == current_data(item)
    event = last_event(db)
    assert event.changes["handling_items.A-01.promised_days"] == [3, 5]
    assert event.changes["revision.state"] == ["draft", None]


def test_a_first_draft_lost_race_is_a_conflict(item, staff, db):
    """Two saves of the first draft: the second finds the first one's draft, a conflict."""
    opened = editable_version(item)
    save(item, staff["editor1"], 3)
    db.session.commit()
    with pytest.raises(operations.EditConflict):
        operations.save_draft(
            item, with_promised(item, 4), actor=staff["editor2"], reason="第二人",
            expected_version=opened,
        )  # fmt: skip


def test_snapshots_are_audited_in_their_transaction(item, staff, db):
    with pytest.raises(NotAllowed):
        create_snapshot("2021-06", actor=staff["editor1"])
    db.session.rollback()
    create_snapshot("2021-06", actor=staff["reviewer1"], note="半年")
    db.session.rollback()  # an abandoned snapshot leaves no trace
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 1  # the item's
    create_snapshot("2021-06", actor=staff["reviewer1"], note="半年")
    db.session.commit()
    event = last_event(db)
    assert (event.action, event.actor, event.object_code) == (
        AuditAction.snapshot, "reviewer1", "2021-06"
    )  # fmt: skip
    assert event.changes["items"] == [None, 1] and event.reason == "半年"


def test_account_changes_are_logged_in_the_change_transaction(staff, db):
    admin = create_user("admin1", PASSWORD, "admin")
    db.session.commit()
    before = db.session.scalar(sa.select(sa.func.count(AuthEvent.id)))
    create_account("zhao1", PASSWORD, "editor", actor=admin)
    db.session.rollback()  # the account was not kept: neither is its event
    assert db.session.scalar(sa.select(sa.func.count(AuthEvent.id))) == before
    create_account("zhao1", PASSWORD, "editor", actor=admin)
    db.session.commit()
    kinds = db.session.scalars(sa.select(AuthEvent.kind).order_by(AuthEvent.id)).all()
    assert kinds[-1] == AuthEventKind.account_created
    with pytest.raises(NotAllowed):
        disable_account(staff["editor2"], actor=staff["reviewer1"])
    with pytest.raises(AccountError, match="不能停用自己的账号"):
        disable_account(admin, actor=admin)


def test_an_import_never_writes_over_a_version_newer_than_its_preview(item, staff, db):
    from catalog.importing import ImportConflict, parse_rows, plan_import, read_file
    from catalog.operations.imports import apply_import
    from catalog.spreadsheets import export_data, to_xlsx

    exported = export_data()
    exported[0]["handling_items"][0]["promised_days"] = 2
    content = to_xlsx(exported)
    preview = plan_import(parse_rows(*read_file("x.xlsx", content)))  # editor A's preview
    db.session.rollback()
    save(item, staff["editor2"], 3)  # editor B saves a draft of the same item
    db.session.commit()
    fresh = plan_import(parse_rows(*read_file("x.xlsx", content)))  # A applies
    with pytest.raises(ImportConflict) as caught:
        apply_import(
            fresh, actor=staff["editor1"], source="x.xlsx", publish=False,
            preview_versions=preview.versions,
        )  # fmt: skip
    assert caught.value.codes == ["A"] and caught.value.status == 409
    db.session.rollback()
    assert current_data(item)["handling_items"][0]["promised_days"] == 3  # B's change kept
    # confirming the fresh preview writes over B's draft knowingly
    apply_import(fresh, actor=staff["editor1"], source="x.xlsx", publish=False,
                 preview_versions=fresh.versions)  # fmt: skip
    db.session.commit()
    assert current_data(item)["handling_items"][0]["promised_days"] == 2


def test_import_publish_follows_four_eyes_for_staff(item, staff, db):
    from catalog.importing import parse_rows, plan_import, read_file
    from catalog.operations.imports import apply_import
    from catalog.spreadsheets import export_data, to_xlsx

    exported = export_data()
    exported[0]["handling_items"][0]["promised_days"] = 2
    plan = plan_import(parse_rows(*read_file("x.xlsx", to_xlsx(exported))))
    with pytest.raises(NotAllowed, match="四眼原则"):
        apply_import(plan, actor=staff["reviewer1"], source="x.xlsx", publish=True)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 1  # nothing written


def test_public_pages_never_show_a_draft(item, staff, db, client):
    save(item, staff["editor1"], 3)
    new = operations.create_item(
        item_data(handling_item_data(code="N-01"), code="N", name="新事项"),
        actor=staff["editor1"], reason="新增",
    )  # fmt: skip
    db.session.commit()
    assert client.get("/api/v1/items/A").get_json()["handling_items"][0]["promised_days"] == 5
    assert client.get(f"/api/v1/items/{new.code}").status_code == 404
    assert client.get(f"/items/{new.code}").status_code == 404


def test_one_published_change_is_one_version_step(item, staff, db):
    """Publishing writes the rows and ends the draft in one version step; every form from
    before it (the item's, the draft's) is stale afterwards."""
    assert item.version == 1
    before_draft = editable_version(item)
    save(item, staff["editor1"], 3)
    act(operations.submit, item, staff["editor1"])
    in_review = editable_version(item)
    act(operations.publish, item, staff["reviewer1"])
    db.session.commit()
    assert item.version == 2 and item.draft is None
    for stale in (before_draft, in_review):
        with pytest.raises(operations.EditConflict):
            operations.save_draft(
                item, with_promised(item, 4), actor=staff["editor2"], reason="旧表单",
                expected_version=stale,
            )  # fmt: skip
    save(item, staff["editor1"], 4)
    act(operations.submit, item, staff["editor1"])
    act(operations.publish, item, staff["reviewer2"])
    db.session.commit()
    assert item.version == 3  # a second published change, a second step
