"""Coordinator rules: the topic vocabulary and the review queue (members and invitations live in auth,
the request transitions in requests.services)."""
from dataclasses import dataclass

from peewee import JOIN, IntegrityError, fn

from .. import audit, matching
from ..db import locked, paginate, write_lock
from ..members.services import TopicTag
from ..models import (
    ConnectionRequest,
    Invitation,
    MeetingTopic,
    Mentorship,
    Notification,
    Profile,
    ProfileLanguage,
    ProfileTopic,
    RequestTopic,
    Topic,
    User,
    utcnow,
)
from ..requests import services as requests


class CoordinatorError(Exception):
    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


TOPIC_NAME_MAX = 60


def pending_invitations(limit=50):
    """The invitations not yet accepted, newest first (at most ``limit``), and how many there are."""
    query = Invitation.select().where(Invitation.accepted_at.is_null())
    rows = list(query.order_by(Invitation.created_at.desc(), Invitation.id.desc()).limit(limit))
    return rows, len(rows) if len(rows) < limit else query.count()


def all_topics():
    """Every topic, suggestions waiting for approval first, with who suggested them."""
    return list(Topic.select(Topic, User).join(User, on=(Topic.suggested_by == User.id), join_type=JOIN.LEFT_OUTER)
                .order_by(Topic.approved, fn.LOWER(Topic.name)))


def _require(actor):
    if not actor.is_coordinator:
        raise CoordinatorError("Only coordinators can do this.")


def add_topic(actor, name):
    _require(actor)
    name = " ".join(name.split())
    existing = Topic.get_or_none(fn.LOWER(Topic.name) == name.lower())
    if existing and existing.approved:
        raise CoordinatorError(f"“{existing.name}” is already a topic.", "name")
    if existing:
        return approve_topic(actor, existing)
    topic = Topic.create(name=name, approved=True)
    audit.record(actor, "topic.added", f"topic:{topic.id}", name)
    return topic


def approve_topic(actor, topic):
    _require(actor)
    topic.approved = True
    topic.save()
    audit.record(actor, "topic.approved", f"topic:{topic.id}", topic.name)
    return topic


def rename_topic(actor, topic, name):
    """A topic's new name, for every member who chose it; refused when another topic has it (merge then)."""
    _require(actor)
    name = " ".join((name or "").replace("\x00", "").split())
    if not name:
        raise CoordinatorError("Enter the topic's new name.", "name")
    if len(name) > TOPIC_NAME_MAX:
        raise CoordinatorError(f"Keep a topic under {TOPIC_NAME_MAX} characters.", "name")
    taken = Topic.get_or_none((fn.LOWER(Topic.name) == name.lower()) & (Topic.id != topic.id))
    if taken:
        raise CoordinatorError(f"“{taken.name}” is already a topic: merge “{topic.name}” into it instead.", "name")
    old = topic.name
    try:
        with write_lock():
            Topic.update(name=name).where(Topic.id == topic.id).execute()
            audit.record(actor, "topic.renamed", f"topic:{topic.id}", f"{old} → {name}")
    except IntegrityError as error:  # the same name won a race
        raise CoordinatorError(f"“{name}” is already a topic.", "name") from error
    topic.name = name
    return topic


def merge_topic(actor, topic, target):
    """Merge ``topic`` (typically a member's suggestion) into ``target``: every profile, request and meeting
    link moves to the target, a link the target already has is dropped rather than doubled (the unique
    indexes of ProfileTopic, RequestTopic, MeetingTopic), and the topic disappears. Returns the links moved."""
    _require(actor)
    if target is None:
        raise CoordinatorError("Choose the topic to merge into.", "into")
    if target.id == topic.id:
        raise CoordinatorError(f"Choose another topic: “{topic.name}” cannot be merged into itself.", "into")
    moved = 0
    with write_lock():
        P = ProfileTopic
        for kind in (P.OFFERS, P.SEEKS):
            both = P.select(P.profile).where((P.topic == target.id) & (P.kind == kind))
            P.delete().where((P.topic == topic.id) & (P.kind == kind) & P.profile.in_(both)).execute()
        both = RequestTopic.select(RequestTopic.request).where(RequestTopic.topic == target.id)
        RequestTopic.delete().where((RequestTopic.topic == topic.id) & RequestTopic.request.in_(both)).execute()
        both = MeetingTopic.select(MeetingTopic.meeting).where(MeetingTopic.topic == target.id)
        MeetingTopic.delete().where((MeetingTopic.topic == topic.id) & MeetingTopic.meeting.in_(both)).execute()
        for model in (P, RequestTopic, MeetingTopic):
            moved += model.update(topic=target.id).where(model.topic == topic.id).execute()
        Topic.delete().where(Topic.id == topic.id).execute()
        audit.record(actor, "topic.merged", f"topic:{target.id}",
                     f"“{topic.name}” (topic:{topic.id}) merged into “{target.name}”; {moved} links moved")
    return moved


