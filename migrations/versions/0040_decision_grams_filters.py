"""双公示: the unit, the lateness and the staff's words among the decisions' grams

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-06

Issue 24 part 8 (docs/decision-search-speed.md, "The unit and the lateness among the grams").
At 1,577,000 decisions a common word within one unit, or among the late decisions, read each of
its FTS / GIN candidates to check the filter (名称+单位 65 ms, 名称+逾期 92 ms p95). The grams
of 0034 now also hold, per decision:
- "@unit" followed by the hex of the data source unit's UTF-8 bytes (one token per unit),
- "@late" when it was published after its deadline (published_on > publish_by),
so that a word with a unit or late=1 is one intersection in the index;
- "~" followed by each character and pair of a natural person's name, lower-cased: the staff
  list finds natural persons by name (the public search never does: its grams have no "~").
Every other gram is as 0034 made it. And ix_*_party_id_number: the staff search's whole ID
number (an OR beside the grams' candidates, which needs an index on each side).

SQLite: the FTS5 tables and their source views and triggers are made again with the new view
(the triggers also fire on the unit and the two days) and rebuilt. PostgreSQL: the trigger
functions compute the new grams (0034's and decision_added_grams), the existing rows get the added
grams appended in one UPDATE (the GIN index dropped around it), and the trigger also fires on
the unit and the two days. Both tables are analysed after, and on PostgreSQL vacuumed outside
the transaction: the UPDATE leaves a dead version of each row, which walks of the list's order
read until autovacuum comes.
"""

import string

from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None

SEARCHABLE = "('organisation', 'sole_trader')"
TABLES = ("licence_decision", "penalty_decision")
_PUNCTUATION = string.punctuation.replace("'", "''")
TOKENIZER = f"ascii tokenchars '{_PUNCTUATION}'".replace('"', '""')
TEXTS = {
    "licence_decision": ("lower(a.name)", "JOIN approval_item a ON a.id = d.item_id"),
    "penalty_decision": ("lower(d.violation_type)", ""),
}
INDEXED = ("party_name", "party_class", "party_credit_code", "document_number", "decided_on")
ADDED = ("data_source_unit", "published_on", "publish_by")  # what the new grams also read
SUBJECT = {"licence_decision": "item_id", "penalty_decision": "violation_type"}
LATE = "@late"
UNIT = "@unit"


def _sqlite_source(table: str, *, extended: bool) -> str:
    subject, join = TEXTS[table]
    person = (
        f"UNION ALL SELECT lower(CASE WHEN d.party_class NOT IN {SEARCHABLE}"
        " THEN d.party_name END), '~'"
        if extended
        else ""
    )
    extra = (
        f"""|| ' {UNIT}' || lower(hex(d.data_source_unit))
        || CASE WHEN d.published_on > d.publish_by THEN ' {LATE}' ELSE '' END"""
        if extended
        else ""
    )
    return f"""CREATE VIEW {table}_grams_source AS
    SELECT d.id AS id, {"d.item_id" if table == "licence_decision" else "NULL"} AS item_id,
        (CAST(julianday(d.decided_on) AS INTEGER) << 32) | d.id AS sort_key,
        coalesce((WITH RECURSIVE
            texts(t, m) AS (
                SELECT lower(CASE WHEN d.party_class IN {SEARCHABLE} THEN d.party_name END), ''
                UNION ALL SELECT lower(d.document_number), ''
                UNION ALL SELECT {subject}, '' {person}),
            at(t, m, i) AS (SELECT t, m, 1 FROM texts WHERE t <> ''
                            UNION ALL SELECT t, m, i + 1 FROM at WHERE i < length(t))
            SELECT group_concat(m || substr(t, i, 1) || ' ' || m || substr(t, i, 2), ' ')
            FROM at), '')
        || coalesce((WITH RECURSIVE
            prefix(k) AS (SELECT 1 WHERE d.party_class IN {SEARCHABLE}
                                     AND length(d.party_credit_code) > 0
                          UNION ALL SELECT k + 1 FROM prefix
                          WHERE k < length(d.party_credit_code))
            SELECT ' ' || group_concat('^' || substr(d.party_credit_code, 1, k), ' ')
            FROM prefix), '') {extra} AS grams
    FROM {table} d {join}"""


