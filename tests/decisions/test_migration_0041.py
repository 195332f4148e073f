"""Migration 0041 (the audit trail's "export" action: staff exports of full records) on SQLite
and PostgreSQL, as tests/decisions/audit_actions.py says such a migration must behave."""

from __future__ import annotations

from tests.decisions.audit_actions import assert_action_added, assert_downgrade_while_unused
from tests.migrations import app_migrated_to

before_0041 = app_migrated_to("0040")  # the revision before 0041


def test_0041_accepts_export_events_and_keeps_the_trail_append_only(before_0041, caplog):
    assert_action_added(caplog, action="export", revision="0041", previous="0040",
                        kept=("view", "批量导出（CSV）"), code="批量导出（XLSX）")  # fmt: skip


def test_0041_downgrades_while_no_export_was_recorded(before_0041):
    assert_downgrade_while_unused(action="export", revision="0041", previous="0040")
