"""Coordinator console (issue 7): who made a pair by hand, and why a coordinator ended one.

``mentorship.created_by`` is the coordinator who matched the two directly (admin match); it stays
empty for a pair that started from an accepted request or a pairing round. ``mentorship.end_note``
is the note a coordinator gives when they end a pair. Added in place.
"""
from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    migrator.migrate(
        migrator.add_column('mentorship', 'created_by_id',
                            ForeignKeyField(User, null=True, field=User.id, on_delete='SET NULL')),
        migrator.add_column('mentorship', 'end_note', TextField(default='')),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column('mentorship', 'end_note'),
        migrator.drop_index('mentorship', 'mentorship_created_by_id'),
        migrator.drop_column('mentorship', 'created_by_id'),
    )
