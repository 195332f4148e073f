"""Settings read from the environment when the app is created, never at import time."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"


def _database_url(instance_path: Path) -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        instance_path.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{instance_path / 'catalog.sqlite3'}"
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants the driver named.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _seconds(name: str, default: float) -> float:
    return float(os.environ.get(name, "").strip() or default)


def _io_concurrency() -> int:
    """DATABASE_IO_CONCURRENCY: how many table pages PostgreSQL asks the disk for at once
    (0 to 1000; 200 suits solid-state and network storage); any other value stops the app at
    start."""
    raw = os.environ.get("DATABASE_IO_CONCURRENCY", "").strip() or "200"
    if not (raw.isascii() and raw.isdigit()) or not 0 <= int(raw) <= 1000:
        raise ValueError(f"DATABASE_IO_CONCURRENCY={raw!r}: a whole number from 0 to 1000")
    return int(raw)


def engine_options(url: str) -> dict[str, Any]:
    """How the app waits on its database: never for long, so that an unreachable or locked
    database is a quick 503 rather than a hung worker. (A pooled connection idle for
    DATABASE_PING_AFTER seconds is tested before use, so the app recovers by itself when the
    server is back: catalog.connections, not SQLAlchemy's pool_pre_ping, which tests each one at
    every checkout.)"""
    options: dict[str, Any] = {"pool_pre_ping": False}
    if url.startswith("postgresql"):
        statement_ms = int(_seconds("DATABASE_STATEMENT_TIMEOUT", 30) * 1000)
        options["pool_timeout"] = 10  # waiting for a free pooled connection
        options["connect_args"] = {
            "connect_timeout": max(1, round(_seconds("DATABASE_CONNECT_TIMEOUT", 5))),
            # Server side: a statement (or a wait for a row lock) running past this is cancelled.
            # Every statement is planned for its own values: psycopg prepares a statement run 5
            # times, and PostgreSQL's generic plan for a search cannot know how common the
            # word is (a 2-character search took 17 s instead of 1 s at 300,000 items). JIT
            # compilation costs more than it saves on the catalog's short queries. A bitmap
            # scan reads ahead DATABASE_IO_CONCURRENCY table pages at once (PostgreSQL's 1
            # suits one spinning disk): with the pages out of memory, a 双公示 search of two
            # characters at 1,577,000 decisions took 155-215 ms at p95 with 1 and 47-68 ms
            # with 200 (docs/decision-search-speed.md).
            "options": (
                f"-c statement_timeout={statement_ms} -c plan_cache_mode=force_custom_plan"
                f" -c jit=off -c effective_io_concurrency={_io_concurrency()}"
            ),
            # A server that vanishes without closing the connection is noticed within ~1 min.
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        }
    elif url.startswith("sqlite"):
        # How long a statement waits for another connection's lock before "database is locked".
        options["connect_args"] = {"timeout": _seconds("DATABASE_LOCK_TIMEOUT", 5)}
    return options


def _ping_after() -> float:
    """DATABASE_PING_AFTER: the seconds a pooled PostgreSQL connection may have been idle and
    still be used untested (catalog.connections); 0 tests every one."""
    raw = os.environ.get("DATABASE_PING_AFTER", "").strip() or "1"
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:  # NaN too
        raise ValueError(f"DATABASE_PING_AFTER={raw!r}: seconds from 0 to 3600")
    return seconds


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


def _secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, else one generated once into instance/."""
    from_env = os.environ.get("SECRET_KEY", "").strip()
    if from_env:
        return from_env
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # Create with owner-only permissions; never overwrite a key another process wrote.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


# The names staff read beside a time, by zone; another zone is named as configured.
ZONE_LABELS = {"Asia/Shanghai": "北京时间", "PRC": "北京时间", "UTC": "协调世界时"}


def _display_zone(settings: dict[str, Any]) -> None:
    """Check DISPLAY_TIMEZONE now, so that a misspelt zone stops the app at start rather than
    every page with a time; name it for the pages (DISPLAY_TIMEZONE_LABEL, unless set)."""
    name = settings["DISPLAY_TIMEZONE"]
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"DISPLAY_TIMEZONE={name!r} is not a time zone known here: use an IANA name such as"
            " Asia/Shanghai (on a system without a time zone database, install tzdata)"
        ) from exc
    if not settings.get("DISPLAY_TIMEZONE_LABEL"):
        settings["DISPLAY_TIMEZONE_LABEL"] = ZONE_LABELS.get(name, name)


