"""The synonym list on the staff pages: list, add, edit, delete, download and upload (with a
preview, applied all or nothing). Every change goes through catalog.operations.synonyms."""

from __future__ import annotations

import hashlib
import json
import re

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, StringField
from wtforms.validators import Length

from catalog.domain import Conflict, DomainError, Invalid
from catalog.edge import keep_nothing, transaction
from catalog.extensions import db
from catalog.models import Synonym
from catalog.operations.synonyms import (
    MAX_SYNONYMS,
    add_synonym,
    change_synonym,
    delete_synonym,
    plan_replacement,
    replace_synonyms,
    stored_pairs,
)
from catalog.schemas import has_control_characters
from catalog.search.synonym_file import SynonymFileError, read_csv, to_csv
from catalog.staff.forms import LogoutForm, StaffForm, plain_file_name
from catalog.staff.permissions import can_edit, requires
from catalog.staff.views import blueprint

REASON = StringField("原因（可选，记入审计记录）", validators=[Length(max=500)])


class SynonymForm(StaffForm):
    term = StringField("搜索词（群众输入的词）")
    target = StringField("对应的词（已有的事项名称或其中的词）")
    reason = REASON


class SynonymEditForm(SynonymForm):
    version = HiddenField()


class SynonymDeleteForm(StaffForm):
    version = HiddenField()
    reason = REASON


class SynonymUploadForm(StaffForm):
    file = FileField(
        "同义词文件（CSV，表头：搜索词,对应的词）",
        validators=[FileRequired("请选择文件。"), plain_file_name],
    )


class SynonymApplyForm(StaffForm):
    rows = HiddenField()
    list_digest = HiddenField()
    source = HiddenField()


def _errors_into(form: StaffForm, invalid: Invalid) -> None:
    for name, messages in invalid.errors.items():
        getattr(form, name).errors = [*getattr(form, name).errors, *messages]


def _synonym_or_404(synonym_id: int) -> Synonym:
    return db.session.get(Synonym, synonym_id) or abort(404)


