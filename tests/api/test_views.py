"""The JSON API."""

from __future__ import annotations

from tests.factories import item_data
from tests.public.test_views import publish


def test_report_api_is_the_home_pages_twin(client, db):
    publish(db, item_data(code="A"))
    body = client.get("/api/v1/report").get_json()
    assert body["items"]["total"] == 1
    assert body["no_visit"] == {"count": 1, "total": 1, "percent": 100.0}
    assert body["compression"]["percent"] == 75.0
    assert list(body)[:3] == ["items", "handling_items", "no_visit"]  # reading order kept
