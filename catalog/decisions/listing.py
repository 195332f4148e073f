"""The public reads of decision records: the list with its search and filters, one record, one
organisation, and the count of an item's licence decisions. The pages, the JSON API and the CSV
export call these functions and render what they return (PublicDecision), so they cannot drift.

What the public sees (docs/decisions.md): a decision from its 公示日期 on; a penalty only until
its 公示截止日期 and not after a credit repair (operations.publicly_listed). Natural persons are
listed but never found by name or ID number; organisations and sole traders are found by name
and credit code.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from functools import partial

import sqlalchemy as sa
from flask import current_app

from catalog.decisions import public_rows, search
from catalog.decisions.filters import DEFAULT_LIMIT, Cursor, DecisionFilters, refuse
from catalog.decisions.publication import (
    LICENCE,
    PENALTY,
    SEARCHABLE_CLASSES,
    PublicDecision,
    public_decision,
)
from catalog.decisions.rules import credit_code_error
from catalog.domain import Invalid
from catalog.enums import ItemType, LicenceStatus, PartyClass, PenaltyCategory
from catalog.extensions import db
from catalog.models import (
    ApprovalItem,
    LicenceDecision,
    PenaltyDecision,
)

MAX_EXPORT_ROWS = 10_000
COUNT_LIMIT = MAX_EXPORT_ROWS  # a list without search words counts up to this
ORGANISATION_ROWS = 200  # per kind on an organisation's page; the list has the rest


def public_today() -> date:
    """Today in 北京时间: what is published and what has left publication are counted from it.
    (Tests set it to see the 2020 seed as it was published.)"""
    from catalog.templating import display_today

    return display_today()


def _searched(kind: str, model: type, filters: DecisionFilters, gram: str | None = None
              ) -> sa.ColumnElement[bool]:  # fmt: skip
    """The search words' condition on one kind (search.matching), with what lets the index
    find the rows: on PostgreSQL the GIN index of the grams; on SQLite (here only with a
    filter the FTS order cannot serve: search.indexed) the FTS candidates when they are few."""
    q = filters.q
    # the item's name read for a row only when its party and number miss: no join to find it
    condition = search.matching(model, q, public_rows.subject(kind, correlated=True))
    dialect = db.session.get_bind().dialect.name
    if search.full_credit_code(q) is not None:
        return condition
    if dialect == "postgresql":
        return sa.and_(search.gram_condition(model, q, filters, gram), condition)
    if dialect == "sqlite":
        keys = search.candidate_keys(model, q, search.SEARCH_COUNT_LIMIT + 1, filters)
        if len(keys) <= search.SEARCH_COUNT_LIMIT:
            return sa.and_(model.id.in_([search.from_sort_key(k)[1] for k in keys]), condition)
    return condition


def _conditions(kind: str, model: type, filters: DecisionFilters, today: date, *,
                unit_index: bool = True, gram: str | None = None) -> list:  # fmt: skip
    """What the filters ask of one kind's public rows, on its own table (a licence item by a
    subquery), so that a statement of the table alone can use its indexes (the unit's index
    only when `unit_index`: _narrowing)."""
    conditions = [public_rows.public(kind, today)]
    # (for penalties, implied by public(): lets the list's order skip those that left)
    first, end = search.day_bounds(kind, filters.year, today)
    if first is not None:
        conditions.append(model.decided_on >= first)
    if end is not None:
        conditions.append(model.decided_on < end)
    conditions += _narrowing(kind, model, filters, unit_index=unit_index)
    if filters.q:
        conditions.append(_searched(kind, model, filters, gram))
    return conditions


def _narrowing(kind: str, model: type, filters: DecisionFilters, *,
               unit_index: bool = True) -> list:  # fmt: skip
    """The conditions of the filters but the year and the words on one kind. Without
    `unit_index` the unit is checked on each row in a form no index serves: where the GIN
    lookup already holds the unit's token, PostgreSQL intersected it with ix_*_unit_order
    besides (a common word in one unit: 347 more index pages read, 67-82 ms cold instead of
    39-54, docs/decision-search-speed.md)."""
    conditions = []
    if filters.unit:
        unit = model.data_source_unit if unit_index else model.data_source_unit + ""
        conditions.append(unit == filters.unit)
    if kind == LICENCE and filters.status:
        conditions.append(LicenceDecision.status == LicenceStatus(filters.status))
    if kind == LICENCE and filters.item:
        item = sa.select(ApprovalItem.id).where(ApprovalItem.code == filters.item)
        conditions.append(LicenceDecision.item_id == item.scalar_subquery())
    if kind == PENALTY and filters.category:
        conditions.append(PenaltyDecision.category == PenaltyCategory(filters.category))
    if filters.late is not None:
        late = model.published_on > model.publish_by
        conditions.append(late if filters.late else sa.not_(late))
    return conditions


def _branches(filters: DecisionFilters, today: date) -> list[tuple[str, type, sa.Select]]:
    """The ids of the public decisions the filters select, a statement of its table per kind
    (with its model); the page's rows are read once it is known which they are."""
    return [(kind, model, sa.select(model.id).where(*_conditions(kind, model, filters, today)))
            for kind, model, _select in public_rows.kinds(filters)]  # fmt: skip


