"""Unit windows (catalog.operations.units): the rules every caller meets, the version a save was
based on, the audit trail, who may save, the seed's windows and the guide's fallback."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import yaml

from catalog.domain import Invalid, NotAllowed
from catalog.models import ApprovalItem, AuditEvent, Role, ServiceUnit
from catalog.operations.actor import Actor
from catalog.operations.units import (
    UnitConflict,
    check_unit_data,
    find_unit,
    save_unit,
    tel_href,
    unit_overview,
    window_of,
)
from catalog.seeding import read_unit_windows
from tests.factories import item_data, publish

REVIEWER = Actor("reviewer1", Role.reviewer)
WINDOW = {
    "name": "运输服务科",
    "address": "许昌市政务服务中心二楼 12 号窗口",
    "phone": "0374-1234567",
    "hours": "法定工作日 8:30—12:00",
    "map_url": "https://map.example.cn/?q=许昌市政务服务中心",
    "notes": None,
}


def events(name: str) -> list[AuditEvent]:
    from catalog.extensions import db

    query = sa.select(AuditEvent).where(AuditEvent.object_type == "service_unit")
    query = query.where(AuditEvent.object_code == name).order_by(AuditEvent.id)
    return list(db.session.scalars(query))


@pytest.mark.parametrize(
    "phone", ["0374-1234567", "0374 1234567", "03741234567", "010-12345678", "12328", "12345",
              "13812345678", "0374-1234567-801", "0374-1234567转801", "400-123-4567", "2345678"],
)  # fmt: skip
def test_chinese_phone_numbers_are_accepted(phone):
    assert check_unit_data({"name": "运输服务科", "phone": phone})["phone"] == phone


@pytest.mark.parametrize(
    "phone", ["1234", "abc", "0374-12", "+1 555 0100", "12328 或 0374-1234567", "1381234567",
              "0374-1234567-1234567", "javascript:alert(1)"],
)  # fmt: skip
def test_other_phone_text_is_refused_naming_the_field(phone):
    with pytest.raises(Invalid) as refused:
        check_unit_data({"name": "运输服务科", "phone": phone})
    assert list(refused.value.errors) == ["phone"]
    assert "咨询电话" in refused.value.message and "0374-1234567" in refused.value.message


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://map.example.cn/", "map.example.cn", "https://",
            "http://exa mple.cn/", "data:text/html,x"],
)  # fmt: skip
def test_a_map_link_must_be_an_http_address(url):
    with pytest.raises(Invalid) as refused:
        check_unit_data({"name": "运输服务科", "map_url": url})
    assert list(refused.value.errors) == ["map_url"]
    assert "地图链接" in refused.value.message


def test_name_required_lengths_bounded_and_blank_is_unknown():
    with pytest.raises(Invalid) as refused:
        check_unit_data({"name": "  ", "address": "地" * 201, "hours": "时" * 501, "notes": "\x07"})
    errors = refused.value.errors
    assert set(errors) == {"name", "address", "hours", "notes"}
    assert "不能超过 200 个字符" in " ".join(errors["address"])
    assert "请填写单位名称" in " ".join(errors["name"])
    checked = check_unit_data({"name": " 运输服务科 ", "address": "  ", "phone": ""})
    assert checked["name"] == "运输服务科"
    assert checked["address"] is None and checked["phone"] is None


def test_saving_audits_each_field_with_actor_and_reason(db):
    save_unit(WINDOW, actor=REVIEWER, reason="窗口搬迁", expected_version=None)
    db.session.commit()
    unit = find_unit("运输服务科")
    assert unit.version == 1 and unit.updated_by == "reviewer1"
    changed = {**WINDOW, "phone": "12328", "address": None}
    save_unit(changed, actor=REVIEWER, reason="改用热线", expected_version=unit.version)
    db.session.commit()
    created, edited = events("运输服务科")
    assert created.action.value == "create" and created.reason == "窗口搬迁"
    assert created.changes["phone"] == [None, "0374-1234567"]
    assert edited.action.value == "change" and edited.actor == "reviewer1"
    assert edited.changes == {
        "phone": ["0374-1234567", "12328"],
        "address": [WINDOW["address"], None],
    }
    assert find_unit("运输服务科").version == 2


def test_a_save_with_nothing_changed_writes_nothing(db):
    unit = save_unit(WINDOW, actor=REVIEWER, reason="新建", expected_version=None)
    db.session.commit()
    assert save_unit(WINDOW, actor=REVIEWER, reason="再存", expected_version=unit.version) is None
    assert len(events("运输服务科")) == 1


def test_a_save_over_a_newer_version_is_refused(db):
    unit = save_unit(WINDOW, actor=REVIEWER, reason="新建", expected_version=None)
    db.session.commit()
    seen = unit.version
    save_unit({**WINDOW, "phone": "12328"}, actor=REVIEWER, reason="甲", expected_version=seen)
    db.session.commit()
    with pytest.raises(UnitConflict) as refused:
        save_unit({**WINDOW, "notes": "乙"}, actor=REVIEWER, reason="乙", expected_version=seen)
    assert refused.value.status == 409 and "已被他人修改" in refused.value.message
    db.session.rollback()
    assert find_unit("运输服务科").notes is None and find_unit("运输服务科").phone == "12328"
    # A form opened on a unit without a record, saved after someone created it.
    with pytest.raises(UnitConflict):
        save_unit({**WINDOW, "notes": "丙"}, actor=REVIEWER, reason="丙", expected_version="")


def test_only_reviewers_and_admins_save_and_a_reason_is_required(db):
    with pytest.raises(NotAllowed) as refused:
        save_unit(WINDOW, actor=Actor("editor1", Role.editor), reason="x", expected_version=None)
    assert refused.value.status == 403 and "审核人员" in refused.value.message
    with pytest.raises(Invalid) as refused:
        save_unit(WINDOW, actor=REVIEWER, reason="  ", expected_version=None)
    assert list(refused.value.errors) == ["reason"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ServiceUnit)) == 0


def test_the_overview_lists_units_items_name_and_what_their_windows_lack(db):
    publish(db, item_data(code="A", handling_unit="运输服务科"),
            item_data(code="B", handling_unit="运输服务科"),
            item_data(code="C", handling_unit="公路管理科"))  # fmt: skip
    save_unit({"name": "港航海事科", "phone": "12328"}, actor=REVIEWER, reason="r",
              expected_version=None)  # fmt: skip
    save_unit(WINDOW, actor=REVIEWER, reason="r", expected_version=None)
    rows = {row["name"]: row for row in unit_overview()}
    assert list(rows) == sorted(rows) == ["公路管理科", "港航海事科", "运输服务科"]
    assert rows["运输服务科"]["item_count"] == 2 and rows["运输服务科"]["lacking"] == []
    assert rows["公路管理科"]["unit"] is None
    assert rows["公路管理科"]["lacking"] == ["窗口地址", "咨询电话"]
    assert rows["港航海事科"]["item_count"] == 0 and rows["港航海事科"]["lacking"] == ["窗口地址"]


def test_the_window_falls_back_to_the_items_own_location_and_hours(db):
    publish(db, item_data(code="A", handling_unit="运输服务科", location="大厅", hours="全天"))
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "A"))
    without = window_of(item)
    assert without["recorded"] is False
    assert (without["address"], without["hours"], without["phone"]) == ("大厅", "全天", None)
    save_unit({"name": "运输服务科", "phone": "12328"}, actor=REVIEWER, reason="r",
              expected_version=None)  # fmt: skip
    partial = window_of(item)
    assert partial["recorded"] is True and partial["phone"] == "12328"
    assert (partial["address"], partial["hours"]) == ("大厅", "全天")


def test_tel_links_dial_the_digits():
    assert tel_href("0374-1234567") == "tel:03741234567"
    assert tel_href("0374-1234567转801") == "tel:03741234567;ext=801"
    assert tel_href("400-123-4567") == "tel:4001234567"
    assert tel_href("12328") == "tel:12328"


def test_the_seed_gives_each_unit_only_what_bureau_yaml_says(seeded, seed_dir, db):
    bureau = yaml.safe_load((seed_dir / "bureau.yaml").read_text(encoding="utf-8"))
    named = set(db.session.scalars(sa.select(ApprovalItem.handling_unit).distinct()))
    units = {unit.name: unit for unit in db.session.scalars(sa.select(ServiceUnit))}
    assert set(units) == named  # every unit the seed's items name, no other
    for unit in units.values():
        assert unit.address == bureau["location"] and unit.hours == bureau["hours"]
        assert unit.phone == "12328" and "12328" in bureau["consultation"]
        assert unit.map_url is None and unit.notes is None
    assert {w["name"] for w in read_unit_windows(seed_dir)} == named


def test_seeding_again_keeps_a_window_staff_edited(seeded, seed_dir, db):
    from catalog.seeding import load_seed

    unit = find_unit("运输服务科")
    save_unit({**WINDOW, "phone": "0374-7654321"}, actor=REVIEWER, reason="r",
              expected_version=unit.version)  # fmt: skip
    db.session.commit()
    again = load_seed(seed_dir)
    assert again.units == [] and not again.changed
    assert find_unit("运输服务科").phone == "0374-7654321"
    forced = load_seed(seed_dir, force=True)
    assert forced.units == ["运输服务科"] and find_unit("运输服务科").phone == "12328"


def test_the_commands_export_and_import_the_window_sheet(app, db, tmp_path):
    """flask export-items writes the 办理窗口 sheet beside the items' (xlsx); import-items
    applies an edited one with the items, audited as the command line; --dry-run writes none."""
    from openpyxl import load_workbook

    from catalog.spreadsheets import UNIT_COLUMNS, UNIT_SHEET

    publish(db, item_data(code="A", handling_unit=WINDOW["name"]))
    save_unit(WINDOW, actor=REVIEWER, reason="首次录入", expected_version=None)
    db.session.commit()
    cli = app.test_cli_runner()
    exported = tmp_path / "all.xlsx"
    result = cli.invoke(args=["export-items", "--output", str(exported)])
    assert result.exit_code == 0 and "1 个单位的办理窗口" in result.output
    book = load_workbook(exported)
    sheet = book[UNIT_SHEET]
    headers = [cell.value for cell in sheet[1]]
    assert headers == [column.header for column in UNIT_COLUMNS]
    [row] = sheet.iter_rows(min_row=2)
    assert row[headers.index("单位名称")].value == WINDOW["name"]
    row[headers.index("咨询电话")].value = "0374-7654321"
    book.save(exported)

    dry = cli.invoke(args=["import-items", str(exported), "--dry-run"])
    assert dry.exit_code == 0 and "办理窗口：新增 0 个，修改 1 个" in dry.output
    db.session.expire_all()
    assert find_unit(WINDOW["name"]).phone == WINDOW["phone"]

    result = cli.invoke(args=["import-items", str(exported), "--publish"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert find_unit(WINDOW["name"]).phone == "0374-7654321"
    last = events(WINDOW["name"])[-1]
    assert (last.actor, last.changes["phone"]) == ("cli", [WINDOW["phone"], "0374-7654321"])
