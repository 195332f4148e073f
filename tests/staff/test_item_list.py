"""The staff item list (/staff/): pages of 50 in code order, each item once, the filters kept
from page to page and combined, the text box a plain substring, and a bad page cursor refused
in Chinese (400)."""

from __future__ import annotations

import base64
import html
import json
import re

import pytest

from catalog.drafts import editable_version
from catalog.models import ApprovalItem
from catalog.operations import items as operations
from catalog.staff.views import ITEM_PAGE_SIZE
from tests.factories import handling_item_data, item_data, publish

CODES = re.compile(r'<td data-label="编码"><a href="/staff/items/([^"]+)">')
NEXT = re.compile(r'<a href="([^"]+)" rel="next">')
PREVIOUS = re.compile(r'<a href="([^"]+)" rel="prev">')


def codes(page: str) -> list[str]:
    return CODES.findall(page)


def link(pattern: re.Pattern, page: str) -> str | None:
    match = pattern.search(page)
    return html.unescape(match.group(1)) if match else None


def walk(client, path: str, pattern: re.Pattern = NEXT) -> list[str]:
    """Every page from `path` on, following one link; the pages as HTML."""
    pages = []
    while path:
        response = client.get(path)
        assert response.status_code == 200, path
        pages.append(response.get_data(as_text=True))
        path = link(pattern, pages[-1])
        assert len(pages) < 20, "the pages do not end"
    return pages


def _item(db, code: str) -> ApprovalItem:
    return db.session.query(ApprovalItem).filter_by(code=code).one()


@pytest.fixture
def long_catalog(db):
    """121 published items: 80 licences (L000…L079), 41 confirmations (C000…C040)."""
    publish(
        db,
        *(item_data(code=f"L{n:03}", name=f"道路运输经营许可{n}") for n in range(80)),
        *(item_data(code=f"C{n:03}", name=f"从业资格确认{n}", type="confirmation")
          for n in range(41)),
    )  # fmt: skip
    return sorted([f"L{n:03}" for n in range(80)] + [f"C{n:03}" for n in range(41)])


def test_pages_hold_every_item_once_in_code_order(login_as, long_catalog):
    editor = login_as("editor")
    pages = walk(editor, "/staff/")
    assert [len(codes(page)) for page in pages] == [50, 50, 21]
    assert [code for page in pages for code in codes(page)] == long_catalog
    assert "共 121 项，本页第 1–50 项" in pages[0]
    assert "第 51–100 项" in pages[1] and "第 101–121 项" in pages[2]
    assert 'rel="prev"' not in pages[0] and 'rel="next"' not in pages[-1]
    # and back from the last page by the previous links: the same pages
    back = walk(editor, link(NEXT, pages[1]), PREVIOUS)
    assert [codes(page) for page in back] == [codes(page) for page in reversed(pages)]
    assert "第 1–50 项" in back[-1]


def test_one_page_has_no_pager(login_as, db):
    publish(db, item_data(code="A"), item_data(code="B"))
    page = login_as("editor").get("/staff/").get_data(as_text=True)
    assert codes(page) == ["A", "B"] and "共 2 项" in page
    assert 'class="pager"' not in page and "本页" not in page


def test_the_pages_keep_the_filters(login_as, long_catalog):
    editor = login_as("editor")
    pages = walk(editor, "/staff/?type=licence&q=L0&status=published")
    assert [code for page in pages for code in codes(page)] == [f"L{n:03}" for n in range(80)]
    assert "共 80 项" in pages[0]
    next_url = link(NEXT, pages[0])
    assert "type=licence" in next_url and "q=L0" in next_url and "status=published" in next_url
    assert '<option value="licence" selected>' in pages[1]
    assert 'value="L0"' in pages[1]


def test_an_item_added_between_pages_does_not_shift_the_next_page(login_as, db, long_catalog):
    """Keyset paging: an item inserted before the cursor neither repeats nor hides one."""
    editor = login_as("editor")
    first = editor.get("/staff/").get_data(as_text=True)
    publish(db, item_data(code="A000"))
    second = editor.get(link(NEXT, first)).get_data(as_text=True)
    assert codes(second)[0] == long_catalog[50]
    assert "第 52–101 项，共 122 项" in second


@pytest.fixture
def varied_catalog(db):
    """Items of every status, review state, type and unit, with and without gaps."""
    publish(
        db,
        item_data(code="PUB", name="港口经营许可", handling_unit="港航海事科"),
        item_data(code="CONF", name="从业资格确认", type="confirmation"),
        item_data(handling_item_data(code="GAP-01", online_depth=None), code="GAP",
                  name="要素缺失的事项"),
        item_data(code="NOUNIT", name="没有承办机构", handling_unit=None),
        item_data(code="RET", name="已停用的许可"),
        item_data(code="Q_1", name="百分之100%办结"),
        item_data(code="QX1", name="百分之百办结"),
    )  # fmt: skip
    operations.retire_item(_item(db, "RET"), actor="tester", reason="停用")
    new = operations.create_item(
        item_data(code="NEW", name="新事项草稿"), actor="tester", reason="新建"
    )
    sent = operations.create_item(
        item_data(code="SENT", name="待审核的新事项", type="confirmation"),
        actor="tester", reason="新建",
    )  # fmt: skip
    operations.submit(sent, actor="tester", expected_version=editable_version(sent))
    back = operations.create_item(
        item_data(code="BACK", name="退回修改的新事项", handling_unit="港航海事科"),
        actor="tester", reason="新建",
    )  # fmt: skip
    operations.submit(back, actor="tester", expected_version=editable_version(back))
    operations.return_to_editor(
        back, actor="reviewer", expected_version=editable_version(back), note="请补充材料"
    )
    db.session.commit()
    assert new.draft is not None


