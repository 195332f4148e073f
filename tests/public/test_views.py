"""The home page and its JSON twin."""

from __future__ import annotations

import csv
import io
import re

import pytest

from catalog.services import create_item
from tests.conftest import make_app
from tests.factories import handling_item_data, item_data, publish


def test_home_on_an_empty_catalog_says_so(client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "目录中还没有已发布的事项" in page


def test_home_shows_types_and_ratios_with_their_counts(client, db):
    publish(
        db,
        item_data(
            handling_item_data(code="A-01", case_type="instant", promised_days=0),
            handling_item_data(code="A-02", visits=1, visit_reason="现场核验"),
            code="A",
        ),
        item_data(code="B", type="confirmation"),
    )
    create_item(item_data(code="C"))  # a draft: not on the public page
    db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert "共 <strong>2</strong> 项审批事项" in page
    assert "<strong>3</strong> 个业务办理项" in page
    assert "66.67%" in page and "2 / 3" in page  # no-visit share
    assert "33.33%" in page and "1 / 3" in page  # instant share
    assert "(60 − 10) / 60" in page  # compression: A-01 counts promised 0


def test_home_follows_every_change_of_the_catalog(client, db):
    publish(db, item_data(code="A"))
    assert "共 <strong>1</strong> 项审批事项" in client.get("/").get_data(as_text=True)
    publish(db, item_data(code="B"))  # the headline is cached per revision of the catalog
    assert "共 <strong>2</strong> 项审批事项" in client.get("/").get_data(as_text=True)


def test_the_home_pages_figures_are_the_reports(app, client, db):
    from catalog.reports.snapshots import live_headline

    publish(
        db,
        item_data(handling_item_data(code="A-01", case_type="instant", promised_days=0),
                  handling_item_data(code="A-02", visits=1, visit_reason="现场核验"), code="A"),
        item_data(handling_item_data(code="B-01", promised_days=25, statutory_days=30),
                  code="B", type="confirmation"),
    )  # fmt: skip
    report = client.get("/api/v1/report").get_json()
    with app.app_context():
        headline = live_headline()
    assert set(headline) == {"items", "handling_items", "no_visit", "instant",
                             "at_most_one_visit", "online_capable", "fully_online",
                             "compression"}  # fmt: skip
    assert headline == {key: report[key] for key in headline}


def test_unknown_page_is_a_chinese_404_and_the_api_answers_json(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert api.get_json() == {
        "error": {"status": 404, "message": "页面不存在，可能已被移除或地址有误。"}
    }


def test_an_unexpected_error_shows_no_trace(database_url, db):
    app = make_app(database_url, PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail /srv/app/catalog.py SELECT * FROM approval_item")

    response = app.test_client().get("/boom")
    with app.app_context():
        db.engine.dispose()
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "服务器内部错误" in page
    for leak in ("secret detail", "Traceback", "SELECT", "/srv/app"):
        assert leak not in page


def fee_item(**overrides):
    fee = {
        "name": '=HYPERLINK("http://evil")',
        "standard": "每证10元",
        "amount": "10",
        "basis": "《收费标准》",
    }
    return item_data(
        handling_item_data(code="F-01", fees=[fee], visits=1, visit_reason="现场核验原件"),
        code="F",
        name="船舶登记",
        **overrides,
    )


@pytest.fixture
def small_catalog(db):
    publish(
        db,
        item_data(
            handling_item_data(code="P-01"),
            code="P",
            name="港口经营许可",
            handling_unit="港航海事科",
        ),
        item_data(
            handling_item_data(code="T-01", case_type="instant", promised_days=0),
            code="T",
            name="巡游出租汽车经营许可",
        ),
        fee_item(),
    )


def test_results_page_lists_highlights_and_links_its_json_twin(client, small_catalog):
    response = client.get("/items?q=港口")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<mark>港口</mark>经营许可" in page
    assert "共 1 个业务办理项" in page
    assert response.headers["Link"] == (
        '</api/v1/items?q=%E6%B8%AF%E5%8F%A3>; rel="alternate"; type="application/json"'
    )
    assert 'href="/api/v1/items?q=%E6%B8%AF%E5%8F%A3"' in page
    assert 'href="/items.csv?q=%E6%B8%AF%E5%8F%A3"' in page


def test_results_page_filters_and_facets(client, small_catalog):
    page = client.get("/items?instant=1").get_data(as_text=True)
    assert "共 1 个业务办理项" in page and "巡游出租汽车经营许可" in page
    assert 'aria-current="true"' in page


def test_empty_result_suggests_what_to_do(client, small_catalog):
    page = client.get("/items?q=港口经营证").get_data(as_text=True)
    assert "没有找到符合条件的事项" in page
    assert "名称相近的事项" in page and "港口经营许可" in page
    assert "按类型浏览" in page


@pytest.mark.parametrize(
    "url",
    [
        "/items?q=<script>alert(1)</script>",
        "/items?q=%ff%fe",
        "/items?q=%22*NEAR(%20OR",
        "/items?q=" + "港" * 500,
        "/items?cursor=!!",
        "/items?type=tax",
        "/items?no_visit=2",
        "/items?q=" + "词 " * 20,
    ],
)
def test_any_query_string_gives_a_page_never_a_500(client, small_catalog, url):
    response = client.get(url)
    assert response.status_code in (200, 400)
    page = response.get_data(as_text=True)
    assert "<script>alert" not in page
    assert "Traceback" not in page


def test_bad_input_on_the_page_says_what_is_wrong(client, small_catalog):
    response = client.get("/items?type=tax")
    assert response.status_code == 400
    assert "事项类型“tax”无效" in response.get_data(as_text=True)


def test_guide_shows_everything_needed_to_apply(client, small_catalog):
    page = client.get("/items/F").get_data(as_text=True)
    for text in (
        "船舶登记",
        "办事指南",
        "行政许可",
        "许昌市交通运输局",
        "《中华人民共和国道路运输条例》",
        "第二十四条",
        "受理条件",
        "《道路运输经营许可证》",
        "法定办结时限",
        "20 个工作日",
        "承诺办结时限",
        "5 个工作日",
        "压缩 75.00%",
        "1 次：现场核验原件",
        "窗口办理、网上办理",
        "4级：互联网受理",
        "每证10元",
        "《收费标准》",
        "申请表",
        "复印件",
        "政府部门核发",
        "受理（1 个工作日）",
        "许昌市政务服务中心",
        "12328",
        "打印一次性告知单",
    ):
        assert text in page, text
    assert "=HYPERLINK(&#34;http://evil&#34;)" in page  # escaped, shown as text


def test_unknown_or_unpublished_guides_are_404(client, small_catalog, db):
    create_item(item_data(code="D", name="草稿事项"))
    db.session.commit()
    assert client.get("/items/NOPE").status_code == 404
    assert client.get("/items/D").status_code == 404
    assert client.get("/items/" + "X" * 300).status_code == 404
    assert client.get("/handling/D-01/notice").status_code == 404


def test_notice_is_the_material_checklist(client, small_catalog):
    page = client.get("/handling/F-01/notice").get_data(as_text=True)
    assert "一次性告知单" in page and "船舶登记" in page
    assert page.count('<td class="tick"') == 2  # one box per material
    assert "每证10元" in page


# Worked by hand from the State Council's 2026 schedule: 10-01..10-07 off, Saturday 10-10
# worked; 02-15..02-23 off, Saturdays 02-14 and 02-28 worked. F-01 promises 5 of a statutory 20
# working days; T-01 is instant (promised 0) with a statutory 20.
@pytest.mark.parametrize(
    ("handling", "date", "promised", "statutory"),
    [
        # 10-08, 10-09, 10-10 (Sat, worked), 10-12, 10-13; ... 20th working day 11-03
        ("F-01", "2026-09-30", "2026-10-13", "2026-11-03"),
        # applied on a holiday: instant means the next working day
        ("T-01", "2026-10-03", "2026-10-08", "2026-11-03"),
        # 02-14 (Sat, worked), 02-24, 02-25, 02-26, 02-27; 02-28 (Sat) counts on the way to 03-19
        ("F-01", "2026-02-13", "2026-02-27", "2026-03-19"),
    ],
)
def test_deadline_calculator_counts_working_days(
    client, small_catalog, handling, date, promised, statutory
):
    response = client.get(f"/handling/{handling}/deadline?date={date}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"<strong>{promised}</strong>" in page
    assert statutory in page


@pytest.mark.parametrize(
    ("date", "message"),
    [
        ("", "请填写申请日期"),
        ("2026-02-30", "无效"),
        ("yesterday", "无效"),
        ("2028-03-01", "只覆盖2004年至2026年"),
        ("1999-01-04", "只覆盖2004年至2026年"),
    ],
)
def test_deadline_calculator_explains_bad_dates(client, small_catalog, date, message):
    response = client.get(f"/handling/F-01/deadline?date={date}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


# The calendar (chinesecalendar 1.11.0) ends with 2026: days of 2027 are estimated, Monday to
# Friday less 1 January, 1-2 May and 1-3 October. Worked by hand.
@pytest.mark.parametrize(
    ("handling", "date", "promised", "statutory", "estimated"),
    [
        # 03-02..03-05, 03-08; 20 weekdays of March end on 03-29
        ("F-01", "2027-03-01", "2027-03-08", "2027-03-29", {"promised", "statutory"}),
        # 12-22..12-25, 12-28 from the calendar; the statutory 20 run into 2027, where
        # 01-01 (a Friday) is New Year's Day: 12-22..31 (8), 01-04..08 (13), 11..15 (18), 18, 19
        ("F-01", "2026-12-21", "2026-12-28", "2027-01-19", {"statutory"}),
        # instant, applied on New Year's Day (Friday): the next weekday, Monday 01-04
        ("T-01", "2027-01-01", "2027-01-04", "2027-01-29", {"promised", "statutory"}),
    ],
)
def test_deadline_calculator_estimates_the_year_after_the_calendar(
    client, small_catalog, handling, date, promised, statutory, estimated
):
    response = client.get(f"/handling/{handling}/deadline?date={date}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    dates = {
        name: re.search(rf'<dd class="{name}">(.*?)</dd>', page, re.S).group(1)
        for name in ("promised", "statutory")
    }
    assert f"<strong>{promised}</strong>" in dates["promised"]
    assert statutory in dates["statutory"]
    for name, text in dates.items():
        assert ("估算" in text) == (name in estimated), name
    assert "节假日日历只收录到2026年" in page


def test_deadline_calculator_says_nothing_of_estimates_within_the_calendar(client, small_catalog):
    page = client.get("/handling/F-01/deadline?date=2026-09-30").get_data(as_text=True)
    assert "估算" not in page and "只收录到" not in page


def test_csv_download_is_safe_against_formulas(client, small_catalog, db):
    publish(
        db,
        item_data(
            handling_item_data(code="X-01", situation="@SUM(A1)"),
            code="X",
            name='=HYPERLINK("http://evil") 船舶',
        ),
    )
    response = client.get("/items.csv?q=船舶")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == "attachment; filename=items.csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff业务办理项编码")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert [row[0] for row in rows[1:]] == ["F-01", "X-01"]
    assert rows[2][2] == '\'=HYPERLINK("http://evil") 船舶'
    assert rows[2][3] == "'@SUM(A1)"


def test_csv_cells_that_look_like_formulas_get_an_apostrophe():
    from catalog.public.export import safe_cell

    for dangerous in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(dangerous) == "'" + dangerous
    assert safe_cell("港口") == "港口" and safe_cell(None) == "" and safe_cell(5) == "5"
