"""Error pages in Chinese for people, one JSON error shape for the API; never a stack trace."""

from __future__ import annotations

import sqlite3

import psycopg
from flask import Flask, current_app, jsonify, render_template, request
from flask.globals import request_ctx
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import BadHost, HTTPException, InternalServerError

from catalog.domain import DomainError
from catalog.extensions import db
from catalog.schemas import CONTROL_CHARACTERS_MESSAGE

MESSAGES = {
    400: "请求有误，请检查后重试。",
    403: "您的账号没有执行此操作的权限。",
    409: "内容已被他人修改，请刷新后重试。",
    413: "上传的内容过大。",
    429: "尝试次数过多，请稍后再试。",
    404: "页面不存在，可能已被移除或地址有误。",
    405: "不支持该请求方式。",
    500: "服务器内部错误，请稍后重试。",
    503: "服务暂时不可用，请稍后重试。",
}
DATABASE_UNAVAILABLE = "数据库暂时无法连接，服务暂不可用，请稍后重试。"
NOT_SAVED = "本次提交的内容未保存。"
RETRY_AFTER_SECONDS = 30

# What the database driver raises when the database cannot be reached or cannot answer now.
# SQLAlchemy wraps the driver's errors; the bare ones are listed for code that talks to it.
OUTAGE_ERRORS = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,  # no pooled connection became free in time
    psycopg.OperationalError,
    psycopg.InterfaceError,
    sqlite3.OperationalError,
)
# sqlite3 raises OperationalError for bad SQL too; only these messages mean "unavailable".
SQLITE_OUTAGES = (
    "database is locked",
    "database table is locked",
    "unable to open database",
    "disk i/o error",
    "readonly database",
    "file is not a database",
    "database disk image is malformed",
)


def is_database_outage(error: BaseException) -> bool:
    """A lost connection, a server that does not answer, a locked or unreadable SQLite file;
    not a mistake in a statement."""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    original = getattr(error, "orig", None) or error
    if isinstance(original, sqlite3.Error):
        message = str(original).lower()
        return any(outage in message for outage in SQLITE_OUTAGES)
    return isinstance(error, OUTAGE_ERRORS)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(
    status: int,
    message: str | None = None,
    *,
    details: dict | None = None,
    headers: list[tuple[str, str]] | None = None,
    without_database: bool = False,
):
    """One error shape for the API, a page for browsers."""
    message = message or MESSAGES.get(status, "请求未能完成。")
    if request_ctx.url_adapter is None:
        # The Host header could not be read (BadHost: too long, not a host name), so Flask made
        # no URL adapter; the page's links are paths, which need no host: bind one to a
        # placeholder, or url_for would fail and the 400 become a 500.
        request_ctx.url_adapter = current_app.url_map.bind(
            "localhost", script_name=request.root_path or "/", url_scheme=request.scheme
        )
    if wants_json():
        body = {"error": {"status": status, "message": message}}
        if details:
            body["error"]["details"] = details
        return jsonify(body), status, headers or []
    if without_database:
        # The template context processors would load the signed-in user from the database
        # (Flask-Login's current_user): render the page from the template alone.
        template = current_app.jinja_env.get_template("errors/error.html")
        page = template.render(status=status, message=message)
    else:
        page = render_template("errors/error.html", status=status, message=message)
    return page, status, headers or []


def refuse_nul_characters():
    """A NUL character is in no code, label or text of the catalog, and PostgreSQL refuses it
    in a query: a request carrying one is malformed (400), on every database alike."""
    values = [request.path]
    values += [value for _name, value in request.args.items(multi=True)]
    if request.want_form_data_parsed:  # a body with a Content-Type: else there is no form
        values += [value for _name, value in request.form.items(multi=True)]
    if any("\x00" in value for value in values):
        return error_response(400, "请求参数" + CONTROL_CHARACTERS_MESSAGE)
    return None


def register(app: Flask) -> None:
    app.before_request(refuse_nul_characters)

    @app.errorhandler(DomainError)
    def handle_refusal(refusal: DomainError):
        # A read refused (a malformed page cursor): writes are refused at catalog.edge, which
        # rolls their transaction back first.
        return error_response(refusal.status, refusal.message)

    @app.errorhandler(CSRFError)
    def handle_csrf_error(_error: CSRFError):
        return error_response(400, "表单已过期或来源无效，请刷新页面后重新提交。")

    @app.errorhandler(StaleDataError)
    def handle_concurrent_change(_error: StaleDataError):
        # A version counter caught a write that raced another one: nothing was overwritten.
        return error_response(409)

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        # Keep what the exception says besides its body: Allow on a 405, Retry-After on a 429.
        headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
        message = "请求的主机名（Host）无效。" if isinstance(error, BadHost) else None
        return error_response(error.code or 500, message, headers=headers)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(InternalServerError.code)

    def handle_database_error(error: Exception):
        if not is_database_outage(error):
            return handle_unexpected(error)
        try:  # nothing of this request's transaction is kept
            db.session.rollback()
        except Exception:  # the connection is gone: nothing to roll back, drop it
            db.session.invalidate()
        # One line, no traceback: every request fails the same way while the database is away.
        summary = str(getattr(error, "orig", None) or error).strip().splitlines()
        app.logger.error(
            "database unavailable on %s %s: %s: %s",
            request.method,
            request.path,
            type(error).__name__,
            summary[0] if summary else "",
        )
        message = DATABASE_UNAVAILABLE
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            message += NOT_SAVED
        retry = [("Retry-After", str(RETRY_AFTER_SECONDS))]
        return error_response(503, message, headers=retry, without_database=True)

    for error_class in OUTAGE_ERRORS:
        app.register_error_handler(error_class, handle_database_error)
