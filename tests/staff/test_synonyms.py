"""The synonym list and the failed searches on the staff pages, as an editor uses them: a
failed public search shows up, a synonym added beside it makes the next search find the item,
edits carry their version, the list goes out as CSV and comes back through a preview."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from catalog.models import AuditEvent, FailedQuery, Synonym
from catalog.operations.synonyms import add_synonym
from tests.factories import publish_taxi_and_port
from tests.staff.conftest import csrf_token


@pytest.fixture
def catalog(db):
    publish_taxi_and_port(db)


def hits(client, query: str) -> int:
    return client.get("/api/v1/items", query_string={"q": query}).get_json()["total"]


def synonyms(db) -> list[tuple[str, str]]:
    db.session.rollback()
    return [(s.term, s.target) for s in db.session.scalars(sa.select(Synonym).order_by(Synonym.id))]


def test_a_failed_search_gets_a_synonym_and_the_next_search_finds_it(
    app, db, catalog, client, login_as
):
    for _ in range(2):
        assert "没有找到符合条件的事项" in client.get("/items?q=约车").get_data(as_text=True)
    assert hits(client, "约车") == 0  # the API twin counts too
    staff = login_as("editor")
    page = staff.get("/staff/failed-searches?days=7").get_data(as_text=True)
    assert re.search(r"约车</a></td><td data-label=\"次数\">3<", page)
    token = csrf_token(staff, "/staff/failed-searches")
    form = {"csrf_token": token, "text": "约车", "term": "约车", "target": "网络预约出租汽车"}
    response = staff.post("/staff/failed-searches/synonym?days=7", data=form)
    assert response.status_code == 302
    assert hits(client, "约车") == 1  # at once, no restart
    # handled: off the list, and both steps in the audit trail
    db.session.rollback()
    assert db.session.scalars(sa.select(FailedQuery)).all() == []
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.object_type != "item").order_by(AuditEvent.id)
    ).all()
    assert [(e.object_type, e.actor, e.reason) for e in events] == [
        ("synonym", "editor1", "未找到结果的搜索"),
        ("failed_query", "editor1", "已添加同义词“约车”→“网络预约出租汽车”"),
    ]


def test_a_failed_search_is_dismissed(app, db, catalog, client, login_as):
    client.get("/items?q=飞机")
    staff = login_as("editor")
    token = csrf_token(staff, "/staff/failed-searches")
    dismiss = {"csrf_token": token, "text": "飞机", "reason": "与本局无关"}
    response = staff.post("/staff/failed-searches/dismiss?days=7", data=dismiss)
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.scalars(sa.select(FailedQuery)).all() == []
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.object_type == "failed_query"))
    assert (event.object_code, event.reason) == ("飞机", "与本局无关")
    again = staff.post("/staff/failed-searches/dismiss", data=dismiss, follow_redirects=True)
    assert "已不在列表中" in again.get_data(as_text=True)  # another editor was first


def test_a_refused_synonym_from_a_failed_search_says_why(app, db, catalog, login_as):
    staff = login_as("editor")
    token = csrf_token(staff, "/staff/failed-searches")
    response = staff.post(
        "/staff/failed-searches/synonym",
        data={"csrf_token": token, "term": "约车", "target": "飞机场"},
    )
    assert response.status_code == 400
    assert "目录中找不到“飞机场”" in response.get_data(as_text=True)
    assert synonyms(db) == []
    assert staff.get("/staff/failed-searches?days=365").status_code == 400


def test_add_edit_and_delete_on_the_list(app, db, catalog, client, login_as):
    staff = login_as("editor")
    token = csrf_token(staff, "/staff/synonyms")
    response = staff.post(
        "/staff/synonyms",
        data={"csrf_token": token, "term": "坐船", "target": "港口", "reason": "热线反映"},
    )
    assert response.status_code == 302 and synonyms(db) == [("坐船", "港口")]
    synonym = db.session.scalar(sa.select(Synonym))
    form = staff.get(f"/staff/synonyms/{synonym.id}/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', form).group(1)
    edit = {"csrf_token": token, "term": "码头", "target": "港口", "version": version}
    assert staff.post(f"/staff/synonyms/{synonym.id}/edit", data=edit).status_code == 302
    assert hits(client, "码头") == 1 and hits(client, "坐船") == 0
    # the same form sent again carries the version it was opened at: refused, not overwritten
    stale = staff.post(f"/staff/synonyms/{synonym.id}/edit", data=edit | {"term": "渡口"})
    assert stale.status_code == 409 and "已被他人修改" in stale.get_data(as_text=True)
    delete = {"csrf_token": token, "version": version}
    assert staff.post(f"/staff/synonyms/{synonym.id}/delete", data=delete).status_code == 409
    db.session.rollback()
    delete["version"] = str(db.session.get(Synonym, synonym.id).version)
    assert staff.post(f"/staff/synonyms/{synonym.id}/delete", data=delete).status_code == 302
    assert synonyms(db) == [] and hits(client, "码头") == 0
    changes = db.session.scalars(
        sa.select(AuditEvent.changes)
        .where(AuditEvent.object_type == "synonym")
        .order_by(AuditEvent.id)
    ).all()
    assert changes == [
        {"term": [None, "坐船"], "target": [None, "港口"]},
        {"term": ["坐船", "码头"]},
        {"term": ["码头", None], "target": ["港口", None]},
    ]
    audit = staff.get("/staff/audit").get_data(as_text=True)  # the trail shows them in Chinese
    assert "搜索词" in audit and "对应的词" in audit and "target" not in audit


def test_a_bad_synonym_form_is_refused_in_chinese(app, db, catalog, login_as):
    staff = login_as("editor")
    token = csrf_token(staff, "/staff/synonyms")
    response = staff.post(
        "/staff/synonyms", data={"csrf_token": token, "term": "坐 船", "target": "港口"}
    )
    assert response.status_code == 400
    assert "搜索词须是一个词" in response.get_data(as_text=True)
    assert synonyms(db) == []


def upload(staff, content: bytes, name: str = "synonyms.csv"):
    import io

    token = csrf_token(staff, "/staff/synonyms")
    return staff.post(
        "/staff/synonyms/import",
        data={"csrf_token": token, "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def test_export_then_import_with_preview_and_apply(app, db, catalog, client, login_as):
    add_synonym("码头", "港口", actor="editor1")
    add_synonym("坐船", "港口", actor="editor1")
    db.session.commit()
    staff = login_as("editor")
    exported = staff.get("/staff/synonyms.csv")
    assert exported.headers["Content-Disposition"] == "attachment; filename=synonyms.csv"
    text = exported.get_data().decode("utf-8-sig")
    assert text.splitlines() == ["搜索词,对应的词", "坐船,港口", "码头,港口"]

    edited = (text.replace("坐船,港口\r\n", "") + "约车,网络预约出租汽车\r\n").encode("utf-8")
    preview = upload(staff, edited)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "新增 1 条，删除 1 条，未变 1 条" in page
    assert synonyms(db) == [("码头", "港口"), ("坐船", "港口")]  # a preview writes nothing
    fields = dict(
        re.findall(
            r'name="(rows|list_digest|source|csrf_token)" type="hidden" '
            r'value="([^"]*)"',
            page,
        )
    )
    import html

    fields = {key: html.unescape(value) for key, value in fields.items()}
    applied = staff.post("/staff/synonyms/import/apply", data=fields)
    assert applied.status_code == 302
    assert sorted(synonyms(db)) == [("码头", "港口"), ("约车", "网络预约出租汽车")]
    assert hits(client, "约车") == 1 and hits(client, "坐船") == 0
    reasons = db.session.scalars(
        sa.select(AuditEvent.reason).where(AuditEvent.action == "import")
    ).all()
    assert reasons == ["导入 synonyms.csv"] * 2
    # the same preview applied again: the list changed since, so it is refused
    again = staff.post("/staff/synonyms/import/apply", data=fields)
    assert again.status_code == 409 and "已被他人修改" in again.get_data(as_text=True)


def test_an_upload_with_bad_rows_names_each_and_changes_nothing(app, db, catalog, login_as):
    add_synonym("码头", "港口", actor="editor1")
    db.session.commit()
    staff = login_as("editor")
    content = (
        "搜索词,对应的词\n约车,网络预约出租汽车\n坐 船,港口\n飞机,飞机场\n约车,网络预约出租汽车\n"
    )
    response = upload(staff, content.encode("gb18030"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "第 3 行：搜索词须是一个词" in page
    assert "第 4 行：目录中找不到“飞机场”" in page
    assert "第 5 行：同义词“约车”→“网络预约出租汽车”已存在" in page
    assert "确认导入" not in page
    assert synonyms(db) == [("码头", "港口")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"term\n\xff\xfe\x00", "NUL"),
        ("名称,说明\n码头,港口\n".encode(), "表头"),
        ("搜索词,对应的词\n".encode(), "没有同义词"),
        (b"x" * (300 * 1024), "文件过大"),
    ],
)
def test_a_file_that_is_not_a_synonym_list_is_refused(app, db, login_as, content, message):
    response = upload(login_as("editor"), content)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_a_forged_preview_is_refused(app, db, login_as):
    staff = login_as("editor")
    token = csrf_token(staff, "/staff/synonyms")
    for rows in ("not json", "[[1]]", "[" * 5000, "{}"):
        data = {"csrf_token": token, "rows": rows, "list_digest": "x", "source": "a.csv"}
        response = staff.post("/staff/synonyms/import/apply", data=data)
        assert response.status_code == 400, rows
        assert "预览内容无效" in response.get_data(as_text=True)
