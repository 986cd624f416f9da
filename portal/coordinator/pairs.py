"""The coordinator's pairs (issue 7): the list of every mentorship, admin match, ending a pair.

Ending reuses ``mentorships.services.end_mentorship`` (a coordinator outside the pair is an actor it
knows); the match score and the conflict hints are the review queue's (``services._match``, ``_hints``).
"""
from dataclasses import dataclass

from peewee import fn

from .. import audit, matching
from ..db import paginate, write_lock
from ..members.services import TopicTag
from ..mentorships import services as mentorships
from ..models import (
    ConnectionRequest,
    Feedback,
    Meeting,
    Mentorship,
    Profile,
    ProfileLanguage,
    ProfileTopic,
    Topic,
    User,
    utcnow,
)
from ..notifications import services as notifications
from ..requests.services import _lock_profiles
from .services import CoordinatorError, Side, _hints, _match, _require

PAGE_SIZE = 50
STATUSES = {"active": Mentorship.ACTIVE, "ended": Mentorship.ENDED, "all": None}
PICK_SHOWN = 8  # members listed per side of the admin match search


# --- the list --------------------------------------------------------------------------

def own_pairs(viewer):
    return Mentorship.select(Mentorship.id).where((Mentorship.mentor == viewer.id) | (Mentorship.mentee == viewer.id))


def hidden_feedback(viewer):
    """Feedback a coordinator may not read (a condition on ``Feedback`` joined to ``Meeting``): in a pair of
    their own they read it as its partner (``mentorships.services.pair_page``), so not the other partner's
    coordinators-only feedback."""
    return (Meeting.mentorship.in_(own_pairs(viewer)) & (Feedback.author != viewer.id)
            & (Feedback.visibility == Feedback.COORDINATORS))


@dataclass
class PairRow:
    pair: Mentorship  # with .mentor and .mentee
    meetings_held: int
    last_meeting: object  # the day of the last held meeting, or None
    rating: object  # the average rating of the feedback the viewer may read, or None
    ratings: int
    flagged: bool  # "not a good fit", which a partner's copy of the pair does not show


def pair_list(viewer, status="active", q="", flagged=False, page=1, page_size=PAGE_SIZE):
    """One page of mentorships, newest first, with their meeting and rating figures: four queries
    however many pairs there are. ``q`` matches either partner's name or email. A pair the viewer is
    part of shows what its partner sees (no flag, not the other's coordinators-only ratings)."""
    Mentor, Mentee = User.alias(), User.alias()
    query = (Mentorship.select(Mentorship, Mentor, Mentee)
             .join(Mentor, on=(Mentorship.mentor == Mentor.id), attr="mentor").switch(Mentorship)
             .join(Mentee, on=(Mentorship.mentee == Mentee.id), attr="mentee").switch(Mentorship))
    if STATUSES.get(status):
        query = query.where(Mentorship.status == STATUSES[status])
    if q:
        query = query.where(Mentor.name.contains(q) | Mentor.email.contains(q)
                            | Mentee.name.contains(q) | Mentee.email.contains(q))
    if flagged:
        query = query.where(Mentorship.flagged_at.is_null(False) & Mentorship.id.not_in(own_pairs(viewer)))
    listing = paginate(query.order_by(Mentorship.started_at.desc(), Mentorship.id.desc()), page, page_size)
    pairs = listing.rows
    ids = [m.id for m in pairs]
    held = {}
    rated = {}
    if ids:
        held = {pid: (count, last) for pid, count, last in
                Meeting.select(Meeting.mentorship, fn.COUNT(Meeting.id), fn.MAX(Meeting.held_on))
                .where(Meeting.mentorship.in_(ids) & (Meeting.status == Meeting.HELD))
                .group_by(Meeting.mentorship).tuples()}
        rated = {pid: (avg, count) for pid, avg, count in
                 Feedback.select(Meeting.mentorship, fn.AVG(Feedback.rating), fn.COUNT(Feedback.id)).join(Meeting)
                 .where(Meeting.mentorship.in_(ids) & ~hidden_feedback(viewer)).group_by(Meeting.mentorship).tuples()}
    rows = []
    for m in pairs:
        count, last = held.get(m.id, (0, None))
        avg, ratings = rated.get(m.id, (None, 0))
        rows.append(PairRow(m, count, last, round(float(avg), 1) if avg is not None else None, ratings,
                            m.flagged_at is not None and viewer.id not in (m.mentor_id, m.mentee_id)))
    listing.rows = rows
    return listing


