import logging

from alembic import context
from flask import current_app

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# The app's logging stays as the app set it: commands such as `seed` and `report` upgrade the
# schema first and must not have their loggers reconfigured by alembic.ini.
logger = logging.getLogger("alembic.env")


def get_engine():
    return current_app.extensions["migrate"].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace("%", "%%")
    except AttributeError:
        return str(get_engine().url).replace("%", "%%")


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option("sqlalchemy.url", get_engine_url())
target_db = current_app.extensions["migrate"].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, "metadatas"):
        return target_db.metadatas[None]
    return target_db.metadata


# Search indexes that SQLAlchemy models cannot describe (migrations 0003, 0008-0011, 0042, 0043):
# the FTS5 tables and their shadow tables on SQLite, the GIN and prefix indexes on PostgreSQL.
# Autogenerate and `flask db check` leave them alone.
# ix_search_entry_item_name_prefix (PostgreSQL, 0010/0026) is no longer read by a prefix LIKE
# but is the covering index of the search frame's item names (frame._item_names: GROUP BY
# item_name with the ids): an index-only scan of 884 pages against 21,000 for the table at
# 99,500 entries (24 ms against 77-103 ms); keep it while that statement reads it.
HAND_WRITTEN = {
    "ix_search_entry_name_trgm", "ix_search_entry_body_trgm",
    "ix_search_entry_pinyin_trgm", "ix_search_entry_initials_trgm",
    "ix_search_entry_item_name_prefix", "ix_search_entry_pinyin_prefix",
    "ix_handling_item_code_id", "ix_handling_item_listed", "ix_approval_item_listed",
}  # fmt: skip
HAND_WRITTEN_TABLES = ("search_fts", "search_name_fts",  # (0043 dropped search_*chars)
                       "licence_decision_grams", "penalty_decision_grams")  # fmt: skip


# PostgreSQL's decision search (0034): a column kept by a trigger, and its GIN index.
HAND_WRITTEN_COLUMNS = {("licence_decision", "search_grams"), ("penalty_decision", "search_grams")}
HAND_WRITTEN |= {"ix_licence_decision_search_grams", "ix_penalty_decision_search_grams"}


def include_object(object_, name, type_, reflected, compare_to):
    if type_ == "table" and name and name.startswith(HAND_WRITTEN_TABLES):
        return False
    if type_ == "column" and (object_.table.name, name) in HAND_WRITTEN_COLUMNS:
        return False
    return not (type_ == "index" and name in HAND_WRITTEN)


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True, include_object=include_object
    )

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = current_app.extensions["migrate"].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    connectable = get_engine()

    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=get_metadata(),
            include_object=include_object,
            **conf_args,
        )

        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # The app's statement timeout (DATABASE_STATEMENT_TIMEOUT) is for requests;
                # building an index over a province's catalog takes minutes.
                connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
