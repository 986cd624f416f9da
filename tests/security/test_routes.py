"""Who may do what: every route of the url_map, for every role, against one table.

``ROUTES`` below is the only place that says what each route answers to an
anonymous visitor, the member (the owner, where the URL names a member's own
thing), another member, and a coordinator. A route missing from the table fails
the suite with its name; a row whose route is gone fails too. Each response of
the walk also carries the security headers.

Answers: ``OK`` (2xx, or a redirect that is the normal result: anywhere but the
login page), ``LOGIN`` (a redirect to the login page with ``next``), or a status code.
"""
import datetime as dt
from dataclasses import dataclass, field
from typing import Callable

import pytest

from portal import create_app
from portal.mentorships import times
from portal.models import User, utcnow
from securitykit import LOGIN, NEW_PASSWORD, OK, PASSWORD, RULES, fill, header_problems, outcome


@dataclass
class Case:
    anonymous: object
    member: object
    other: object
    coordinator: object
    params: Callable = lambda w: {}            # world -> URL parameters (called once per request)
    data: Callable = lambda w: {}              # world -> form data (called once per request)
    config: dict = field(default_factory=dict)  # app settings for this case
    label: str = ""

    def expected(self, role):
        return getattr(self, role)


def everyone(answer, **kw):
    return Case(answer, answer, answer, answer, **kw)


def members_only(**kw):
    return Case(LOGIN, OK, OK, OK, **kw)


def coordinators_only(answer=OK, **kw):
    return Case(LOGIN, 403, 403, answer, **kw)


OPEN_REGISTRATION = {"ALLOWED_EMAIL_DOMAINS": frozenset({"example.org"})}


def new_account(w):
    return {"name": "New Person", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "time_zone": "UTC"}


def profile_form(w):
    return {"name": "Changed Name", "headline": "New headline", "bio": "Some *bio*", "organization": "Org",
            "job_title": "Engineer", "job_level": "mid", "industry": "technology", "country": "DE",
            "offers_mentoring": "y", "offered_topics": [str(w.topic.id)], "capacity": "2",
            "seeks_mentoring": "y", "sought_topics": [str(w.topic.id)], "time_zone": "Europe/Berlin",
            "languages": ["en"], "meeting_formats": ["video"], "availability_note": "Evenings"}


def request_form(w):
    return {"topics": [str(w.topic.id)], "help_wanted": "I lead a team for the first time and want help.",
            "success_looks_like": "My team runs its weekly meeting without me.", "meeting_format": "video"}


def meeting_form(w):
    """A meeting next week, in the member's zone."""
    day = times.today(w.member.time_zone, utcnow()) + dt.timedelta(days=7)
    return {"date": day.isoformat(), "time": "11:00", "duration": "45", "format": "video",
            "link": "https://meet.example.org/x", "agenda": "Delegation"}


def log_form(w):
    return {"held_on": times.today(w.member.time_zone, utcnow()).isoformat(), "duration": "60",
            "topics": [str(w.topic.id)], "notes": "We talked.", "next_steps": "", "private_note": ""}


def feedback_form(w):
    return {f"meeting-{w.held.id}-{name}": value for name, value in
            (("rating", "4"), ("most_useful", "The checklist"), ("visibility", "partner"))}


def members_notification(w):
    """The member's first notification (the request the other member sent them)."""
    from portal.models import Notification

    return Notification.select().where(Notification.recipient == w.member.id).order_by(Notification.id).first()


def waiting_for_review(w, mentee=None):
    """A fresh request waiting for review (one per call: each role acts on its own), by default the
    other member's to the mentor; ``mentee="coordinator"`` makes it the coordinator's own."""
    from portal.models import ConnectionRequest

    text = "Some words that are long enough for a request prompt."
    mentee = w.coordinator if mentee == "coordinator" else w.other
    return ConnectionRequest.create(requester=mentee, mentee=mentee, mentor=w.mentor, help_wanted=text,
                                    success_looks_like=text, status=ConnectionRequest.PENDING_REVIEW)


def import_form(w):
    """The confirmation of a previewed list of one new address, as the preview page carries it."""
    from portal.coordinator import imports

    source = f"email,name\n{w.fresh_email()},Imported Person\n"
    expected = imports.check(imports.read_csv(source)).fingerprint
    return {"source": source, "kind": "csv", "role": User.MEMBER, "expected": expected}


def fresh_topic(w):
    from portal.models import Topic

    return Topic.create(name=f"Suggested {w.fresh_email()}", approved=False, suggested_by=w.member)


def unsubscribe_token(w):
    """The token of the one-click unsubscribe link of the member's "request received" emails."""
    from portal.links import services as links

    return links.unsubscribe_url(w.member.id, "request_received").rsplit("/", 1)[1]


def away_token(w, used=False):
    """A fresh single-use "away for two weeks" link of the member's (one per call: each role follows its own),
    or one already used."""
    from portal.links import services as links

    token = links.action_url(w.member.id, links.AWAY, None, f"routes-{w.fresh_email()}").rsplit("/", 1)[1]
    if used:
        links.act(links.read_action(token))
    return token


