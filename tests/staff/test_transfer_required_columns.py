"""The upload page with a bureau's file of only the required columns
(tests/test_import_required_columns.py builds it): the page says which columns are required,
the preview lists derived codes and case types and each new item's gaps, a saved mapping places
an unknown column, and the figures come out as worked out from the rows."""

from __future__ import annotations

import html
import re

import sqlalchemy as sa

from catalog.models import ApprovalItem
from tests.staff.test_transfer_bureau_files import apply_published, map_columns, upload_as
from tests.test_import_required_columns import (
    ROWS,
    SHEET,
    expected_codes,
    expected_figures,
    expected_gaps,
    imported_figures,
    minimal_workbook,
    stored_codes,
)

SOURCE = "某某县交通运输局 权力清单"


def previewed_gaps(page: str) -> dict[str, set[str]]:
    """Item code -> the gaps its 新增 line lists."""
    found = re.findall(
        r"<p>新增 (\S+) [^<]*<span class=\"gaps\">（缺少要素：([^）]*)）</span></p>", page
    )
    return {code: set(labels.split("、")) for code, labels in found}


def test_the_page_says_which_columns_are_required_and_which_optional(login_as):
    page = html.unescape(login_as("editor").get("/staff/import").get_data(as_text=True))
    required = re.search(r'<dd class="required-columns">([^<]*)</dd>', page).group(1)
    assert required.split("、") == [
        "事项编码", "事项名称", "事项类型", "法定时限", "承诺时限", "到现场次数",
    ]  # fmt: skip
    optional = re.search(r'<dd class="optional-columns">([^<]*)</dd>', page).group(1)
    assert {"业务办理项编码", "办件类型", "实施主体", "是否收费", "办理流程"} <= set(
        optional.split("、")
    )
    assert "须包含全部列" not in page


def test_a_file_of_only_the_required_columns_is_previewed_with_its_gaps_and_published(
    app, db, login_as, monkeypatch
):
    monkeypatch.setitem(app.config, "REVIEW_FOUR_EYES", False)
    reviewer = login_as("reviewer")
    response = upload_as(reviewer, minimal_workbook())
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200, page
    assert f"预览：新增 {len(ROWS)} 项，修改 0 项" in page
    assert previewed_gaps(page) == {
        code: expected_gaps(handling_rows) for code, _n, _k, handling_rows in ROWS
    }
    assert f"{SHEET} 第5行「业务办理项编码」未提供，按事项编码生成为 JT-101-02" in page
    assert f"{SHEET} 第5行「办件类型」未提供，按承诺时限（0个工作日）定为即办件" in page
    assert apply_published(reviewer, page).status_code == 302
    assert imported_figures() == expected_figures()
    assert stored_codes(db) == expected_codes()
    again = html.unescape(upload_as(reviewer, minimal_workbook()).get_data(as_text=True))
    assert f"预览：新增 0 项，修改 0 项，未变 {len(ROWS)} 项" in again


def test_an_unknown_column_is_placed_by_the_sources_saved_mapping(app, db, login_as, monkeypatch):
    """受理部门 is this bureau's 承办机构: mapped once and saved under the source's name, the
    next file of that source is read with it, and 承办机构 is no longer a gap."""
    monkeypatch.setitem(app.config, "REVIEW_FOUR_EYES", False)
    reviewer = login_as("reviewer")
    content = minimal_workbook(extra={"受理部门": "行政审批科"})
    step = upload_as(reviewer, content, SOURCE).get_data(as_text=True)
    assert "指定表头：1 列无法识别" in step
    preview = map_columns(reviewer, step, {"受理部门": "承办机构"}, SOURCE)
    page = html.unescape(preview.get_data(as_text=True))
    assert preview.status_code == 200, page
    assert f"映射将在导入时保存为“{SOURCE}”。" in page
    assert previewed_gaps(page) == {
        code: expected_gaps(handling_rows) - {"承办机构"} for code, _n, _k, handling_rows in ROWS
    }
    assert apply_published(reviewer, page).status_code == 302  # the mapping is saved with it
    assert imported_figures() == expected_figures()
    units = set(db.session.scalars(sa.select(ApprovalItem.handling_unit)))
    assert units == {"行政审批科"}
    response = upload_as(reviewer, content, SOURCE)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200, page
    assert f"已套用来源“{SOURCE}”的表头映射。" in page
    assert f"预览：新增 0 项，修改 0 项，未变 {len(ROWS)} 项" in page


def test_a_header_row_lacking_a_required_column_is_refused_on_the_page(db, login_as):
    headers = ["基本编码", "事项名称", "事项类型", "法定办结时限", "承诺办结时限"]  # no visits
    response = upload_as(login_as("editor"), minimal_workbook(headers=headers))
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400, page
    assert f"{SHEET} 第3行：缺少必填列：到现场次数。" in page
    assert imported_figures()["items"] == 0
