"""Hostile text in every field of an item, in a snapshot, an audit reason and a query string: the
service stores it verbatim (or refuses it cleanly, as the schema says), and every page, JSON
document, CSV and workbook gives it back exactly, as text, never as markup or a formula. In real
headless Chromium no script from content ever runs."""

from __future__ import annotations

import csv
import html
import io
import re
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from catalog.accounts import create_user
from catalog.drafts import current_data, editable_version, published_data
from catalog.extensions import limiter
from catalog.models import ApprovalItem
from catalog.operations.items import save_draft
from catalog.reports.snapshots import SnapshotError, create_snapshot
from catalog.services import (
    CatalogValidationError,
    create_item,
    item_data,
    update_item,
)
from tests.browser import chromium_page, live_server
from tests.factories import handling_item_data, publish_rows
from tests.factories import item_data as item_payload
from tests.staff.conftest import PASSWORD, csrf_token, sign_in
from tests.test_security import Watch

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
JS = "javascript:alert(1)"
# Markers a browser test can see: they set window.__pwned if they ever run.
MARK_SCRIPT = "<script>window.__pwned=2</script>"
MARK_IMG = '"><img src=x onerror="window.__pwned=1">'
RLO, ZWSP = "\u202e", "\u200b"  # right-to-left override, zero-width space
LONG = (("许昌" + SCRIPT + IMG + JS + RLO + ZWSP + MARK_IMG) * 30)[:1999] + "。"

NAME = f"港口{ZWSP}经营许可{SCRIPT}"
UNIT = f"审批科{IMG}"
SITUATION = f"新办{RLO}（反向）{MARK_SCRIPT}"
BODY = f"{RLO}许昌市交通运输局{MARK_SCRIPT}"
LAW, ARTICLE, BASIS_TEXT = f"《条例》{SCRIPT}", f"第{ZWSP}一条{IMG}", f"{JS} {LONG}"
RESULT = f"《许可证》{MARK_IMG}"
COMPLAINT, LOCATION, HOURS = f"12328{RLO}{IMG}", f"政务{ZWSP}服务中心{SCRIPT}", MARK_IMG
MATERIALS = [{"name": SCRIPT, "notes": MARK_IMG}, {"name": JS, "notes": LONG}]
FEE = {"name": IMG, "standard": JS, "amount": "10.00", "basis": MARK_SCRIPT}
STEP = IMG
# Changed after the snapshot (published), and in a pending draft, with hostile reasons.
NEW_CONSULTATION, UPDATE_REASON = f"{MARK_IMG}电话咨询", SCRIPT
DRAFT_HOURS, DRAFT_REASON = f"{SCRIPT}全天", IMG
SNAPSHOT_LABEL, SNAPSHOT_NOTE = f"{IMG}{SCRIPT}"[:50], f"{MARK_SCRIPT}{RLO}{IMG}"

PUBLIC_TEXT = [
    NAME, UNIT, SITUATION, BODY, LAW, ARTICLE, BASIS_TEXT, LONG, RESULT, COMPLAINT, LOCATION,
    HOURS, NEW_CONSULTATION, SCRIPT, JS, MARK_IMG, IMG, MARK_SCRIPT,
]  # fmt: skip


def hostile_payload(**overrides):
    handling = handling_item_data(
        code="H-01",
        situation=SITUATION,
        statutory_days=20,
        promised_days=15,  # over 10 days and compressed 25 %: two policy exceptions
        visits=1,
        visit_reason=LONG,
        materials=MATERIALS,
        fees=[FEE],
        steps=[{"name": STEP, "days": 3}],
    )
    fields = {
        "code": "H",
        "name": NAME,
        "handling_unit": UNIT,
        "implementing_body": BODY,
        "legal_basis": [{"law": LAW, "article": ARTICLE, "text": BASIS_TEXT}],
        "conditions": LONG,
        "result": {"name": RESULT, "type": "certificate"},
        "consultation": JS,
        "complaint": COMPLAINT,
        "location": LOCATION,
        "hours": HOURS,
    }
    return item_payload(handling, **{**fields, **overrides})


