"""Privacy over the whole modelled 2020 seed (3,276 decisions), on SQLite and PostgreSQL: no
public page, JSON response or CSV export holds any whole ID number of the seed, no natural
person is found by name or ID number, and the public list holds exactly the decisions the
publication rules let through, on a day when some 2020 penalties are still published and some
are not."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from catalog.decisions import listing
from catalog.decisions.filters import DecisionFilters
from catalog.decisions.operations import is_publicly_listed
from catalog.decisions.seed import load_decision_seed
from catalog.enums import PartyClass
from catalog.models import LicenceDecision, PenaltyDecision

# 2021-06-30: every 2020 decision is published; general penalties of the first half of 2020
# (one year) have left publication, those of the second half and the serious ones have not.
LOOK_DAY = date(2021, 6, 30)
# 17 digits and a digit or X, not inside a longer run: anything shaped like a whole ID number
WHOLE_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


@pytest.fixture
def seed_records(db, seeded, seed_dir, monkeypatch):
    assert load_decision_seed(seed_dir) == (2036, 1240)
    db.session.commit()
    monkeypatch.setattr(listing, "public_today", lambda: LOOK_DAY)
    licences = db.session.scalars(sa.select(LicenceDecision)).all()
    penalties = db.session.scalars(sa.select(PenaltyDecision)).all()
    return licences, penalties


def _holds_no_id(text: str, numbers: set[str], where: str) -> None:
    leaked = {n for n in WHOLE_ID.findall(text) if n.upper() in numbers}
    assert not leaked, f"{where}: {sorted(leaked)[:3]}"


def test_the_whole_seed_keeps_natural_persons_private(app, client, seed_records):
    """(One test: loading the seed costs more than the checks.)"""
    licences, penalties = seed_records
    people = [r for r in (*licences, *penalties) if r.party_class == PartyClass.natural_person]
    numbers = {r.party_id_number.upper() for r in people}
    assert len(numbers) > 500  # the seed's natural persons, each with a whole ID number stored

    public = {("licence", r.id) for r in licences} | {
        ("penalty", r.id) for r in penalties if is_publicly_listed(r, LOOK_DAY)
    }
    assert 0 < sum(kind == "penalty" for kind, _ in public) < len(penalties)

    # the JSON list, every page: exactly the public decisions, no whole ID number
    listed, url = [], "/api/v1/decisions?limit=100"
    while url:
        response = client.get(url)
        _holds_no_id(response.get_data(as_text=True), numbers, url)
        body = response.get_json()
        listed += [(row["kind"], row["id"]) for row in body["decisions"]]
        url = body["next"] and f"/api/v1/decisions?limit=100&cursor={body['next']}"
    assert len(listed) == len(set(listed)) and set(listed) == public

    # the CSV export of everything, and of each kind
    for query in ("", "?kind=licence", "?kind=penalty"):
        export = client.get(f"/decisions.csv{query}")
        assert export.status_code == 200
        _holds_no_id(export.get_data(as_text=True), numbers, f"/decisions.csv{query}")
    rows = client.get("/decisions.csv").get_data(as_text=True).count("\n") - 1
    assert rows == len(public)

    # every HTML page of the list
    url, pages = "/decisions", 0
    while url:
        text = client.get(url).get_data(as_text=True)
        _holds_no_id(text, numbers, url)
        found = re.search(r'href="(/decisions\?cursor=[^"]+)" rel="next"', text)
        url = found and found.group(1).replace("&amp;", "&")
        pages += 1
    assert pages == -(-len(public) // 20)

    # the page and the JSON of every public natural person's decision (the ones with an ID)
    for record in people:
        kind = "licence" if isinstance(record, LicenceDecision) else "penalty"
        if (kind, record.id) not in public:
            continue
        path = f"/decisions/{'licences' if kind == 'licence' else 'penalties'}/{record.id}"
        for url in (path, "/api/v1" + path):
            response = client.get(url)
            assert response.status_code == 200, url
            _holds_no_id(response.get_data(as_text=True), numbers, url)

    # a sample of organisations' pages and their JSON
    codes = sorted({r.party_credit_code for r in (*licences, *penalties) if r.party_credit_code})
    for code in codes[::25]:
        for url in (f"/decisions/organisations/{code}", f"/api/v1/organisations/{code}"):
            _holds_no_id(client.get(url).get_data(as_text=True), numbers, url)

    # no natural person found by searching for any seeded natural person's name or ID number
    person_keys = {
        ("licence" if isinstance(r, LicenceDecision) else "penalty", r.id) for r in people
    }
    queries = {r.party_name for r in people} | {r.party_id_number for r in people}
    with app.test_request_context():
        for q in sorted(queries):
            found = {(d.kind, d.id) for d in listing.export_decisions(DecisionFilters(q=q))}
            assert not found & person_keys, q
