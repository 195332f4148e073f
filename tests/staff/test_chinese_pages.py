"""Staff pages are wholly in Chinese, and their times are in the display zone (北京时间).

Every staff page is rendered as an admin, over a catalog whose audit trail holds every action
and whose sign-in log holds every kind of event, rows stored by older versions of the app (in
English) included; the visible text may hold no ASCII word of three letters or more but the
technical tokens staff need verbatim (usernames, item codes, file formats); text in <code>
(a request's method and path, a fingerprint) or marked translate="no" is verbatim too.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from catalog.audit import record
from catalog.drafts import current_data, editable_version
from catalog.extensions import db as _db
from catalog.models import ApprovalItem, AuditAction, AuditEvent, AuthEvent, AuthEventKind, User
from catalog.operations import items as operations
from catalog.operations.accounts import create_account, disable_account, reset_password
from catalog.operations.mappings import save_mapping
from catalog.operations.snapshots import create_snapshot
from tests.factories import handling_item_data, item_data, publish
from tests.staff.conftest import PASSWORD

# Words staff read as they are: the test's usernames, file formats, the hotline's name.
ALLOWED = {"editor", "reviewer", "admin", "CSV", "XLSX", "JSON", "API", "PDF", "URL"}
WORD = re.compile(r"[A-Za-z]{3,}")
# A fixed moment: 2026-03-04 22:05:06 UTC is 2026-03-05 06:05 in Beijing (the next day).
STORED = datetime(2026, 3, 4, 22, 5, 6, tzinfo=UTC)
SHOWN = "2026-03-05 06:05"
# The details older versions of the app stored in English (the rows stay as they are).
LEGACY_DETAILS = {
    AuthEventKind.access_refused: ["not signed in", "role editor, needs can_manage_accounts"],
    AuthEventKind.session_refused: ["account 3, session version 1"],
    AuthEventKind.login_throttled: ["limit 5 per 10 minute", "limit 20 per 10 minute"],
    AuthEventKind.account_created: ["role admin", "role reviewer"],
}


class VisibleText(HTMLParser):
    """The text a reader sees or hears: text nodes and the attributes read out (title, alt,
    placeholder, aria-label, value of buttons); not scripts and styles, nor what is marked as
    verbatim: <code> (a request's path, a fingerprint) or translate="no"."""

    SKIPPED = {"script", "style", "code"}
    READ_OUT = {"title", "alt", "placeholder", "aria-label"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
            "track", "wbr"}  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, bool]] = []  # (tag, hidden)
        self.parts: list[str] = []

    @property
    def hidden(self) -> bool:
        return any(hidden for _tag, hidden in self.open)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        hidden = tag in self.SKIPPED or attrs.get("translate") == "no"
        if not hidden and not self.hidden:
            self.parts += [
                value for name, value in attrs.items() if name in self.READ_OUT and value
            ]
            if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
                self.parts.append(attrs["value"])
        if tag not in self.VOID:
            self.open.append((tag, hidden))

    def handle_endtag(self, tag):
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index][0] == tag:
                del self.open[index:]
                break

    def handle_data(self, data):
        if not self.hidden and data.strip():
            self.parts.append(data.strip())


def visible_text(page: str) -> str:
    parser = VisibleText()
    parser.feed(page)
    parser.close()
    return "\n".join(parser.parts)


def english_words(page: str, allowed: set[str]) -> list[str]:
    return sorted(
        {
            w
            for w in WORD.findall(visible_text(page))
            if w not in allowed and w.upper() not in allowed
        }
    )


def _auth_event(kind: AuthEventKind, **values) -> None:
    _db.session.execute(
        sa.insert(AuthEvent).values(occurred_at=STORED, kind=kind, address="203.0.113.9", **values)
    )


