"""Invitation emails leave the request (issue 7): each invitation row is its own outbox entry.

``send_status`` pending → sending (leased until ``claimed_until``) → sent | failed, with the attempts,
the time of the next try, the server's last answer and when it was sent. Invitations made before this
migration were emailed in their request: they are marked sent. The columns are added in place.
"""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('invitation', 'send_status', CharField(default='sent')),
        migrator.add_column('invitation', 'send_attempts', IntegerField(default=0)),
        migrator.add_column('invitation', 'send_due_at', DateTimeField(null=True)),
        migrator.add_column('invitation', 'send_error', TextField(default='')),
        migrator.add_column('invitation', 'sent_at', DateTimeField(null=True)),
        migrator.add_column('invitation', 'claimed_until', DateTimeField(null=True)),
        migrator.add_index('invitation', ('send_status', 'send_due_at'), False),
    )
    db.execute_sql('UPDATE invitation SET sent_at = created_at, send_due_at = created_at')


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index('invitation', 'invitation_send_status_send_due_at'),
        *[migrator.drop_column('invitation', name) for name in
          ('claimed_until', 'sent_at', 'send_error', 'send_due_at', 'send_attempts', 'send_status')],
    )