@pytest.fixture
def hostile(db):
    """The hostile item published, snapshotted, changed, with a pending draft; staff accounts."""
    item = create_item(hostile_payload())
    publish_rows(item)
    db.session.commit()
    create_snapshot(SNAPSHOT_LABEL, actor="admin1", note=SNAPSHOT_NOTE)
    update_item(
        item,
        {**published_data(item), "consultation": NEW_CONSULTATION},
        actor="editor1",
        reason=UPDATE_REASON,
    )
    db.session.commit()
    save_draft(
        item,
        {**current_data(item), "hours": DRAFT_HOURS},
        actor="editor1",
        reason=DRAFT_REASON,
        expected_version=editable_version(item),
    )
    create_user("editor1", PASSWORD, "editor")
    create_user("admin1", PASSWORD, "admin")
    db.session.commit()
    limiter.reset()
    return item


@pytest.fixture
def editor(app, hostile):
    client = app.test_client()
    assert sign_in(client, "editor1").status_code == 302
    return client


# The app's own scripts (the guide's and the notice's 打印 button): served from static/, the only
# script the pages may hold.
APP_SCRIPTS = ('<script src="/static/print.js" defer></script>',)


def assert_inert(page: str) -> None:
    """Nothing from content became markup: the app's own pages have no script but its own
    static ones and no image, and no link, source or form target is a javascript: URL."""
    lowered = page.lower()
    for script in APP_SCRIPTS:
        lowered = lowered.replace(script, "")
    for markup in ("<script", "<img"):
        assert markup not in lowered, markup
    assert not re.search(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", lowered)


def assert_intact(page: str, *originals: str) -> None:
    """Each original string can be read back from the page, highlighting aside."""
    text = html.unescape(re.sub(r"</?mark>", "", page))
    for original in originals:
        assert original in text, original[:60]


def get_page(client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, path
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert_inert(page)
    return page


# The service layer: verbatim or a clean refusal.


def test_the_service_stores_hostile_text_verbatim(hostile, db):
    data = item_data(db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "H")))
    assert (data["name"], data["handling_unit"], data["implementing_body"]) == (NAME, UNIT, BODY)
    assert data["legal_basis"] == [{"law": LAW, "article": ARTICLE, "text": BASIS_TEXT}]
    assert (data["conditions"], data["consultation"], data["hours"]) == (
        LONG,
        NEW_CONSULTATION,
        HOURS,
    )
    assert data["result"]["name"] == RESULT
    handling = data["handling_items"][0]
    assert (handling["situation"], handling["visit_reason"]) == (SITUATION, LONG)
    assert [(m["name"], m["notes"]) for m in handling["materials"]] == [
        (m["name"], m["notes"]) for m in MATERIALS
    ]
    assert handling["fees"] == [FEE]
    assert handling["steps"][0]["name"] == STEP
    assert len(LONG) == 2000


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"code": "<script>"}, "code"),
        ({"code": JS}, "code"),
        ({"name": "许" * 201}, "name"),
        ({"handling_unit": IMG * 4}, "handling_unit"),
        ({"conditions": LONG * 5 + "x"}, "conditions"),
        ({"consultation": LONG + "x"}, "consultation"),
    ],
    ids=["script-code", "js-code", "long-name", "long-unit", "long-conditions", "long-text"],
)
def test_what_the_schema_refuses_is_refused_cleanly(db, overrides, field):
    with pytest.raises(CatalogValidationError) as refused:
        create_item(hostile_payload(**overrides))
    assert list(refused.value.errors) == [field]
    assert db.session.scalar(sa.select(sa.func.count(ApprovalItem.id))) == 0


def test_a_snapshot_label_with_invisible_characters_is_refused(db):
    for label in (f"2021{RLO}", f"20{ZWSP}21"):
        with pytest.raises(SnapshotError):
            create_snapshot(label, actor="admin1")


# Public pages, the report and its lists: escaped and intact.


