"""Staff offer a material's 空白表格 / 示例样表: uploaded on the material's files page into the
draft, refused by content with a message naming the problem (nothing stored), reviewed and
published like every other change, kept through saves of the edit form."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from catalog.models import AttachmentBlob, AuditEvent, ItemDraft
from tests import attachment_files as files
from tests.staff.conftest import csrf_token
from tests.staff.test_editing import edit, review

PAGE = "/staff/handling/A-01/materials/{index}/files"


def page_version(client, index: int = 0) -> str:
    html = client.get(PAGE.format(index=index)).get_data(as_text=True)
    return re.search(r'name="version" type="hidden" value="([^"]+)"', html).group(1)


def upload(client, content: bytes, name: str, *, index: int = 0, kind: str = "blank",
           version: str | None = None, reason: str = "上传空白表格"):  # fmt: skip
    path = PAGE.format(index=index)
    return client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "version": version if version is not None else page_version(client, index),
            "kind": kind,
            "reason": reason,
            "file": (io.BytesIO(content), name),
        },
        content_type="multipart/form-data",
    )


def blob_count(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AttachmentBlob))


def draft_files(db, index: int = 0) -> list[dict]:
    db.session.expire_all()
    draft = db.session.scalar(sa.select(ItemDraft))
    if draft is None:
        return []
    return draft.data["handling_items"][0]["materials"][index].get("attachments", [])


def test_an_upload_goes_into_the_draft_and_is_public_once_published(
    login_as, catalog_item, client, db
):
    editor = login_as("editor")
    edit_page = editor.get("/staff/handling/A-01/edit").get_data(as_text=True)
    assert 'href="/staff/handling/A-01/materials/0/files"' in edit_page
    response = upload(editor, files.docx(), "道路运输申请表.docx")
    assert response.status_code == 302
    assert "已上传空白表格到草稿" in editor.get(response.headers["Location"]).get_data(as_text=True)
    [offered] = draft_files(db)
    assert offered["kind"] == "blank" and offered["filename"] == "道路运输申请表.docx"
    event = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.actor == "editor1" and event.reason == "上传空白表格"
    url = f"/files/{offered['sha256']}/道路运输申请表.docx"
    assert client.get(url).status_code == 404  # a draft's: not public yet
    assert "道路运输申请表.docx" not in client.get("/items/A").get_data(as_text=True)

    assert upload(editor, files.pdf(), "示例.pdf", kind="sample").status_code == 302
    assert review(editor, "submit").status_code == 302
    assert review(login_as("reviewer"), "publish", note="同意").status_code == 302
    guide = client.get("/items/A").get_data(as_text=True)
    assert "下载空白表格" in guide and "下载示例样表" in guide
    downloaded = client.get(url)
    assert downloaded.status_code == 200 and downloaded.data == files.docx()


@pytest.mark.parametrize(
    ("content", "name", "words"),
    [
        (files.exe(), "申请表.pdf", "可执行程序"),
        (files.docm(), "申请表.docm", "含有宏"),
        (files.xlsm(), "申请表.xlsm", "含有宏"),
        (files.plain_zip(), "申请表.docx", "不是 Word（.docx）或 Excel（.xlsx）文档"),
        (b"GIF89a" + b"\x00" * 20, "图.png", "无法识别文件类型"),
    ],
)
def test_a_refused_file_is_named_and_nothing_is_stored(
    login_as, catalog_item, db, content, name, words
):
    editor = login_as("editor")
    response = upload(editor, content, name)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "文件未上传：" in page and words in page
    assert blob_count(db) == 0 and draft_files(db) == []


def test_a_file_over_the_setting_is_refused_and_one_over_the_request_limit_gets_413(
    app, login_as, catalog_item, db
):
    editor = login_as("editor")
    big = files.pdf() + b"%" + b"x" * 4096
    app.config["ATTACHMENT_MAX_BYTES"] = 2048
    try:
        response = upload(editor, big, "大.pdf")
    finally:
        app.config["ATTACHMENT_MAX_BYTES"] = 10 * 1024 * 1024
    assert response.status_code == 400 and "文件超过 2.0 KB" in response.get_data(as_text=True)
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 4096
    try:
        version = page_version(editor)
        token = csrf_token(editor, PAGE.format(index=0))
        response = editor.post(
            PAGE.format(index=0),
            data={"csrf_token": token, "version": version, "kind": "blank", "reason": "上传",
                  "file": (io.BytesIO(big * 4), "大.pdf")},
            content_type="multipart/form-data",
        )  # fmt: skip
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert response.status_code == 413 and "上传的内容过大" in response.get_data(as_text=True)
    assert blob_count(db) == 0


def test_a_stale_form_gets_a_conflict_and_no_file_is_kept(login_as, catalog_item, db):
    editor = login_as("editor")
    stale = page_version(editor)
    assert upload(editor, files.png(), "a.png").status_code == 302
    response = upload(editor, files.jpeg(), "b.jpg", version=stale)
    assert response.status_code == 409
    assert "已被他人修改" in response.get_data(as_text=True)
    assert [f["filename"] for f in draft_files(db)] == ["a.png"] and blob_count(db) == 1


def test_the_same_content_on_two_materials_is_stored_once(login_as, catalog_item, db):
    editor = login_as("editor")
    assert upload(editor, files.xlsx(), "表.xlsx", index=0).status_code == 302
    assert upload(editor, files.xlsx(), "另一张表.xlsx", index=1).status_code == 302
    assert draft_files(db, 0)[0]["sha256"] == draft_files(db, 1)[0]["sha256"]
    assert blob_count(db) == 1
    again = upload(editor, files.xlsx(), "表（副本）.xlsx", index=0)
    assert again.status_code == 400 and "已有内容完全相同的空白表格" in again.get_data(as_text=True)
    assert len(draft_files(db, 0)) == 1


def test_saving_the_edit_form_keeps_the_files_and_removing_one_takes_it_off(
    login_as, catalog_item, db
):
    editor = login_as("editor")
    assert upload(editor, files.pdf(), "空白表.pdf").status_code == 302
    edit_page = editor.get("/staff/handling/A-01/edit").get_data(as_text=True)
    assert "空白表格：空白表.pdf" in edit_page
    assert edit(editor, promised_days="4", reason="压缩时限").status_code == 302
    assert [f["filename"] for f in draft_files(db)] == ["空白表.pdf"]

    path = PAGE.format(index=0) + "/0/remove"

    def remove(reason: str):
        token = csrf_token(editor, PAGE.format(index=0))
        return editor.post(
            path, data={"csrf_token": token, "version": page_version(editor), "reason": reason}
        )

    no_reason = remove("")
    assert no_reason.status_code == 400 and "请说明修改原因" in no_reason.get_data(as_text=True)
    removed = remove("表格作废")
    assert removed.status_code == 302 and draft_files(db) == []


def test_uploads_are_limited_per_account(app, login_as, catalog_item, db):
    editor = login_as("editor")
    app.config["ATTACHMENT_UPLOAD_LIMIT"] = "2 per hour"
    try:
        assert upload(editor, files.pdf("1"), "1.pdf").status_code == 302
        assert upload(editor, files.pdf("2"), "2.pdf").status_code == 302
        third = upload(editor, files.pdf("3"), "3.pdf")
    finally:
        app.config["ATTACHMENT_UPLOAD_LIMIT"] = "60 per hour"
    assert third.status_code == 429
    assert "每个账号每小时最多上传 2 个文件" in third.get_data(as_text=True)
    assert blob_count(db) == 2


def test_a_material_that_is_not_there_is_a_chinese_404(login_as, catalog_item):
    response = login_as("editor").get(PAGE.format(index=7))
    assert response.status_code == 404 and "该申请材料不存在" in response.get_data(as_text=True)
