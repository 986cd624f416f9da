"""Privacy (issue 7): a member's data export and the deletion of their account.

The story: Mia is mentored by Pia (an active pair with goals, a milestone, a held meeting, a
meeting to come, notes, feedback both ways, check-ins) and mentors nobody yet; Rex has asked Mia
for mentoring (open), Max declined Mia's earlier request with a note, and Mia's request to Nia is
open. Otto and Olga are another pair; Cora and Carl coordinate. Canaries (unique strings) sit in
what Mia may never take away: Pia's private note, Pia's coordinators-only feedback, Pia's check-in,
Pia's email, the other pair's notes, Mia's own password hash and session token.
"""
import datetime as dt
import json
import re
import secrets
from types import SimpleNamespace

import pytest

from portal.auth import services as accounts
from portal.coordinator import dashboard
from portal.members import privacy
from portal.mentorships import services as mentorships
from portal.mentorships import times
from portal.models import (
    ALL_MODELS,
    AuditEvent,
    CheckIn,
    ConnectionRequest,
    Feedback,
    Invitation,
    Meeting,
    MeetingTopic,
    Mentorship,
    Milestone,
    Notification,
    NotificationPreference,
    PrivateNote,
    Profile,
    ProfileLanguage,
    ProfileTopic,
    ProgramSetting,
    RequestTopic,
    Round,
    RoundEntry,
    RoundEntryTopic,
    RoundExclusion,
    RoundForbidden,
    RoundPreference,
    RoundProposal,
    Topic,
    UsedLink,
    User,
    utcnow,
)
from portal.notifications import services as notifications
from portal.requests import services as requests

from pagekit import PASSWORD, log_in

HELP = "I lead a team of four for the first time and want to do it well."
SUCCESS = "Our weekly meeting runs itself and I delegate without worrying."
R = ConnectionRequest


def canary(kind):
    return f"canary{kind}{secrets.token_hex(5)}"


def start_pair(mentor, mentee, topic, now):
    req = requests.send_request(mentee, mentor, [topic.id], HELP, SUCCESS, "video", now=now)
    return Mentorship.get_by_id(requests.accept(mentor, req, now=now).mentorship_id)


def add_meetings(s, pair, author, partner, count):
    """``count`` more held meetings of ``pair``, each with notes, a private note and feedback both ways."""
    for n in range(count):
        day = times.today(author.time_zone, utcnow()) - dt.timedelta(days=n + 2)
        meeting = mentorships.log_meeting(author, pair, day, 30, [s.topic.id], f"Notes {n}", f"Steps {n}",
                                          f"Private {n}")
        mentorships.give_feedback(author, meeting, 4, f"Mine {n}", Feedback.PARTNER)
        mentorships.give_feedback(partner, meeting, 3, f"Theirs {n}", Feedback.PARTNER)


