"""The decision records of the synthetic province (generate-province): the same rules as a
record entered by hand, in the proportions of the bureau's 2020 report."""

from __future__ import annotations

import enum
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from catalog.decisions.checks import check_licence, check_penalty
from catalog.decisions.filters import DecisionFilters
from catalog.decisions.listing import list_decisions
from catalog.decisions.lookups import Lookups
from catalog.decisions.province import PENALTIES_PER_LICENCE
from catalog.enums import ItemType, PartyClass
from catalog.models import ApprovalItem, HandlingItem, LicenceDecision, PenaltyDecision
from catalog.province import generate_province
from tests.test_cli import flask


def payload(record, **extra) -> dict:
    """A stored record as the form or the importer would hand it to the checks."""
    data = {}
    for column in type(record).__table__.columns:
        value = getattr(record, column.key)
        if isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, Decimal):
            value = str(value)
        data[column.key] = value
    return {**data, **extra}


def assert_stored_as_checked(record, values: dict) -> None:
    stored = {field: getattr(record, field) for field in values}
    assert stored == values, record.document_number


def test_every_generated_decision_passes_the_rules_it_would_meet_by_hand(db, seed_dir):
    counts = generate_province(150, seed_dir=seed_dir, seed=5, decisions_per_licence=3)
    db.session.commit()
    licences = db.session.scalars(sa.select(LicenceDecision)).all()
    penalties = db.session.scalars(sa.select(PenaltyDecision)).all()
    assert counts["licence_decision"] == len(licences) > 100
    assert counts["penalty_decision"] == len(penalties)
    assert len(penalties) == round(len(licences) * PENALTIES_PER_LICENCE)
    codes = dict(db.session.execute(sa.select(HandlingItem.id, HandlingItem.code)).all())
    items = dict(db.session.execute(sa.select(ApprovalItem.id, ApprovalItem.code)).all())
    lookups = Lookups(batch=True)
    for record in licences:
        data = payload(record, item=items[record.item_id],
                       handling_item=codes[record.handling_item_id])  # fmt: skip
        assert_stored_as_checked(record, check_licence(data, record.id, lookups))
    for record in penalties:
        data = payload(record, publication_ends_on=None)  # the checks give the rule's longest
        assert_stored_as_checked(record, check_penalty(data, record.id, lookups))
    decided = {record.item.item_type for record in licences}
    assert decided == {ItemType.licence}
    classes = {record.party_class for record in licences + penalties}
    assert classes == set(PartyClass)
    assert len({r.party_credit_code for r in licences if r.party_credit_code}) > 20
    late = [record for record in licences + penalties if not record.on_time]
    assert 0 < len(late) < len(licences + penalties) / 10


def test_the_command_makes_decisions_unless_told_not_to(tmp_path):
    def made(*options: str) -> tuple[int, int]:
        url = f"sqlite:///{tmp_path / f'p{len(options)}.sqlite3'}"
        done = flask(url, "generate-province", "--handling-items", "40", *options)
        assert done.returncode == 0, done.stderr
        engine = sa.create_engine(url)
        try:
            with engine.connect() as connection:
                return tuple(
                    connection.scalar(sa.text(f"SELECT count(*) FROM {table}"))
                    for table in ("licence_decision", "penalty_decision")
                )
        finally:
            engine.dispose()

    licences, penalties = made()
    assert licences > 40 * 5 and penalties > 0  # 20 a licence handling item, on average
    assert made("--decisions-per-licence", "0") == (0, 0)
    refused = flask(f"sqlite:///{tmp_path / 'r.sqlite3'}", "generate-province",
                    "--handling-items", "40", "--decisions-per-licence", "-1")  # fmt: skip
    assert refused.returncode == 2 and "--decisions-per-licence" in refused.stderr


def test_decisions_until_a_day_are_decided_in_the_year_up_to_it_and_still_published(db, seed_dir):
    """--decisions-until: every decision in the 365 days up to the day (its document number
    of its own year), and the penalties, published for 3 months to 3 years, public on it."""
    until = date(2026, 12, 7)
    generate_province(150, seed_dir=seed_dir, seed=5, decisions_per_licence=3,
                      decisions_until=until)  # fmt: skip
    db.session.commit()
    records = [*db.session.scalars(sa.select(LicenceDecision)),
               *db.session.scalars(sa.select(PenaltyDecision))]  # fmt: skip
    days = {record.decided_on for record in records}
    assert until - timedelta(days=364) <= min(days) and max(days) <= until
    assert min(days) < date(2026, 1, 1)  # the year up to the day, not the day's year
    for record in records:
        assert f"〔{record.decided_on.year}〕" in record.document_number
    public = list_decisions(DecisionFilters(kind="penalty"), today=until)
    penalties = [r for r in records if isinstance(r, PenaltyDecision)]
    assert public.total == sum(p.published_on <= until <= p.publication_ends_on
                               for p in penalties) > len(penalties) // 2  # fmt: skip


def test_the_command_refuses_a_day_that_is_not_one(tmp_path):
    done = flask(f"sqlite:///{tmp_path / 'd.sqlite3'}", "generate-province", "--handling-items",
                 "40", "--decisions-until", "2026-02-30")  # fmt: skip
    assert done.returncode == 2 and "--decisions-until" in done.stderr
