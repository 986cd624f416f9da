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

A request to a member who is away ("away until", DESIGN journey 7) is held, not refused: it is
sent, but announced to them on the day they are back, and its 14 days count from then
(``answer_from``). Refusing would make the mentee come back and ask again; holding keeps their
words and their place, and the mentor finds it waiting (the sweep tells them how many did).
"""
import datetime as dt
from types import SimpleNamespace

from peewee import fn

from .. import audit, vocab
from ..db import locked, write_lock
from ..members.services import is_away, places_left, topics_by_kind
from ..models import (
    ConnectionRequest,
    Mentorship,
    Profile,
    ProfileLanguage,
    ProfileTopic,
    ProgramSetting,
    RequestTopic,
    Topic,
    User,
    utcnow,
)
from ..notifications import services as notifications

EXPIRY = dt.timedelta(days=14)
WAITING = dt.timedelta(days=3)  # unanswered this long, the person asked is reminded once
MAX_OPEN_OUTGOING = 3
PROMPT_MIN = 20
PROMPT_MAX = 2000
NOTE_MAX = 1000

PROMPTS = {
    "help_wanted": "What would you like help with?",
    "success_looks_like": "What would success look like in three months?",
}
# The same two questions put to a mentor who offers ({name}: the mentee).
OFFER_PROMPTS = {
    "help_wanted": "What could you help {name} with?",
    "success_looks_like": PROMPTS["success_looks_like"],
}

# Kind notes offered to the member who declines (code: (label, the note sent)), so that a "no" is easy to say well.
DECLINE_NOTES = {
    "no_time": ("No time this quarter",
                "Thank you for asking me. I have no time for a new mentee this quarter; "
                "please ask me again in a few months."),
    "not_my_area": ("Not my area: try someone else",
                    "Thank you for asking me. This is not really my area, and another mentor will help you "
                    "more than I could: I hope you find them soon."),
    "at_capacity": ("At capacity right now",
                    "Thank you for thinking of me. I am mentoring as many people as I can right now; "
                    "I hope you find a good mentor soon."),
}
OFFER_DECLINE_NOTES = {
    "no_time": ("No time this quarter",
                "Thank you for your offer. I have no time for mentoring this quarter; I may ask you later."),
    "other_focus": ("Looking for something else",
                    "Thank you for your offer. I am looking for help with something else right now, "
                    "so I will say no for now."),
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


# --- my requests (/requests) ---------------------------------------------------

PAST_SHOWN = 50

CLOSED_WORDS = {
    R.ACCEPTED: "Accepted",
    R.DECLINED: "Declined",
    R.WITHDRAWN: "Withdrawn",
    R.EXPIRED: "Expired without an answer",
}


def _mine(member):
    """The requests ``member`` may see on /requests: the ones they sent, and the ones that reached them.

    A request reaches the person asked when it gets its expiry date (when it is sent, or when a
    coordinator approves it): one waiting for review, or stopped by a coordinator, never did.
    """
    asked = (((R.direction == R.REQUEST) & (R.mentor == member.id))
             | ((R.direction == R.OFFER) & (R.mentee == member.id)))
    return (R.requester == member.id) | (asked & R.expires_at.is_null(False))


seen_by = _mine  # for other modules: the member's data export takes exactly what /requests may show


def my_requests(member):
    """What /requests shows ``member``: the open requests sent to them, the open ones they sent, and the
    latest ``PAST_SHOWN`` closed ones of either kind (``more_past`` says that older ones are left out).

    Each item is built by ``_listed``; a fixed number of queries however many requests there are.
    """
    open_rows = _rows(R.select().where(_mine(member) & R.status.in_(R.OPEN))
                      .order_by(R.created_at.desc(), R.id.desc()))
    past_rows = _rows(R.select().where(_mine(member) & R.status.not_in(R.OPEN))
                      .order_by(R.closed_at.desc(), R.id.desc()).limit(PAST_SHOWN + 1))
    items = _listed(open_rows + past_rows[:PAST_SHOWN], member)
    return SimpleNamespace(
        incoming=[i for i in items if i.incoming and i.req.is_open],
        outgoing=[i for i in items if not i.incoming and i.req.is_open],
        past=[i for i in items if not i.req.is_open],
        more_past=len(past_rows) > PAST_SHOWN, past_shown=PAST_SHOWN,
    )


def my_request(request_id, member):
    """One request as /requests shows it to ``member`` (to update it in place), or None when it is not theirs."""
    rows = _rows(R.select().where((R.id == request_id) & _mine(member)))
    return _listed(rows, member)[0] if rows else None


def decline_notes(req):
    """The kind notes offered to the person who declines ``req``."""
    return OFFER_DECLINE_NOTES if req.direction == R.OFFER else DECLINE_NOTES


def _rows(query):
    """The requests of ``query`` with both members, in one query."""
    Mentor, Mentee = User.alias(), User.alias()
    return list(query.select(R, Mentor, Mentee)
                .join(Mentor, on=R.mentor).switch(R)
                .join(Mentee, on=R.mentee).switch(R))


def _listed(rows, me):
    """``rows`` as ``me`` sees them on /requests, in four more queries however many there are.

    Each item has ``req``, ``other`` (the other member), ``incoming`` (``me`` is the one asked),
    ``profile`` and ``languages`` (the other member's summary), the ``topics`` of the request,
    the ``prompts`` its sender answered, its ``history``, and for a request waiting for ``me``:
    the kind ``notes`` offered to decline it, and ``others_open``, how many other open requests
    (or offers) its sender has.
    """
    if not rows:
        return []
    others = {r.id: (r.mentee if r.mentor_id == me.id else r.mentor) for r in rows}
    other_ids = {o.id for o in others.values()}
    topics, languages = {}, {}
    for link in (RequestTopic.select(RequestTopic.request, Topic).join(Topic)
                 .where(RequestTopic.request.in_([r.id for r in rows])).order_by(Topic.name)):
        topics.setdefault(link.request_id, []).append(link.topic)
    profiles = {p.user_id: p for p in Profile.select(
        Profile.user, Profile.headline, Profile.organization, Profile.job_title, Profile.job_level,
        Profile.country).where(Profile.user.in_(other_ids))}
    for user_id, code in (ProfileLanguage.select(ProfileLanguage.profile, ProfileLanguage.code)
                          .where(ProfileLanguage.profile.in_(other_ids)).order_by(ProfileLanguage.code).tuples()):
        languages.setdefault(user_id, []).append(code)
    waiting = {r.id for r in rows if r.asked_id == me.id and r.status == R.PENDING_MENTOR}
    open_sent = {}
    if waiting:
        # One grouped count: each sender's open requests, and offers, apart (this one among them).
        open_sent = {(requester, direction): count for requester, direction, count in (
            R.select(R.requester, R.direction, fn.COUNT(R.id))
            .where(R.requester.in_({r.requester_id for r in rows if r.id in waiting}) & R.status.in_(R.OPEN))
            .group_by(R.requester, R.direction).tuples())}
    return [SimpleNamespace(
        req=r, other=others[r.id], incoming=r.asked_id == me.id, profile=profiles.get(others[r.id].id),
        languages=languages.get(others[r.id].id, []), topics=topics.get(r.id, []),
        prompts=prompts_for(r.direction, r.asked), history=_history(r, me),
        notes=decline_notes(r) if r.id in waiting else {},
        others_open=open_sent.get((r.requester_id, r.direction), 1) - 1 if r.id in waiting else None,
    ) for r in rows]


def _history(req, me):
    """What happened to the request, oldest first, read from its stamps.

    The coordinator's note on a rejection is written for the requester; a note on an
    approval stays with the coordinators.
    """
    events = [SimpleNamespace(at=req.created_at, what="Sent", note="")]
    if req.reviewed_at is not None:
        rejected = req.status == R.REJECTED
        events.append(SimpleNamespace(
            at=req.reviewed_at, what="Not approved by a coordinator" if rejected else "Approved by a coordinator",
            note=req.review_note if rejected and me.id == req.requester_id else ""))
    if req.status in CLOSED_WORDS:
        events.append(SimpleNamespace(at=req.closed_at or req.answered_at, what=CLOSED_WORDS[req.status],
                                      note=req.answer_note if req.status == R.DECLINED else ""))
    return events


# --- sending -------------------------------------------------------------------

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
        help_wanted = _check_prompt(help_wanted, "help_wanted", asked, direction)
        success = _check_prompt(success, "success_looks_like", asked, direction)
        meeting_format = _check_format(meeting_format, asked, profiles[asked.id])

        review = requests_need_review()
        start = answer_from(profiles[asked.id], now)
        req = ConnectionRequest.create(
            requester=requester, mentor=mentor, mentee=mentee, direction=direction,
            help_wanted=help_wanted, success_looks_like=success, meeting_format=meeting_format,
            status=R.PENDING_REVIEW if review else R.PENDING_MENTOR, created_at=now,
            expires_at=None if review else start + EXPIRY,
        )
        RequestTopic.insert_many([{"request": req.id, "topic": t} for t in topics]).execute()
        audit.record(requester, "request.sent", _target(req),
                     f"{direction} to user:{asked.id}; {'review' if review else 'no review'}")
        if review:
            _notify_coordinators(req, now)
        else:
            _notify_received(req, now, start)
    return req


def answer_from(asked_profile, now):
    """When the member asked starts to have the request: now, or the moment they are back when away."""
    return asked_profile.away_ends_at if is_away(asked_profile, now) else now


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


SELF_OFFER = "You cannot offer mentoring to yourself."
NOT_OFFERING = "Your profile does not offer mentoring: turn it on in your profile first."


def _not_seeking(mentee):
    return f"{mentee.name} is not looking for a mentor."


def offer_refusal(mentor, mentee):
    """Why ``mentor`` cannot offer to mentor ``mentee`` at all, shown before any form is filled in; or None.

    ``send_offer`` checks the same rules (and the rest) when the form is sent.
    """
    if mentor.id == mentee.id:
        return SELF_OFFER
    if not mentor.profile.offers_mentoring:
        return NOT_OFFERING
    if not mentee.profile.seeks_mentoring:
        return _not_seeking(mentee)
    return None


def offer_topics(mentor, mentee):
    """The topics ``mentor`` may offer (the approved ones they offer), those ``mentee`` seeks first;
    and the ids of those the mentee seeks."""
    offered = topics_by_kind(mentor.profile)[ProfileTopic.OFFERS]
    sought = {t.id for t in topics_by_kind(mentee.profile)[ProfileTopic.SEEKS]}
    return sorted(offered, key=lambda t: t.id not in sought), sought


def prompts_for(direction, asked):
    """The two questions as the member who sends reads them: a mentee asks, a mentor offers to ``asked``."""
    if direction == R.OFFER:
        return {field: question.format(name=asked.name) for field, question in OFFER_PROMPTS.items()}
    return PROMPTS


def _check_parties(direction, requester, asked, mentor, mentee, profiles):
    offer = direction == R.OFFER
    if requester.id == asked.id:
        raise RequestError(SELF_OFFER if offer else SELF_REQUEST)
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
        raise RequestError(NOT_OFFERING if offer else _not_a_mentor(mentor))
    if places_left(mentor_profile) <= 0:
        raise RequestError("You have no free place for a new mentee: raise your capacity in your profile, "
                           "or end a mentorship first." if offer
                           else f"{mentor.name} has no free place for a new mentee right now.")
    if offer and not profiles[mentee.id].seeks_mentoring:
        raise RequestError(_not_seeking(mentee))


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


def _check_prompt(text, field, asked, direction):
    text = (text or "").strip()
    question = prompts_for(direction, asked)[field]
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
        start = answer_from(Profile.get(Profile.user == req.asked_id), now)
        req.expires_at = start + EXPIRY
        req.save()
        audit.record(coordinator, "request.approved", _target(req), note)
        _notify_received(req, now, start)
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


def decline(actor, request, note="", now=None, template=""):
    """The person asked declines, with an optional kind note: their own words, or else the
    offered note (``decline_notes``) whose code is ``template``."""
    now = now or utcnow()
    note = _check_note(note)
    with write_lock():
        req = _load(request)
        _require_asked(actor, req)
        _require_status(req, R.PENDING_MENTOR)
        if template:
            offered = decline_notes(req)
            if template not in offered:
                raise RequestError("Choose one of the offered notes, or write your own.", "template")
            note = note or offered[template][1]
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


def close_for_departure(member, request, note, now=None):
    """A member leaves the program (their account is deleted): an open request they sent is withdrawn;
    one sent to them, waiting for review or for their answer, is declined with ``note``, and its
    requester is told."""
    now = now or utcnow()
    with write_lock():
        req = _load(request)
        _require_status(req, *R.OPEN)
        if member.id == req.requester_id:
            return withdraw(member, req, now)
        if member.id not in (req.mentor_id, req.mentee_id):
            raise NotAllowed(f"This {_noun(req)} is not theirs.")
        req.status = R.DECLINED
        req.answered_at = req.closed_at = now
        req.answer_note = note
        req.save()
        audit.record(member, "request.declined", _target(req), "left the program")
        _notify_answered(req, now)
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


def remind_waiting(now=None):
    """Remind the person asked of each request that has waited ``WAITING`` for their answer; returns
    how many reminders were written.

    A request reaches them ``EXPIRY`` before it expires (approval restarts the clock), so it has
    waited 3 days when it expires within 11. The dedupe key makes it one reminder per request, however
    often or concurrently this runs; a request answered meanwhile is not sent (delivery skips it).
    """
    now = now or utcnow()
    waiting = list(ConnectionRequest.select().where(
        (ConnectionRequest.status == R.PENDING_MENTOR) & (ConnectionRequest.expires_at > now)
        & (ConnectionRequest.expires_at <= now + EXPIRY - WAITING)).order_by(ConnectionRequest.id))
    kind = notifications.REQUEST_WAITING
    keys = {f"request:{req.id}:{kind}:{req.asked_id}": req for req in waiting}
    known = notifications.known_keys(keys)
    written = 0
    for key, req in keys.items():
        if key in known:
            continue
        subject = f"{_name(req.requester_id)}'s {_noun(req)} is waiting for your answer"
        _notify(req, req.asked_id, kind, subject, now, waited_since=req.expires_at - EXPIRY)
        written += 1
    return written


# --- notifications (the outbox, DESIGN §6) -------------------------------------

def _name(user_id):
    return User.select(User.name).where(User.id == user_id).scalar()


def _notify(req, recipient_id, kind, subject, now, due_at=None, **extra):
    context = {"request_id": req.id, "direction": req.direction, "status": req.status,
               "requester_id": req.requester_id, "mentor_id": req.mentor_id, "mentee_id": req.mentee_id, **extra}
    notifications.notify(recipient_id, kind, subject, f"request:{req.id}:{kind}:{recipient_id}",
                         context=context, due_at=due_at, now=now)


def _notify_coordinators(req, now):
    mentor, mentee = _name(req.mentor_id), _name(req.mentee_id)
    subject = (f"{mentor} offers to mentor {mentee}: please review" if req.direction == R.OFFER
               else f"{mentee} asks {mentor} for mentoring: please review")
    for coordinator in notifications.coordinators(exclude=(req.mentor_id, req.mentee_id)):
        _notify(req, coordinator.id, notifications.REQUEST_TO_REVIEW, subject, now)


def _notify_received(req, now, start):
    """Tell the member asked, at ``start``: later than now when they are away (``answer_from``)."""
    requester = _name(req.requester_id)
    subject = (f"{requester} offers to mentor you" if req.direction == R.OFFER
               else f"{requester} asks you for mentoring")
    _notify(req, req.asked_id, notifications.REQUEST_RECEIVED, subject, now, due_at=start)


def _notify_answered(req, now):
    asked, noun = _name(req.asked_id), _noun(req)
    subject = {
        R.ACCEPTED: f"{asked} accepted your {noun}",
        R.DECLINED: f"{asked} declined your {noun}",
        R.REJECTED: f"Your {noun} to {asked} was not approved",
    }[req.status]
    note = req.review_note if req.status == R.REJECTED else req.answer_note
    _notify(req, req.requester_id, notifications.REQUEST_ANSWERED, subject, now, note=note)
