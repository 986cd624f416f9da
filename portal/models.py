"""The peewee models. Times are naive UTC datetimes."""
import datetime as dt
import json
import secrets
import uuid

from peewee import (
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
    TimeField,
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
    # Notification settings (``portal.notifications.preferences``), wall-clock times in ``time_zone``:
    # no email between ``quiet_from`` and ``quiet_until`` (none when unset), the daily digest at ``digest_hour``.
    quiet_from = TimeField(null=True)
    quiet_until = TimeField(null=True)
    digest_hour = IntegerField(default=8)
    # Privacy (``portal.members.privacy``): a deletion the member asked for, waiting for a coordinator,
    # and when it was done (the account is then anonymised, its rows kept for the program's counts).
    deletion_requested_at = DateTimeField(null=True, index=True)
    deleted_at = DateTimeField(null=True)

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
    # "Away until" (DESIGN journey 7): the day the member is back, in their own calendar, and the
    # moment that day begins in their zone (UTC), which browsing and the sweep compare with now.
    away_until = DateField(null=True)
    away_ends_at = DateTimeField(null=True, index=True)

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
    # Its email goes out of the request, like a notification's (``portal.auth.invitations``): pending
    # until a worker claims it (sending, leased until ``claimed_until``), then sent, or failed with the
    # server's answer in ``send_error``; a "try later" puts it back to pending, due after a delay.
    PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
    send_status = CharField(default=PENDING)
    send_attempts = IntegerField(default=0)
    send_due_at = DateTimeField(default=utcnow, null=True)
    send_error = TextField(default="")
    sent_at = DateTimeField(null=True)
    claimed_until = DateTimeField(null=True)

    class Meta:
        indexes = ((("send_status", "send_due_at"), False),)


class Round(BaseModel):
    """A pairing round (DESIGN journey 6): draft → open (members opt in) → matching → published → closed."""
    DRAFT, OPEN, MATCHING, PUBLISHED, CLOSED = "draft", "open", "matching", "published", "closed"
    STATUSES = (DRAFT, OPEN, MATCHING, PUBLISHED, CLOSED)

    name = CharField(unique=True)
    opens_on = DateField()
    closes_on = DateField()
    starts_on = DateField()  # when the round's mentorships start
    length_weeks = IntegerField()  # the planned length of those mentorships
    status = CharField(default=DRAFT, index=True)
    weights = TextField(default="{}")  # JSON: the matcher's weights for this round
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    published_at = DateTimeField(null=True)


class Mentorship(BaseModel):
    ACTIVE = "active"
    ENDED = "ended"

    mentor = ForeignKeyField(User, backref="mentoring", on_delete="CASCADE")
    mentee = ForeignKeyField(User, backref="mentored_by", on_delete="CASCADE")
    status = CharField(default=ACTIVE)
    goals = TextField(default="")
    goals_updated_at = DateTimeField(null=True)
    goals_updated_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    started_at = DateTimeField(default=utcnow)
    ended_at = DateTimeField(null=True)
    ended_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    end_reason = CharField(default="")  # a code of mentorships.services.END_REASONS
    # Each partner's closing reflection: the one who ends writes theirs, the other may add theirs.
    mentor_reflection = TextField(default="")
    mentee_reflection = TextField(default="")
    # "Stay in touch": contact details are shared only when both said yes.
    mentor_stays_in_touch = BooleanField(default=False)
    mentee_stays_in_touch = BooleanField(default=False)
    # "Not a good fit" (a partner's feedback said so): for coordinators' eyes, never the other partner's.
    flagged_at = DateTimeField(null=True)
    flagged_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    # Admin match: the coordinator who paired the two directly (empty for a request or a round).
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    # A coordinator's note when they end the pair (told to both partners); partners write reflections.
    end_note = TextField(default="")
    # The pairing round that made the pair (empty for a request or an admin match).
    round = ForeignKeyField(Round, null=True, backref="mentorships", on_delete="SET NULL")

    class Meta:
        indexes = ((("mentor", "status"), False), (("mentee", "status"), False))


class ConnectionRequest(BaseModel):
    """A request for mentoring (the mentee asks) or an offer (the mentor asks), DESIGN journey 3."""
    REQUEST = "request"  # the mentee asks the mentor
    OFFER = "offer"  # the mentor offers to mentor the mentee
    DIRECTIONS = (REQUEST, OFFER)

    PENDING_REVIEW = "pending_review"
    PENDING_MENTOR = "pending_mentor"  # waiting for the answer of the person asked (the mentee, for an offer)
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REJECTED = "rejected"  # by a coordinator
    WITHDRAWN = "withdrawn"  # by the requester
    EXPIRED = "expired"
    OPEN = (PENDING_REVIEW, PENDING_MENTOR)
    STATUSES = (PENDING_REVIEW, PENDING_MENTOR, ACCEPTED, DECLINED, REJECTED, WITHDRAWN, EXPIRED)

    requester = ForeignKeyField(User, backref="requests_sent", on_delete="CASCADE")
    mentor = ForeignKeyField(User, backref="requests_as_mentor", on_delete="CASCADE")
    mentee = ForeignKeyField(User, backref="requests_as_mentee", on_delete="CASCADE")
    direction = CharField(default=REQUEST)
    help_wanted = TextField()
    success_looks_like = TextField()
    meeting_format = CharField(default="")
    status = CharField(default=PENDING_MENTOR)
    created_at = DateTimeField(default=utcnow)
    reviewed_by = ForeignKeyField(User, null=True, backref="requests_reviewed", on_delete="SET NULL")
    reviewed_at = DateTimeField(null=True)
    review_note = TextField(default="")
    answered_at = DateTimeField(null=True)
    answer_note = TextField(default="")
    expires_at = DateTimeField(null=True)
    closed_at = DateTimeField(null=True)
    mentorship = ForeignKeyField(Mentorship, null=True, backref="origin_requests", on_delete="SET NULL")

    class Meta:
        indexes = (
            (("mentor", "status"), False),
            (("mentee", "status"), False),
            (("requester", "status"), False),
            (("status", "created_at"), False),
            (("status", "expires_at"), False),
        )

    @property
    def is_open(self):
        return self.status in self.OPEN

    @property
    def asked_id(self):
        """The id of the person whose answer the request waits for."""
        return self.mentor_id if self.direction == self.REQUEST else self.mentee_id

    @property
    def asked(self):
        return self.mentor if self.direction == self.REQUEST else self.mentee


class RequestTopic(BaseModel):
    request = ForeignKeyField(ConnectionRequest, backref="topic_links", on_delete="CASCADE")
    topic = ForeignKeyField(Topic, backref="request_links", on_delete="CASCADE")

    class Meta:
        indexes = ((("request", "topic"), True),)


class Notification(BaseModel):
    """The outbox (DESIGN §3, §6): written in the transaction of the change it tells about,
    delivered later by a job, at most once (the dedupe key is unique)."""
    EMAIL = "email"
    PENDING = "pending"
    SENDING = "sending"  # claimed by a delivery until ``claimed_until``
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"  # nothing to tell any more (the request was withdrawn, the recipient left)
    PORTAL_ONLY = "portal_only"  # the recipient reads this kind in the portal only: never emailed
    DIGEST = "digest"  # waiting for the recipient's daily digest, which marks it sent

    recipient = ForeignKeyField(User, backref="notifications", on_delete="CASCADE")
    kind = CharField()
    subject = CharField()
    body = TextField(default="{}")  # JSON context for the templates that render it
    dedupe_key = CharField(unique=True)
    due_at = DateTimeField(default=utcnow)
    channel = CharField(default=EMAIL)
    status = CharField(default=PENDING)
    attempts = IntegerField(default=0)
    last_error = TextField(default="")
    sent_at = DateTimeField(null=True)
    read_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    # The lease of the sweep that enqueued the row, then of the worker that sends it.
    claimed_until = DateTimeField(null=True)

    class Meta:
        indexes = ((("status", "due_at"), False), (("recipient", "created_at"), False))

    @property
    def context(self):
        return json.loads(self.body or "{}")


class NotificationPreference(BaseModel):
    """How a member wants one kind of notification: a missing row means by email, at once."""
    user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    kind = CharField()
    mode = CharField()

    class Meta:
        indexes = ((("user", "kind"), True),)


class UsedLink(BaseModel):
    """A single-use link from an email that has done its work (``portal.links``): its id is unique, so
    the same link acts once, even when it is followed twice at the same moment."""
    link_id = CharField(unique=True)
    user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    action = CharField()
    used_at = DateTimeField(default=utcnow)


class ProgramSetting(BaseModel):
    """Program-wide settings coordinators edit; a missing row means the default."""
    REQUESTS_NEED_REVIEW = "requests_need_review"
    DEFAULTS = {REQUESTS_NEED_REVIEW: "0"}
    TRUE = ("1", "true", "yes", "on")

    key = CharField(unique=True)
    value = TextField(default="")
    updated_at = DateTimeField(default=utcnow)

    @classmethod
    def get_value(cls, key):
        row = cls.get_or_none(cls.key == key)
        return row.value if row is not None else cls.DEFAULTS.get(key)

    @classmethod
    def get_flag(cls, key):
        return str(cls.get_value(key) or "").strip().lower() in cls.TRUE

    @classmethod
    def set_value(cls, key, value):
        if isinstance(value, bool):
            value = "1" if value else "0"
        now = utcnow()
        (cls.insert(key=key, value=str(value), updated_at=now)
         .on_conflict(conflict_target=[cls.key], update={cls.value: str(value), cls.updated_at: now})
         .execute())

    @classmethod
    def requests_need_review(cls):
        return cls.get_flag(cls.REQUESTS_NEED_REVIEW)


class AuditEvent(BaseModel):
    actor = ForeignKeyField(User, null=True, on_delete="SET NULL")
    action = CharField(index=True)
    target = CharField(default="")
    detail = TextField(default="")
    created_at = DateTimeField(default=utcnow, index=True)


def new_ics_uid():
    return f"{uuid.uuid4()}@tandem"


class Milestone(BaseModel):
    """A step toward the pair's goals; either partner ticks it."""
    mentorship = ForeignKeyField(Mentorship, backref="milestones", on_delete="CASCADE")
    title = CharField()
    due_on = DateField(null=True)
    done_at = DateTimeField(null=True)
    done_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)