@pytest.fixture
def s(make_member, topics, db):
    t = topics["Leadership"]
    now = utcnow()
    start = now - dt.timedelta(days=40)
    c = SimpleNamespace(topic=t, secret={})
    c.cora = make_member(name="Cora Coordinator", email="cora@example.org", role=User.COORDINATOR)
    c.carl = make_member(name="Carl Coordinator", email="carl@example.org", role=User.COORDINATOR)
    c.mia = make_member(name="Mia Member", email="mia@example.org", seeks=[t], offers=[topics["Python"]],
                        capacity=1, time_zone="Europe/Berlin", bio="I grow *tomatoes*.")
    c.pia = make_member(name="Pia Partner", email=f"{canary('piamail')}@example.org", offers=[t], capacity=2,
                        time_zone="America/New_York")
    c.max = make_member(name="Max Mentor", email="max@example.org", offers=[t])
    c.nia = make_member(name="Nia Mentor", email="nia@example.org", offers=[t])
    c.rex = make_member(name="Rex Requester", email="rex@example.org", seeks=[topics["Python"]])
    c.otto = make_member(name="Otto Other", email="otto@example.org", offers=[t])
    c.olga = make_member(name="Olga Other", email="olga@example.org", seeks=[t])
    Invitation.create(email=c.mia.email, name="Mia", invited_by=c.cora, accepted_at=start, accepted_user=c.mia)

    # Max declined Mia's first request with a note addressed to her; her request to Nia is open.
    declined = requests.send_request(c.mia, c.max, [t.id], HELP, SUCCESS, "video", now=start)
    requests.decline(c.max, declined, "Sorry, my year is full: try Pia.", now=start)
    c.pair = start_pair(c.pia, c.mia, t, start)
    c.to_nia = requests.send_request(c.mia, c.nia, [t.id], HELP + " Again.", SUCCESS, "video")
    c.from_rex = requests.send_request(c.rex, c.mia, [topics["Python"].id], HELP + " Rex.", SUCCESS, "video")

    mentorships.update_goals(c.mia, c.pair, "Lead my team with care.")
    mentorships.add_milestone(c.pia, c.pair, "Run a retrospective")
    today = times.today(c.mia.time_zone, now)
    c.held = mentorships.log_meeting(c.pia, c.pair, today - dt.timedelta(days=1), 60, [t.id], "We talked budgets.",
                                     "Draft the plan.")
    c.secret["pia_note"] = canary("pianote")
    mentorships.set_private_note(c.pia, c.held, f"Felt {c.secret['pia_note']}")
    mentorships.set_private_note(c.mia, c.held, "My own private thought")
    c.secret["pia_coordinators_only"] = canary("piaonly")
    mentorships.give_feedback(c.pia, c.held, 2, f"Hard {c.secret['pia_coordinators_only']}", Feedback.COORDINATORS,
                              good_fit=False)
    mentorships.give_feedback(c.mia, c.held, 5, "The budget checklist", Feedback.PARTNER, good_fit=True)
    shared = mentorships.log_meeting(c.mia, c.pair, today, 45, [t.id], "Second talk.")
    mentorships.give_feedback(c.pia, shared, 4, "Good progress, shared", Feedback.PARTNER)
    c.scheduled = mentorships.schedule_meeting(c.pia, c.pair, today + dt.timedelta(days=7), dt.time(10, 0), 60,
                                               "video", "https://meet.example.org/pia-mia", agenda="Budgets")
    c.secret["pia_check_in"] = canary("piacheckin")
    mentorships.answer_check_in(c.pia, c.pair, 2, f"Slow {c.secret['pia_check_in']}",
                                now=c.pair.started_at + mentorships.CHECK_IN_FIRST)
    mentorships.answer_check_in(c.mia, c.pair, 4, "Going well for me",
                                now=c.pair.started_at + mentorships.CHECK_IN_FIRST)

    c.other_pair = start_pair(c.otto, c.olga, t, start)
    c.secret["other_pair"] = canary("otherpair")
    mentorships.log_meeting(c.otto, c.other_pair, today, 30, [t.id], f"Olga's notes {c.secret['other_pair']}")
    c.secret["password_hash"] = User.get_by_id(c.mia.id).password_hash
    c.secret["session_token"] = User.get_by_id(c.mia.id).session_token
    c.secret["pia_email"] = c.pia.email
    return c


def exported(app, user):
    response = log_in(app, user).get("/profile/data.json")
    assert response.status_code == 200
    return response, json.loads(response.get_data(as_text=True))


# --- the export ------------------------------------------------------------------------------------

