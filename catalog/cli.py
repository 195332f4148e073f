"""Flask commands; each works on a fresh database by applying the migrations first. A command
that writes runs in catalog.edge's @command_transaction: it commits when the command returns
and rolls back when it fails; a refusal of the domain is printed with its exit code."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from catalog.accounts import find_user
from catalog.attachment_commands import attachments_group
from catalog.backup.commands import backup_command, restore_command
from catalog.decisions.commands import decisions_group
from catalog.decisions.province import PER_LICENCE as DECISIONS_PER_LICENCE
from catalog.decisions.seed import load_decision_seed
from catalog.domain import DomainError
from catalog.edge import after_commit, command_transaction
from catalog.extensions import db
from catalog.models import Role
from catalog.operations.accounts import create_account, disable_account, reset_password
from catalog.operations.actor import COMMAND_LINE
from catalog.operations.snapshots import create_snapshot
from catalog.operations.synonyms import seed_synonyms
from catalog.province import (
    DEFAULT_SIZE,
    ProvinceError,
    check_size,
    generate_province,
    vacuum,
)
from catalog.report import render_text
from catalog.reports import decisions as report_decisions
from catalog.reports.aggregates import report_sums_group
from catalog.reports.export import report_csv, report_xlsx
from catalog.reports.queries import ReportNotFound, report_source
from catalog.reports.snapshots import list_snapshots
from catalog.revision import bump
from catalog.search import index_is_complete, rebuild_index
from catalog.seeding import load_seed
from catalog.transfer_commands import export_items_command, import_items_command


def ensure_database() -> None:
    """Create or upgrade the schema to the latest migration."""
    upgrade()


@click.command("seed")
@click.option("--force", is_flag=True, help="也覆盖导入后经人工修改过的事项。")
@with_appcontext
@command_transaction
def seed_command(force: bool) -> None:
    """Load the bureau's catalog from seed/ (idempotent)."""
    ensure_database()
    result = load_seed(Path(current_app.config["SEED_DIR"]), force=force)
    decisions = load_decision_seed(Path(current_app.config["SEED_DIR"]))
    if not index_is_complete():
        rebuild_index()
    # the starting synonym list, once (catalog.operations.synonyms.seed_synonyms)
    if synonyms := seed_synonyms(current_app.config["SYNONYMS_FILE"]):
        click.echo(f"已载入同义词 {synonyms} 条（seed/synonyms.yaml）。")
    if not result.changed:
        click.echo(f"种子数据已是最新，未做修改（{len(result.unchanged)} 项未变）。")
    else:
        click.echo(
            f"种子数据已导入：新增 {len(result.created)} 项，更新 {len(result.updated)} 项，"
            f"未变 {len(result.unchanged)} 项。"
        )
    if decisions:
        click.echo(
            f"双公示决定（模拟数据，seed/decisions.yaml）：许可决定 {decisions[0]} 条，"
            f"处罚决定 {decisions[1]} 条。"
        )
    if result.units:
        click.echo(f"办理窗口：写入 {len(result.units)} 个单位（seed/units.yaml）。")
    if result.snapshot:
        click.echo(f"已生成基线快照 {result.snapshot}（2020年公布的改革指标）。")
    if result.overwritten:
        click.echo(f"已按 --force 覆盖人工修改：{'、'.join(result.overwritten)}")
    if result.kept_edits:
        click.echo(
            f"保留了 {len(result.kept_edits)} 项导入后的人工修改（用 --force 覆盖）："
            + "、".join(result.kept_edits)
        )


@click.command("report")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "csv", "xlsx"]),
    default="text",
    show_default=True,
)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="写入文件。")
@click.option("--snapshot", "label", help="快照名称；省略时为当前已发布的目录。")
@click.option("--decisions-year", help="双公示统计的决定年份；省略时为有决定的最近一年。")
@click.option("--decisions-unit", help="双公示统计只计这个数据来源单位；省略时为全部单位。")
@with_appcontext
def report_command(
    output_format: str,
    output: Path | None,
    label: str | None,
    decisions_year: str | None,
    decisions_unit: str | None,
) -> None:
    """Print or write the reform report of the published catalog or of a snapshot, with the
    双公示 section of a year (of every data source unit, or of one), in every format."""
    ensure_database()
    asked = {report_decisions.YEAR_PARAMETER: decisions_year or "",
             report_decisions.UNIT_PARAMETER: decisions_unit or ""}  # fmt: skip
    try:
        selected = report_source(label)
        section = report_decisions.of_source(selected, asked)
    except ReportNotFound as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    except DomainError as exc:
        click.echo(exc.message, err=True)
        sys.exit(1 if exc.status == 404 else 2)
    document = report_decisions.with_section(selected.report, section)
    if document["items"]["total"] == 0 and document["handling_items"]["total"] == 0:
        click.echo("没有可统计的数据：目录中没有已发布的事项（可先运行 seed）。", err=True)
        sys.exit(1)
    if output_format == "xlsx":
        if output is None:
            click.echo("XLSX 须用 --output 指定文件。", err=True)
            sys.exit(2)
        body: str | bytes = report_xlsx(document, selected.rows[1])
    elif output_format == "csv":
        body = report_csv(document)
    elif output_format == "json":
        body = json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    else:
        body = render_text(document) + "\n\n" + report_decisions.section_text(section) + "\n"
    if output is None:
        click.echo(body, nl=False)
        return
    if isinstance(body, str):
        output.write_text(body, encoding="utf-8")
    else:
        output.write_bytes(body)
    click.echo(f"报告已写入 {output}（数据指纹 {document['fingerprint']}）。")