class Meeting(BaseModel):
    """A meeting of a pair (DESIGN journey 4): scheduled ahead, then logged once held, or logged
    afterwards without being scheduled. ``time_zone`` is the organiser's, for the calendar invitation."""
    SCHEDULED = "scheduled"
    HELD = "held"
    CANCELLED = "cancelled"
    # A log its author deleted: off the pair's timeline, kept with its feedback for coordinators,
    # so that deleting a log never erases what the partner wrote about the meeting.
    DELETED = "deleted"
    STATUSES = (SCHEDULED, HELD, CANCELLED, DELETED)
    VIDEO, PHONE, IN_PERSON = "video", "phone", "in_person"
    FORMATS = (VIDEO, PHONE, IN_PERSON)

    mentorship = ForeignKeyField(Mentorship, backref="meetings", on_delete="CASCADE")
    status = CharField(default=SCHEDULED)
    starts_at = DateTimeField(null=True)  # none for a meeting logged without being scheduled
    duration_minutes = IntegerField(default=60)
    format = CharField(default="")
    link = CharField(default="", max_length=500)
    place = CharField(default="")
    agenda = TextField(default="")
    organiser = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    time_zone = CharField(default="UTC")
    sequence = IntegerField(default=0)  # iCalendar SEQUENCE: grows with each change sent to calendars
    ics_uid = CharField(unique=True, default=new_ics_uid)
    cancelled_at = DateTimeField(null=True)
    cancelled_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    held_on = DateField(null=True)
    logged_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    logged_at = DateTimeField(null=True)
    notes = TextField(default="")  # shared with the partner, Markdown
    next_steps = TextField(default="")  # shared with the partner, Markdown
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("mentorship", "status", "starts_at"), False),
            (("mentorship", "held_on"), False),
            (("status", "starts_at"), False),
            (("status", "logged_at"), False),
        )

    @property
    def ends_at(self):
        return self.starts_at + dt.timedelta(minutes=self.duration_minutes) if self.starts_at else None