def test_the_export_is_a_dated_json_attachment_with_every_section_and_my_rows(app, s):
    add_round(s)
    response, data = exported(app, s.mia)
    assert response.mimetype == "application/json"
    day = times.today(s.mia.time_zone, utcnow()).isoformat()
    assert response.headers["Content-Disposition"] == f'attachment; filename="tandem-my-data-{day}.json"'
    assert "no-store" in response.headers["Cache-Control"]
    assert set(data) == {"exported_at", "account", "profile", "notification_settings", "invitations", "requests",
                         "mentorships", "meetings", "check_ins", "notifications", "audit_events", "round_entries"}

    assert data["account"]["email"] == "mia@example.org" and data["account"]["name"] == "Mia Member"
    assert "password_hash" not in data["account"] and "session_token" not in data["account"]
    assert data["profile"]["bio"] == "I grow *tomatoes*."
    assert data["profile"]["topics_sought"] == ["Leadership"] and data["profile"]["topics_offered"] == ["Python"]
    assert data["profile"]["languages"] == ["en"]
    assert data["notification_settings"]["choices"]["request_received"] == "immediately"
    assert [i["name"] for i in data["invitations"]] == ["Mia"]

    by_other = {r["other_member"]: r for r in data["requests"]}
    assert set(by_other) == {"Max Mentor", "Pia Partner", "Nia Mentor", "Rex Requester"}
    assert by_other["Max Mentor"]["answer_note"] == "Sorry, my year is full: try Pia."  # addressed to Mia
    assert by_other["Max Mentor"]["status"] == R.DECLINED and by_other["Max Mentor"]["my_part"] == "requester"
    assert by_other["Rex Requester"]["my_part"] == "asked" and by_other["Rex Requester"]["help_wanted"].endswith("Rex.")
    assert by_other["Nia Mentor"]["topics"] == ["Leadership"]

    (pair,) = data["mentorships"]
    assert pair["partner"] == "Pia Partner" and pair["my_role"] == "mentee" and pair["goals"] == "Lead my team with care."
    assert [m["title"] for m in pair["milestones"]] == ["Run a retrospective"]

    meetings = {m["id"]: m for m in data["meetings"]}
    assert len(meetings) == 3  # the held one, the second talk, the one to come
    held = meetings[s.held.id]
    assert held["notes"] == "We talked budgets." and held["next_steps"] == "Draft the plan."
    assert held["my_private_note"] == "My own private thought" and held["logged_by"] == "partner"
    (feedback,) = held["feedback"]
    assert {k: v for k, v in feedback.items() if k != "created_at"} == {
        "rating": 5, "most_useful": "The budget checklist", "by": "me", "visibility": "partner", "good_fit": True}
    second = next(m for m in data["meetings"] if m["notes"] == "Second talk.")
    assert [(f["by"], f["most_useful"]) for f in second["feedback"]] == [("partner", "Good progress, shared")]
    assert meetings[s.scheduled.id]["agenda"] == "Budgets" and meetings[s.scheduled.id]["organiser"] == "partner"

    assert [(c["score"], c["comment"]) for c in data["check_ins"]] == [(4, "Going well for me")]
    (entry,) = data["round_entries"]  # hers only: not Olga's preference for her, nor Olga's list naming her
    assert (entry["round"], entry["as_mentor"], entry["as_mentee"], entry["topics_offered"], entry["preferred_mentors"],
            entry["never_pair_with"]) == ("Spring", True, True, ["Leadership"], ["Pia Partner"], ["Max Mentor"])
    mine = Notification.select().where(Notification.recipient == s.mia.id).count()
    assert mine and len(data["notifications"]) == mine
    assert len(data["audit_events"]) == AuditEvent.select().where(AuditEvent.actor == s.mia.id).count()


def test_nothing_of_another_member_leaks_into_my_export(app, s):
    _, data = exported(app, s.mia)
    text = json.dumps(data)
    for what, value in s.secret.items():
        assert value not in text, f"{what} is in Mia's export"
    for name in ("Otto Other", "Olga Other", "Cora Coordinator", "Carl Coordinator"):
        assert name not in text
    # Pia's coordinators-only feedback is not even there as a rating, nor her "not a good fit".
    held = next(m for m in data["meetings"] if m["id"] == s.held.id)
    assert [f["by"] for f in held["feedback"]] == ["me"]
    assert all("good_fit" not in f for m in data["meetings"] for f in m["feedback"] if f["by"] == "partner")
    assert "flagged_at" not in data["mentorships"][0]


def test_the_export_runs_a_constant_number_of_queries(app, s, count_queries):
    client = log_in(app, s.mia)
    with count_queries() as few:
        assert client.get("/profile/data.json").status_code == 200
    add_meetings(s, s.pair, s.mia, s.pia, 6)
    with count_queries() as many:
        data = json.loads(client.get("/profile/data.json").get_data(as_text=True))
    assert len(data["meetings"]) == 9
    assert len(many) == len(few), "\n".join(many)


def test_your_data_is_offered_from_my_profile_pages(app, s):
    client = log_in(app, s.mia)
    page = client.get("/profile/edit").get_data(as_text=True)
    assert 'href="/profile/data.json"' in page and 'href="/profile/delete"' in page
    assert "#your-data" in client.get(f"/members/{s.mia.id}").get_data(as_text=True)
    assert "#your-data" not in client.get(f"/members/{s.pia.id}").get_data(as_text=True)


# --- asking for deletion -----------------------------------------------------------------------------

def test_a_wrong_password_says_so_on_the_field_and_changes_nothing(app, s):
    client = log_in(app, s.mia)
    before = Notification.select().count()
    page = client.post("/profile/delete", data={"password": "not my password at all"}).get_data(as_text=True)
    assert "That is not your password. Nothing has changed" in page
    assert 'id="password-error"' in page and 'aria-invalid="true"' in page
    assert User.get_by_id(s.mia.id).deletion_requested_at is None
    assert Notification.select().count() == before
    page = client.post("/profile/delete", data={"password": ""}).get_data(as_text=True)
    assert "Enter your password to confirm." in page


