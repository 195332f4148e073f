"""Every page of the app, at a phone's width (390 px) and a desktop's (1280 px), in real headless
Chromium: the header menu present, nothing wider than the window, nothing sticking out past its
right edge, no table cell squeezed to a character a line, chart text of about 11 px or more, and
no WCAG 2.1 AA violation found by axe-core.

The pages are the app's GET routes, read from ``app.url_map``, with their parameters filled from
the sample catalog below; a route whose parameters this module cannot fill fails the test until
it is given a sample (``SAMPLES``) or excluded with a reason (``EXCLUDED``), so a page added later
is checked without anyone remembering to list it. Routes answering something other than HTML
(JSON, CSV, XLSX, a stylesheet) are fetched and left out of the layout checks. Staff pages are
visited signed in as an admin, the public ones signed out. Every page must answer without a
server error on both databases; the layout and axe's checks run on SQLite only, as the database
changes no page's markup.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser import chromium_page, live_server, sign_in_page
from tests.decisions.conftest import ORGANISATION_CODE, PERSON_ID, licence_data, penalty_data
from tests.factories import handling_item_data, item_data, publish, publish_sample_with_snapshot
from tests.public.test_accessibility import WCAG_AA

pytestmark = pytest.mark.browser

WIDTHS = (390, 1280)
PASSWORD = "许昌交通运输2026审批"
LONG_QUERY = "x" * 150  # over the 100-character limit: the search's 400 page
# Routes the walk does not fetch, each with the reason.
EXCLUDED = {
    "static": "stylesheets and images, not pages",
    "files.download": "a material's file, downloaded as an attachment, not a page "
    "(tests/public/test_attachments.py)",
}
# Values of route parameters, by name: `code` is the item's or, under /handling and
# /handling-items, its handling item's; `name` is the sample unit's, whose window is recorded.
# Ids (`user_id`, `synonym_id`) are filled with the rows _sample_catalog makes.
UNIT = "行政审批服务科"  # the handling unit of the factories' items
# `credit_code`: the sample organisation's, whose licence and penalty _sample_catalog records;
# `kind`: a 双公示 decision's (the staff pages' sample is the penalty)
# `fmt`: the staff's export of decision records (a file, fetched to see it answers)
SAMPLES = {
    "code": "P",
    "name": UNIT,
    "credit_code": ORGANISATION_CODE,
    "kind": "penalty",
    "fmt": "csv",
}
HANDLING_SAMPLES = {"code": "P-01", "index": 0}  # index: the handling item's first material
# More states of pages than one URL per route shows: query strings, errors, empty lists.
EXTRA_PATHS = [
    "/items?q=港口",
    "/items?q=港口&no_visit=1&type=licence",
    "/items?q=没有这个事项",
    f"/items?q={LONG_QUERY}",
    "/items?q=" + quote("港" * 150),
    "/items?type=licence",
    "/items?type=tax",
    "/handling/P-01/deadline?date=2026-09-30",
    "/handling/P-01/deadline?date=2026-12-21",
    "/handling/P-01/deadline?date=不是日期",
    "/no-such-page",
    "/items/NO-SUCH-ITEM",
    "/reports?snapshot=基线",
    "/reports?snapshot=没有这个快照",
    "/reports/items?measure=all",
    "/reports/items?measure=visit",
    "/reports/items?measure=incomplete",
    "/reports/items?measure=limited&snapshot=基线",
    "/reports/items?measure=items&type=licence",
    "/reports/items?measure=不存在",
    "/reports/compare?from=基线",
    "/decisions?q=示例运输",
    "/decisions?kind=penalty&year=2020",
    "/decisions?item=P",
    "/decisions?q=没有这个单位",
    "/decisions?year=1999",
    "/decisions/organisations/123",
]
DECISIONS_TODAY = date(2020, 12, 1)  # the sample penalty is published on this day
SIGNED_IN_EXTRA_PATHS = [
    "/reports",
    "/reports?snapshot=基线",
    "/staff/decisions?kind=penalty",
    "/staff/decisions?kind=penalty&q=没有&late=1",
    "/staff/decisions?kind=penalty&category=fine&late=0&year=2020",
    "/staff/decisions?kind=licence&item=P&unit=" + quote(UNIT),
    "/staff/decisions/export.xlsx?kind=licence&item=P",
    "/staff/decisions/licence/new",
]


def _sample_catalog(db) -> dict[str, int]:
    """Item P (one handling item needing a visit) in snapshot 基线, then an item added after it
    with long names, fees and several handling items, the window of their unit and a synonym;
    returns the ids of the admin and of the synonym, by route parameter."""
    from catalog.accounts import create_user
    from catalog.operations.synonyms import add_synonym
    from catalog.operations.units import save_unit

    publish_sample_with_snapshot(db)
    fees = [{"name": "道路运输证工本费", "standard": "每证10元", "basis": "豫价费〔2019〕12号"}]
    handling = [
        handling_item_data(code="Q-01", situation="新办（含分支机构设立及经营范围变更）"),
        handling_item_data(code="Q-02", situation="变更", fees=fees, statutory_days=None),
        handling_item_data(code="Q-03", situation="注销", case_type="instant", promised_days=0),
    ]
    publish(db, item_data(*handling, code="Q", name="道路危险货物运输经营许可（含放射性物品）"))
    admin = create_user("admin1", PASSWORD, "admin")
    window = {
        "name": UNIT,
        "address": "许昌市政务服务中心二楼交通运输局窗口",
        "phone": "12328",
        "hours": "法定工作日 上午8:30—12:00",
        "map_url": "https://map.example.cn/?q=许昌",
    }
    save_unit(window, actor="admin1", reason="示例", expected_version=None)
    synonym = add_synonym("危货", "危险货物", actor="admin1", reason="示例")
    decisions = _sample_decisions()
    db.session.commit()
    return {"user_id": admin.id, "synonym_id": synonym.id, **decisions}


def _sample_decisions() -> dict[str, int]:
    """A licence decision of item P for an organisation, one for a natural person, and a
    penalty of the organisation, published as of DECISIONS_TODAY (双公示, issue 24)."""
    from catalog.decisions import operations
    from catalog.decisions.periods import ensure_default_periods

    ensure_default_periods()
    licence = operations.create_licence(
        licence_data(item="P", handling_item="P-01", party_name="许昌市示例运输有限公司"),
        actor="admin1",
    )
    operations.create_licence(
        licence_data(
            item="P", handling_item="P-01", document_number="许交运许〔2020〕2号",
            party_name="张三", party_class="natural_person", party_credit_code=None,
            legal_representative=None, party_id_type="resident_id", party_id_number=PERSON_ID,
        ),
        actor="admin1",
    )  # fmt: skip
    penalty = operations.create_penalty(
        penalty_data(
            party_name="许昌市示例运输有限公司", party_class="organisation",
            party_credit_code=ORGANISATION_CODE, legal_representative="王五",
            party_id_type=None, party_id_number=None,
        ),
        actor="admin1",
    )  # fmt: skip
    return {"licence_id": licence.id, "penalty_id": penalty.id}


def _fill(rule, ids: dict[str, int]) -> str | None:
    """The rule's URL with sample values, or None when a parameter has no sample."""
    samples = HANDLING_SAMPLES if "/handling" in rule.rule else SAMPLES
    values = {}
    for name in rule.arguments:
        if name == "decision_id":  # a licence's or a penalty's, by the route
            by_kind = "kind" in rule.arguments and SAMPLES["kind"] == "penalty"
            penalty = "/penalties/" in rule.rule or by_kind
            values[name] = ids["penalty_id" if penalty else "licence_id"]
        elif name in ids:
            values[name] = ids[name]
        elif name in samples:
            values[name] = samples[name]
        else:
            return None
    return rule.build(values, append_unknown=False)[1]


