"""The peewee models. Times are naive UTC datetimes."""
import datetime as dt
import secrets

from peewee import (
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from .db import database


def utcnow():
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def new_token():
    return secrets.token_urlsafe(32)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class User(BaseModel):
    MEMBER = "member"
    COORDINATOR = "coordinator"
    ROLES = (MEMBER, COORDINATOR)

    email = CharField(unique=True)
    password_hash = CharField(default="")
    name = CharField()
    role = CharField(default=MEMBER)
    active = BooleanField(default=True)
    verified = BooleanField(default=False)
    time_zone = CharField(default="UTC", index=True)
    # Flask-Login's alternative token: rotating it ends every session.
    session_token = CharField(unique=True, default=new_token)
    created_at = DateTimeField(default=utcnow)
    last_login = DateTimeField(null=True)
    last_seen = DateTimeField(null=True)

    # Flask-Login protocol
    @property
    def is_authenticated(self):
        return True

    @property
    def is_active(self):
        return self.active

    @property
    def is_anonymous(self):
        return False

    def get_id(self):
        return self.session_token

    @property
    def is_coordinator(self):
        return self.role == self.COORDINATOR

    @property
    def profile(self):
        """The member's profile (every account has one), loaded once."""
        if "_profile" not in self.__dict__:
            self.__dict__["_profile"] = Profile.get(Profile.user == self.id)
        return self.__dict__["_profile"]

    @profile.setter
    def profile(self, value):
        # A query that joins Profile hands the row over here: no second query.
        self.__dict__["_profile"] = value


class Profile(BaseModel):
    user = ForeignKeyField(User, primary_key=True, backref="profile_rows", on_delete="CASCADE")
    headline = CharField(default="")
    bio = TextField(default="")
    organization = CharField(default="", index=True)
    job_title = CharField(default="")
    job_level = CharField(default="", index=True)
    industry = CharField(default="", index=True)
    country = CharField(default="")
    region = CharField(default="", index=True)
    offers_mentoring = BooleanField(default=False, index=True)
    seeks_mentoring = BooleanField(default=False, index=True)
    capacity = IntegerField(default=0)
    availability_note = TextField(default="")
    meeting_formats = CharField(default="")  # space-separated codes of vocab.MEETING_FORMATS
    wizard_step = IntegerField(default=1)
    completed = BooleanField(default=False, index=True)
    updated_at = DateTimeField(default=utcnow)

    @property
    def formats(self):
        return self.meeting_formats.split()


class Topic(BaseModel):
    name = CharField(unique=True)
    approved = BooleanField(default=True)
    suggested_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)


class ProfileTopic(BaseModel):
    OFFERS = "offers"
    SEEKS = "seeks"

    profile = ForeignKeyField(Profile, backref="topic_links", on_delete="CASCADE")
    topic = ForeignKeyField(Topic, backref="profile_links", on_delete="CASCADE")
    kind = CharField()

    class Meta:
        indexes = ((("profile", "kind", "topic"), True), (("topic", "kind"), False))


class ProfileLanguage(BaseModel):
    profile = ForeignKeyField(Profile, backref="language_links", on_delete="CASCADE")
    code = CharField(max_length=8)

    class Meta:
        indexes = ((("profile", "code"), True), (("code",), False))


class Invitation(BaseModel):
    email = CharField(index=True)
    name = CharField(default="")
    role = CharField(default=User.MEMBER)
    invited_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    accepted_at = DateTimeField(null=True)
    accepted_user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="accepted_invitations")


class Mentorship(BaseModel):
    ACTIVE = "active"
    ENDED = "ended"

    mentor = ForeignKeyField(User, backref="mentoring", on_delete="CASCADE")
    mentee = ForeignKeyField(User, backref="mentored_by", on_delete="CASCADE")
    status = CharField(default=ACTIVE)
    goals = TextField(default="")
    started_at = DateTimeField(default=utcnow)
    ended_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("mentor", "status"), False), (("mentee", "status"), False))


class AuditEvent(BaseModel):
    actor = ForeignKeyField(User, null=True, on_delete="SET NULL")
    action = CharField(index=True)
    target = CharField(default="")
    detail = TextField(default="")
    created_at = DateTimeField(default=utcnow, index=True)


ALL_MODELS = [User, Profile, Topic, ProfileTopic, ProfileLanguage, Invitation, Mentorship, AuditEvent]
