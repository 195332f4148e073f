"""The words and times templates show: stored codes in Chinese, stored UTC in the display zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

import config
from catalog.templating import auth_detail, beijing, change_value


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("not signed in", "未登录"),
        ("role editor, needs can_manage_accounts", "角色：编辑，需要权限：管理账号"),
        ("role reviewer, needs can_publish", "角色：审核，需要权限：发布与停用"),
        ("account 3, session version 1", "账号编号 3，会话版本 1（已失效）"),
        ("limit 5 per 10 minute", "登录尝试已达上限（10 分钟内 5 次）"),
        ("limit 20 per 1 hours", "登录尝试已达上限（1 小时内 20 次）"),
        ("role admin", "角色：管理员"),
        # what the app writes now stays as it is
        ("角色：编辑，需要权限：管理账号", "角色：编辑，需要权限：管理账号"),
        ("账号登录失败已达上限（10 分钟内 5 次）", "账号登录失败已达上限（10 分钟内 5 次）"),
        (None, ""),
    ],
)
def test_stored_sign_in_details_read_in_chinese(stored, shown):
    assert auth_detail(stored) == shown


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("status", "draft", "草稿"),
        ("handling_items.A-01.status", "retired", "已停用"),
        ("revision.state", "submitted", "待审核"),
        ("type", "licence", "行政许可"),
        ("result.type", "certificate", "证照"),
        ("handling_items.A-01.case_type", "instant", "即办件"),
        ("handling_items.A-01.forms", ["window", "online"], "窗口办理、网上办理"),
        ("handling_items.A-01.online_depth", 4, "互联网受理"),
        ("handling_items.A-01.fees", "none", "不收费"),
        (
            "handling_items.A-01.materials",
            [{"name": "申请表", "kind": "copy", "notes": None}],
            "名称：申请表，材料类型：复印件",
        ),
        ("mapping", {"编号": "事项编码", "备注": "ignore"}, "编号 → 事项编码；备注 → 忽略"),
        ("handling_items.A-01.visits", 0, 0),
        ("conditions", None, "（无）"),
        ("handling_items.A-01.steps", [], "（无）"),
    ],
)
def test_audited_values_read_in_chinese(field, value, shown):
    assert change_value(value, field) == shown


def test_times_show_in_the_display_zone(app):
    with app.app_context():
        assert beijing(datetime(2026, 3, 4, 22, 5, 6, tzinfo=UTC)) == "2026-03-05 06:05（北京时间）"
        assert beijing(datetime(2026, 3, 4, 22, 5, 6), with_seconds=True) == (
            "2026-03-05 06:05:06（北京时间）"  # SQLite's naive datetimes are UTC
        )
        assert beijing("2026-03-04T22:05:06+00:00", with_zone=False) == "2026-03-05 06:05"
        assert beijing("2026-03-04T22:05:06+00:00", date_only=True) == "2026-03-05"
        assert beijing(date(2026, 3, 4)) == "2026-03-04"
        assert beijing(None) == ""


def test_the_display_zone_is_checked_when_the_app_is_configured():
    settings = config.load(overrides={"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"})
    assert (settings["DISPLAY_TIMEZONE"], settings["DISPLAY_TIMEZONE_LABEL"]) == (
        "Asia/Shanghai",
        "北京时间",
    )
    with pytest.raises(ValueError, match="DISPLAY_TIMEZONE"):
        config.load(
            overrides={
                "SQLALCHEMY_DATABASE_URI": "sqlite://",
                "SECRET_KEY": "x",
                "DISPLAY_TIMEZONE": "Asia/Peking",
            }
        )


def test_a_worker_compiles_every_template_before_its_first_request(database_url, db):
    """wsgi.py compiles the templates when a worker starts: a page rendered afterwards loads no
    template source (the first /reports/compare of a fresh worker spent half its time there)."""
    from catalog.templating import compile_templates
    from tests.conftest import make_app

    fresh = make_app(database_url)
    loaded: list[str] = []
    loader = fresh.jinja_env.loader
    original = loader.get_source

    def counting(environment, name):
        loaded.append(name)
        return original(environment, name)

    loader.get_source = counting
    assert compile_templates(fresh) == len(fresh.jinja_env.list_templates(extensions=("html",)))
    compiled = len(loaded)
    try:
        for url in ("/", "/items?q=出租", "/reports", "/reports/compare", "/no-such-page"):
            assert fresh.test_client().get(url).status_code in (200, 404)
    finally:  # its pooled connections closed now, not when the collector finds the app
        with fresh.app_context():
            db.engine.dispose()
    assert compiled > 40 and len(loaded) == compiled  # nothing loaded by the requests
