"""Private data stays private: a canary in every private field, looked for everywhere.

A unique string (a canary) is put into each private field that exists. Then
every GET route of the url_map is crawled with real ids (every value
``World.values`` knows for each URL parameter), plus the htmx partials, as each
role; and every mail the portal wrote is read. A canary may turn up only for
the roles, and in the mail of the addresses, that may see it.

Adding a private field (later issues: request prompts, feedback kept for
coordinators, meeting notes, ...): write a function ``plant_…(world)`` that puts a
fresh canary into the field the way the portal stores it, and returns a
``Private`` naming the canary strings, the roles that may see them
(``member`` is the owner of the data, ``coordinator`` any coordinator; the other
member and anonymous visitors never may), the addresses whose mail may carry
them, and the roles that must see it somewhere (so the test knows the canary is
where it thinks). Append the function to ``PLANTERS``. A new GET route is crawled
by itself; if it takes a new URL parameter, give ``World.values`` real values for it.
"""
import datetime as dt
import itertools
import secrets
from dataclasses import dataclass, field

import pytest

import jobs
from portal import mail
from portal.mentorships import services as mentorships
from portal.mentorships import times
from portal.models import Feedback, Invitation, Meeting, ProfileTopic, Topic, User, utcnow
from portal.notifications.sweep import sweep
from portal.requests import services as requests
from securitykit import NEW_PASSWORD, ROLES, RULES, fill


@dataclass
class Private:
    what: str
    values: list
    may_see: set = field(default_factory=set)    # roles: "member" (the owner), "coordinator"
    mail_to: set = field(default_factory=set)    # addresses whose mail may carry it
    shown_to: set = field(default_factory=set)   # roles that must find it somewhere


def canary(kind):
    return f"canary{kind}{secrets.token_hex(6)}"


def plant_email(w):
    email = f"{canary('mail')}@example.org"
    User.update(email=email).where(User.id == w.member.id).execute()
    w.member = User.get_by_id(w.member.id)
    return Private("the member's email address", [email], {"member", "coordinator"}, {email}, {"coordinator"})


def plant_password_hash(w):
    user = User.get_by_id(w.member.id)
    digest = user.password_hash.rsplit("$", 1)[-1]
    salt = user.password_hash.split("$")[-2]
    return Private("the member's password hash", [user.password_hash, digest, salt])


def plant_session_token(w):
    token = canary("session")
    User.update(session_token=token).where(User.id == w.member.id).execute()
    return Private("the member's session token", [token])


def plant_suggested_topic(w):
    name = f"Canary topic {canary('topic')}"
    topic = Topic.create(name=name, approved=False, suggested_by=w.member)
    for kind in (ProfileTopic.OFFERS, ProfileTopic.SEEKS):
        ProfileTopic.create(profile=w.member.id, topic=topic, kind=kind)
    return Private("a topic the member suggested, not yet approved", [name], {"member", "coordinator"},
                   set(), {"member", "coordinator"})


def plant_pending_invitation(w):
    email = f"{canary('invitee')}@example.org"
    invitation, token = w.invite(email, name="Ivy Invited")
    assert Invitation.get_by_id(invitation.id).accepted_at is None
    return Private("a pending invitation's address and token", [email, token], {"coordinator"}, {email},
                   {"coordinator"})


def plant_reset_token(w):
    token = w.fresh_reset_token(User.get_by_id(w.member.id))
    return Private("the member's password reset link", [token], set(), {User.get_by_id(w.member.id).email})


def plant_request_texts(w):
    """The prompts of two requests the member sent to the mentor, the mentor's note declining the
    first and a coordinator's note rejecting the second: theirs, and the coordinators'."""
    token = {name: canary(name.replace("_", "")) for name in ("help_wanted", "success_looks_like", "answer_note",
                                                               "review_note", "help_again", "success_again")}
    requests.withdraw(w.member, w.outgoing)  # one open request per pair: make room for these
    first = requests.send_request(w.member, w.mentor, [w.topic.id], f"I would like help: {token['help_wanted']}",
                                  f"Success would be {token['success_looks_like']}", "video")
    requests.decline(w.mentor, first, f"Sorry: {token['answer_note']}")
    requests.set_requests_need_review(w.coordinator, True)
    second = requests.send_request(w.member, w.mentor, [w.topic.id], f"I would like help: {token['help_again']}",
                                   f"Success would be {token['success_again']}", "video")
    requests.reject(w.coordinator, second, f"Not this way: {token['review_note']}")
    requests.set_requests_need_review(w.coordinator, False)
    return Private("a request's prompts and the notes answering it", list(token.values()), {"member", "coordinator"},
                   {User.get_by_id(w.member.id).email, w.mentor.email, w.coordinator.email}, {"member"})


