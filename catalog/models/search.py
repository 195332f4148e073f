"""The search index's table: what search reads for each handling item (catalog.search)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.extensions import db

if TYPE_CHECKING:
    from catalog.models.catalog import HandlingItem


_ID = "handling_item_id"


class SearchEntry(db.Model):
    """What search reads for one handling item; rewritten by the services on every change."""

    __tablename__ = "search_entry"
    # the search frame reads the distinct spellings with their ids from the first alone (0008,
    # the id included on PostgreSQL by 0023); the ranking's pinyin prefix reads the second (0009)
    __table_args__ = (
        sa.Index("ix_search_entry_spelling", "initials", "pinyin", postgresql_include=[_ID]),
        sa.Index("ix_search_entry_pinyin", "pinyin"),
        # the search frame reads every entry's common bits from this index alone (0010)
        sa.Index("ix_search_entry_common", "handling_item_id", "common"),
    )

    handling_item_id: Mapped[int] = mapped_column(
        sa.ForeignKey("handling_item.id", ondelete="CASCADE"), primary_key=True
    )
    item_name: Mapped[str] = mapped_column(sa.String(200), index=True)  # for ranking
    name: Mapped[str] = mapped_column(sa.String(320))  # item name and situation
    body: Mapped[str] = mapped_column(sa.Text)  # materials, legal bases, result, codes
    pinyin: Mapped[str] = mapped_column(sa.String(1200))  # of the item name, lowercase
    initials: Mapped[str] = mapped_column(sa.String(200))
    # which of the most common characters and pairs (search.common) the name and the body
    # without its codes have, as bits (the characters and pairs themselves were the columns
    # chars and name_chars, which migration 0044 dropped: no search read them after 0043)
    common: Mapped[bytes] = mapped_column(sa.LargeBinary(32))

    handling_item: Mapped[HandlingItem] = relationship(back_populates="search_entry")


class SearchChange(db.Model):
    """A handling item (or an approval item, for all of its handling items) whose search
    frame's row changed, written in the changing transaction (catalog.search.changes): a
    worker's frame applies the rows written since it was loaded instead of loading again
    (catalog.search.delta). Both ids NULL: everything changed (a reindex)."""

    __tablename__ = "search_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    handling_item_id: Mapped[int | None] = mapped_column(sa.Integer)  # no foreign key: a row
    item_id: Mapped[int | None] = mapped_column(sa.Integer)  # may name one since removed
    # random, one a flush: a frame knows its last row by id and token, so a database emptied
    # and filled again (ids starting over) is not taken for the one it was made from
    token: Mapped[str] = mapped_column(sa.String(16), default="", server_default="")


class SearchPart(db.Model):
    """One distinct part of the entries' text (catalog.search.parts): an item name with its
    situation (in_name), a situation, a result name, a legal basis or a material name,
    normalised. A province of 300,000 handling items has about 3,300; a Chinese word is looked
    up over them, then their postings. Never deleted: a part no entry has any more lists
    nothing (catalog.search.parts says why that is fine)."""

    __tablename__ = "search_part"

    id: Mapped[int] = mapped_column(primary_key=True)
    # blake2b of in_name and text, 16 bytes: unique, where the text (a legal basis can be a
    # whole article) may be longer than a btree's entry can hold
    key: Mapped[bytes] = mapped_column(sa.LargeBinary(16), unique=True)
    text: Mapped[str] = mapped_column(sa.Text)
    in_name: Mapped[bool] = mapped_column(sa.Boolean)


class SearchPosting(db.Model):
    """A part of a handling item's entry. The primary key (part, handling item) serves a word's
    ids from the index alone (an index-only scan on PostgreSQL, a table without rowid on
    SQLite); the second index, the removal of an entry's postings."""

    __tablename__ = "search_posting"
    __table_args__ = (
        sa.Index("ix_search_posting_handling_item", _ID, "part_id"),
        {"sqlite_with_rowid": False},
    )

    part_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)  # no foreign key: below
    handling_item_id: Mapped[int] = mapped_column(
        sa.ForeignKey("search_entry.handling_item_id", ondelete="CASCADE"), primary_key=True
    )
