"""The 双公示 report's kept figures (catalog.decisions.sums, migration 0039), on SQLite and
PostgreSQL: after every kind of change (create, an edit moving a decision's unit, date, item,
category, amounts or publication days, a bulk update, a bulk insert, the import's apply, a
credit repair, a refused and a rolled-back change) the kept rows equal a rebuild from the
decisions, and the report and its not-public counts equal a count over the rows in Python
(the on-time rule recomputed from rules.publish_by, not read from the stored column). The long
lists are bounded: the first LIST_LIMIT late decisions and items without, with their totals."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from catalog.decisions import operations, report, rules, sums
from catalog.decisions.unlisted import not_public
from catalog.domain import Conflict, Invalid
from catalog.enums import Status
from catalog.models import CreditRepair, LicenceDecision, PenaltyDecision
from catalog.services import create_item
from tests.decisions.conftest import licence_data, penalty_data
from tests.factories import handling_item_data, item_data
from tests.staff.conftest import accounts, fresh_limits, login_as  # noqa: F401 (fixtures)

pytestmark = pytest.mark.usefixtures("catalog_items", "periods")


@pytest.fixture
def second_item(db):
    create_item(item_data(handling_item_data(code="L-2-01"), code="L-2", name="危险货物运输许可"),
                status=Status.published)  # fmt: skip
    db.session.commit()


def assert_kept(db) -> None:
    """The kept rows equal a rebuild from the rows."""
    connection = db.session.connection()
    assert sums.kept(connection) == sums.computed(connection)


def _rows(db, model) -> list:
    return db.session.scalars(sa.select(model)).all()


def hand_report(db, year: int, unit: str | None = None) -> dict:
    """The figures the report must give, counted over the rows in Python."""
    repaired = set(db.session.scalars(sa.select(CreditRepair.penalty_id)))
    result = {}
    for kind, model in (("licence", LicenceDecision), ("penalty", PenaltyDecision)):
        rows = [
            d for d in _rows(db, model)
            if d.decided_on.year == year and unit in (None, d.data_source_unit)
        ]  # fmt: skip
        late = sorted((d for d in rows if d.published_on > rules.publish_by(d.decided_on)),
                      key=lambda d: (d.decided_on, d.id))  # fmt: skip
        figures = {"total": len(rows), "on_time": len(rows) - len(late),
                   "late": [d.document_number for d in late]}  # fmt: skip
        if kind == "licence":
            figures["by_item"] = dict(Counter(d.item.code for d in rows))
        else:
            figures["fines"] = {}
            for d in rows:
                n, fine, conf = figures["fines"].get(d.category.value, (0, 0, 0))
                figures["fines"][d.category.value] = (
                    n + 1, fine + (d.fine_amount or Decimal(0)),
                    conf + (d.confiscated_amount or Decimal(0)),
                )  # fmt: skip
            figures["repaired"] = sum(1 for d in rows if d.id in repaired)
        result[kind] = figures
    return result


def hand_hidden(db, year: int, today: date) -> dict[str, int]:
    """How many of the year's decisions of each kind the public does not see on `today`."""
    repaired = set(db.session.scalars(sa.select(CreditRepair.penalty_id)))
    hidden = {"licence": 0, "penalty": 0}
    for d in _rows(db, LicenceDecision):
        hidden["licence"] += d.decided_on.year == year and d.published_on > today
    for d in _rows(db, PenaltyDecision):
        hidden["penalty"] += d.decided_on.year == year and (
            d.published_on > today or d.publication_ends_on < today or d.id in repaired
        )
    return hidden


def assert_report(db, year: int = 2020, unit: str | None = None) -> None:
    got, want = report.decision_report(year, unit), hand_report(db, year, unit)
    for kind in ("licence", "penalty"):
        part = got[kind]
        assert part["total"] == want[kind]["total"]
        assert part["on_time"]["count"] == want[kind]["on_time"]
        assert part["late_total"] == len(want[kind]["late"])
        assert [e["document_number"] for e in part["late"]] == want[kind]["late"][
            : report.LIST_LIMIT
        ]
    assert {e["code"]: e["count"] for e in got["licence"]["by_item"]} == want["licence"]["by_item"]
    fines = {
        c["key"]: (c["count"], Decimal(str(c["fine_total"])),
                   Decimal(str(c["confiscated_total"])))
        for c in got["penalty"]["by_category"] if c["count"]
    }  # fmt: skip
    assert fines == want["penalty"]["fines"]


