"""Downloads of the files offered beside materials (空白表格 / 示例样表): /files/<sha256>/<name>.

Public for a file a published material offers; a file only a draft holds is served to signed-in
staff alone. Always as an attachment, with the media type its content was recognised as,
nosniff and a strong ETag (the hash: the content of a URL never changes)."""

from __future__ import annotations

import io

from flask import Blueprint, send_file
from flask_login import current_user

from catalog.attachments import BY_MEDIA_TYPE, SHA256, blob_or_none, is_published
from catalog.enums import AttachmentKind
from catalog.errors import error_response
from catalog.operations.attachments import display_name

blueprint = Blueprint("files", __name__)

ONE_YEAR = 365 * 24 * 3600
NOT_FOUND = "没有找到这个文件：它可能已被替换或删除，请回到办事指南重新下载。"


@blueprint.get("/files/<sha256>/<path:filename>")
def download(sha256: str, filename: str):
    """The stored file, named as the link names it (with the extension of what it is)."""
    if not SHA256.fullmatch(sha256):
        return error_response(400, "文件地址有误：文件标识须为64位小写十六进制的 SHA-256 值。")
    public = is_published(sha256)
    staff = current_user.is_authenticated
    blob = blob_or_none(sha256) if public or staff else None
    if blob is None:
        return error_response(404, NOT_FOUND)
    name = display_name(filename[:300].replace("\x00", ""), BY_MEDIA_TYPE[blob.media_type],
                        AttachmentKind.blank)  # fmt: skip
    response = send_file(
        io.BytesIO(blob.data),
        mimetype=blob.media_type,
        as_attachment=True,
        download_name=name,
        etag=sha256,
        conditional=True,
        last_modified=blob.created_at,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    if public:
        response.cache_control.public = True
        response.cache_control.max_age = ONE_YEAR
        response.cache_control.immutable = True
    else:  # a draft's file: for the signed-in, never kept by a shared cache
        response.cache_control.private = True
        response.cache_control.no_store = True
        response.cache_control.max_age = None
        response.cache_control.public = False
    return response
