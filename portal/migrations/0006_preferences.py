"""Each member's notification settings: how they want each kind (``notification_preference``: by
email at once, in a daily digest, or in the portal only; no row means at once), their quiet hours and
the hour of their digest, as wall-clock times in their own time zone (columns of ``user``).

The columns are added in place, the digest hour with a database default, so that the table is never
rebuilt. Frozen copies of the models; ``user`` is a stub, not created here.
"""
from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    migrator.migrate(
        migrator.add_column('user', 'quiet_from', TimeField(null=True)),
        migrator.add_column('user', 'quiet_until', TimeField(null=True)),
        migrator.add_column('user', 'digest_hour', IntegerField(default=8, constraints=[SQL('DEFAULT 8')]),
                            allow_not_null=True),
    )

    class NotificationPreference(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        kind = CharField()
        mode = CharField()
        class Meta:
            database = db
            table_name = 'notification_preference'
            indexes = ((('user', 'kind'), True),)
    db.create_tables([NotificationPreference])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('notification_preference'))
    migrator.migrate(*[migrator.drop_column('user', name) for name in ('digest_hour', 'quiet_until', 'quiet_from')])