@pytest.fixture
def full_catalog(db, accounts):
    """Every audit action, every kind of sign-in event, snapshots by a person and by commands."""
    editor, reviewer, admin = accounts["editor"], accounts["reviewer"], accounts["admin"]
    publish(db, item_data(handling_item_data(code="A-01"), code="A", name="港口经营许可"))
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "A"))

    def edited(**changes):
        data = current_data(item)
        data.update(changes)
        return data

    # a draft that changes a value of every kind; submitted, returned, submitted again and
    # published by another reviewer
    handling = edited()["handling_items"][0]
    handling.update(
        forms=["window"], online_depth=2, visits=1, visit_reason="核验原件",
        fees=[{"name": "工本费", "standard": "每本 10 元", "amount": "10.00", "basis": "收费文件"}],
        materials=[{"name": "申请表", "kind": "original_or_copy", "form": "electronic",
                    "necessity": "deferred", "source": "other", "copies": 2, "notes": "加盖公章"}],
        steps=[{"name": "受理", "days": 1}, {"name": "决定", "days": None}],
    )  # fmt: skip
    changed = edited(
        type="confirmation", exercise_level="county", power_source="delegated",
        service_targets=["natural_person", "enterprise"], conditions="新的条件。",
        result={"name": "批复", "type": "approval_document"},
        legal_basis=[{"law": "《道路运输条例》", "article": "第十条"}],
    )  # fmt: skip
    # two saves, so that each audit record lists its changes (beyond 12 it counts them)
    for data in (changed, {**changed, "handling_items": [handling]}):
        version = editable_version(item)
        operations.save_draft(item, data, actor=editor, reason="修改各项内容",
                              expected_version=version, acknowledged=True)  # fmt: skip
    operations.submit(item, actor=editor, expected_version=editable_version(item))
    operations.return_to_editor(item, actor=reviewer, expected_version=editable_version(item),
                                note="请补充依据")  # fmt: skip
    operations.submit(item, actor=editor, expected_version=editable_version(item), note="已补充")
    operations.publish(item, actor=reviewer, expected_version=editable_version(item))
    # a draft discarded, then the item retired
    operations.save_draft(item, edited(hours="工作日"), actor=editor, reason="改时间",
                          expected_version=editable_version(item), acknowledged=True)  # fmt: skip
    operations.discard(item, actor=editor, expected_version=editable_version(item))
    # new items: by a person, and imported by a command; one retired
    operations.create_item(item_data(code="B", name="道路运输证配发"), actor=editor, reason="新增")
    imported = operations.create_item(
        item_data(code="C", name="出租汽车经营许可"), actor="cli", reason="导入 x.xlsx",
        action=AuditAction.import_,
    )  # fmt: skip
    db.session.flush()
    operations.retire_item(imported, actor=reviewer, reason="已取消")
    create_snapshot("基线", actor="seed", note="种子数据的基线")
    create_snapshot("年中", actor="cli")
    create_snapshot("年末", actor=reviewer)
    # an old record with the item status of databases before migration 0014
    record(actor="system", action=AuditAction.change, object_type="item", object_code="A",
           changes={"status": ("draft", "published")}, reason=None)  # fmt: skip
    save_mapping("市局旧表", {"编号": "事项编码", "备注栏": "ignore"}, actor=editor)
    # an audit record by a command at a known moment
    _db.session.execute(
        sa.insert(AuditEvent).values(
            occurred_at=STORED, actor="cli", action=AuditAction.retire, object_type="item",
            object_code="C", changes={"status": ["published", "retired"]}, reason="停止办理",
        )
    )  # fmt: skip
    # a full decision record opened by staff (issue 24: who read a natural person's ID number)
    db.session.add(
        AuditEvent(
            occurred_at=STORED, actor="editor1", action=AuditAction.view,
            object_type="licence_decision", object_code="许交运许〔2020〕1号", changes={},
            details={"record_id": 1},
        )
    )  # fmt: skip
    # an export of full decision records (its own action since 0041)
    db.session.add(
        AuditEvent(
            occurred_at=STORED, actor="editor1", action=AuditAction.export,
            object_type="penalty_decision", object_code="批量导出（CSV）", changes={},
            details={"export": {"format": "csv", "filters": {"kind": "penalty"}, "records": 2}},
        )
    )  # fmt: skip
    # account changes by the admin and by commands
    other = create_account("reviewer2", PASSWORD, "reviewer", actor="cli")
    reset_password(other, PASSWORD + "新", actor=admin)
    disable_account(other, actor=admin)
    db.session.flush()
    # every kind of sign-in event, at a known moment, with the details older versions stored
    for kind in AuthEventKind:
        _auth_event(kind, username="editor1", method="POST", path="/staff/login?next=%2Fstaff%2F")
        for detail in LEGACY_DETAILS.get(kind, []):
            _auth_event(kind, username="editor1", actor="cli", detail=detail)
    _auth_event(AuthEventKind.account_created, username="reviewer2", actor="seed")
    _auth_event(AuthEventKind.lockout_cleared, username="editor1", actor="system")
    db.session.commit()
    assert {e.action for e in db.session.scalars(sa.select(AuditEvent))} == set(AuditAction)
    assert {e.kind for e in db.session.scalars(sa.select(AuthEvent))} == set(AuthEventKind)
    return accounts