def plant_request_waiting_for_review(w):
    """The prompts of the member's request while it waits in the coordinators' review queue."""
    from portal.models import ConnectionRequest

    help_wanted, success = f"Help me with {canary('waitinghelp')}", f"Success is {canary('waitingsuccess')}"
    ConnectionRequest.create(requester=w.member, mentee=w.member, mentor=w.mentor, help_wanted=help_wanted,
                             success_looks_like=success, status=ConnectionRequest.PENDING_REVIEW)
    return Private("the prompts of a request waiting for review", [help_wanted, success], {"member", "coordinator"},
                   {User.get_by_id(w.member.id).email, w.mentor.email}, {"member", "coordinator"})


def plant_pair_goals_and_milestones(w):
    """The goals of the member's pair and the milestones both partners added: the pair's, and the coordinators'."""
    goals, mine, theirs = canary("goals"), canary("milestone"), canary("partnermilestone")
    mentorships.update_goals(w.member, w.pair, f"Our goals:\n\n- lead with *care* {goals}")
    mentorships.add_milestone(w.member, w.pair, f"Milestone {mine}")
    mentorships.add_milestone(w.partner, w.pair, f"Milestone {theirs}")
    return Private("a pair's goals and milestones", [goals, mine, theirs], {"member", "coordinator"}, set(),
                   {"member", "coordinator"})


def plant_closing_reflections(w):
    """Both partners' closing reflections on the member's ended pair."""
    mine, theirs = canary("reflection"), canary("formerreflection")
    mentorships.write_reflection(w.member, w.ended_pair, f"I learnt to say no. {mine}")
    mentorships.write_reflection(w.former, w.ended_pair, f"Mia grew so much. {theirs}")
    return Private("the closing reflections of an ended pair", [mine, theirs], {"member", "coordinator"}, set(),
                   {"member", "coordinator"})


def _held_meeting(w):
    """A meeting of the member's pair, logged today by the member (each planter writes on its own)."""
    return mentorships.log_meeting(w.member, w.pair, times.today(w.member.time_zone, utcnow()), 30, [w.topic.id])


def plant_meeting_texts(w):
    """What the partners share of their meetings: an agenda (in both invitations too), a log's notes and next
    steps, and the partner's feedback shared with the member: the pair's, and the coordinators'."""
    agenda, notes, steps, shared = canary("agenda"), canary("notes"), canary("nextsteps"), canary("sharedfeedback")
    day = times.today(w.member.time_zone, utcnow()) + dt.timedelta(days=8)
    mentorships.schedule_meeting(w.member, w.pair, day, dt.time(9, 30), 60, "video", agenda=f"We plan {agenda}")
    held = _held_meeting(w)
    mentorships.edit_log(w.member, held, held.held_on, 45, notes=f"We *talked* {notes}", next_steps=f"Then {steps}")
    mentorships.give_feedback(w.partner, held, 5, f"Useful {shared}", Feedback.PARTNER)
    return Private("a meeting's agenda, notes, next steps and shared feedback", [agenda, notes, steps, shared],
                   {"member", "coordinator"}, {User.get_by_id(w.member.id).email, w.partner.email},
                   {"member", "coordinator"})


def plant_own_private_note(w):
    """The member's private note on a meeting: theirs alone, not even the coordinators'."""
    note = canary("privatenote")
    mentorships.set_private_note(w.member, w.held, f"I felt {note}")
    return Private("the member's private note", [note], {"member"}, set(), {"member"})


def plant_partners_private_note(w):
    """The partner's private note on a meeting of the member's: nobody else ever sees it, the member least."""
    note = canary("partnernote")
    mentorships.set_private_note(w.partner, w.held, f"I felt {note}")
    return Private("the partner's private note", [note])


