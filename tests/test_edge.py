"""One transaction edge: nothing but catalog.edge commits or rolls back, every staff view that
writes and every command that writes goes through it, and it answers refusals clearly."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import sqlalchemy as sa

from catalog.cli import commands
from catalog.models import ApprovalItem, AuditEvent
from tests.conftest import PROJECT_ROOT

CATALOG = PROJECT_ROOT / "catalog"
# The edge itself, and the error handler that rolls back a request whose database went away
# (the request's transaction is lost anyway; the handler answers 503 without it).
MAY_END_TRANSACTIONS = {CATALOG / "edge.py", CATALOG / "errors.py"}
READ_ONLY_COMMANDS = {
    "report",
    "export-items",
    "backup",
    "restore",
    "snapshot list",
    "report-sums check",
    "decisions report",
    "decisions sums check",
}


def transaction_calls(path: Path) -> list[str]:
    """Every `.commit()` and `.rollback()` call in a module, as "path:line .commit()"."""
    return [
        f"{path.name}:{node.lineno} .{node.func.attr}()"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("commit", "rollback")
    ]


def test_nothing_but_the_edge_commits_or_rolls_back():
    found = [
        call
        for path in sorted(CATALOG.rglob("*.py"))
        if path not in MAY_END_TRANSACTIONS
        for call in transaction_calls(path)
    ]
    assert found == [], "commit/rollback outside catalog/edge.py: " + ", ".join(found)


def test_the_scan_sees_a_commit(tmp_path):
    """The meta-test above would notice a view or a command that commits by itself."""
    sample = tmp_path / "sample.py"
    sample.write_text("def save(db):\n    db.session.add(1)\n    db.session.commit()\n")
    assert transaction_calls(sample) == ["sample.py:3 .commit()"]


def test_every_staff_view_that_writes_runs_in_the_edge(app):
    missing = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/staff")
        and rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
        and not getattr(app.view_functions[rule.endpoint], "transaction", False)
    ]
    assert missing == []


def _commands(group=None, prefix=""):
    for command in commands if group is None else group.commands.values():
        name = f"{prefix}{command.name}"
        if hasattr(command, "commands"):  # a group: its subcommands (and theirs)
            yield from _commands(command, f"{name} ")
        else:
            yield name, command


@pytest.mark.parametrize(("name", "command"), list(_commands()), ids=lambda c: str(c))
def test_every_command_that_writes_runs_in_the_edge(name, command):
    if name in READ_ONLY_COMMANDS:
        return
    assert getattr(command.callback, "transaction", False), name


def test_a_refused_command_says_so_and_writes_nothing(cli, seeded, db, tmp_path):
    broken = tmp_path / "items.csv"
    broken.write_text("事项编码\nX\n", encoding="utf-8")
    before = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    result = cli.invoke(args=["import-items", str(broken)])
    assert result.exit_code == 1
    assert "无法导入" in result.output and "数据库未做任何修改" in result.output
    assert "Traceback" not in result.output
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == before


def test_a_dry_run_writes_nothing(cli, seeded, db, tmp_path):
    exported = tmp_path / "all.xlsx"
    assert cli.invoke(args=["export-items", "--output", str(exported)]).exit_code == 0
    count = db.session.scalar(sa.select(sa.func.count(ApprovalItem.id)))
    result = cli.invoke(args=["import-items", str(exported), "--dry-run"])
    assert result.exit_code == 0 and "未写入" in result.output
    assert db.session.scalar(sa.select(sa.func.count(ApprovalItem.id))) == count