# --- members: filters and pages (issue 7) ----------------------------------------

MEMBERS_PAGE_SIZE = 50
# The status column of the members page, as filters: each member has exactly one, in this order of precedence.
MEMBER_STATUSES = {
    "active": lambda: User.active & Profile.completed & User.verified,
    "deleted": lambda: User.deleted_at.is_null(False),
    "deactivated": lambda: ~User.active & User.deleted_at.is_null(),
    "incomplete": lambda: User.active & ~Profile.completed,
    "unverified": lambda: User.active & Profile.completed & ~User.verified,
}
MENTORING = {"offers": lambda: Profile.offers_mentoring, "seeks": lambda: Profile.seeks_mentoring}


def member_page(q="", role="", status="", mentoring="", page=1, page_size=MEMBERS_PAGE_SIZE):
    """One page of members with their profiles, by name, filtered (unknown filter values are ignored):
    two queries (the count and the page) however many there are. A page past the last shows the last."""
    query = User.select(User, Profile).join(Profile)
    if q:
        query = query.where(User.name.contains(q) | User.email.contains(q) | Profile.organization.contains(q))
    if role in User.ROLES:
        query = query.where(User.role == role)
    if status in MEMBER_STATUSES:
        query = query.where(MEMBER_STATUSES[status]())
    if mentoring in MENTORING:
        query = query.where(MENTORING[mentoring]())
    return paginate(query.order_by(fn.LOWER(User.name), User.id), page, page_size)


def set_role(actor, member, role):
    """Make a member a coordinator, or a coordinator a member; never one's own role, never the last coordinator."""
    _require(actor)
    if role not in User.ROLES:
        raise CoordinatorError("Choose member or coordinator.", "role")
    if member.id == actor.id:
        raise CoordinatorError("You cannot change your own role: ask another coordinator.")
    with write_lock():
        # Locking every coordinator serialises two coordinators who would demote each other at once.
        coordinators = {u.id for u in locked(User.select(User.id).where((User.role == User.COORDINATOR) & User.active))}
        current = User.get_by_id(member.id)
        if current.role == role:
            raise CoordinatorError(f"{current.name} is already a {role}.")
        if role == User.MEMBER and not coordinators - {member.id}:
            raise CoordinatorError(f"{current.name} is the program's only coordinator: make someone else "
                                   "coordinator first.")
        User.update(role=role).where(User.id == member.id).execute()
        audit.record(actor, "member.role_changed", f"user:{member.id}", f"{current.role} → {role}")
    member.role = role
    return member


# --- the review queue ----------------------------------------------------------

R = ConnectionRequest
QUEUE_PAGE_SIZE = 25


@dataclass
class Side:
    """One member of a request as the queue shows them: the mentor with the topics they offer,
    the mentee with the topics they seek."""

    user: User
    profile: Profile
    languages: list
    topics: list


@dataclass
class ReviewItem:
    req: ConnectionRequest
    mentor: Side
    mentee: Side
    topics: list  # the topics asked for
    match: matching.Match  # as the mentee sees the mentor's card
    hints: list  # possible conflicts, in words
    waited: str
    own: bool  # the viewer is part of this request: another coordinator reviews it

    @property
    def requester(self):
        return self.mentor if self.req.direction == R.OFFER else self.mentee


def _waiting():
    return R.status == R.PENDING_REVIEW


def waiting_count():
    """Every request waiting for review, the ones a coordinator is part of included."""
    return R.select().where(_waiting()).count()


def review_count(coordinator):
    """The requests this coordinator can review (not their own): one COUNT, for the navigation."""
    return R.select().where(_waiting() & (R.mentor != coordinator.id) & (R.mentee != coordinator.id)).count()


def review_queue(viewer, page=1, page_size=QUEUE_PAGE_SIZE, now=None):
    """The requests waiting for review, oldest first, one page of them with everything a reviewer
    weighs; a fixed number of queries however many wait. A page past the last shows the last."""
    queue = paginate(_with_people(R.select().where(_waiting())).order_by(R.created_at, R.id), page, page_size,
                     total=waiting_count())
    queue.rows = _review_items(viewer, queue.rows, now)
    return queue