def check_all(db, today: date = date(2021, 1, 15)) -> None:
    assert_kept(db)
    for year in (2019, 2020):
        assert_report(db, year)
        for unit in ("行政审批服务科", "综合行政执法支队", "运输服务科"):
            assert_report(db, year, unit)
        counted = not_public(year, None, today)
        hidden = hand_hidden(db, year, today)
        assert (counted["licence"]["total"], counted["penalty"]["total"]) == (
            hidden["licence"],
            hidden["penalty"],
        )


def test_every_kind_of_change_keeps_the_figures(db, second_item):
    licence = operations.create_licence(licence_data(), actor="t")
    penalty = operations.create_penalty(penalty_data(fine_amount="3.123456"), actor="t")
    db.session.commit()
    check_all(db)

    # an edit moving the licence's unit, item, date (to another year) and publication (late)
    for change in (
        {"data_source_unit": "运输服务科"},
        {"item": "L-2", "handling_item": "L-2-01"},
        {"published_on": date(2020, 7, 1)},  # late
        {"decided_on": date(2019, 12, 2), "valid_from": date(2019, 12, 2),
         "published_on": date(2019, 12, 3)},
    ):  # fmt: skip
        data = {**operations.record_data(licence), **change}
        operations.update_licence(licence, data, expected_version=licence.version, actor="t")
        db.session.commit()
        check_all(db)

    # the penalty's category, amounts, unit, days and end of publication
    for change in (
        {"category": "confiscation", "fine_amount": None, "confiscated_amount": "0.5"},
        {"data_source_unit": "运输服务科", "fine_amount": "12.000001"},
        {"published_on": date(2020, 8, 1)},  # late
        {"publication_ends_on": date(2021, 1, 10)},  # ended before the public's day
    ):
        data = {**operations.record_data(penalty), **change}
        operations.update_penalty(penalty, data, expected_version=penalty.version, actor="t")
        db.session.commit()
        check_all(db)


def test_bulk_writes_a_credit_repair_and_refused_changes_keep_the_figures(db, second_item):
    records = [licence_data(document_number=f"许交运许〔2020〕{n}号",
                            item="L-2" if n % 2 else "L-1",
                            handling_item="L-2-01" if n % 2 else "L-1-01",
                            published_on=date(2020, 6, 30 if n % 3 == 0 else 3))
               for n in range(1, 9)]  # fmt: skip
    operations.create_many(LicenceDecision, records, actor="t", reason=None)
    penalties = [penalty_data(document_number=f"许交执罚〔2020〕{n}号", fine_amount=f"{n}.25",
                              decided_on=date(2020, 1 + n, 3), published_on=date(2020, 1 + n, 6))
                 for n in range(1, 6)]  # fmt: skip
    operations.create_many(PenaltyDecision, penalties, actor="t", reason=None)
    db.session.commit()
    check_all(db)

    # a bulk update (the import's apply): units and days of several records at once
    saved = db.session.scalars(sa.select(LicenceDecision).order_by(LicenceDecision.id)).all()
    wanted = [{**operations.record_data(d), "data_source_unit": "运输服务科",
               "published_on": date(2020, 6, 2)} for d in saved[:4]]  # fmt: skip
    checked, errors = operations.check_many(LicenceDecision, wanted, [d.id for d in saved[:4]])
    assert not errors
    versions = {d.id: d.version for d in saved[:4]}
    operations.update_many(list(zip(saved[:4], checked, strict=True)), versions=versions,
                           actor="t", reason="导入")  # fmt: skip
    db.session.commit()
    check_all(db)

    # a credit repair moves its penalty to the ended rows
    first = db.session.scalars(sa.select(PenaltyDecision).order_by(PenaltyDecision.id)).first()
    operations.end_publication_early(first, reason="已整改。", actor="t", today=date(2020, 12, 1))
    db.session.commit()
    check_all(db)

    # a refused change writes nothing: a stale version, an invalid record, a rollback
    before = sums.kept(db.session.connection())
    data = {**operations.record_data(saved[5]), "data_source_unit": "别的科"}
    with pytest.raises(Conflict):
        operations.update_licence(saved[5], data, expected_version=saved[5].version + 1, actor="t")
    with pytest.raises(Invalid):
        operations.create_licence(licence_data(document_number="X", item="C-1"), actor="t")
    operations.update_licence(saved[5], data, expected_version=saved[5].version, actor="t")
    operations.create_penalty(penalty_data(document_number="回滚"), actor="t")
    db.session.rollback()
    assert sums.kept(db.session.connection()) == before
    check_all(db)


