"""Files offered beside materials on the public side: the guide, the notice, the API and the
download itself (its headers), and that a file only a draft holds stays with staff."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from catalog.accounts import create_user
from catalog.attachments import store
from catalog.drafts import editable_version
from catalog.models import ApprovalItem
from catalog.operations.attachments import attach_file
from tests import attachment_files as files
from tests.api.test_views import assert_matches
from tests.api.test_views import spec as spec
from tests.factories import handling_item_data, item_data, publish
from tests.staff.conftest import PASSWORD, sign_in

FORM_NAME = "道路运输经营申请表.docx"
SAMPLE_NAME = "申请表填写示例.pdf"


@pytest.fixture
def offered(db):
    """Item A, published, whose first material offers a blank form and a filled-in sample."""
    form, sample = store(files.docx("空白")), store(files.pdf("示例"))
    material = {
        "name": "道路运输经营申请表",
        "attachments": [
            {"kind": "blank", "sha256": form.sha256, "filename": FORM_NAME},
            {"kind": "sample", "sha256": sample.sha256, "filename": SAMPLE_NAME},
        ],
    }
    publish(db, item_data(
        handling_item_data(code="A-01", materials=[material, {"name": "营业执照"}]),
        code="A", name="道路货物运输经营许可",
    ))  # fmt: skip
    return {"form": form.sha256, "sample": sample.sha256}


def test_guide_and_notice_offer_the_files_beside_their_material(client, offered):
    for path in ("/items/A", "/handling/A-01/notice"):
        page = client.get(path).get_data(as_text=True)
        form_link = f"/files/{offered['form']}/{quote(FORM_NAME)}"
        sample_link = f"/files/{offered['sample']}/{quote(SAMPLE_NAME)}"
        assert f'href="{form_link}"' in page and ">下载空白表格</a>" in page, path
        assert f'href="{sample_link}"' in page and ">下载示例样表</a>" in page, path
        assert f"{FORM_NAME}（Word 文档，" in page and f"{SAMPLE_NAME}（PDF，" in page
        # beside its own material, not the other one
        row = page[page.index("道路运输经营申请表") : page.index("营业执照")]
        assert "下载空白表格" in row and "下载示例样表" in row


def test_the_download_is_an_attachment_of_the_stored_type_with_a_strong_etag(client, offered):
    response = client.get(f"/files/{offered['form']}/{quote(FORM_NAME)}")
    assert response.status_code == 200
    assert response.data == files.docx("空白")
    assert hashlib.sha256(response.data).hexdigest() == offered["form"]
    assert response.mimetype == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote(FORM_NAME)}" in disposition  # RFC 5987
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["ETag"] == f'"{offered["form"]}"'  # strong: no W/
    assert "immutable" in response.headers["Cache-Control"]
    assert "max-age=31536000" in response.headers["Cache-Control"]
    again = client.get(
        f"/files/{offered['form']}/{quote(FORM_NAME)}",
        headers={"If-None-Match": f'"{offered["form"]}"'},
    )
    assert again.status_code == 304 and again.data == b""


def test_a_link_naming_another_type_downloads_under_the_files_own_extension(client, offered):
    response = client.get(f"/files/{offered['sample']}/invoice.exe")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == "attachment; filename=invoice.pdf"


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/files/" + "0" * 64 + "/x.pdf", 404, "没有找到这个文件"),
        ("/files/NOT-A-HASH/x.pdf", 400, "SHA-256"),
        ("/files/" + "A" * 64 + "/x.pdf", 400, "SHA-256"),
    ],
)
def test_unknown_or_malformed_hashes_get_a_chinese_page(client, db, path, status, words):
    response = client.get(path)
    assert response.status_code == status
    assert words in response.get_data(as_text=True)


def test_a_file_only_a_draft_holds_is_for_staff_only(app, client, db, offered):
    editor = create_user("editor1", PASSWORD, "editor")
    db.session.commit()
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "A"))
    _draft, blob = attach_file(
        item, "A-01", 1, kind="blank", content=files.png(), filename="执照样例.png",
        actor=editor, reason="增加样例", expected_version=editable_version(item),
    )  # fmt: skip
    db.session.commit()
    path = f"/files/{blob.sha256}/{quote('执照样例.png')}"
    assert client.get(path).status_code == 404
    assert "执照样例.png" not in client.get("/items/A").get_data(as_text=True)
    assert blob.sha256 not in client.get("/api/v1/items/A").get_data(as_text=True)
    staff = app.test_client()
    assert sign_in(staff, "editor1").status_code == 302
    seen = staff.get(path)
    assert seen.status_code == 200 and seen.mimetype == "image/png"
    assert "public" not in seen.headers["Cache-Control"]
    assert "no-store" in seen.headers["Cache-Control"]


def test_the_api_lists_each_materials_files_as_documented(client, spec, offered):
    body = client.get("/api/v1/items/A").get_json()
    assert_matches(spec, "Item", body)
    first, second = body["handling_items"][0]["materials"]
    assert second["attachments"] == []
    blank, sample = first["attachments"]
    assert blank == {
        "kind": "blank",
        "filename": FORM_NAME,
        "sha256": offered["form"],
        "media_type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "size": len(files.docx("空白")),
        "url": f"/files/{offered['form']}/{quote(FORM_NAME)}",
    }
    assert sample["kind"] == "sample" and sample["media_type"] == "application/pdf"
    assert client.get(sample["url"]).data == files.pdf("示例")
