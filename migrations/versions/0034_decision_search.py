"""双公示: indexes for the public decision search at 1,000,000 records

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-05

Issue 24 part 8 (docs/decision-search-speed.md has the measurements behind each choice). A
search word is looked up through the "grams" of what the public search matches: every character
and every pair of adjacent characters of an organisation's or sole trader's name (never a
natural person's), of the document number and of the licence item's name or the penalty's
violation type, lower-cased (ASCII), and "^" followed by each leading part of the credit code
(a code typed in part). A word of 1 or 2 characters is one gram; a longer one is found through
some of its pairs, and the rows are checked with LIKE (catalog.decisions.search).

SQLite: an FTS5 table per kind over a view that computes the grams (external content; one
gram a token of the ascii tokenizer, ASCII punctuation kept in tokens), detail=none. Its rowid
is the list's order: the decision day (Julian day number) << 32 | id, so that the newest
matches come first from the index itself and a page or a count stops early. Kept in step by
triggers on the decision tables and on approval_item's name; a row's entry is deleted with the
values the view gives before the change.
PostgreSQL: a column search_grams (text[]) on each decision table, set by a BEFORE INSERT OR
UPDATE trigger (and rewritten when a licence item is renamed), with a GIN index; ANALYZE's
most common elements tell the app which pairs are rare.
Both: the list's order (decided_on, id) as one index, replacing the index of decided_on alone
(PostgreSQL otherwise sorted a whole day's decisions for a page).
"""

import string

from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

SEARCHABLE = "('organisation', 'sole_trader')"
TABLES = ("licence_decision", "penalty_decision")
# one gram a token: the ascii tokenizer splits only at spaces and control characters
_PUNCTUATION = string.punctuation.replace("'", "''")
TOKENIZER = f"ascii tokenchars '{_PUNCTUATION}'".replace('"', '""')
# what the public search matches, per kind: (texts, the joins they need)
TEXTS = {
    "licence_decision": ("lower(a.name)", "JOIN approval_item a ON a.id = d.item_id"),
    "penalty_decision": ("lower(d.violation_type)", ""),
}
# a decision's FTS entry changes when one of these does
INDEXED = ("party_name", "party_class", "party_credit_code", "document_number", "decided_on")
SUBJECT = {"licence_decision": "item_id", "penalty_decision": "violation_type"}


def _sqlite_source(table: str) -> str:
    subject, join = TEXTS[table]
    return f"""CREATE VIEW {table}_grams_source AS
    SELECT d.id AS id, {"d.item_id" if table == "licence_decision" else "NULL"} AS item_id,
        (CAST(julianday(d.decided_on) AS INTEGER) << 32) | d.id AS sort_key,
        coalesce((WITH RECURSIVE
            texts(t) AS (
                SELECT lower(CASE WHEN d.party_class IN {SEARCHABLE} THEN d.party_name END)
                UNION ALL SELECT lower(d.document_number) UNION ALL SELECT {subject}),
            at(t, i) AS (SELECT t, 1 FROM texts WHERE t <> ''
                         UNION ALL SELECT t, i + 1 FROM at WHERE i < length(t))
            SELECT group_concat(substr(t, i, 1) || ' ' || substr(t, i, 2), ' ') FROM at), '')
        || coalesce((WITH RECURSIVE
            prefix(k) AS (SELECT 1 WHERE d.party_class IN {SEARCHABLE}
                                     AND length(d.party_credit_code) > 0
                          UNION ALL SELECT k + 1 FROM prefix
                          WHERE k < length(d.party_credit_code))
            SELECT ' ' || group_concat('^' || substr(d.party_credit_code, 1, k), ' ')
            FROM prefix), '') AS grams
    FROM {table} d {join}"""