def _sqlite_up(table: str, *, extended: bool) -> list[str]:
    fts, source = f"{table}_grams", f"{table}_grams_source"
    watched = (*INDEXED, SUBJECT[table], *(ADDED if extended else ()))
    changed = " OR ".join(f"old.{column} IS NOT new.{column}" for column in watched)
    columns = ", ".join(watched)
    delete = f"""INSERT INTO {fts}({fts}, rowid, grams)
        SELECT 'delete', sort_key, grams FROM {source} WHERE id = old.id;"""
    insert = f"""INSERT INTO {fts}(rowid, grams)
        SELECT sort_key, grams FROM {source} WHERE id = new.id;"""
    statements = [
        _sqlite_source(table, extended=extended),
        f"""CREATE VIRTUAL TABLE {fts} USING fts5(grams, content='{source}',
            content_rowid='sort_key', tokenize="{TOKENIZER}", detail=none, columnsize=0)""",
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN {insert} END",
        f"CREATE TRIGGER {fts}_bd BEFORE DELETE ON {table} BEGIN {delete} END",
        f"""CREATE TRIGGER {fts}_bu BEFORE UPDATE OF {columns} ON {table}
            WHEN {changed} BEGIN {delete} END""",
        f"""CREATE TRIGGER {fts}_au AFTER UPDATE OF {columns} ON {table}
            WHEN {changed} BEGIN {insert} END""",
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
    ]
    if table == "licence_decision":
        statements += [
            f"""CREATE TRIGGER {fts}_item_bu BEFORE UPDATE OF name ON approval_item
                WHEN old.name IS NOT new.name BEGIN
                INSERT INTO {fts}({fts}, rowid, grams)
                SELECT 'delete', sort_key, grams FROM {source} WHERE item_id = old.id; END""",
            f"""CREATE TRIGGER {fts}_item_au AFTER UPDATE OF name ON approval_item
                WHEN old.name IS NOT new.name BEGIN
                INSERT INTO {fts}(rowid, grams)
                SELECT sort_key, grams FROM {source} WHERE item_id = new.id; END""",
        ]
    return statements


def _sqlite_down(table: str) -> list[str]:
    fts = f"{table}_grams"
    return [f"DROP TRIGGER IF EXISTS {fts}_{suffix}"
            for suffix in ("ai", "bd", "bu", "au", "item_bu", "item_au")] + [
        f"DROP TABLE IF EXISTS {fts}", f"DROP VIEW IF EXISTS {table}_grams_source",
    ]  # fmt: skip


# PostgreSQL: the grams 0040 adds to 0034's (decision_search_grams), from a natural person's
# name, the unit and the lateness
POSTGRES_ADDED = f"""CREATE FUNCTION decision_added_grams(person text, unit text, late boolean)
    RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce((SELECT array_agg(DISTINCT '~' || gram) FROM (
        SELECT substr(lower(person), i, n) AS gram
        FROM generate_series(1, length(person)) AS i, (VALUES (1), (2)) AS size(n)
        WHERE i + n - 1 <= length(person)) AS grams), '{{}}')
    || ARRAY['{UNIT}' || encode(convert_to(unit, 'UTF8'), 'hex')]
    || CASE WHEN late THEN ARRAY['{LATE}'] ELSE '{{}}'::text[] END $$"""
POSTGRES_SUBJECT = {"licence_decision": "a.name", "penalty_decision": "r.violation_type"}


def _postgres_grams(table: str) -> str:
    return f"""decision_search_grams(ARRAY[
        CASE WHEN r.party_class IN {SEARCHABLE} THEN r.party_name END,
        r.document_number, {POSTGRES_SUBJECT[table]}],
        CASE WHEN r.party_class IN {SEARCHABLE} THEN r.party_credit_code END)"""


