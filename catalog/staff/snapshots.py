"""Taking a report snapshot from the staff pages (reviewers and admins)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from catalog.edge import transaction
from catalog.operations.snapshots import create_snapshot
from catalog.reports.snapshots import SnapshotError, list_snapshots
from catalog.staff.forms import LogoutForm, SnapshotForm
from catalog.staff.permissions import can_publish, requires
from catalog.staff.views import blueprint


@blueprint.route("/snapshots", methods=["GET", "POST"])
@requires(can_publish)
@transaction
def snapshots():
    """List the snapshots and freeze the published catalog and its report under a new label."""
    form = SnapshotForm()
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            try:
                snapshot = create_snapshot(form.label.data, actor=current_user, note=form.note.data)
            except SnapshotError as exc:
                form.label.errors.append(exc.message)
            else:
                flash(f"已生成快照 {snapshot.label}。快照创建后不可修改。")
                return redirect(url_for("reports.report", snapshot=snapshot.label))
    return render_template(
        "staff/snapshots.html", form=form, snapshots=list_snapshots(), logout_form=LogoutForm()
    ), status