def matching_round(w):
    """A fresh round in matching (one per call: each role acts on its own): Max Mentor proposed for Otto."""
    from portal.models import Round, RoundEntry, RoundProposal

    day = utcnow().date()
    r = Round.create(name=f"Round {w.fresh_email()}", opens_on=day, closes_on=day, starts_on=day, length_weeks=8,
                     status=Round.MATCHING)
    RoundEntry.create(round=r, user=w.mentor, as_mentor=True, capacity=1)
    RoundEntry.create(round=r, user=w.other, as_mentee=True)
    r.proposal = RoundProposal.create(round=r, mentee=w.other, mentor=w.mentor, score=5)
    return r


def a_round(w, status="open"):
    """A fresh round (one per call: each role acts on its own), by default open for sign-ups."""
    from portal.models import Round

    day = utcnow().date()
    return Round.create(name=f"Round {w.fresh_email()}", opens_on=day, closes_on=day + dt.timedelta(days=7),
                        starts_on=day + dt.timedelta(days=14), length_weeks=8, status=status)


def joined_round(w):
    """A fresh open round the mentor has joined (for preferences) and the member too (as a mentee)."""
    from portal.rounds import services as rounds

    r = a_round(w)
    rounds.join(w.mentor, r, True, 1, [w.topic.id], False, [], True)
    rounds.join(w.member, r, False, 0, [], True, [w.topic.id], True)
    return r


def round_form(w):
    day = utcnow().date()
    return {"name": f"Round {w.fresh_email()}", "opens_on": day.isoformat(),
            "closes_on": (day + dt.timedelta(days=7)).isoformat(),
            "starts_on": (day + dt.timedelta(days=14)).isoformat(), "length_weeks": "12"}


def join_form(w):
    return {"as_mentee": "y", "seeks": [str(w.topic.id)], "confirmed": "y"}


def a_proposal(w):
    r = matching_round(w)
    return {"round_id": r.id, "proposal_id": r.proposal.id}


WEIGHTS = {"topics": "1", "seniority": "1", "overlap": "1", "organization": "1", "preference": "2", "action": "preview"}


def failed_email(w):
    """A notification to the member whose email the mail server refused for good."""
    from portal.models import Notification

    return Notification.create(recipient=w.member, kind="request_received", subject="Otto Other asks you for mentoring",
                               dedupe_key=f"routes:{w.fresh_email()}", status=Notification.FAILED, attempts=1,
                               last_error="550 5.1.1 mailbox unavailable")


def pending_deletion(w, user=None):
    """A member who asked to delete their account (a fresh one per call: each role acts on its own), or ``user``."""
    from portal.auth import services as accounts

    user = user or accounts.create_user(w.fresh_email(), "Dan Departing", password=PASSWORD)
    User.update(deletion_requested_at=utcnow()).where(User.id == user.id).execute()
    return user


