"""Database binding, connection per request, and the migrations runner.

Models bind to ``database``, a proxy that each process (web app, worker,
tests) initialises from its own settings.
"""
import logging
import math
import os
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlparse

import click
from flask import request
from peewee import DatabaseProxy, PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import parse as parse_url
from playhouse.migrations import Runner

log = logging.getLogger(__name__)

database = DatabaseProxy()

MIGRATIONS_DIR = os.path.join(os.path.dirname(__file__), "migrations")

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
}


def make_database(url):
    """A peewee database for a URL: ``sqlite:///path`` or ``postgresql://…``."""
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        path = url[len("sqlite:///"):]
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        # Writers take the lock when they begin, not halfway through
        # (IMMEDIATE), and wait up to 10 s for it instead of failing.
        return SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=10, lock_type="IMMEDIATE")
    if scheme in ("postgres", "postgresql"):
        params = parse_url(url)
        name = params.pop("database")
        return PostgresqlDatabase(name, autorollback=False, **params)
    raise ValueError(f"unsupported database URL scheme {scheme!r}: use sqlite:/// or postgresql://")


def bind(url):
    db = make_database(url)
    if database.obj is not None and not database.is_closed():
        database.close()
    database.initialize(db)
    return db


def is_postgres():
    return isinstance(database.obj, PostgresqlDatabase)


def runner():
    return Runner(database.obj, MIGRATIONS_DIR)


def migrate():
    """Apply pending migrations; returns their names."""
    with database.connection_context():
        return runner().up()


@contextmanager
def write_lock():
    """A transaction that holds the write lock from its start.

    SQLite begins it IMMEDIATE (set on the database); PostgreSQL callers
    lock the rows they read with ``for_update()``.
    """
    with database.atomic() as txn:
        yield txn


def locked(query):
    """``query`` taking row locks on PostgreSQL, for a read-then-write inside ``write_lock``.

    SQLite needs none: the IMMEDIATE transaction already holds the only write lock.
    """
    return query.for_update() if is_postgres() else query


def _open_connection():
    # The health check and static files open (or not) on their own terms.
    if request.endpoint in ("site.healthz", "static"):
        return
    database.connect(reuse_if_open=True)


def _close_connection(exc):
    if not database.is_closed():
        if database.in_transaction():
            database.rollback()
        database.close()


@click.command("migrate")
def migrate_command():
    """Create or upgrade the database schema."""
    applied = migrate()
    if applied:
        for name in applied:
            click.echo(f"applied {name}")
    else:
        click.echo("database is up to date")


def init_app(app):
    bind(app.config["DATABASE_URL"])
    app.before_request(_open_connection)
    app.teardown_appcontext(_close_connection)
    app.cli.add_command(migrate_command)


@dataclass
class Page:
    """One page of a list: its ``rows``, how many there are in all, and which page of how many."""
    rows: list
    total: int
    page: int
    pages: int


def paginate(query, page, page_size, total=None):
    """``page`` of the ordered ``query``, in two queries (the COUNT, unless ``total`` is known, and the page).
    A page before the first shows the first; one past the last shows the last."""
    total = query.count() if total is None else total
    pages = max(1, math.ceil(total / page_size))
    page = min(max(1, page), pages)
    return Page(list(query.limit(page_size).offset((page - 1) * page_size)), total, page, pages)
