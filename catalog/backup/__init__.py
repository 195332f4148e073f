"""Backup and restore: a consistent copy of the running database, and putting one back.

SQLite: the sqlite3 backup API copies every page under one read lock, so the copy is consistent
while the app keeps writing. PostgreSQL: pg_dump's custom format, taken from a snapshot exported
by the transaction that counts the rows, so the counts printed are those of the file. A restore
checks the whole file before the database is touched, replaces the database in one step (the
backup API; psql running pg_restore's script in a single transaction) and then migrates it to
the current schema.
"""
