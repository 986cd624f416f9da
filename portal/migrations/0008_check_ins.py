"""Check-ins (DESIGN §6): each partner's one-question score, one per round of a mentorship.

Frozen copies of the models; ``user`` and ``mentorship`` are stubs, not created here.
"""
from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Mentorship(Model):
        class Meta:
            database = db
            table_name = 'mentorship'

    class CheckIn(Model):
        mentorship = ForeignKeyField(Mentorship, on_delete='CASCADE')
        author = ForeignKeyField(User, on_delete='CASCADE')
        round = IntegerField()
        score = IntegerField()
        comment = TextField(default='')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'check_in'
            indexes = ((('mentorship', 'author', 'round'), True),)
    db.create_tables([CheckIn])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('check_in'))