def plant_partners_coordinators_only_feedback(w):
    """The partner's feedback for coordinators only (and its "not a good fit"): the member must not even learn
    it exists."""
    comment = canary("coordinatorsonly")
    mentorships.give_feedback(w.partner, _held_meeting(w), 1, f"Hard to talk {comment}", Feedback.COORDINATORS)
    return Private("the partner's coordinators-only feedback", [comment], {"coordinator"}, set(), {"coordinator"})


def plant_own_coordinators_only_feedback(w):
    comment = canary("mycoordinatorsonly")
    mentorships.give_feedback(w.member, _held_meeting(w), 2, f"Unsure {comment}", Feedback.COORDINATORS)
    return Private("the member's coordinators-only feedback", [comment], {"member", "coordinator"}, set(),
                   {"member", "coordinator"})


def plant_partners_check_in(w):
    """The partner's check-in (score and comment, DESIGN §6): the coordinators', never the member's."""
    comment = canary("checkin")
    pair = mentorships.visible_mentorship(w.pair.id, w.partner)
    mentorships.answer_check_in(w.partner, w.pair, 2, f"Slow going {comment}",
                                now=pair.started_at + mentorships.CHECK_IN_FIRST)
    return Private("the partner's check-in", [comment], {"coordinator"}, set(), {"coordinator"})


def plant_notification(w):
    """A notification to the member: an item of their list (and the subject of their email), nobody else's."""
    from portal.notifications import services as notifications

    subject = f"News for you {canary('notification')}"
    notifications.notify(w.member.id, notifications.REQUEST_RECEIVED, subject, f"canary:{subject}",
                         context={"request_id": w.incoming.id})
    return Private("a notification's subject", [subject], {"member"}, {User.get_by_id(w.member.id).email}, {"member"})


PLANTERS = [plant_email, plant_password_hash, plant_session_token, plant_suggested_topic, plant_pending_invitation,
            plant_reset_token, plant_request_texts, plant_request_waiting_for_review, plant_pair_goals_and_milestones,
            plant_closing_reflections, plant_meeting_texts, plant_own_private_note, plant_partners_private_note,
            plant_partners_coordinators_only_feedback, plant_own_coordinators_only_feedback, plant_notification,
            plant_partners_check_in]


def paths(world):
    """Every GET route with every combination of real values for its parameters."""
    for endpoint, rule in sorted(RULES.items()):
        if endpoint == "static" or "GET" not in rule.methods:
            continue
        names = sorted(rule.arguments)
        for combination in itertools.product(*(world.values(name) for name in names)):
            yield fill(rule, dict(zip(names, combination))), {}


def htmx_variants(world):
    """The partials htmx asks for: the result lists of /mentors and /mentees, with each sort and filter,
    and the parts of a pair's page (goals, the goals form, milestones)."""
    partial = {"HX-Request": "true", "HX-Target": "results"}
    for query in ("", "?sort=name", "?sort=recent", "?show_full=y", f"?topic={world.topic.id}",
                  f"?q={world.member.name.split()[0]}", "?q=Leadership&show_full=y&sort=name"):
        for path in ("/mentors", "/mentees"):
            yield f"{path}{query}", partial
            yield f"{path}{query}", {}
    for pair in world.values("mentorship_id"):
        for path, part in ((f"/mentorships/{pair}", "goals"), (f"/mentorships/{pair}", "milestones"),
                           (f"/mentorships/{pair}/goals", "goals")):
            yield path, {"HX-Request": "true", "HX-Target": part}


def meeting_pages(world):
    """Every page of each meeting of the member's pairs (the planters add some), its .ics, and its timeline
    item as htmx asks for it: alone, with the feedback form, with the private note form."""
    for meeting in Meeting.select(Meeting.id).where(Meeting.mentorship.in_([world.pair.id, world.ended_pair.id])):
        item = {"HX-Request": "true", "HX-Target": f"meeting-{meeting.id}"}
        for path in (f"/meetings/{meeting.id}", f"/meetings/{meeting.id}/feedback", f"/meetings/{meeting.id}/note"):
            yield path, {}
            yield path, item
        yield f"/meetings/{meeting.id}/log/edit", {}
        yield f"/meetings/{meeting.id}.ics", {}


