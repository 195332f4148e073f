"""Pending imports on disk: what is kept, how it comes back, what goes and when."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from catalog import uploads
from catalog.importing import SpreadsheetError, parse_rows, read_file
from catalog.spreadsheets import export_data, to_csv, to_xlsx
from tests.conftest import make_app
from tests.factories import item_data, publish

TOKEN = "A" * 22


@pytest.fixture
def folder(app, tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "IMPORT_PENDING_FOLDER", str(folder))
    return folder


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_the_rows_come_back_as_they_were_parsed_from_a_smaller_file(seeded, db, folder):
    content = to_xlsx(export_data())
    item_csv, material_csv = to_csv(export_data())
    for rows in (
        parse_rows(*read_file("catalog.xlsx", content)),
        parse_rows(*read_file("catalog.csv", item_csv.encode(), material_csv.encode())),
    ):
        token = uploads.keep(uploads.freeze(rows), {"X": "1"}, source="目录.xlsx", account_id=7)
        stored = folder / f"7.{token}.pending"
        assert stored.stat().st_size < len(content)  # not the file, let alone its hex (2x)
        assert stored.stat().st_mode & 0o077 == 0  # the owner's only
        pending = uploads.load(token, account_id=7)
        assert (pending.source, pending.versions) == ("目录.xlsx", {"X": "1"})
        assert pending.items() == rows and pending.items() is not pending.items()
    assert not list(folder.glob("*.tmp"))


def test_rows_beyond_the_byte_bound_are_refused(app, db, folder, monkeypatch):
    publish(db, item_data(code="A"))
    rows = parse_rows(*read_file("catalog.xlsx", to_xlsx(export_data())))
    monkeypatch.setitem(app.config, "IMPORT_PENDING_MAX_BYTES", 100)
    with pytest.raises(SpreadsheetError, match="文件内容过多"):
        uploads.freeze(rows)


@pytest.mark.parametrize("token", ["", "../../secret_key", TOKEN + "/", "A" * 21, "A" * 23])
def test_a_token_that_names_no_preview_is_gone(db, folder, token):
    uploads.keep(uploads.freeze([]), {}, source="x.csv", account_id=1)
    with pytest.raises(uploads.PreviewGone):
        uploads.load(token, account_id=1)


def test_another_accounts_preview_is_gone(db, folder):
    token = uploads.keep(uploads.freeze([]), {}, source="x.csv", account_id=1)
    with pytest.raises(uploads.PreviewGone):
        uploads.load(token, account_id=2)
    assert uploads.load(token, account_id=1).source == "x.csv"


def test_a_stale_preview_is_gone_and_removed_by_the_next_write(db, folder):
    stale = uploads.keep(uploads.freeze([]), {}, source="old.csv", account_id=1)
    age(folder / f"1.{stale}.pending", 3601)
    with pytest.raises(uploads.PreviewGone):
        uploads.load(stale, account_id=1)
    uploads.keep(uploads.freeze([]), {}, source="new.csv", account_id=2)
    assert not (folder / f"1.{stale}.pending").exists()


def test_the_oldest_go_first_beyond_the_quotas(app, db, folder, monkeypatch):
    config = app.config
    monkeypatch.setitem(config, "IMPORT_PENDING_PER_ACCOUNT", 2)

    def keep(account_id: int) -> str:
        return uploads.keep(uploads.freeze([]), {}, source="x.csv", account_id=account_id)

    first, second, third = keep(1), keep(1), keep(1)
    assert sorted(folder.glob("1.*.pending")) == sorted(
        folder / f"1.{token}.pending" for token in (second, third)
    )
    size = (folder / f"1.{third}.pending").stat().st_size
    monkeypatch.setitem(config, "IMPORT_PENDING_TOTAL_BYTES", 3 * size)
    others = [keep(2), keep(3)]  # four would pass the budget: account 1's oldest goes
    kept = {path.name for path in folder.glob("*.pending")}
    assert kept == {f"1.{third}.pending", f"2.{others[0]}.pending", f"3.{others[1]}.pending"}
    assert first not in str(kept)


def test_start_up_removes_stale_previews_and_leftovers(database_url, tmp_path):
    folder = tmp_path / "uploads"
    folder.mkdir()
    fresh, stale = folder / f"1.{TOKEN}.pending", folder / f"2.{TOKEN}.pending"
    leftovers = [folder / ".tmp1234.tmp", folder / "0123abcd.json"]  # a cut write; a hex copy
    for path in (fresh, stale, *leftovers):
        path.write_bytes(b"x" * 100)
    age(stale, 3601)
    age(leftovers[1], 60)
    other = folder / "README.txt"  # not the app's: left alone
    other.write_text("x")
    make_app(database_url, IMPORT_PENDING_FOLDER=str(folder))
    assert sorted(folder.iterdir()) == sorted([fresh, other, folder / ".lock"])


def test_start_up_without_the_folder_creates_nothing(database_url, tmp_path):
    make_app(database_url, IMPORT_PENDING_FOLDER=str(tmp_path / "uploads"))
    assert not (tmp_path / "uploads").exists()
