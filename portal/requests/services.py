"""Connection requests: every rule of DESIGN journey 3 and every transition, in one place.

A *request* runs from the mentee to a mentor; an *offer* from a mentor to a
mentee. Both follow the same rules, review and expiry: the "requester" sends,
the "asked" party (the mentor of a request, the mentee of an offer) answers.

    pending_review ─approve─> pending_mentor ─accept─> accepted (a Mentorship starts)
          │                        ├─decline─> declined
          └─reject─> rejected      ├─(14 days)─> expired
    either open status ─withdraw─> withdrawn

Each transition checks the actor's right to make it, re-reads the request under
the write lock (``write_lock`` + ``locked``), stamps who and when, writes an
AuditEvent and queues its notifications in the same transaction (the outbox).
Every refusal is a ``RequestError`` whose message a person can read; a refusal
because of *who* asks is a ``NotAllowed`` (views answer it with 404/403).
"""
import datetime as dt
from types import SimpleNamespace

from .. import audit, vocab
from ..db import locked, write_lock
from ..members.services import places_left
from ..models import (
    ConnectionRequest,
    Mentorship,
    Profile,
    ProfileTopic,
    ProgramSetting,
    RequestTopic,
    Topic,
    User,
    utcnow,
)
from ..notifications import services as notifications

EXPIRY = dt.timedelta(days=14)
MAX_OPEN_OUTGOING = 3
PROMPT_MIN = 20
PROMPT_MAX = 2000
NOTE_MAX = 1000

PROMPTS = {
    "help_wanted": "What would you like help with?",
    "success_looks_like": "What would success look like in three months?",
}

R = ConnectionRequest
STATUS_WORDS = {
    R.PENDING_REVIEW: "is waiting for a coordinator's review",
    R.PENDING_MENTOR: "is waiting for an answer",
    R.ACCEPTED: "has already been accepted",
    R.DECLINED: "has already been declined",
    R.REJECTED: "was not approved by a coordinator",
    R.WITHDRAWN: "has been withdrawn",
    R.EXPIRED: "has expired",
}


class RequestError(Exception):
    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(RequestError):
    """The actor has no right to this transition (not a rule about the request itself)."""


# --- settings ------------------------------------------------------------------

def requests_need_review():
    return ProgramSetting.requests_need_review()


def set_requests_need_review(actor, value):
    if not actor.is_coordinator:
        raise NotAllowed("Only coordinators can change the program settings.")
    with write_lock():
        ProgramSetting.set_value(ProgramSetting.REQUESTS_NEED_REVIEW, bool(value))
        audit.record(actor, "setting.changed", f"setting:{ProgramSetting.REQUESTS_NEED_REVIEW}",
                     "on" if value else "off")


# --- reading -------------------------------------------------------------------

def visible_request(request_id, viewer):
    """The request if the viewer is one of its two members or a coordinator, else None (a 404)."""
    req = ConnectionRequest.get_or_none(ConnectionRequest.id == request_id)
    if req is None or not (viewer.is_coordinator or viewer.id in (req.mentor_id, req.mentee_id)):
        return None
    return req


def open_outgoing_count(user):
    return ConnectionRequest.select().where(
        (ConnectionRequest.requester == user) & ConnectionRequest.status.in_(ConnectionRequest.OPEN)).count()


def request_topics(req):
    return list(Topic.select().join(RequestTopic).where(RequestTopic.request == req).order_by(Topic.name))


# --- sending -------------------------------------------------------------------

def requests_of(member):
    """(incoming, outgoing): the requests that ask ``member``, and the ones they sent, newest first.

    Each item has ``req``, ``other`` (the other member), their ``headline`` and the ``topics``;
    a fixed number of queries however many there are.
    """
    asked = (((R.direction == R.REQUEST) & (R.mentor == member.id))
             | ((R.direction == R.OFFER) & (R.mentee == member.id)))
    return (_listed(R.select().where(asked), member),
            _listed(R.select().where(R.requester == member.id), member))