def _sqlite_up(table: str) -> list[str]:
    fts, source = f"{table}_grams", f"{table}_grams_source"
    changed = " OR ".join(f"old.{column} IS NOT new.{column}"
                          for column in (*INDEXED, SUBJECT[table]))  # fmt: skip
    columns = ", ".join((*INDEXED, SUBJECT[table]))
    delete = f"""INSERT INTO {fts}({fts}, rowid, grams)
        SELECT 'delete', sort_key, grams FROM {source} WHERE id = old.id;"""
    insert = f"""INSERT INTO {fts}(rowid, grams)
        SELECT sort_key, grams FROM {source} WHERE id = new.id;"""
    statements = [
        _sqlite_source(table),
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
    if table == "licence_decision":  # a renamed licence item: its decisions' entries
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


POSTGRES_FUNCTION = """CREATE FUNCTION decision_search_grams(texts text[], code text)
    RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT gram), '{}') FROM (
        SELECT substr(t, i, n) AS gram
        FROM (SELECT lower(u) AS t FROM unnest(texts) AS u WHERE u <> '') AS lowered,
             generate_series(1, length(t)) AS i, (VALUES (1), (2)) AS size(n)
        WHERE i + n - 1 <= length(t)
        UNION ALL
        SELECT '^' || lower(substr(code, 1, k)) FROM generate_series(1, length(code)) AS k
    ) AS grams $$"""
# a row's grams, from the row `r` (NEW in the trigger) and its subject
POSTGRES_SUBJECT = {"licence_decision": "a.name", "penalty_decision": "r.violation_type"}


def _postgres_grams(table: str) -> str:
    return f"""decision_search_grams(ARRAY[
        CASE WHEN r.party_class IN {SEARCHABLE} THEN r.party_name END,
        r.document_number, {POSTGRES_SUBJECT[table]}],
        CASE WHEN r.party_class IN {SEARCHABLE} THEN r.party_credit_code END)"""


def _postgres_up(table: str) -> list[str]:
    columns = ", ".join((*INDEXED[:-1], SUBJECT[table]))
    item = "FROM approval_item a WHERE a.id = r.item_id" if table == "licence_decision" else ""
    return [
        f"ALTER TABLE {table} ADD COLUMN search_grams text[] NOT NULL DEFAULT '{{}}'",
        # existing rows in one statement (a trigger row by row took four times as long)
        f"UPDATE {table} AS r SET search_grams = {_postgres_grams(table)} {item}",
        f"""CREATE FUNCTION {table}_search_grams() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.search_grams := (SELECT {_postgres_grams(table)}
                                 FROM (SELECT NEW.*) AS r {item.replace("FROM", ",")});
            RETURN NEW;
        END $$""",
        f"""CREATE TRIGGER {table}_search_grams BEFORE INSERT OR UPDATE OF {columns}
            ON {table} FOR EACH ROW EXECUTE FUNCTION {table}_search_grams()""",
        f"CREATE INDEX ix_{table}_search_grams ON {table} USING gin (search_grams)",
        f"ANALYZE {table}",
    ]


POSTGRES_ITEM_RENAME = [
    """CREATE FUNCTION approval_item_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE licence_decision SET item_id = item_id WHERE item_id = NEW.id;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER approval_item_renamed AFTER UPDATE OF name ON approval_item
        FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
        EXECUTE FUNCTION approval_item_renamed()""",
]


def _postgres_down(table: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_search_grams ON {table}",
        f"DROP FUNCTION IF EXISTS {table}_search_grams()",
        f"DROP INDEX IF EXISTS ix_{table}_search_grams",
        f"ALTER TABLE {table} DROP COLUMN IF EXISTS search_grams",
    ]


def _order_index(table: str, *, composite: bool) -> None:
    """The list's order as one index, or (downgrade) decided_on alone as 0029 made it."""
    with op.batch_alter_table(table) as batch_op:
        if composite:
            batch_op.drop_index(batch_op.f(f"ix_{table}_decided_on"))
            batch_op.create_index(batch_op.f(f"ix_{table}_order"), ["decided_on", "id"])
        else:
            batch_op.drop_index(batch_op.f(f"ix_{table}_order"))
            batch_op.create_index(batch_op.f(f"ix_{table}_decided_on"), ["decided_on"])


def _run(statements) -> None:
    connection = op.get_bind()
    for statement in statements:  # as written: no bind parameters (":" is punctuation here)
        connection.exec_driver_sql(statement)


def upgrade():
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        _order_index(table, composite=True)
    if dialect == "sqlite":
        for table in TABLES:
            _run(_sqlite_up(table))
    elif dialect == "postgresql":
        _run(["SET LOCAL statement_timeout = 0"])  # a large catalog takes a while
        _run([POSTGRES_FUNCTION])
        for table in TABLES:
            _run(_postgres_up(table))
        _run(POSTGRES_ITEM_RENAME)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in TABLES:
            _run(_sqlite_down(table))
    elif dialect == "postgresql":
        _run(["DROP TRIGGER IF EXISTS approval_item_renamed ON approval_item",
              "DROP FUNCTION IF EXISTS approval_item_renamed()"])  # fmt: skip
        for table in TABLES:
            _run(_postgres_down(table))
        _run(["DROP FUNCTION IF EXISTS decision_search_grams(text[], text)"])
    for table in TABLES:
        _order_index(table, composite=False)