def _filtered(filters: DecisionFilters, today: date) -> sa.Subquery:
    """The public decisions the filters select, both kinds in one set of rows."""
    return sa.union_all(*(
        select(today).where(*_conditions(kind, model, filters, today))
        for kind, model, select in public_rows.kinds(filters)
    )).subquery("decisions")  # fmt: skip


def _capped_count(statement: sa.Select, cap: int, order: tuple = ()) -> int:
    """The rows of `statement`, counted up to cap + 1. On SQLite in the list's `order`: the
    same index as the page's then serves the count (unordered, SQLite read a penalty list's
    count through published_on <= today, every penalty, for a list that holds none: 0.6 s at
    597,000 penalties)."""
    counted = statement.with_only_columns(sa.literal(1)).limit(cap + 1)
    if order and db.session.get_bind().dialect.name == "sqlite":
        counted = counted.order_by(*order)
    rows = counted.subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(rows))


def _ordered(rows: sa.Subquery) -> sa.Select:
    return sa.select(rows).order_by(rows.c.decided_on.desc(), rows.c.kind, rows.c.id.desc())


def _after(kind: str, model: type, cursor: Cursor) -> sa.ColumnElement[bool]:
    """The rows of a kind after the cursor in the list's order (decision day, newest first;
    on one day licences before penalties; then id, highest first)."""
    if kind == cursor.kind:
        return sa.tuple_(model.decided_on, model.id) < (cursor.decided_on, cursor.id)
    if kind > cursor.kind:  # this kind's rows of the cursor's day come after it
        return model.decided_on <= cursor.decided_on
    return model.decided_on < cursor.decided_on


def _public(rows) -> list[PublicDecision]:
    return [public_decision(row.kind, row) for row in rows]


@dataclass(frozen=True)
class DecisionPage:
    decisions: list[PublicDecision]
    total: int  # counted up to a bound (count_limit): when not exact, there are more
    total_exact: bool
    next_cursor: str | None
    item_name: str | None  # the name of the item filtered by


def count_limit(filters: DecisionFilters) -> int:
    """How far the list counts its decisions: a search up to 200 (each match is checked),
    a list without one up to the export's bound."""
    return search.SEARCH_COUNT_LIMIT if filters.q else COUNT_LIMIT


def licence_item_name(code: str) -> str:
    """The name of the licence item `code`; Invalid (400) when there is none."""
    name = db.session.scalar(
        sa.select(ApprovalItem.name).where(
            ApprovalItem.code == code, ApprovalItem.item_type == ItemType.licence
        )
    )
    if name is None:
        raise refuse("item", f"没有编码为 {code} 的行政许可事项。")
    return name