def _listed(query, me):
    """The requests of ``query`` with the other member, their headline and the topics, in three queries."""
    Mentor, Mentee = User.alias(), User.alias()
    rows = list(query.select(R, Mentor, Mentee)
                .join(Mentor, on=R.mentor).switch(R)
                .join(Mentee, on=R.mentee).switch(R)
                .order_by(R.created_at.desc(), R.id.desc()))
    ids = [r.id for r in rows]
    topics = {}
    if ids:
        for link in (RequestTopic.select(RequestTopic.request, Topic).join(Topic)
                     .where(RequestTopic.request.in_(ids)).order_by(Topic.name)):
            topics.setdefault(link.request_id, []).append(link.topic)
    others = {r.id: (r.mentee if r.mentor_id == me.id else r.mentor) for r in rows}
    headlines = {}
    if rows:
        headlines = {p.user_id: p.headline for p in Profile.select(Profile.user, Profile.headline)
                     .where(Profile.user.in_({o.id for o in others.values()}))}
    return [SimpleNamespace(req=r, other=others[r.id], headline=headlines.get(others[r.id].id, ""),
                            topics=topics.get(r.id, [])) for r in rows]



def send_request(mentee, mentor, topic_ids, help_wanted, success, meeting_format, now=None):
    """The mentee asks the mentor for mentoring."""
    return _send(R.REQUEST, mentee, mentor, mentee, topic_ids, help_wanted, success, meeting_format, now)


def send_offer(mentor, mentee, topic_ids, help_wanted, success, meeting_format, now=None):
    """The mentor offers to mentor the mentee (a request the other way round)."""
    return _send(R.OFFER, mentor, mentor, mentee, topic_ids, help_wanted, success, meeting_format, now)


def _send(direction, requester, mentor, mentee, topic_ids, help_wanted, success, meeting_format, now):
    now = now or utcnow()
    with write_lock():
        profiles = _lock_profiles(mentor.id, mentee.id)
        mentor, mentee = _fresh_user(mentor), _fresh_user(mentee)
        requester = mentor if direction == R.OFFER else mentee
        asked = mentee if direction == R.OFFER else mentor
        _check_parties(direction, requester, asked, mentor, mentee, profiles)
        topics = _check_topics(direction, mentor, profiles[mentor.id], topic_ids)
        help_wanted = _check_prompt(help_wanted, "help_wanted", asked)
        success = _check_prompt(success, "success_looks_like", asked)
        meeting_format = _check_format(meeting_format, asked, profiles[asked.id])

        review = requests_need_review()
        req = ConnectionRequest.create(
            requester=requester, mentor=mentor, mentee=mentee, direction=direction,
            help_wanted=help_wanted, success_looks_like=success, meeting_format=meeting_format,
            status=R.PENDING_REVIEW if review else R.PENDING_MENTOR, created_at=now,
            expires_at=None if review else now + EXPIRY,
        )
        RequestTopic.insert_many([{"request": req.id, "topic": t} for t in topics]).execute()
        audit.record(requester, "request.sent", _target(req),
                     f"{direction} to user:{asked.id}; {'review' if review else 'no review'}")
        if review:
            _notify_coordinators(req, now)
        else:
            _notify_received(req, now)
    return req


def _fresh_user(user):
    return User.get_by_id(user.id if isinstance(user, User) else user)


def _lock_profiles(*user_ids):
    """The profiles of these members, row-locked on PostgreSQL in id order (no deadlock between two lockers)."""
    ids = sorted(set(user_ids))
    query = Profile.select().where(Profile.user.in_(ids)).order_by(Profile.user)
    return {p.user_id: p for p in locked(query)}


def _active_pair(a_id, b_id):
    return Mentorship.select().where(
        (Mentorship.status == Mentorship.ACTIVE)
        & (((Mentorship.mentor == a_id) & (Mentorship.mentee == b_id))
           | ((Mentorship.mentor == b_id) & (Mentorship.mentee == a_id)))).exists()


def _open_between(a_id, b_id):
    return ConnectionRequest.select().where(
        ConnectionRequest.status.in_(R.OPEN)
        & (((ConnectionRequest.mentor == a_id) & (ConnectionRequest.mentee == b_id))
           | ((ConnectionRequest.mentor == b_id) & (ConnectionRequest.mentee == a_id)))).first()


