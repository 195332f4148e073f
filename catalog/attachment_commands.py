"""flask attachments …: the stored files of materials (空白表格 / 示例样表; catalog.attachments)."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from catalog.attachments import prune, size_label
from catalog.edge import command_transaction, keep_nothing
from catalog.extensions import db
from catalog.models import AttachmentBlob


@click.group("attachments")
def attachments_group() -> None:
    """The files offered beside materials, stored once per content."""


@attachments_group.command("prune")
@click.option("--dry-run", is_flag=True, help="只列出将被删除的文件，不删除。")
@with_appcontext
@command_transaction
def prune_command(dry_run: bool) -> None:
    """Remove the stored files no material and no draft refers to, stored over a day ago (a
    younger one may be an upload whose draft is being saved)."""
    from catalog.cli import ensure_database

    ensure_database()
    sizes = dict(db.session.execute(sa.select(AttachmentBlob.sha256, AttachmentBlob.size)).all())
    removed = prune()
    for digest in removed:
        click.echo(f"{'将删除' if dry_run else '已删除'} {digest}（{size_label(sizes[digest])}）")
    if dry_run:
        keep_nothing()
    freed = size_label(sum(sizes[digest] for digest in removed))
    left = len(sizes) - len(removed)
    verb = "将删除" if dry_run else "已删除"
    click.echo(f"{verb} {len(removed)} 个无引用的文件，共 {freed}；之后保存 {left} 个文件。")
