"""Staff pages for spreadsheets: template, export, upload with a preview, then apply."""

from __future__ import annotations

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
from flask_limiter import RateLimitExceeded
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from catalog import uploads
from catalog.domain import Conflict
from catalog.edge import after_commit, keep_nothing, start_over, transaction
from catalog.elements import describe
from catalog.errors import error_response
from catalog.extensions import client_address, limiter
from catalog.import_headers import (
    HANDLING,
    IGNORE,
    MATERIAL_REFERENCES,
    MATERIALS,
    REQUIRED,
    check_mapping,
    field_choices,
    optional_fields,
)
from catalog.import_template import template_xlsx
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
from catalog.operations.mappings import (
    MappingError,
    check_source_name,
    saved_mapping,
    saved_mappings,
)
from catalog.operations.units import all_units, unit_data
from catalog.spreadsheet_reading import MAX_SAMPLES, UNKNOWN_HEADER, UnknownHeader
from catalog.spreadsheets import export_data, to_xlsx
from catalog.staff.forms import ApplyImportForm, ImportForm, LogoutForm, MappingForm
from catalog.staff.permissions import can_edit, can_publish, requires
from catalog.throttle import upload_limit_message
from catalog.unit_transfer import UnitPlan, apply_units, kept_plan, read_units, sheet_plan