STAFF_PAGES = [
    "/staff/",
    "/staff/?status=retired",
    "/staff/items/A",
    "/staff/items/B",
    "/staff/items/C",
    "/staff/items/A/edit",
    "/staff/handling/A-01/edit",
    "/staff/items/new",
    "/staff/audit",
    "/staff/audit?code=A",
    "/staff/audit?action=retire",
    "/staff/import",
    "/staff/accounts",
    "/staff/accounts/events",
    "/staff/accounts/events?kind=access_refused",
    "/staff/accounts/{editor}/password",
    "/staff/password",
    "/staff/snapshots",
    "/staff/units",
    "/staff/units/edit?name=运输服务科",
    "/staff/units/edit",
    "/reports",
]  # fmt: skip


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_every_staff_page_is_in_chinese(full_catalog, login_as, accounts, path):
    client = login_as("admin")
    response = client.get(path.format(editor=accounts["editor"].id))
    assert response.status_code == 200, path
    words = english_words(response.get_data(as_text=True), ALLOWED)
    assert not words, f"{path} shows {words}"


def test_the_signin_pages_and_their_refusals_are_in_chinese(app, accounts, client):
    from tests.staff.conftest import sign_in

    assert not english_words(client.get("/staff/login").get_data(as_text=True), ALLOWED)
    wrong = sign_in(client, "editor1", "不对的密码")
    assert wrong.status_code == 401
    assert not english_words(wrong.get_data(as_text=True), ALLOWED)
    for _attempt in range(5):
        refused = sign_in(client, "editor1", "不对的密码")
    assert refused.status_code == 429
    assert not english_words(refused.get_data(as_text=True), ALLOWED)