def test_the_guide_notice_and_deadline_pages(client, hostile):
    guide = get_page(client, "/items/H")
    assert_intact(guide, *PUBLIC_TEXT, STEP, FEE["basis"])
    assert DRAFT_HOURS not in html.unescape(guide)  # the draft is not public
    notice = get_page(client, "/handling/H-01/notice")
    assert_intact(notice, NAME, SITUATION, LONG, SCRIPT, MARK_IMG, JS, IMG, FEE["standard"])
    assert_intact(notice, LOCATION, HOURS, NEW_CONSULTATION, COMPLAINT)
    deadline = get_page(client, "/handling/H-01/deadline?date=2026-09-30")
    assert_intact(deadline, NAME, SITUATION)
    hostile_date = get_page(client, f"/handling/H-01/deadline?date={quote(SCRIPT)}", 400)
    assert_intact(hostile_date, NAME)


@pytest.mark.parametrize(
    ("query", "finds"),
    [
        ("script", True),
        (SCRIPT, True),
        ("港口", True),
        (f"港{ZWSP}口", True),
        (IMG, False),
        (JS, False),
        (f"{RLO}出租", False),
    ],
    ids=["word", "script", "two-chars", "zero-width", "img", "javascript", "rlo"],
)
def test_results_with_hostile_queries(client, hostile, query, finds):
    page = get_page(client, f"/items?q={quote(query)}")
    assert_intact(page, query)
    if finds:
        assert_intact(page, NAME, SITUATION, UNIT)
        assert 'class="hit-title"' in page


def test_hostile_filters_and_cursors(client, hostile):
    by_unit = get_page(client, f"/items?unit={quote(UNIT)}")
    assert_intact(by_unit, NAME, UNIT)
    for path in (f"/items?type={quote(SCRIPT)}", f"/items?cursor={quote(IMG)}"):
        assert_intact(get_page(client, path, 400))


def test_the_report_breakdown_and_exceptions(client, hostile):
    report = get_page(client, "/reports")
    assert_intact(report, UNIT, NAME, SITUATION, SNAPSHOT_LABEL)
    snapshot = get_page(client, f"/reports?snapshot={quote(SNAPSHOT_LABEL)}")
    assert_intact(snapshot, SNAPSHOT_LABEL, SNAPSHOT_NOTE, UNIT, NAME, SITUATION)
    for measure in ("all", "visit", "promised_over_limit", "items"):
        listed = get_page(client, f"/reports/items?measure={measure}&unit={quote(UNIT)}")
        assert_intact(listed, UNIT, NAME)
        assert "共 <strong>1</strong>" in listed
    compare = get_page(client, f"/reports/compare?from={quote(SNAPSHOT_LABEL)}")
    assert_intact(compare, SNAPSHOT_LABEL, NAME, JS, NEW_CONSULTATION)
    for path, status in (
        (f"/reports/items?measure={quote(SCRIPT)}", 400),
        (f"/reports/items?measure=all&type={quote(IMG)}", 400),
        (f"/reports?snapshot={quote(MARK_SCRIPT)}", 404),
    ):
        get_page(client, path, status)


def test_the_print_stylesheet_escapes_the_snapshot_label(client, hostile):
    response = client.get(f"/reports/print.css?snapshot={quote(SNAPSHOT_LABEL)}")
    assert response.status_code == 200 and response.mimetype == "text/css"
    css = response.get_data(as_text=True)
    assert "<" not in css and ">" not in css and "(1)" not in css
    strings = re.findall(r'content: ((?:"[^"]*"\s*)+);', css)
    decoded = "".join(
        re.sub(r"\\([0-9a-f]+) ", lambda m: chr(int(m.group(1), 16)), part)
        for part in re.findall(r'"([^"]*)"', strings[1])
    )
    assert f"快照 {SNAPSHOT_LABEL}" in decoded


# Staff pages.