# --- admin match ------------------------------------------------------------------------

MENTOR, MENTEE = "mentor", "mentee"


def member_or_none(member_id):
    """A member by id (any: the rules say what is wrong with them), or None."""
    if not member_id:
        return None
    return User.get_or_none(User.id == member_id)


def find_side(side, q, limit=PICK_SHOWN):
    """Active members matching ``q`` (name or email) who could be the ``side`` of a pair: mentors
    must offer mentoring. Each with ``places_left`` for a mentor. Two queries."""
    q = (q or "").strip()
    if not q:
        return []
    query = (User.select(User, Profile).join(Profile, attr="profile")
             .where((User.active == True) & (User.deleted_at.is_null())  # noqa: E712
                    & (User.name.contains(q) | User.email.contains(q))))
    if side == MENTOR:
        query = query.where(Profile.offers_mentoring == True)  # noqa: E712
    found = list(query.order_by(fn.LOWER(User.name), User.id).limit(limit))
    if side == MENTOR and found:
        taken = _places_taken([u.id for u in found])
        for u in found:
            u.places_left = max(0, u.profile.capacity - taken.get(u.id, 0))
    return found


def _places_taken(mentor_ids):
    return dict(Mentorship.select(Mentorship.mentor, fn.COUNT(Mentorship.id))
                .where(Mentorship.mentor.in_(mentor_ids) & (Mentorship.status == Mentorship.ACTIVE))
                .group_by(Mentorship.mentor).tuples())


@dataclass
class Preview:
    mentor: Side
    mentee: Side
    match: matching.Match
    hints: list
    over_capacity: bool
    open_request: object  # the open request between the two in these roles, or None


def _side(user, kind):
    profile = Profile.get(Profile.user == user.id)
    languages = [code for (code,) in ProfileLanguage.select(ProfileLanguage.code)
                 .where(ProfileLanguage.profile == user.id).order_by(ProfileLanguage.code).tuples()]
    topics = [TopicTag(tid, name) for tid, name in
              Topic.select(Topic.id, Topic.name).join(ProfileTopic)
              .where((ProfileTopic.profile == user.id) & (ProfileTopic.kind == kind)
                     & (Topic.approved == True))  # noqa: E712
              .order_by(fn.LOWER(Topic.name)).tuples()]
    return Side(user, profile, languages, topics)


def _open_requests(mentor_id, mentee_id):
    R = ConnectionRequest
    return R.select().where(R.status.in_(R.OPEN) & (R.mentor == mentor_id) & (R.mentee == mentee_id))


def preview(mentor, mentee):
    """What the coordinator weighs before confirming: the score and reasons as the mentee would see the
    mentor's card, and what might speak against the pair (the review queue's words)."""
    R = ConnectionRequest
    m_side, e_side = _side(mentor, ProfileTopic.OFFERS), _side(mentee, ProfileTopic.SEEKS)
    taken = _places_taken([mentor.id]).get(mentor.id, 0)
    active_mentors = Mentorship.select().where((Mentorship.mentee == mentee.id)
                                               & (Mentorship.status == Mentorship.ACTIVE)).count()
    between = _open_requests(mentor.id, mentee.id).first()
    other_open = R.select().where(R.status.in_(R.OPEN) & (R.mentee == mentee.id)).count() - (1 if between else 0)
    return Preview(mentor=m_side, mentee=e_side, match=_match(m_side, e_side, matching.next_weekday()),
                   hints=_hints(m_side, e_side, taken, active_mentors, other_open),
                   over_capacity=m_side.profile.offers_mentoring and taken >= m_side.profile.capacity,
                   open_request=between)