def test_asking_records_the_request_tells_coordinators_and_can_be_cancelled(app, s):
    client = log_in(app, s.mia)
    page = client.get("/profile/delete").get_data(as_text=True)
    assert "personal data is erased" in page and "statistics keep their counts" in page
    response = client.post("/profile/delete", data={"password": PASSWORD})
    assert response.status_code == 303
    asked = User.get_by_id(s.mia.id).deletion_requested_at
    assert asked is not None
    told = {n.recipient_id: n for n in Notification.select().where(
        Notification.kind == notifications.DELETION_REQUESTED)}
    assert set(told) == {s.cora.id, s.carl.id}
    assert told[s.cora.id].subject == "Mia Member asks to delete their account"
    page = client.get("/profile/delete").get_data(as_text=True)
    assert "You asked to delete your account" in page and "Cancel my request" in page
    # Asking twice is refused without a second notification.
    with pytest.raises(privacy.PrivacyError, match="already asked"):
        privacy.request_deletion(User.get_by_id(s.mia.id), PASSWORD)

    assert client.post("/profile/delete/cancel").status_code == 303
    assert User.get_by_id(s.mia.id).deletion_requested_at is None
    assert "your account stays as it is" in client.get("/profile/delete").get_data(as_text=True)
    actions = [e.action for e in AuditEvent.select().where(AuditEvent.actor == s.mia.id).order_by(AuditEvent.id)]
    assert actions[-2:] == ["account.deletion_requested", "account.deletion_cancelled"]
    # Nothing waits for coordinators any more: the email has nothing left to tell.
    assert "No deletion waiting" in log_in(app, s.cora).get("/coordinator/deletions").get_data(as_text=True)


def test_a_coordinator_lists_pending_deletions_and_confirms_one(app, s):
    privacy.request_deletion(s.mia, PASSWORD)
    coordinator = log_in(app, s.cora)
    page = coordinator.get("/coordinator/deletions").get_data(as_text=True)
    row = page.split(f'id="deletion-{s.mia.id}"')[1].split("</tr>")[0]
    assert "Mia Member" in row
    assert [cell.split(">")[-1] for cell in row.split("</td>")[1:3]] == ["1", "2"]  # a pair; Nia's and Rex's requests
    assert "<details>" in row and f'action="/coordinator/deletions/{s.mia.id}/confirm"' in row
    response = coordinator.post(f"/coordinator/deletions/{s.mia.id}/confirm")
    assert response.status_code == 303
    assert "Mia Member’s account is deleted" in coordinator.get("/coordinator/deletions").get_data(as_text=True)
    assert User.get_by_id(s.mia.id).name == privacy.FORMER_NAME
    # Done once: the same confirmation again finds nothing waiting.
    assert coordinator.post(f"/coordinator/deletions/{s.mia.id}/confirm").status_code == 404


def test_the_deletions_page_runs_a_constant_number_of_queries(app, s, count_queries):
    privacy.request_deletion(s.mia, PASSWORD)
    coordinator = log_in(app, s.carl)
    with count_queries() as one:
        assert "Mia Member" in coordinator.get("/coordinator/deletions").get_data(as_text=True)
    for member in (s.pia, s.rex, s.otto, s.olga):
        privacy.request_deletion(member, PASSWORD)
    with count_queries() as five:
        page = coordinator.get("/coordinator/deletions").get_data(as_text=True)
    assert "5 deletions waiting" in page and "Olga Other" in page
    assert len(five) == len(one), "\n".join(five)


def test_a_coordinator_cannot_confirm_their_own_and_a_member_not_pending_is_not_found(app, s):
    privacy.request_deletion(s.cora, PASSWORD)
    cora = log_in(app, s.cora)
    assert "another coordinator confirms it" in cora.get("/coordinator/deletions").get_data(as_text=True)
    assert cora.post(f"/coordinator/deletions/{s.cora.id}/confirm").status_code == 403
    with pytest.raises(privacy.NotAllowed):
        privacy.erase(s.cora, s.cora)
    assert User.get_by_id(s.cora.id).deleted_at is None
    assert cora.post(f"/coordinator/deletions/{s.mia.id}/confirm").status_code == 404
    assert log_in(app, s.mia).get("/coordinator/deletions").status_code == 403
    log_in(app, s.carl).post(f"/coordinator/deletions/{s.cora.id}/confirm")
    assert User.get_by_id(s.cora.id).role == User.MEMBER and User.get_by_id(s.cora.id).deleted_at is not None


# --- the erasure -------------------------------------------------------------------------------------

def snapshot(s):
    """Rows of every table before the erasure, to compare with what remains."""
    return {model: {row._pk: row for row in model.select()} for model in ALL_MODELS}