def test_staff_pages(editor):
    index = get_page(editor, "/staff/")
    assert_intact(index, NAME, UNIT)
    filtered = get_page(editor, f"/staff/?q={quote(SCRIPT)}&unit={quote(UNIT)}")
    assert_intact(filtered, SCRIPT, NAME)
    item = get_page(editor, "/staff/items/H")
    assert_intact(item, NAME, SITUATION, HOURS, DRAFT_HOURS, DRAFT_REASON, UPDATE_REASON)
    assert_intact(item, JS, NEW_CONSULTATION)
    edit_item = get_page(editor, "/staff/items/H/edit")
    assert_intact(edit_item, NAME, UNIT, BODY, LAW, ARTICLE, BASIS_TEXT, LONG, RESULT)
    assert_intact(edit_item, NEW_CONSULTATION, COMPLAINT, LOCATION, DRAFT_HOURS)
    edit_handling = get_page(editor, "/staff/handling/H-01/edit")
    assert_intact(edit_handling, NAME, SITUATION, LONG, SCRIPT, MARK_IMG, JS, STEP)
    assert_intact(edit_handling, *FEE.values())
    audit = get_page(editor, "/staff/audit")
    assert_intact(audit, UPDATE_REASON, DRAFT_REASON, JS, NEW_CONSULTATION, DRAFT_HOURS)
    searched = get_page(editor, f"/staff/audit?actor={quote(SCRIPT)}&code={quote(IMG)}")
    assert_intact(searched, SCRIPT, IMG)
    report = get_page(editor, "/reports")  # with the staff column of edit links
    assert_intact(report, UNIT, NAME, SITUATION)


def test_a_hostile_sign_in_attempt_is_logged_as_text(app, hostile):
    anonymous = app.test_client()
    token = csrf_token(anonymous, "/staff/login")
    failed = anonymous.post(
        "/staff/login", data={"username": MARK_IMG, "password": "x", "csrf_token": token}
    )
    assert failed.status_code == 401
    page = failed.get_data(as_text=True)
    assert_inert(page)
    assert_intact(page, MARK_IMG)
    admin = app.test_client()
    signed_in = sign_in(admin, "admin1", next_path=JS)
    assert signed_in.headers["Location"] == "/staff/"  # never a javascript: redirect
    events = get_page(admin, "/staff/accounts/events")
    assert_intact(events, MARK_IMG)
    assert_intact(get_page(admin, f"/staff/accounts/events?username={quote(SCRIPT)}"), SCRIPT)


# JSON, CSV and workbooks: the exact values, no formulas.


def test_json_gives_back_the_exact_values(client, hostile):
    item = client.get("/api/v1/items/H")
    assert item.mimetype == "application/json"
    data = item.get_json()
    assert (data["name"], data["handling_unit"], data["conditions"]) == (NAME, UNIT, LONG)
    assert data["handling_items"][0]["situation"] == SITUATION
    assert data["handling_items"][0]["fees"] == [FEE]
    hits = client.get(f"/api/v1/items?q={quote(SCRIPT)}").get_json()
    assert [(hit["item_name"], hit["handling_unit"]) for hit in hits["items"]] == [(NAME, UNIT)]
    report = client.get("/api/v1/report").get_json()
    assert [group["key"] for group in report["breakdowns"]["by_unit"]] == [UNIT]
    snapshot = client.get(f"/api/v1/report?snapshot={quote(SNAPSHOT_LABEL)}").get_json()
    assert snapshot["snapshot"]["label"] == SNAPSHOT_LABEL
    assert snapshot["snapshot"]["note"] == SNAPSHOT_NOTE
    listed = client.get(f"/api/v1/report/items?measure=all&unit={quote(UNIT)}").get_json()
    assert listed["unit"] == UNIT
    refused = client.get(f"/api/v1/items?type={quote(SCRIPT)}")
    assert refused.status_code == 400 and refused.mimetype == "application/json"


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_csv_gives_back_the_exact_values(client, hostile):
    rows = read_csv(client.get(f"/items.csv?q={quote(SCRIPT)}"))
    assert rows[1][:6] == ["H-01", "H", NAME, SITUATION, "行政许可", UNIT]
    report = read_csv(client.get("/reports/export.csv"))
    assert UNIT in {row[1] for row in report[1:]}
    snapshot = client.get(f"/reports/export.csv?snapshot={quote(SNAPSHOT_LABEL)}")
    assert UNIT in {row[1] for row in read_csv(snapshot)[1:]}
    disposition = snapshot.headers["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="[A-Za-z0-9._-]+"', disposition), disposition


def workbook_values(response) -> dict[str, list]:
    """Every cell value by sheet; fails on a formula cell."""
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.get_data()))
    values = {}
    for sheet in workbook.worksheets:
        values[sheet.title] = []
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                values[sheet.title].append(cell.value)
    return values