SELF_REQUEST = "You cannot send a mentoring request to yourself."


def _not_a_mentor(mentor):
    return f"{mentor.name} does not offer mentoring."


def request_refusal(mentee, mentor):
    """Why ``mentee`` cannot ask ``mentor`` at all, shown before any form is filled in; or None.

    ``send_request`` checks the same rules (and the rest) when the form is sent.
    """
    if mentor.id == mentee.id:
        return SELF_REQUEST
    if not mentor.profile.offers_mentoring:
        return _not_a_mentor(mentor)
    return None


def _check_parties(direction, requester, asked, mentor, mentee, profiles):
    offer = direction == R.OFFER
    if requester.id == asked.id:
        raise RequestError("You cannot offer mentoring to yourself." if offer else SELF_REQUEST)
    if not requester.active:
        raise NotAllowed("Your account is not active.")
    if not asked.active or asked.id not in profiles:
        raise RequestError(f"{asked.name} is no longer taking part in the program.")
    if _active_pair(mentor.id, mentee.id):
        raise RequestError(f"You and {asked.name} already have an active mentorship.")
    existing = _open_between(mentor.id, mentee.id)
    if existing is not None:
        if existing.requester_id == requester.id:
            raise RequestError(f"You already have an open request with {asked.name}: "
                               "wait for the answer, or withdraw it first.")
        raise RequestError(f"{asked.name} has already sent you a request: answer it on your requests page.")
    if open_outgoing_count(requester) >= MAX_OPEN_OUTGOING:
        raise RequestError(f"You already have {MAX_OPEN_OUTGOING} open requests. Wait for an answer, "
                           "or withdraw one, before you send another.")
    mentor_profile = profiles[mentor.id]
    if not mentor_profile.offers_mentoring:
        raise RequestError("Your profile does not offer mentoring: turn it on in your profile first." if offer
                           else _not_a_mentor(mentor))
    if places_left(mentor_profile) <= 0:
        raise RequestError("You have no free place for a new mentee: raise your capacity in your profile, "
                           "or end a mentorship first." if offer
                           else f"{mentor.name} has no free place for a new mentee right now.")
    if offer and not profiles[mentee.id].seeks_mentoring:
        raise RequestError(f"{mentee.name} is not looking for a mentor.")


def _check_topics(direction, mentor, mentor_profile, topic_ids):
    whose = "you offer" if direction == R.OFFER else f"{mentor.name} offers"
    try:
        wanted = {int(t.id if isinstance(t, Topic) else t) for t in (topic_ids or ())}
    except (TypeError, ValueError):
        raise RequestError(f"Choose among the topics {whose}.", "topics") from None
    if not wanted:
        raise RequestError(f"Choose at least one of the topics {whose}.", "topics")
    offered = {link.topic_id for link in ProfileTopic.select(ProfileTopic.topic).join(Topic).where(
        (ProfileTopic.profile == mentor_profile.user_id) & (ProfileTopic.kind == ProfileTopic.OFFERS)
        & (Topic.approved == True))}  # noqa: E712
    if not wanted <= offered:
        raise RequestError(f"Choose only among the topics {whose}.", "topics")
    return sorted(wanted)


def _check_prompt(text, field, asked):
    text = (text or "").strip()
    question = PROMPTS[field]
    if not text:
        raise RequestError(f"Please answer “{question}”", field)
    if len(text) < PROMPT_MIN:
        raise RequestError(f"Write a little more for “{question}” (at least {PROMPT_MIN} characters), "
                           f"so that {asked.name} understands what you have in mind.", field)
    if len(text) > PROMPT_MAX:
        raise RequestError(f"Keep “{question}” under {PROMPT_MAX} characters (you wrote {len(text)}).", field)
    return text