def load(instance_path: Path | None = None, overrides: Mapping[str, Any] | None = None) -> dict:
    """Return the app settings: the environment's, then `overrides` (tests pass them)."""
    instance = Path(instance_path or DEFAULT_INSTANCE)
    overrides = dict(overrides or {})
    settings: dict[str, Any] = {
        # Staff sessions: signed cookies, ended after 30 idle minutes or 8 hours in all.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _flag("SESSION_COOKIE_SECURE"),
        "STAFF_IDLE_TIMEOUT": timedelta(minutes=int(os.environ.get("STAFF_IDLE_MINUTES", "30"))),
        "PERMANENT_SESSION_LIFETIME": timedelta(
            hours=int(os.environ.get("STAFF_SESSION_HOURS", "8"))
        ),
        # Where the sign-in throttle counts: "database://", the app's own database (catalog.
        # throttle_storage), shared by every worker; redis://127.0.0.1:6379/0 for large sites.
        # (memory:// counts in each worker process apart: N workers let N times the limit by.)
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "").strip()
        or "database://",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Behind a reverse proxy: how many proxies' X-Forwarded-For/-Proto to trust (0: none).
        "PROXY_FIX_HOPS": int(os.environ.get("PROXY_FIX_HOPS", "0") or 0),
        "LOGIN_LIMIT_PER_ADDRESS": os.environ.get("LOGIN_LIMIT_PER_ADDRESS", "20 per 10 minutes"),
        "LOGIN_LIMIT_PER_ACCOUNT": os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per 10 minutes"),
        "SEED_DIR": str(PROJECT_ROOT / "seed"),
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,  # two 5 MB uploads and the form around them
        # A file offered beside a material (空白表格 / 示例样表; catalog.attachments); a larger
        # request than MAX_CONTENT_LENGTH is refused before it is read (413)
        "ATTACHMENT_MAX_BYTES": int(_seconds("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)),
        # and how many an account may upload (flask-limiter syntax); each is kept in the database
        "ATTACHMENT_UPLOAD_LIMIT": os.environ.get("ATTACHMENT_UPLOAD_LIMIT", "").strip()
        or "60 per hour",
        # Spreadsheet uploads at /staff/import, per signed-in account (flask-limiter syntax).
        "IMPORT_UPLOAD_LIMIT": os.environ.get("IMPORT_UPLOAD_LIMIT", "").strip() or "30 per hour",
        # A preview keeps the parsed rows (compressed, not the file) until it is applied: at most
        # an hour, a few an account, a byte budget in all; the oldest go first (catalog.uploads).
        "IMPORT_PENDING_FOLDER": os.environ.get("IMPORT_PENDING_FOLDER", "").strip()
        or str(instance / "uploads"),
        "IMPORT_PENDING_TTL_SECONDS": _seconds("IMPORT_PENDING_TTL_SECONDS", 3600),
        "IMPORT_PENDING_PER_ACCOUNT": int(_seconds("IMPORT_PENDING_PER_ACCOUNT", 3)),
        "IMPORT_PENDING_TOTAL_BYTES": int(_seconds("IMPORT_PENDING_TOTAL_BYTES", 64 * 1024**2)),
        "IMPORT_PENDING_MAX_BYTES": int(_seconds("IMPORT_PENDING_MAX_BYTES", 8 * 1024**2)),
        "SYNONYMS_FILE": str(PROJECT_ROOT / "seed" / "synonyms.yaml"),
        # A pooled PostgreSQL connection idle this long is tested before use (catalog.connections).
        "DATABASE_PING_AFTER": _ping_after(),
        # Searches kept per revision of the catalog, per worker (0: every search is computed).
        "SEARCH_RESULT_CACHE": int(os.environ.get("SEARCH_RESULT_CACHE", "2048") or 0),
        "QUERY_WORDS_FILE": str(PROJECT_ROOT / "seed" / "query_words.yaml"),
        # Public searches that found nothing, counted per (text, day) only: at most this many
        # rows (the oldest days' least counted go first; 0 turns counting off), kept this long.
        "FAILED_QUERY_MAX_ROWS": int(os.environ.get("FAILED_QUERY_MAX_ROWS", "10000") or 0),
        "FAILED_QUERY_RETENTION_DAYS": int(
            os.environ.get("FAILED_QUERY_RETENTION_DAYS", "90") or 90
        ),
        # A worker holds its counts this long, then writes them after a response (0: at once).
        "FAILED_QUERY_WRITE_SECONDS": _seconds("FAILED_QUERY_WRITE_SECONDS", 10),
        # Four eyes: no reviewer publishes a draft holding their own changes. A one-person
        # office sets REVIEW_FOUR_EYES=0; the audit trail then marks each self-published change.
        "REVIEW_FOUR_EYES": os.environ.get("REVIEW_FOUR_EYES", "1").strip().lower()
        not in ("0", "false", "no", "off"),
        # Staff pages show times in this zone, named beside them (北京时间); stored times and
        # the API stay UTC. DISPLAY_TIMEZONE_LABEL names another zone in Chinese.
        "DISPLAY_TIMEZONE": os.environ.get("DISPLAY_TIMEZONE", "").strip() or "Asia/Shanghai",
        "DISPLAY_TIMEZONE_LABEL": os.environ.get("DISPLAY_TIMEZONE_LABEL", "").strip(),
        # Form messages of WTForms' own ("该字段是必填字段。") come from WTForms' Chinese
        # translations (catalog.staff.forms.StaffForm), not from Flask-Babel, which is not used.
        "WTF_I18N_ENABLED": False,
    }
    if "SQLALCHEMY_DATABASE_URI" not in overrides:
        settings["SQLALCHEMY_DATABASE_URI"] = _database_url(instance)
    if "SECRET_KEY" not in overrides:
        settings["SECRET_KEY"] = _secret_key(instance)
    settings.update(overrides)
    if "MAX_CONTENT_LENGTH" not in overrides:  # room for the largest file and its form
        settings["MAX_CONTENT_LENGTH"] = max(
            settings["MAX_CONTENT_LENGTH"], settings["ATTACHMENT_MAX_BYTES"] + 1024 * 1024
        )
    _display_zone(settings)
    if "SQLALCHEMY_ENGINE_OPTIONS" not in overrides:
        settings["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(settings["SQLALCHEMY_DATABASE_URI"])
    return settings