def route_paths(app, ids: dict[str, int]) -> tuple[list[str], list[str], list[str]]:
    """The GET routes' URLs signed out and signed in, and the routes that could not be filled."""
    public, staff, unfilled = [], [], []
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        if "GET" not in rule.methods or rule.endpoint in EXCLUDED:
            continue
        path = _fill(rule, ids)
        if path is None:
            unfilled.append(f"{rule.rule} ({rule.endpoint})")
        elif path.startswith("/staff/") and rule.endpoint != "staff.login":
            staff.append(path)
        else:
            public.append(path)
    return public + EXTRA_PATHS, staff + SIGNED_IN_EXTRA_PATHS, unfilled


# A page without the header menu; whatever lies right of the window's edge, except inside a
# box that scrolls or clips (a wide table scrolling in its own box); table cells squeezed to
# about a character a line; chart text rendered smaller than about 11 px.
LAYOUT_PROBLEMS = r"""() => {
  const edge = document.documentElement.clientWidth;
  const problems = [];
  if (document.querySelectorAll('header .site-nav a').length !== 4) {
    problems.push('no header menu (首页 · 事项查询 · 改革指标报告 · 数据接口)');
  }
  if (document.documentElement.scrollWidth > innerWidth) {
    problems.push(`document ${document.documentElement.scrollWidth} px wide`);
  }
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (typeof el.className === 'string' && el.className
      ? '.' + el.className.trim().split(/\s+/).join('.') : '');
  const clipped = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible') return true;
    }
    return false;
  };
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if (box.right > edge + 1 && !clipped(el)) {
      const parent = el.parentElement.getBoundingClientRect();
      if (parent.right <= edge + 1) {  // the outermost offender only
        problems.push(`${name(el)} reaches ${Math.round(box.right)} px: ` +
          el.textContent.trim().slice(0, 40));
      }
    }
    if ((el.tagName === 'TD' || el.tagName === 'TH') && el.textContent.trim().length > 3) {
      const style = getComputedStyle(el);
      const size = parseFloat(style.fontSize);
      const line = parseFloat(style.lineHeight) || 1.6 * size;
      // the height of the cell's text, not of the cell: a short cell in a tall row (the audit
      // trail's actor beside a long change) is as tall as its row without being squeezed
      const range = document.createRange();
      range.selectNodeContents(el);
      const height = range.getBoundingClientRect().height;
      const characters = el.textContent.replace(/\s+/g, '').length;
      if (height / line >= 4 && height / line >= 0.6 * characters) {
        problems.push(`${name(el)} squeezed to a character a line: ` +
          el.textContent.trim().slice(0, 40));
      }
    }
  }
  for (const text of document.querySelectorAll('svg text')) {
    const svg = text.ownerSVGElement;
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    const size = parseFloat(text.getAttribute('font-size') || '16') * scale;
    if (svg.getBoundingClientRect().width > 0 && size < 10.5) {
      problems.push(`chart text ${size.toFixed(1)} px: ${text.textContent.slice(0, 30)}`);
      break;
    }
  }
  return problems;
}"""


