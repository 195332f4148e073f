"""`flask decisions report --year 2020 [--unit 单位] [--format text|json]`: the 双公示 figures of a
year, of every data source unit or of one."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext
from flask_migrate import upgrade

from catalog.decisions.report import decision_report, is_unit, no_such_unit, unit_value
from catalog.decisions.report_text import render_text
from catalog.decisions.sums import sums_group
from catalog.domain import DomainError


@click.group("decisions")
def decisions_group() -> None:
    """双公示 decision records (issue 24)."""


@decisions_group.command("report")
@click.option("--year", type=click.IntRange(1990, 2100), required=True, help="决定日期所在年份。")
@click.option("--unit", help="数据来源单位；省略时为全部单位。")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@with_appcontext
def decisions_report_command(year: int, unit: str | None, output_format: str) -> None:
    """Print the year's licence and penalty figures (read only)."""
    upgrade()  # a fresh database is migrated first, as every command does
    try:
        unit = unit_value(unit)
        if unit is not None and not is_unit(unit):
            raise no_such_unit(unit)
    except DomainError as refusal:
        click.echo(refusal.message, err=True)
        sys.exit(1 if refusal.status == 404 else 2)
    document = decision_report(year, unit)
    if document["licence"]["total"] == 0 and document["penalty"]["total"] == 0 and unit is None:
        click.echo(f"没有可统计的数据：{year}年没有许可或处罚决定（可先运行 seed）。", err=True)
        sys.exit(1)
    if output_format == "json":
        click.echo(json.dumps(document, ensure_ascii=False, indent=1))
    else:
        click.echo(render_text(document))


decisions_group.add_command(sums_group)  # flask decisions sums rebuild | check
