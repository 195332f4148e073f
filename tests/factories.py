"""Valid payloads for the service layer; tests override the fields they are about."""

from __future__ import annotations

import copy
from typing import Any

BASE_HANDLING_ITEM: dict[str, Any] = {
    "code": "T-01-001-01",
    "situation": "新办",
    "case_type": "promised",
    "statutory_days": 20,
    "promised_days": 5,
    "visits": 0,
    "visit_reason": None,
    "forms": ["window", "online"],
    "online_depth": 4,
    "fees": "none",
    "materials": [
        {"name": "申请表", "form": "paper_or_electronic"},
        {"name": "营业执照", "kind": "copy", "source": "government"},
    ],
    "steps": [
        {"name": "受理", "days": 1},
        {"name": "审查", "days": 3},
        {"name": "决定", "days": 1},
    ],
}

BASE_ITEM: dict[str, Any] = {
    "code": "T-01-001",
    "name": "道路货物运输经营许可",
    "type": "licence",
    "implementing_body": "许昌市交通运输局",
    "handling_unit": "行政审批服务科",
    "exercise_level": "city",
    "power_source": "statutory",
    "service_targets": ["enterprise"],
    "legal_basis": [{"law": "《中华人民共和国道路运输条例》", "article": "第二十四条"}],
    "conditions": "有与其经营业务相适应并经检测合格的车辆。",
    "result": {"name": "《道路运输经营许可证》", "type": "certificate"},
    "consultation": "窗口咨询",
    "complaint": "12328 交通运输服务监督电话",
    "location": "许昌市政务服务中心",
    "hours": "法定工作日",
    "handling_items": [BASE_HANDLING_ITEM],
}


# The guide's optional elements (issue 23 part 2): the tests about them set them, the base
# payloads above leave them out (as the seed does).
SAMPLE_ONLINE_URL = "https://www.hnzwfw.gov.cn/portal/guide/T-01-001-01?from=xc&lang=zh"
SAMPLE_FAQ: list[dict[str, str]] = [
    {"question": "营业执照过期还能申请吗？", "answer": "不能。请先办理营业执照延续，再提出申请。"},
    {"question": "可以委托他人办理吗？",
     "answer": "可以。受托人须携带授权委托书\n和本人身份证原件。"},
]  # fmt: skip


def handling_item_data(**overrides: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE_HANDLING_ITEM)
    data.update(overrides)
    return data


def item_data(*handling_items: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """An item payload; handling item codes default to the item code plus -NN."""
    data = copy.deepcopy(BASE_ITEM)
    data.update(overrides)
    if handling_items:
        data["handling_items"] = [copy.deepcopy(h) for h in handling_items]
    elif "handling_items" not in overrides:
        data["handling_items"] = [handling_item_data(code=f"{data['code']}-01")]
    return data


def publish_sample_with_snapshot(db) -> None:
    """The browser checks' catalog: item P whose handling item P-01 needs one visit, and a
    snapshot 基线 of it."""
    from catalog.reports.snapshots import create_snapshot

    publish(
        db,
        item_data(
            handling_item_data(code="P-01", visits=1, visit_reason="核验原件"),
            code="P",
            name="港口经营许可",
        ),
    )
    create_snapshot("基线", actor="tester")
    db.session.commit()


def publish(db, *payloads: dict[str, Any]) -> None:
    """Create published items through the services, as the seed loads them, and commit."""
    from catalog.enums import Status
    from catalog.services import create_item

    for payload in payloads:
        create_item(payload, status=Status.published)
    db.session.commit()


def publish_rows(item) -> None:
    """Publish an unpublished item's rows as they are, bypassing review: a shortcut for tests
    about what a published catalog shows (the review itself: tests/test_operations.py)."""
    from catalog.enums import Status
    from catalog.extensions import db
    from catalog.services import set_status

    set_status(item, Status.published, from_statuses=(Status.unpublished,))
    db.session.flush()


# An item with only what the ratios read: every other element is missing (catalog.elements).
REQUIRED_ONLY = {
    "code": "T-02-001",
    "name": "道路运输证配发",
    "type": "licence",
    "handling_items": [
        {"code": "T-02-001-01", "case_type": "promised", "statutory_days": 20,
         "promised_days": 5, "visits": 1},
    ],
}  # fmt: skip


def publish_taxi_and_port(db, *more: dict[str, Any]) -> None:
    """Items NET (网络预约出租汽车经营许可) and PORT (港口经营许可), each with one handling item,
    and any `more`, published: what the search-learning tests search for and miss."""
    publish(
        db,
        item_data(handling_item_data(code="NET-01"), code="NET", name="网络预约出租汽车经营许可"),
        item_data(handling_item_data(code="PORT-01"), code="PORT", name="港口经营许可"),
        *more,
    )


def published_item(db, code: str):
    """The item of this code, as the session has it."""
    import sqlalchemy as sa

    from catalog.models import ApprovalItem

    return db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == code))


def edit_published(db, code: str, change) -> None:
    """Change the published item of this code through the service (`change` edits its data in
    place) and commit, as a direct update by staff does."""
    from catalog.drafts import published_data
    from catalog.services import update_item

    found = published_item(db, code)
    data = published_data(found)
    change(data)
    update_item(found, data, actor="tester", reason="测试")
    db.session.commit()