def _check_format(code, asked, asked_profile):
    if code not in vocab.FORMAT_LABEL:
        raise RequestError("Choose how you would like to meet.", "meeting_format")
    accepted = asked_profile.formats
    if accepted and code not in accepted:
        labels = " or ".join(vocab.FORMAT_LABEL[c].lower() for c in accepted if c in vocab.FORMAT_LABEL)
        raise RequestError(f"{asked.name} meets by {labels}: choose one of those.", "meeting_format")
    return code


def _check_note(note, required=False, what="note"):
    note = (note or "").strip()
    if required and not note:
        raise RequestError(f"Write a short {what}: the member will read it.", "note")
    if len(note) > NOTE_MAX:
        raise RequestError(f"Keep the {what} under {NOTE_MAX} characters (you wrote {len(note)}).", "note")
    return note


# --- transitions ---------------------------------------------------------------

def _target(req):
    return f"request:{req.id}"


def _load(request):
    request_id = request.id if isinstance(request, ConnectionRequest) else int(request)
    req = locked(ConnectionRequest.select().where(ConnectionRequest.id == request_id)).first()
    if req is None:
        raise RequestError("This request no longer exists.")
    return req


def _require_status(req, *statuses):
    if req.status not in statuses:
        raise RequestError(f"This {_noun(req)} {STATUS_WORDS[req.status]}.")


def _require_reviewer(actor, req):
    if not actor.is_coordinator:
        raise NotAllowed("Only coordinators can review requests.")
    if actor.id in (req.mentor_id, req.mentee_id):
        raise NotAllowed("You cannot review a request you are part of: another coordinator will.")


def _require_asked(actor, req):
    if actor.id != req.asked_id:
        raise NotAllowed(f"Only the member this {_noun(req)} was sent to can answer it.")


def _noun(req):
    return "offer" if req.direction == R.OFFER else "request"


def approve(coordinator, request, note="", now=None):
    """A coordinator lets a request through to the person asked; the 14 days start now."""
    now = now or utcnow()
    note = _check_note(note)
    with write_lock():
        req = _load(request)
        _require_reviewer(coordinator, req)
        _require_status(req, R.PENDING_REVIEW)
        req.status = R.PENDING_MENTOR
        req.reviewed_by, req.reviewed_at, req.review_note = coordinator.id, now, note
        req.expires_at = now + EXPIRY
        req.save()
        audit.record(coordinator, "request.approved", _target(req), note)
        _notify_received(req, now)
    return req


def reject(coordinator, request, note, now=None):
    """A coordinator stops a request, telling the requester why."""
    now = now or utcnow()
    note = _check_note(note, required=True, what="note saying why")
    with write_lock():
        req = _load(request)
        _require_reviewer(coordinator, req)
        _require_status(req, R.PENDING_REVIEW)
        req.status = R.REJECTED
        req.reviewed_by, req.reviewed_at, req.review_note = coordinator.id, now, note
        req.closed_at = now
        req.save()
        audit.record(coordinator, "request.rejected", _target(req), note)
        _notify_answered(req, now)
    return req


def accept(actor, request, now=None):
    """The person asked accepts: a mentorship starts, if the mentor still has a free place.

    Capacity is counted under the write lock with the mentor's profile row locked,
    so two accepts at once over capacity let exactly one through.
    """
    now = now or utcnow()
    with write_lock():
        req = _load(request)
        _require_asked(actor, req)
        _require_status(req, R.PENDING_MENTOR)
        profiles = _lock_profiles(req.mentor_id, req.mentee_id)
        other = User.get_by_id(req.requester_id)
        if not other.active:
            raise RequestError(f"{other.name} is no longer taking part in the program.")
        if _active_pair(req.mentor_id, req.mentee_id):
            raise RequestError(f"You and {other.name} already have an active mentorship.")
        if places_left(profiles[req.mentor_id]) <= 0:
            raise RequestError(
                f"{other.name} has no free place for a new mentee any more." if req.direction == R.OFFER
                else "You have no free place for a new mentee: raise your capacity in your profile, "
                     "or end a mentorship first.")
        mentorship = Mentorship.create(mentor=req.mentor_id, mentee=req.mentee_id, started_at=now)
        req.status = R.ACCEPTED
        req.answered_at = req.closed_at = now
        req.mentorship = mentorship
        req.save()
        audit.record(actor, "request.accepted", _target(req))
        audit.record(actor, "mentorship.started", f"mentorship:{mentorship.id}", _target(req))
        _notify_answered(req, now)
    return req


