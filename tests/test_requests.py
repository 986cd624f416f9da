"""Connection requests without HTTP: every rule of journey 3 with its message, every transition for
every role, review on and off, expiry, the audit trail, the outbox, and capacity under concurrency."""
import datetime as dt
import json
import threading
import time
from types import SimpleNamespace

import pytest

from portal.db import database
from portal.models import (
    AuditEvent,
    ConnectionRequest,
    Mentorship,
    Notification,
    ProfileTopic,
    ProgramSetting,
    RequestTopic,
    Topic,
    User,
)
from portal.notifications import services as notifications
from portal.requests import services as svc
from portal.requests.services import NotAllowed, RequestError

R = ConnectionRequest
HELP = "I lead a team of four for the first time and want to do it well."
SUCCESS = "Our weekly meeting runs itself and I delegate without worrying."
T0 = dt.datetime(2026, 3, 2, 9, 0)


@pytest.fixture
def people(make_member, topics):
    t = topics
    return SimpleNamespace(
        mentor=make_member(name="Mona Mentor", offers=[t["Leadership"], t["Python"]], seeks=[t["Negotiation"]],
                           capacity=2, meeting_formats="video phone", password=None),
        mentee=make_member(name="Mel Mentee", seeks=[t["Leadership"]], password=None),
        coordinator=make_member(name="Cora Coordinator", role=User.COORDINATOR, password=None),
        other=make_member(name="Otto Other", seeks=[t["Python"]], password=None),
        topics=t,
    )


def ask(p, mentee=None, mentor=None, topic_ids=None, help_wanted=HELP, success=SUCCESS, fmt="video", now=None):
    return svc.send_request(mentee or p.mentee, mentor or p.mentor,
                            topic_ids if topic_ids is not None else [p.topics["Leadership"].id],
                            help_wanted, success, fmt, now=now)


def offer(p, mentor=None, mentee=None, topic_ids=None, fmt="video", now=None):
    return svc.send_offer(mentor or p.mentor, mentee or p.mentee,
                          topic_ids if topic_ids is not None else [p.topics["Leadership"].id],
                          "I can help you find your feet as a new team lead.", SUCCESS, fmt, now=now)


def review_on():
    ProgramSetting.set_value(ProgramSetting.REQUESTS_NEED_REVIEW, True)


def refused(call, match, error=RequestError, field=None):
    with pytest.raises(error, match=match) as info:
        call()
    assert info.value.field == field
    return info.value


def fresh(req):
    return ConnectionRequest.get_by_id(req.id)


