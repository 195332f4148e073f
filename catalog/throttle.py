"""The sign-in throttle: sign-in attempts counted per client address and per account name in
fixed windows (LOGIN_LIMIT_PER_ADDRESS, default 20 per 10 minutes; LOGIN_LIMIT_PER_ACCOUNT,
5 per 10 minutes), in the limiter's storage: the app's own database by default
(catalog.throttle_storage), Redis with RATELIMIT_STORAGE_URI=redis://…; every worker counts in
the same place.

An attempt is counted before its password is checked, by one atomic increment that returns
the new count, and given back when it signs in: however many attempts arrive at once, in
however many processes, no more wrong passwords than the limit are ever checked, and signing
in costs nothing. The address is counted first: an address over its limit is refused before
its attempt counts against the account, so it cannot lock anyone out.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from limits import RateLimitItem, parse

from catalog.domain import DomainError
from catalog.edge import after_commit
from catalog.extensions import client_address, db, limiter
from catalog.models import AuthEvent, AuthEventKind, utcnow
from catalog.throttle_storage import DatabaseStorage

log = logging.getLogger("catalog.auth")

ADDRESS, ACCOUNT = "address", "account"
SCOPE_LABELS = {ADDRESS: "来源地址", ACCOUNT: "账号"}
UNITS = {
    "second": "秒", "minute": "分钟", "hour": "小时", "day": "天", "month": "个月", "year": "年"
}  # fmt: skip
UNAVAILABLE = "登录次数暂时无法核对，暂不能登录，请稍后再试。"


class ThrottleUnavailable(DomainError):
    """The storage of the counters does not answer: nobody is let in unchecked."""

    status = 503


def window(limit: RateLimitItem) -> str:
    """The limit's window in words: "10 分钟"."""
    return f"{limit.multiples} {UNITS[limit.GRANULARITY.name]}"


def upload_limit_message(limit: RateLimitItem, what: str) -> str:
    """A staff upload limit (flask-limiter's, per account) refused in words: "上传过于频繁：每个
    账号每小时最多上传 60 个文件，请稍后再试。" with `what` "个文件"."""
    unit = UNITS.get(limit.GRANULARITY.name, limit.GRANULARITY.name)
    every = f"{limit.multiples}{unit}" if limit.multiples > 1 else unit
    return f"上传过于频繁：每个账号每{every}最多上传 {limit.amount} {what}，请稍后再试。"


@dataclass(frozen=True)
class Counter:
    """One limit applied to one address or one account name."""

    scope: str  # ADDRESS or ACCOUNT
    identity: str  # the address, or the account name in lower case
    limit: RateLimitItem

    @property
    def key(self) -> str:
        prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or "catalog"
        return self.limit.key_for(prefix, f"signin-{self.scope}", self.identity)

    @property
    def rule(self) -> str:
        """ "账号登录失败已达上限（10 分钟内 5 次）": the log's detail of a refusal."""
        scope = SCOPE_LABELS[self.scope]
        return f"{scope}登录失败已达上限（{window(self.limit)}内 {self.limit.amount} 次）"


@dataclass(frozen=True)
class Lockout:
    """A counter at its limit: attempts are refused until its window ends."""

    counter: Counter
    until: float  # seconds since the epoch

    @property
    def ends_at(self) -> datetime:
        return datetime.fromtimestamp(self.until, UTC)

    @property
    def seconds(self) -> int:
        return max(1, math.ceil(self.until - time.time()))

    @property
    def minutes(self) -> int:
        return math.ceil(self.seconds / 60)

    @property
    def message(self) -> str:
        if self.counter.scope == ACCOUNT:
            who = "该账号的登录尝试次数过多，已暂时锁定"
        else:
            who = "来自您所在网络地址的登录尝试次数过多，已暂时锁定"
        return f"{who}，请 {self.minutes} 分钟后再试。"


@dataclass
class Attempt:
    """One sign-in attempt as counted: (counter, count after it) of each counter it reached,
    and the lockout that refused it, if one did."""

    counted: list[tuple[Counter, int]] = field(default_factory=list)
    refused_by: Lockout | None = None

    @property
    def tries_left(self) -> int | None:
        """How many more attempts the tightest counter lets through, if this one fails."""
        left = [counter.limit.amount - count for counter, count in self.counted]
        return max(0, min(left)) if left else None

    def warning(self) -> str | None:
        """What the sign-in form says after this attempt failed."""
        left = self.tries_left
        if left is None:
            return None
        tightest = min(self.counted, key=lambda pair: pair[0].limit.amount - pair[1])[0]
        if left == 0:
            return Lockout(tightest, _call(limiter.storage.get_expiry, tightest.key)).message
        return f"还可尝试 {left} 次，用完后将暂时锁定（最长 {window(tightest.limit)}）。"


