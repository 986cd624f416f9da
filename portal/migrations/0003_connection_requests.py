"""Connection requests (and offers) with their topics, the notification outbox, program settings.

Frozen copies of the models (time defaults are set by the application); the
tables they point to are declared as stubs and not created here.
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

    class ConnectionRequest(Model):
        requester = ForeignKeyField(User, on_delete='CASCADE')
        mentor = ForeignKeyField(User, on_delete='CASCADE')
        mentee = ForeignKeyField(User, on_delete='CASCADE')
        direction = CharField(default='request')
        help_wanted = TextField()
        success_looks_like = TextField()
        meeting_format = CharField(default='')
        status = CharField(default='pending_mentor')
        created_at = DateTimeField()
        reviewed_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        reviewed_at = DateTimeField(null=True)
        review_note = TextField(default='')
        answered_at = DateTimeField(null=True)
        answer_note = TextField(default='')
        expires_at = DateTimeField(null=True)
        closed_at = DateTimeField(null=True)
        mentorship = ForeignKeyField(Mentorship, null=True, on_delete='SET NULL')
        class Meta:
            database = db
            table_name = 'connection_request'
            indexes = (
                (('mentor', 'status'), False),
                (('mentee', 'status'), False),
                (('requester', 'status'), False),
                (('status', 'created_at'), False),
                (('status', 'expires_at'), False),
            )
    db.create_tables([ConnectionRequest])

    class RequestTopic(Model):
        request = ForeignKeyField(ConnectionRequest, on_delete='CASCADE')
        topic = ForeignKeyField(Topic, on_delete='CASCADE')
        class Meta:
            database = db
            table_name = 'request_topic'
            indexes = ((('request', 'topic'), True),)
    db.create_tables([RequestTopic])

    class Notification(Model):
        recipient = ForeignKeyField(User, on_delete='CASCADE')
        kind = CharField()
        subject = CharField()
        body = TextField(default='{}')
        dedupe_key = CharField(unique=True)
        due_at = DateTimeField()
        channel = CharField(default='email')
        status = CharField(default='pending')
        attempts = IntegerField(default=0)
        last_error = TextField(default='')
        sent_at = DateTimeField(null=True)
        read_at = DateTimeField(null=True)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'notification'
            indexes = ((('status', 'due_at'), False), (('recipient', 'created_at'), False))
    db.create_tables([Notification])

    class ProgramSetting(Model):
        key = CharField(unique=True)
        value = TextField(default='')
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'program_setting'
    db.create_tables([ProgramSetting])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('program_setting'))
    migrator.migrate(migrator.drop_table('notification'))
    migrator.migrate(migrator.drop_table('request_topic'))
    migrator.migrate(migrator.drop_table('connection_request'))
