"""Loading seed files: through the services, idempotent, never overwriting staff edits."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from catalog.enums import Status
from catalog.models import ApprovalItem, HandlingItem
from catalog.seeding import SeedError, load_seed
from catalog.services import item_data, update_item
from tests.factories import BASE_ITEM, handling_item_data
from tests.factories import item_data as make_item

BUREAU = {
    key: BASE_ITEM[key]
    for key in (
        "implementing_body",
        "exercise_level",
        "power_source",
        "consultation",
        "complaint",
        "location",
        "hours",
    )
}


def seed_item(code: str, **overrides):
    data = make_item(code=code, **overrides)
    return {key: value for key, value in data.items() if key not in BUREAU}


def write_seed(directory: Path, items: list[dict]) -> Path:
    (directory / "items").mkdir(parents=True, exist_ok=True)
    (directory / "bureau.yaml").write_text(yaml.safe_dump(BUREAU, allow_unicode=True))
    (directory / "items" / "licence.yaml").write_text(
        yaml.safe_dump({"items": items}, allow_unicode=True, sort_keys=False)
    )
    return directory


def count_items(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(ApprovalItem))


def test_seed_creates_published_items_with_the_bureau_defaults(db, tmp_path):
    seed = write_seed(tmp_path, [seed_item("S-1"), seed_item("S-2", type="confirmation")])
    result = load_seed(seed)
    db.session.commit()
    assert result.created == ["S-1", "S-2"]
    items = db.session.scalars(sa.select(ApprovalItem).order_by(ApprovalItem.code)).all()
    assert [item.status for item in items] == [Status.published, Status.published]
    assert items[0].implementing_body == "许昌市交通运输局"
    assert db.session.scalar(sa.select(HandlingItem.status).limit(1)) == Status.published


def test_seed_twice_changes_nothing(db, tmp_path):
    seed = write_seed(tmp_path, [seed_item("S-1")])
    load_seed(seed)
    db.session.commit()
    before = item_data(db.session.scalar(sa.select(ApprovalItem)))
    version = db.session.scalar(sa.select(ApprovalItem.version))
    again = load_seed(seed)
    db.session.commit()
    assert not again.changed
    assert again.unchanged == ["S-1"]
    assert item_data(db.session.scalar(sa.select(ApprovalItem))) == before
    assert db.session.scalar(sa.select(ApprovalItem.version)) == version


def test_staff_edits_survive_a_rerun_unless_forced(db, tmp_path):
    seed = write_seed(tmp_path, [seed_item("S-1")])
    load_seed(seed)
    db.session.commit()
    item = db.session.scalar(sa.select(ApprovalItem))
    update_item(item, make_item(code="S-1", name="人工修改后的名称"))
    db.session.commit()

    kept = load_seed(seed)
    db.session.commit()
    assert kept.kept_edits == ["S-1"] and not kept.changed
    assert db.session.scalar(sa.select(ApprovalItem.name)) == "人工修改后的名称"

    forced = load_seed(seed, force=True)
    db.session.commit()
    assert forced.overwritten == ["S-1"]
    assert db.session.scalar(sa.select(ApprovalItem.name)) == BASE_ITEM["name"]


def test_a_changed_seed_updates_items_nobody_edited(db, tmp_path):
    load_seed(write_seed(tmp_path, [seed_item("S-1")]))
    db.session.commit()
    changed = seed_item("S-1", handling_items=[handling_item_data(code="S-1-01", promised_days=2)])
    result = load_seed(write_seed(tmp_path, [changed]))
    db.session.commit()
    assert result.updated == ["S-1"]
    assert db.session.scalar(sa.select(HandlingItem.promised_days)) == 2


def test_an_item_staff_created_with_a_seed_code_is_not_overwritten(db, tmp_path):
    from catalog.services import create_item

    create_item(make_item(code="S-1", name="人工新建"))
    db.session.commit()
    result = load_seed(write_seed(tmp_path, [seed_item("S-1")]))
    assert result.kept_edits == ["S-1"]
    assert db.session.scalar(sa.select(ApprovalItem.name)) == "人工新建"


def test_a_broken_row_names_file_line_item_and_field(db, tmp_path):
    broken = seed_item(
        "S-2", handling_items=[handling_item_data(code="S-2-01", statutory_days=3, promised_days=5)]
    )
    seed = write_seed(tmp_path, [seed_item("S-1"), broken])
    with pytest.raises(SeedError) as caught:
        load_seed(seed)
    message = str(caught.value)
    path = seed / "items" / "licence.yaml"
    lines = [
        number
        for number, text in enumerate(path.read_text().splitlines(), 1)
        if "promised_days: 5" in text
    ]
    line = lines[-1]  # S-1 promises 5 days too, within its 20
    assert f"{path}:{line}" in message
    assert "第2个事项（S-2）" in message
    assert "handling_items.0.promised_days" in message
    assert "不能超过法定时限" in message


def test_duplicate_codes_across_records_are_refused(db, tmp_path):
    seed = write_seed(tmp_path, [seed_item("S-1"), seed_item("S-1")])
    with pytest.raises(SeedError, match="重复"):
        load_seed(seed)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("items: [\n  - code: [unclosed\n", "YAML 格式错误"),
        ("- just a list\n", "items"),
        ("items:\n  - just text\n", "须为映射"),
    ],
)
def test_malformed_files_are_refused_clearly(db, tmp_path, content, fragment):
    seed = write_seed(tmp_path, [])
    (seed / "items" / "licence.yaml").write_text(content)
    with pytest.raises(SeedError, match=fragment):
        load_seed(seed)


def test_cli_seed_rolls_back_everything_on_a_broken_row(app, cli, db, tmp_path, monkeypatch):
    broken = seed_item("S-3", handling_items=[handling_item_data(code="S-3-01", visits=5)])
    seed = write_seed(tmp_path, [seed_item("S-1"), seed_item("S-2"), broken])
    monkeypatch.setitem(app.config, "SEED_DIR", str(seed))
    result = cli.invoke(args=["seed"])
    assert result.exit_code == 1
    assert "数据库未做任何修改" in result.output
    assert "S-3" in result.output and "visits" in result.output
    assert "Traceback" not in result.output
    assert count_items(db) == 0


def test_cli_seed_says_when_nothing_changed(app, cli, db, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "SEED_DIR", str(write_seed(tmp_path, [seed_item("S-1")])))
    first = cli.invoke(args=["seed"])
    assert first.exit_code == 0 and "新增 1 项" in first.output
    second = cli.invoke(args=["seed"])
    assert second.exit_code == 0
    assert "未做修改" in second.output