def crawl(world, role):
    """(where, text) of every page the role can reach: bodies and headers."""
    client = world.client(role)
    for path, headers in itertools.chain(paths(world), htmx_variants(world), meeting_pages(world)):
        response = client.get(path, headers=headers)
        text = response.get_data(as_text=True) + "\n" + str(response.headers)
        yield f"{role} GET {path}{' (htmx)' if headers else ''} -> {response.status_code}", text


def trigger_mail_to_others(world):
    """Mail the portal writes to people other than the owner: resets, invitations, registrations, meetings."""
    world.app.config["ALLOWED_EMAIL_DOMAINS"] = frozenset({"example.org"})
    client = world.app.test_client()
    client.post("/password/reset", data={"email": world.other.email})
    client.post("/register", data={"name": "Otto Again", "email": world.other.email, "password": NEW_PASSWORD,
                                   "confirm": NEW_PASSWORD})
    client.post("/register", data={"name": "Nora New", "email": "nora@example.org", "password": NEW_PASSWORD,
                                   "confirm": NEW_PASSWORD})
    world.client("coordinator").post("/coordinator/members", data={"email": "newbie@example.org", "name": "Newbie",
                                                                   "role": "member"})
    world.client("coordinator").post(f"/coordinator/invitations/{world.invitation.id}/resend")
    # The invitations to the member's meetings, to both partners, as the delivery job sends them.
    with world.app.test_request_context():
        for meeting in Meeting.select().where((Meeting.mentorship == world.pair.id) & Meeting.starts_at.is_null(False)):
            for partner in (world.member.id, world.partner.id):
                mail.send(mail.meeting_message(meeting, User.get_by_id(partner)))
    # Everything in the outbox, delivered by the in-process worker (the embedded default).
    world.app.config["REDIS_URL"] = None
    jobs.init_app(world.app)
    assert sweep().enqueued
    jobs.drain()


def test_private_data_shows_only_to_who_may_see_it(world, mailbox):
    secrets_ = [plant(world) for plant in PLANTERS]
    leaks, found = [], set()
    reached_owner = False
    for role in ROLES:
        for where, text in crawl(world, role):
            reached_owner |= role == "other" and world.member.name in text
            for private in secrets_:
                for value in private.values:
                    if value in text:
                        found.add((private.what, role))
                        if role not in private.may_see:
                            leaks.append(f"{private.what} ({value[:24]}…) shows to {where}")
    assert reached_owner, "the crawl as another member never saw the owner's profile: it proves nothing"

    trigger_mail_to_others(world)
    messages = mailbox.messages
    assert any(m["To"].addresses[0].addr_spec == world.other.email for m in messages)
    for message in messages:
        recipient = message["To"].addresses[0].addr_spec
        text = "\n".join([str(message.items())] + [part.get_content() for part in message.walk()
                                                    if part.get_content_maintype() == "text"])
        for private in secrets_:
            if recipient in private.mail_to:
                continue
            for value in private.values:
                if value in text:
                    leaks.append(f"{private.what} is in the mail {message['Subject']!r} to {recipient}")
    assert not leaks, "\n".join(leaks)
    for private in secrets_:
        for role in private.shown_to:
            assert (private.what, role) in found, f"{private.what} never showed to {role}: is the canary in place?"


def test_a_private_topic_does_not_find_the_member_who_suggested_it(world):
    private = plant_suggested_topic(world)
    word = private.values[0].split()[-1]
    for role in ("other", "coordinator"):
        page = world.client(role).get("/mentors", query_string={"q": word, "show_full": "y"}).get_data(as_text=True)
        assert "0 mentors found" in page and world.member.name not in page, role
    # ...while an approved topic does (the search itself works).
    page = world.client("other").get("/mentors", query_string={"q": "Leadership"}).get_data(as_text=True)
    assert world.member.name in page


@pytest.mark.parametrize("role", ["other", "anonymous"])
def test_the_deactivated_member_is_not_shown(world, role):
    """A deactivated member's profile is gone for members (coordinators still see it)."""
    assert world.deactivated.name not in "".join(text for _, text in crawl(world, role))
    assert world.deactivated.name in world.client("coordinator").get(f"/members/{world.deactivated.id}").get_data(
        as_text=True)
