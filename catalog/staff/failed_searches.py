"""The public searches that found nothing, most frequent first over a chosen period, each with
a form to add a synonym for it and a way to dismiss it (catalog.operations.synonyms)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import HiddenField

from catalog.domain import DomainError, Invalid
from catalog.edge import transaction
from catalog.operations.synonyms import add_synonym, dismiss_failed
from catalog.search.failed import most_failed
from catalog.staff.forms import LogoutForm, StaffForm
from catalog.staff.permissions import can_edit, requires
from catalog.staff.synonyms import REASON, SynonymForm
from catalog.staff.views import blueprint

PERIODS = {"7": "最近 7 天", "30": "最近 30 天", "90": "最近 90 天"}
DEFAULT_PERIOD = "30"


class DismissForm(StaffForm):
    text = HiddenField()
    reason = REASON


def _period(raw: str | None) -> str:
    raw = raw or DEFAULT_PERIOD
    if raw not in PERIODS:
        raise DomainError(f"统计期间无效：只能是 {'、'.join(PERIODS)} 天之一。")
    return raw


def _page(period: str, *, failed_form: SynonymForm | None = None, status: int = 200):
    return render_template(
        "staff/failed_searches.html", period=period, periods=PERIODS,
        rows=most_failed(int(period)), failed_form=failed_form, form_class=SynonymForm,
        dismiss_form=DismissForm(), logout_form=LogoutForm(),
    ), status  # fmt: skip


@blueprint.get("/failed-searches")
@requires(can_edit)
def failed_searches():
    """The texts that found nothing most often in the period (?days=7|30|90)."""
    return _page(_period(request.args.get("days")))


@blueprint.post("/failed-searches/synonym")
@requires(can_edit)
@transaction
def failed_search_synonym():
    """Add a synonym for a failed text (the term may be edited to one word of it)."""
    period = _period(request.args.get("days"))
    form = SynonymForm()
    if form.validate_on_submit():
        try:
            synonym = add_synonym(form.term.data, form.target.data, actor=current_user,
                                  reason=form.reason.data or "未找到结果的搜索")  # fmt: skip
        except Invalid as exc:
            for name, messages in exc.errors.items():
                getattr(form, name).errors = [*getattr(form, name).errors, *messages]
        else:  # the failed text is handled: off the list (audited too)
            dismiss_failed(request.form.get("text", ""), actor=current_user,
                           reason=f"已添加同义词“{synonym.term}”→“{synonym.target}”")  # fmt: skip
            flash(f"已添加同义词“{synonym.term}”→“{synonym.target}”，搜索立即生效。")
            return redirect(url_for("staff.failed_searches", days=period))
    return _page(period, failed_form=form, status=400)


@blueprint.post("/failed-searches/dismiss")
@requires(can_edit)
@transaction
def dismiss_failed_search():
    """Forget a failed text's counts (it has been looked at); audited."""
    period = _period(request.args.get("days"))
    form = DismissForm()
    if not form.validate_on_submit() or not form.text.data:
        raise DomainError("未忽略：没有指明要忽略的搜索词。")
    if dismiss_failed(form.text.data, actor=current_user, reason=form.reason.data or None):
        flash(f"已忽略“{form.text.data[:50]}”。")
    else:
        flash(f"“{form.text.data[:50]}”已不在列表中（可能已被他人处理）。")
    return redirect(url_for("staff.failed_searches", days=period))
