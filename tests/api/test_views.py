"""The JSON API."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from catalog.api.schemas import HitSchema, dump_hits
from catalog.enums import CaseType, ItemType
from catalog.public.queries import run_search
from catalog.search import MAX_LIMIT, MAX_QUERY_LENGTH, Hit, ListedHandling, ListedItem
from tests.factories import handling_item_data, item_data, publish


def test_report_api_is_the_home_pages_twin(client, db):
    publish(db, item_data(code="A"))
    body = client.get("/api/v1/report").get_json()
    assert body["items"]["total"] == 1
    assert body["no_visit"] == {"count": 1, "total": 1, "percent": 100.0}
    assert body["compression"]["percent"] == 75.0
    keys = list(body)
    assert keys.index("items") < keys.index("handling_items") < keys.index("no_visit")


@pytest.fixture(scope="module")
def spec(app):
    with app.test_request_context():
        return app.test_client().get("/api/v1/openapi.json").get_json()


def assert_matches(spec: dict, schema_name: str, body) -> None:
    """The body is valid against a component of the published OpenAPI document."""
    validator = Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]},
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    errors = sorted(validator.iter_errors(body), key=str)
    assert not errors, errors[0]


def test_openapi_document_is_valid_and_states_the_limits(spec):
    validate(spec)
    parameters = {
        p["name"]: p["schema"] for p in spec["paths"]["/api/v1/items"]["get"]["parameters"]
    }
    assert parameters["q"]["maxLength"] == MAX_QUERY_LENGTH
    assert parameters["limit"]["maximum"] == MAX_LIMIT


def test_items_search_matches_its_schema_and_the_page(client, spec, db):
    fee = {"name": "工本费", "standard": "每证10元", "amount": "10", "basis": "《收费标准》"}
    publish(
        db,
        item_data(handling_item_data(code="A-01", fees=[fee]), code="A", name="港口经营许可"),
        item_data(code="B", name="港口危险货物作业许可", type="confirmation"),
    )
    response = client.get("/api/v1/items?q=港口&limit=1")
    assert response.status_code == 200
    body = response.get_json()
    assert_matches(spec, "ItemsPage", body)
    assert body["total"] == 2 and [hit["code"] for hit in body["items"]] == ["A-01"]
    assert body["facets"]["type"] == {"licence": 1, "confirmation": 1}
    following = client.get(f"/api/v1/items?q=港口&limit=1&cursor={body['next']}").get_json()
    assert [hit["code"] for hit in following["items"]] == ["B-01"] and following["next"] is None

    item = client.get("/api/v1/items/A")
    assert item.status_code == 200
    assert_matches(spec, "Item", item.get_json())
    assert item.get_json()["handling_items"][0]["fees"][0]["amount"] == "10.00"
    assert client.get("/api/v1/items/B").get_json()["handling_items"][0]["fees"] == "none"


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/items?limit=0",
        "/api/v1/items?limit=101",
        "/api/v1/items?limit=x",
        "/api/v1/items?type=tax",
        "/api/v1/items?cursor=%%%",
        "/api/v1/items?q=" + "港" * 101,
        "/api/v1/handling-items/A-01/deadline?date=2026-13-01",
        "/api/v1/handling-items/A-01/deadline",
    ],
)
def test_bad_requests_get_400_in_the_error_shape(client, spec, db, url):
    publish(db, item_data(code="A"))
    response = client.get(url)
    assert response.status_code == 400
    assert_matches(spec, "Error", response.get_json())


def test_unknown_codes_get_404_in_the_error_shape(client, spec, db):
    for url in ("/api/v1/items/NOPE", "/api/v1/handling-items/NOPE/deadline?date=2026-03-02"):
        response = client.get(url)
        assert response.status_code == 404
        assert_matches(spec, "Error", response.get_json())


@pytest.mark.parametrize(
    ("applied", "promised", "statutory"),
    [
        # Worked by hand: 10-01..10-07 are holidays and Saturday 10-10 is worked.
        ("2026-09-30", ("2026-10-13", False), ("2026-11-03", False)),
        # The calendar ends with 2026: in 2027, estimated, New Year's Day (a Friday) is skipped.
        ("2026-12-21", ("2026-12-28", False), ("2027-01-19", True)),
    ],
)
def test_deadline_endpoint(client, spec, db, applied, promised, statutory):
    publish(db, item_data(code="A"))  # promised 5, statutory 20 working days
    response = client.get(f"/api/v1/handling-items/A-01/deadline?date={applied}")
    assert response.status_code == 200
    body = response.get_json()
    assert_matches(spec, "Deadline", body)
    assert (body["promised_date"], body["promised_estimated"]) == promised
    assert (body["statutory_date"], body["statutory_estimated"]) == statutory


def test_report_is_the_same_document_as_the_cli(client, cli, db):
    publish(db, item_data(code="A"))
    from_api = client.get("/api/v1/report").get_json()
    from_cli = json.loads(cli.invoke(args=["report", "--format", "json"]).output)
    assert from_api.pop("generated_at") <= from_cli.pop("generated_at")  # each says when
    assert from_api == from_cli


def test_result_lists_are_written_exactly_as_the_documented_hit_schema(app, db):
    """dump_hits() writes what HitSchema (the shape the OpenAPI document gives) would: the same
    keys in the same order, the same values and types, the same item URL."""
    fee = {"name": "工本费", "standard": "每证10元", "amount": "10", "basis": "《收费标准》"}
    publish(
        db,
        item_data(
            handling_item_data(code="A-01", fees=[fee]),
            handling_item_data(code="A-02", situation="变更", case_type="instant",
                               promised_days=0, visits=1, visit_reason="须现场核验原件"),
            code="A", name="港口经营许可",
        ),
        item_data(
            handling_item_data(code="B-01", statutory_days=None, promised_days=30),
            code="B", name="港口危险货物作业附证", type="confirmation", handling_unit="港航海事科",
        ),
    )  # fmt: skip
    # A code the URL has to quote (no stored code can look like this one).
    odd_item = ListedItem(code="甲 乙#?%&=", name="奇", item_type=ItemType.other,
                          handling_unit="科")  # fmt: skip
    odd = ListedHandling(code="甲-01", situation="新办", case_type=CaseType.promised,
                         statutory_days=None, promised_days=0, visits=2, charges_fee=True,
                         online_depth=7)  # fmt: skip
    with app.test_request_context("/api/v1/items"):
        result, error = run_search("港口", {}, limit=10)
        assert error is None and len(result.hits) == 3
        hits = [*result.hits, Hit(odd, odd_item, 7)]
        fast, documented = dump_hits(hits), HitSchema(many=True).dump(hits)
    assert fast == documented
    assert [list(hit) for hit in fast] == [list(hit) for hit in documented]  # the key order
    assert [[type(value) for value in hit.values()] for hit in fast] == [
        [type(value) for value in hit.values()] for hit in documented
    ]
    assert fast[-1]["url"] == "/api/v1/items/%E7%94%B2%20%E4%B9%99%23%3F%25&="
