"""Staff page of a material's files (空白表格 / 示例样表): upload one, remove one. Each is a
change of the item's draft (catalog.operations.attachments); @transaction commits, so a refused
file leaves nothing stored."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_limiter import RateLimitExceeded
from flask_login import current_user

from catalog.attachments import max_bytes, size_label
from catalog.domain import Conflict, Invalid
from catalog.drafts import current_data, editable_version
from catalog.edge import keep_nothing, transaction
from catalog.enums import AttachmentKind
from catalog.errors import error_response
from catalog.extensions import db, limiter
from catalog.models import AttachmentBlob
from catalog.operations.attachments import attach_file, detach_file
from catalog.staff.editing import _editable_or_404
from catalog.staff.forms import LogoutForm, MaterialFileForm, RemoveFileForm
from catalog.staff.permissions import can_edit, requires
from catalog.staff.views import blueprint
from catalog.throttle import upload_limit_message

REFUSED = "文件未上传："


def _material_or_404(data: dict, code: str, index: int):
    handling = next(h for h in data["handling_items"] if h["code"] == code)
    if not 0 <= index < len(handling["materials"]):
        return None
    return handling["materials"][index]


def _page(item, handling, index: int, form: MaterialFileForm, *, error=None, status=200):
    """The material's files as the item's draft (or its published rows) has them now."""
    data = current_data(item)
    material = _material_or_404(data, handling.code, index)
    if material is None:
        return error_response(404, "该申请材料不存在（可能已被删除或移动），请回到编辑页面刷新。")
    files = material.get("attachments", [])
    blobs = {
        blob.sha256: blob
        for blob in db.session.scalars(
            sa.select(AttachmentBlob).where(AttachmentBlob.sha256.in_([f["sha256"] for f in files]))
        )
    }
    version = editable_version(item)
    form.version.data = version
    return render_template(
        "staff/material_files.html",
        item=item, handling=handling, index=index, material=material, files=files, blobs=blobs,
        form=form, remove_form=RemoveFileForm(formdata=None, version=version), error=error,
        max_size=size_label(max_bytes()), logout_form=LogoutForm(),
    ), status  # fmt: skip


def _uploader() -> str:
    """Uploads are counted per signed-in account, as the import's are."""
    return f"file-upload:{current_user.id}" if current_user.is_authenticated else "file-upload"


@blueprint.errorhandler(RateLimitExceeded)
def _too_many_uploads(error: RateLimitExceeded):
    """The file upload's limit in words (the staff pages' only flask-limiter limit)."""
    return error_response(429, upload_limit_message(error.limit.limit, "个文件"))


@blueprint.route("/handling/<code>/materials/<int:index>/files", methods=["GET", "POST"])
@requires(can_edit)
@limiter.limit(
    lambda: current_app.config["ATTACHMENT_UPLOAD_LIMIT"], methods=["POST"], key_func=_uploader
)
@transaction
def material_files(code: str, index: int):
    """List a material's files and take a new one into the item's draft."""
    item, handling = _editable_or_404(code)
    if request.method == "GET":
        return _page(item, handling, index, MaterialFileForm(formdata=None))
    form = MaterialFileForm()
    if not form.validate_on_submit():
        return _page(item, handling, index, form, status=400)
    upload = form.file.data
    content = upload.stream.read(max_bytes() + 1)  # never more than the limit and a byte
    try:
        attach_file(
            item, handling.code, index,
            kind=form.kind.data, content=content, filename=upload.filename,
            actor=current_user, reason=form.reason.data, expected_version=form.version.data,
        )  # fmt: skip
    except Conflict as lost:
        keep_nothing()
        return _page(item, handling, index, form, error=lost.message, status=409)
    except Invalid as refused:
        keep_nothing()
        return _page(item, handling, index, form, error=REFUSED + refused.message, status=400)
    flash(f"已上传{AttachmentKind(form.kind.data).label}到草稿。发布后公众即可在办事指南中下载。")
    return redirect(url_for("staff.material_files", code=handling.code, index=index))


@blueprint.post("/handling/<code>/materials/<int:index>/files/<int:position>/remove")
@requires(can_edit)
@transaction
def remove_material_file(code: str, index: int, position: int):
    """Take one file off a material in the item's draft."""
    item, handling = _editable_or_404(code)
    form = RemoveFileForm()
    if not form.validate_on_submit():
        return _page(item, handling, index, MaterialFileForm(formdata=None),
                     error="未删除：" + "；".join(form.reason.errors or ["表单有误。"]),
                     status=400)  # fmt: skip
    try:
        detach_file(item, handling.code, index, position, actor=current_user,
                    reason=form.reason.data, expected_version=form.version.data)  # fmt: skip
    except Conflict as lost:
        keep_nothing()
        return _page(item, handling, index, MaterialFileForm(formdata=None),
                     error=lost.message, status=409)  # fmt: skip
    except Invalid as refused:
        keep_nothing()
        return _page(item, handling, index, MaterialFileForm(formdata=None),
                     error="未删除：" + refused.message, status=400)  # fmt: skip
    flash("已从草稿中删除该文件。")
    return redirect(url_for("staff.material_files", code=handling.code, index=index))
