"""The upload page with a bureau's own workbook (tests/test_import_bureau_files.py builds it),
and the mapping step for headers nothing recognises."""

from __future__ import annotations

import html
import io
import re
from typing import NamedTuple

import sqlalchemy as sa

from catalog.models import AuditEvent, ImportMapping
from tests.staff.conftest import csrf_token
from tests.staff.test_transfer import upload
from tests.test_import_bureau_files import (
    HEADERS,
    ITEMS,
    bureau_workbook,
    expected_figures,
    imported_figures,
)

SOURCE = "某某县交通运输局 2026 目录"
# the bureau calls 承办机构 受理部门 and adds a column of its own
RENAMED = [("受理部门" if header == "承办机构" else header) for header in HEADERS]


def renamed_workbook() -> bytes:
    return bureau_workbook(headers=RENAMED, extra=["序号"])


def token_of(page: str) -> str:
    return re.search(r'name="token" type="hidden" value="([^"]+)"', page).group(1)


def upload_as(client, content: bytes, source_name: str = ""):
    return client.post("/staff/import", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, "/staff/import"),
        "file": (io.BytesIO(content), "清单.xlsx"),
        "source_name": source_name,
    })  # fmt: skip


class StepColumn(NamedTuple):
    name: str  # the select's
    label: str  # "sheet 第N行 C列「header」", as read
    header: str
    samples: list[str]  # as shown; [] where the page says the column holds nothing


def plain(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def step_columns(page: str) -> list[StepColumn]:
    """The mapping step's columns as the page shows them."""
    found = re.findall(
        r'<label for="(column-\d+)">(.*?)</label>\s*<span class="samples small" id="samples-\d+">'
        r"(.*?)</span>",
        page,
    )
    return [
        StepColumn(
            name,
            plain(label),
            re.search("「(.*)」", plain(label)).group(1),
            [plain(value) for value in re.findall("<q>(.*?)</q>", samples)],
        )
        for name, label, samples in found
    ]


def map_columns(client, page: str, choices: dict[str, str], source_name: str = ""):
    """Answer the mapping step: each column (by its header) -> a field or ignore."""
    data = {"csrf_token": csrf_token(client, "/staff/import"), "token": token_of(page)}
    data |= {column.name: choices[column.header] for column in step_columns(page)}
    data["source_name"] = source_name
    return client.post("/staff/import/mapping", data=data)


def apply_draft(client, page: str):
    return client.post("/staff/import/apply", data={
        "csrf_token": csrf_token(client, "/staff/import"), "token": token_of(page),
    })  # fmt: skip


def apply_published(client, page: str):
    return client.post("/staff/import/apply", data={
        "csrf_token": csrf_token(client, "/staff/import"), "token": token_of(page),
        "publish": "y",
    })  # fmt: skip


def test_a_bureau_workbook_is_previewed_with_what_was_assumed(login_as):
    response = upload(login_as("editor"), bureau_workbook(), "清单.xlsx")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert f"预览：新增 {len(ITEMS)} 项，修改 0 项" in page
    assert "附件1 政务服务事项清单 第6行「法定时限」“1个月”按22个工作日计" in page


def test_unknown_headers_go_to_the_mapping_step_naming_each_column(login_as):
    response = upload(login_as("editor"), bureau_workbook(extra=["序号", "所属处室"]), "清单.xlsx")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "指定表头：2 列无法识别" in page
    assert [column.label for column in step_columns(page)] == [
        "附件1 政务服务事项清单 第3行 AF列「序号」",
        "附件1 政务服务事项清单 第3行 AG列「所属处室」",
    ]
    assert page.count("此列下面没有数据。") == 2  # the workbook leaves them empty
    assert "忽略此列" in page and ">承办机构</option>" in page
    assert "预览：" not in page


def mapping_records(db) -> list[AuditEvent]:
    return list(
        db.session.scalars(sa.select(AuditEvent).where(AuditEvent.object_type == "import_mapping"))
    )


def test_a_column_mapped_on_the_page_is_previewed_applied_and_saved(app, db, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "REVIEW_FOUR_EYES", False)
    reviewer = login_as("reviewer")
    step = upload_as(reviewer, renamed_workbook()).get_data(as_text=True)
    assert "指定表头：2 列无法识别" in step
    assert [(c.label, c.samples) for c in step_columns(step)] == [
        ("附件1 政务服务事项清单 第3行 T列「受理部门」", ["行政审批科"] * 3),
        ("附件1 政务服务事项清单 第3行 AF列「序号」", []),
    ]
    preview = map_columns(reviewer, step, {"受理部门": "承办机构", "序号": "ignore"}, SOURCE)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200, page
    assert f"预览：新增 {len(ITEMS)} 项，修改 0 项" in page
    assert f"映射将在导入时保存为“{SOURCE}”。" in page
    assert mapping_records(db) == []  # the preview saves nothing
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportMapping)) == 0
    assert apply_published(reviewer, page).status_code == 302
    assert imported_figures() == expected_figures()
    saved = db.session.scalars(sa.select(ImportMapping)).one()
    assert saved.source_name == SOURCE
    assert saved.mapping == {"受理部门": "承办机构", "序号": "ignore"}
    [event] = mapping_records(db)
    assert (event.object_code, event.actor) == (SOURCE, "reviewer1")
    assert event.reason == "导入时的表头映射"
    assert SOURCE in reviewer.get("/staff/import").get_data(as_text=True)  # listed


