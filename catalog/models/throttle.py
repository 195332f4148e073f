"""The sign-in throttle's counters, when they live in the app's own database."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from catalog.extensions import db


class ThrottleCounter(db.Model):
    """One fixed-window counter of the `limits` library (catalog.throttle_storage): how many
    hits its key took in the window that ends at `expires_at`. Rows past their end count as
    nothing and are deleted by the next hits; no other table refers to them."""

    __tablename__ = "throttle_counter"

    # limits' key: "LIMITER/<prefix>/<scope>/<address or username>/<amount>/<multiples>/<unit>"
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    count: Mapped[int] = mapped_column(sa.Integer)
    # Seconds since the epoch (time.time(), as the library counts), a double on both databases.
    expires_at: Mapped[float] = mapped_column(sa.Double, index=True)