def review_item(viewer, request_id, now=None):
    """One request as the queue shows it (whatever its status), or None."""
    rows = list(_with_people(R.select().where(R.id == request_id)))
    return _review_items(viewer, rows, now)[0] if rows else None


def describe(req):
    """"Mel's request to Mona" or "Mona's offer to mentor Mel", for messages to the reviewer."""
    names = dict(User.select(User.id, User.name).where(User.id.in_([req.mentor_id, req.mentee_id])).tuples())
    return _describe(req, names[req.mentor_id], names[req.mentee_id])


def _describe(req, mentor, mentee):
    if req.direction == R.OFFER:
        return f"{mentor}’s offer to mentor {mentee}"
    return f"{mentee}’s request to {mentor}"


@dataclass
class BulkResult:
    approved: list  # descriptions
    refused: list  # (description, reason)


def approve_many(coordinator, request_ids):
    """Approve each request in its own service call (and transaction): one that cannot be
    approved (already answered, the coordinator's own) is reported and the rest go through."""
    ids = sorted(set(request_ids))
    names = {}
    for req in _with_people(R.select().where(R.id.in_(ids))):
        names[req.id] = _describe(req, req.mentor.name, req.mentee.name)
    result = BulkResult(approved=[], refused=[])
    for request_id in ids:
        what = names.get(request_id, f"request {request_id}")
        try:
            requests.approve(coordinator, request_id)
        except requests.RequestError as error:
            result.refused.append((what, error.message))
        else:
            result.approved.append(what)
    return result


def _with_people(query):
    """``query`` with both members and their profiles joined in (``req.mentor.profile`` costs nothing)."""
    Mentor, Mentee = User.alias(), User.alias()
    MentorProfile, MenteeProfile = Profile.alias(), Profile.alias()
    return (query.select_extend(Mentor, Mentee, MentorProfile, MenteeProfile)
            .join(Mentor, on=(R.mentor == Mentor.id), attr="mentor")
            .join(MentorProfile, on=(MentorProfile.user == Mentor.id), attr="profile").switch(R)
            .join(Mentee, on=(R.mentee == Mentee.id), attr="mentee")
            .join(MenteeProfile, on=(MenteeProfile.user == Mentee.id), attr="profile"))


def _review_items(viewer, rows, now=None):
    """The queue's view of ``rows`` (joined by ``_with_people``), in five more queries for any number."""
    if not rows:
        return []
    now = now or utcnow()
    ids = [req.id for req in rows]
    mentor_ids = {req.mentor_id for req in rows}
    mentee_ids = {req.mentee_id for req in rows}
    people = sorted(mentor_ids | mentee_ids)

    asked_for = {}
    for request_id, topic_id, name in (RequestTopic.select(RequestTopic.request, Topic.id, Topic.name).join(Topic)
                                       .where(RequestTopic.request.in_(ids)).order_by(fn.LOWER(Topic.name)).tuples()):
        asked_for.setdefault(request_id, []).append(TopicTag(topic_id, name))
    topics = {}  # (user id, kind) -> [TopicTag]; approved topics only, as others see the profile
    for profile_id, kind, topic_id, name in (
            ProfileTopic.select(ProfileTopic.profile, ProfileTopic.kind, Topic.id, Topic.name).join(Topic)
            .where(ProfileTopic.profile.in_(people) & (Topic.approved == True))  # noqa: E712
            .order_by(fn.LOWER(Topic.name)).tuples()):
        topics.setdefault((profile_id, kind), []).append(TopicTag(topic_id, name))
    languages = {}
    for profile_id, code in (ProfileLanguage.select(ProfileLanguage.profile, ProfileLanguage.code)
                             .where(ProfileLanguage.profile.in_(people)).order_by(ProfileLanguage.code).tuples()):
        languages.setdefault(profile_id, []).append(code)
    mentees_of, mentors_of = {}, {}  # active mentorships: places taken, and mentees who already have a mentor
    for mentor_id, mentee_id in (Mentorship.select(Mentorship.mentor, Mentorship.mentee)
                                 .where((Mentorship.status == Mentorship.ACTIVE)
                                        & (Mentorship.mentor.in_(sorted(mentor_ids))
                                           | Mentorship.mentee.in_(sorted(mentee_ids)))).tuples()):
        mentees_of[mentor_id] = mentees_of.get(mentor_id, 0) + 1
        mentors_of[mentee_id] = mentors_of.get(mentee_id, 0) + 1
    open_as_mentee = dict(R.select(R.mentee, fn.COUNT(R.id))
                          .where(R.status.in_(R.OPEN) & R.mentee.in_(sorted(mentee_ids))).group_by(R.mentee).tuples())

    on = matching.next_weekday()
    items = []
    for req in rows:
        mentor = Side(req.mentor, req.mentor.profile, languages.get(req.mentor_id, []),
                      topics.get((req.mentor_id, ProfileTopic.OFFERS), []))
        mentee = Side(req.mentee, req.mentee.profile, languages.get(req.mentee_id, []),
                      topics.get((req.mentee_id, ProfileTopic.SEEKS), []))
        items.append(ReviewItem(
            req=req, mentor=mentor, mentee=mentee, topics=asked_for.get(req.id, []),
            match=_match(mentor, mentee, on),
            hints=_hints(mentor, mentee, mentees_of.get(req.mentor_id, 0), mentors_of.get(req.mentee_id, 0),
                         open_as_mentee.get(req.mentee_id, 0) - (1 if req.is_open else 0)),
            waited=waited(req.created_at, now), own=viewer.id in (req.mentor_id, req.mentee_id),
        ))
    return items


