"""Staff pages for the handling units' windows (办理窗口): the list of units the items name,
with what each window lacks, and the form that adds or changes one (reviewers and admins)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import HiddenField, StringField, TextAreaField

from catalog.domain import Invalid
from catalog.edge import transaction
from catalog.operations.units import LABELS, UnitConflict, find_unit, save_unit, unit_overview
from catalog.staff.forms import LogoutForm, StaffForm
from catalog.staff.permissions import can_edit, can_publish, requires
from catalog.staff.views import blueprint


class UnitForm(StaffForm):
    """The fields are checked by catalog.operations.units, once for every caller."""

    name = StringField(LABELS["name"])
    address = StringField(LABELS["address"])
    phone = StringField(LABELS["phone"])
    hours = TextAreaField(LABELS["hours"])
    map_url = StringField(LABELS["map_url"])
    notes = TextAreaField(LABELS["notes"])
    reason = TextAreaField("修改原因")
    version = HiddenField()  # the version the editor saw ("" for a unit without a record)


@blueprint.get("/units")
@requires(can_edit)
def units():
    """Every unit the items name and every unit with a window, and what each window lacks."""
    rows = unit_overview()
    return render_template(
        "staff/units.html",
        rows=rows,
        lacking=sum(1 for row in rows if row["lacking"]),
        may_edit=can_publish(current_user),
        logout_form=LogoutForm(),
    )


def _form_page(form: UnitForm, unit, status: int = 200, **context):
    return render_template(
        "staff/unit_form.html",
        form=form,
        unit=unit,
        errors=context.pop("errors", {}),
        logout_form=LogoutForm(),
        **context,
    ), status


@blueprint.route("/units/edit", methods=["GET", "POST"])
@requires(can_publish)
@transaction
def edit_unit():
    """Add or change one unit's window (?name= names the unit); the form carries the version
    it was opened on, and a save over a newer one is refused (409)."""
    if request.method == "GET":
        name = request.args.get("name", "")[:200]
        unit = find_unit(name)
        form = UnitForm(formdata=None, obj=unit, name=name)
        form.version.data = str(unit.version) if unit is not None else ""
        return _form_page(form, unit)
    form = UnitForm()
    if not form.validate_on_submit():  # only the CSRF token is checked here
        return _form_page(form, find_unit(form.name.data), 400, errors=form.errors)
    data = {field: form[field].data for field in ("name", *LABELS) if field in form}
    try:
        unit = save_unit(
            data, actor=current_user, reason=form.reason.data, expected_version=form.version.data
        )
    except Invalid as refusal:
        return _form_page(form, find_unit(form.name.data), 400, errors=refusal.errors)
    except UnitConflict as conflict:
        current = find_unit(conflict.name)
        form.version.data = str(current.version) if current is not None else ""
        return _form_page(form, current, 409, conflict=conflict.message)
    name = (form.name.data or "").strip()
    flash(f"已保存“{name}”的办理窗口。" if unit else f"“{name}”的办理窗口没有变化，未保存。")
    return redirect(url_for("staff.units"))
