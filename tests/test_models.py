"""The database itself refuses bad rows, even when the service layer is bypassed."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from catalog.models import ApprovalItem, HandlingItem
from catalog.services import create_item
from tests.factories import item_data


def raw_update(db, handling_id: int, values: dict) -> None:
    """UPDATE in plain SQL, so neither the services nor SQLAlchemy's enum checks run."""
    assignments = ", ".join(f"{column} = :{column}" for column in values)
    db.session.execute(
        sa.text(f"UPDATE handling_item SET {assignments} WHERE id = :id"),
        {**values, "id": handling_id},
    )


@pytest.fixture
def handling_id(db) -> int:
    item = create_item(item_data())
    db.session.commit()
    return item.handling_items[0].id


@pytest.mark.parametrize(
    "values",
    [
        {"statutory_days": 5, "promised_days": 6},
        {"promised_days": -1},
        {"statutory_days": -2, "promised_days": 0},
        {"visits": 3},
        {"visits": -1},
        {"online_depth": 0},
        {"online_depth": 8},
        {"case_type": "never"},
        {"status": "gone"},
    ],
)
def test_database_refuses_rows_that_break_the_rules(db, handling_id, values):
    with pytest.raises(IntegrityError):
        raw_update(db, handling_id, values)
    db.session.rollback()
    stored = db.session.get(HandlingItem, handling_id)
    assert (stored.statutory_days, stored.promised_days, stored.visits) == (20, 5, 0)


def test_database_accepts_promised_equal_to_statutory_and_no_statutory_limit(db, handling_id):
    for values in (
        {"statutory_days": 5, "promised_days": 5},
        {"statutory_days": None, "promised_days": 40},
    ):
        raw_update(db, handling_id, values)
    db.session.commit()


def test_database_refuses_duplicate_codes(db, handling_id):
    table = ApprovalItem.__table__
    row = db.session.execute(sa.select(table)).mappings().one()
    duplicate = {key: value for key, value in row.items() if key != "id"}
    with pytest.raises(IntegrityError):
        db.session.execute(table.insert().values(**duplicate))
    db.session.rollback()


def test_deleting_an_item_deletes_its_handling_items_and_their_rows(db, handling_id):
    db.session.execute(sa.delete(ApprovalItem))
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HandlingItem)) == 0
    assert db.session.scalar(sa.text("SELECT count(*) FROM material")) == 0