def _match(mentor, mentee, on):
    seeker = matching.Seeker(
        level=mentee.profile.job_level, organization=mentee.profile.organization, time_zone=mentee.user.time_zone,
        topic_ids=frozenset(t.id for t in mentee.topics), topic_names={t.id: t.name for t in mentee.topics},
        languages=frozenset(mentee.languages), on=on)
    candidate = matching.Candidate(
        level=mentor.profile.job_level, organization=mentor.profile.organization, time_zone=mentor.user.time_zone,
        topic_ids=frozenset(t.id for t in mentor.topics), languages=frozenset(mentor.languages))
    return matching.explain(seeker, candidate)


def _hints(mentor, mentee, places_taken, active_mentors, other_open):
    """What might speak against the pair, in words (members.services.places_left, counted in bulk)."""
    hints = []
    mine, theirs = mentor.profile.organization.strip(), mentee.profile.organization.strip()
    if mine and mine.lower() == theirs.lower():
        hints.append(f"Same organization: both work at {mine}.")
    if not mentor.profile.offers_mentoring:
        hints.append(f"{mentor.user.name} no longer offers mentoring.")
    elif places_taken >= mentor.profile.capacity:
        hints.append(f"{mentor.user.name} is at capacity: {places_taken} of {mentor.profile.capacity} "
                     f"mentee place{'s' if mentor.profile.capacity != 1 else ''} taken.")
    if active_mentors:
        mentors = "an active mentor" if active_mentors == 1 else f"{active_mentors} active mentors"
        hints.append(f"{mentee.user.name} already has {mentors}.")
    if other_open > 0:
        hints.append(f"{mentee.user.name} has {other_open} other open request{'s' if other_open != 1 else ''}.")
    return hints


def waited(since, now):
    """How long a request has waited, in the largest whole unit that says it."""
    seconds = max(0, (now - since).total_seconds())
    if seconds < 3600:
        return "less than an hour"
    hours = int(seconds // 3600)
    if hours < 48:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{hours // 24} days"


# --- failed emails (DESIGN §6: a mail server's "no" is shown to coordinators) ----------------------

FAILED_SHOWN = 100


def failed_emails(limit=FAILED_SHOWN):
    """The notifications whose email failed for good (a 5xx answer, or too many tries), newest first,
    each with its recipient, in one query; and their total."""
    N = Notification
    rows = list(N.select(N, User).join(User, on=(N.recipient == User.id)).where(N.status == N.FAILED)
                .order_by(N.id.desc()).limit(limit))
    total = len(rows) if len(rows) < limit else N.select().where(N.status == N.FAILED).count()
    return rows, total


def retry_email(actor, notification_id, now=None):
    """Send a failed email again (the address was corrected, the server's trouble is over): the row is
    pending and due now with its attempts counted afresh, and the next sweep sends it. Returns the row
    as it was; None when there is no such notification."""
    _require(actor)
    N = Notification
    now = now or utcnow()
    with write_lock():
        row = locked(N.select().where(N.id == notification_id)).first()
        if row is None:
            return None
        if row.status != N.FAILED:
            raise CoordinatorError(f"The email to {row.recipient.name} is no longer failed: it has been sent, "
                                   "or someone already asked to send it again.")
        N.update(status=N.PENDING, attempts=0, due_at=now, claimed_until=None).where(N.id == row.id).execute()
        audit.record(actor, "notification.retried", f"notification:{row.id}",
                     f"{row.kind} to user:{row.recipient_id}; {row.attempts} attempts; {row.last_error}")
    return row