def walk(page, axe: Axe, base_url: str, paths: list[str], routes: set[str],
         widths: tuple[int, ...] = WIDTHS) -> dict[str, list]:  # fmt: skip
    """Fetch every path, then visit each HTML page at every width; the problems found, by width
    and path. A server error is a problem, and so is a route's own URL answering 404 (its
    sample names nothing)."""
    problems = {}
    html = []
    for path in paths:
        response = page.request.get(base_url + path, max_redirects=0)
        if response.status >= 500:
            problems[path] = [f"{response.status}: a server error"]
        if path in routes and response.status == 404:
            problems[path] = ["404: the route's sample parameters name nothing"]
        if response.headers.get("content-type", "").startswith("text/html"):
            html.append(path)
    for width in widths:
        page.set_viewport_size({"width": width, "height": 900})
        for path in html:
            page.goto(base_url + path)
            found = page.evaluate(LAYOUT_PROBLEMS)
            results = axe.run(page, options=WCAG_AA)
            found += [
                f"axe {v['id']}: {[node['target'] for node in v['nodes']][:3]}"
                for v in results.response["violations"]
            ]
            if found:
                problems[f"{width}px {path}"] = found
    return problems


def test_every_page_answers_and_fits_a_phone_and_a_desktop_and_passes_axe(
    app, db, backend, monkeypatch
):
    """Every page answers on both databases; its layout and axe's checks, which the database
    does not change, are run on SQLite (on PostgreSQL they took 80 s of the suite again)."""
    from catalog.decisions import listing

    monkeypatch.setattr(listing, "public_today", lambda: DECISIONS_TODAY)
    ids = _sample_catalog(db)
    public, staff, unfilled = route_paths(app, ids)
    assert unfilled == [], (
        "GET routes this walk cannot fill: give their parameters a sample in SAMPLES "
        "or exclude them in EXCLUDED with the reason"
    )
    routes = set(public + staff) - set(EXTRA_PATHS)
    axe = Axe()
    widths = WIDTHS if backend == "sqlite" else ()
    with live_server(app) as base_url, chromium_page() as page:
        problems = walk(page, axe, base_url, public, routes, widths)
        sign_in_page(page, base_url, "admin1", PASSWORD)
        problems |= walk(page, axe, base_url, staff, routes, widths)
    assert not problems, "\n".join(f"{page}: {found}" for page, found in problems.items())


def test_a_route_without_a_sample_is_reported_not_skipped():
    """A page added later with a parameter nobody gave a sample for fails the walk."""
    from flask import Flask

    later = Flask(__name__)
    later.add_url_rule("/windows/<int:window_id>", "windows.show", lambda window_id: "")
    later.add_url_rule("/items/<code>", "public.guide", lambda code: "")
    later.add_url_rule("/staff/accounts/<int:user_id>", "accounts.show", lambda user_id: "")
    public, staff, unfilled = route_paths(later, {"user_id": 7})
    assert unfilled == ["/windows/<int:window_id> (windows.show)"]
    assert "/items/P" in public
    assert "/staff/accounts/7" in staff
