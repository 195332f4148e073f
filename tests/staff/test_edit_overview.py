"""The edit pages' first screen (issue 23 part 4): the six ratios and the policy exception
counts, now -> after, the same numbers as the reviewer's page and the engine; the warnings
beside them, the steps warning among them (and in an import's preview); one version step
for one published change, and a form from before the publish still a conflict."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from catalog.drafts import RATIOS, preview
from catalog.importing import parse_rows, plan_import, read_file
from catalog.models import ApprovalItem
from catalog.ratios import PolicyRule, StepsOverPromise, editor_warnings, steps_over_promise
from catalog.spreadsheets import ITEM_SHEET, export_data, to_xlsx
from tests.factories import handling_item_data
from tests.staff.forms import submit
from tests.staff.test_editing import edit, opened_version, review

STEPS_WARNING = "办理流程各环节合计"
_EFFECT = re.compile(r'<table class="grid effect">(.*?)</table>', re.S)
_ROW = re.compile(r'<th scope="row">(.*?)</th>\s*<td>(.*?)</td>\s*<td>(.*?)</td>', re.S)


def effect_rows(html: str) -> list[tuple[str, str, str]]:
    """(label, now, after) of the effect table on a page, as its cells read."""
    table = _EFFECT.search(html)
    assert table, "no effect table on the page"
    return [
        tuple(re.sub(r"<[^>]+>|（有变化）|\s+", "", cell) for cell in row)
        for row in _ROW.findall(table.group(1))
    ]


def engine_rows(effect) -> list[tuple[str, str, str]]:
    def shown(key, value):
        if key.startswith("exceptions."):
            return str(value)
        return "无数据" if value is None else f"{value:.2f}%"

    return [
        (label + ("（政策例外项数）" if key.startswith("exceptions.") else ""),
         shown(key, before), shown(key, after))
        for key, label, before, after in effect.rows()
    ]  # fmt: skip


def item_of(db, code="A") -> ApprovalItem:
    db.session.expire_all()
    return db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == code))


def test_the_edit_pages_show_the_reviewers_six_ratios_and_exception_counts(
    login_as, catalog_item, db
):
    editor = login_as("editor")
    saved = edit(editor, promised_days="12", acknowledge="y", reason="延长")
    assert saved.status_code == 302
    item = item_of(db)
    expected = engine_rows(preview(item, item.draft.data))
    assert len(expected) == len(RATIOS) + len(PolicyRule) == 10
    assert [label for label, *_ in expected[:6]] == [label for _key, label, _a in RATIOS]

    reviewer_page = login_as("reviewer").get("/staff/items/A").get_data(as_text=True)
    handling_page = editor.get("/staff/handling/A-01/edit").get_data(as_text=True)
    item_page = editor.get("/staff/items/A/edit").get_data(as_text=True)
    assert effect_rows(reviewer_page) == expected
    assert effect_rows(handling_page) == expected
    assert effect_rows(item_page) == expected
    # 12 of 20 days: compression 75.00 % -> 40.00 %, one exception of each time-limit rule
    assert ("时限压缩比", "75.00%", "40.00%") in expected
    assert ("承诺时限超过10个工作日（政策例外项数）", "0", "1") in expected

    # the warnings stand beside the preview, in the same first block of the form
    overview = re.search(r'<div class="edit-overview">(.*?)</div>\s*<p><label', handling_page, re.S)
    assert overview and "承诺时限超过10个工作日" in overview.group(1)
    assert 'class="grid effect"' in overview.group(1)


def test_the_preview_button_shows_the_pending_change(login_as, catalog_item, db):
    editor = login_as("editor")
    page = edit(editor, action="preview", promised_days="2").get_data(as_text=True)
    assert item_of(db).draft is None  # a preview saves nothing
    rows = dict((label, (now, after)) for label, now, after in effect_rows(page))
    assert rows["时限压缩比"] == ("75.00%", "90.00%")
    assert set(rows) >= {
        "不见面审批占比",
        "即办件占比",
        "最多跑一次占比",
        "网上可办占比",
        "全程网办占比",
    }


@pytest.mark.parametrize(
    ("steps", "promised", "warned"),
    [
        ([("受理", "1"), ("审查", "3"), ("决定", "1")], "5", False),  # 5 = 5: no warning
        ([("受理", "1"), ("审查", "4"), ("决定", "1")], "5", True),  # 6 > 5
        ([("受理", ""), ("审查", "5"), ("决定", "")], "5", False),  # no days count 0
        ([("受理", "2"), ("审查", ""), ("决定", "2")], "3", True),
    ],
)
def test_the_steps_warning_appears_exactly_when_the_steps_exceed_the_promise(
    login_as, catalog_item, steps, promised, warned
):
    editor = login_as("editor")
    fields = {"promised_days": promised}
    for index, (name, days) in enumerate(steps):
        fields[f"steps-{index}-name"] = name
        fields[f"steps-{index}-days"] = days
    page = edit(editor, action="preview", **fields).get_data(as_text=True)
    assert (STEPS_WARNING in page) is warned
    if warned:
        total = sum(int(days or 0) for _name, days in steps)
        assert f"办理流程各环节合计{total}个工作日，超过承诺时限{promised}个工作日" in page
        # a plausibility warning: saving needs no acknowledgement
        assert edit(editor, reason="流程调整", **fields).status_code == 302
        reviewer_page = editor.get("/staff/items/A").get_data(as_text=True)
        assert STEPS_WARNING in reviewer_page and "无需确认" in reviewer_page


def test_the_steps_rule_reads_rows_and_data_and_is_no_policy_exception():
    over = handling_item_data(promised_days=4)  # steps 1 + 3 + 1 = 5
    assert steps_over_promise(over) == StepsOverPromise(5, 4)
    assert editor_warnings(over) == [StepsOverPromise(5, 4)]
    assert not StepsOverPromise(5, 4).needs_acknowledgement
    assert steps_over_promise(handling_item_data(steps=[{"name": "受理", "days": None}])) is None
    assert steps_over_promise(handling_item_data(promised_days=5)) is None
    assert "steps_over_promise" not in {rule.value for rule in PolicyRule}


def test_an_import_preview_lists_the_steps_warning(catalog_item, db):
    book = load_workbook(io.BytesIO(to_xlsx(export_data())))
    sheet = book[ITEM_SHEET]
    headers = [cell.value for cell in sheet[1]]
    column = next(i for i, h in enumerate(headers) if h == "办理流程")
    sheet.cell(row=2, column=column + 1, value="受理（1）；审查（8）；决定")
    buffer = io.BytesIO()
    book.save(buffer)
    plan = plan_import(parse_rows(*read_file("c.xlsx", buffer.getvalue(), None)))
    assert [w for w in plan.warnings if STEPS_WARNING in w] == [
        f"{ITEM_SHEET} 第2行（A-01）：办理流程各环节合计9个工作日，超过承诺时限5个工作日"
    ]


def test_one_published_change_is_one_version_step_and_a_stale_form_conflicts(
    login_as, catalog_item, db
):
    editor = login_as("editor")
    assert item_of(db).version == 1
    stale = opened_version(editor)  # a form opened before the change
    stale_item_form = editor.get("/staff/items/A/edit").get_data(as_text=True)
    assert edit(editor, promised_days="3", reason="压缩").status_code == 302
    assert review(editor, "submit").status_code == 302
    assert review(login_as("reviewer"), "publish").status_code == 302
    assert item_of(db).version == 2
    assert "版本 2" in editor.get("/staff/items/A").get_data(as_text=True)

    # forms from before the publish: a conflict (409), never an overwrite
    refused = edit(editor, version=stale, promised_days="4", reason="旧表单")
    assert refused.status_code == 409
    item_version = re.search(r'name="version" type="hidden" value="([^"]+)"', stale_item_form)
    refused = submit(
        editor, "/staff/items/A/edit", "/staff/items/A/edit",
        {"version": item_version.group(1), "name": "旧名称", "reason": "旧表单"}, "save",
    )  # fmt: skip
    assert refused.status_code == 409
    assert item_of(db).version == 2 and item_of(db).draft is None
    assert item_of(db).handling_items[0].promised_days == 3