def _kind_page(
    kind: str, model: type, statement: sa.Select, filters: DecisionFilters,
    after: Cursor | None, limit: int, cap: int, today: date,
) -> tuple[list, int]:  # fmt: skip
    """The newest ids ((day, id), kind) of one kind after the cursor, and its count up to
    cap + 1. PostgreSQL's search follows search.walks(): a common word walks the list's order
    (and one common enough is not counted); a rarer one is read through the GIN index, first
    within a window of the newest days when the sample finds it (looked up by one of its grams,
    then counted on its own), else its first page counted in the same statement."""
    plan = search.Plan(walk=False, more_than_counted=False)
    searched = filters.q and search.full_credit_code(filters.q) is None
    by_grams = statement  # what the GIN lookup reads (and counts)
    if searched and db.session.get_bind().dialect.name == "postgresql":
        before = after.decided_on if after is not None else None
        plan = search.walks(model, filters.q, today, filters, before=before, wanted=limit + 1)
        if filters.unit:  # its token is among the grams looked up (search.filter_tokens)
            conditions = _conditions(kind, model, filters, today, unit_index=False)
            by_grams = sa.select(model.id).where(*conditions)
    with_count = not (plan.walk or plan.more_than_counted or plan.window) and after is None
    with_count = with_count and bool(filters.q)  # (counted in the page's statement)
    paged = partial(_paged, kind, model, after, limit, with_count)
    with search.walking(plan.walk):
        rows = []  # the newest days first (search.walks): a window holding a page holds the newest
        if plan.window is not None:  # looked up by one gram (search.window_gram)
            looked_up = _conditions(kind, model, filters, today, gram=plan.window_gram)
            windowed = sa.select(model.id).where(*looked_up, model.decided_on >= plan.window)
            rows = db.session.execute(paged(windowed)).all()
        if len(rows) <= limit:  # (a walk reads the list's order)
            rows = db.session.execute(paged(statement if plan.walk else by_grams)).all()
    if plan.more_than_counted:
        count = cap + 1
    elif with_count:
        count = rows[0][2] if rows else 0
    else:
        count = _capped_count(by_grams, cap, (model.decided_on.desc(), model.id.desc()))
    return [((row[1], row[0]), kind) for row in rows], min(count, cap + 1)


def _kind_pages(
    branches: list[tuple[str, type, sa.Select]],
    filters: DecisionFilters,
    after: Cursor | None,
    limit: int,
    cap: int,
    today: date,
) -> list[tuple[list, int]]:
    """_kind_page of each kind. On PostgreSQL the second kind is read at the same time, on a
    connection of its own (a thread, a greenlet under gevent's workers: deploy/gunicorn.conf.py):
    a search's time on a cold table is its reads of each kind's rows, which the two kinds then
    wait for together (docs/decision-search-speed.md, *Both kinds at once*). A search holds two
    pooled connections for that while (APP_SLOTS searches of a worker: 8 of its 15)."""
    page = partial(_kind_page, filters=filters, after=after, limit=limit, cap=cap, today=today)
    if len(branches) < 2 or db.session.get_bind().dialect.name != "postgresql":
        return [page(*branch) for branch in branches]
    app = current_app._get_current_object()
    outcome: dict[str, object] = {}

    def other() -> None:
        try:
            with app.app_context():  # (its own session: removed when the context ends)
                outcome["page"] = page(*branches[1])
        except BaseException as exc:  # raised in the request below
            outcome["error"] = exc

    thread = threading.Thread(target=other, name="decision-search-kind", daemon=True)
    thread.start()
    try:
        first = page(*branches[0])
    finally:
        thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return [first, outcome["page"]]


