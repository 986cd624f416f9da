"""The PostgreSQL run empties the tables between tests (conftest ``EmptyTables``): nothing a test writes
may reach the next one, and ids start at 1 again, as some tests expect."""
import datetime as dt
import itertools
import os

import peewee
import pytest

from portal.models import ALL_MODELS

PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL")  # as tests/conftest.py reads it

pytestmark = pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: on SQLite each test gets a fresh copy of "
                                                   "the migrated template, there is nothing to empty")

VALUES = [  # a value any column of the type accepts (first match wins: DateTimeField is a DateField)
    (peewee.DateTimeField, lambda n: dt.datetime(2027, 3, 16, 10, 0)),
    (peewee.DateField, lambda n: dt.date(2027, 3, 16)),
    (peewee.TimeField, lambda n: dt.time(10, 0)),
    (peewee.BooleanField, lambda n: False),
    (peewee.IntegerField, lambda n: 1),
    (peewee.CharField, lambda n: f"value {n}"),
    (peewee.TextField, lambda n: f"value {n}"),
]


def plant_everywhere():
    """One row in every model's table, each pointing to the rows planted before it; their ids."""
    counter = itertools.count(1)
    planted = {}
    for model in peewee.sort_models(ALL_MODELS):
        row = {}
        for field in model._meta.sorted_fields:
            if isinstance(field, peewee.AutoField):
                continue
            if isinstance(field, peewee.ForeignKeyField):
                row[field.name] = planted.get(field.rel_model)
            elif field.choices:
                row[field.name] = field.choices[0][0]
            elif field.default is not None:
                row[field.name] = field.default() if callable(field.default) else field.default
            else:
                row[field.name] = next(make(next(counter)) for kind, make in VALUES if isinstance(field, kind))
        planted[model] = model.insert(**row).execute()
    return planted


def test_every_table_is_emptied_and_its_ids_start_again_at_1(db, empty_tables):
    first = plant_everywhere()
    assert all(model.select().count() == 1 for model in ALL_MODELS)

    empty_tables()

    assert {model.__name__: model.select().count() for model in ALL_MODELS} == {m.__name__: 0 for m in ALL_MODELS}
    again = plant_everywhere()
    counters = [m for m in ALL_MODELS if isinstance(m._meta.primary_key, peewee.AutoField)]
    assert counters and all(first[m] == again[m] == 1 for m in counters), {m.__name__: again[m] for m in counters}