ROUTES = {
    # --- site
    ("site.index", "GET"): [everyone(OK)],
    ("site.healthz", "GET"): [everyone(OK)],
    ("site.dev_mail", "GET"): [
        everyone(404, label="not in production"),
        everyone(OK, config={"DEV": True}, label="dev"),
        everyone(404, config={"DEV": True, "SMTP_URL": "smtp://127.0.0.1:9"}, label="dev with a mail server"),
    ],
    # --- accounts
    ("auth.login", "GET"): [everyone(OK)],
    ("auth.login", "POST"): [everyone(OK, data=lambda w: {"email": w.member.email, "password": PASSWORD})],
    ("auth.logout", "POST"): [members_only()],
    ("auth.accept_invitation", "GET"): [
        everyone(OK, params=lambda w: {"token": w.invite_token}, label="pending"),
        everyone(404, params=lambda w: {"token": w.used_invite_token}, label="used"),
        everyone(404, params=lambda w: {"token": "not-a-token"}, label="forged"),
    ],
    ("auth.accept_invitation", "POST"): [
        everyone(OK, params=lambda w: {"token": w.invite()[1]}, data=new_account, label="pending"),
        everyone(404, params=lambda w: {"token": w.used_invite_token}, data=new_account, label="used"),
        everyone(404, params=lambda w: {"token": "not-a-token"}, data=new_account, label="forged"),
    ],
    ("auth.register", "GET"): [
        everyone(404, label="closed"),
        everyone(OK, config=OPEN_REGISTRATION, label="open"),
    ],
    ("auth.register", "POST"): [
        everyone(404, data=lambda w: dict(new_account(w), email=w.fresh_email()), label="closed"),
        everyone(OK, data=lambda w: dict(new_account(w), email=w.fresh_email()), config=OPEN_REGISTRATION,
                 label="open"),
    ],
    ("auth.verify", "GET"): [
        everyone(OK, params=lambda w: {"token": w.verify_token}, label="valid"),
        everyone(404, params=lambda w: {"token": w.invite_token}, label="a token for something else"),
    ],
    ("auth.resend_verification", "POST"): [members_only()],
    ("auth.reset_request", "GET"): [everyone(OK)],
    ("auth.reset_request", "POST"): [everyone(OK, data=lambda w: {"email": w.member.email})],
    ("auth.reset_password", "GET"): [
        everyone(OK, params=lambda w: {"token": w.reset_token}, label="valid"),
        everyone(404, params=lambda w: {"token": w.verify_token}, label="a token for something else"),
    ],
    ("auth.reset_password", "POST"): [
        everyone(OK, params=lambda w: {"token": w.fresh_reset_token()},
                 data=lambda w: {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, label="valid"),
        everyone(404, params=lambda w: {"token": "not-a-token"},
                 data=lambda w: {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, label="forged"),
    ],
    ("auth.change_password", "GET"): [members_only()],
    ("auth.change_password", "POST"): [members_only(
        data=lambda w: {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})],
    # --- profiles and browsing
    ("members.wizard", "GET"): [
        members_only(params=lambda w: {"step": 1}, label="step 1"),
        members_only(params=lambda w: {"step": 4}, label="step 4"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"step": 9}, label="no such step"),
    ],
    ("members.wizard", "POST"): [members_only(
        params=lambda w: {"step": 1},
        data=lambda w: {"name": "New Name", "organization": "Org", "job_level": "mid", "industry": "technology",
                        "country": "DE"})],
    ("members.edit_profile", "GET"): [members_only()],
    ("members.edit_profile", "POST"): [members_only(data=profile_form)],
    ("members.profile", "GET"): [
        members_only(params=lambda w: {"member_id": w.member.id}, label="active member"),
        Case(LOGIN, 404, 404, OK, params=lambda w: {"member_id": w.deactivated.id}, label="deactivated member"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"member_id": 999_999}, label="no such member"),
    ],
    ("members.mentors", "GET"): [members_only()],
    # Members who do not mentor see the list too, with how to start.
    ("members.mentees", "GET"): [members_only()],
    # --- privacy: each member's own data and account, nobody else's (no id in the URL)
    ("members.data_export", "GET"): [members_only()],
    ("members.delete_account", "GET"): [members_only()],
    ("members.delete_account", "POST"): [
        members_only(data=lambda w: {"password": PASSWORD}, label="right password"),
        members_only(data=lambda w: {"password": "not the password"}, label="wrong password: the form again"),
    ],
    # Nothing to cancel: they are told so.
    ("members.cancel_deletion", "POST"): [members_only()],
    # --- connection requests
    ("requests.new", "GET"): [
        members_only(params=lambda w: {"member_id": w.member.id}, label="a mentor (the member: themself)"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"member_id": w.deactivated.id}, label="deactivated mentor"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"member_id": 999_999}, label="no such member"),
    ],
    ("requests.new", "POST"): [
        members_only(params=lambda w: {"member_id": w.mentor.id}, data=request_form, label="a mentor"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"member_id": w.deactivated.id}, data=request_form,
             label="deactivated mentor"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"member_id": 999_999}, data=request_form,
             label="no such member"),
    ],
    # The coordinator seeks mentoring: the member (a mentor) offers; the others are told why they cannot.
    ("requests.offer", "GET"): [
        members_only(params=lambda w: {"member_id": w.coordinator.id}, label="a member who seeks mentoring"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"member_id": w.deactivated.id}, label="deactivated member"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"member_id": 999_999}, label="no such member"),
    ],
    ("requests.offer", "POST"): [
        members_only(params=lambda w: {"member_id": w.coordinator.id}, data=request_form,
                     label="a member who seeks mentoring"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"member_id": w.deactivated.id}, data=request_form,
             label="deactivated member"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"member_id": 999_999}, data=request_form,
             label="no such member"),
    ],
    ("requests.index", "GET"): [members_only()],
    ("requests.accept", "POST"): [
        Case(LOGIN, OK, 404, 404, params=lambda w: {"request_id": w.incoming.id}, label="sent to the member"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"request_id": w.outgoing.id}, label="sent by the member"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"request_id": 999_999}, label="no such request"),
    ],
    ("requests.decline", "POST"): [
        Case(LOGIN, OK, 404, 404, params=lambda w: {"request_id": w.incoming.id}, data=lambda w: {"note": "Sorry"},
             label="sent to the member"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"request_id": w.outgoing.id}, label="sent by the member"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"request_id": 999_999}, label="no such request"),
    ],
    ("requests.withdraw", "POST"): [
        Case(LOGIN, OK, 404, 404, params=lambda w: {"request_id": w.outgoing.id}, label="sent by the member"),
        # The other member sent it: theirs to withdraw.
        Case(LOGIN, 404, OK, 404, params=lambda w: {"request_id": w.incoming.id}, label="sent to the member"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"request_id": 999_999}, label="no such request"),
    ],
    # --- the pair's space, pair-level pages: the member mentors w.pair and was mentee of w.ended_pair.
    # Someone outside a pair gets 404 everywhere; coordinators read a pair (403 on what partners change).
    ("mentorships.index", "GET"): [members_only()],
    ("mentorships.pair", "GET"): [
        Case(LOGIN, OK, 404, OK, params=lambda w: {"mentorship_id": w.pair.id}, label="active pair"),
        Case(LOGIN, OK, 404, OK, params=lambda w: {"mentorship_id": w.ended_pair.id}, label="ended pair"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"mentorship_id": 999_999}, label="no such pair"),
    ],
    ("mentorships.goals", "GET"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"mentorship_id": w.pair.id}, label="active pair"),
        # A partner of an ended pair is sent back to its page, which says it can no longer change.
        Case(LOGIN, OK, 404, 403, params=lambda w: {"mentorship_id": w.ended_pair.id}, label="ended pair"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"mentorship_id": 999_999}, label="no such pair"),
    ],
    ("mentorships.goals", "POST"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"mentorship_id": w.pair.id},
             data=lambda w: {"goals": "Lead with *confidence*"}, label="active pair"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"mentorship_id": 999_999},
             data=lambda w: {"goals": "Lead with *confidence*"}, label="no such pair"),
    ],
    ("mentorships.add_milestone", "POST"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"mentorship_id": w.pair.id},
             data=lambda w: {"title": "Give feedback to each report"}, label="active pair"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"mentorship_id": 999_999},
             data=lambda w: {"title": "Give feedback to each report"}, label="no such pair"),
    ],
    # A milestone that is gone (or another pair's): the partner's page says it no longer exists.
    ("mentorships.milestone_done", "POST"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"mentorship_id": w.pair.id, "milestone_id": w.milestone.id},
             data=lambda w: {"done": "yes"}, label="the pair's milestone"),
        Case(LOGIN, OK, 404, 403, params=lambda w: {"mentorship_id": w.pair.id, "milestone_id": 999_999},
             data=lambda w: {"done": "yes"}, label="no such milestone"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"mentorship_id": 999_999, "milestone_id": w.milestone.id},
             data=lambda w: {"done": "yes"}, label="no such pair"),
    ],
    ("mentorships.delete_milestone", "POST"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"mentorship_id": w.pair.id, "milestone_id": w.milestone.id},
             label="the pair's milestone"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"mentorship_id": 999_999, "milestone_id": w.milestone.id},
             label="no such pair"),
    ],
    ("mentorships.end", "GET"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"mentorship_id": w.pair.id}, label="active pair"),
        Case(LOGIN, OK, 404, 403, params=lambda w: {"mentorship_id": w.ended_pair.id}, label="ended pair"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"mentorship_id": 999_999}, label="no such pair"),
    ],
    ("mentorships.end", "POST"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"mentorship_id": w.pair.id},
             data=lambda w: {"reason": "goals_met", "reflection": "Well done."}, label="active pair"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"mentorship_id": 999_999},
             data=lambda w: {"reason": "goals_met"}, label="no such pair"),
    ],
    ("mentorships.reflection", "POST"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"mentorship_id": w.ended_pair.id},
             data=lambda w: {"reflection": "I learnt to say no."}, label="ended pair"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"mentorship_id": 999_999},
             data=lambda w: {"reflection": "I learnt to say no."}, label="no such pair"),
    ],
    ("mentorships.check_in", "GET"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"mentorship_id": w.pair.id}, label="active pair"),
        Case(LOGIN, OK, 404, 403, params=lambda w: {"mentorship_id": w.ended_pair.id}, label="ended pair"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"mentorship_id": 999_999}, label="no such pair"),
    ],
    ("mentorships.check_in", "POST"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"mentorship_id": w.pair.id},
             data=lambda w: {"score": "4", "comment": "Going well."}, label="active pair"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"mentorship_id": 999_999},
             data=lambda w: {"score": "4"}, label="no such pair"),
    ],
    ("mentorships.stay_in_touch", "POST"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"mentorship_id": w.ended_pair.id},
             data=lambda w: {"consent": "yes"}, label="ended pair"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"mentorship_id": 999_999},
             data=lambda w: {"consent": "yes"}, label="no such pair"),
    ],
    # Only a coordinator outside the pair clears its "not a good fit" flag (a pair not flagged: they are told).
    ("mentorships.clear_flag", "POST"): [
        Case(LOGIN, 403, 404, OK, params=lambda w: {"mentorship_id": w.pair.id}, label="the member's pair"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"mentorship_id": 999_999}, label="no such pair"),
    ],
    # --- meetings: w.held (logged by the member, never scheduled) and w.scheduled, both of w.pair. Someone
    # outside the pair gets 404; coordinators read a meeting's page and get 403 on the rest, the .ics too (an
    # invitation is a partner's). A form the meeting no longer allows sends the partner back to it (a redirect).
    ("mentorships.meeting", "GET"): [
        Case(LOGIN, OK, 404, OK, params=lambda w: {"meeting_id": w.held.id}, label="held"),
        Case(LOGIN, OK, 404, OK, params=lambda w: {"meeting_id": w.scheduled.id}, label="scheduled"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"meeting_id": 999_999}, label="no such meeting"),
    ],
    ("mentorships.schedule", "GET"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"mentorship_id": w.pair.id}, label="active pair"),
        Case(LOGIN, OK, 404, 403, params=lambda w: {"mentorship_id": w.ended_pair.id}, label="ended pair"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"mentorship_id": 999_999}, label="no such pair"),
    ],
    ("mentorships.schedule", "POST"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"mentorship_id": w.pair.id}, data=meeting_form,
             label="active pair"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"mentorship_id": 999_999}, data=meeting_form,
             label="no such pair"),
    ],
    ("mentorships.reschedule", "GET"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"meeting_id": w.scheduled.id}, label="scheduled"),
        Case(LOGIN, OK, 404, 403, params=lambda w: {"meeting_id": w.held.id}, label="held"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"meeting_id": 999_999}, label="no such meeting"),
    ],
    ("mentorships.reschedule", "POST"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"meeting_id": w.scheduled.id}, data=meeting_form,
             label="scheduled"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"meeting_id": 999_999}, data=meeting_form,
             label="no such meeting"),
    ],
    ("mentorships.cancel", "POST"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"meeting_id": w.scheduled.id}, label="scheduled"),
        Case(LOGIN, OK, 404, 403, params=lambda w: {"meeting_id": w.held.id}, label="held: the partner is told why"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"meeting_id": 999_999}, label="no such meeting"),
    ],
    ("mentorships.meeting_ics", "GET"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"meeting_id": w.scheduled.id}, label="scheduled"),
        Case(LOGIN, 404, 404, 403, params=lambda w: {"meeting_id": w.held.id}, label="never scheduled"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"meeting_id": 999_999}, label="no such meeting"),
    ],
    ("mentorships.log_unscheduled", "GET"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"mentorship_id": w.pair.id}, label="active pair"),
        Case(LOGIN, OK, 404, 403, params=lambda w: {"mentorship_id": w.ended_pair.id}, label="ended pair"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"mentorship_id": 999_999}, label="no such pair"),
    ],
    ("mentorships.log_unscheduled", "POST"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"mentorship_id": w.pair.id}, data=log_form, label="active pair"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"mentorship_id": 999_999}, data=log_form, label="no such pair"),
    ],
    ("mentorships.log_meeting", "GET"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"meeting_id": w.scheduled.id}, label="scheduled"),
        Case(LOGIN, OK, 404, 403, params=lambda w: {"meeting_id": w.held.id}, label="held"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"meeting_id": 999_999}, label="no such meeting"),
    ],
    ("mentorships.log_meeting", "POST"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"meeting_id": w.scheduled.id}, data=log_form, label="scheduled"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"meeting_id": 999_999}, data=log_form, label="no such meeting"),
    ],
    ("mentorships.edit_log", "GET"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"meeting_id": w.held.id}, label="logged by the member"),
        Case(LOGIN, OK, 404, 403, params=lambda w: {"meeting_id": w.scheduled.id}, label="not logged"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"meeting_id": 999_999}, label="no such meeting"),
    ],
    ("mentorships.edit_log", "POST"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"meeting_id": w.held.id}, data=log_form,
             label="logged by the member"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"meeting_id": 999_999}, data=log_form, label="no such meeting"),
    ],
    ("mentorships.delete_log", "POST"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"meeting_id": w.held.id}, label="logged by the member"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"meeting_id": 999_999}, label="no such meeting"),
    ],
    ("mentorships.private_note", "GET"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"meeting_id": w.held.id}, label="held"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"meeting_id": 999_999}, label="no such meeting"),
    ],
    ("mentorships.private_note", "POST"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"meeting_id": w.held.id},
             data=lambda w: {f"meeting-{w.held.id}-private_note": "Ask about budgets"}, label="held"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"meeting_id": 999_999},
             data=lambda w: {"meeting-999999-private_note": "Ask about budgets"}, label="no such meeting"),
    ],
    ("mentorships.feedback", "GET"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"meeting_id": w.held.id}, label="held"),
        Case(LOGIN, OK, 404, 403, params=lambda w: {"meeting_id": w.scheduled.id}, label="not held yet"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"meeting_id": 999_999}, label="no such meeting"),
    ],
    ("mentorships.feedback", "POST"): [
        Case(LOGIN, OK, 404, 403, params=lambda w: {"meeting_id": w.held.id}, data=feedback_form, label="held"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"meeting_id": 999_999}, data=feedback_form,
             label="no such meeting"),
    ],
    # --- links in emails: the signed token in the URL is the credential, logged in or not, whoever follows it
    ("links.unsubscribe", "GET"): [
        everyone(OK, params=lambda w: {"token": unsubscribe_token(w)}, label="valid"),
        everyone(404, params=lambda w: {"token": "not-a-token"}, label="forged"),
    ],
    # CSRF-exempt (RFC 8058 one-click: mail clients post without our form token), see test_csrf_everywhere.
    ("links.unsubscribe", "POST"): [
        everyone(OK, params=lambda w: {"token": unsubscribe_token(w)}, label="valid"),
        everyone(404, params=lambda w: {"token": "not-a-token"}, label="forged"),
    ],
    ("links.email_action", "GET"): [
        everyone(OK, params=lambda w: {"token": away_token(w)}, label="valid"),
        everyone(404, params=lambda w: {"token": away_token(w, used=True)}, label="used"),
        everyone(404, params=lambda w: {"token": "not-a-token"}, label="forged"),
    ],
    ("links.email_action", "POST"): [
        everyone(OK, params=lambda w: {"token": away_token(w)}, label="valid"),
        everyone(404, params=lambda w: {"token": away_token(w, used=True)}, label="used"),
        everyone(404, params=lambda w: {"token": "not-a-token"}, label="forged"),
    ],
    # --- notifications: everyone lists, counts and marks their own; someone else's notification is not found.
    ("notifications.index", "GET"): [members_only()],
    ("notifications.badge", "GET"): [members_only()],
    ("notifications.read", "POST"): [
        Case(LOGIN, OK, 404, 404, params=lambda w: {"notification_id": members_notification(w).id},
             label="the member's"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"notification_id": 999_999}, label="no such notification"),
    ],
    ("notifications.read_all", "POST"): [members_only()],
    ("notifications.settings", "GET"): [members_only()],
    ("notifications.settings", "POST"): [members_only(
        data=lambda w: {"request_received": "digest", "quiet_from": "22:00", "quiet_until": "07:00",
                        "digest_hour": "8"})],
    # --- coordinators
    ("coordinator.home", "GET"): [coordinators_only()],  # the health dashboard
    ("coordinator.at_risk", "GET"): [coordinators_only()],
    ("coordinator.nudge_pair", "POST"): [
        coordinators_only(params=lambda w: {"mentorship_id": w.pair.id}, label="active pair"),
        coordinators_only(404, params=lambda w: {"mentorship_id": 999_999}, label="no such pair"),
    ],
    ("coordinator.members", "GET"): [coordinators_only()],
    ("coordinator.members", "POST"): [coordinators_only(
        data=lambda w: {"email": w.fresh_email(), "name": "Invited Person", "role": User.MEMBER})],
    ("coordinator.resend_invitation", "POST"): [
        coordinators_only(params=lambda w: {"invitation_id": w.invitation.id}, label="pending"),
        coordinators_only(404, params=lambda w: {"invitation_id": w.accepted_invitation.id}, label="accepted"),
        coordinators_only(404, params=lambda w: {"invitation_id": 999_999}, label="no such invitation"),
    ],
    ("coordinator.deactivate", "POST"): [
        coordinators_only(params=lambda w: {"member_id": w.member.id}, label="the member"),
        coordinators_only(404, params=lambda w: {"member_id": 999_999}, label="no such member"),
    ],
    ("coordinator.reactivate", "POST"): [
        coordinators_only(params=lambda w: {"member_id": w.deactivated.id}, label="deactivated member"),
        coordinators_only(404, params=lambda w: {"member_id": 999_999}, label="no such member"),
    ],
    ("coordinator.topics", "GET"): [coordinators_only()],
    ("coordinator.topics", "POST"): [coordinators_only(data=lambda w: {"name": f"Topic {w.fresh_email()}"})],
    ("coordinator.review_queue", "GET"): [coordinators_only()],
    ("coordinator.approve_request", "POST"): [
        coordinators_only(params=lambda w: {"request_id": waiting_for_review(w).id}, label="waiting for review"),
        coordinators_only(403, params=lambda w: {"request_id": waiting_for_review(w, "coordinator").id},
                          label="the coordinator's own"),
        coordinators_only(404, params=lambda w: {"request_id": 999_999}, label="no such request"),
    ],
    ("coordinator.reject_request", "POST"): [
        coordinators_only(params=lambda w: {"request_id": waiting_for_review(w).id}, data=lambda w: {"note": "No."},
                          label="waiting for review"),
        coordinators_only(403, params=lambda w: {"request_id": waiting_for_review(w, "coordinator").id},
                          data=lambda w: {"note": "No."}, label="the coordinator's own"),
        coordinators_only(404, params=lambda w: {"request_id": 999_999}, data=lambda w: {"note": "No."},
                          label="no such request"),
    ],
    ("coordinator.approve_selected", "POST"): [
        coordinators_only(data=lambda w: {"ids": [str(waiting_for_review(w).id)]})],
    # Pairs, admin match, ending a pair, exports and the audit log (issue 7).
    ("coordinator.pairs", "GET"): [coordinators_only()],
    ("coordinator.new_pair", "GET"): [coordinators_only()],
    ("coordinator.new_pair", "POST"): [
        coordinators_only(data=lambda w: {"mentor": w.mentor.id, "mentee": w.other.id}, label="a pair to make"),
        coordinators_only(data=lambda w: {"mentor": w.other.id, "mentee": w.mentor.id}, label="refused: told why"),
    ],
    ("coordinator.end_pair", "GET"): [
        coordinators_only(params=lambda w: {"mentorship_id": w.pair.id}, label="a pair"),
        coordinators_only(404, params=lambda w: {"mentorship_id": 999_999}, label="no such pair"),
    ],
    ("coordinator.end_pair", "POST"): [
        coordinators_only(params=lambda w: {"mentorship_id": w.pair.id},
                          data=lambda w: {"reason": "other", "note": "The program ends this pair."}, label="a pair"),
        coordinators_only(404, params=lambda w: {"mentorship_id": 999_999},
                          data=lambda w: {"reason": "other", "note": "The program ends this pair."},
                          label="no such pair"),
    ],
    ("coordinator.exports_page", "GET"): [coordinators_only()],
    ("coordinator.export", "GET"): [
        *(coordinators_only(params=lambda w, name=name: {"name": name}, label=name)
          for name in ("members", "requests", "pairs", "meetings", "feedback")),
        coordinators_only(404, params=lambda w: {"name": "secrets"}, label="no such export"),
    ],
    ("coordinator.audit", "GET"): [coordinators_only()],
    ("coordinator.settings", "GET"): [coordinators_only()],
    ("coordinator.settings", "POST"): [coordinators_only(data=lambda w: {"requests_need_review": "y"})],
    ("coordinator.failed_notifications", "GET"): [coordinators_only()],
    ("coordinator.retry_notification", "POST"): [
        coordinators_only(params=lambda w: {"notification_id": failed_email(w).id}, label="failed"),
        coordinators_only(404, params=lambda w: {"notification_id": 999_999}, label="no such notification"),
    ],
    ("coordinator.deletions", "GET"): [coordinators_only()],
    ("coordinator.confirm_deletion", "POST"): [
        coordinators_only(params=lambda w: {"member_id": pending_deletion(w).id}, label="pending"),
        coordinators_only(403, params=lambda w: {"member_id": pending_deletion(w, w.coordinator).id},
                          label="the coordinator's own"),
        coordinators_only(404, params=lambda w: {"member_id": w.other.id}, label="not pending"),
        coordinators_only(404, params=lambda w: {"member_id": 999_999}, label="no such member"),
    ],
    ("coordinator.approve_topic", "POST"): [
        # The member suggested this topic: approving it is still the coordinators' job.
        coordinators_only(params=lambda w: {"topic_id": w.suggestion.id}, label="a member's suggestion"),
        coordinators_only(404, params=lambda w: {"topic_id": 999_999}, label="no such topic"),
    ],
    # --- members: bulk invitations, roles, topic vocabulary (issue 7)
    ("coordinator.import_template", "GET"): [coordinators_only()],
    ("coordinator.import_members", "GET"): [coordinators_only()],
    ("coordinator.import_members", "POST"): [coordinators_only(data=lambda w: {"emails": w.fresh_email(),
                                                                               "role": User.MEMBER})],
    ("coordinator.confirm_import", "POST"): [coordinators_only(data=import_form)],
    ("coordinator.set_role", "POST"): [
        coordinators_only(params=lambda w: {"member_id": w.other.id}, data=lambda w: {"role": User.COORDINATOR},
                          label="another member"),
        coordinators_only(404, params=lambda w: {"member_id": 999_999}, data=lambda w: {"role": User.COORDINATOR},
                          label="no such member"),
    ],
    ("coordinator.rename_topic", "POST"): [
        coordinators_only(params=lambda w: {"topic_id": w.suggestion.id},
                          data=lambda w: {"new_name": f"Topic {w.fresh_email()}"}, label="a member's suggestion"),
        coordinators_only(404, params=lambda w: {"topic_id": 999_999}, data=lambda w: {"new_name": "Anything"},
                          label="no such topic"),
    ],
    ("coordinator.merge_topic", "POST"): [
        # A fresh suggestion per request: each role merges its own into the program's topic.
        coordinators_only(params=lambda w: {"topic_id": fresh_topic(w).id}, data=lambda w: {"into": str(w.topic.id)},
                          label="a fresh topic"),
        coordinators_only(404, params=lambda w: {"topic_id": 999_999}, data=lambda w: {"into": str(w.topic.id)},
                          label="no such topic"),
    ],
    # --- pairing rounds: members opt in while a round is open; another round (a draft, one in matching, none) is
    # not found. The member search answers everyone; a preference or list change without an entry is refused.
    ("rounds.index", "GET"): [members_only()],
    ("rounds.join", "GET"): [
        members_only(params=lambda w: {"round_id": a_round(w).id}, label="open"),
        members_only(params=lambda w: {"round_id": joined_round(w).id}, label="joined"),
        *(Case(LOGIN, 404, 404, 404, params=lambda w, status=status: {"round_id": a_round(w, status).id},
               label=status) for status in ("draft", "matching", "published", "closed")),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"round_id": 999_999}, label="no such round"),
    ],
    ("rounds.join", "POST"): [
        members_only(params=lambda w: {"round_id": a_round(w).id}, data=join_form, label="open"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"round_id": a_round(w, "draft").id}, data=join_form,
             label="draft"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"round_id": 999_999}, data=join_form, label="no such round"),
    ],
    ("rounds.leave", "POST"): [
        members_only(params=lambda w: {"round_id": joined_round(w).id}, label="open"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"round_id": a_round(w, "matching").id}, label="matching"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"round_id": 999_999}, label="no such round"),
    ],
    ("rounds.preference", "POST"): [
        members_only(params=lambda w: {"round_id": joined_round(w).id}, data=lambda w: {"mentor": w.mentor.id},
                     label="open"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"round_id": a_round(w, "matching").id},
             data=lambda w: {"mentor": w.mentor.id}, label="matching"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"round_id": 999_999}, data=lambda w: {"mentor": w.mentor.id},
             label="no such round"),
    ],
    ("rounds.exclusion", "POST"): [
        members_only(params=lambda w: {"round_id": joined_round(w).id}, data=lambda w: {"other": w.other.id},
                     label="open"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"round_id": a_round(w, "draft").id},
             data=lambda w: {"other": w.other.id}, label="draft"),
        Case(LOGIN, 404, 404, 404, params=lambda w: {"round_id": 999_999}, data=lambda w: {"other": w.other.id},
             label="no such round"),
    ],
    # --- pairing rounds: coordinators create, edit and move rounds along (issue 8)
    ("rounds.manage", "GET"): [coordinators_only()],
    ("rounds.new", "GET"): [coordinators_only()],
    ("rounds.new", "POST"): [coordinators_only(data=round_form)],
    ("rounds.edit", "GET"): [
        coordinators_only(params=lambda w: {"round_id": a_round(w, "draft").id}, label="draft"),
        coordinators_only(params=lambda w: {"round_id": a_round(w, "matching").id}, label="matching: told why not"),
        coordinators_only(404, params=lambda w: {"round_id": 999_999}, label="no such round"),
    ],
    ("rounds.edit", "POST"): [
        coordinators_only(params=lambda w: {"round_id": a_round(w, "draft").id}, data=round_form, label="draft"),
        coordinators_only(404, params=lambda w: {"round_id": 999_999}, data=round_form, label="no such round"),
    ],
    ("rounds.set_status", "POST"): [
        coordinators_only(params=lambda w: {"round_id": a_round(w, "draft").id}, data=lambda w: {"to": "open"},
                          label="open a draft"),
        coordinators_only(params=lambda w: {"round_id": a_round(w, "draft").id}, data=lambda w: {"to": "closed"},
                          label="refused: told why"),
        coordinators_only(404, params=lambda w: {"round_id": 999_999}, data=lambda w: {"to": "open"},
                          label="no such round"),
    ],
    # --- pairing rounds: reviewing and publishing the proposals (issue 8)
    ("rounds.proposals", "GET"): [
        coordinators_only(params=lambda w: {"round_id": matching_round(w).id}, label="matching"),
        coordinators_only(404, params=lambda w: {"round_id": 999_999}, label="no such round"),
    ],
    **{(endpoint, "POST"): [
        coordinators_only(params=lambda w: {"round_id": matching_round(w).id}, label="matching"),
        coordinators_only(404, params=lambda w: {"round_id": 999_999}, label="no such round"),
    ] for endpoint in ("rounds.run", "rounds.swap", "rounds.publish")},
    ("rounds.weights", "POST"): [
        coordinators_only(params=lambda w: {"round_id": matching_round(w).id}, data=lambda w: dict(WEIGHTS),
                          label="preview"),
        coordinators_only(404, params=lambda w: {"round_id": 999_999}, data=lambda w: dict(WEIGHTS),
                          label="no such round"),
    ],
    **{(endpoint, "POST"): [
        coordinators_only(params=lambda w: a_proposal(w), label="a proposal"),
        coordinators_only(404, params=lambda w: {"round_id": matching_round(w).id, "proposal_id": 999_999},
                          label="no such proposal"),
        coordinators_only(404, params=lambda w: {**a_proposal(w), "round_id": matching_round(w).id},
                          label="another round's proposal"),
    ] for endpoint in ("rounds.lock", "rounds.unlock", "rounds.forbid")},
}