def decline(actor, request, note="", now=None):
    """The person asked declines, with an optional kind note."""
    now = now or utcnow()
    note = _check_note(note)
    with write_lock():
        req = _load(request)
        _require_asked(actor, req)
        _require_status(req, R.PENDING_MENTOR)
        req.status = R.DECLINED
        req.answered_at = req.closed_at = now
        req.answer_note = note
        req.save()
        audit.record(actor, "request.declined", _target(req), note)
        _notify_answered(req, now)
    return req


def withdraw(actor, request, now=None):
    """The requester takes an open request back."""
    now = now or utcnow()
    with write_lock():
        req = _load(request)
        if actor.id != req.requester_id:
            raise NotAllowed(f"Only the member who sent this {_noun(req)} can withdraw it.")
        _require_status(req, *R.OPEN)
        req.status = R.WITHDRAWN
        req.closed_at = now
        req.save()
        audit.record(actor, "request.withdrawn", _target(req))
    return req


def expire_due(now=None):
    """Expire the requests that waited 14 days for an answer; returns them.

    Each is expired in its own short transaction, re-checked under the lock, so
    an answer given meanwhile wins and running this twice changes nothing.
    """
    now = now or utcnow()
    due = [r.id for r in ConnectionRequest.select(ConnectionRequest.id).where(
        (ConnectionRequest.status == R.PENDING_MENTOR) & (ConnectionRequest.expires_at <= now))
        .order_by(ConnectionRequest.expires_at)]
    expired = []
    for request_id in due:
        with write_lock():
            req = _load(request_id)
            if req.status != R.PENDING_MENTOR or req.expires_at is None or req.expires_at > now:
                continue
            req.status = R.EXPIRED
            req.closed_at = now
            req.save()
            audit.record(None, "request.expired", _target(req))
            _notify(req, req.requester_id, notifications.REQUEST_EXPIRED,
                    f"Your {_noun(req)} to {_name(req.asked_id)} expired without an answer", now)
        expired.append(req)
    return expired


# --- notifications (the outbox, DESIGN §6) -------------------------------------

def _name(user_id):
    return User.select(User.name).where(User.id == user_id).scalar()


def _notify(req, recipient_id, kind, subject, now, **extra):
    context = {"request_id": req.id, "direction": req.direction, "status": req.status,
               "requester_id": req.requester_id, "mentor_id": req.mentor_id, "mentee_id": req.mentee_id, **extra}
    notifications.notify(recipient_id, kind, subject, f"request:{req.id}:{kind}:{recipient_id}",
                         context=context, now=now)


def _notify_coordinators(req, now):
    mentor, mentee = _name(req.mentor_id), _name(req.mentee_id)
    subject = (f"{mentor} offers to mentor {mentee}: please review" if req.direction == R.OFFER
               else f"{mentee} asks {mentor} for mentoring: please review")
    for coordinator in notifications.coordinators(exclude=(req.mentor_id, req.mentee_id)):
        _notify(req, coordinator.id, notifications.REQUEST_TO_REVIEW, subject, now)


def _notify_received(req, now):
    requester = _name(req.requester_id)
    subject = (f"{requester} offers to mentor you" if req.direction == R.OFFER
               else f"{requester} asks you for mentoring")
    _notify(req, req.asked_id, notifications.REQUEST_RECEIVED, subject, now)


def _notify_answered(req, now):
    asked, noun = _name(req.asked_id), _noun(req)
    subject = {
        R.ACCEPTED: f"{asked} accepted your {noun}",
        R.DECLINED: f"{asked} declined your {noun}",
        R.REJECTED: f"Your {noun} to {asked} was not approved",
    }[req.status]
    note = req.review_note if req.status == R.REJECTED else req.answer_note
    _notify(req, req.requester_id, notifications.REQUEST_ANSWERED, subject, now, note=note)
