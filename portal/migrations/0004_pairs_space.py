"""The pair's space: milestones, meetings with their topics, private notes and feedback, and what
a mentorship keeps about its goals, its ending and a "not a good fit" flag.

Frozen copies of the models (time defaults are set by the application); the
tables they point to are declared as stubs and not created here. New columns
of ``mentorship`` are added in place with a database default, so that the
table is never rebuilt (a rebuild on SQLite would touch the requests that
point to it).
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

    class Mentorship(Model):
        class Meta:
            database = db
            table_name = 'mentorship'

    def text():
        return TextField(default='', constraints=[SQL("DEFAULT ''")])

    def flag():
        return BooleanField(default=False, constraints=[SQL('DEFAULT FALSE')])

    def someone():
        return ForeignKeyField(User, field=User.id, null=True, on_delete='SET NULL')

    columns = [
        ('goals_updated_at', DateTimeField(null=True)),
        ('goals_updated_by_id', someone()),
        ('ended_by_id', someone()),
        ('end_reason', CharField(default='', constraints=[SQL("DEFAULT ''")])),
        ('mentor_reflection', text()),
        ('mentee_reflection', text()),
        ('mentor_stays_in_touch', flag()),
        ('mentee_stays_in_touch', flag()),
        ('flagged_at', DateTimeField(null=True)),
        ('flagged_by_id', someone()),
    ]
    migrator.migrate(*[migrator.add_column('mentorship', name, field, allow_not_null=not field.null)
                       for name, field in columns])

    class Milestone(Model):
        mentorship = ForeignKeyField(Mentorship, on_delete='CASCADE')
        title = CharField()
        due_on = DateField(null=True)
        done_at = DateTimeField(null=True)
        done_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'milestone'
    db.create_tables([Milestone])

    class Meeting(Model):
        mentorship = ForeignKeyField(Mentorship, on_delete='CASCADE')
        status = CharField(default='scheduled')
        starts_at = DateTimeField(null=True)
        duration_minutes = IntegerField(default=60)
        format = CharField(default='')
        link = CharField(default='', max_length=500)
        place = CharField(default='')
        agenda = TextField(default='')
        organiser = ForeignKeyField(User, null=True, on_delete='SET NULL')
        time_zone = CharField(default='UTC')
        sequence = IntegerField(default=0)
        ics_uid = CharField(unique=True)
        cancelled_at = DateTimeField(null=True)
        cancelled_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        held_on = DateField(null=True)
        logged_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        logged_at = DateTimeField(null=True)
        notes = TextField(default='')
        next_steps = TextField(default='')
        created_at = DateTimeField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'meeting'
            indexes = (
                (('mentorship', 'status', 'starts_at'), False),
                (('mentorship', 'held_on'), False),
                (('status', 'starts_at'), False),
            )
    db.create_tables([Meeting])

    class MeetingTopic(Model):
        meeting = ForeignKeyField(Meeting, on_delete='CASCADE')
        topic = ForeignKeyField(Topic, on_delete='CASCADE')
        class Meta:
            database = db
            table_name = 'meeting_topic'
            indexes = ((('meeting', 'topic'), True),)
    db.create_tables([MeetingTopic])

    class PrivateNote(Model):
        meeting = ForeignKeyField(Meeting, on_delete='CASCADE')
        author = ForeignKeyField(User, on_delete='CASCADE')
        text = TextField()
        created_at = DateTimeField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'private_note'
            indexes = ((('meeting', 'author'), True),)
    db.create_tables([PrivateNote])

    class Feedback(Model):
        meeting = ForeignKeyField(Meeting, on_delete='CASCADE')
        author = ForeignKeyField(User, on_delete='CASCADE')
        rating = IntegerField()
        most_useful = TextField(default='')
        visibility = CharField(default='partner')
        good_fit = BooleanField(null=True)
        created_at = DateTimeField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'feedback'
            indexes = ((('meeting', 'author'), True),)
    db.create_tables([Feedback])


def down(migrator, db):
    for table in ('feedback', 'private_note', 'meeting_topic', 'meeting', 'milestone'):
        migrator.migrate(migrator.drop_table(table))
    migrator.migrate(*[migrator.drop_index('mentorship', f'mentorship_{name}')
                       for name in ('flagged_by_id', 'ended_by_id', 'goals_updated_by_id')])
    migrator.migrate(*[migrator.drop_column('mentorship', name) for name in (
        'flagged_by_id', 'flagged_at', 'mentee_stays_in_touch', 'mentor_stays_in_touch', 'mentee_reflection',
        'mentor_reflection', 'end_reason', 'ended_by_id', 'goals_updated_by_id', 'goals_updated_at')])
