"""The public side of 双公示 decision records (issue 24 parts 3 and 4), on SQLite and PostgreSQL:
the list's search and filters, the record and organisation pages, their JSON twins and the CSV
export; natural persons never found by name or ID number and their ID numbers masked; penalties
gone from every public surface after their 公示截止日期 or a credit repair; bad parameters
answered 400 in Chinese; the count on an item's guide."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from stdnum.cn import ric, uscc

from catalog.decisions import listing, operations
from catalog.decisions.rules import mask_id_number
from catalog.models import PenaltyDecision
from tests.api.test_views import assert_matches
from tests.decisions.conftest import ORGANISATION_CODE, PERSON_ID, licence_data, penalty_data

TODAY = date(2020, 12, 1)  # the day the public looks, set by the `today` fixture


def credit_code(serial: int, prefix: str = "91411000MA") -> str:
    body = f"{prefix}{serial:0{17 - len(prefix)}d}"
    return body + uscc.calc_check_digit(body + "0")


SOLE_TRADER_CODE = credit_code(7, "92411000MA")
OTHER_ID = "41010219800101001" + ric.calc_check_digit("41010219800101001" + "0")  # 赵六


@pytest.fixture
def today(monkeypatch):
    monkeypatch.setattr(listing, "public_today", lambda: TODAY)
    return TODAY


@pytest.fixture
def decisions(db, catalog_items, periods, today):
    """Decisions of every public state, by name: which the public sees and which it does not."""
    made = {
        "org_licence": operations.create_licence(licence_data(), actor="test"),
        # a natural person whose 从业资格证 number is the ID number (the free-text check lets it)
        "person_licence": operations.create_licence(
            licence_data(
                document_number="许交运许〔2020〕2号", party_name="张三",
                party_class="natural_person", party_credit_code=None,
                legal_representative=None, party_id_type="resident_id",
                party_id_number=PERSON_ID, certificate_name="道路运输从业资格证",
                certificate_number=PERSON_ID, decided_on=date(2020, 7, 1),
                valid_from=date(2020, 7, 1), published_on=date(2020, 7, 2),
            ),
            actor="test",
        ),
        "trader_licence": operations.create_licence(
            licence_data(
                document_number="许交运许〔2019〕9号", party_name="许昌市张三货运部",
                party_class="sole_trader", party_credit_code=SOLE_TRADER_CODE,
                legal_representative="张三", decided_on=date(2019, 9, 2),
                valid_from=date(2019, 9, 2), published_on=date(2019, 9, 4),
                data_source_unit="运输服务科", status="revoked",
            ),
            actor="test",
        ),
        "not_yet_published": operations.create_licence(
            licence_data(document_number="许交运许〔2020〕3号", decided_on=date(2020, 11, 30),
                         valid_from=date(2020, 11, 30), published_on=date(2020, 12, 2)),
            actor="test",
        ),
        "person_penalty": operations.create_penalty(penalty_data(), actor="test"),
        "org_penalty": operations.create_penalty(
            penalty_data(
                document_number="许交执罚〔2020〕2号", party_name="许昌示例运输有限公司",
                party_class="organisation", party_credit_code=ORGANISATION_CODE,
                legal_representative="王五", party_id_type=None, party_id_number=None,
                violation_type="超限运输", decided_on=date(2020, 9, 1),
                published_on=date(2020, 9, 3),
            ),
            actor="test",
        ),
        "expired_penalty": operations.create_penalty(
            penalty_data(
                document_number="许交执罚〔2019〕5号", party_name="许昌示例运输有限公司",
                party_class="organisation", party_credit_code=ORGANISATION_CODE,
                legal_representative="王五", party_id_type=None, party_id_number=None,
                decided_on=date(2019, 8, 1), published_on=date(2019, 8, 2),
                publication_ends_on=date(2020, 8, 1),
            ),
            actor="test",
        ),
        "repaired_penalty": operations.create_penalty(
            penalty_data(
                document_number="许交执罚〔2020〕3号", party_id_number=OTHER_ID,
                party_name="赵六", decided_on=date(2020, 3, 2), published_on=date(2020, 3, 4),
            ),
            actor="test",
        ),
    }  # fmt: skip
    operations.end_publication_early(
        made["repaired_penalty"], reason="已履行处罚并申请信用修复", actor="test",
        today=date(2020, 7, 1),
    )  # fmt: skip
    db.session.commit()
    return {name: (record.__class__, record.id) for name, record in made.items()}


PUBLIC = {"org_licence", "person_licence", "trader_licence", "person_penalty", "org_penalty"}
HIDDEN = {"not_yet_published", "expired_penalty", "repaired_penalty"}


def _key(decisions, name):
    model, record_id = decisions[name]
    return ("penalty" if model is PenaltyDecision else "licence", record_id)


def _found(client, url: str) -> set[tuple[str, int]]:
    body = client.get(url).get_json()
    assert "decisions" in body, body
    return {(row["kind"], row["id"]) for row in body["decisions"]}


def _names(decisions, keys) -> set[str]:
    by_key = {_key(decisions, name): name for name in decisions}
    return {by_key[key] for key in keys}


def test_the_list_shows_what_is_published_and_nothing_else(client, decisions):
    body = client.get("/api/v1/decisions?limit=100").get_json()
    assert _names(decisions, {(r["kind"], r["id"]) for r in body["decisions"]}) == PUBLIC
    assert body["total"] == len(PUBLIC) and body["next"] is None
    days = [row["decided_on"] for row in body["decisions"]]
    assert days == sorted(days, reverse=True)  # newest decision first
    page = client.get("/decisions").get_data(as_text=True)
    assert f"共 {len(PUBLIC)} 条决定" in page
    assert "许交执罚〔2019〕5号" not in page and "许交运许〔2020〕3号" not in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=licence", {"org_licence", "person_licence", "trader_licence"}),
        ("kind=penalty", {"person_penalty", "org_penalty"}),
        ("year=2019", {"trader_licence"}),
        ("year=2020&kind=penalty", {"person_penalty", "org_penalty"}),
        ("unit=运输服务科", {"trader_licence"}),
        ("unit=综合行政执法支队", {"person_penalty", "org_penalty"}),
        ("status=revoked", {"trader_licence"}),
        ("status=valid", {"org_licence", "person_licence"}),
        ("item=L-1", {"org_licence", "person_licence", "trader_licence"}),
        ("unit=没有这个单位", set()),
    ],
)
def test_filters(client, decisions, query, expected):
    assert _names(decisions, _found(client, f"/api/v1/decisions?{query}")) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("示例运输", {"org_licence", "org_penalty"}),  # an organisation's name, in part
        (ORGANISATION_CODE, {"org_licence", "org_penalty"}),  # its credit code
        (ORGANISATION_CODE.lower(), {"org_licence", "org_penalty"}),
        (SOLE_TRADER_CODE, {"trader_licence"}),  # a sole trader's
        ("张三货运部", {"trader_licence"}),
        ("〔2020〕2号", {"person_licence", "org_penalty"}),  # a document number, in part
        ("超限运输", {"org_penalty"}),  # a violation type
        ("货物运输经营许可", {"org_licence", "person_licence", "trader_licence"}),  # the item
        ("100%", set()),  # LIKE's wildcards are taken as they are
        ("_", set()),
    ],
)
def test_search(client, decisions, q, expected):
    assert _names(decisions, _found(client, f"/api/v1/decisions?q={q}")) == expected


@pytest.mark.parametrize(
    "q", ["张三", "李四", PERSON_ID, PERSON_ID[-6:], mask_id_number(PERSON_ID)]
)
def test_natural_persons_are_not_found_by_name_or_id_number(client, decisions, q):
    found = _names(decisions, _found(client, f"/api/v1/decisions?q={q}"))
    # 张三 finds the sole trader 许昌市张三货运部 by its own name, never the person 张三
    assert found <= {"trader_licence"}
    assert "person_licence" not in found and "person_penalty" not in found
    page = client.get(f"/decisions?q={q}").get_data(as_text=True)
    assert f"/decisions/licences/{decisions['person_licence'][1]}" not in page


def _no_whole_id(text: str) -> None:
    for number in (PERSON_ID, OTHER_ID):
        assert number not in text
        assert number.lower() not in text


def test_a_natural_persons_id_number_is_masked_on_every_surface(client, decisions):
    licence_id = decisions["person_licence"][1]
    penalty_id = decisions["person_penalty"][1]
    masked = mask_id_number(PERSON_ID)
    assert masked == PERSON_ID[:4] + "*" * 10 + PERSON_ID[-4:]
    for url in (f"/decisions/licences/{licence_id}", f"/decisions/penalties/{penalty_id}"):
        page = client.get(url).get_data(as_text=True)
        assert masked in page
        _no_whole_id(page)
    record = client.get(f"/api/v1/decisions/licences/{licence_id}").get_json()
    assert record["party_id_number"] == masked
    assert record["certificate_number"] == masked  # the certificate number is the ID number
    assert record["party_name"] == "张三"  # the name is shown as given (docs/decisions.md)
    for url in ("/decisions", "/api/v1/decisions?limit=100", "/decisions.csv",
                f"/api/v1/decisions/penalties/{penalty_id}",
                f"/api/v1/organisations/{ORGANISATION_CODE}"):  # fmt: skip
        _no_whole_id(client.get(url).get_data(as_text=True))


def test_a_penalty_past_its_end_or_repaired_is_gone_from_every_public_surface(client, decisions):
    for name in ("expired_penalty", "repaired_penalty"):
        penalty_id = decisions[name][1]
        page = client.get(f"/decisions/penalties/{penalty_id}")
        assert page.status_code == 404 and "不再公示" in page.get_data(as_text=True)
        api = client.get(f"/api/v1/decisions/penalties/{penalty_id}")
        assert api.status_code == 404 and "不再公示" in api.get_json()["error"]["message"]
    organisation = client.get(f"/api/v1/organisations/{ORGANISATION_CODE}").get_json()
    assert [row["document_number"] for row in organisation["penalties"]] == ["许交执罚〔2020〕2号"]
    assert "许交执罚〔2019〕5号" not in client.get("/decisions.csv").get_data(as_text=True)
    # a licence not yet at its 公示日期 is not public either
    hidden = decisions["not_yet_published"][1]
    assert client.get(f"/decisions/licences/{hidden}").status_code == 404


def test_a_penalty_leaves_the_list_the_day_after_its_end(client, decisions, monkeypatch):
    ends = client.get(f"/api/v1/decisions/penalties/{decisions['person_penalty'][1]}").get_json()[
        "publication_ends_on"
    ]
    end = date.fromisoformat(ends)
    monkeypatch.setattr(listing, "public_today", lambda: end)
    assert "person_penalty" in _names(decisions, _found(client, "/api/v1/decisions?kind=penalty"))
    monkeypatch.setattr(listing, "public_today", lambda: date.fromordinal(end.toordinal() + 1))
    assert "person_penalty" not in _names(
        decisions, _found(client, "/api/v1/decisions?kind=penalty")
    )


def test_the_record_page_shows_every_public_field(client, decisions, spec):
    licence_id = decisions["org_licence"][1]
    page = client.get(f"/decisions/licences/{licence_id}").get_data(as_text=True)
    data = licence_data()
    fields = ("document_number", "party_name", "party_credit_code", "legal_representative",
              "certificate_name", "certificate_number", "content", "authority",
              "authority_credit_code", "data_source_unit")  # fmt: skip
    dates = ("decided_on", "valid_until", "published_on")
    for value in (
        [data[f] for f in fields] + [data[d].isoformat() for d in dates] + ["有效", "普通"]
    ):
        assert value in page, value
    assert f'href="/decisions/organisations/{ORGANISATION_CODE}"' in page
    assert 'href="/items/L-1"' in page
    record = client.get(f"/api/v1/decisions/licences/{licence_id}")
    assert_matches(spec, "Decision", record.get_json())
    assert record.get_json()["valid_until"] == "2024-05-31"
    penalty = client.get(f"/api/v1/decisions/penalties/{decisions['org_penalty'][1]}").get_json()
    assert_matches(spec, "Decision", penalty)
    assert penalty["fine_amount"] == "3" and penalty["category"] == "fine"
    page = client.get(f"/decisions/penalties/{decisions['org_penalty'][1]}").get_data(as_text=True)
    for value in ("超限运输", penalty_data()["legal_basis"], "3 万元", "罚款", "公示截止日期"):
        assert value in page, value


def test_the_organisation_page_lists_its_licences_and_penalties(client, decisions, spec):
    page = client.get(f"/decisions/organisations/{ORGANISATION_CODE.lower()}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "许昌示例运输有限公司" in text and "行政许可决定 1 条" in text
    assert "行政处罚决定 1 条" in text  # the expired one is not counted
    body = client.get(f"/api/v1/organisations/{ORGANISATION_CODE}").get_json()
    assert_matches(spec, "Organisation", body)
    assert [row["id"] for row in body["licences"]] == [decisions["org_licence"][1]]
    assert body["party_class"] == "organisation"
    trader = client.get(f"/api/v1/organisations/{SOLE_TRADER_CODE}").get_json()
    assert trader["name"] == "许昌市张三货运部" and trader["penalties"] == []
    unknown = client.get(f"/api/v1/organisations/{credit_code(99)}")
    assert unknown.status_code == 404 and "没有" in unknown.get_json()["error"]["message"]


def test_pages_follow_each_other_by_cursor(client, decisions):
    seen, url = [], "/api/v1/decisions?limit=2"
    while url:
        body = client.get(url).get_json()
        assert body["total"] == len(PUBLIC)
        seen += [(row["decided_on"], row["kind"], row["id"]) for row in body["decisions"]]
        url = body["next"] and f"/api/v1/decisions?limit=2&cursor={body['next']}"
    assert len(seen) == len(set(seen)) == len(PUBLIC)
    assert [day for day, _kind, _id in seen] == sorted((d for d, _k, _i in seen), reverse=True)
    first = client.get("/decisions").get_data(as_text=True)
    assert 'rel="next"' not in first  # 5 decisions fit the page of 20


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("year=abcd", "年份"),
        ("year=1999", "年份"),
        ("year=%D9%A2%D9%A0%D9%A2%D9%A0", "年份"),  # Arabic-Indic "2020"
        ("kind=permit", "类别"),
        ("status=lost", "许可状态"),
        ("kind=penalty&status=valid", "许可状态"),
        ("kind=penalty&item=L-1", "事项"),
        ("item=C-1", "事项"),  # not a licence item
        ("item=NO-SUCH", "事项"),
        ("q=" + "港" * 101, "搜索词"),
        ("unit=" + "科" * 101, "数据来源单位"),
        ("q=%01", "搜索词"),
        ("cursor=bm90LWEtY3Vyc29y", "分页"),
    ],
)
def test_bad_parameters_are_400_in_chinese_naming_the_field(client, decisions, query, field):
    api = client.get(f"/api/v1/decisions?{query}")
    assert api.status_code == 400
    assert field in api.get_json()["error"]["message"]
    page = client.get(f"/decisions?{query}")
    assert page.status_code == 400 and field in page.get_data(as_text=True)
    export = client.get(f"/decisions.csv?{query}")
    if "cursor" not in query:  # the export has no pages: it ignores a cursor
        assert export.status_code == 400 and field in export.get_data(as_text=True)


@pytest.mark.parametrize("limit", ["0", "101", "abc", "%C2%B2", "1" * 20])
def test_a_bad_limit_is_400(client, db, limit):
    response = client.get(f"/api/v1/decisions?limit={limit}")
    assert response.status_code == 400 and "每页条数" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    "code", ["123", "91350100M000100Y44", "9135010OM000100Y43", "X" * 40]
)  # too short, a wrong check character, a letter O, too long
def test_a_bad_credit_code_is_400(client, db, code):
    api = client.get(f"/api/v1/organisations/{code}")
    assert api.status_code == 400 and "统一社会信用代码" in api.get_json()["error"]["message"]
    assert client.get(f"/decisions/organisations/{code}").status_code == 400


def test_the_csv_export_has_the_lists_filters_and_its_privacy(client, decisions):
    response = client.get("/decisions.csv?kind=licence")
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    assert {row["决定文书号"] for row in rows} == {
        "许交运许〔2020〕1号", "许交运许〔2020〕2号", "许交运许〔2019〕9号"
    }  # fmt: skip
    person = next(row for row in rows if row["行政相对人类别"] == "自然人")
    assert person["证件号码"] == mask_id_number(PERSON_ID) == person["许可证书编号"]
    assert {row["有效期至"] for row in rows} == {"2024-05-31"}
    penalties = list(csv.DictReader(io.StringIO(client.get("/decisions.csv?kind=penalty")
                                                .get_data(as_text=True)[1:])))  # fmt: skip
    assert sorted(row["罚款金额（万元）"] for row in penalties) == ["3", "3"]


def test_the_export_refuses_more_rows_than_its_bound(client, decisions, monkeypatch):
    monkeypatch.setattr(listing, "MAX_EXPORT_ROWS", 2)
    response = client.get("/decisions.csv")
    assert response.status_code == 400 and "请加上" in response.get_data(as_text=True)
    assert client.get("/decisions.csv?year=2019").status_code == 200


def test_the_guide_counts_the_items_public_licence_decisions(client, decisions):
    page = client.get("/items/L-1").get_data(as_text=True)
    public = [n for n in PUBLIC if n.endswith("licence")]
    assert f"本事项已公示许可决定 {len(public)} 条" in page
    assert re.search(r'href="/decisions\?item=L-1"[^>]*>本事项已公示许可决定', page)
    assert client.get("/api/v1/items/L-1").get_json()["licence_decisions"] == len(public)
    listed = client.get("/decisions?item=L-1").get_data(as_text=True)
    assert f"共 {len(public)} 条决定" in listed
    # an item of another type has no such line; its API twin counts 0
    assert "本事项已公示许可决定" not in client.get("/items/C-1").get_data(as_text=True)
    assert client.get("/api/v1/items/C-1").get_json()["licence_decisions"] == 0


def test_the_list_validates_against_the_documented_schema(client, decisions, spec):
    body = client.get("/api/v1/decisions?limit=2").get_json()
    assert_matches(spec, "DecisionPage", body)
    assert body["decisions"][0]["url"].startswith("/api/v1/decisions/")


def test_every_api_route_is_in_the_openapi_document(app, spec):
    documented = set(spec["paths"])
    routes = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and "GET" in rule.methods
    } - {"/api/v1/", "/api/v1/openapi.json"}
    assert routes - documented == set()


@pytest.fixture(scope="module")
def spec(app):
    with app.test_request_context():
        return app.test_client().get("/api/v1/openapi.json").get_json()


def test_the_lists_filter_options_are_the_units_and_years_of_public_decisions(
    client, db, decisions
):
    """The unit and year choices of /decisions: a unit (or year) whose decisions are all hidden
    (not yet published, or a penalty past its end) is not offered."""
    hidden = {
        "licence": operations.create_licence(
            licence_data(document_number="许交运许〔2018〕8号", data_source_unit="科技信息科",
                         decided_on=date(2018, 3, 1), valid_from=date(2018, 3, 1),
                         published_on=date(2020, 12, 5)),
            actor="test",
        ),
        "penalty": operations.create_penalty(
            penalty_data(document_number="许交执罚〔2019〕4号", data_source_unit="路政管理科",
                         decided_on=date(2019, 8, 5), published_on=date(2019, 8, 6),
                         publication_ends_on=date(2020, 8, 5)),
            actor="test",
        ),
    }  # fmt: skip
    db.session.commit()
    public = [db.session.get(*decisions[name]) for name in PUBLIC]
    units, years = listing.list_options()
    assert units == sorted({record.data_source_unit for record in public})
    assert not {record.data_source_unit for record in hidden.values()} & set(units)
    first, last = min(r.decided_on for r in public).year, max(r.decided_on for r in public).year
    assert years == list(range(last, first - 1, -1))
    page = client.get("/decisions").get_data(as_text=True)
    offered = re.search(r'<select id="unit" name="unit">(.*?)</select>', page, re.S)[1]
    assert re.findall(r"<option\s*>([^<]+)</option>", offered) == units
    assert "科技信息科" not in page and "路政管理科" not in page
