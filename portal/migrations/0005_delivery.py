"""Delivering the outbox: the lease a delivery holds on a notification while it sends it.

``claimed_until`` is set when a sweep enqueues a row (so that the next sweep does not enqueue it
again while the message waits in the broker) and when a worker claims it (so that no other worker
sends it meanwhile); a lease that has run out means the message or the worker was lost, and the
row may be taken again. Added in place: the table is never rebuilt.

The sweep looks for meetings logged two days ago whose feedback is due: an index on
(status, logged_at) reads those, not every meeting held.
"""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('notification', 'claimed_until', DateTimeField(null=True)),
        migrator.add_index('meeting', ('status', 'logged_at'), False),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index('meeting', 'meeting_status_logged_at'),
        migrator.drop_column('notification', 'claimed_until'),
    )
