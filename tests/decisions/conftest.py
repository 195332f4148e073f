"""Decision fixtures: a licence item and an item of another type, the publication periods,
and valid payloads that tests override field by field."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from catalog.enums import Status
from catalog.models import PublicationPeriod
from catalog.services import create_item
from tests.factories import handling_item_data, item_data

ORGANISATION_CODE = "91350100M000100Y43"
AUTHORITY_CODE = "91110000600037341L"
PERSON_ID = "11010519491231002X"


def licence_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "document_number": "许交运许〔2020〕1号",
        "item": "L-1",
        "handling_item": "L-1-01",
        "category": "ordinary",
        "certificate_name": "道路运输经营许可证",
        "certificate_number": "豫交运管许可许字411000000001号",
        "content": "准予从事道路普通货物运输经营。",
        "party_name": "许昌示例运输有限公司",
        "party_class": "organisation",
        "party_credit_code": ORGANISATION_CODE,
        "legal_representative": "王五",
        "decided_on": date(2020, 6, 1),
        "valid_from": date(2020, 6, 1),
        "valid_until": date(2024, 5, 31),
        "authority": "许昌市交通运输局",
        "authority_credit_code": AUTHORITY_CODE,
        "data_source_unit": "行政审批服务科",
        "published_on": date(2020, 6, 3),
    }
    data.update(overrides)
    return data


def penalty_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "document_number": "许交执罚〔2020〕1号",
        "violation_type": "未取得道路运输经营许可，擅自从事道路运输经营",
        "violation_facts": "2020年5月20日，当事人未取得道路运输经营许可从事货物运输。",
        "legal_basis": "《中华人民共和国道路运输条例》第六十三条",
        "category": "fine",
        "content": "罚款人民币叁万元。",
        "fine_amount": "3",
        "confiscated_amount": None,
        "severity": "general",
        "party_name": "李四",
        "party_class": "natural_person",
        "party_id_type": "resident_id",
        "party_id_number": PERSON_ID,
        "decided_on": date(2020, 6, 1),
        "authority": "许昌市交通运输局",
        "authority_credit_code": AUTHORITY_CODE,
        "data_source_unit": "综合行政执法支队",
        "published_on": date(2020, 6, 5),
    }
    data.update(overrides)
    return data


@pytest.fixture
def catalog_items(db):
    """A published licence item L-1 (handling item L-1-01) and a 行政确认 item C-1."""
    create_item(item_data(handling_item_data(code="L-1-01"), code="L-1"), status=Status.published)
    create_item(
        item_data(
            handling_item_data(code="C-1-01"), code="C-1", name="车辆年审", type="confirmation"
        ),
        status=Status.published,
    )
    db.session.commit()


@pytest.fixture
def periods(db):
    """The rule of 发改办财金〔2019〕527号 (general 3-12 months, serious 6-36), as migration
    0029 writes it (the test database is emptied between tests; a first test finds the
    migration's rows)."""
    db.session.execute(sa.delete(PublicationPeriod))
    for severity, low, high in (("general", 3, 12), ("serious", 6, 36)):
        db.session.add(
            PublicationPeriod(
                severity=severity,
                effective_from=date(2019, 7, 1),
                min_months=low,
                max_months=high,
                source="发改办财金〔2019〕527号",
            )
        )
    db.session.commit()
