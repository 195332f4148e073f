"""The 双公示 search under deploy/gunicorn.conf.py's gevent workers on PostgreSQL, where each
search reads its two kinds at the same time, the second on a connection of its own
(listing._kind_pages): requests from several clients at once get the same pages as the app
answers in process, both kinds in each, and nothing of one request reaches another."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from flask_migrate import upgrade

from catalog.decisions import operations
from catalog.enums import Status
from catalog.extensions import db
from catalog.services import create_item
from tests.conftest import make_app, temporary_postgres_database
from tests.decisions.conftest import licence_data, penalty_data
from tests.decisions.test_search_index import credit_code
from tests.factories import handling_item_data, item_data
from tests.workers import TIMEOUT, free_port, gunicorn

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"
# words and filters whose pages hold both kinds, or one (a kind, a licence's status)
QUERIES = [
    {"q": "宏达"}, {"q": "宏达", "limit": "2"}, {"q": "物流"}, {"q": "顺通"},
    {"q": "宏达", "kind": "penalty"}, {"q": "宏达", "status": "valid"}, {"q": "超限"},
    {"q": "91411000MA"}, {"q": "没有这个词"},
]  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[int, object]]:
    """gunicorn with one gevent worker on a fresh PostgreSQL database holding licences and
    penalties of three organisations, decided in the last days (so the penalties are public),
    and the app in process on the same database (to compare with)."""
    with temporary_postgres_database("catalog_deploy") as url:
        app = make_app(url)
        today = datetime.now(ZoneInfo(app.config["DISPLAY_TIMEZONE"])).date()
        with app.app_context():
            upgrade()  # (its publication periods: the 2019 rule)
            create_item(item_data(handling_item_data(code="L-1-01"), code="L-1"),
                        status=Status.published)  # fmt: skip
            names = ["许昌宏达物流有限公司", "禹州宏达运输有限公司", "长葛顺通物流有限公司"]
            for number in range(12):
                name, code = names[number % 3], credit_code(40 + number % 3)
                decided = today - timedelta(days=30 - number)
                published = decided + timedelta(days=1)
                party = {"party_name": name, "party_class": "organisation",
                         "party_credit_code": code, "legal_representative": "王五",
                         "party_id_type": None, "party_id_number": None,
                         "decided_on": decided, "published_on": published}  # fmt: skip
                operations.create_licence(licence_data(
                    document_number=f"许交运许〔2026〕{number}号", valid_from=decided,
                    valid_until=None, **party), actor="test")  # fmt: skip
                operations.create_penalty(penalty_data(
                    document_number=f"许交执罚〔2026〕{number}号", violation_type="超限运输",
                    **party), actor="test")  # fmt: skip
            db.session.commit()
            db.engine.dispose()
        folder = tmp_path_factory.mktemp("decision_search")
        port, log = free_port(), folder / "gunicorn.log"
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "decision-search-test",
               "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1"}  # fmt: skip
        with gunicorn(["-c", str(CONFIG)], env, log, port=port, workers=1):
            yield port, app
        with app.app_context():
            db.engine.dispose()


def _path(query: dict[str, str]) -> str:
    return "/api/v1/decisions?" + urlencode(query)


def test_searches_at_once_get_the_pages_the_app_gives_with_both_kinds(server):
    port, app = server
    expected = {}
    client = app.test_client()
    for query in QUERIES:
        response = client.get(_path(query))
        assert response.status_code == 200, response.get_data(as_text=True)
        expected[_path(query)] = response.get_json()
    kinds = {d["kind"] for d in expected[_path({"q": "宏达"})]["decisions"]}
    assert kinds == {"licence", "penalty"}  # (the words find both kinds)

    def fetch(path: str) -> tuple[str, dict]:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=TIMEOUT) as got:
            return path, json.load(got)

    paths = [_path(query) for query in QUERIES] * 6  # 54 requests, 8 at a time
    with ThreadPoolExecutor(max_workers=8) as pool:
        answered = list(pool.map(fetch, paths))
    for path, body in answered:
        assert body == expected[path], path