def notes(kind=None):
    query = Notification.select().order_by(Notification.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return [(n.recipient_id, n.kind) for n in query]


def actions(req):
    return [(e.actor_id, e.action) for e in AuditEvent.select().where(AuditEvent.target == f"request:{req.id}")
            .order_by(AuditEvent.id)]


# --- sending: the request and what it records -------------------------------------

def test_a_request_without_review_goes_to_the_mentor_and_tells_them(people):
    p = people
    req = ask(p, topic_ids=[p.topics["Leadership"].id, p.topics["Python"].id], now=T0)
    req = fresh(req)
    assert (req.requester_id, req.mentor_id, req.mentee_id, req.direction) == (p.mentee.id, p.mentor.id,
                                                                              p.mentee.id, R.REQUEST)
    assert req.status == R.PENDING_MENTOR and req.is_open and req.asked_id == p.mentor.id
    assert (req.help_wanted, req.success_looks_like, req.meeting_format) == (HELP, SUCCESS, "video")
    assert req.created_at == T0 and req.expires_at == T0 + dt.timedelta(days=14)
    assert [t.name for t in svc.request_topics(req)] == ["Leadership", "Python"]
    assert actions(req) == [(p.mentee.id, "request.sent")]
    assert notes() == [(p.mentor.id, notifications.REQUEST_RECEIVED)]
    n = Notification.get()
    assert n.subject == "Mel Mentee asks you for mentoring"
    assert n.dedupe_key == f"request:{req.id}:request_received:{p.mentor.id}"
    assert (n.channel, n.status, n.attempts, n.last_error, n.sent_at, n.read_at) == ("email", "pending", 0, "",
                                                                                   None, None)
    assert n.due_at == T0 and n.context["request_id"] == req.id


def test_prompts_are_stored_trimmed(people):
    req = ask(people, help_wanted=f"  {HELP}\n", success=f"\t{SUCCESS}  ")
    assert (fresh(req).help_wanted, fresh(req).success_looks_like) == (HELP, SUCCESS)


def test_an_offer_runs_the_other_way_and_waits_for_the_mentee(people):
    p = people
    req = fresh(offer(p))
    assert (req.requester_id, req.mentor_id, req.mentee_id, req.direction) == (p.mentor.id, p.mentor.id,
                                                                              p.mentee.id, R.OFFER)
    assert req.status == R.PENDING_MENTOR and req.asked_id == p.mentee.id
    assert notes() == [(p.mentee.id, notifications.REQUEST_RECEIVED)]
    assert Notification.get().subject == "Mona Mentor offers to mentor you"
    with pytest.raises(NotAllowed):
        svc.accept(p.mentor, req)
    accepted = svc.accept(p.mentee, req)
    m = accepted.mentorship
    assert (m.mentor_id, m.mentee_id, m.status) == (p.mentor.id, p.mentee.id, Mentorship.ACTIVE)
    assert notes(notifications.REQUEST_ANSWERED) == [(p.mentor.id, notifications.REQUEST_ANSWERED)]


# --- the rules of journey 3, each with its message ---------------------------------

def test_not_to_yourself(people):
    p = people
    refused(lambda: ask(p, mentee=p.mentor, mentor=p.mentor), "cannot send a mentoring request to yourself")
    refused(lambda: offer(p, mentee=p.mentor), "cannot offer mentoring to yourself")
    assert ConnectionRequest.select().count() == 0


def test_the_mentor_must_offer_mentoring(people):
    p = people
    refused(lambda: ask(p, mentor=p.other), "Otto Other does not offer mentoring")
    refused(lambda: offer(p, mentor=p.other), "Your profile does not offer mentoring")


def test_the_mentor_must_have_a_free_place(people, make_member):
    p = people
    for _ in range(2):
        Mentorship.create(mentor=p.mentor, mentee=make_member(password=None))
    refused(lambda: ask(p), "Mona Mentor has no free place for a new mentee right now")
    refused(lambda: offer(p), "You have no free place for a new mentee")
    ended = Mentorship.select().first()
    ended.status = Mentorship.ENDED
    ended.save()
    assert ask(p).status == R.PENDING_MENTOR


def test_a_mentor_with_capacity_zero_has_no_place(people, make_member, topics):
    full = make_member(name="Zed Zero", offers=[topics["Leadership"]], capacity=0, password=None)
    refused(lambda: ask(people, mentor=full), "Zed Zero has no free place")


def test_an_offer_goes_only_to_someone_who_seeks_mentoring(people, make_member):
    p = people
    not_seeking = make_member(name="Nia Nope", password=None)
    refused(lambda: offer(p, mentee=not_seeking), "Nia Nope is not looking for a mentor")


def test_no_request_to_an_existing_partner_either_way_round(people):
    p = people
    Mentorship.create(mentor=p.mentor, mentee=p.mentee)
    refused(lambda: ask(p), "You and Mona Mentor already have an active mentorship")
    refused(lambda: offer(p), "You and Mel Mentee already have an active mentorship")
    Mentorship.update(status=Mentorship.ENDED).execute()
    # Reverse mentoring: Mel mentors Mona on another topic; Mona cannot also be asked by Mel.
    Mentorship.create(mentor=p.mentee, mentee=p.mentor)
    refused(lambda: ask(p), "already have an active mentorship")


def test_one_open_request_per_pair_in_either_direction(people):
    p = people
    first = ask(p)
    refused(lambda: ask(p), "You already have an open request with Mona Mentor: wait for the answer, or withdraw")
    refused(lambda: offer(p), "Mel Mentee has already sent you a request: answer it")
    svc.decline(p.mentor, first)
    second = offer(p)
    refused(lambda: ask(p), "Mona Mentor has already sent you a request")
    svc.withdraw(p.mentor, second)
    assert ask(p).status == R.PENDING_MENTOR


def test_at_most_three_open_outgoing_requests(people, make_member, topics):
    p = people
    mentors = [make_member(offers=[topics["Leadership"]], password=None) for _ in range(4)]
    sent = [ask(p, mentor=m) for m in mentors[:3]]
    refused(lambda: ask(p, mentor=mentors[3]), "You already have 3 open requests. Wait for an answer, or withdraw")
    # Requests to the mentee and closed ones do not count.
    svc.decline(mentors[0], sent[0])
    assert ask(p, mentor=mentors[3]).status == R.PENDING_MENTOR
    refused(lambda: ask(p), "You already have 3 open requests")


def test_offers_count_towards_the_mentors_three(people, make_member, topics):
    p = people
    mentees = [make_member(seeks=[topics["Leadership"]], password=None) for _ in range(4)]
    p.mentor.profile.capacity = 9
    p.mentor.profile.save()
    for mentee in mentees[:3]:
        offer(p, mentee=mentee)
    refused(lambda: offer(p, mentee=mentees[3]), "You already have 3 open requests")


def test_topics_must_be_among_the_mentors_offered_topics(people):
    p = people
    t = p.topics
    refused(lambda: ask(p, topic_ids=[]), "Choose at least one of the topics Mona Mentor offers", field="topics")
    refused(lambda: ask(p, topic_ids=[t["Negotiation"].id]), "Choose only among the topics Mona Mentor offers",
            field="topics")
    refused(lambda: ask(p, topic_ids=[t["Leadership"].id, 99999]), "Choose only among", field="topics")
    refused(lambda: ask(p, topic_ids=["x"]), "Choose among the topics", field="topics")
    refused(lambda: offer(p, topic_ids=[t["Career change"].id]), "Choose only among the topics you offer",
            field="topics")


def test_a_topic_waiting_for_approval_cannot_be_requested(people):
    p = people
    pending = Topic.create(name="Knitting", approved=False, suggested_by=p.mentor)
    ProfileTopic.create(profile=p.mentor.id, topic=pending, kind=ProfileTopic.OFFERS)
    refused(lambda: ask(p, topic_ids=[pending.id]), "Choose only among", field="topics")


@pytest.mark.parametrize("field", ["help_wanted", "success_looks_like"])
@pytest.mark.parametrize("text, message", [
    ("", "Please answer"),
    ("   \n ", "Please answer"),
    ("Help me.", r"Write a little more .* \(at least 20 characters\), so that Mona Mentor understands"),
    ("x" * 2001, r"under 2000 characters \(you wrote 2001\)"),
])
def test_both_prompts_are_required_with_length_limits(people, field, text, message):
    answers = {"help_wanted": HELP, "success_looks_like": SUCCESS, field: text}
    refused(lambda: ask(people, help_wanted=answers["help_wanted"], success=answers["success_looks_like"]),
            message, field=field)
    assert ConnectionRequest.select().count() == 0


def test_prompts_at_the_limits_are_accepted(people):
    assert ask(people, help_wanted="x" * 20, success="y" * 2000).status == R.PENDING_MENTOR


def test_the_meeting_format_must_be_one_the_asked_member_meets_by(people):
    p = people
    refused(lambda: ask(p, fmt=""), "Choose how you would like to meet", field="meeting_format")
    refused(lambda: ask(p, fmt="carrier pigeon"), "Choose how you would like to meet", field="meeting_format")
    refused(lambda: ask(p, fmt="in_person"), "Mona Mentor meets by video call or phone call: choose one of those",
            field="meeting_format")
    assert ask(p, fmt="phone").meeting_format == "phone"


def test_a_member_who_left_cannot_be_asked(people, make_member, topics):
    gone = make_member(name="Gus Gone", offers=[topics["Leadership"]], active=False, password=None)
    refused(lambda: ask(people, mentor=gone), "Gus Gone is no longer taking part in the program")


def test_person_rules_come_before_the_form(people):
    """A mentee is told they cannot ask this mentor before being told to fix the prompts."""
    refused(lambda: ask(people, mentor=people.other, help_wanted=""), "does not offer mentoring")


# --- every transition for every role -------------------------------------------------

RIGHTFUL = {"approve": "coordinator", "reject": "coordinator", "accept": "asked", "decline": "asked",
            "withdraw": "requester"}
ALLOWED_FROM = {"approve": (R.PENDING_REVIEW,), "reject": (R.PENDING_REVIEW,), "accept": (R.PENDING_MENTOR,),
                "decline": (R.PENDING_MENTOR,), "withdraw": R.OPEN}
RESULT = {"approve": R.PENDING_MENTOR, "reject": R.REJECTED, "accept": R.ACCEPTED, "decline": R.DECLINED,
          "withdraw": R.WITHDRAWN}


def act(action, actor, req, now=None):
    if action == "approve":
        return svc.approve(actor, req, "", now=now)
    if action == "reject":
        return svc.reject(actor, req, "Please ask a mentor outside your own team.", now=now)
    if action == "decline":
        return svc.decline(actor, req, "I am sorry, not this quarter.", now=now)
    return getattr(svc, action)(actor, req, now=now)


def in_status(p, status, direction):
    """A request (or offer) between Mel and Mona that has reached ``status``."""
    if status == R.PENDING_REVIEW or status == R.REJECTED:
        review_on()
    req = ask(p, now=T0) if direction == R.REQUEST else offer(p, now=T0)
    asked = p.mentor if direction == R.REQUEST else p.mentee
    requester = p.mentee if direction == R.REQUEST else p.mentor
    if status == R.REJECTED:
        svc.reject(p.coordinator, req, "Not now.")
    elif status == R.ACCEPTED:
        svc.accept(asked, req)
    elif status == R.DECLINED:
        svc.decline(asked, req)
    elif status == R.WITHDRAWN:
        svc.withdraw(requester, req)
    elif status == R.EXPIRED:
        assert svc.expire_due(T0 + dt.timedelta(days=15))
    req = fresh(req)
    assert req.status == status
    return req, {"requester": requester, "asked": asked, "coordinator": p.coordinator, "other": p.other}


MATRIX = ([(R.REQUEST, s, a, r) for s in R.STATUSES for a in RIGHTFUL for r in ("requester", "asked", "coordinator",
                                                                                  "other")]
          + [(R.OFFER, s, a, r) for s in R.OPEN for a in RIGHTFUL for r in ("requester", "asked", "coordinator",
                                                                           "other")])


@pytest.mark.parametrize("direction, status, action, role", MATRIX)
def test_transition_matrix(people, direction, status, action, role):
    req, actors = in_status(people, status, direction)
    before_audit = AuditEvent.select().count()
    before_notes = Notification.select().count()
    call = lambda: act(action, actors[role], req, now=T0 + dt.timedelta(days=1))  # noqa: E731
    if role != RIGHTFUL[action]:
        error = refused(call, "Only", error=NotAllowed)
        assert "Only" in error.message
    elif status not in ALLOWED_FROM[action]:
        error = refused(call, "This (request|offer) ")
        assert not isinstance(error, NotAllowed)
        assert svc.STATUS_WORDS[status] in str(error)
    else:
        done = call()
        assert done.status == fresh(req).status == RESULT[action]
        assert AuditEvent.select().count() > before_audit
        return
    assert fresh(req).status == status, "a refused transition changed nothing"
    assert (AuditEvent.select().count(), Notification.select().count()) == (before_audit, before_notes)


def test_a_coordinator_cannot_review_a_request_they_are_part_of(people, make_member, topics):
    p = people
    review_on()
    coordinating_mentor = make_member(name="Cy Coord", role=User.COORDINATOR, offers=[topics["Leadership"]],
                                      password=None)
    req = ask(p, mentor=coordinating_mentor)
    refused(lambda: svc.approve(coordinating_mentor, req), "cannot review a request you are part of",
            error=NotAllowed)
    assert svc.approve(p.coordinator, req).status == R.PENDING_MENTOR


def test_a_rejection_needs_a_note_and_notes_have_a_limit(people):
    p = people
    review_on()
    req = ask(p)
    refused(lambda: svc.reject(p.coordinator, req, "  "), "Write a short note saying why", field="note")
    refused(lambda: svc.approve(p.coordinator, req, "n" * 1001), "under 1000 characters", field="note")
    svc.approve(p.coordinator, req)
    refused(lambda: svc.decline(p.mentor, req, "n" * 1001), "under 1000 characters", field="note")
    assert svc.decline(p.mentor, req).answer_note == ""


def test_a_missing_request_is_an_error_not_a_crash(people):
    refused(lambda: svc.withdraw(people.mentee, 424242), "This request no longer exists")


def test_only_members_of_a_request_and_coordinators_see_it(people):
    p = people
    req = ask(p)
    assert svc.visible_request(req.id, p.mentee).id == req.id
    assert svc.visible_request(req.id, p.mentor).id == req.id
    assert svc.visible_request(req.id, p.coordinator).id == req.id
    assert svc.visible_request(req.id, p.other) is None
    assert svc.visible_request(424242, p.coordinator) is None


# --- review on and off -------------------------------------------------------------

def test_review_is_off_by_default_and_only_coordinators_switch_it(people):
    p = people
    assert svc.requests_need_review() is False
    refused(lambda: svc.set_requests_need_review(p.mentor, True), "Only coordinators", error=NotAllowed)
    svc.set_requests_need_review(p.coordinator, True)
    assert svc.requests_need_review() is True
    svc.set_requests_need_review(p.coordinator, False)
    assert svc.requests_need_review() is False
    assert ProgramSetting.select().count() == 1
    assert [(e.actor_id, e.action, e.detail) for e in AuditEvent.select().where(AuditEvent.action == "setting.changed")
            .order_by(AuditEvent.id)] == [(p.coordinator.id, "setting.changed", "on"),
                                          (p.coordinator.id, "setting.changed", "off")]


def test_with_review_the_request_waits_for_a_coordinator_then_reaches_the_mentor(people, make_member):
    p = people
    second = make_member(name="Sam Second", role=User.COORDINATOR, password=None)
    make_member(name="Ina Inactive", role=User.COORDINATOR, active=False, password=None)
    svc.set_requests_need_review(p.coordinator, True)
    req = fresh(ask(p, now=T0))
    assert req.status == R.PENDING_REVIEW and req.expires_at is None
    assert notes() == [(p.coordinator.id, notifications.REQUEST_TO_REVIEW),
                       (second.id, notifications.REQUEST_TO_REVIEW)]
    assert Notification.get().subject == "Mel Mentee asks Mona Mentor for mentoring: please review"

    approved_at = T0 + dt.timedelta(days=3)
    svc.approve(second, req, "Good match.", now=approved_at)
    req = fresh(req)
    assert req.status == R.PENDING_MENTOR
    assert (req.reviewed_by_id, req.reviewed_at, req.review_note) == (second.id, approved_at, "Good match.")
    assert req.expires_at == approved_at + dt.timedelta(days=14), "the 14 days start when the mentor is asked"
    assert notes(notifications.REQUEST_RECEIVED) == [(p.mentor.id, notifications.REQUEST_RECEIVED)]
    assert actions(req) == [(p.mentee.id, "request.sent"), (second.id, "request.approved")]


def test_a_rejected_request_tells_the_requester_why(people):
    p = people
    review_on()
    req = offer(p)
    svc.reject(p.coordinator, req, "Mel already has a mentor in this area.", now=T0)
    req = fresh(req)
    assert (req.status, req.reviewed_by_id, req.reviewed_at, req.closed_at) == (R.REJECTED, p.coordinator.id, T0, T0)
    n = Notification.get(Notification.kind == notifications.REQUEST_ANSWERED)
    assert n.recipient_id == p.mentor.id
    assert n.subject == "Your offer to Mel Mentee was not approved"
    assert n.context["note"] == "Mel already has a mentor in this area." and n.context["status"] == R.REJECTED
    assert notes(notifications.REQUEST_RECEIVED) == []


def test_a_coordinator_who_asks_is_not_asked_to_review_their_own_request(people, make_member, topics):
    p = people
    review_on()
    asking_coordinator = make_member(name="Kim Coord", role=User.COORDINATOR, seeks=[topics["Leadership"]],
                                     password=None)
    ask(p, mentee=asking_coordinator)
    assert notes() == [(p.coordinator.id, notifications.REQUEST_TO_REVIEW)]


# --- answers -----------------------------------------------------------------------

def test_accept_starts_a_mentorship_and_keeps_the_mentees_other_requests_open(people, make_member, topics):
    p = people
    elsewhere = ask(p, mentor=make_member(offers=[topics["Leadership"]], password=None))
    req = ask(p, now=T0)
    at = T0 + dt.timedelta(days=2)
    done = svc.accept(p.mentor, req, now=at)
    req = fresh(req)
    assert (req.status, req.answered_at, req.closed_at) == (R.ACCEPTED, at, at)
    m = Mentorship.get()
    assert (req.mentorship_id, m.mentor_id, m.mentee_id, m.status, m.started_at) == (
        m.id, p.mentor.id, p.mentee.id, Mentorship.ACTIVE, at)
    assert done.mentorship_id == m.id
    assert actions(req)[-1] == (p.mentor.id, "request.accepted")
    assert AuditEvent.get(AuditEvent.action == "mentorship.started").target == f"mentorship:{m.id}"
    n = Notification.get(Notification.kind == notifications.REQUEST_ANSWERED)
    assert (n.recipient_id, n.subject) == (p.mentee.id, "Mona Mentor accepted your request")
    assert fresh(elsewhere).status == R.PENDING_MENTOR


def test_accept_counts_capacity_again(people, make_member, topics):
    p = people
    p.mentor.profile.capacity = 1
    p.mentor.profile.save()
    first = ask(p)
    second = ask(p, mentee=p.other, topic_ids=[topics["Python"].id])
    svc.accept(p.mentor, first)
    refused(lambda: svc.accept(p.mentor, second), "You have no free place for a new mentee")
    assert fresh(second).status == R.PENDING_MENTOR
    assert Mentorship.select().count() == 1


def test_accepting_an_offer_when_the_mentor_filled_up_says_so(people, make_member, topics):
    p = people
    p.mentor.profile.capacity = 1
    p.mentor.profile.save()
    req = offer(p)
    Mentorship.create(mentor=p.mentor, mentee=make_member(password=None))
    refused(lambda: svc.accept(p.mentee, req), "Mona Mentor has no free place for a new mentee any more")


def test_decline_with_a_kind_note(people):
    p = people
    req = ask(p)
    svc.decline(p.mentor, req, "  I am full this spring; try Ada, she knows this well.  ", now=T0)
    req = fresh(req)
    assert (req.status, req.answered_at, req.closed_at) == (R.DECLINED, T0, T0)
    assert req.answer_note == "I am full this spring; try Ada, she knows this well."
    n = Notification.get(Notification.kind == notifications.REQUEST_ANSWERED)
    assert (n.recipient_id, n.subject) == (p.mentee.id, "Mona Mentor declined your request")
    assert n.context["note"] == req.answer_note
    assert actions(req)[-1] == (p.mentor.id, "request.declined")
    assert Mentorship.select().count() == 0


def test_withdraw_closes_the_request_quietly(people):
    p = people
    req = ask(p)
    svc.withdraw(p.mentee, req, now=T0)
    req = fresh(req)
    assert (req.status, req.closed_at, req.answered_at) == (R.WITHDRAWN, T0, None)
    assert actions(req)[-1] == (p.mentee.id, "request.withdrawn")
    assert notes() == [(p.mentor.id, notifications.REQUEST_RECEIVED)]


# --- expiry ------------------------------------------------------------------------

def test_no_answer_in_14_days_expires_the_request(people):
    p = people
    req = ask(p, now=T0)
    assert svc.expire_due(T0 + dt.timedelta(days=14, seconds=-1)) == []
    expired = svc.expire_due(T0 + dt.timedelta(days=14))
    assert [r.id for r in expired] == [req.id]
    req = fresh(req)
    assert (req.status, req.closed_at) == (R.EXPIRED, T0 + dt.timedelta(days=14))
    assert actions(req)[-1] == (None, "request.expired")
    n = Notification.get(Notification.kind == notifications.REQUEST_EXPIRED)
    assert (n.recipient_id, n.subject) == (p.mentee.id, "Your request to Mona Mentor expired without an answer")
    assert n.dedupe_key == f"request:{req.id}:request_expired:{p.mentee.id}"
    assert svc.expire_due(T0 + dt.timedelta(days=30)) == [], "running it again changes nothing"
    assert Notification.select().where(Notification.kind == notifications.REQUEST_EXPIRED).count() == 1


def test_expiry_leaves_answered_and_unreviewed_requests_alone(people, make_member, topics):
    p = people
    answered = ask(p, now=T0)
    svc.accept(p.mentor, answered, now=T0 + dt.timedelta(days=13))
    review_on()
    waiting_for_review = ask(p, mentee=p.other, topic_ids=[topics["Python"].id], now=T0)
    assert svc.expire_due(T0 + dt.timedelta(days=20)) == []
    assert fresh(answered).status == R.ACCEPTED
    assert fresh(waiting_for_review).status == R.PENDING_REVIEW


def test_an_expired_offer_tells_the_mentor(people):
    p = people
    offer(p, now=T0)
    svc.expire_due(T0 + dt.timedelta(days=15))
    n = Notification.get(Notification.kind == notifications.REQUEST_EXPIRED)
    assert (n.recipient_id, n.subject) == (p.mentor.id, "Your offer to Mel Mentee expired without an answer")


# --- the outbox ----------------------------------------------------------------------

def test_a_dedupe_key_is_written_once(people):
    p = people
    assert notifications.notify(p.mentee, "test", "Hello", "k:1", context={"a": 1}) is True
    assert notifications.notify(p.mentee, "test", "Hello again", "k:1", context={"a": 2}) is False
    rows = list(Notification.select().where(Notification.dedupe_key == "k:1"))
    assert len(rows) == 1 and rows[0].subject == "Hello" and json.loads(rows[0].body) == {"a": 1}


def test_a_full_journey_writes_one_notification_per_recipient_and_kind(people):
    p = people
    review_on()
    req = ask(p)
    svc.approve(p.coordinator, req)
    svc.accept(p.mentor, req)
    keys = [n.dedupe_key for n in Notification.select().order_by(Notification.id)]
    assert keys == [f"request:{req.id}:request_to_review:{p.coordinator.id}",
                    f"request:{req.id}:request_received:{p.mentor.id}",
                    f"request:{req.id}:request_answered:{p.mentee.id}"]
    assert actions(req) == [(p.mentee.id, "request.sent"), (p.coordinator.id, "request.approved"),
                            (p.mentor.id, "request.accepted")]
    assert RequestTopic.select().where(RequestTopic.request == req).count() == 1


def test_a_refused_transition_rolls_back_everything(people, monkeypatch):
    """The outbox is written in the transaction of the change: a failure leaves neither behind."""
    p = people
    req = ask(p)

    def broken(*args, **kwargs):
        raise RuntimeError("the outbox is down")

    monkeypatch.setattr(notifications, "notify", broken)
    with pytest.raises(RuntimeError):
        svc.accept(p.mentor, req)
    assert fresh(req).status == R.PENDING_MENTOR
    assert Mentorship.select().count() == 0
    assert AuditEvent.select().where(AuditEvent.action.in_(["request.accepted", "mentorship.started"])).count() == 0


# --- capacity under concurrency --------------------------------------------------------

def test_two_accepts_at_once_over_capacity_let_exactly_one_through(people, make_member, topics, monkeypatch):
    """Mona has one place and two requests; she accepts both at the same moment from two tabs.

    Each thread has its own connection. Counting the places is slowed down so that,
    without the write lock, both would count a free place and both would start a
    mentorship."""
    p = people
    p.mentor.profile.capacity = 1
    p.mentor.profile.save()
    first = ask(p)
    second = ask(p, mentee=p.other, topic_ids=[topics["Python"].id])

    real_places_left = svc.places_left
    counted = []

    def slow_places_left(profile):
        left = real_places_left(profile)
        counted.append(left)
        time.sleep(0.3)
        return left

    monkeypatch.setattr(svc, "places_left", slow_places_left)
    barrier = threading.Barrier(2)
    outcomes = {}

    def accept(req):
        with database.connection_context():
            barrier.wait()
            try:
                svc.accept(p.mentor, req.id)
                outcomes[req.id] = "accepted"
            except Exception as error:  # noqa: BLE001 - any failure is reported by the assertions below
                outcomes[req.id] = error

    threads = [threading.Thread(target=accept, args=(req,)) for req in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)

    assert sorted(counted) == [0, 1], "both accepts counted the places, one after the other"
    accepted = [rid for rid, outcome in outcomes.items() if outcome == "accepted"]
    errors = [outcome for outcome in outcomes.values() if outcome != "accepted"]
    assert len(accepted) == 1, outcomes
    assert len(errors) == 1 and isinstance(errors[0], RequestError), outcomes
    assert "no free place" in str(errors[0])
    assert Mentorship.select().where(Mentorship.mentor == p.mentor).count() == 1
    loser = (set(outcomes) - set(accepted)).pop()
    assert ConnectionRequest.get_by_id(loser).status == R.PENDING_MENTOR
    assert ConnectionRequest.get_by_id(accepted[0]).status == R.ACCEPTED