def test_the_report_workbook_gives_back_the_exact_values(client, hostile):
    sheets = workbook_values(client.get("/reports/export.xlsx"))
    assert UNIT in sheets["按承办机构"]
    cells = [value for values in sheets.values() for value in values]
    for original in (NAME, SITUATION, UNIT):
        assert original in cells, original


def test_the_staff_export_gives_back_the_exact_values(editor):
    sheets = workbook_values(editor.get("/staff/export.xlsx"))
    items = sheets["事项"]
    for original in (NAME, UNIT, BODY, LONG, RESULT, NEW_CONSULTATION, COMPLAINT, LOCATION):
        assert original in items, original[:60]
    assert DRAFT_HOURS in items  # the export carries the pending draft
    assert SITUATION in items and LONG in items
    assert any(isinstance(v, str) and LAW in v and ARTICLE in v and BASIS_TEXT in v for v in items)
    materials = sheets["申请材料"]
    for material in MATERIALS:
        assert material["name"] in materials and material["notes"] in materials


# Real headless Chromium: nothing from content runs, on any page.

BROWSER_PAGES = [
    "/items/H",
    "/handling/H-01/notice",
    "/handling/H-01/deadline?date=2026-09-30",
    "/items?q=script",
    f"/items?q={quote(SCRIPT)}",
    f"/items?q={quote(MARK_SCRIPT)}",
    f"/items?q={quote(MARK_IMG)}",
    f"/items?unit={quote(UNIT)}",
    "/reports",
    f"/reports?snapshot={quote(SNAPSHOT_LABEL)}",
    f"/reports/items?measure=all&unit={quote(UNIT)}",
    f"/reports/compare?from={quote(SNAPSHOT_LABEL)}",
]
STAFF_BROWSER_PAGES = [
    "/staff/",
    "/staff/items/H",
    "/staff/items/H/edit",
    "/staff/handling/H-01/edit",
    "/staff/audit",
    f"/staff/audit?actor={quote(MARK_SCRIPT)}",
    "/reports",
]


@pytest.mark.browser
def test_no_script_from_content_runs_in_chromium(app, hostile):
    with live_server(app) as base, chromium_page() as page:
        watch = Watch(page)
        seen = []

        def visit(path: str) -> None:
            response = page.goto(base + path)
            assert response.status == 200, path
            page.wait_for_load_state("load")
            seen.append(
                (
                    path,
                    page.evaluate("window.__pwned"),
                    page.evaluate("window.__violations"),
                    page.locator(
                        'script:not([src="/static/print.js"]), img, iframe, object'
                    ).count(),
                )
            )

        for path in BROWSER_PAGES:
            visit(path)
        page.goto(base + "/items/H")
        assert page.locator("h1").text_content() == NAME
        page.goto(base + "/staff/login")
        page.get_by_label("用户名").fill("editor1")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(re.compile(r"/staff/$"))
        for path in STAFF_BROWSER_PAGES:
            visit(path)
        # The edit form shows the exact text in its fields, ready to save unchanged.
        page.goto(base + "/staff/handling/H-01/edit")
        assert page.get_by_label("办理情形").input_value() == SITUATION
    assert [entry for entry in seen if entry[1:] != (None, [], 0)] == []
    assert watch.dialogs == []
    assert watch.policy_messages() == []
    assert watch.errors == []