def _paged(kind: str, model: type, after: Cursor | None, limit: int, with_count: bool,
           ids: sa.Select) -> sa.Select:  # fmt: skip
    """The first limit + 1 of `ids` after the cursor in the list's order, with their day (and
    with_count, how many `ids` select after the cursor)."""
    ids = ids if after is None else ids.where(_after(kind, model, after))
    ids = ids.add_columns(model.decided_on, *([sa.func.count().over()] if with_count else []))
    return ids.order_by(model.decided_on.desc(), model.id.desc()).limit(limit + 1)


def list_decisions(
    filters: DecisionFilters, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT,
    today: date | None = None,
) -> DecisionPage:  # fmt: skip
    """A page of the public list, newest decision first, and how many there are in all (up to
    count_limit: a count beyond it costs as much as listing them)."""
    today = today or public_today()
    after = Cursor.decode(cursor)
    item_name = licence_item_name(filters.item) if filters.item else None
    cap = count_limit(filters)
    if search.indexed(filters):
        found, counts = search.indexed_page(
            filters, after, limit, today,
            lambda kind, model: _narrowing(kind, model, filters))  # fmt: skip
    else:  # the newest ids of each kind through its own indexes, then their rows
        order, counts = [], []
        for ids, count in _kind_pages(_branches(filters, today), filters, after, limit, cap,
                                      today):  # fmt: skip
            order += ids
            counts.append(count)
        found = public_rows.rows_in_order(public_rows.kinds(filters), order, limit + 1, today)
    exact = all(count <= cap for count in counts)
    decisions = found[:limit]
    following = None
    if len(found) > limit:
        last = decisions[-1]
        following = Cursor(last.decided_on, last.kind, last.id).encode()
    total = sum(counts) if exact else cap
    return DecisionPage(decisions, total, exact, following, item_name)


def export_decisions(filters: DecisionFilters, today: date | None = None) -> list[PublicDecision]:
    """Every decision of the list with `filters`, for the CSV export; Invalid (400) above
    MAX_EXPORT_ROWS, asking for narrower filters rather than cutting the list short."""
    today = today or public_today()
    if filters.item:
        licence_item_name(filters.item)
    rows = _filtered(filters, today)
    found = db.session.execute(_ordered(rows).limit(MAX_EXPORT_ROWS + 1)).all()
    if len(found) > MAX_EXPORT_ROWS:
        raise Invalid({"export": [
            f"结果超过{MAX_EXPORT_ROWS}条，请加上年份、类别或单位等条件后再下载。"
        ]})  # fmt: skip
    return _public(found)


def list_options(today: date | None = None) -> tuple[list[str], list[int]]:
    """The units and years to filter the public list by: those with a public decision. Read
    through the indexes, not by grouping every public row (4.5–6 s on SQLite and 1.4 s on
    PostgreSQL at 1,577,000 decisions, on every load of the list): the units one index seek
    each (units_with), the years from the first and the last public decision in the list's
    order."""
    today = today or public_today()
    units: set[str] = set()
    days: list[date] = []
    for kind, model, _select in public_rows.kinds(DecisionFilters()):
        conditions = _conditions(kind, model, DecisionFilters(), today)
        units.update(units_with(model, conditions))
        for order in (model.decided_on, model.decided_on.desc()):
            day = db.session.scalar(
                sa.select(model.decided_on).where(*conditions).order_by(order).limit(1)
            )
            days += [day] if day is not None else []
    if not days:
        return [], []
    return sorted(units), list(range(max(days).year, min(days).year - 1, -1))


