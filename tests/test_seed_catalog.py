"""The bureau's real seed reproduces every published figure of the 2020 report."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
import yaml

from catalog import figures
from catalog.enums import CaseType, ItemType
from catalog.models import ApprovalItem, HandlingItem
from catalog.ratios import HandlingFacts, PolicyRule, figures_from_facts, policy_exceptions
from catalog.seeding import load_seed

# The bureau's published 2020 figures (../shared/DOMAIN.md).
PUBLISHED_BY_TYPE = {
    ItemType.licence: 142,
    ItemType.confirmation: 37,
    ItemType.reward: 1,
    ItemType.adjudication: 1,
    ItemType.other: 9,
}


def facts_from_files(seed_dir: Path):
    """Read the seed files with nothing but PyYAML: an independent path to the figures."""
    types, facts = [], []
    for path in sorted((seed_dir / "items").glob("*.yaml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["items"]:
            types.append(ItemType(item["type"]))
            for handling in item["handling_items"]:
                facts.append(
                    HandlingFacts(
                        code=handling["code"],
                        case_type=CaseType(handling["case_type"]),
                        statutory_days=handling["statutory_days"],
                        promised_days=handling["promised_days"],
                        visits=handling["visits"],
                        has_visit_reason=bool(handling.get("visit_reason")),
                        online_depth=handling["online_depth"],
                    )
                )
    return types, facts


def test_seed_reproduces_the_published_figures(seeded, db, seed_dir):
    result = figures.catalog_figures()
    assert dict(result.items_by_type) == PUBLISHED_BY_TYPE
    assert result.items_total == 190
    assert result.handling_items == 199
    assert (result.no_visit, result.no_visit_share.percent) == (181, Decimal("90.95"))
    assert (result.instant, result.instant_share.percent) == (105, Decimal("52.76"))
    assert result.compression.percent == Decimal("87.69")
    assert result == figures_from_facts(*facts_from_files(seed_dir))


def test_seed_respects_the_reform_policy_with_a_few_realistic_exceptions(seeded, db, seed_dir):
    exceptions = figures.policy_exceptions()
    assert exceptions == policy_exceptions(facts_from_files(seed_dir)[1])
    assert exceptions[PolicyRule.promised_over_limit] == []
    assert exceptions[PolicyRule.visit_without_reason] == []
    assert exceptions[PolicyRule.instant_with_promised_days] == []
    assert 1 <= len(exceptions[PolicyRule.compression_below_minimum]) <= 10


def test_seed_is_realistic(seeded, db):
    limits = db.session.execute(
        sa.select(
            sa.func.min(HandlingItem.statutory_days), sa.func.max(HandlingItem.statutory_days)
        )
    ).one()
    assert limits == (1, 60) or (limits[0] >= 1 and limits[1] <= 60)
    names = db.session.scalars(sa.select(ApprovalItem.name)).all()
    assert len(set(names)) == 190
    assert "网络预约出租汽车经营许可" in names
    assert "公路超限运输许可" in names or any("超限运输" in name for name in names)
    every_item = db.session.scalars(sa.select(ApprovalItem)).all()
    assert all(item.legal_bases for item in every_item)
    assert all(h.materials for item in every_item for h in item.handling_items)


def test_seed_twice_changes_nothing(seeded, db, seed_dir):
    assert len(seeded.created) == 190
    versions = dict(db.session.execute(sa.select(HandlingItem.code, HandlingItem.version)).all())
    again = load_seed(seed_dir)
    db.session.commit()
    assert not again.changed
    assert len(again.unchanged) == 190
    assert dict(db.session.execute(sa.select(HandlingItem.code, HandlingItem.version)).all()) == (
        versions
    )
