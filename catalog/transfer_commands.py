"""flask export-items / import-items: the catalog as the spreadsheets staff exchange, the same
files the staff pages export and import (catalog.spreadsheets, catalog.importing, and the
办理窗口 sheet: catalog.unit_transfer)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_migrate import upgrade as ensure_database  # as every command: the latest schema

from catalog.domain import DomainError
from catalog.edge import command_transaction, keep_nothing
from catalog.elements import describe
from catalog.import_headers import read_mapping
from catalog.importing import SpreadsheetError, parse_rows, plan_import, read_file
from catalog.operations.actor import COMMAND_LINE
from catalog.operations.imports import apply_import
from catalog.operations.units import all_units, unit_data
from catalog.spreadsheet_reading import UNKNOWN_HEADER
from catalog.spreadsheets import export_data, to_csv, to_xlsx
from catalog.unit_transfer import apply_units, read_units, sheet_plan


@click.command("export-items")
@click.option(
    "--output",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="xlsx 文件；或 .csv（材料另存为 同名-materials.csv）。",
)
@with_appcontext
def export_items_command(output: Path) -> None:
    """Export every item (its draft where there is one) in the import format."""
    ensure_database()
    items = export_data()
    if output.suffix.lower() == ".csv":  # the items and their materials; no FAQ, no windows
        rows_csv, materials_csv = to_csv(items)
        output.write_text(rows_csv, encoding="utf-8")
        materials_path = output.with_name(output.stem + "-materials.csv")
        materials_path.write_text(materials_csv, encoding="utf-8")
        click.echo(f"已导出 {len(items)} 个事项：{output}、{materials_path}")
    else:
        units = [unit_data(unit) for unit in all_units()]
        output.write_bytes(to_xlsx(items, units))
        click.echo(f"已导出 {len(items)} 个事项和 {len(units)} 个单位的办理窗口：{output}")


@click.command("import-items")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--materials",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV 导入时的申请材料文件。",
)
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="表头映射（YAML，每行“表头: 字段”或“表头: ignore”），"
    "用于 seed/import_headers.yaml 不认识的表头。",
)
@click.option("--dry-run", is_flag=True, help="只预览，不写入。")
@click.option("--publish", is_flag=True, help="直接发布（否则新事项为草稿、修改进入待审核草稿）。")
@with_appcontext
@command_transaction
def import_items_command(
    path: Path, materials: Path | None, mapping: Path | None, dry_run: bool, publish: bool
) -> None:
    """Import items from an xlsx or CSV file: a preview, then all or nothing. Headers are
    recognised as bureaus write them (seed/import_headers.yaml); --mapping places the rest.
    Only the columns the ratios read are required; each item's missing elements are listed.
    An xlsx's 办理窗口 sheet, when it has one, is applied with the items (catalog.unit_transfer)."""
    ensure_database()
    try:
        placed = read_mapping(mapping.read_text(encoding="utf-8")) if mapping else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise DomainError(f"无法读取映射文件 {mapping.name}：{exc}") from None
    content = path.read_bytes()
    material_content = materials.read_bytes() if materials else None
    try:
        tables = read_file(path.name, content, material_content, placed)
        plan = plan_import(parse_rows(*tables))
        units = sheet_plan(read_units(path.name, content))
    except SpreadsheetError as exc:
        lines = "\n".join(f"  {problem}" for problem in exc.problems[:200])
        # the whole header, as a mapping file must name it (the problem shows 30 characters)
        unplaced = [
            getattr(p, "header", None) or p.column
            for p in exc.problems
            if p.message == UNKNOWN_HEADER
        ]
        hint = (
            f"无法对应的表头：{'、'.join(unplaced)}。请用 --mapping 指定映射文件"
            "（每行“表头: 字段”或“表头: ignore”，见 docs/import.md）。\n"
            if unplaced
            else ""
        )
        raise DomainError(f"无法导入（{len(exc.problems)} 处问题）：\n{lines}\n{hint}") from None
    click.echo(
        f"新增 {len(plan.new)} 项，修改 {len(plan.changed)} 项，未变 {len(plan.unchanged)} 项。"
    )
    for parsed, _canonical, changes in plan.changed:
        click.echo(
            f"  修改 {parsed.code}："
            + "；".join(f"{field} {old} → {new}" for field, (old, new) in changes.items())
        )
    for parsed, *_rest in [*plan.new, *plan.changed]:
        gaps = plan.gaps[parsed.code]
        if not gaps.complete:  # listed, not refused: the item imports and may be published
            click.echo(f"  要素缺失 {parsed.code}：{describe(gaps)}")
    for line in plan.notes:
        click.echo(f"  已换算：{line}")
    for line in plan.warnings:
        click.echo(f"  政策提示：{line}")
    if units is not None:
        click.echo(
            f"办理窗口：新增 {len(units.new)} 个，修改 {len(units.changed)} 个，"
            f"未变 {len(units.unchanged)} 个。"
        )
    if dry_run:
        keep_nothing()
        click.echo("预览完毕（--dry-run），未写入。")
        return
    apply_import(plan, actor=COMMAND_LINE, source=path.name, publish=publish)
    if units is not None:
        apply_units(units, actor=COMMAND_LINE, source=path.name, preview_versions=units.versions)
    click.echo(
        "已导入并发布。" if publish else "已导入：新事项和修改都在草稿中，须提交审核、发布后公开。"
    )
