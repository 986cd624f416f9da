"""Privacy (issue 7): a member's request to delete their account, and the moment it was done.

``user.deletion_requested_at`` is set while a request waits for a coordinator (cleared when the
member cancels it); ``user.deleted_at`` says the account has been erased (anonymised: its rows stay,
so that the program's statistics keep their counts). The columns are added in place.
"""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('user', 'deletion_requested_at', DateTimeField(null=True)),
        migrator.add_column('user', 'deleted_at', DateTimeField(null=True)),
        migrator.add_index('user', ('deletion_requested_at',), False),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index('user', 'user_deletion_requested_at'),
        migrator.drop_column('user', 'deleted_at'),
        migrator.drop_column('user', 'deletion_requested_at'),
    )