def unchanged(before, model, where=lambda row: True):
    rows = [r for r in model.select() if where(r)]
    assert {r._pk: r.__data__ for r in rows} == \
        {k: r.__data__ for k, r in before[model].items() if where(r)}, model.__name__


def check_user(s, before, uid):
    u = User.get_by_id(uid)
    assert (u.name, u.email, u.password_hash, u.active, u.verified) == (
        "Former member", f"deleted-{uid}@invalid", "", False, False)
    assert u.session_token != before[User][uid].session_token and u.deleted_at is not None
    assert u.last_login is None and u.time_zone == "UTC"
    unchanged(before, User, lambda r: r.id != uid)


def check_profile(s, before, uid):
    p = Profile.get(Profile.user == uid)
    assert (p.headline, p.bio, p.organization, p.job_title, p.country, p.offers_mentoring, p.seeks_mentoring,
            p.capacity, p.completed) == ("", "", "", "", "", False, False, 0, False)
    unchanged(before, Profile, lambda r: r.user_id != uid)


def check_deleted_with(field):
    def check(s, before, uid):
        model = field.model
        assert not model.select().where(field == uid).exists(), model.__name__
        unchanged(before, model, lambda r: getattr(r, f"{field.name}_id") != uid)
    return check


def check_topics(s, before, uid):
    # Her suggestion that nobody else uses goes; the rest stays, without her name.
    assert not Topic.select().where(Topic.name == "Mia's own idea").exists()
    unchanged(before, Topic, lambda r: r.suggested_by_id != uid)
    assert not Topic.select().where(Topic.suggested_by == uid).exists()


def check_invitations(s, before, uid):
    assert not Invitation.select().where((Invitation.email == "mia@example.org")
                                         | (Invitation.accepted_user == uid)).exists()
    unchanged(before, Invitation, lambda r: r.accepted_user_id != uid)


def check_mentorships(s, before, uid):
    m = Mentorship.get_by_id(s.pair.id)
    assert (m.status, m.end_reason, m.ended_by_id, m.mentee_reflection) == ("ended", "left_program", uid, "")
    assert m.goals == "Lead my team with care."  # the pair's, and Pia still reads it
    assert Mentorship.select().count() == len(before[Mentorship])
    unchanged(before, Mentorship, lambda r: uid not in (r.mentor_id, r.mentee_id))


def check_requests(s, before, uid):
    assert R.select().count() == len(before[R])
    assert R.get_by_id(s.to_nia.id).status == R.WITHDRAWN
    rex = R.get_by_id(s.from_rex.id)
    assert (rex.status, rex.answer_note, rex.help_wanted) == (R.DECLINED, privacy.LEFT_NOTE,
                                                              HELP + " Rex.")  # Rex's own words stay
    assert not R.select().where((R.requester == uid) & (R.help_wanted != "")).exists()
    assert R.get(R.mentor == s.max.id).answer_note == "Sorry, my year is full: try Pia."  # Max's words stay
    unchanged(before, R, lambda r: uid not in (r.requester_id, r.mentor_id, r.mentee_id))


def check_notifications(s, before, uid):
    assert not Notification.select().where(Notification.recipient == uid).exists()
    assert not Notification.select().where(Notification.kind == notifications.DELETION_REQUESTED).exists()
    ended = Notification.get((Notification.recipient == s.pia.id) & (Notification.kind == "mentorship_ended"))
    assert ended.context["reason"] == "left_program"
    # Everyone else's earlier notifications are theirs and stay.
    unchanged(before, Notification, lambda r: r.id in before[Notification] and r.recipient_id != uid
              and r.kind != notifications.DELETION_REQUESTED)


def check_audit(s, before, uid):
    assert AuditEvent.select().count() > len(before[AuditEvent])  # the erasure and what it did are recorded
    assert not AuditEvent.select().where((AuditEvent.actor == uid) & (AuditEvent.detail != "")
                                         & (AuditEvent.created_at < s.erased_at)).exists()
    done = AuditEvent.get(AuditEvent.action == "member.deleted")
    assert (done.actor_id, done.target) == (s.cora.id, f"user:{uid}")
    assert "Mia" not in done.detail and "mia@" not in done.detail
    assert not AuditEvent.select().where(AuditEvent.detail.contains("mia@example.org")).exists()