FILTERS = {
    "status=published": ["CONF", "GAP", "NOUNIT", "PUB", "QX1", "Q_1"],
    "status=unpublished": ["BACK", "NEW", "SENT"],
    "status=retired": ["RET"],
    "type=confirmation": ["CONF", "SENT"],
    "unit=港航海事科": ["BACK", "PUB"],
    "unit=暂未提供": ["NOUNIT"],
    "review=draft": ["NEW"],
    "review=submitted": ["SENT"],
    "review=returned": ["BACK"],
    "review=none": ["CONF", "GAP", "NOUNIT", "PUB", "QX1", "Q_1", "RET"],
    "drafts=1": ["BACK", "NEW", "SENT"],
    "gaps=1": ["GAP", "NOUNIT"],
    "q=港口": ["PUB"],
    "q=conf": ["CONF"],  # the code, in either case
    "q=%": ["Q_1"],  # the name's own %, not "anything"
    "q=100%": ["Q_1"],
    "q=_": ["Q_1"],  # the code's own _, not "any one character"
    "q=Q_1": ["Q_1"],
    "q=\\": [],
    "q=百分之": ["QX1", "Q_1"],
    # combined: every filter holds
    "status=unpublished&type=confirmation": ["SENT"],
    "status=published&gaps=1&unit=暂未提供": ["NOUNIT"],
    "review=none&type=licence&q=许可": ["PUB", "RET"],
    "unit=港航海事科&review=returned&q=新事项": ["BACK"],
    "status=retired&review=draft": [],
    # a value the list does not offer filters nothing
    "status=nonsense&type=&review=": sorted(
        ["BACK", "CONF", "GAP", "NEW", "NOUNIT", "PUB", "QX1", "Q_1", "RET", "SENT"]
    ),
}


@pytest.mark.parametrize("query", FILTERS)
def test_each_filter_and_their_combinations(login_as, varied_catalog, query):
    args = [tuple(pair.split("=", 1)) for pair in query.split("&")]  # "%" and "\\" as typed
    page = login_as("editor").get("/staff/", query_string=args).get_data(as_text=True)
    assert codes(page) == FILTERS[query]
    assert f"共 {len(FILTERS[query])} 项" in page
    if not FILTERS[query]:
        assert "没有符合条件的事项" in page


def test_the_form_offers_and_keeps_every_choice(login_as, varied_catalog):
    page = login_as("editor").get("/staff/?unit=暂未提供&review=none&status=retired&gaps=1")
    text = page.get_data(as_text=True)
    for option in (
        '<option value="暂未提供" selected>',
        '<option value="none" selected>无草稿',
        '<option value="retired" selected>已停用',
        '<option value="unpublished" >未发布',
        '<option value="submitted" >待审核',
        'name="gaps" value="1" checked',
    ):
        assert option in text
    assert text.index('<option value="港航海事科"') < text.index('<option value="暂未提供"')


def _forged(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "1",
        "-1",
        "２",
        "%%%",
        "x" * 400,
        _forged(["after"]),
        _forged(["sideways", "A"]),
        _forged(["after", ""]),
        _forged(["after", 5]),
        _forged(["after", "A" * 41]),
        _forged(["after", "\ud800"]),
        _forged(["after", "A\u0000"]),
        _forged(["after", "A\n"]),
        _forged({"after": "A"}),
        _forged("[" * 150),
        "[" * 250,
    ],
)
def test_a_bad_cursor_is_a_bad_request_in_chinese(login_as, cursor):
    response = login_as("editor").get("/staff/", query_string={"cursor": cursor})
    assert response.status_code == 400
    assert "分页参数无效，请从第一页重新开始。" in response.get_data(as_text=True)


def test_a_cursor_past_the_last_item_offers_the_way_back(login_as, long_catalog):
    editor = login_as("editor")
    page = editor.get("/staff/", query_string={"cursor": _forged(["after", "ZZZ"])})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and codes(text) == []
    assert "请回到第一页" in text and "第一页</a>" in text and 'rel="prev"' in text
    before_all = editor.get("/staff/", query_string={"cursor": _forged(["before", "A"])})
    assert before_all.status_code == 200 and "第一页</a>" in before_all.get_data(as_text=True)


def test_the_page_size_is_bounded():
    assert ITEM_PAGE_SIZE == 50
