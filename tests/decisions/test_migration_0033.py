"""Migration 0033 (the audit trail's "view" action: who opened a decision record) on SQLite
and PostgreSQL, as tests/decisions/audit_actions.py says such a migration must behave."""

from __future__ import annotations

from tests.decisions.audit_actions import assert_action_added, assert_downgrade_while_unused
from tests.migrations import app_migrated_to

before_0033 = app_migrated_to("0029")  # the revision before 0033


def test_0033_accepts_view_events_and_keeps_the_trail_append_only(before_0033, caplog):
    assert_action_added(caplog, action="view", revision="0033", previous="0029",
                        kept=("publish", "K-1"), code="许交执罚〔2020〕1号")  # fmt: skip


def test_0033_downgrades_while_no_view_was_recorded(before_0033):
    assert_downgrade_while_unused(action="view", revision="0033", previous="0029")
