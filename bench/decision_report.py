"""The 双公示 report at province scale, part of the decision stage of `make bench`: with the
decision catalog's app serving (about 1,577,000 decisions), one decision is changed through the
staff service and the report is asked for at once, as an auditor meets it after an edit; then
two snapshots (which freeze the decision figures of every year and unit) and their comparison.

The report is not cached: every request reads the kept sums (catalog.decisions.sums), so the
request after a change is the one measured, judged against issue 22's limits for the report
after a change (1 s), snapshot creation (30 s) and comparison (2 s).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bench.servers import SECRET, Client

EDIT_REASON = "基准测试：修改一条处罚决定的罚款金额"


def report_paths(year: int) -> dict[str, str]:
    """What is asked after each change: the report page and its JSON twin, of `year`."""
    return {
        "page": f"/reports?decisions_year={year}",
        "api": f"/api/v1/report?decisions_year={year}",
    }


class DecisionEditor:
    """The app in the bench's process, to change one decision as staff do: the first penalty
    of `year` with a fine has its fine moved by 0.0001 万元 either way (the kept sums move with
    it), through the service, committed as a command commits. `publish_edit` is the name the
    snapshot round calls between its two snapshots."""

    def __init__(self, database_url: str, year: int):
        from catalog import create_app

        self.year = year
        self.app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET})

    def publish_edit(self) -> str:
        """Change the fine of one penalty decision and commit; its document number."""
        import sqlalchemy as sa

        from catalog.decisions import operations
        from catalog.edge import command_transaction
        from catalog.extensions import db
        from catalog.models import PenaltyDecision

        @command_transaction
        def edit() -> str:
            penalty = db.session.scalars(
                sa.select(PenaltyDecision)
                .where(PenaltyDecision.decided_on >= date(self.year, 1, 1),
                       PenaltyDecision.decided_on <= date(self.year, 12, 31),
                       PenaltyDecision.fine_amount > Decimal("0.0001"))
                .order_by(PenaltyDecision.id)
                .limit(1)
            ).one()  # fmt: skip
            values = operations.record_data(penalty)
            step = Decimal("0.0001")
            fine = values["fine_amount"]
            values["fine_amount"] = fine - step if int(fine * 10_000) % 2 else fine + step
            operations.update_penalty(penalty, values, expected_version=penalty.version,
                                      actor="bench", reason=EDIT_REASON)  # fmt: skip
            return penalty.document_number

        with self.app.app_context():
            try:
                return edit()
            finally:
                db.session.remove()
                db.engine.dispose()


def after_change(port: int, editor: DecisionEditor, times: int) -> dict:
    """`times` rounds of: change one decision, then the first report page; change one, then
    the first GET /api/v1/report. Each path is asked once before, untimed (the worker's first
    request of it)."""
    paths = report_paths(editor.year)
    client = Client(port)
    timed: dict[str, list[float]] = {name: [] for name in paths}
    errors = 0
    try:
        for path in paths.values():
            errors += client.get(path)[1]
        for _round in range(times):
            for name, path in paths.items():
                editor.publish_edit()
                elapsed, failed = client.get(path)
                timed[name].append(round(elapsed, 1))
                errors += failed
    finally:
        client.close()
    return {"page_ms": timed["page"], "api_ms": timed["api"], "errors": errors}
