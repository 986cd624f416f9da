"""Pairing rounds (issue 8, DESIGN journey 6): rounds, members' entries, and the matcher's proposals.

A round goes draft → open → matching → published → closed. Members opt in with a ``round_entry``
(as mentor with a capacity, as mentee, or both) and its topics, up to three preferred mentors and the
people they must never be paired with. ``round_proposal`` holds the proposed mentor per mentee,
``round_forbidden`` the pairs a coordinator ruled out; ``mentorship.round_id`` is the round that made
the pair. Frozen copies of the models; ``user`` and ``topic`` are stubs, not created here.
"""
from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Topic(Model):
        class Meta:
            database = db
            table_name = 'topic'

    class Round(Model):
        name = CharField(unique=True)
        opens_on = DateField()
        closes_on = DateField()
        starts_on = DateField()
        length_weeks = IntegerField()
        status = CharField(default='draft', index=True)
        weights = TextField(default='{}')
        created_by = ForeignKeyField(User, null=True, backref='+', on_delete='SET NULL')
        created_at = DateTimeField()
        published_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'round'

    class RoundEntry(Model):
        round = ForeignKeyField(Round, on_delete='CASCADE')
        user = ForeignKeyField(User, backref='+', on_delete='CASCADE')
        as_mentor = BooleanField(default=False)
        capacity = IntegerField(default=0)
        as_mentee = BooleanField(default=False)
        confirmed_at = DateTimeField(null=True)
        created_at = DateTimeField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'round_entry'
            indexes = ((('round', 'user'), True),)

    class RoundEntryTopic(Model):
        entry = ForeignKeyField(RoundEntry, on_delete='CASCADE')
        topic = ForeignKeyField(Topic, backref='+', on_delete='CASCADE')
        kind = CharField()
        class Meta:
            database = db
            table_name = 'round_entry_topic'
            indexes = ((('entry', 'topic', 'kind'), True),)

    class RoundPreference(Model):
        entry = ForeignKeyField(RoundEntry, on_delete='CASCADE')
        mentor = ForeignKeyField(User, backref='+', on_delete='CASCADE')
        rank = IntegerField()
        class Meta:
            database = db
            table_name = 'round_preference'
            indexes = ((('entry', 'rank'), True), (('entry', 'mentor'), True))

    class RoundExclusion(Model):
        entry = ForeignKeyField(RoundEntry, on_delete='CASCADE')
        other = ForeignKeyField(User, backref='+', on_delete='CASCADE')
        class Meta:
            database = db
            table_name = 'round_exclusion'
            indexes = ((('entry', 'other'), True),)

    class RoundProposal(Model):
        round = ForeignKeyField(Round, on_delete='CASCADE')
        mentee = ForeignKeyField(User, backref='+', on_delete='CASCADE')
        mentor = ForeignKeyField(User, backref='+', on_delete='CASCADE')
        score = FloatField(default=0)
        reasons = TextField(default='[]')
        preferred_rank = IntegerField(null=True)
        locked = BooleanField(default=False)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'round_proposal'
            indexes = ((('round', 'mentee'), True),)

    class RoundForbidden(Model):
        round = ForeignKeyField(Round, on_delete='CASCADE')
        mentee = ForeignKeyField(User, backref='+', on_delete='CASCADE')
        mentor = ForeignKeyField(User, backref='+', on_delete='CASCADE')
        created_by = ForeignKeyField(User, null=True, backref='+', on_delete='SET NULL')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'round_forbidden'
            indexes = ((('round', 'mentee', 'mentor'), True),)

    db.create_tables([Round, RoundEntry, RoundEntryTopic, RoundPreference, RoundExclusion, RoundProposal,
                      RoundForbidden])
    migrator.migrate(
        migrator.add_column('mentorship', 'round_id',
                            ForeignKeyField(Round, null=True, field=Round.id, on_delete='SET NULL')),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index('mentorship', 'mentorship_round_id'),
        migrator.drop_column('mentorship', 'round_id'),
    )
    for table in ('round_forbidden', 'round_proposal', 'round_exclusion', 'round_preference',
                  'round_entry_topic', 'round_entry', 'round'):
        migrator.migrate(migrator.drop_table(table))