def test_the_import_apply_keeps_the_figures(db, login_as):  # noqa: F811
    from tests.staff.test_decision_import import apply, upload, xlsx_from_template

    client = login_as("editor")
    rows = [licence_data(document_number=f"许交运许〔2020〕{n}号", published_on=date(2020, 7, n))
            for n in range(1, 4)]  # fmt: skip
    page = upload(client, "licence", xlsx_from_template(client, "licence", rows), "a.xlsx")
    assert apply(client, page.get_data(as_text=True)).status_code == 302
    check_all(db)
    # the same file with other units: the apply updates them
    rows = [{**row, "data_source_unit": "运输服务科"} for row in rows]
    page = upload(client, "licence", xlsx_from_template(client, "licence", rows), "b.xlsx")
    assert apply(client, page.get_data(as_text=True)).status_code == 302
    check_all(db)
    assert report.decision_report(2020, "运输服务科")["licence"]["total"] == 3


def test_not_public_this_month_and_ahead_of_publication(db):
    """The kept sums count the months before today's; the rows count this month's ends before
    today and the decisions not yet published: every day of a month against a hand count."""
    for n, ends in enumerate((date(2021, 3, 1), date(2021, 3, 10), date(2021, 3, 31),
                              date(2021, 2, 27), date(2021, 4, 1)), start=1):  # fmt: skip
        operations.create_penalty(
            penalty_data(document_number=f"P{n}", decided_on=date(2020, 9, n),
                         published_on=date(2020, 9, 10), publication_ends_on=ends),
            actor="t",
        )  # fmt: skip
    operations.create_licence(
        licence_data(decided_on=date(2020, 12, 30), valid_from=date(2020, 12, 30),
                     published_on=date(2021, 3, 15)),
        actor="t",
    )  # fmt: skip
    db.session.commit()
    day = date(2021, 2, 25)
    while day <= date(2021, 4, 3):
        counted, hidden = not_public(2020, None, day), hand_hidden(db, 2020, day)
        assert (counted["licence"]["total"], counted["penalty"]["total"]) == (
            hidden["licence"],
            hidden["penalty"],
        ), day
        day += timedelta(days=1)


def test_the_long_lists_show_their_first_ones_and_their_totals(db, second_item, monkeypatch):
    monkeypatch.setattr(report, "LIST_LIMIT", 2)
    for n in range(1, 6):  # five late licences of L-1, decided in reverse order of their ids
        operations.create_licence(
            licence_data(document_number=f"许交运许〔2020〕{n}号", decided_on=date(2020, 6, 10 - n),
                         valid_from=date(2020, 6, 10 - n), published_on=date(2020, 7, 30)),
            actor="t",
        )  # fmt: skip
    for code in ("L-3", "L-4", "L-5"):  # three more licence items with none
        create_item(item_data(handling_item_data(code=f"{code}-01"), code=code),
                    status=Status.published)  # fmt: skip
    db.session.commit()
    licence = report.decision_report(2020)["licence"]
    assert licence["late_total"] == 5
    assert [e["document_number"] for e in licence["late"]] == [
        "许交运许〔2020〕5号",
        "许交运许〔2020〕4号",
    ]
    assert licence["late_list"] == "/api/v1/decisions?kind=licence&year=2020&late=1"
    assert licence["without_decisions_total"] == 4  # L-2 to L-5
    assert licence["without_decisions"] == ["L-2", "L-3"]
    assert licence["licence_items"] == 5 and licence["with_decisions"] == 1


