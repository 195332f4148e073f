"""The JSON API of a published item that lacks every element it may lack (catalog.elements):
nulls and empty lists, as its OpenAPI document says."""

from __future__ import annotations

import copy

import pytest

from catalog.api.schemas import HitSchema, dump_hits
from catalog.public.queries import run_search
from tests.api.test_views import assert_matches
from tests.factories import REQUIRED_ONLY, item_data, publish

CODE = REQUIRED_ONLY["code"]
NAME = REQUIRED_ONLY["name"]


@pytest.fixture(scope="module")
def spec(app):
    with app.test_request_context():
        return app.test_client().get("/api/v1/openapi.json").get_json()


@pytest.fixture
def sparse(db):
    publish(db, copy.deepcopy(REQUIRED_ONLY), item_data(code="FULL", name="港口经营许可"))


def test_the_item_has_nulls_for_its_gaps_as_documented(client, spec, sparse):
    response = client.get(f"/api/v1/items/{CODE}")
    assert response.status_code == 200
    body = response.get_json()
    assert_matches(spec, "Item", body)
    for key in ("implementing_body", "handling_unit", "exercise_level", "power_source",
                "conditions", "consultation", "complaint", "location", "hours"):  # fmt: skip
        assert body[key] is None, key
    assert body["service_targets"] == [] and body["legal_basis"] == []
    assert body["result"] == {"name": None, "type": None}
    (handling,) = body["handling_items"]
    for key in ("situation", "visit_reason", "online_depth", "fees"):
        assert handling[key] is None, key
    assert handling["forms"] == [] and handling["materials"] == [] and handling["steps"] == []
    assert handling["visits"] == 1
    assert_matches(spec, "Item", client.get("/api/v1/items/FULL").get_json())


def test_search_finds_the_item_by_name_with_nulls(client, spec, sparse):
    response = client.get(f"/api/v1/items?q={NAME}")
    assert response.status_code == 200
    body = response.get_json()
    assert_matches(spec, "ItemsPage", body)
    assert body["total"] == 1
    (hit,) = body["items"]
    assert hit["item_code"] == CODE and hit["item_name"] == NAME
    for key in ("situation", "handling_unit", "charges_fee", "online_depth"):
        assert hit[key] is None, key
    # the unit facet names units only: an item without one counts in the total and its type
    assert body["facets"]["unit"] == {}
    assert body["facets"]["type"] == {"licence": 1}
    # a fee not provided is not 不收费
    assert body["facets"]["flags"]["no_fee"] == 0


def test_every_list_and_facet_takes_the_gaps(client, spec, sparse):
    body = client.get("/api/v1/items").get_json()
    assert_matches(spec, "ItemsPage", body)
    assert body["total"] == 2
    assert body["facets"]["unit"] == {"行政审批服务科": 1}
    assert body["facets"]["flags"]["no_fee"] == 1
    for url in ("/api/v1/items?no_fee=1", "/api/v1/items?unit=行政审批服务科"):
        listed = client.get(url).get_json()
        assert_matches(spec, "ItemsPage", listed)
        assert [hit["item_code"] for hit in listed["items"]] == ["FULL"], url
    deadline = client.get(f"/api/v1/handling-items/{CODE}-01/deadline?date=2026-09-30")
    assert deadline.status_code == 200
    assert_matches(spec, "Deadline", deadline.get_json())


def test_result_lists_with_gaps_are_written_as_the_documented_hit_schema(app, sparse):
    with app.test_request_context("/api/v1/items"):
        result, error = run_search("", {}, limit=10)
        assert error is None and len(result.hits) == 2
        assert dump_hits(result.hits) == HitSchema(many=True).dump(result.hits)
