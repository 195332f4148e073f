"""Staff pages for spreadsheets: template, export, upload with a preview, then apply."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from catalog.domain import Conflict
from catalog.edge import keep_nothing, start_over, transaction
from catalog.importing import (
    MAX_ROWS,
    MAX_UPLOAD_BYTES,
    Plan,
    SpreadsheetError,
    parse_rows,
    plan_import,
    read_file,
)
from catalog.operations.imports import apply_import
from catalog.operations.items import four_eyes
from catalog.spreadsheets import export_data, to_xlsx
from catalog.staff.forms import ApplyImportForm, ImportForm, LogoutForm
from catalog.staff.permissions import can_edit, can_publish, requires

blueprint = Blueprint("transfer", __name__)
UPLOAD_TTL_SECONDS = 3600
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx(content: bytes, filename: str) -> Response:
    return Response(
        content, mimetype=XLSX, headers={"Content-Disposition": f"attachment; filename={filename}"}
    )


@blueprint.get("/export.xlsx")
@requires(can_edit)
def export():
    """Every item (its pending draft where there is one) in the import format."""
    return _xlsx(to_xlsx(export_data()), "catalog.xlsx")


@blueprint.get("/template.xlsx")
@requires(can_edit)
def template():
    """The headers and one example row (the first item of the catalog)."""
    items = export_data()[:1]
    for item in items:
        item["handling_items"] = item["handling_items"][:1]
    return _xlsx(to_xlsx(items), "template.xlsx")


def _uploads() -> Path:
    folder = Path(current_app.instance_path) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.json"):
        if old.stat().st_mtime < time.time() - UPLOAD_TTL_SECONDS:
            old.unlink(missing_ok=True)
    return folder


def _page(form, **context):
    return render_template(
        "staff/import.html",
        form=form,
        max_mb=MAX_UPLOAD_BYTES // 1024 // 1024,
        max_rows=MAX_ROWS,
        four_eyes=four_eyes(),
        logout_form=LogoutForm(),
        **context,
    )


def _keep_upload(filename: str, content: bytes, materials: bytes | None, plan: Plan) -> str:
    """Keep the uploaded file and the versions its preview was built from until it is applied
    (or for an hour); the browser holds only the token, in its form and its session."""
    token = secrets.token_urlsafe(16)
    stored = {
        "filename": filename,
        "content": content.hex(),
        "materials": materials.hex() if materials else None,
        "versions": plan.versions,
    }
    (_uploads() / f"{token}.json").write_text(json.dumps(stored))
    session["import_token"] = token
    return token


def _preview(plan: Plan, token: str, **context):
    return _page(
        ImportForm(formdata=None),
        plan=plan,
        apply_form=ApplyImportForm(formdata=None, token=token),
        may_publish=can_publish(current_user),
        **context,
    )


@blueprint.route("/import", methods=["GET", "POST"])
@requires(can_edit)
@transaction
def upload():
    """Upload a file and see what importing it would do; nothing is written yet."""
    keep_nothing()  # planning writes nothing
    form = ImportForm()
    if request.method == "GET" or not form.validate_on_submit():
        return _page(form), 200 if request.method == "GET" else 400
    main, materials = form.file.data, form.materials.data
    content = main.read(MAX_UPLOAD_BYTES + 1)
    material_bytes = materials.read(MAX_UPLOAD_BYTES + 1) if materials else None
    try:
        plan = plan_import(parse_rows(*read_file(main.filename or "", content, material_bytes)))
    except SpreadsheetError as exc:
        return _page(form, problems=exc.problems), 400
    return _preview(plan, _keep_upload(main.filename or "", content, material_bytes, plan))


@blueprint.post("/import/apply")
@requires(can_edit)
@transaction
def apply():
    """Apply the previewed file: all or nothing, into drafts (published at once only by a
    reviewer with four eyes off), and never over an item changed since the preview."""
    form = ApplyImportForm()
    token = form.token.data or ""
    if not form.validate_on_submit() or not token or token != session.get("import_token"):
        abort(400)
    path = _uploads() / f"{token}.json"
    if not path.exists():
        flash("上传的文件已过期，请重新上传。")
        return redirect(url_for("transfer.upload"))
    stored = json.loads(path.read_text())
    publish = bool(form.publish.data)
    content = bytes.fromhex(stored["content"])
    materials = bytes.fromhex(stored["materials"]) if stored["materials"] else None
    seen = stored.get("versions", {})
    try:
        plan = plan_import(parse_rows(*read_file(stored["filename"], content, materials)))
        apply_import(
            plan, actor=current_user, source=stored["filename"], publish=publish,
            preview_versions=seen,
        )  # fmt: skip
    except (Conflict, StaleDataError):
        # changed since the preview, or by a save that won the race while this one wrote:
        # nothing is kept, and the file is previewed again over what is there now
        start_over()
        plan = plan_import(parse_rows(*read_file(stored["filename"], content, materials)))
        changed = sorted(
            code for code, version in plan.versions.items() if seen.get(code) != version
        )
        path.unlink(missing_ok=True)
        fresh = _keep_upload(stored["filename"], content, materials, plan)
        return _preview(plan, fresh, conflicts=changed), 409
    except SpreadsheetError as exc:
        return _page(ImportForm(formdata=None), problems=exc.problems), 400
    path.unlink(missing_ok=True)
    session.pop("import_token", None)
    flash(
        f"已导入：新增 {len(plan.new)} 项，修改 {len(plan.changed)} 项。"
        + ("已发布。" if publish else "均在草稿中，请逐项提交审核。")
    )
    return redirect(url_for("staff.index", drafts=None if publish else "1"))