def list_digest() -> str:
    """The stored list as the preview saw it: an upload applies only to the same list."""
    canonical = json.dumps(sorted(stored_pairs()), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _page(form: SynonymForm, status: int = 200):
    synonyms = db.session.scalars(sa.select(Synonym).order_by(Synonym.term, Synonym.id)).all()
    return render_template(
        "staff/synonyms.html", form=form, synonyms=synonyms, upload_form=SynonymUploadForm(),
        delete_form=SynonymDeleteForm(), limit=MAX_SYNONYMS, logout_form=LogoutForm(),
    ), status  # fmt: skip


@blueprint.route("/synonyms", methods=["GET", "POST"])
@requires(can_edit)
@transaction
def synonyms():
    """The synonym list and a form to add one."""
    form = SynonymForm()
    if request.method == "GET":
        return _page(form)
    if form.validate_on_submit():
        try:
            synonym = add_synonym(form.term.data, form.target.data, actor=current_user,
                                  reason=form.reason.data or None)  # fmt: skip
        except Invalid as exc:
            _errors_into(form, exc)
        else:
            flash(f"已添加同义词“{synonym.term}”→“{synonym.target}”，搜索立即生效。")
            return redirect(url_for("staff.synonyms"))
    return _page(form, 400)


@blueprint.route("/synonyms/<int:synonym_id>/edit", methods=["GET", "POST"])
@requires(can_edit)
@transaction
def edit_synonym(synonym_id: int):
    """Change one synonym; the form carries the version it was opened at."""
    synonym = _synonym_or_404(synonym_id)
    form = SynonymEditForm(obj=synonym if request.method == "GET" else None)
    if request.method == "GET":
        form.version.data = synonym.version
        form.reason.data = ""
        return render_template("staff/synonym_edit.html", form=form, synonym=synonym,
                               logout_form=LogoutForm())  # fmt: skip
    if form.validate_on_submit():
        try:
            changes = change_synonym(synonym, form.term.data, form.target.data,
                                     version=form.version.data, actor=current_user,
                                     reason=form.reason.data or None)  # fmt: skip
        except Invalid as exc:
            _errors_into(form, exc)
        else:
            flash("已保存，搜索立即生效。" if changes else "没有修改。")
            return redirect(url_for("staff.synonyms"))
    return render_template("staff/synonym_edit.html", form=form, synonym=synonym,
                           logout_form=LogoutForm()), 400  # fmt: skip


@blueprint.post("/synonyms/<int:synonym_id>/delete")
@requires(can_edit)
@transaction
def remove_synonym(synonym_id: int):
    """Delete one synonym seen at the version the list showed."""
    synonym = _synonym_or_404(synonym_id)
    form = SynonymDeleteForm()
    if not form.validate_on_submit():
        raise DomainError("未删除：" + " ".join(m for field in form for m in field.errors))
    term, target = synonym.term, synonym.target
    delete_synonym(synonym, version=form.version.data, actor=current_user,
                   reason=form.reason.data or None)  # fmt: skip
    flash(f"已删除同义词“{term}”→“{target}”。")
    return redirect(url_for("staff.synonyms"))


@blueprint.get("/synonyms.csv")
@requires(can_edit)
def export_synonyms():
    """The whole list as CSV, in the format the upload reads."""
    pairs = sorted(stored_pairs())
    disposition = {"Content-Disposition": "attachment; filename=synonyms.csv"}
    return Response(to_csv(pairs), mimetype="text/csv", headers=disposition)


def _preview(plan, *, source: str, form: SynonymApplyForm | None = None, status: int = 200):
    return render_template(
        "staff/synonym_import.html", plan=plan, source=source, form=form,
        logout_form=LogoutForm(),
    ), status  # fmt: skip


@blueprint.post("/synonyms/import")
@requires(can_edit)
@transaction
def import_synonyms():
    """Read an uploaded list and show what applying it would do (it replaces the list)."""
    keep_nothing()  # a preview writes nothing
    form = SynonymUploadForm()
    if not form.validate_on_submit():
        messages = [m for field in form for m in field.errors] or ["请选择文件。"]
        flash("未读取文件：" + " ".join(messages))
        return _page(SynonymForm(), 400)
    source = re.split(r"[\\/]", form.file.data.filename or "")[-1].strip()[:100] or "synonyms.csv"
    try:
        rows = read_csv(form.file.data.read(256 * 1024 + 1))
    except SynonymFileError as exc:
        flash(f"未读取文件：{exc.message}")
        return _page(SynonymForm(), 400)
    plan = plan_replacement(rows)
    if plan.errors:
        return _preview(plan, source=source, status=400)
    apply = SynonymApplyForm(formdata=None, list_digest=list_digest(), source=source,
                             rows=json.dumps(rows, ensure_ascii=False))  # fmt: skip
    return _preview(plan, source=source, form=apply)


def _posted_rows(raw: str) -> list[tuple[int, str, str]]:
    """The rows a preview carried, as read_csv made them; 400 for anything else."""
    try:
        if len(raw) > 1024 * 1024:
            raise ValueError
        rows = json.loads(raw)
        if not isinstance(rows, list) or not 0 < len(rows) <= MAX_SYNONYMS + 1:
            raise ValueError
        return [(int(n), str(t)[:200], str(g)[:200]) for n, t, g in rows]
    except (ValueError, TypeError, RecursionError):
        raise DomainError("预览内容无效，请重新上传文件。") from None


@blueprint.post("/synonyms/import/apply")
@requires(can_edit)
@transaction
def apply_synonyms():
    """Replace the list with the previewed upload, all or nothing, if nobody changed it since."""
    form = SynonymApplyForm()
    if not form.validate_on_submit() or not form.rows.data:
        raise DomainError("没有可导入的内容，请重新上传文件。")
    rows = _posted_rows(form.rows.data)
    if form.list_digest.data != list_digest():
        raise Conflict("预览之后同义词列表已被他人修改，本次未导入；请重新上传文件查看预览。")
    source = (form.source.data or "")[:100]
    if not source or has_control_characters(source):
        source = "synonyms.csv"
    plan = replace_synonyms(rows, actor=current_user, source=source)
    flash(f"已导入：新增 {len(plan.added)} 条，删除 {len(plan.removed)} 条，"
          f"未变 {plan.unchanged} 条。搜索立即生效。")  # fmt: skip
    return redirect(url_for("staff.synonyms"))