def _in_beijing(moment: datetime, seconds: bool = True) -> str:
    """A stored UTC time eight hours on, as the pages write it (China: UTC+8, no DST)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    shape = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return (moment.astimezone(UTC) + timedelta(hours=8)).strftime(shape)


def test_logs_show_beijing_time_and_say_so(full_catalog, login_as):
    client = login_as("admin")
    for path in ("/staff/audit?code=C", "/staff/accounts/events"):
        text = visible_text(client.get(path).get_data(as_text=True))
        assert "时间（北京时间）" in text, path
        assert SHOWN + ":06" in text, path  # 22:05:06 UTC on the 4th
        assert "2026-03-04" not in text and "UTC" not in text, path


def test_snapshots_accounts_and_the_report_show_beijing_time(full_catalog, login_as, db):
    from catalog.models import Snapshot

    client = login_as("admin")
    text = visible_text(client.get("/staff/snapshots").get_data(as_text=True))
    assert "生成时间（北京时间）" in text and "UTC" not in text
    for snapshot in db.session.scalars(sa.select(Snapshot)):
        assert _in_beijing(snapshot.created_at, seconds=False) in text
    admin = db.session.scalar(sa.select(User).where(User.username == "admin1"))
    db.session.refresh(admin)
    text = visible_text(client.get("/staff/accounts").get_data(as_text=True))
    assert "最近登录（北京时间）" in text
    assert _in_beijing(admin.last_login_at, seconds=False) in text
    report = client.get("/api/v1/report?snapshot=年末").get_json()
    text = visible_text(client.get("/reports?snapshot=年末").get_data(as_text=True))
    assert "UTC" not in text
    computed = datetime.fromisoformat(report["generated_at"])
    assert f"计算时间 {_in_beijing(computed)}（北京时间）" in text
    created = datetime.fromisoformat(report["snapshot"]["created_at"])
    assert f"生成于 {_in_beijing(created, seconds=False)}（北京时间）" in text


def test_the_display_zone_is_a_setting(full_catalog, login_as, app, monkeypatch):
    monkeypatch.setitem(app.config, "DISPLAY_TIMEZONE", "UTC")
    monkeypatch.setitem(app.config, "DISPLAY_TIMEZONE_LABEL", "协调世界时")
    text = visible_text(login_as("admin").get("/staff/accounts/events").get_data(as_text=True))
    assert "时间（协调世界时）" in text
    assert "2026-03-04 22:05:06" in text and SHOWN not in text


def test_stored_english_reads_in_chinese(full_catalog, login_as):
    """Rows stored before the sign-in log was written in Chinese stay as they are."""
    text = visible_text(login_as("admin").get("/staff/accounts/events").get_data(as_text=True))
    for words in (
        "未登录",
        "角色：编辑，需要权限：管理账号",
        "账号编号 3，会话版本 1（已失效）",
        "登录尝试已达上限（10 分钟内 5 次）",
        "登录尝试已达上限（10 分钟内 20 次）",
        "角色：管理员",
        "命令行",
        "种子数据",
        "系统",
    ):
        assert words in text


# The cards' cells shown without a value: their labels (data-label) stand alone
EMPTY_CELLS = """() => [...document.querySelectorAll("table.events tbody td")]
    .filter(td => getComputedStyle(td).display !== "none" && !td.innerText.trim())
    .map(td => td.dataset.label)"""


@pytest.mark.browser
def test_the_logs_on_a_phone(full_catalog, app):
    """The sign-in log and the audit trail at 390 px in Chromium: Chinese, Beijing time, no
    sideways scrolling: labelled cards. Screenshots: /tmp/h5-events-390.png (and
    -first-screen), /tmp/h5-audit-390.png."""
    from tests.browser import chromium_page, live_server

    with live_server(app) as base, chromium_page(viewport={"width": 390, "height": 844}) as page:
        page.goto(base + "/staff/login")
        page.get_by_label("用户名", exact=True).fill("admin1")
        page.get_by_label("密码", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.goto(base + "/staff/accounts/events")
        page.screenshot(path="/tmp/h5-events-390.png", full_page=True)
        page.screenshot(path="/tmp/h5-events-390-first-screen.png")
        text = page.locator("main").inner_text()
        assert "时间为北京时间" in text and "角色：编辑，需要权限：管理账号" in text
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert scroll <= inner, (scroll, inner)
        page.goto(base + "/staff/audit?code=A")  # the audit trail: labelled cards too
        page.screenshot(path="/tmp/h5-audit-390.png")
        text = page.locator("main").inner_text()
        assert "时间为北京时间" in text and "办理形式：窗口办理、网上办理 → 窗口办理" in text
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert scroll <= inner, (scroll, inner)
        # a record opened (nothing changed) and an export (said in words): no card shows a
        # label without its value (an empty cell's label hung below its card)
        for action in ("view", "export"):
            page.goto(base + f"/staff/audit?action={action}")
            page.screenshot(path=f"/tmp/h5-audit-{action}-390.png")
            empty = page.evaluate(EMPTY_CELLS)
            assert empty == [], (action, empty)
        text = page.locator("main").inner_text()
        assert "导出行政处罚决定 2 条（CSV）；未筛选" in text