def check_meetings(s, before, uid):
    assert Meeting.select().count() == len(before[Meeting])
    assert Meeting.get_by_id(s.scheduled.id).status == Meeting.CANCELLED
    assert Meeting.get_by_id(s.held.id).notes == "We talked budgets."  # shared: Pia's too
    unchanged(before, Meeting, lambda r: r.id != s.scheduled.id)


def check_private_notes(s, before, uid):
    check_deleted_with(PrivateNote.author)(s, before, uid)
    assert PrivateNote.get(PrivateNote.author == s.pia.id).text.startswith("Felt")


def check_feedback(s, before, uid):
    mine = list(Feedback.select().where(Feedback.author == uid))
    assert [(f.rating, f.most_useful) for f in mine] == [(5, "")]  # the rating counts, the words go
    unchanged(before, Feedback, lambda r: r.author_id != uid)


def check_check_ins(s, before, uid):
    assert [(c.score, c.comment) for c in CheckIn.select().where(CheckIn.author == uid)] == [(4, "")]
    unchanged(before, CheckIn, lambda r: r.author_id != uid)


def add_round(s):
    """A round Mia created and joined (with a preference and a "never pair me with"), where Olga prefers Mia and
    lists her, a proposal and a forbidden pair name her; other rows of the round name others only."""
    day = utcnow().date()
    r = Round.create(name="Spring", opens_on=day, closes_on=day, starts_on=day, length_weeks=12, created_by=s.mia,
                     status=Round.MATCHING)
    Round.create(name="Autumn", opens_on=day, closes_on=day, starts_on=day, length_weeks=12, created_by=s.cora)
    entries = {}
    for who, mentor, mentee in ((s.mia, True, True), (s.pia, True, False), (s.olga, False, True),
                                (s.otto, True, False)):
        entries[who.id] = RoundEntry.create(round=r, user=who, as_mentor=mentor, capacity=int(mentor),
                                            as_mentee=mentee)
        RoundEntryTopic.create(entry=entries[who.id], topic=s.topic, kind="offers" if mentor else "seeks")
    RoundPreference.create(entry=entries[s.mia.id], mentor=s.pia, rank=1)
    RoundPreference.create(entry=entries[s.olga.id], mentor=s.mia, rank=1)
    RoundPreference.create(entry=entries[s.olga.id], mentor=s.otto, rank=2)
    RoundExclusion.create(entry=entries[s.mia.id], other=s.max)
    RoundExclusion.create(entry=entries[s.olga.id], other=s.mia)
    RoundExclusion.create(entry=entries[s.olga.id], other=s.max)
    RoundProposal.create(round=r, mentee=s.olga, mentor=s.mia, score=1)
    RoundProposal.create(round=r, mentee=s.rex, mentor=s.otto, score=1)
    RoundForbidden.create(round=r, mentee=s.mia, mentor=s.otto, created_by=s.cora)
    RoundForbidden.create(round=r, mentee=s.olga, mentor=s.pia, created_by=s.mia)
    RoundForbidden.create(round=r, mentee=s.rex, mentor=s.pia, created_by=s.cora)


def check_rounds(s, before, uid):
    assert [r.created_by_id for r in Round.select().order_by(Round.name)] == [s.cora.id, None]
    hers = {r.id for r in before[Round].values() if r.created_by_id == uid}
    unchanged(before, Round, lambda r: r.id not in hers)


def check_round_rows(model, *people, stamped=()):
    """Rows of ``model`` on Mia's entry or naming her (in ``people``) are gone; the others stay as they were,
    but for the ids in ``stamped`` (rows that only lose her as their author)."""
    def check(s, before, uid):
        mine = {e.id for e in before[RoundEntry].values() if e.user_id == uid}
        assert mine, "the story has no round entry of Mia's"

        def hers(row):
            return getattr(row, "entry_id", None) in mine or uid in [getattr(row, f"{p}_id") for p in people]
        assert any(hers(row) for row in before[model].values()), f"the story names Mia in no {model.__name__}"
        assert not any(hers(row) for row in model.select()), model.__name__
        unchanged(before, model, lambda r: not hers(r) and r.id not in stamped)
    return check


def check_forbidden(s, before, uid):
    by_her = {r.id for r in before[RoundForbidden].values() if r.created_by_id == uid}
    check_round_rows(RoundForbidden, "mentee", "mentor", stamped=by_her)(s, before, uid)
    assert [r.created_by_id for r in RoundForbidden.select().where(RoundForbidden.id.in_(list(by_her)))] == [None]


def check_unchanged(model):
    return lambda s, before, uid: unchanged(before, model)