def counters(username: str | None) -> list[Counter]:
    """The counters of an attempt from this request's address for `username`."""
    config = current_app.config
    found = [Counter(ADDRESS, client_address()[:45], parse(config["LOGIN_LIMIT_PER_ADDRESS"]))]
    account = account_name(username)
    if account:
        found.append(Counter(ACCOUNT, account, parse(config["LOGIN_LIMIT_PER_ACCOUNT"])))
    return found


def account_name(username: str | None) -> str:
    """An account name as counted: as typed, without surrounding spaces, in lower case."""
    return (username or "").strip().lower()[:50]


def account_counter(username: str) -> Counter:
    return Counter(
        ACCOUNT, account_name(username), parse(current_app.config["LOGIN_LIMIT_PER_ACCOUNT"])
    )


def address_counter(address: str) -> Counter:
    return Counter(ADDRESS, address[:45], parse(current_app.config["LOGIN_LIMIT_PER_ADDRESS"]))


def _call(method, *args, **kwargs):
    """A call to the storage; its failure is a 503 in Chinese, never a 500 or a free pass.
    (The app's own database fails as it does for every request: catalog.errors answers 503
    with Retry-After while it cannot be reached.)"""
    try:
        return method(*args, **kwargs)
    except sa.exc.SQLAlchemyError:
        raise
    except limiter.storage.base_exceptions as exc:  # Redis that does not answer
        log.error("sign-in throttle storage failed: %s: %s", type(exc).__name__, exc)
        raise ThrottleUnavailable(UNAVAILABLE) from exc


def begin_attempt(username: str | None) -> Attempt:
    """Count one attempt for `username` from this address, before its password is checked."""
    attempt = Attempt()
    storage = limiter.storage
    for counter in counters(username):
        count = _call(storage.incr, counter.key, counter.limit.get_expiry())
        attempt.counted.append((counter, count))
        if count > counter.limit.amount:
            attempt.refused_by = Lockout(counter, _call(storage.get_expiry, counter.key))
            break
    return attempt


def give_back(attempt: Attempt) -> None:
    """The attempt signed in: it does not count. (Best effort: it stays counted if the
    storage fails now, which only brings a lockout closer.)"""
    storage = limiter.storage
    for counter, _count in attempt.counted:
        try:
            if hasattr(storage, "decr"):  # memory, the database
                storage.decr(counter.key)
            else:  # Redis: INCRBY -1 on the running window
                storage.incr(counter.key, counter.limit.get_expiry(), amount=-1)
        except storage.base_exceptions as exc:
            log.warning("could not give back a sign-in attempt: %s", type(exc).__name__)


def lockouts(candidates: Iterable[Counter]) -> list[Lockout]:
    """The candidates that are at their limit now, with the end of their window."""
    candidates = list(candidates)
    storage = limiter.storage
    keys = [counter.key for counter in candidates]
    if isinstance(storage, DatabaseStorage):
        windows = _call(storage.windows, keys)
    else:
        windows = {key: (_call(storage.get, key), _call(storage.get_expiry, key)) for key in keys}
    return [
        Lockout(counter, windows[counter.key][1])
        for counter in candidates
        if counter.key in windows and windows[counter.key][0] >= counter.limit.amount
    ]


def account_lockouts(usernames: Iterable[str]) -> dict[str, Lockout]:
    """The accounts among `usernames` that are locked out, by account name (lower case)."""
    found = lockouts(account_counter(username) for username in usernames)
    return {lockout.counter.identity: lockout for lockout in found}


def address_lockouts() -> list[Lockout]:
    """The addresses locked out now: those that failed to sign in within the address limit's
    window (from the sign-in log, so that any storage can be asked), at their limit."""
    limit = parse(current_app.config["LOGIN_LIMIT_PER_ADDRESS"])
    since = utcnow() - timedelta(seconds=limit.get_expiry())
    addresses = db.session.scalars(
        sa.select(AuthEvent.address)
        .where(
            AuthEvent.kind.in_([AuthEventKind.login_failed, AuthEventKind.login_throttled]),
            AuthEvent.occurred_at >= since,
            AuthEvent.address.is_not(None),
        )
        .distinct()
        .order_by(AuthEvent.address)
        .limit(200)
    ).all()
    return lockouts(address_counter(address) for address in addresses)


def clear(lockout: Lockout) -> None:
    """End a lockout as part of the caller's transaction: in the app's database, by that
    transaction itself; in another storage (Redis), once the transaction has committed."""
    storage = limiter.storage
    key = lockout.counter.key
    if isinstance(storage, DatabaseStorage):
        storage.clear_in(db.session, key)
    else:
        after_commit(lambda: _clear_after_commit(storage, key))


def _clear_after_commit(storage, key: str) -> None:
    try:
        storage.clear(key)
    except storage.base_exceptions as exc:  # the lockout stays listed, and ends by itself
        log.error("could not clear a sign-in lockout: %s: %s", type(exc).__name__, exc)