@click.command("generate-province")
@click.option(
    "--handling-items",
    "size",
    type=int,
    default=DEFAULT_SIZE,
    show_default=True,
    help="合成的业务办理项数。",
)
@click.option(
    "--seed",
    "seed_number",
    type=int,
    default=2020,
    show_default=True,
    help="随机数种子：相同的种子生成相同的目录。",
)
@click.option(
    "--decisions-per-licence",
    "per_licence",
    type=click.IntRange(0, 1000),
    default=DECISIONS_PER_LICENCE,
    show_default=True,
    help="每个行政许可业务办理项平均生成的许可决定数（处罚决定按 2020 年比例另生成）；0 为不生成。",
)
@click.option(
    "--decisions-until",
    "until",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="决定日期取该日（YYYY-MM-DD）之前一年内的工作日，处罚决定因此仍在公示期内；默认为种子数据的年份。",
)
@with_appcontext
@command_transaction
def generate_province_command(
    size: int, seed_number: int, per_licence: int, until: datetime | None
) -> None:
    """Build a synthetic province catalog (for benchmarks), deterministic for a seed number."""
    try:
        check_size(size)
    except ProvinceError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    ensure_database()
    started = time.perf_counter()
    loaded = started
    with click.progressbar(length=size, label="生成省级目录", show_pos=True) as bar:
        done = 0

        def advance(written: int) -> None:
            nonlocal done
            bar.update(written - done)
            done = written

        def indexing() -> None:
            nonlocal loaded
            loaded = time.perf_counter()
            click.echo("\n正在建立搜索索引、更新统计信息……")

        counts = generate_province(
            size,
            seed_dir=Path(current_app.config["SEED_DIR"]),
            seed=seed_number,
            decisions_per_licence=per_licence,
            decisions_until=until.date() if until else None,
            progress=advance,
            indexing=indexing,
        )

    def report() -> None:  # after the commit: VACUUM cannot run inside a transaction
        vacuum(db.engine)
        total, writing = time.perf_counter() - started, loaded - started
        rows = sum(counts.values())
        click.echo(
            "已生成："
            + "，".join(f"{table} {count:,}" for table, count in counts.items())
            + f"；共 {rows:,} 行，{total:.1f} 秒（{rows / total:,.0f} 行/秒）："
            + f"写入 {writing:.1f} 秒（{rows / writing:,.0f} 行/秒），"
            + f"建索引、统计与整理 {total - writing:.1f} 秒。"
        )

    after_commit(report)


@click.group("snapshot")
def snapshot_group() -> None:
    """Report snapshots: the published catalog and its report, frozen under a label."""


@snapshot_group.command("create")
@click.option("--label", required=True, help="快照名称，例如 2021-06。")
@click.option("--note", default="", help="说明。")
@with_appcontext
@command_transaction
def snapshot_create_command(label: str, note: str) -> None:
    """Freeze the published catalog and its report (never changed afterwards)."""
    ensure_database()
    snapshot = create_snapshot(label, actor=COMMAND_LINE, note=note)
    report = snapshot.report
    click.echo(
        f"已生成快照 {snapshot.label}：{report['items']['total']} 项审批事项，"
        f"{report['handling_items']['total']} 个业务办理项，数据指纹 {snapshot.fingerprint}。"
    )


@snapshot_group.command("list")
@with_appcontext
def snapshot_list_command() -> None:
    """List the snapshots, oldest first."""
    ensure_database()
    for snapshot in list_snapshots():
        click.echo(
            f"{snapshot.label}\t{snapshot.created_at:%Y-%m-%d %H:%M}\t{snapshot.created_by}"
            f"\t{snapshot.fingerprint}"
        )


@click.command("reindex")
@with_appcontext
@command_transaction
def reindex_command() -> None:
    """Rebuild the search index of every handling item (after upgrading the index's format, or
    changing the catalog's tables by hand) and start a new catalog revision, so that every
    worker's cached searches and report, and the stored report, are computed again."""
    ensure_database()
    count = rebuild_index()
    bump(db.session.connection())
    click.echo(f"搜索索引已重建：{count} 个业务办理项。")


def _read_password() -> str:
    """From a hidden prompt (asked twice) on a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        return click.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码")
    return sys.stdin.readline().rstrip("\r\n")


def _user(username: str):
    user = find_user(username)
    if user is None:
        raise DomainError(f"没有账号 {username}。")
    return user


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@with_appcontext
@command_transaction
def create_user_command(username: str, role: str) -> None:
    """Create a staff account; the password is read from a prompt or stdin, never argv."""
    ensure_database()
    user = create_account(username, _read_password(), role, actor=COMMAND_LINE)
    click.echo(f"已创建账号 {user.username}（{user.role.label}）。")


@click.command("disable-user")
@click.argument("username")
@with_appcontext
@command_transaction
def disable_user_command(username: str) -> None:
    """Disable a staff account and end all of its sessions at once."""
    ensure_database()
    disable_account(_user(username), actor=COMMAND_LINE)
    click.echo(f"账号 {username} 已停用，其所有登录会话已失效。")


@click.command("set-password")
@click.argument("username")
@with_appcontext
@command_transaction
def set_password_command(username: str) -> None:
    """Give an account a new password (from a prompt or stdin); its sessions end."""
    ensure_database()
    user = _user(username)
    reset_password(user, _read_password(), actor=COMMAND_LINE)
    click.echo(f"账号 {user.username} 的密码已修改，其所有登录会话已失效。")


commands = (
    attachments_group,  # flask attachments prune
    seed_command,
    report_command,
    snapshot_group,
    generate_province_command,
    reindex_command,
    report_sums_group,  # flask report-sums rebuild | check
    decisions_group,  # flask decisions report (issue 24)
    create_user_command,
    disable_user_command,
    set_password_command,
    export_items_command,
    import_items_command,
    backup_command,
    restore_command,
)
