"""The approval-item catalog of the Xuchang transport bureau (许昌市交通运输局)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import config
from catalog.json_provider import OrjsonProvider

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config_overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints, error handlers, commands."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    configure(app, config_overrides or {})
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_templating(app)
    register_commands(app)
    return app


def configure(app: Flask, overrides: Mapping[str, Any]) -> None:
    app.config.update(config.load(Path(app.instance_path), overrides))
    # Documents keep their reading order (items, then ratios) and Chinese stays readable.
    app.json = OrjsonProvider(app)
    from catalog.search import query

    query.results_cache.size = max(0, app.config["SEARCH_RESULT_CACHE"])
    if hops := app.config["PROXY_FIX_HOPS"]:  # the client's address and scheme from the proxy
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def register_extensions(app: Flask) -> None:
    from catalog import connections, revision, security, twins, uploads  # noqa: F401  (revision)
    from catalog.extensions import csrf, db, limiter, migrate
    from catalog.staff import sessions
    from catalog.throttle_storage import check_settings as check_throttle_settings
    from catalog.throttle_storage import init_app as init_throttle_storage  # "database://"

    db.init_app(app)
    connections.init_app(app)  # a pooled PostgreSQL connection idle a while is tested first
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    check_throttle_settings(app)
    limiter.init_app(app)
    init_throttle_storage(app)
    sessions.init_app(app)
    security.init_app(app)
    twins.init_app(app)
    uploads.init_app(app)  # stale import previews are removed


def register_blueprints(app: Flask) -> None:
    from catalog.api.decisions import blueprint as decisions_api
    from catalog.api.views import blueprint as api
    from catalog.paging import IdConverter
    from catalog.public.decisions import blueprint as public_decisions
    from catalog.public.files import blueprint as files
    from catalog.public.views import blueprint as public
    from catalog.reports.views import blueprint as reports
    from catalog.staff import (  # noqa: F401  (staff blueprint routes)
        attachments,  # materials' files
        decision_export,  # 双公示 full records as XLSX / CSV (issue 24)
        decision_import,  # 双公示 spreadsheets (issue 24)
        decisions,  # 双公示 decision records (issue 24)
        editing,
        failed_searches,  # search learning (issue 23 part 7)
        review,
        snapshots,
        synonyms,  # search learning
        units,  # unit windows
    )
    from catalog.staff.accounts import blueprint as accounts
    from catalog.staff.transfer import blueprint as transfer
    from catalog.staff.views import blueprint as staff

    app.url_map.converters["id"] = IdConverter
    app.register_blueprint(public)
    app.register_blueprint(public_decisions)  # 双公示 decision records (issue 24)
    app.register_blueprint(files)  # /files/<sha256>/<name>: 空白表格 / 示例样表
    app.register_blueprint(reports, url_prefix="/reports")
    app.register_blueprint(staff, url_prefix="/staff")
    app.register_blueprint(transfer, url_prefix="/staff")
    app.register_blueprint(accounts, url_prefix="/staff")
    app.register_blueprint(api, url_prefix="/api/v1")
    app.register_blueprint(decisions_api, url_prefix="/api/v1")  # the decisions' JSON twins


def register_errorhandlers(app: Flask) -> None:
    from catalog.errors import register

    register(app)


def register_templating(app: Flask) -> None:
    from catalog.templating import register

    register(app)


def register_commands(app: Flask) -> None:
    from catalog.cli import commands

    for command in commands:
        app.cli.add_command(command)