def match_refusal(coordinator, mentor, mentee):
    """Why these two cannot be paired by this coordinator, as ``CoordinatorError``; None when they can
    (capacity aside: that is a warning the coordinator may override)."""
    if mentor is None:
        return CoordinatorError("Choose a mentor.", "mentor")
    if mentee is None:
        return CoordinatorError("Choose a mentee.", "mentee")
    if mentor.id == mentee.id:
        return CoordinatorError(f"{mentor.name} cannot mentor themselves: choose two different members.", "mentee")
    # Like the review queue: a coordinator does not decide about a pair of their own.
    if coordinator.id in (mentor.id, mentee.id):
        return CoordinatorError("You cannot match yourself: another coordinator makes a pair you are part of.",
                                "mentor" if coordinator.id == mentor.id else "mentee")
    for side, person in ((MENTOR, mentor), (MENTEE, mentee)):
        if not person.active or person.deleted_at is not None:
            return CoordinatorError(f"{person.name} is deactivated: reactivate them first.", side)
    profile = Profile.get(Profile.user == mentor.id)
    if not profile.offers_mentoring:
        return CoordinatorError(f"{mentor.name} does not offer mentoring: choose a mentor who does.", MENTOR)
    if Mentorship.select().where(
            (Mentorship.status == Mentorship.ACTIVE)
            & (((Mentorship.mentor == mentor.id) & (Mentorship.mentee == mentee.id))
               | ((Mentorship.mentor == mentee.id) & (Mentorship.mentee == mentor.id)))).exists():
        return CoordinatorError(f"{mentor.name} and {mentee.name} already have an active mentorship.", MENTEE)
    return None


def match(coordinator, mentor, mentee, over_capacity=False, now=None):
    """A coordinator pairs ``mentor`` with ``mentee`` directly. A full mentor is refused unless
    ``over_capacity`` says the coordinator saw it and goes ahead.

    An open request of the mentee to this mentor (or the mentor's offer to them) is closed as
    accepted and linked to the new mentorship: it asked for exactly this pair, which now exists, so
    both see it answered rather than withdrawn by someone who did not withdraw it. Both partners are
    told; all in one transaction, audited.
    """
    _require(coordinator)
    now = now or utcnow()
    with write_lock():
        mentor, mentee = (User.get_or_none(User.id == p.id) if p else None for p in (mentor, mentee))
        refusal = match_refusal(coordinator, mentor, mentee)
        if refusal:
            raise refusal
        profile = _lock_profiles(mentor.id, mentee.id)[mentor.id]
        taken = _places_taken([mentor.id]).get(mentor.id, 0)
        full = taken >= profile.capacity
        if full and not over_capacity:
            raise CoordinatorError(
                f"{mentor.name} is at capacity: {taken} of {profile.capacity} mentee place"
                f"{'s' if profile.capacity != 1 else ''} taken. Tick “Match anyway” to go over it.", "over_capacity")
        m = Mentorship.create(mentor=mentor.id, mentee=mentee.id, started_at=now, created_by=coordinator.id)
        audit.record(coordinator, "mentorship.matched", f"mentorship:{m.id}",
                     f"mentor user:{mentor.id}, mentee user:{mentee.id}"
                     + (f"; over capacity ({taken + 1} of {profile.capacity})" if full else ""))
        close_open_requests(coordinator, m, now, "the admin match")
        for person, partner in ((mentor, mentee), (mentee, mentor)):
            notifications.notify(person.id, notifications.PAIR_MATCHED,
                                 f"{coordinator.name} paired you with {partner.name}",
                                 f"mentorship:{m.id}:matched:{person.id}",
                                 context={"mentorship_id": m.id, "by": coordinator.id}, now=now)
    return m


def close_open_requests(actor, mentorship, now, by):
    """Close the open requests of the pair's mentee to its mentor (or the mentor's offers to them) as
    accepted and link them to ``mentorship``, which a coordinator made directly (``by`` says how): they
    asked for exactly this pair, which now exists. Audited; inside the caller's transaction."""
    for req in _open_requests(mentorship.mentor_id, mentorship.mentee_id):
        req.status, req.answered_at, req.closed_at, req.mentorship = ConnectionRequest.ACCEPTED, now, now, mentorship.id
        req.save()
        audit.record(actor, "request.accepted", f"request:{req.id}",
                     f"closed by {by} of mentorship:{mentorship.id}")


def end(coordinator, mentorship, reason, note, now=None):
    """A coordinator ends a pair: the partners' own ending, with the coordinator as the actor."""
    _require(coordinator)
    if mentorships.role_of(mentorship, coordinator):
        raise CoordinatorError("This is your own pair: end it from your pair’s page, as its partner.")
    return mentorships.end_mentorship(coordinator, mentorship, reason, note=note, now=now, as_coordinator=True)
