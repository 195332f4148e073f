"""The app's JSON (orjson) is the document Flask's own provider wrote, byte for byte."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import uuid

import pytest
from flask.json.provider import DefaultJSONProvider
from markupsafe import Markup

from catalog.enums import ItemType
from catalog.json_provider import OrjsonProvider
from tests.factories import handling_item_data, item_data, publish


@dataclasses.dataclass
class Share:
    count: int
    total: int


def flask_provider(app) -> DefaultJSONProvider:
    """What the app wrote before: Flask's provider, keys unsorted, Chinese unescaped."""
    provider = DefaultJSONProvider(app)
    provider.sort_keys = False
    provider.ensure_ascii = False
    return provider


DOCUMENTS = [
    {"b": 1, "a": "许昌市交通运输局", "c": [1, 2.5, 90.95, None, True, False, "", {}, []]},
    {"applied_on": datetime.date(2026, 12, 21), "at": datetime.datetime(2020, 5, 1, 8, 30)},
    {"fee": decimal.Decimal("12.50"), "id": uuid.UUID(int=7), "share": Share(3, 4)},
    {"type": ItemType.licence, 2020: "year", "html": Markup("<b>港口</b>")},
    [{"text": 'quote " backslash \\ newline \n tab \t nul-free \u2028 \U0001f600'}],
]


@pytest.mark.parametrize("document", DOCUMENTS)
@pytest.mark.parametrize("debug", [False, True], ids=["compact", "debug"])
def test_responses_are_what_flasks_provider_wrote(app, document, debug):
    ours, flasks = OrjsonProvider(app), flask_provider(app)
    with app.test_request_context():
        app.debug = debug
        try:
            assert ours.response(document).get_data() == flasks.response(document).get_data()
        finally:
            app.debug = False
    assert ours.dumps(document) == flasks.dumps(document, separators=(",", ":"))
    assert ours.loads(ours.dumps(document)) == flasks.loads(flasks.dumps(document))


def test_templates_tojson_sorts_keys_as_jinja_asks(app):
    with app.test_request_context():
        template = app.jinja_env.from_string("{{ value|tojson }}")
        rendered = template.render(value={"b": "<乙>", "a": 1})
    assert rendered == '{"a":1,"b":"\\u003c乙\\u003e"}'


def test_what_json_cannot_hold_is_refused_as_before(app):
    with pytest.raises(TypeError):
        OrjsonProvider(app).dumps({"value": object()})


def test_the_report_api_is_the_document_flask_wrote(client, db, app):
    publish(db, item_data(handling_item_data(code="A-01"), code="A", name="港口经营许可"))
    response = client.get("/api/v1/report")
    assert response.mimetype == "application/json"
    assert response.get_data() == flask_provider(app).response(response.get_json()).get_data()
