"""Property-based fuzzing of /api/v1 from its own OpenAPI document (schemathesis, in-process).

For every operation, valid and invalid requests are generated from the document the app serves,
sent to the app through WSGI on each backend, and every answer is checked: never a 5xx, only
documented status codes and content types, bodies valid against the documented schemas, invalid
input (beyond a documented limit, of the wrong type, outside an enum) refused, valid input
accepted. A fixed seed and derandomised generation keep CI reproducible.

The exact requests that found bugs are kept below as plain tests.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from catalog import create_app
from catalog.decisions.operations import create_licence
from catalog.reports.snapshots import create_snapshot
from tests.decisions.conftest import PERSON_ID, licence_data
from tests.factories import handling_item_data, item_data, publish

# Schema-valid requests the API refuses by a rule the document states in words, not in JSON
# Schema: an 8-word query, a cursor the API never handed out, a page past the end of the list,
# a comparison of a snapshot with itself, a date outside the years of the holiday calendar.
SEMANTIC_400 = [
    "/api/v1/items",
    "/api/v1/report/items",
    "/api/v1/report/compare",
    "/api/v1/handling-items/{code}/deadline",
    # 双公示: a year outside 2000-2099, status with kind=penalty, a credit code's check character
    "/api/v1/decisions",
    "/api/v1/organisations/{credit_code}",
]
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20201,
        "generation": {"max-examples": 50, "deterministic": True, "database": "none"},
        "operations": [
            {
                "include-path": path,
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": ["2xx", "400", "404"]}
                },
            }
            for path in SEMANTIC_400
        ],
    }
)

# The document is read from a running app (its database is never touched by that request);
# each generated case is then sent to the test's own app on SQLite or PostgreSQL. (The lazy
# `schemathesis.pytest.from_fixture` loader would take the app fixture directly, but 4.32.5
# sets `Function._nodeid`, which pytest 9.2 no longer has.)
_document_app = create_app(
    {"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "fuzz"}
)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _document_app, config=CONFIG)


@pytest.fixture
def small_catalog(db):
    """A few published items of several types and shapes, and a snapshot of them."""
    fee = {"name": "工本费", "standard": "每证10元", "amount": "10", "basis": "《收费标准》"}
    publish(
        db,
        item_data(
            handling_item_data(code="XCJT-01-075-01", fees=[fee]),
            handling_item_data(
                code="XCJT-01-075-02",
                situation="变更",
                case_type="instant",
                promised_days=0,
                visits=1,
                visit_reason="须现场核验原件",
            ),
            code="XCJT-01-075",
            name="网络预约出租汽车经营许可",
        ),
        item_data(
            handling_item_data(code="XCJT-07-001-01", statutory_days=None, promised_days=30),
            code="XCJT-07-001",
            name="港口危险货物作业附证",
            type="confirmation",
            handling_unit="港航海事科",
        ),
        item_data(code="XCJT-10-001", name="公路超限运输认定", type="other"),
    )
    create_snapshot("2020", actor="fuzz")
    # 双公示: a licence decision of an organisation and one of a natural person
    for overrides in ({}, {"document_number": "许交运许〔2020〕2号", "party_name": "张三",
                           "party_class": "natural_person", "party_credit_code": None,
                           "legal_representative": None, "party_id_type": "resident_id",
                           "party_id_number": PERSON_ID}):  # fmt: skip
        create_licence(
            licence_data(item="XCJT-01-075", handling_item="XCJT-01-075-01", **overrides),
            actor="fuzz",
        )
    db.session.commit()


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # read-only requests
def test_every_operation_keeps_its_documented_contract(case, app, small_catalog):
    case.call_and_validate(session=app.test_client(), app=app)


# The bugs the fuzzing found, each with the request that showed it.


def test_method_not_allowed_names_the_allowed_methods(client):
    response = client.open("/api/v1/snapshots", method="TRACE")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "HEAD", "OPTIONS"}
    assert response.get_json()["error"]["status"] == 405


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/report?snapshot=%00",
        "/api/v1/report/compare?from=%00",
        "/api/v1/items/%00",
        "/api/v1/items?unit=%00",
        "/api/v1/handling-items/%00/deadline?date=2026-03-02",
        "/items/%00",
        "/reports?snapshot=%00",
    ],
)
def test_a_nul_character_is_a_bad_request_not_a_server_error(client, db, url):
    """PostgreSQL refuses NUL in a query; it was a 500 there and a 200/404 on SQLite."""
    response = client.get(url)
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/report/items?unit=" + "0" * 101,  # was cut to 100 characters and answered 200
        "/api/v1/items?unit=" + " " * 101,
        "/api/v1/items?q=" + "港" * 100 + " ",  # the search strips spaces before counting
        "/api/v1/items?cursor=" + "0" * 201,
        "/api/v1/items?limit=%C2%B2",  # "²".isdigit() is true but int("²") fails: was a 500
        "/api/v1/report/items?page=%C2%B2",
        "/api/v1/items?limit=%D9%A1%D9%A0",  # Arabic-Indic "10" was read as 10
    ],
)
def test_documented_limits_hold_for_the_parameters_as_sent(client, db, url):
    response = client.get(url)
    assert response.status_code == 400
    assert response.get_json()["error"]["status"] == 400


def test_a_label_longer_than_any_snapshot_is_not_cut_down_to_one(client, db):
    publish(db, item_data(code="A"))
    create_snapshot("x" * 50, actor="test")
    db.session.commit()
    assert client.get("/api/v1/report?snapshot=" + "x" * 50).status_code == 200
    assert client.get("/api/v1/report?snapshot=" + "x" * 51).status_code == 404