# What the erasure leaves of each table: a model added later without a rule here fails the test.
ERASURE = {
    User: check_user,
    Profile: check_profile,
    Topic: check_topics,
    ProfileTopic: check_deleted_with(ProfileTopic.profile),
    ProfileLanguage: check_deleted_with(ProfileLanguage.profile),
    Invitation: check_invitations,
    Mentorship: check_mentorships,
    AuditEvent: check_audit,
    ConnectionRequest: check_requests,
    RequestTopic: check_unchanged(RequestTopic),
    Notification: check_notifications,
    ProgramSetting: check_unchanged(ProgramSetting),
    Milestone: check_unchanged(Milestone),
    Meeting: check_meetings,
    MeetingTopic: check_unchanged(MeetingTopic),
    PrivateNote: check_private_notes,
    Feedback: check_feedback,
    UsedLink: check_deleted_with(UsedLink.user),
    NotificationPreference: check_deleted_with(NotificationPreference.user),
    CheckIn: check_check_ins,
    Round: check_rounds,
    RoundEntry: check_deleted_with(RoundEntry.user),
    RoundEntryTopic: check_round_rows(RoundEntryTopic),
    RoundPreference: check_round_rows(RoundPreference, "mentor"),
    RoundExclusion: check_round_rows(RoundExclusion, "other"),
    RoundProposal: check_round_rows(RoundProposal, "mentee", "mentor"),
    RoundForbidden: check_forbidden,
}


def test_the_erasure_has_a_rule_for_every_table(app, s):
    assert set(ERASURE) == set(ALL_MODELS), f"no erasure rule for {set(ALL_MODELS) - set(ERASURE)}"
    UsedLink.create(link_id="mia-link", user=s.mia, action="away")
    UsedLink.create(link_id="pia-link", user=s.pia, action="away")
    NotificationPreference.create(user=s.mia, kind="request_received", mode="digest")
    NotificationPreference.create(user=s.pia, kind="request_received", mode="digest")
    Topic.create(name="Mia's own idea", approved=False, suggested_by=s.mia)
    add_round(s)
    privacy.request_deletion(s.mia, PASSWORD)
    before = snapshot(s)
    s.erased_at = utcnow()
    privacy.erase(s.cora, User.get_by_id(s.mia.id))
    for model, check in ERASURE.items():
        check(s, before, s.mia.id)


def test_the_erasure_runs_in_one_transaction(app, s, monkeypatch):
    privacy.request_deletion(s.mia, PASSWORD)
    before = snapshot(s)

    def fail(*args, **kwargs):
        raise RuntimeError("the database went away")
    monkeypatch.setattr(privacy, "_forget_suggestions", fail)
    with pytest.raises(RuntimeError):
        privacy.erase(s.cora, User.get_by_id(s.mia.id))
    for model in ALL_MODELS:
        unchanged(before, model)


def test_partners_and_requesters_are_told_and_meetings_to_come_are_cancelled(app, s):
    privacy.request_deletion(s.mia, PASSWORD)
    privacy.erase(s.cora, User.get_by_id(s.mia.id))
    to_pia = {n.kind: n.subject for n in Notification.select().where(Notification.recipient == s.pia.id)}
    assert to_pia["mentorship_ended"] == "Mia Member ended your mentorship"
    assert to_pia["meeting_cancelled"].startswith("Mia Member cancelled your meeting")
    to_rex = Notification.get((Notification.recipient == s.rex.id) & (Notification.kind == "request_answered"))
    assert to_rex.subject == "Mia Member declined your request"
    # Pia's page: the pair has ended, her partner is a former member, the goals stay.
    page = log_in(app, s.pia).get(f"/mentorships/{s.pair.id}").get_data(as_text=True)
    assert "Former member" in page and "Mia Member" not in page and "Lead my team with care." in page


def test_after_the_erasure_no_login_works_and_sessions_have_ended(app, s):
    client = log_in(app, s.mia)
    privacy.request_deletion(s.mia, PASSWORD)
    privacy.erase(s.cora, User.get_by_id(s.mia.id))
    response = client.get("/profile/edit")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    for email in ("mia@example.org", f"deleted-{s.mia.id}@invalid"):
        browser = app.test_client()
        assert browser.post("/login", data={"email": email, "password": PASSWORD}).status_code == 200
        assert "/login" in browser.get("/profile/edit").headers["Location"]
    with pytest.raises(accounts.AccountError, match="do not match an active account"):
        accounts.authenticate("mia@example.org", PASSWORD)
    with pytest.raises(accounts.AccountError, match="deleted"):
        accounts.set_active(s.cora, User.get_by_id(s.mia.id), True)


