"""The home page and its JSON twin."""

from __future__ import annotations

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
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "服务器内部错误" in page
    for leak in ("secret detail", "Traceback", "SELECT", "/srv/app"):
        assert leak not in page
