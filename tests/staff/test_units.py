"""The staff pages of the unit windows: the list, the form, its refusals and its conflict."""

from __future__ import annotations

import re

import sqlalchemy as sa

from catalog.models import AuditEvent
from catalog.operations.units import find_unit
from tests.factories import item_data, publish
from tests.staff.conftest import csrf_token

FORM = {
    "name": "运输服务科",
    "address": "许昌市政务服务中心二楼 12 号窗口",
    "phone": "0374-1234567",
    "hours": "法定工作日",
    "map_url": "",
    "notes": "",
    "reason": "补充窗口信息",
    "version": "",
}


def version_on(page: str) -> str:
    return re.search(r'id="version" name="version" type="hidden" value="([^"]*)"', page).group(1)


def save(client, **changes):
    data = FORM | {"csrf_token": csrf_token(client, "/staff/units/edit")} | changes
    return client.post("/staff/units/edit", data=data)


def test_the_list_names_units_without_a_window_and_the_nav_links_it(login_as, db):
    publish(db, item_data(code="A", handling_unit="运输服务科"),
            item_data(code="B", handling_unit="公路管理科"))  # fmt: skip
    reviewer = login_as("reviewer")
    assert save(reviewer).status_code == 302
    page = login_as("editor").get("/staff/units").get_data(as_text=True)
    assert 'href="/staff/units">办理窗口</a>' in page
    assert "1 个单位缺少窗口地址或咨询电话" in page
    row = page[page.index('<td data-label="单位名称">公路管理科') :].split("</tr>")[0]
    assert "窗口地址、咨询电话" in row and "尚无窗口记录" in row
    assert "/staff/units/edit" not in page  # editors read, reviewers edit
    assert "/staff/units/edit?name=" in reviewer.get("/staff/units").get_data(as_text=True)


def test_a_reviewer_adds_then_changes_a_window_audited(login_as, db):
    client = login_as("reviewer")
    response = save(client)
    assert response.status_code == 302 and response.headers["Location"] == "/staff/units"
    assert "已保存“运输服务科”的办理窗口" in client.get("/staff/units").get_data(as_text=True)
    page = client.get("/staff/units/edit?name=运输服务科").get_data(as_text=True)
    assert version_on(page) == "1" and FORM["address"] in page
    assert save(client, phone="12328", version="1", reason="改用热线").status_code == 302
    unit = find_unit("运输服务科")
    assert (unit.phone, unit.version, unit.updated_by) == ("12328", 2, "reviewer1")
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.object_type == "service_unit")
        .order_by(AuditEvent.id)
    ).all()
    assert [e.action.value for e in events] == ["create", "change"]
    assert events[1].changes == {"phone": ["0374-1234567", "12328"]}
    assert events[1].reason == "改用热线" and events[1].actor == "reviewer1"
    audit = client.get("/staff/audit").get_data(as_text=True)
    assert "咨询电话：0374-1234567 → 12328" in audit


def test_bad_fields_are_refused_in_chinese_and_nothing_is_saved(login_as, db):
    client = login_as("admin")
    response = save(client, phone="电话号码", map_url="javascript:alert(1)", reason="")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert (
        "咨询电话：不是有效的电话号码" in page
        and "地图链接：须为以 http:// 或 https:// 开头" in page
    )
    assert "修改原因：请说明修改原因" in page
    assert 'aria-invalid="true"' in page and "电话号码" in page  # the input is kept
    assert save(client, name="", reason="r").status_code == 400
    assert save(client, address="址" * 201, reason="r").status_code == 400
    assert find_unit("运输服务科") is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


def test_a_second_editors_save_over_a_newer_version_is_refused_with_409(login_as, db):
    first, second = login_as("reviewer"), login_as("admin")
    assert save(first).status_code == 302
    seen = version_on(second.get("/staff/units/edit?name=运输服务科").get_data(as_text=True))
    assert save(first, phone="12328", version=seen).status_code == 302
    response = save(second, notes="节假日不办公", version=seen)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "已被他人修改，本次提交未保存" in page
    assert "12328" in page and "节假日不办公" in page  # theirs shown, mine kept in the form
    assert find_unit("运输服务科").notes is None
    assert version_on(page) == "2"  # resubmitting is a deliberate save over theirs
    assert save(second, notes="节假日不办公", phone="12328", version="2").status_code == 302
    assert find_unit("运输服务科").notes == "节假日不办公"


def test_creating_a_unit_someone_created_meanwhile_is_a_conflict(login_as, db):
    first, second = login_as("reviewer"), login_as("admin")
    assert version_on(second.get("/staff/units/edit?name=运输服务科").get_data(as_text=True)) == ""
    assert save(first).status_code == 302
    refused = save(second, phone="12328")
    assert refused.status_code == 409
    assert "已有记录（在您填写期间被他人新建）" in refused.get_data(as_text=True)
    assert find_unit("运输服务科").phone == "0374-1234567"


def test_editors_cannot_open_or_post_the_form(login_as, db):
    editor = login_as("editor")
    assert editor.get("/staff/units/edit?name=运输服务科").status_code == 403
    token = csrf_token(editor, "/staff/units")
    assert editor.post("/staff/units/edit", data=FORM | {"csrf_token": token}).status_code == 403
    assert find_unit("运输服务科") is None