def test_the_saved_mapping_is_applied_to_the_same_sources_next_file(db, login_as):
    editor = login_as("editor")
    step = upload_as(editor, renamed_workbook(), SOURCE).get_data(as_text=True)
    preview = map_columns(editor, step, {"受理部门": "承办机构", "序号": "ignore"}, SOURCE)
    page = preview.get_data(as_text=True)
    assert apply_published(editor, page).status_code == 403  # an editor may not publish
    assert mapping_records(db) == []  # refused: nothing saved
    assert apply_draft(editor, page).status_code == 302
    assert [event.object_code for event in mapping_records(db)] == [SOURCE]
    again = upload_as(editor, renamed_workbook(), SOURCE)
    page = again.get_data(as_text=True)
    assert again.status_code == 200, page
    assert "列无法识别" not in page
    assert f"预览：新增 0 项，修改 0 项，未变 {len(ITEMS)} 项" in page  # the drafts'
    assert f"已套用来源“{SOURCE}”的表头映射。" in page
    other = upload_as(editor, renamed_workbook(), "另一个来源").get_data(as_text=True)
    assert "指定表头：2 列无法识别" in other  # only that source's files


def test_bad_mappings_are_refused_and_nothing_is_saved(db, login_as):
    editor = login_as("editor")
    step = upload_as(editor, renamed_workbook()).get_data(as_text=True)
    cases = [
        ({"受理部门": "承办机构", "序号": "承办机构"}, SOURCE,
         "「受理部门」和「序号」都对应“承办机构”，一个字段只能对应一列。"),
        ({"受理部门": "不存在的字段", "序号": "ignore"}, SOURCE,
         "映射中「受理部门」的字段“不存在的字段”无法识别。"),
        ({"受理部门": "承办机构", "序号": "ignore"}, "来源\x07名称", "来源名称：不能包含控制字符"),
        ({"受理部门": "承办机构", "序号": "ignore"}, "长" * 51, "来源名称不能超过 50 个字符。"),
        ({"受理部门": "", "序号": "ignore"}, SOURCE, "请为「受理部门」选择字段或“忽略此列”。"),
    ]  # fmt: skip
    for choices, source_name, message in cases:
        refused = map_columns(editor, step, choices, source_name)
        page = refused.get_data(as_text=True)
        assert refused.status_code == 400, page
        assert message in page
        assert "指定表头：2 列无法识别" in page  # the step again, same upload
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportMapping)) == 0
    too_long = upload_as(editor, renamed_workbook(), "长" * 51)
    assert too_long.status_code == 400
    assert "来源名称不能超过 50 个字符。" in too_long.get_data(as_text=True)


def test_a_mapping_step_whose_upload_is_gone_asks_to_upload_again(login_as):
    editor = login_as("editor")
    step = upload_as(editor, renamed_workbook()).get_data(as_text=True)
    upload(editor, bureau_workbook(), "清单.xlsx")  # a later upload replaces the kept one
    gone = map_columns(editor, step, {"受理部门": "承办机构", "序号": "ignore"})
    assert gone.status_code == 410
    assert "请重新上传文件" in gone.get_data(as_text=True)
