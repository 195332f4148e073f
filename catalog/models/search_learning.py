"""What search learns from people: the synonym list staff keep, and the queries that found
nothing (counted per day, nothing about who typed them)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from catalog.extensions import db
from catalog.models.catalog import utcnow

MAX_SYNONYM_TERM = 20  # a word people type
MAX_SYNONYM_TARGET = 50  # an official word or an item name
MAX_FAILED_QUERY = 50  # the stored text of a failed query: longer ones are cut


class Synonym(db.Model):
    """One word people type and one official word it also finds (网约车 -> 网络预约出租汽车).
    A word with several official words has one row each."""

    __tablename__ = "search_synonym"

    id: Mapped[int] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(sa.String(MAX_SYNONYM_TERM))
    target: Mapped[str] = mapped_column(sa.String(MAX_SYNONYM_TARGET))
    updated_by: Mapped[str] = mapped_column(sa.String(50))
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    version: Mapped[int] = mapped_column(default=1)

    __table_args__ = (sa.UniqueConstraint("term", "target"),)
    __mapper_args__ = {"version_id_col": version}


class FailedQuery(db.Model):
    """How many public searches for one normalised text found nothing on one day (北京时间).
    No address, account, browser or time of day is kept."""

    __tablename__ = "failed_query"

    text: Mapped[str] = mapped_column(sa.String(MAX_FAILED_QUERY), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True, index=True)
    count: Mapped[int] = mapped_column(sa.Integer, default=1)
