"""The item's unit window (办理地点) on the guide, the notice and the API."""

from __future__ import annotations

import re

from catalog.models import Role
from catalog.operations.actor import Actor
from catalog.operations.units import save_unit
from tests.api.test_views import assert_matches, spec  # noqa: F401  (the OpenAPI fixture)
from tests.factories import item_data, publish

WINDOW = {
    "name": "运输服务科",
    "address": "许昌市政务服务中心二楼 12 号窗口",
    "phone": "0374-1234567转801",
    "hours": "周一至周五 8:30—12:00",
    "map_url": "https://map.example.cn/?q=许昌&z=16",
    "notes": "节假日不办公",
}


def window_block(page: str) -> str:
    match = re.search(r'<div class="unit-window"[^>]*>(.*?)</div>', page, re.S)
    assert match, "no 办理地点 block"
    return match.group(1)


def add_window(db, **changes):
    save_unit(WINDOW | changes, actor=Actor("reviewer1", Role.reviewer), reason="测试",
              expected_version=None)  # fmt: skip
    db.session.commit()


def test_the_guide_and_notice_show_the_units_window(client, db):
    publish(db, item_data(code="A", handling_unit="运输服务科", location="大厅", hours="全天"))
    add_window(db)
    for path in ("/items/A", "/handling/A-01/notice"):
        block = window_block(client.get(path).get_data(as_text=True))
        assert WINDOW["address"] in block and "（运输服务科窗口）" in block
        assert '<a href="tel:03741234567;ext=801">0374-1234567转801</a>' in block
        assert WINDOW["hours"] in block and "节假日不办公" in block
        assert 'href="https://map.example.cn/?q=许昌&amp;z=16"' in block
        assert "大厅" not in block and "全天" not in block


def test_without_a_record_the_items_own_location_and_hours_are_shown(client, db):
    publish(db, item_data(code="A", handling_unit="公路管理科", location="大厅", hours="全天"),
            item_data(code="B", handling_unit=None, location=None, hours=None))  # fmt: skip
    block = window_block(client.get("/items/A").get_data(as_text=True))
    assert "大厅" in block and "全天" in block
    assert "咨询电话" not in block and "地图" not in block  # the item's 咨询方式 says how
    empty = window_block(client.get("/handling/B-01/notice").get_data(as_text=True))
    assert empty.count("暂未提供") == 2  # address, hours


def test_a_window_without_a_phone_says_not_provided(client, db):
    publish(db, item_data(code="A", handling_unit="运输服务科"))
    add_window(db, phone=None)
    block = window_block(client.get("/items/A").get_data(as_text=True))
    assert re.search(r"<dt>咨询电话</dt><dd><span[^>]*>暂未提供", block)


def test_a_window_is_escaped_on_the_page(client, db):
    publish(db, item_data(code="A", handling_unit="运输服务科"))
    add_window(db, address="<script>alert(1)</script>", notes='"><img src=x>')
    page = client.get("/items/A").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "<img src=x>" not in page
    assert "&lt;script&gt;" in page


def test_the_items_json_carries_its_window(client, db, spec):  # noqa: F811
    own = {"location": "大厅", "hours": "全天"}
    publish(db, item_data(code="A", handling_unit="运输服务科", **own),
            item_data(code="B", handling_unit="公路管理科", **own))  # fmt: skip
    add_window(db)
    body = client.get("/api/v1/items/A").get_json()
    assert_matches(spec, "Item", body)
    assert body["window"] == {"name": "运输服务科", "recorded": True, **{
        key: WINDOW[key] for key in ("address", "phone", "hours", "map_url", "notes")}}  # fmt: skip
    fallback = client.get("/api/v1/items/B").get_json()["window"]
    assert fallback == {"name": "公路管理科", "recorded": False, "address": "大厅",
                        "phone": None, "hours": "全天", "map_url": None, "notes": None}  # fmt: skip


def test_the_units_api_lists_and_finds_windows(client, db, spec):  # noqa: F811
    add_window(db)
    add_window(db, name="公路管理科", address=None, phone="12328", map_url=None, notes=None)
    body = client.get("/api/v1/units").get_json()
    assert_matches(spec, "UnitList", body)
    assert [unit["name"] for unit in body["units"]] == ["公路管理科", "运输服务科"]
    one = client.get("/api/v1/units/运输服务科")
    assert one.status_code == 200 and one.get_json() == body["units"][1]
    assert_matches(spec, "Unit", one.get_json())
    missing = client.get("/api/v1/units/没有这个科")
    assert missing.status_code == 404
    assert "没有名为“没有这个科”的单位的办理窗口" in missing.get_json()["error"]["message"]
    assert client.get("/api/v1/units/" + "科" * 300).status_code == 404
    assert client.get("/api/v1/units/a%00b").status_code == 400


def test_the_openapi_document_describes_the_units(spec):  # noqa: F811
    assert {"/api/v1/units", "/api/v1/units/{name}"} <= set(spec["paths"])
    window = spec["components"]["schemas"]["Item"]["properties"]["window"]
    assert window["$ref"] == "#/components/schemas/Window"
    assert "办理地点" in window["description"]