def test_the_items_without_page_lists_them_all_a_page_at_a_time(client, db, monkeypatch):
    from catalog.public import decisions as public_decisions

    monkeypatch.setattr(report, "LIST_LIMIT", 2)
    monkeypatch.setattr(public_decisions, "ITEMS_PER_PAGE", 2)
    operations.create_licence(licence_data(), actor="t")  # L-1 has one; C-1 is no licence item
    codes = [f"L-{n}" for n in range(2, 7)]
    for code in codes:
        create_item(item_data(handling_item_data(code=f"{code}-01"), code=code),
                    status=Status.published)  # fmt: skip
    db.session.commit()
    page = client.get("/reports?decisions_year=2020").get_data(as_text=True)
    link = "/decisions/items-without?year=2020"
    assert f'href="{link}"' in page and "查看全部 5 个没有许可决定的事项" in page
    assert (
        client.get("/api/v1/report?decisions_year=2020").get_json()["decisions"]["report"][
            "licence"
        ]["without_decisions_list"]
        == link
    )
    listed, url = [], link
    while url:
        response = client.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        listed += re.findall(r'data-label="事项编码"><a href="/items/[^"]+">([^<]+)</a>', html)
        found = re.search(r'class="next" href="([^"]+)"', html)
        url = found and found[1].replace("&amp;", "&")
    assert listed == codes  # every offered licence item without a decision, in code order
    unit_page = client.get(link + "&unit=行政审批服务科").get_data(as_text=True)
    assert "共 5 项" in unit_page  # the items' handling unit (tests.factories)


@pytest.mark.parametrize(("query", "status", "words"), [
    ("", 400, "year"), ("year=20", 400, "year"), ("year=2020&page=0", 400, "page"),
    ("year=2020&page=x", 400, "page"), ("year=2020&page=9", 400, "page"),
    ("year=2020&unit=没有的单位", 404, "没有的单位"), ("year=2020&unit=" + "长" * 101, 400, "单位"),
])  # fmt: skip
def test_the_items_without_page_refuses_bad_input_in_chinese(client, db, query, status, words):
    response = client.get("/decisions/items-without?" + query)
    assert response.status_code == status
    assert words in response.get_data(as_text=True)


def test_the_rebuild_and_check_commands(cli, db):
    from catalog.models import decision_sums

    operations.create_licence(licence_data(), actor="t")
    operations.create_penalty(penalty_data(), actor="t")
    db.session.commit()
    result = cli.invoke(args=["decisions", "sums", "rebuild", "--if-stale"])
    assert result.exit_code == 0 and "无需重建" in result.output
    assert cli.invoke(args=["decisions", "sums", "check"]).exit_code == 0
    db.session.execute(decision_sums.delete())  # as a write around the service layer leaves it
    db.session.commit()
    result = cli.invoke(args=["decisions", "sums", "check"])
    assert result.exit_code == 1 and "flask decisions sums rebuild" in result.output
    result = cli.invoke(args=["decisions", "sums", "rebuild", "--if-stale"])
    assert result.exit_code == 0 and "已重建" in result.output, result.output
    assert cli.invoke(args=["decisions", "sums", "check"]).exit_code == 0
    assert_kept(db)


def test_an_older_snapshots_whole_lists_are_counted_as_they_were(db):
    """A snapshot frozen before the lists were bounded has whole lists and no totals: the
    text, the CSV and the XLSX count its lists."""
    from catalog.decisions.report_text import csv_rows, render_text

    operations.create_licence(licence_data(published_on=date(2020, 7, 1)), actor="t")  # late
    db.session.commit()
    old = report.decision_report(2020)
    for part in (old["licence"], old["penalty"]):
        part.pop("late_total"), part.pop("late_list")
    old["licence"]["late"] *= 3  # as whole lists were kept
    old["licence"].pop("without_decisions_total"), old["licence"].pop("without_decisions_list")
    assert "逾期公示 3" in render_text(old)
    assert ["双公示 2020年", "行政许可", "逾期公示", 3, "", None] in csv_rows(old)
    assert report.late_total(old["licence"]) == 3
    assert report.without_total(old["licence"]) == len(old["licence"]["without_decisions"])
