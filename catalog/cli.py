"""Flask commands; each works on a fresh database by applying the migrations first."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from catalog.accounts import AccountError, create_user, disable_user, find_user
from catalog.extensions import db
from catalog.models import Role
from catalog.report import current_report, render_text
from catalog.search import index_is_complete, rebuild_index
from catalog.seeding import SeedError, load_seed


def ensure_database() -> None:
    """Create or upgrade the schema to the latest migration."""
    upgrade()


@click.command("seed")
@click.option("--force", is_flag=True, help="也覆盖导入后经人工修改过的事项。")
@with_appcontext
def seed_command(force: bool) -> None:
    """Load the bureau's catalog from seed/ (idempotent)."""
    ensure_database()
    try:
        result = load_seed(Path(current_app.config["SEED_DIR"]), force=force)
        if not index_is_complete():
            rebuild_index()
    except SeedError as exc:
        db.session.rollback()
        click.echo(f"种子数据有误，数据库未做任何修改：{exc}", err=True)
        sys.exit(1)
    db.session.commit()
    if not result.changed:
        click.echo(f"种子数据已是最新，未做修改（{len(result.unchanged)} 项未变）。")
    else:
        click.echo(
            f"种子数据已导入：新增 {len(result.created)} 项，更新 {len(result.updated)} 项，"
            f"未变 {len(result.unchanged)} 项。"
        )
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
    type=click.Choice(["json", "text"]),
    default="text",
    show_default=True,
)
@with_appcontext
def report_command(output_format: str) -> None:
    """Print the reform report of the published catalog."""
    ensure_database()
    figures, document = current_report()
    if figures.is_empty:
        click.echo("没有可统计的数据：目录中没有已发布的事项（可先运行 seed）。", err=True)
        sys.exit(1)
    if output_format == "json":
        click.echo(json.dumps(document, ensure_ascii=False, indent=1))
    else:
        click.echo(render_text(document))


@click.command("reindex")
@with_appcontext
def reindex_command() -> None:
    """Rebuild the search index of every handling item (after upgrading the index's format)."""
    ensure_database()
    count = rebuild_index()
    db.session.commit()
    click.echo(f"搜索索引已重建：{count} 个业务办理项。")


def _read_password() -> str:
    """From a hidden prompt (asked twice) on a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        return click.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码")
    return sys.stdin.readline().rstrip("\r\n")


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@with_appcontext
def create_user_command(username: str, role: str) -> None:
    """Create a staff account; the password is read from a prompt or stdin, never argv."""
    ensure_database()
    try:
        user = create_user(username, _read_password(), role)
    except AccountError as exc:
        db.session.rollback()
        click.echo(f"未创建账号：{exc}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"已创建账号 {user.username}（{user.role.label}）。")


@click.command("disable-user")
@click.argument("username")
@with_appcontext
def disable_user_command(username: str) -> None:
    """Disable a staff account and end all of its sessions at once."""
    ensure_database()
    user = find_user(username)
    if user is None:
        click.echo(f"没有账号 {username}。", err=True)
        sys.exit(1)
    disable_user(user)
    db.session.commit()
    click.echo(f"账号 {user.username} 已停用，其所有登录会话已失效。")


commands = (
    seed_command,
    report_command,
    reindex_command,
    create_user_command,
    disable_user_command,
)