ORDER = ("anonymous", "other", "member", "coordinator")  # the owner acts after the other member


def test_route_answers_each_role_as_the_table_says(route_case, app, world):
    endpoint, method, number = route_case
    cases = ROUTES.get((endpoint, method))
    if number is None:
        if cases is None:
            pytest.fail(f"route {endpoint} {method} ({RULES[endpoint].rule}) has no row in ROUTES of "
                        "tests/security/test_routes.py: say what it answers to each role")
        pytest.fail(f"ROUTES has a row for {endpoint} {method}, which the portal no longer has: remove it")
    case = cases[number]
    app.config.update(case.config)
    rule = RULES[endpoint]
    problems = []
    for role in ORDER:
        path = fill(rule, case.params(world))
        response = world.client(role).open(path, method=method, data=case.data(world) if method != "GET" else None)
        got = outcome(response)
        if got != case.expected(role):
            problems.append(f"{role}: {method} {path} answered {got} ({response.status_code} "
                            f"{response.headers.get('Location', '')}), the table says {case.expected(role)}")
        problems += [f"{role}: {method} {path}: {p}" for p in header_problems(response)]
    assert not problems, "\n".join(problems)


def test_every_route_of_the_running_app_is_in_the_table(app):
    """The same check on the app the fixtures build (collection used an app of its own)."""
    from securitykit import route_keys

    endpoints = [rule.endpoint for rule in app.url_map.iter_rules()]
    assert len(endpoints) == len(set(endpoints)), "an endpoint with two URLs: give ROUTES a way to name each"
    missing, stale = route_keys(app) - set(ROUTES), set(ROUTES) - route_keys(app)
    assert not missing, f"routes without a row in ROUTES: {sorted(missing)}"
    assert not stale, f"rows of ROUTES whose route is gone: {sorted(stale)}"


def test_cookies_are_secure_httponly_and_samesite_over_https(app, make_member):
    make_member(email="me@example.org")
    https_app = create_app({key: app.config[key] for key in (
        "TESTING", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "MAIL_DIR", "WTF_CSRF_ENABLED")}
        | {"BASE_URL": "https://mentoring.example.org"})
    client = https_app.test_client()
    response = client.post("/login", data={"email": "me@example.org", "password": PASSWORD, "remember": "y"},
                           base_url="https://mentoring.example.org")
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    assert {c.split("=")[0] for c in cookies} >= {"session", "remember_token"}
    for cookie in cookies:
        flags = [part.strip().lower() for part in cookie.split(";")[1:]]
        assert "secure" in flags and "httponly" in flags and "samesite=lax" in flags, cookie
    assert header_problems(response, https=True) == []
