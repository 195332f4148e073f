"""The database's own guard: each CHECK constraint the README lists refuses a row that breaks it
and takes one that keeps it, written straight into the tables (no service, no ORM, no enum
check in Python); and migration 0014, which renamed the status 'draft' to 'unpublished' and
added three of them, keeps every row on the way up and down, on SQLite (where it rebuilds the
tables) and on PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy.exc import IntegrityError

from catalog.extensions import db as _db
from tests.migrations import app_migrated_to

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
SERIAL = itertools.count(1)

ITEM = {
    "name": "港口经营许可", "item_type": "licence", "implementing_body": "许昌市交通运输局",
    "handling_unit": "行政审批服务科", "exercise_level": "city", "power_source": "statutory",
    "service_targets": '["enterprise"]', "conditions": "具备相应条件。",
    "result_name": "《港口经营许可证》", "result_type": "certificate", "consultation": "窗口咨询",
    "complaint": "12328", "location": "许昌市政务服务中心", "hours": "法定工作日",
    "status": "published", "version": 1, "created_at": NOW, "updated_at": NOW,
}  # fmt: skip
HANDLING = {
    "position": 0, "situation": "新办", "case_type": "promised", "statutory_days": 20,
    "promised_days": 5, "visits": 0, "visit_reason": None, "form_window": True,
    "form_online": True, "form_express": False, "online_depth": 4, "charges_fee": False,
    "status": "published", "version": 1, "created_at": NOW, "updated_at": NOW,
}  # fmt: skip
MATERIAL = {"position": 0, "name": "申请表", "kind": "original", "form": "paper", "copies": 1,
            "necessity": "required", "source": "applicant", "notes": None}  # fmt: skip
FEE = {"position": 0, "name": "证照工本费", "standard": "每证10元", "amount": 10,
       "basis": "《河南省行政事业性收费目录清单》"}  # fmt: skip
STEP = {"position": 0, "name": "受理", "days": 1}
USER = {"password_hash": "x", "role": "editor", "active": True, "session_version": 1,
        "created_at": NOW, "must_change_password": False}  # fmt: skip
AUDIT = {"occurred_at": NOW, "actor": "tester", "action": "create", "object_type": "item",
         "object_code": "G-1", "changes": "{}"}  # fmt: skip
AUTH = {"occurred_at": NOW, "kind": "login_ok", "username": "tester"}
BLOB = {"media_type": "application/pdf", "size": 4, "data": b"%PDF", "created_at": NOW}
DECISION = {"party_name": "许昌示例运输有限公司", "party_class": "organisation",
            "party_credit_code": "91350100M000100Y43", "decided_on": date(2020, 6, 1),
            "authority": "许昌市交通运输局", "authority_credit_code": "91110000600037341L",
            "data_source_unit": "行政审批服务科", "published_on": date(2020, 6, 3),
            "publish_by": date(2020, 6, 10), "version": 1, "created_at": NOW, "updated_at": NOW,
            "updated_by": "editor"}  # fmt: skip
LICENCE = {
    **DECISION,
    "category": "ordinary",
    "content": "准予经营。",
    "valid_from": date(2020, 6, 1),
    "valid_until": date(2024, 5, 31),
    "status": "valid",
}
PENALTY = {**DECISION, "violation_type": "超限运输", "violation_facts": "超限运输。",
           "legal_basis": "《公路法》", "category": "fine", "content": "罚款。", "fine_amount": 3,
           "confiscated_amount": None, "severity": "general",
           "publication_ends_on": date(2021, 6, 1)}  # fmt: skip
PERIOD = {"severity": "general", "min_months": 3, "max_months": 12, "source": "527号"}
DRAFT = {"data": "{}", "base_version": 1, "state": "draft", "author": "editor", "reason": "修改",
         "contributors": '["editor"]', "acknowledgements": "[]", "version": 1,
         "created_at": NOW, "updated_at": NOW}  # fmt: skip

# (constraint, table, values that break only it): every CHECK constraint of the schema
REFUSED = [
    ("ck_approval_item_itemtype", "approval_item", {"item_type": "licensing"}),
    ("ck_approval_item_exerciselevel", "approval_item", {"exercise_level": "planet"}),
    ("ck_approval_item_powersource", "approval_item", {"power_source": "seized"}),
    ("ck_approval_item_resulttype", "approval_item", {"result_type": "nothing"}),
    ("ck_approval_item_status", "approval_item", {"status": "draft"}),  # the value before 0014
    ("ck_handling_item_casetype", "handling_item", {"case_type": "urgent"}),
    ("ck_handling_item_status", "handling_item", {"status": "draft"}),
    ("ck_handling_item_promised_not_negative", "handling_item",
     {"statutory_days": None, "promised_days": -1}),
    # a negative statutory limit also leaves no promised days within it: either may be named
    ("ck_handling_item_statutory_not_negative", "handling_item",
     {"statutory_days": -1, "promised_days": 0}),
    ("ck_handling_item_promised_within_statutory", "handling_item",
     {"statutory_days": 5, "promised_days": 6}),
    ("ck_handling_item_visits_range", "handling_item", {"visits": 3, "visit_reason": "核验原件"}),
    ("ck_handling_item_visits_range", "handling_item", {"visits": -1, "visit_reason": "核验原件"}),
    # a missing reason (NULL) is a gap the report lists, a blank one is refused (0018)
    ("ck_handling_item_visit_reason_not_blank", "handling_item",
     {"visits": 2, "visit_reason": ""}),
    ("ck_handling_item_visit_reason_not_blank", "handling_item",
     {"visits": 1, "visit_reason": "  "}),
    ("ck_handling_item_instant_promised_zero", "handling_item",
     {"case_type": "instant", "promised_days": 1}),
    ("ck_handling_item_online_depth_range", "handling_item", {"online_depth": 0}),
    ("ck_handling_item_online_depth_range", "handling_item", {"online_depth": 8}),
    ("ck_material_copies_not_negative", "material", {"copies": -1}),
    ("ck_material_materialkind", "material", {"kind": "forged"}),
    ("ck_material_materialform", "material", {"form": "oral"}),
    ("ck_material_necessity", "material", {"necessity": "maybe"}),
    ("ck_material_materialsource", "material", {"source": "nowhere"}),
    ("ck_fee_amount_not_negative", "fee", {"amount": -1}),
    ("ck_fee_basis_not_blank", "fee", {"basis": ""}),
    ("ck_fee_basis_not_blank", "fee", {"basis": "   "}),
    ("ck_process_step_days_not_negative", "process_step", {"days": -1}),
    ("ck_user_account_role", "user_account", {"role": "root"}),
    ("ck_audit_event_auditaction", "audit_event", {"action": "erase"}),
    ("ck_auth_event_autheventkind", "auth_event", {"kind": "intrusion"}),
    ("ck_item_draft_reviewstate", "item_draft", {"state": "approved"}),
    ("ck_attachment_blob_size_not_negative", "attachment_blob", {"size": -1}),
    ("ck_material_attachment_attachmentkind", "material_attachment", {"kind": "manual"}),
    # 双公示 decision records (0029)
    ("ck_licence_decision_valid_in_order", "licence_decision",
     {"valid_from": date(2020, 6, 2), "valid_until": date(2020, 6, 1)}),
    ("ck_licence_decision_decided_before_published", "licence_decision",
     {"published_on": date(2020, 5, 31)}),
    ("ck_licence_decision_publish_by_after_decision", "licence_decision",
     {"publish_by": date(2020, 6, 1)}),
    ("ck_licence_decision_licencecategory", "licence_decision", {"category": "lifetime"}),
    ("ck_licence_decision_licencestatus", "licence_decision", {"status": "lost"}),
    ("ck_licence_decision_partyclass", "licence_decision", {"party_class": "robot"}),
    ("ck_licence_decision_idtype", "licence_decision", {"party_id_type": "library_card"}),
    ("ck_penalty_decision_fine_not_negative", "penalty_decision", {"fine_amount": -1}),
    ("ck_penalty_decision_confiscated_not_negative", "penalty_decision",
     {"confiscated_amount": -0.01}),
    ("ck_penalty_decision_published_before_end", "penalty_decision",
     {"publication_ends_on": date(2020, 6, 2)}),
    ("ck_penalty_decision_decided_before_published", "penalty_decision",
     {"published_on": date(2020, 5, 31)}),
    ("ck_penalty_decision_publish_by_after_decision", "penalty_decision",
     {"publish_by": date(2020, 5, 1)}),
    ("ck_penalty_decision_penaltycategory", "penalty_decision", {"category": "exile"}),
    ("ck_penalty_decision_penaltyseverity", "penalty_decision", {"severity": "mild"}),
    ("ck_penalty_decision_partyclass", "penalty_decision", {"party_class": "robot"}),
    ("ck_penalty_decision_idtype", "penalty_decision", {"party_id_type": "library_card"}),
    ("ck_publication_period_min_not_negative", "publication_period", {"min_months": -1}),
    ("ck_publication_period_min_within_max", "publication_period",
     {"min_months": 13, "max_months": 12}),
    ("ck_publication_period_penaltyseverity", "publication_period", {"severity": "mild"}),
]  # fmt: skip
ALSO_NAMED = {
    "ck_handling_item_statutory_not_negative": {"ck_handling_item_promised_within_statutory"}
}

# rows at the edge of each rule, which the database takes
ACCEPTED = [
    ("approval_item", {"status": "unpublished"}),
    ("approval_item", {"status": "retired"}),
    ("handling_item", {"status": "unpublished"}),
    ("handling_item", {"statutory_days": 5, "promised_days": 5}),
    ("handling_item", {"statutory_days": None, "promised_days": 40}),
    ("handling_item", {"statutory_days": 0, "promised_days": 0}),
    ("handling_item", {"visits": 1, "visit_reason": "核验原件"}),
    ("handling_item", {"visits": 2, "visit_reason": " 查验车辆 "}),
    ("handling_item", {"visits": 0, "visit_reason": None}),
    ("handling_item", {"visits": 0, "visit_reason": ""}),  # a reason matters only with a visit
    ("handling_item", {"case_type": "instant", "promised_days": 0}),
    ("handling_item", {"case_type": "instant", "statutory_days": None, "promised_days": 0}),
    ("handling_item", {"online_depth": 1}),
    ("handling_item", {"online_depth": 7}),
    ("material", {"copies": 0, "kind": "original_or_copy", "form": "paper_or_electronic",
                  "necessity": "deferred", "source": "government"}),
    ("fee", {"amount": None}),
    ("fee", {"amount": 0}),
    ("process_step", {"days": None}),
    ("process_step", {"days": 0}),
    ("user_account", {"role": "admin"}),
    ("audit_event", {"action": "publish"}),
    ("auth_event", {"kind": "logout"}),
    ("item_draft", {"state": "returned"}),
    ("attachment_blob", {"size": 0}),
    ("material_attachment", {"kind": "sample"}),
    ("licence_decision", {"valid_until": None, "published_on": date(2020, 6, 1)}),
    ("licence_decision", {"valid_until": date(2020, 6, 1), "status": "cancelled",
                          "party_class": "natural_person", "party_id_type": "resident_id"}),
    ("penalty_decision", {"fine_amount": 0, "confiscated_amount": 0, "severity": "serious",
                          "publication_ends_on": date(2020, 6, 3)}),
    ("penalty_decision", {"fine_amount": None, "category": "licence_suspension"}),
    ("publication_period", {"min_months": 0, "max_months": 0}),
    ("publication_period", {"min_months": 12, "max_months": 12}),
]  # fmt: skip


def insert(db, table: str, values: dict) -> int | str:
    """INSERT one row as given (untyped columns: no enum or length check in Python); its id (a
    stored file's: its sha256)."""
    columns = [sa.column(name, sa.DateTime(timezone=True)) if isinstance(value, datetime)
               else sa.column(name) for name, value in values.items()]  # fmt: skip
    key = "sha256" if table == "attachment_blob" else "id"
    extra = [] if key in values else [sa.column(key)]
    target = sa.table(table, *columns, *extra)
    return db.session.execute(target.insert().values(values).returning(target.c[key])).scalar_one()


def row(table: str, parents: dict[str, int], values: dict) -> dict:
    """A valid row of `table` under the parent rows, with `values` over it."""
    serial = next(SERIAL)
    base = {
        "approval_item": lambda: {**ITEM, "code": f"G-{serial}"},
        "handling_item": lambda: {**HANDLING, "item_id": parents["item"], "code": f"G-1-{serial}"},
        "material": lambda: {**MATERIAL, "handling_item_id": parents["handling"]},
        "fee": lambda: {**FEE, "handling_item_id": parents["handling"]},
        "process_step": lambda: {**STEP, "handling_item_id": parents["handling"]},
        "user_account": lambda: {**USER, "username": f"user{serial}"},
        "audit_event": lambda: dict(AUDIT),
        "auth_event": lambda: dict(AUTH),
        "item_draft": lambda: {**DRAFT, "item_id": parents["item"]},
        "attachment_blob": lambda: {**BLOB, "sha256": f"{serial:064x}"},
        "licence_decision": lambda: {
            **LICENCE,
            "item_id": parents["item"],
            "document_number": f"许交运许〔2020〕{serial}号",
        },
        "penalty_decision": lambda: {**PENALTY, "document_number": f"许交执罚〔2020〕{serial}号"},
        "publication_period": lambda: {
            **PERIOD,
            "effective_from": date(2000, 1, 1 + serial % 28),
            "severity": "serious" if serial % 2 else "general",
        },
        "material_attachment": lambda: {
            "material_id": parents["material"],
            "position": 0,
            "kind": "blank",
            "sha256": parents["blob"],
            "filename": "申请表.pdf",
        },
    }[table]()
    return {**base, **values}


@pytest.fixture
def parents(db) -> dict[str, int]:
    item = insert(db, "approval_item", {**ITEM, "code": "G-1"})
    handling = insert(db, "handling_item", {**HANDLING, "item_id": item, "code": "G-1-01"})
    material = insert(db, "material", {**MATERIAL, "handling_item_id": handling})
    blob = insert(db, "attachment_blob", {**BLOB, "sha256": "f" * 64})
    db.session.commit()
    return {"item": item, "handling": handling, "material": material, "blob": blob}


@pytest.mark.parametrize(("constraint", "table", "values"), REFUSED)
def test_database_refuses_a_row_that_breaks_a_check(db, parents, constraint, table, values):
    with pytest.raises(IntegrityError) as refused, db.session.begin_nested():
        insert(db, table, row(table, parents, values))
    named = {constraint, *ALSO_NAMED.get(constraint, ())}
    message = str(refused.value.orig)
    assert any(name in message for name in named), message
    db.session.commit()  # the transaction goes on


@pytest.mark.parametrize(("table", "values"), ACCEPTED)
def test_database_takes_a_row_that_keeps_the_checks(db, parents, table, values):
    insert(db, table, row(table, parents, values))
    db.session.commit()


def test_every_check_constraint_is_tried():
    """The cases above cover every CHECK constraint of the models (so also of the README's list,
    which names them); a new constraint needs its case here."""
    declared = {
        constraint.name
        for table in _db.metadata.tables.values()
        for constraint in table.constraints
        if isinstance(constraint, sa.CheckConstraint)
    }
    assert {constraint for constraint, _table, _values in REFUSED} == declared


@pytest.mark.parametrize("table", ["approval_item", "handling_item"])
def test_database_refuses_a_code_taken(db, parents, table):
    code = {"approval_item": "G-1", "handling_item": "G-1-01"}[table]
    with pytest.raises(IntegrityError), db.session.begin_nested():
        insert(db, table, row(table, parents, {"code": code}))


# --- migration 0014 ---------------------------------------------------------------------------

CHILDREN = ("legal_basis", "item_draft", "material", "fee", "process_step", "search_entry")


at_0013 = app_migrated_to("0013")


def _sql(statement: str, **values):
    return _db.session.execute(sa.text(statement), values)


def _write_catalog_at_0013(*, visits: int = 1, visit_reason: str | None = "核验原件") -> None:
    """In SQL, as 0013 stores it: an unpublished ('draft') item with a handling item that has
    everything hanging off it, and a published one beside it."""
    for number, status in ((1, "draft"), (2, "published")):
        item = insert(_db, "approval_item", {**ITEM, "code": f"M-{number}", "status": status})
        handling = insert(_db, "handling_item", {
            **HANDLING, "item_id": item, "code": f"M-{number}-01", "status": status,
            "visits": visits, "visit_reason": visit_reason, "charges_fee": True,
        })  # fmt: skip
        insert(_db, "legal_basis", {"item_id": item, "position": 0, "law": "《港口法》"})
        insert(_db, "item_draft", {"item_id": item, "data": "{}", "base_version": 1,
                                   "author": "editor", "reason": "修改", "version": 1,
                                   "created_at": NOW, "updated_at": NOW})  # fmt: skip
        for position in range(2):
            insert(
                _db,
                "material",
                {
                    **MATERIAL,
                    "handling_item_id": handling,
                    "position": position,
                    "name": f"材料{position}",
                },
            )
            insert(_db, "process_step", {**STEP, "handling_item_id": handling,
                                         "position": position})  # fmt: skip
        insert(_db, "fee", {**FEE, "handling_item_id": handling})
        _sql(
            "INSERT INTO search_entry (handling_item_id, item_name, name, body, pinyin,"
            " initials, chars, name_chars, common) VALUES (:id, '港口经营许可',"
            " '港口经营许可 新办', '申请表', 'gangkoujingyingxuke', 'gkjyxk', '港 口', '港 口',"
            " :common)",
            id=handling,
            common=bytes(32),
        )
    _db.session.commit()


def _state() -> dict:
    """What must survive the migration: every row of the tables it rebuilds and their children,
    the statuses, the indexes, and (SQLite) what the search's FTS tables find."""
    inspector = sa.inspect(_db.engine)
    state = {
        "rows": {table: _sql(f"SELECT count(*) FROM {table}").scalar()
                 for table in ("approval_item", "handling_item", *CHILDREN)},
        "statuses": _sql(
            "SELECT i.code, i.status, h.code, h.status FROM approval_item i"
            " JOIN handling_item h ON h.item_id = i.id ORDER BY i.code"
        ).all(),
        "indexes": {table: sorted(index["name"] for index in inspector.get_indexes(table))
                    for table in ("approval_item", "handling_item", "fee")},
    }  # fmt: skip
    if _db.engine.dialect.name == "sqlite":
        state["found"] = (
            _sql("SELECT rowid FROM search_fts WHERE search_fts MATCH '经营许可' ORDER BY rowid")
            .scalars()
            .all()
        )
        state["triggers"] = (
            _sql("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
            .scalars()
            .all()
        )
        assert _sql("PRAGMA foreign_key_check").all() == []
        assert _sql("PRAGMA foreign_keys").scalar() == 1  # on again for the app's connections
    _db.session.rollback()
    return state


def _renamed(statuses, old: str, new: str):
    return [tuple(new if value == old else value for value in line) for line in statuses]


def test_migration_0014_keeps_every_row_and_renames_the_status(at_0013):
    _write_catalog_at_0013()
    before = _state()
    assert before["rows"] == {"approval_item": 2, "handling_item": 2, "legal_basis": 2,
                              "item_draft": 2, "material": 4, "fee": 2, "process_step": 4,
                              "search_entry": 2}  # fmt: skip
    assert before["statuses"] == [("M-1", "draft", "M-1-01", "draft"),
                                  ("M-2", "published", "M-2-01", "published")]  # fmt: skip

    upgrade(revision="0014")
    after = _state()
    assert after == {**before, "statuses": _renamed(before["statuses"], "draft", "unpublished")}
    # the rebuilt tables are still the parents: deleting an item deletes all below it
    _sql("DELETE FROM approval_item WHERE code = 'M-1'")
    assert {table: _sql(f"SELECT count(*) FROM {table}").scalar() for table in CHILDREN} == {
        table: count // 2 for table, count in before["rows"].items() if table in CHILDREN
    }
    _db.session.rollback()
    with pytest.raises(IntegrityError):  # and the new constraints hold
        _sql("UPDATE fee SET basis = ' '")
    _db.session.rollback()

    downgrade(revision="0013")
    assert _state() == before
    _sql("UPDATE fee SET basis = ' '")  # 0013 had no such constraint
    _db.session.rollback()

    upgrade(revision="0014")
    assert _state() == after


def test_migration_0014_stops_on_a_row_that_breaks_a_new_rule_and_changes_nothing(at_0013, caplog):
    _write_catalog_at_0013(visits=1, visit_reason=None)
    before = _state()
    with pytest.raises(SystemExit):  # Flask-Migrate logs the message and exits 1
        upgrade(revision="0014")
    assert "到办事现场次数不为0，但没有说明原因：M-1-01、M-2-01" in caplog.text
    _db.session.rollback()
    assert _sql("SELECT version_num FROM alembic_version").scalar() == "0013"
    assert _state() == before


def test_migration_0014_run_again_after_its_rebuild_was_committed(at_0013):
    """SQLite commits the rebuild before Alembic records the revision: a crash between the two
    leaves 0014's tables under version 0013, and the upgrade run again must go through."""
    if _db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL changes the schema and the version in one transaction")
    _write_catalog_at_0013()
    upgrade(revision="0014")
    after = _state()
    _sql("UPDATE alembic_version SET version_num = '0013'")
    _db.session.commit()
    upgrade(revision="0014")
    assert _state() == after


at_0017 = app_migrated_to("0017")


# what 0018 makes optional, as NULL in a row
OPTIONAL_ITEM = dict.fromkeys(
    ("implementing_body", "handling_unit", "exercise_level", "power_source", "conditions",
     "result_name", "result_type", "consultation", "complaint", "location", "hours")
)  # fmt: skip
OPTIONAL_HANDLING = dict.fromkeys(("situation", "online_depth", "charges_fee"))


def _catalog_rows() -> list[tuple]:
    """The rows 0018 changes, read in a transaction that is ended at once: on PostgreSQL an
    open one would hold a lock the migration's ALTER TABLE waits for."""
    rows = _sql(
        "SELECT i.code, i.implementing_body, i.hours, h.code, h.situation, h.visits,"
        " h.visit_reason, h.online_depth, h.charges_fee FROM approval_item i"
        " JOIN handling_item h ON h.item_id = i.id ORDER BY h.code"
    ).all()
    _db.session.rollback()
    return rows


def _write_item(code: str, item: dict | None = None, handling: dict | None = None) -> None:
    item_id = insert(_db, "approval_item", {**ITEM, "code": code, **(item or {})})
    insert(_db, "handling_item", {**HANDLING, "item_id": item_id, "code": f"{code}-01",
                                  **(handling or {})})  # fmt: skip


def test_migration_0018_makes_the_elements_optional_and_keeps_every_row(at_0017):
    _write_item("O-1", handling={"visits": 1, "visit_reason": "核验原件"})
    _db.session.commit()
    before = _catalog_rows()
    with pytest.raises(IntegrityError):  # 0017: every element required
        _write_item("O-2", OPTIONAL_ITEM)
    _db.session.rollback()

    upgrade(revision="0018")
    assert _catalog_rows() == before
    if _db.engine.dialect.name == "sqlite":  # the schema edited in place is sound
        assert _sql("PRAGMA integrity_check").scalars().all() == ["ok"]
    _write_item("O-2", OPTIONAL_ITEM, {**OPTIONAL_HANDLING, "visits": 1, "visit_reason": None})
    _db.session.commit()
    with pytest.raises(IntegrityError):  # a blank reason is still refused
        _write_item("O-3", handling={"visits": 1, "visit_reason": "  "})
    _db.session.rollback()


def test_migration_0018_downgrade_stops_while_an_item_lacks_an_element(at_0017, caplog):
    _write_item("O-1")
    _db.session.commit()
    before = _catalog_rows()
    upgrade(revision="0018")
    _write_item("O-2", {"hours": None})
    _write_item("O-3", handling={"visits": 2, "visit_reason": None})
    _db.session.commit()
    with pytest.raises(SystemExit):  # Flask-Migrate logs the message and exits 1
        downgrade(revision="0017")
    assert "以下事项缺少要素，补全后才能降级到 0017：O-2、O-3" in caplog.text
    _db.session.rollback()
    assert _sql("SELECT version_num FROM alembic_version").scalar() == "0018"

    _sql("DELETE FROM approval_item WHERE code IN ('O-2', 'O-3')")
    _db.session.commit()
    downgrade(revision="0017")
    assert _catalog_rows() == before
    with pytest.raises(IntegrityError):  # required again
        _write_item("O-4", {"hours": None})
    _db.session.rollback()
