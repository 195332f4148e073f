"""Staff pages of the 双公示 import: the blank template of each kind, an upload with its
preview (every problem by row and column, nothing written), and the all-or-nothing apply of
the previewed records (catalog.decisions.importing). The preview's records wait in
catalog.uploads, with the item import's quotas; the browser holds only their token."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, render_template, session, url_for
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from catalog import uploads
from catalog.decisions import importing
from catalog.decisions.columns import COLUMNS, KIND_LABELS, LICENCE, PENALTY
from catalog.decisions.template import template_xlsx
from catalog.domain import Conflict
from catalog.edge import after_commit, keep_nothing, start_over, transaction
from catalog.extensions import limiter
from catalog.import_headers import other_spellings
from catalog.spreadsheet_reading import MAX_ROWS, MAX_UPLOAD_BYTES, SpreadsheetError
from catalog.staff.decision_forms import DecisionApplyForm, DecisionImportForm
from catalog.staff.forms import LogoutForm
from catalog.staff.permissions import can_edit, requires
from catalog.staff.transfer import XLSX, _uploader
from catalog.staff.views import blueprint

TOKEN = "decision_import_token"
KIND_PREFIX = "decisions-"  # an upload's kind in catalog.uploads
SHOWN_RECORDS = 200


@blueprint.get("/decisions/template-<any(licence, penalty):kind>.xlsx")
@requires(can_edit)
def decision_template(kind: str):
    """A blank 双公示 template of the kind, with drop-down lists and 填写说明."""
    filename = "licence-template.xlsx" if kind == LICENCE else "penalty-template.xlsx"
    return Response(
        template_xlsx(kind),
        mimetype=XLSX,
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


def _page(form, **context):
    return render_template(
        "staff/decision_import.html", form=form, kinds=KIND_LABELS,
        required={kind: [c.header for c in COLUMNS[kind] if c.required] for kind in COLUMNS},
        aliases={kind: other_spellings(kind) for kind in COLUMNS},
        max_mb=MAX_UPLOAD_BYTES // 1024 // 1024, max_rows=MAX_ROWS, shown=SHOWN_RECORDS,
        logout_form=LogoutForm(), **context,
    )  # fmt: skip


@blueprint.route("/decisions/import", methods=["GET", "POST"])
@requires(can_edit)
@limiter.limit(
    lambda: current_app.config["IMPORT_UPLOAD_LIMIT"], methods=["POST"], key_func=_uploader
)
@transaction
def decision_import():
    """Upload a 双公示 file and see what importing it would write; nothing is written yet."""
    keep_nothing()  # a preview writes nothing
    form = DecisionImportForm()
    if not form.validate_on_submit():
        return _page(form), 400 if form.is_submitted() else 200
    kind, source = form.kind.data, form.file_name
    content = form.file.data.read(MAX_UPLOAD_BYTES + 1)
    try:
        sheet, records = importing.read(kind, source, content)
        result = importing.preview(kind, sheet, records)
        if result.problems:
            return _page(form, kind=kind, problems=result.problems), 400
        frozen = importing.freeze(result) if result.writes else None
    except SpreadsheetError as exc:
        return _page(form, kind=kind, problems=exc.problems), 400
    uploads.discard(session.pop(TOKEN, None), account_id=current_user.id)
    if frozen is None:  # every row is a record as it is: nothing to apply
        return _page(form, kind=kind, preview=result, source=source)
    token = uploads.keep(
        frozen, {}, source=source, account_id=current_user.id, kind=KIND_PREFIX + kind
    )
    session[TOKEN] = token
    return _page(
        form, kind=kind, preview=result, source=source,
        apply_form=DecisionApplyForm(formdata=None, token=token),
    )  # fmt: skip


@blueprint.post("/decisions/import/apply")
@requires(can_edit)
@transaction
def decision_import_apply():
    """Write what the preview showed, all or nothing: new records and updates; refused (409,
    nothing written) when the data changed since the preview."""
    form = DecisionApplyForm()
    token = form.token.data or ""
    if not form.validate_on_submit() or not token:
        abort(400)
    try:
        if token != session.get(TOKEN):  # not this session's latest preview
            raise uploads.PreviewGone()
        pending = uploads.load(token, account_id=current_user.id)
        if pending.kind.removeprefix(KIND_PREFIX) not in (LICENCE, PENALTY):
            raise uploads.PreviewGone()
        try:
            result = importing.thaw(pending.rows)
        except (ValueError, KeyError, TypeError, OSError) as broken:
            raise uploads.PreviewGone() from broken
        created, updated = importing.apply(result, actor=current_user, source=pending.source)
    except uploads.PreviewGone as gone:
        flash(gone.message)
        return _page(DecisionImportForm(formdata=None)), gone.status
    except (Conflict, StaleDataError) as refusal:
        start_over()  # nothing of this apply is kept
        message = getattr(refusal, "message", None) or importing.RecordsChanged([]).message
        return _page(DecisionImportForm(formdata=None), conflict=message), 409
    account_id = current_user.id

    def applied() -> None:  # only once committed
        uploads.discard(token, account_id=account_id)
        session.pop(TOKEN, None)

    after_commit(applied)
    flash(
        f"已导入{KIND_LABELS[result.kind]}（来自 {pending.source}）：新增 {created} 条，"
        f"修改 {updated} 条。"
    )
    return redirect(url_for("staff.decisions", kind=result.kind))