# The health dashboard's indexes (migration 0011), named as the migration names them.
Meeting.add_index(Meeting.index(Meeting.status, Meeting.held_on, Meeting.duration_minutes, name="meeting_held_days"))
Meeting.add_index(Meeting.index(Meeting.status, Meeting.mentorship, Meeting.held_on, name="meeting_last_held"))


class MeetingTopic(BaseModel):
    meeting = ForeignKeyField(Meeting, backref="topic_links", on_delete="CASCADE")
    topic = ForeignKeyField(Topic, backref="meeting_links", on_delete="CASCADE")

    class Meta:
        indexes = ((("meeting", "topic"), True),)


class PrivateNote(BaseModel):
    """A partner's note on a meeting that only its author ever reads: its own row, never joined for anyone else."""
    meeting = ForeignKeyField(Meeting, backref="private_notes", on_delete="CASCADE")
    author = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    text = TextField()
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("meeting", "author"), True),)


class Feedback(BaseModel):
    """One partner's rating of one meeting; ``coordinators`` feedback is never shown to the other partner."""
    PARTNER = "partner"
    COORDINATORS = "coordinators"
    VISIBILITIES = (PARTNER, COORDINATORS)

    meeting = ForeignKeyField(Meeting, backref="feedback", on_delete="CASCADE")
    author = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    rating = IntegerField()
    most_useful = TextField(default="")
    visibility = CharField(default=PARTNER)
    good_fit = BooleanField(null=True)  # asked after the pair's first held meeting only
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("meeting", "author"), True),)


