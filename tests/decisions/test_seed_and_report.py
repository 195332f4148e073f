"""The modelled 2020 decision set and its report, on SQLite and PostgreSQL: the report's counts,
valid check characters, dates in 2020, no whole ID number in any free text, the figures held
to a count over the rows in Python, the command's JSON; and the batch operation's refusals."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from catalog.decisions import operations, rules
from catalog.decisions.checks import FREE_TEXT
from catalog.decisions.report import decision_report, every_unit
from catalog.decisions.seed import Model, _licences, _penalties, load_decision_seed, read_parameters
from catalog.domain import Invalid
from catalog.enums import ItemType, PartyClass
from catalog.extensions import db
from catalog.models import ApprovalItem, AuditEvent, LicenceDecision, PenaltyDecision
from tests.decisions.conftest import licence_data


def _hand_count(rows, year):
    in_year = [row for row in rows if row.decided_on.year == year]
    on_time = [row for row in in_year if row.published_on <= rules.publish_by(row.decided_on)]
    return len(in_year), len(on_time)


def test_the_modelled_2020_set_and_its_report(db, seeded, seed_dir, cli):
    assert load_decision_seed(seed_dir) == (2036, 1240)
    db.session.commit()
    assert load_decision_seed(seed_dir) is None  # a second run writes nothing
    licences = db.session.scalars(sa.select(LicenceDecision)).all()
    penalties = db.session.scalars(sa.select(PenaltyDecision)).all()
    assert (len(licences), len(penalties)) == (2036, 1240)

    for record in (*licences, *penalties):
        assert date(2020, 1, 1) <= record.decided_on <= date(2020, 12, 31)
        assert rules.credit_code_error(record.authority_credit_code) is None
        if record.party_class == PartyClass.natural_person:
            assert rules.resident_id_error(record.party_id_number) is None
            assert record.party_credit_code is None
        else:
            assert record.party_id_number is None
        if record.party_credit_code is not None:
            assert rules.credit_code_error(record.party_credit_code) is None
        for field in FREE_TEXT:
            assert rules.unmasked_id_numbers(getattr(record, field, None)) == []
    assert {record.item.item_type for record in licences} == {ItemType.licence}
    assert Counter(record.party_class for record in penalties)[PartyClass.natural_person] > 0

    parameters = read_parameters(seed_dir)
    result = cli.invoke(args=["decisions", "report", "--year", "2020", "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    for kind, rows in (("licence", licences), ("penalty", penalties)):
        total, on_time = _hand_count(rows, 2020)
        section = document[kind]
        assert section["total"] == total == parameters[kind]["total"]
        assert section["on_time"]["count"] == on_time
        assert section["on_time"]["total"] == total
        assert len(section["late"]) == total - on_time == parameters[kind]["late"]
    licence_items = db.session.scalars(
        sa.select(ApprovalItem.code).where(ApprovalItem.item_type == ItemType.licence)
    ).all()
    used = Counter(record.item.code for record in licences)
    assert document["licence"]["licence_items"] == len(licence_items) == 142
    assert document["licence"]["without_decisions"] == sorted(set(licence_items) - set(used))
    assert {entry["code"]: entry["count"] for entry in document["licence"]["by_item"]} == used
    fines = sum((record.fine_amount or Decimal(0) for record in penalties), Decimal(0))
    assert document["penalty"]["fine_total"] == float(fines)
    by_category = {entry["key"]: entry["count"] for entry in document["penalty"]["by_category"]}
    assert by_category == {
        category.value: Counter(record.category for record in penalties)[category]
        for category in type(penalties[0].category)
    }
    units = {entry["unit"]: entry for entry in document["by_unit"]}
    assert sum(entry["licence"] + entry["penalty"] for entry in units.values()) == 3276
    assert cli.invoke(args=["decisions", "report", "--year", "2019"]).exit_code == 1
    _each_unit_matches_a_count_over_its_rows(document, licences, penalties)


def _each_unit_matches_a_count_over_its_rows(document, licences, penalties):
    """Every unit's figures (as a snapshot keeps them, and as one unit's view reads them) held
    to a count over the seed's rows of that unit."""
    handled = dict(db.session.execute(
        sa.select(ApprovalItem.code, ApprovalItem.handling_unit)
        .where(ApprovalItem.item_type == ItemType.licence)
    ).all())  # fmt: skip
    names, figures = every_unit([2020])
    whole, of_units = figures[2020]
    assert whole == document
    assert set(names) == {r.data_source_unit for r in (*licences, *penalties)} | (
        set(handled.values()) - {None}
    )
    for unit in names:
        report = of_units[unit]
        for kind, rows in (("licence", licences), ("penalty", penalties)):
            total, on_time = _hand_count([r for r in rows if r.data_source_unit == unit], 2020)
            assert (report[kind]["total"], report[kind]["on_time"]["count"]) == (total, on_time)
            assert len(report[kind]["late"]) == total - on_time
        used = Counter(r.item.code for r in licences if r.data_source_unit == unit)
        own = {code for code, of in handled.items() if of == unit}
        assert {entry["code"]: entry["count"] for entry in report["licence"]["by_item"]} == used
        assert report["licence"]["without_decisions"] == sorted(own - set(used))
        assert report["licence"]["licence_items"] == len(own | set(used))
        fines = sum((r.fine_amount or Decimal(0) for r in penalties if r.data_source_unit == unit),
                    Decimal(0))  # fmt: skip
        assert report["penalty"]["fine_total"] == float(fines)
    busiest = max(names, key=lambda unit: of_units[unit]["licence"]["total"])
    assert decision_report(2020, busiest) == of_units[busiest]  # one unit's own reading


def test_the_model_is_deterministic(db, seeded, seed_dir):
    parameters = read_parameters(seed_dir)
    common = {"authority": "许昌市交通运输局", "authority_credit_code": "11411000MB1D39207D"}

    def generate():
        model = Model(random.Random(parameters["random_seed"]), 2020)
        return _licences(model, parameters, common), _penalties(model, parameters, common)

    assert generate() == generate()


def test_a_batch_is_all_or_nothing(db, catalog_items):
    records = [licence_data(), licence_data(document_number="许交运许〔2020〕2号")]
    broken = [*records, licence_data(document_number="许交运许〔2020〕3号", item="C-1")]
    with pytest.raises(Invalid) as refusal:
        operations.create_many(LicenceDecision, broken, actor="importer", reason="导入")
    assert list(refusal.value.errors) == ["3.item"]
    repeated = [*records, licence_data()]
    with pytest.raises(Invalid) as refusal:
        operations.create_many(LicenceDecision, repeated, actor="importer", reason="导入")
    assert refusal.value.errors == {"3.document_number": ["与第1条的文书号重复。"]}
    assert db.session.scalar(sa.select(sa.func.count(LicenceDecision.id))) == 0
    assert operations.create_many(LicenceDecision, records, actor="importer", reason="导入") == 2
    db.session.commit()
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.object_type == "licence_decision")
        .order_by(AuditEvent.object_code)
    ).all()
    assert [(event.actor, event.object_code) for event in events] == [
        ("importer", "许交运许〔2020〕1号"),
        ("importer", "许交运许〔2020〕2号"),
    ]
    assert events[0].changes["decided_on"] == [None, "2020-06-01"]
