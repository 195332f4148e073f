"""Writing many rows at once (the synthetic province, migrations' back-fills): Core inserts
on SQLite, COPY on PostgreSQL, the search entries' text indexes built once at the end instead
of row by row, and PostgreSQL's id sequences moved past the ids written."""

from __future__ import annotations

from typing import Any

import psycopg
import sqlalchemy as sa

# The tables whose rows feed text indexes (SQLite: FTS5 tables fed by AFTER INSERT triggers,
# over these sources; PostgreSQL: GIN indexes), taken out of a load and built at its end.
INDEXED_TABLES = ("search_entry", "licence_decision", "penalty_decision")
FTS_SOURCES = ("search_entry", "licence_decision_grams_source", "penalty_decision_grams_source")


# What a load on PostgreSQL takes out and puts back at its end, in this order: (the query that
# finds the objects, the statement that stops one, the one that restarts it; {0} and {1} are
# the query's columns).
POSTGRESQL_SUSPENDED = (
    # the GIN indexes, and the postings' second index
    (
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
        " AND ((tablename IN ('search_entry', 'licence_decision', 'penalty_decision')"
        "       AND indexdef LIKE '% USING gin %')"
        "   OR (tablename = 'search_posting' AND indexname <> 'pk_search_posting'))",
        'DROP INDEX "{0}"',
        "{1}",
    ),
    # the postings' foreign key, checked row by row, is added again (checked in one join)
    (
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = 'search_posting'::regclass AND contype = 'f'",
        'ALTER TABLE search_posting DROP CONSTRAINT "{0}"',
        'ALTER TABLE search_posting ADD CONSTRAINT "{0}" {1}',
    ),
    # the decisions' search_grams triggers (migration 0034): the load writes the grams
    (
        "SELECT tgrelid::regclass::text, tgname FROM pg_trigger"
        " WHERE tgname IN ('licence_decision_search_grams', 'penalty_decision_search_grams')",
        'ALTER TABLE "{0}" DISABLE TRIGGER "{1}"',
        'ALTER TABLE "{0}" ENABLE TRIGGER "{1}"',
    ),
)


def insert_rows(connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    connection.execute(table.insert(), rows)


def copy_rows(connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: the rows through COPY, on the session's connection and in its transaction,
    each value converted by its column's type as an INSERT would. At 50,000 handling items the
    generation took 25 s, against 49 s with INSERTs (Core executemany). The rows all have the
    keys of the first."""
    columns, dialect = list(rows[0]), connection.dialect
    processors = [(name, table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
                  for name in columns]  # fmt: skip
    statement = psycopg.sql.SQL("COPY {} ({}) FROM STDIN").format(
        psycopg.sql.Identifier(table.name),
        psycopg.sql.SQL(", ").join(map(psycopg.sql.Identifier, columns)),
    )
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(
                [process(row[name]) if process else row[name] for name, process in processors]
            )


def suspend_text_indexes(connection: sa.Connection) -> list[str]:
    """Take the search entries' text indexes out of the load, and return the statements that
    build them again at the end: building an index once is much faster than keeping it up row
    by row. Both are part of the load's transaction, so a load that fails leaves them as they
    were.

    SQLite: the FTS5 tables over search_entry and the decisions (migration 0034) are fed row by
    row by AFTER INSERT triggers. They are dropped for the load, created again, and each table
    is rebuilt from its source (50,000 handling items: 17.0 s for the entries through the
    triggers, against 0.7 s without them and 4.2 s for the four rebuilds).
    PostgreSQL: the GIN indexes of search_entry and of the decisions' search_grams are dropped
    and created again (the generation took 295 s with them, against 170 s without the newest),
    and so are the postings' second index and foreign key (catalog.search.parts). The
    decisions' search_grams triggers are off: the load writes each row's grams itself
    (catalog.decisions.search.row_grams; 5,000 handling items: 61 s with the triggers, 22 s
    without them)."""
    if connection.dialect.name == "sqlite":
        # Python's sqlite3 opens its transaction at the first INSERT, UPDATE or DELETE only: a
        # DROP before that would be committed at once, and a load that fails would leave the
        # FTS tables without their triggers. Open it now.
        driver = connection.connection.driver_connection
        if not driver.in_transaction:
            driver.execute("BEGIN")
        triggers = [
            (name, sql) for name, sql, table in connection.execute(sa.text(
                "SELECT name, sql, tbl_name FROM sqlite_master WHERE type = 'trigger'"
            )) if table in INDEXED_TABLES and f"AFTER INSERT ON {table}" in sql
        ]  # fmt: skip
        tables = [name for name, sql in connection.execute(sa.text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql LIKE '%USING fts5%'"
        )) if any(f"content='{source}'" in sql for source in FTS_SOURCES)]  # fmt: skip
        # every entry, those there before the load too
        rebuilds = [f'INSERT INTO "{table}"("{table}") VALUES (\'rebuild\')' for table in tables]
        return _suspend(connection, triggers, 'DROP TRIGGER "{0}"', "{1}") + rebuilds
    if connection.dialect.name != "postgresql":
        return []
    connection.exec_driver_sql("SET LOCAL statement_timeout = 0")  # building takes a while
    then: list[str] = []
    for query, stop, restart in POSTGRESQL_SUSPENDED:
        then += _suspend(connection, connection.execute(sa.text(query)).all(), stop, restart)
    return then


def _suspend(
    connection: sa.Connection, found: list[tuple[str, ...]], stop: str, restart: str
) -> list[str]:
    """Run `stop` for each row found (its columns in the template's {0}, {1}), and return
    `restart` for each: the statements that put them back at the end of the load."""
    for row in found:
        connection.exec_driver_sql(stop.format(*row))
    return [restart.format(*row) for row in found]


def advance_sequences(connection: sa.Connection, tables: dict[Any, sa.Table]) -> None:
    """PostgreSQL's id sequences continue after the ids written explicitly."""
    if connection.dialect.name != "postgresql":
        return
    for table in tables.values():
        if "id" in table.c:
            connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table.name}))"
            )