def units_with(model: type, conditions: list) -> list[str]:
    """The data source units of a kind with a row meeting `conditions`, in one statement: the
    table's units walked through ix_*_unit_order (each the least one after the last), and for
    each whether one of its rows meets them (it stops at the first). Sorted here: a statement
    without ORDER BY returns its rows in the order of the plan it gets, which more rows in the
    table changed (the staff list's units came out of order)."""
    unit = model.data_source_unit
    walk = sa.select(sa.func.min(unit).label("unit")).cte("units", recursive=True)
    following = sa.select(sa.func.min(unit)).where(unit > walk.c.unit).scalar_subquery()
    walk = walk.union_all(sa.select(following).where(walk.c.unit.is_not(None)))
    has_rows = sa.exists().where(unit == walk.c.unit, *conditions)
    return sorted(
        db.session.scalars(sa.select(walk.c.unit).where(walk.c.unit.is_not(None), has_rows))
    )


def no_organisation(credit_code: str) -> str:
    """The 404 of an organisation page (and its JSON twin) with no public decision."""
    return f"没有统一社会信用代码为 {credit_code[:30]} 的单位的公示决定。"


NOT_PUBLIC = {
    LICENCE: "没有这条已公示的行政许可决定。",
    PENALTY: "没有这条公示中的行政处罚决定（处罚决定在公示期满或信用修复后不再公示）。",
}


def public_record(kind: str, decision_id: int, today: date | None = None) -> PublicDecision | None:
    """One public decision, or None: none with that id, not published yet, or (a penalty)
    no longer published."""
    today = today or public_today()
    if kind == LICENCE:
        statement = public_rows.licences(today).where(LicenceDecision.id == decision_id)
    else:
        statement = public_rows.penalties(today).where(PenaltyDecision.id == decision_id)
    row = db.session.execute(statement).first()
    return None if row is None else public_decision(kind, row)


@dataclass(frozen=True)
class Organisation:
    credit_code: str
    name: str
    party_class: PartyClass
    licences: list[PublicDecision]
    penalties: list[PublicDecision]
    more_licences: bool
    more_penalties: bool


def normal_credit_code(raw: str) -> str:
    """A credit code from a URL, checked (GB 32100-2015); Invalid (400) when it is not one."""
    code = raw.strip().replace(" ", "").replace("-", "").upper()
    # (credit_code_error's messages name the field: "统一社会信用代码校验码错误……")
    error = "统一社会信用代码应为18位。" if len(code) > 30 else credit_code_error(code)
    if error:
        raise Invalid({"credit_code": [error]})
    return code


def organisation(code: str, today: date | None = None) -> Organisation | None:
    """An organisation or sole trader with its public licences and penalties (the newest
    ORGANISATION_ROWS of each), or None when it has none."""
    today = today or public_today()
    code = normal_credit_code(code)
    lists = {}
    for kind, model, select in ((LICENCE, LicenceDecision, public_rows.licences),
                                (PENALTY, PenaltyDecision, public_rows.penalties)):  # fmt: skip
        statement = (
            select(today)
            .where(model.party_credit_code == code, model.party_class.in_(SEARCHABLE_CLASSES))
            .order_by(model.decided_on.desc(), model.id.desc())
            .limit(ORGANISATION_ROWS + 1)
        )
        lists[kind] = _public(db.session.execute(statement).all())
    licences, penalties = lists[LICENCE], lists[PENALTY]
    if not licences and not penalties:
        return None
    newest = max((licences[:1] + penalties[:1]), key=lambda d: (d.decided_on, d.id))
    return Organisation(
        credit_code=code,
        name=newest.party_name,
        party_class=newest.party_class,
        licences=licences[:ORGANISATION_ROWS],
        penalties=penalties[:ORGANISATION_ROWS],
        more_licences=len(licences) > ORGANISATION_ROWS,
        more_penalties=len(penalties) > ORGANISATION_ROWS,
    )


def published_licence_count(item_id: sa.ColumnElement | int, today: date) -> sa.ScalarSelect:
    """The number of public licence decisions of an item, as a scalar subquery (the guide
    reads it in the statement that loads the item)."""
    return (
        sa.select(sa.func.count(LicenceDecision.id))
        .where(LicenceDecision.item_id == item_id, LicenceDecision.published_on <= today)
        .scalar_subquery()
    )
