"""Members, profiles, topics, invitations, first mentorships and the audit log.

Frozen copies of the models (time defaults are set by the application).
"""
from peewee import *


def up(migrator, db):
    class User(Model):
        email = CharField(unique=True)
        password_hash = CharField(default='')
        name = CharField()
        role = CharField(default='member')
        active = BooleanField(default=True)
        verified = BooleanField(default=False)
        time_zone = CharField(default='UTC')
        session_token = CharField(unique=True)
        created_at = DateTimeField()
        last_login = DateTimeField(null=True)
        last_seen = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'user'
    db.create_tables([User])

    class AuditEvent(Model):
        actor = ForeignKeyField(User, null=True, on_delete='SET NULL')
        action = CharField(index=True)
        target = CharField(default='')
        detail = TextField(default='')
        created_at = DateTimeField(index=True)
        class Meta:
            database = db
            table_name = 'audit_event'
    db.create_tables([AuditEvent])

    class Invitation(Model):
        email = CharField(index=True)
        name = CharField(default='')
        role = CharField(default='member')
        invited_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField()
        accepted_at = DateTimeField(null=True)
        accepted_user = ForeignKeyField(User, null=True, on_delete='SET NULL')
        class Meta:
            database = db
            table_name = 'invitation'
    db.create_tables([Invitation])

    class Mentorship(Model):
        mentor = ForeignKeyField(User, on_delete='CASCADE')
        mentee = ForeignKeyField(User, on_delete='CASCADE')
        status = CharField(default='active')
        goals = TextField(default='')
        started_at = DateTimeField()
        ended_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'mentorship'
            indexes = ((('mentor', 'status'), False), (('mentee', 'status'), False))
    db.create_tables([Mentorship])

    class Profile(Model):
        user = ForeignKeyField(User, primary_key=True, on_delete='CASCADE')
        headline = CharField(default='')
        bio = TextField(default='')
        organization = CharField(default='')
        job_title = CharField(default='')
        job_level = CharField(index=True, default='')
        industry = CharField(index=True, default='')
        country = CharField(default='')
        region = CharField(index=True, default='')
        offers_mentoring = BooleanField(index=True, default=False)
        seeks_mentoring = BooleanField(index=True, default=False)
        capacity = IntegerField(default=0)
        availability_note = TextField(default='')
        meeting_formats = CharField(default='')
        wizard_step = IntegerField(default=1)
        completed = BooleanField(index=True, default=False)
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'profile'
    db.create_tables([Profile])

    class ProfileLanguage(Model):
        profile = ForeignKeyField(Profile, on_delete='CASCADE')
        code = CharField(max_length=8)
        class Meta:
            database = db
            table_name = 'profile_language'
            indexes = ((('profile', 'code'), True), (('code',), False))
    db.create_tables([ProfileLanguage])

    class Topic(Model):
        name = CharField(unique=True)
        approved = BooleanField(default=True)
        suggested_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'topic'
    db.create_tables([Topic])

    class ProfileTopic(Model):
        profile = ForeignKeyField(Profile, on_delete='CASCADE')
        topic = ForeignKeyField(Topic, on_delete='CASCADE')
        kind = CharField()
        class Meta:
            database = db
            table_name = 'profile_topic'
            indexes = ((('profile', 'kind', 'topic'), True), (('topic', 'kind'), False))
    db.create_tables([ProfileTopic])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('profile_topic'))
    migrator.migrate(migrator.drop_table('topic'))
    migrator.migrate(migrator.drop_table('profile_language'))
    migrator.migrate(migrator.drop_table('profile'))
    migrator.migrate(migrator.drop_table('mentorship'))
    migrator.migrate(migrator.drop_table('invitation'))
    migrator.migrate(migrator.drop_table('audit_event'))
    migrator.migrate(migrator.drop_table('user'))

