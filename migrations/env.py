"""Alembic environment for watcher's database.

watcher itself runs migrations through ``watcher.store.migrate`` (``watcher db upgrade``),
handing in a connection with a transaction already open. For development, Alembic's own
command works too, with the URL from ``-x database=URL``, ``$WATCHER_DATABASE`` or
``alembic.ini``::

    .venv/bin/alembic -c migrations/alembic.ini -x database=sqlite:///dev.db upgrade head
    .venv/bin/alembic -c migrations/alembic.ini -x database=sqlite:///dev.db \\
        revision --autogenerate --rev-id 0002 -m "what changes"
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from watcher.store.engine import create, writing
from watcher.store.schema import metadata

config = context.config
if config.config_file_name is not None and "connection" not in config.attributes:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    url = (
        context.get_x_argument(as_dictionary=True).get("database")
        or os.environ.get("WATCHER_DATABASE")
        or config.get_main_option("sqlalchemy.url")
    )
    if not url:
        raise SystemExit("no database URL: pass -x database=URL or set WATCHER_DATABASE")
    return url


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things: copy the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=True,
    )


def run_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        # The caller owns the transaction: begin_transaction() below joins it.
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create(_url())
    try:
        with writing(engine) as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