_POSTGRES_ADDED_CALL = (
    f"decision_added_grams(CASE WHEN r.party_class NOT IN {SEARCHABLE} THEN r.party_name END,"
    " r.data_source_unit, r.published_on > r.publish_by)"
)


def _postgres_trigger(table: str, *, extended: bool) -> list[str]:
    watched = (*INDEXED[:-1], SUBJECT[table], *(ADDED if extended else ()))
    item = "FROM approval_item a WHERE a.id = r.item_id" if table == "licence_decision" else ""
    grams = _postgres_grams(table) + (f" || {_POSTGRES_ADDED_CALL}" if extended else "")
    return [
        f"DROP TRIGGER IF EXISTS {table}_search_grams ON {table}",
        f"""CREATE OR REPLACE FUNCTION {table}_search_grams() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            NEW.search_grams := (SELECT {grams}
                                 FROM (SELECT NEW.*) AS r {item.replace("FROM", ",")});
            RETURN NEW;
        END $$""",
        f"""CREATE TRIGGER {table}_search_grams BEFORE INSERT OR UPDATE OF {", ".join(watched)}
            ON {table} FOR EACH ROW EXECUTE FUNCTION {table}_search_grams()""",
    ]


def _postgres_refill(table: str, *, extended: bool) -> list[str]:
    """The existing rows' grams, the GIN index dropped around the UPDATE: 0040's appended to
    what 0034 wrote (extended), or 0034's alone again (downgrade)."""
    if extended:
        fill = f"UPDATE {table} AS r SET search_grams = r.search_grams || {_POSTGRES_ADDED_CALL}"
    else:
        item = "FROM approval_item a WHERE a.id = r.item_id" if table == "licence_decision" else ""
        fill = f"UPDATE {table} AS r SET search_grams = {_postgres_grams(table)} {item}"
    return [
        f"DROP INDEX IF EXISTS ix_{table}_search_grams",
        f"ALTER TABLE {table} DISABLE TRIGGER {table}_search_grams",
        fill,
        f"ALTER TABLE {table} ENABLE TRIGGER {table}_search_grams",
        f"CREATE INDEX ix_{table}_search_grams ON {table} USING gin (search_grams)",
        f"ANALYZE {table}",
    ]


def _run(statements) -> None:
    connection = op.get_bind()
    for statement in statements:  # as written: no bind parameters (":" is punctuation here)
        connection.exec_driver_sql(statement)


def _migrate(*, extended: bool) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in TABLES:
            _run(_sqlite_down(table))
            _run(_sqlite_up(table, extended=extended))
    elif dialect == "postgresql":
        _run(["SET LOCAL statement_timeout = 0"])  # a large catalog takes a while
        if extended:
            _run([POSTGRES_ADDED])
        for table in TABLES:
            _run(_postgres_trigger(table, extended=extended))
            _run(_postgres_refill(table, extended=extended))
        if not extended:
            _run(["DROP FUNCTION IF EXISTS decision_added_grams(text, text, boolean)"])


def upgrade():
    _migrate(extended=True)
    for table in TABLES:
        op.create_index(f"ix_{table}_party_id_number", table, ["party_id_number"])
        if op.get_bind().dialect.name == "sqlite":  # the planner's statistics of it
            op.execute(f"ANALYZE {table}")
    if op.get_bind().dialect.name == "postgresql":
        # The UPDATE left a dead version of every row, which walks of the list's order read
        # until autovacuum comes (the bench's server runs none): vacuumed here, outside the
        # transaction (VACUUM cannot run in one).
        with op.get_context().autocommit_block():
            for table in TABLES:
                op.execute(f"VACUUM (ANALYZE) {table}")


def downgrade():
    for table in TABLES:
        op.drop_index(f"ix_{table}_party_id_number", table_name=table)
    _migrate(extended=False)
