"""Error pages in Chinese for people, one JSON error shape for the API; never a stack trace."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError

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


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, message: str | None = None, *, details: dict | None = None):
    """One error shape for the API, a page for browsers."""
    message = message or MESSAGES.get(status, "请求未能完成。")
    if wants_json():
        body = {"error": {"status": status, "message": message}}
        if details:
            body["error"]["details"] = details
        return jsonify(body), status
    return render_template("errors/error.html", status=status, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def handle_csrf_error(_error: CSRFError):
        return error_response(400, "表单已过期或来源无效，请刷新页面后重新提交。")

    @app.errorhandler(StaleDataError)
    def handle_concurrent_change(_error: StaleDataError):
        # A version counter caught a write that raced another one: nothing was overwritten.
        return error_response(409)

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        return error_response(error.code or 500)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(InternalServerError.code)
