"""The upload page with a bureau's own workbook (tests/test_import_bureau_files.py builds it)."""

from __future__ import annotations

from tests.staff.test_transfer import upload
from tests.test_import_bureau_files import ITEMS, bureau_workbook


def test_a_bureau_workbook_is_previewed_with_what_was_assumed(login_as):
    response = upload(login_as("editor"), bureau_workbook(), "清单.xlsx")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert f"预览：新增 {len(ITEMS)} 项，修改 0 项" in page
    assert "附件1 政务服务事项清单 第6行「法定时限」“1个月”按22个工作日计" in page


def test_unknown_headers_are_refused_naming_each_column(login_as):
    response = upload(login_as("editor"), bureau_workbook(extra=["序号", "所属处室"]), "清单.xlsx")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    for name in ("序号", "所属处室"):
        assert f"附件1 政务服务事项清单 第3行「{name}」：无法识别的表头" in page
    assert "无法对应的表头：序号、所属处室。" in page
    assert "预览：" not in page
