"""Files offered beside materials: what is accepted (by content), stored once per content,
referred to only when held, and cleared away when nothing refers to them."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from catalog.attachments import check_file, prune, store
from catalog.domain import Conflict, Invalid
from catalog.drafts import current_data, editable_version
from catalog.enums import Status
from catalog.models import ApprovalItem, AttachmentBlob, MaterialAttachment, utcnow
from catalog.operations.attachments import attach_file, detach_file, display_name
from catalog.services import create_item
from catalog.services import item_data as dump_item
from tests import attachment_files as files
from tests.factories import handling_item_data, item_data

ACCEPTED = {
    "pdf": (files.pdf, "application/pdf"),
    "docx": (files.docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xlsx": (files.xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "png": (files.png, "image/png"),
    "jpeg": (files.jpeg, "image/jpeg"),
}


@pytest.mark.parametrize("name", ACCEPTED)
def test_each_accepted_type_is_recognised_by_its_content(app, name):
    make, media_type = ACCEPTED[name]
    with app.app_context():
        assert check_file(make()).media_type == media_type


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (files.exe(), "可执行程序"),  # an .exe renamed .pdf: the name is never read
        (files.docm(), "宏"),
        (files.xlsm(), "宏"),
        (files.plain_zip(), "不是 Word（.docx）或 Excel（.xlsx）文档"),
        (b"PK\x03\x04 broken", "ZIP 文件已损坏"),
        (b"<html><script>alert(1)</script></html>", "无法识别文件类型"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "旧版 Office"),
        (b"", "文件是空的"),
    ],
)
def test_refused_files_say_what_is_wrong(app, content, words):
    with app.app_context(), pytest.raises(Invalid) as refused:
        check_file(content)
    assert words in refused.value.message


def test_a_file_over_the_size_setting_is_refused(app):
    content = files.pdf() + b"\n%" + b"x" * 2048
    with app.app_context():
        app.config["ATTACHMENT_MAX_BYTES"] = 1024
        try:
            with pytest.raises(Invalid) as refused:
                check_file(content)
        finally:
            del app.config["ATTACHMENT_MAX_BYTES"]
    assert "文件超过 1.0 KB" in refused.value.message


def test_a_docx_whose_listed_main_part_is_missing_is_refused(app):
    content = files._package({
        "[Content_Types].xml": files.CONTENT_TYPES.format(
            overrides=f'<Override PartName="/word/document.xml" ContentType="{files.WORD_MAIN}"/>'
        ),
    })  # fmt: skip
    with app.app_context(), pytest.raises(Invalid):
        check_file(content)


def test_one_stored_copy_per_content(db):
    first = store(files.pdf("same"))
    again = store(files.pdf("same"))
    other = store(files.pdf("other"))
    db.session.commit()
    assert first.sha256 == again.sha256 == hashlib.sha256(files.pdf("same")).hexdigest()
    assert other.sha256 != first.sha256
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AttachmentBlob)) == 2


def _with_files(db, *digests: str) -> dict:
    attachments = [
        {"kind": kind, "sha256": digest, "filename": f"表{i}.pdf"}
        for i, (kind, digest) in enumerate(zip(("blank", "sample") * 3, digests, strict=False))
    ]
    return item_data(
        handling_item_data(code="F-01", materials=[{"name": "申请表", "attachments": attachments}]),
        code="F",
        name="港口经营许可",
    )


def test_materials_of_several_items_share_one_stored_file(db):
    blob = store(files.docx())
    create_item(_with_files(db, blob.sha256), status=Status.published)
    create_item(
        {**_with_files(db, blob.sha256), "code": "G",
         "handling_items": [{**_with_files(db, blob.sha256)["handling_items"][0], "code": "G-01"}]},
        status=Status.published,
    )  # fmt: skip
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AttachmentBlob)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MaterialAttachment)) == 2
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "F"))
    material = dump_item(item)["handling_items"][0]["materials"][0]
    assert material["attachments"] == [
        {"kind": "blank", "sha256": blob.sha256, "filename": "表0.pdf"}
    ]


def test_a_reference_to_a_file_the_catalog_does_not_hold_is_refused(db):
    unknown = "ab" * 32
    with pytest.raises(Invalid) as refused:
        create_item(_with_files(db, unknown), status=Status.published)
    path = "handling_items.0.materials.0.attachments.0.sha256"
    assert "目录中没有" in refused.value.errors[path][0]


def test_a_malformed_hash_is_refused_by_the_schema(db):
    with pytest.raises(Invalid) as refused:
        create_item(_with_files(db, "not-a-hash"), status=Status.published)
    assert "SHA-256" in " ".join(
        refused.value.errors["handling_items.0.materials.0.attachments.0.sha256"]
    )


def test_an_item_without_files_keeps_its_data_shape(db):
    create_item(item_data(code="H"), status=Status.published)
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "H"))
    assert all("attachments" not in m for m in dump_item(item)["handling_items"][0]["materials"])


def test_attaching_goes_into_the_draft_with_its_audit_record(db):
    from catalog.accounts import create_user
    from catalog.models import AuditEvent

    editor = create_user("editor9", "许昌交通运输2026审批", "editor")
    create_item(item_data(code="J"), status=Status.published)
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "J"))
    draft, blob = attach_file(
        item, "J-01", 0, kind="blank", content=files.docx(), filename=r"C:\fakepath\申请表.pdf",
        actor=editor, reason="上传空白表格", expected_version=editable_version(item),
    )  # fmt: skip
    db.session.commit()
    material = draft.data["handling_items"][0]["materials"][0]
    # the name keeps its words but says what the file is
    assert material["attachments"] == [
        {"kind": "blank", "sha256": blob.sha256, "filename": "申请表.docx"}
    ]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MaterialAttachment)) == 0
    event = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.reason == "上传空白表格" and "materials" in str(event.changes)
    with pytest.raises(Conflict):  # a stale form
        detach_file(item, "J-01", 0, 0, actor=editor, reason="删", expected_version="0")
    db.session.rollback()
    detach_file(item, "J-01", 0, 0, actor=editor, reason="删除",
                expected_version=editable_version(item))  # fmt: skip
    assert "attachments" not in current_data(item)["handling_items"][0]["materials"][0]


def test_a_refused_upload_stores_nothing(db):
    from catalog.accounts import create_user

    editor = create_user("editor9", "许昌交通运输2026审批", "editor")
    create_item(item_data(code="K"), status=Status.published)
    db.session.commit()
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "K"))
    with pytest.raises(Invalid):
        attach_file(item, "K-01", 0, kind="sample", content=files.exe(), filename="表.pdf",
                    actor=editor, reason="上传",
                    expected_version=editable_version(item))  # fmt: skip
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AttachmentBlob)) == 0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("表.pdf", "表.pdf"), ("表.PDF", "表.PDF"), ("表.exe", "表.pdf"), ("", "空白表格.pdf"),
     ("a/b/../表", "表.pdf"), (r"C:\x\报告.pdf", "报告.pdf")],
)  # fmt: skip
def test_display_names_say_what_the_file_is(raw, expected):
    from catalog.attachments import PDF
    from catalog.enums import AttachmentKind

    assert display_name(raw, PDF, AttachmentKind.blank) == expected


def test_prune_removes_only_old_files_nothing_refers_to(db):
    from catalog.accounts import create_user

    used = store(files.pdf("published"))
    in_draft = store(files.pdf("draft"))
    old_unused = store(files.pdf("old"))
    new_unused = store(files.pdf("new"))
    create_item(_with_files(db, used.sha256), status=Status.published)
    editor = create_user("editor9", "许昌交通运输2026审批", "editor")
    create_item(item_data(code="L"), status=Status.published)
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "L"))
    attach_file(item, "L-01", 0, kind="blank", content=files.pdf("draft"), filename="x.pdf",
                actor=editor, reason="上传", expected_version=editable_version(item))  # fmt: skip
    for blob in (used, in_draft, old_unused):
        blob.created_at = utcnow() - timedelta(days=2)
    kept = {used.sha256, in_draft.sha256, new_unused.sha256}
    removed = old_unused.sha256
    db.session.commit()
    assert prune() == [removed]
    db.session.commit()
    assert set(db.session.scalars(sa.select(AttachmentBlob.sha256))) == kept


def test_the_prune_command_lists_then_removes_old_unreferenced_files(cli, db):
    old = store(files.pdf("old"))
    old.created_at = utcnow() - timedelta(days=3)
    digest = old.sha256
    store(files.pdf("new"))
    db.session.commit()
    listed = cli.invoke(args=["attachments", "prune", "--dry-run"])
    assert listed.exit_code == 0, listed.output
    assert f"将删除 {digest}" in listed.output and "将删除 1 个无引用的文件" in listed.output
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AttachmentBlob)) == 2
    done = cli.invoke(args=["attachments", "prune"])
    assert done.exit_code == 0 and "已删除 1 个无引用的文件" in done.output
    assert "之后保存 1 个文件" in done.output
    db.session.expire_all()
    assert db.session.get(AttachmentBlob, digest) is None


def test_an_audited_change_of_files_reads_in_words(app):
    from catalog.templating import change_value

    material = {"name": "申请表", "kind": "original", "attachment_data": [
        {"kind": "sample", "sha256": "ab" * 32, "filename": "示例.pdf"}]}  # fmt: skip
    with app.app_context():
        text = change_value([material], "handling_items.A-01.materials")
    assert (
        "材料类型：原件" in text and "附件：类别：示例样表" in text and "文件名：示例.pdf" in text
    )