blueprint = Blueprint("transfer", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx(content: bytes, filename: str) -> Response:
    return Response(
        content, mimetype=XLSX, headers={"Content-Disposition": f"attachment; filename={filename}"}
    )


@blueprint.get("/export.xlsx")
@requires(can_edit)
def export():
    """Every item (its pending draft where there is one) in the import format."""
    units = [unit_data(unit) for unit in all_units()]  # the 办理窗口 sheet
    return _xlsx(to_xlsx(export_data(), units), "catalog.xlsx")


@blueprint.get("/template.xlsx")
@requires(can_edit)
def template():
    """The import template: instructions, drop-down lists, an example row the import refuses
    (catalog.import_template); the same whatever the catalog holds."""
    return _xlsx(template_xlsx(), "template.xlsx")


def _page(form, **context):
    return render_template(
        "staff/import.html",
        form=form,
        max_mb=MAX_UPLOAD_BYTES // 1024 // 1024,
        max_rows=MAX_ROWS,
        required_columns=REQUIRED[HANDLING],
        optional_columns=optional_fields(HANDLING),
        required_material_columns=(*REQUIRED[MATERIALS], "或".join(MATERIAL_REFERENCES)),
        optional_material_columns=optional_fields(MATERIALS),
        describe_gaps=describe,
        four_eyes=four_eyes(),
        logout_form=LogoutForm(),
        saved_mappings=saved_mappings(),
        **context,
    )


def _keep_pending(rows: bytes, versions: dict, source: str, **kind) -> str:
    """Keep what the next step needs (catalog.uploads, with its quotas); the browser holds
    only the token, in its form and its session. The session's earlier upload goes."""
    uploads.discard(session.pop("import_token", None), account_id=current_user.id)
    token = uploads.keep(rows, versions, source=source, account_id=current_user.id, **kind)
    session["import_token"] = token
    return token


def _keep(rows: bytes, plan: Plan, source: str, read_with: dict | None = None) -> str:
    """Keep the parsed rows and the versions the preview was built from until it is applied,
    with the mapping they were read with (_read_with), saved only when the import is."""
    return _keep_pending(rows, plan.versions, source, details=read_with)


def _read_with(*, applied: str = "", mapping: dict | None = None, source_name: str = "") -> dict:
    """How a preview's file was read: a saved mapping `applied` (by its source name), or a
    `mapping` made on the mapping step, to be saved under `source_name` (if any) when the
    import is applied, not before: an abandoned or stale preview saves nothing."""
    if mapping is None:
        return {"applied": applied} if applied else {}
    return {"mapping": mapping, "source_name": source_name}


def _unknown_columns(problems) -> list[dict]:
    """Each column nothing recognises as the mapping step shows it: its sheet, header row,
    letter, whole header and the first values under it (catalog.spreadsheet_reading)."""
    return [
        {
            "sheet": p.sheet,
            "row": p.row,
            "letter": p.letter,
            "header": p.header,
            "samples": list(p.samples),
        }
        for p in problems
        if isinstance(p, UnknownHeader)
    ]


def _mapping_step(token: str, details: dict, *, error: str | None = None, chosen=None):
    """The mapping step: a select of the fields (or 忽略此列) for each unknown column."""
    form = MappingForm(formdata=None, token=token, source_name=details.get("source_name", ""))
    return _page(
        ImportForm(formdata=None),
        mapping_form=form,
        columns=details["columns"],
        choices=field_choices(),
        ignore=IGNORE,
        chosen=chosen or {},
        mapping_error=error,
        max_samples=MAX_SAMPLES,
    )


def _ask_mapping(content, materials, source, name, problems, prior):
    """Keep the upload (bounded like a preview) and ask for the columns nothing recognises."""
    details = {"columns": _unknown_columns(problems), "source_name": name, "mapping": prior}
    frozen = uploads.freeze_file(content, materials)
    token = _keep_pending(frozen, {}, source, kind=uploads.FILE, details=details)
    return _mapping_step(token, details), 200


def _with_units(read_with: dict, units: UnitPlan | None) -> dict:
    """What the preview keeps of the 办理窗口 sheet (catalog.unit_transfer), beside the
    mapping the file was read with."""
    return {**read_with, "units": units.kept()} if units is not None else read_with


def _preview(
    plan: Plan, token: str, read_with: dict | None = None, units: UnitPlan | None = None, **context
):
    read_with = read_with or {}
    return _page(
        ImportForm(formdata=None),
        plan=plan,
        apply_form=ApplyImportForm(formdata=None, token=token),
        may_publish=can_publish(current_user),
        mapped_by=read_with.get("applied"),
        mapped="mapping" in read_with,
        save_as=read_with.get("source_name"),
        units=units,
        **context,
    )


def _uploader() -> str:
    """Uploads are counted per signed-in account (an anonymous POST is refused unread)."""
    if current_user.is_authenticated:
        return f"import-upload:{current_user.id}"
    return f"import-upload-address:{client_address()}"


@blueprint.errorhandler(RateLimitExceeded)
def _too_many_uploads(error: RateLimitExceeded):
    """The upload's limit in words (the only limit of these pages; 429 pages: catalog.errors)."""
    return error_response(429, upload_limit_message(error.limit.limit, "次"))


@blueprint.route("/import", methods=["GET", "POST"])
@requires(can_edit)
@limiter.limit(
    lambda: current_app.config["IMPORT_UPLOAD_LIMIT"], methods=["POST"], key_func=_uploader
)
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
    source = form.file_name
    try:
        name = check_source_name(form.source_name.data)
        saved = saved_mapping(name)
    except MappingError as exc:
        return _page(form, mapping_error=exc.message), 400
    prior = saved.mapping if saved else {}
    try:
        items = parse_rows(*read_file(source, content, material_bytes, check_mapping(prior)))
        rows = uploads.freeze(items)  # before planning, which adds what the file leaves out
        plan = plan_import(items)
        units = sheet_plan(read_units(source, content))
    except SpreadsheetError as exc:
        if _unknown_columns(exc.problems):
            try:
                return _ask_mapping(content, material_bytes, source, name, exc.problems, prior)
            except SpreadsheetError as too_big:
                exc = too_big
        unplaced = [p.column for p in exc.problems if p.message == UNKNOWN_HEADER]
        return _page(form, problems=exc.problems, unplaced=unplaced), 400
    read_with = _with_units(_read_with(applied=saved.source_name if saved else ""), units)
    return _preview(plan, _keep(rows, plan, source, read_with), read_with, units)


@blueprint.post("/import/mapping")
@requires(can_edit)
@transaction
def mapping():
    """The mapping step's answer: a field or 忽略此列 for each unknown column, read with the
    kept upload; then the preview as usual, which carries the mapping to be saved under the
    source name (when one is given) once the import is applied. Nothing is written here."""
    form = MappingForm()
    token = form.token.data or ""
    if not form.validate_on_submit() or not token:
        abort(400)
    try:
        if token != session.get("import_token"):  # not this session's latest upload
            raise uploads.PreviewGone()
        pending = uploads.load(token, account_id=current_user.id)
        content, materials = uploads.thaw_file(pending)
        details = dict(pending.details or {})
        columns = details.get("columns") or []
        if not all(isinstance(column, dict) for column in columns):  # kept before 2026-12-03
            raise uploads.PreviewGone()
    except uploads.PreviewGone as gone:
        flash(gone.message)
        return _page(ImportForm(formdata=None)), gone.status
    keep_nothing()  # the mapping is saved with the import it reads, by apply
    chosen = {str(i): request.form.get(f"column-{i}", "") for i in range(len(columns))}
    details["source_name"] = form.source_name.data or ""
    mapped = dict(details.get("mapping") or {})
    try:
        for index, column in enumerate(columns):
            if not chosen[str(index)]:
                raise MappingError(f"请为「{column['header'][:30]}」选择字段或“忽略此列”。")
            mapped[column["header"]] = chosen[str(index)]
        name = check_source_name(details["source_name"])
        placed = check_mapping(mapped)
    except (MappingError, ValueError) as exc:
        message = exc.message if isinstance(exc, MappingError) else str(exc)
        return _mapping_step(token, details, error=message, chosen=chosen), 400
    try:
        items = parse_rows(*read_file(pending.source, content, materials, placed))
        rows = uploads.freeze(items)
        plan = plan_import(items)
        units = sheet_plan(read_units(pending.source, content))
    except SpreadsheetError as exc:
        if _unknown_columns(exc.problems):  # another sheet's headers, read now
            return _ask_mapping(content, materials, pending.source, name, exc.problems, mapped)
        return _page(ImportForm(formdata=None), problems=exc.problems), 400
    read_with = _with_units(_read_with(mapping=mapped, source_name=name), units)
    return _preview(plan, _keep(rows, plan, pending.source, read_with), read_with, units)


@blueprint.post("/import/apply")
@requires(can_edit)
@transaction
def apply():
    """Apply the previewed file: all or nothing, into drafts (published at once only by a
    reviewer with four eyes off), and never over an item changed since the preview."""
    form = ApplyImportForm()
    token = form.token.data or ""
    if not form.validate_on_submit() or not token:
        abort(400)
    try:
        if token != session.get("import_token"):  # not this session's latest preview
            raise uploads.PreviewGone()
        pending = uploads.load(token, account_id=current_user.id)
        read_with = pending.details or {}
        publish = bool(form.publish.data)
        plan = plan_import(pending.items())
        units, unit_versions = kept_plan(read_with.get("units"))
        save_as = read_with.get("source_name")  # the mapping is saved with the import
        apply_import(
            plan, actor=current_user, source=pending.source, publish=publish,
            preview_versions=pending.versions,
            mapping=(save_as, read_with["mapping"]) if save_as else None,
        )  # fmt: skip
        if units is not None:
            apply_units(
                units, actor=current_user, source=pending.source, preview_versions=unit_versions
            )
    except uploads.PreviewGone as gone:
        flash(gone.message)
        return _page(ImportForm(formdata=None)), gone.status
    except (Conflict, StaleDataError):
        # changed since the preview, or by a save that won the race while this one wrote:
        # nothing is kept, and the rows are previewed again over what is there now
        start_over()
        plan = plan_import(pending.items())
        changed = sorted(
            code for code, version in plan.versions.items() if pending.versions.get(code) != version
        )
        units, unit_versions = kept_plan(read_with.get("units"))
        unit_conflicts = sorted(
            name for name, version in (units.versions if units else {}).items()
            if unit_versions.get(name) != version
        )  # fmt: skip
        read_with = _with_units(read_with, units)
        fresh = _keep(pending.rows, plan, pending.source, read_with)
        return _preview(
            plan, fresh, read_with, units, conflicts=changed, unit_conflicts=unit_conflicts
        ), 409
    except SpreadsheetError as exc:
        return _page(ImportForm(formdata=None), problems=exc.problems), 400
    account_id = current_user.id

    def applied() -> None:  # only once committed: a commit that fails leaves it to apply again
        uploads.discard(token, account_id=account_id)
        session.pop("import_token", None)

    after_commit(applied)
    flash(
        f"已导入：新增 {len(plan.new)} 项，修改 {len(plan.changed)} 项。"
        + ("已发布。" if publish else "均在草稿中，请逐项提交审核。")
        + (
            f"办理窗口：新增 {len(units.new)} 个，修改 {len(units.changed)} 个（即时生效）。"
            if units is not None and units.writes
            else ""
        )
    )
    return redirect(url_for("staff.index", drafts=None if publish else "1"))