Feedback.add_index(Feedback.index(Feedback.created_at, Feedback.rating, name="feedback_given"))


class CheckIn(BaseModel):
    """One partner's answer to a check-in round (DESIGN §6): a score for the coordinators, never the partner."""
    mentorship = ForeignKeyField(Mentorship, backref="+", on_delete="CASCADE")
    author = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    round = IntegerField()  # 1 at 30 days, then one more every 60 days
    score = IntegerField()
    comment = TextField(default="")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("mentorship", "author", "round"), True),)


class RoundEntry(BaseModel):
    """A member's opt-in to a round, as mentor (with a capacity), as mentee, or both (on different topics)."""
    round = ForeignKeyField(Round, backref="entries", on_delete="CASCADE")
    user = ForeignKeyField(User, backref="round_entries", on_delete="CASCADE")
    as_mentor = BooleanField(default=False)
    capacity = IntegerField(default=0)
    as_mentee = BooleanField(default=False)
    confirmed_at = DateTimeField(null=True)  # when the member confirmed their profile is up to date
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("round", "user"), True),)


class RoundEntryTopic(BaseModel):
    """A topic an entry offers (as mentor) or seeks (as mentee) in this round: kinds of ProfileTopic."""
    entry = ForeignKeyField(RoundEntry, backref="topic_links", on_delete="CASCADE")
    topic = ForeignKeyField(Topic, backref="+", on_delete="CASCADE")
    kind = CharField()

    class Meta:
        indexes = ((("entry", "topic", "kind"), True),)


class RoundPreference(BaseModel):
    """A mentee's preferred mentor in a round, rank 1 to 3."""
    entry = ForeignKeyField(RoundEntry, backref="preferences", on_delete="CASCADE")
    mentor = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    rank = IntegerField()

    class Meta:
        indexes = ((("entry", "rank"), True), (("entry", "mentor"), True))


class RoundExclusion(BaseModel):
    """"Never pair me with": someone the entry's member must not be paired with in the round."""
    entry = ForeignKeyField(RoundEntry, backref="exclusions", on_delete="CASCADE")
    other = ForeignKeyField(User, backref="+", on_delete="CASCADE")

    class Meta:
        indexes = ((("entry", "other"), True),)


class RoundProposal(BaseModel):
    """The matcher's proposed mentor for one mentee of a round, reviewed by coordinators before publishing."""
    round = ForeignKeyField(Round, backref="proposals", on_delete="CASCADE")
    mentee = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    mentor = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    score = FloatField(default=0)
    reasons = TextField(default="[]")  # JSON list of the reasons shown to coordinators
    preferred_rank = IntegerField(null=True)  # the mentee's rank for this mentor, when they named them
    locked = BooleanField(default=False)  # kept as is when the matcher runs again
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("round", "mentee"), True),)


class RoundForbidden(BaseModel):
    """A pair a coordinator ruled out for a round: the matcher never proposes it."""
    round = ForeignKeyField(Round, backref="forbidden", on_delete="CASCADE")
    mentee = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    mentor = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("round", "mentee", "mentor"), True),)


ALL_MODELS = [User, Profile, Topic, ProfileTopic, ProfileLanguage, Invitation, Mentorship, AuditEvent,
              ConnectionRequest, RequestTopic, Notification, ProgramSetting,
              Milestone, Meeting, MeetingTopic, PrivateNote, Feedback, UsedLink, NotificationPreference,
              CheckIn, Round, RoundEntry, RoundEntryTopic, RoundPreference, RoundExclusion, RoundProposal,
              RoundForbidden]
