"""The service layer: every rule is checked here, once, for every caller."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from catalog.enums import CaseType, HandlingForm, Status
from catalog.models import ApprovalItem, HandlingItem
from catalog.services import (
    CatalogValidationError,
    create_item,
    item_data,
    update_item,
)
from tests.factories import REQUIRED_ONLY, handling_item_data, publish_rows
from tests.factories import item_data as make_item


def errors_of(payload) -> dict[str, list[str]]:
    with pytest.raises(CatalogValidationError) as caught:
        create_item(payload)
    return caught.value.errors


def test_create_item_stores_every_element(db):
    item = create_item(make_item())
    db.session.commit()
    stored = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "T-01-001"))
    assert stored.status == Status.unpublished
    assert stored.legal_bases[0].article == "第二十四条"
    handling = stored.handling_items[0]
    assert handling.code == "T-01-001-01"
    assert handling.case_type == CaseType.promised
    assert handling.forms == [HandlingForm.window, HandlingForm.online]
    assert handling.charges_fee is False and handling.fees == []
    assert [m.name for m in handling.materials] == ["申请表", "营业执照"]
    assert [m.position for m in handling.materials] == [0, 1]
    assert handling.materials[1].kind.label == "复印件"
    assert [s.days for s in handling.steps] == [1, 3, 1]
    assert item.version == 1 and handling.version == 1
    assert item.created_at is not None and item.updated_at is not None


@pytest.mark.parametrize(
    ("overrides", "path", "fragment"),
    [
        (
            {"statutory_days": 5, "promised_days": 6},
            "handling_items.0.promised_days",
            "不能超过法定时限",
        ),
        ({"case_type": "instant", "promised_days": 2}, "handling_items.0.promised_days", "即办件"),
        ({"visits": 3}, "handling_items.0.visits", "0到2"),
        ({"promised_days": -1}, "handling_items.0.promised_days", "整数"),
        ({"online_depth": 8}, "handling_items.0.online_depth", "1到7"),
        ({"forms": ["fax"]}, "handling_items.0.forms.0", "取值无效"),
        ({"fees": []}, "handling_items.0.fees", "none"),
        (
            {"fees": [{"name": "工本费", "standard": "每证10元"}]},
            "handling_items.0.fees.0.basis",
            "收费依据",
        ),
        ({"case_type": "sometimes"}, "handling_items.0.case_type", "取值无效"),
        ({"statutory_days": "二十"}, "handling_items.0.statutory_days", "整数"),
        ({"color": "red"}, "handling_items.0.color", ""),
    ],
)
def test_handling_item_rules(db, overrides, path, fragment):
    payload = make_item(handling_item_data(code="T-01-001-01", **overrides))
    errors = errors_of(payload)
    assert path in errors, errors
    assert fragment in " ".join(errors[path])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApprovalItem)) == 0


def test_all_errors_are_reported_at_once(db):
    payload = make_item(
        handling_item_data(code="T-01-001-01", statutory_days=2, promised_days=3),
        handling_item_data(code="T-01-001-02", case_type="instant", promised_days=2),
    )
    errors = errors_of(payload)
    assert {"handling_items.0.promised_days", "handling_items.1.promised_days"} <= set(errors)


def test_item_level_shape_errors_name_the_field(db):
    payload = make_item(name="", exercise_level="moon", service_targets=["martian"], type="tax")
    errors = errors_of(payload)
    assert set(errors) >= {"name", "exercise_level", "service_targets.0", "type"}


def test_an_item_with_only_what_the_ratios_read_is_stored_with_its_gaps(db):
    """Every element beyond code, name, type, limits, visits and case type may be missing: the
    item is stored, and each missing element is NULL or empty, never made up."""
    from catalog.elements import ELEMENTS, gaps

    item = create_item(REQUIRED_ONLY)
    db.session.commit()
    data = item_data(item)
    handling = data["handling_items"][0]
    assert data["result"] == {"name": None, "type": None}
    assert data["implementing_body"] is None and data["service_targets"] == []
    assert handling["fees"] is None and item.handling_items[0].charges_fee is None
    assert handling["online_depth"] is None and handling["forms"] == []
    found = gaps(data)
    # every element is missing: the item's, and the handling item's (a visit without its reason)
    assert found.labels() == [element.label for element in ELEMENTS]
    assert not gaps(make_item()).labels()  # the factory's item is complete


def test_what_the_ratios_read_is_required(db):
    handling = REQUIRED_ONLY["handling_items"][0]
    for key in ("code", "case_type", "statutory_days", "promised_days", "visits"):
        lacking = {name: value for name, value in handling.items() if name != key}
        payload = {**REQUIRED_ONLY, "handling_items": [lacking]}
        assert f"handling_items.0.{key}" in errors_of(payload)
    for key in ("code", "name", "type"):
        assert key in errors_of({k: v for k, v in REQUIRED_ONLY.items() if k != key})


def test_no_statutory_limit_is_allowed(db):
    item = create_item(
        make_item(handling_item_data(code="T-01-001-01", statutory_days=None, promised_days=15))
    )
    assert item.handling_items[0].statutory_days is None


def test_a_fee_with_its_basis_is_stored(db):
    fee = {"name": "工本费", "standard": "每证10元", "amount": "10", "basis": "《收费标准》"}
    item = create_item(make_item(handling_item_data(code="T-01-001-01", fees=[fee])))
    handling = item.handling_items[0]
    assert handling.charges_fee is True
    assert str(handling.fees[0].amount) == "10.00"
    assert item_data(item)["handling_items"][0]["fees"][0]["amount"] == "10.00"


def test_visit_reason_is_dropped_when_no_visit_is_needed(db):
    item = create_item(
        make_item(handling_item_data(code="T-01-001-01", visits=0, visit_reason="核验原件"))
    )
    assert item.handling_items[0].visit_reason is None


def test_codes_are_unique_across_items_and_within_an_item(db):
    create_item(make_item())
    db.session.commit()
    errors = errors_of(make_item(name="另一个事项"))
    assert "已被" in errors["code"][0]
    assert "handling_items.0.code" in errors
    twice = make_item(
        handling_item_data(code="T-09-001-01"),
        handling_item_data(code="T-09-001-01"),
        code="T-09-001",
    )
    assert "重复" in errors_of(twice)["handling_items.1.code"][0]


def test_update_returns_field_changes_and_bumps_versions(db):
    item = create_item(make_item())
    db.session.commit()
    payload = make_item(
        handling_item_data(code="T-01-001-01", promised_days=3, materials=[{"name": "申请表"}]),
        name="新名称",
    )
    changes = update_item(item, payload)
    db.session.commit()
    assert changes["name"] == ("道路货物运输经营许可", "新名称")
    assert changes["handling_items.T-01-001-01.promised_days"] == (5, 3)
    assert "handling_items.T-01-001-01.materials" in changes
    assert item.version == 2
    assert item.handling_items[0].version == 2
    assert [m.name for m in item.handling_items[0].materials] == ["申请表"]


def test_update_with_only_child_changes_still_bumps_the_version(db):
    item = create_item(make_item())
    db.session.commit()
    steps = [{"name": "受理", "days": 0}]
    update_item(item, make_item(handling_item_data(code="T-01-001-01", steps=steps)))
    db.session.commit()
    assert item.handling_items[0].version == 2


def test_update_without_changes_changes_nothing(db):
    item = create_item(make_item())
    db.session.commit()
    assert update_item(item, make_item()) == {}
    db.session.commit()
    assert item.version == 1


def test_update_matches_handling_items_by_code(db):
    item = create_item(make_item())
    db.session.commit()
    original_id = item.handling_items[0].id
    payload = make_item(
        handling_item_data(code="T-01-001-02", situation="变更"),
        handling_item_data(code="T-01-001-01"),
    )
    update_item(item, payload)
    db.session.commit()
    assert [h.code for h in item.handling_items] == ["T-01-001-02", "T-01-001-01"]
    assert item.handling_items[1].id == original_id


def test_failed_update_leaves_the_item_as_it_was(db):
    item = create_item(make_item())
    db.session.commit()
    bad = make_item(handling_item_data(code="T-01-001-01", promised_days=30), name="改名")
    with pytest.raises(CatalogValidationError):
        update_item(item, bad)
    db.session.rollback()
    stored = db.session.scalar(sa.select(ApprovalItem))
    assert stored.name == "道路货物运输经营许可"
    assert stored.handling_items[0].promised_days == 5


def test_publish_publishes_the_item_and_its_draft_handling_items(db):
    item = create_item(make_item())
    publish_rows(item)
    db.session.commit()
    assert item.status == Status.published
    assert db.session.scalar(sa.select(HandlingItem.status)) == Status.published