def test_a_suggestion_someone_else_chose_in_a_round_stays(app, s):
    """Mia's unapproved topic is used by Olga's round entry only: erasing Mia keeps it for Olga."""
    idea = Topic.create(name="Mia's round idea", approved=False, suggested_by=s.mia)
    day = utcnow().date()
    r = Round.create(name="Spring", opens_on=day, closes_on=day, starts_on=day, length_weeks=12, status=Round.OPEN)
    entry = RoundEntry.create(round=r, user=s.olga, as_mentee=True)
    RoundEntryTopic.create(entry=entry, topic=idea, kind="seeks")
    privacy.request_deletion(s.mia, PASSWORD)
    privacy.erase(s.cora, User.get_by_id(s.mia.id))
    assert Topic.get_by_id(idea.id).suggested_by_id is None
    assert [link.topic_id for link in RoundEntryTopic.select().where(RoundEntryTopic.entry == entry.id)] == [idea.id]


def test_the_dashboard_keeps_its_counts(app, s):
    before = dashboard.figures()
    privacy.request_deletion(s.mia, PASSWORD)
    privacy.erase(s.cora, User.get_by_id(s.mia.id))
    after = dashboard.figures()
    for name in ("meetings", "minutes", "ratings", "average_rating", "check_ins", "average_check_in", "funnel",
                 "weeks"):
        assert getattr(after, name) == getattr(before, name), name
    assert after.active_pairs == before.active_pairs - 1 and after.members_active == before.members_active - 1


def test_the_same_email_can_be_invited_again(app, s, mailbox, embedded):
    import jobs

    privacy.request_deletion(s.mia, PASSWORD)
    privacy.erase(s.cora, User.get_by_id(s.mia.id))
    with app.test_request_context():
        accounts.invite(s.cora, "mia@example.org", "Mia again")
    jobs.drain()
    token = mailbox.link("mia@example.org", "/invite/").split("/invite/", 1)[1]
    with app.test_request_context():
        again = accounts.accept_invitation(token, "Mia Again", "a brand new sentence to log in with")
    assert again.id != s.mia.id and again.email == "mia@example.org"
    assert User.get_by_id(s.mia.id).name == "Former member"


def test_the_coordinators_email_names_the_member_and_goes_no_further_once_cancelled(app, s, mailbox):
    from portal.notifications.delivery import deliver

    privacy.request_deletion(s.mia, PASSWORD)
    row = Notification.get((Notification.recipient == s.cora.id)
                           & (Notification.kind == notifications.DELETION_REQUESTED))
    Notification.update(status=Notification.PENDING).where(Notification.id == row.id).execute()
    with app.test_request_context():
        assert deliver(row.id) == Notification.SENT
    text = mailbox.text(mailbox.last_to("cora@example.org"))
    assert "Mia Member asks to delete their account" in text and "/coordinator/deletions" in text
    privacy.cancel_deletion(s.mia)
    other = Notification.get((Notification.recipient == s.carl.id)
                             & (Notification.kind == notifications.DELETION_REQUESTED))
    with app.test_request_context():
        assert deliver(other.id) == Notification.SKIPPED


def test_the_migration_gives_the_user_table_its_privacy_columns(db):
    """On SQLite and, under make test-services, PostgreSQL: migration 0010 and the model agree."""
    from playhouse.schema_diff import diff_models

    diff = diff_models(db.obj, [User])
    assert not diff.add_columns and not diff.drop_columns
    assert not [i for i in diff.add_indexes + diff.drop_indexes if i.table == "user"]
    assert {"deletion_requested_at", "deleted_at"} <= {c.name for c in db.get_columns("user")}


def logged_in_with_token(app, user):
    """A client logged in through the real form, CSRF checks on."""
    client = app.test_client()
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"email": user.email, "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    return client


@pytest.mark.csrf
def test_the_privacy_forms_refuse_a_post_without_its_token(app, s):
    client = logged_in_with_token(app, s.mia)
    assert client.post("/profile/delete", data={"password": PASSWORD}).status_code == 400
    assert User.get_by_id(s.mia.id).deletion_requested_at is None
    privacy.request_deletion(s.mia, PASSWORD)
    assert client.post("/profile/delete/cancel").status_code == 400
    coordinator = logged_in_with_token(app, s.cora)
    assert coordinator.post(f"/coordinator/deletions/{s.mia.id}/confirm").status_code == 400
    assert User.get_by_id(s.mia.id).deleted_at is None and User.get_by_id(s.mia.id).deletion_requested_at
