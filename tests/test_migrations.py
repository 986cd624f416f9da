"""The migration runner: an empty database gets the schema; a migrated one is left alone."""
import pathlib

import pytest

from peewee import SqliteDatabase

from portal import create_app
from portal.db import MIGRATIONS_DIR, database
from portal.models import ALL_MODELS


def make_app(tmp_path, monkeypatch, url):
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    return create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": url})


def test_migrate_creates_every_table_on_an_empty_database(tmp_path, monkeypatch):
    path = tmp_path / "empty.sqlite3"
    runner = make_app(tmp_path, monkeypatch, f"sqlite:///{path}").test_cli_runner()
    result = runner.invoke(args=["migrate"])
    assert result.exit_code == 0, result.output
    assert "applied 0001_initial" in result.output
    tables = set(SqliteDatabase(str(path)).get_tables())
    assert {m._meta.table_name for m in ALL_MODELS} <= tables
    assert "schema_migration" in tables


def test_migrate_on_a_migrated_database_changes_nothing(tmp_path, monkeypatch):
    path = tmp_path / "db.sqlite3"
    runner = make_app(tmp_path, monkeypatch, f"sqlite:///{path}").test_cli_runner()
    runner.invoke(args=["migrate"])
    again = runner.invoke(args=["migrate"])
    assert again.exit_code == 0
    assert again.output.strip() == "database is up to date"
    history = [name for (name,) in SqliteDatabase(str(path)).execute_sql(
        "SELECT name FROM schema_migration ORDER BY name").fetchall()]
    scripts = sorted(p.stem for p in pathlib.Path(MIGRATIONS_DIR).glob("[0-9]*.py"))
    assert history == scripts and history[0] == "0001_initial"


def test_the_configured_database_is_fully_migrated(app, runner):
    """Also on PostgreSQL under make test-services: the schema the suite runs on is the migrated one."""
    result = runner.invoke(args=["migrate"])
    assert result.output.strip() == "database is up to date"
    with app.app_context():
        with database.connection_context():
            assert {m._meta.table_name for m in ALL_MODELS} <= set(database.get_tables())


def test_sqlite_runs_with_wal_foreign_keys_and_immediate_transactions(app, db):
    if db.obj.__class__.__name__ != "SqliteDatabase":
        pytest.skip("SQLite settings: checked on the SQLite run of the suite (make test), not on PostgreSQL")
    assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.obj._lock_type == "IMMEDIATE"
    assert db.obj._timeout >= 5


def test_migration_scripts_do_not_import_the_app_models():
    for script in pathlib.Path(MIGRATIONS_DIR).glob("[0-9]*.py"):
        assert "portal.models" not in script.read_text() and "from ..models" not in script.read_text()
