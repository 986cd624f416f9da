"""The pair's space without HTTP (journey 4): every rule and message, who may do what, time zones
around daylight-saving changes, the iCalendar invitations, confidentiality of private notes and
coordinators-only feedback, ending and capacity, and the pair page's constant number of queries."""
import datetime as dt
from types import SimpleNamespace

import pytest
from icalendar import Calendar
from peewee import Model
from playhouse.schema_diff import diff_models

from portal import demo, ics
from portal.db import database
from portal.mentorships import services as svc
from portal.mentorships.services import MentorshipError, NotAllowed
from portal.models import (
    ALL_MODELS,
    AuditEvent,
    ConnectionRequest,
    Feedback,
    Meeting,
    MeetingTopic,
    Mentorship,
    Milestone,
    Notification,
    PrivateNote,
    User,
)
from portal.notifications import services as notifications
from portal.requests import services as requests

T0 = dt.datetime(2026, 3, 2, 9, 0)  # a Monday, UTC: the pair starts now
NOW = T0 + dt.timedelta(days=1)
HELP = "I lead a team of four for the first time and want to do it well."
SUCCESS = "Our weekly meeting runs itself and I delegate without worrying."
ORGANISER = "Tandem <tandem@portal.test>"
D, H = dt.date, dt.time


def start_pair(mentor, mentee, topic_ids, now=T0):
    req = requests.send_request(mentee, mentor, topic_ids, HELP, SUCCESS, "video", now=now)
    return Mentorship.get_by_id(requests.accept(mentor, req, now=now).mentorship_id)


@pytest.fixture
def p(make_member, topics):
    """Ana mentors Mel (Berlin and New York); Cora coordinates; Otto is another member."""
    t = topics
    mentor = make_member(name="Ana Berger", time_zone="Europe/Berlin", offers=[t["Leadership"], t["Python"]],
                         capacity=1, password=None)
    mentee = make_member(name="Mel Mentee", time_zone="America/New_York",
                         seeks=[t["Leadership"], t["Public speaking"]], password=None)
    coordinator = make_member(name="Cora Coordinator", role=User.COORDINATOR, password=None)
    other = make_member(name="Otto Other", seeks=[t["Python"]], password=None)
    pair = start_pair(mentor, mentee, [t["Leadership"].id])
    AuditEvent.delete().execute()
    Notification.delete().execute()
    return SimpleNamespace(mentor=mentor, mentee=mentee, coordinator=coordinator, other=other, pair=pair, topics=t)


def refused(call, match, field=None, error=MentorshipError):
    with pytest.raises(error, match=match) as info:
        call()
    assert info.value.field == field, info.value.field
    return info.value


def schedule(p, actor=None, day=D(2026, 3, 16), time=H(10, 0), duration=60, fmt="video",
             link="https://meet.example.org/ana-mel", place="", agenda="Your first month as a lead", now=NOW,
             pair=None):
    return svc.schedule_meeting(actor or p.mentor, pair or p.pair, day, time, duration, fmt, link, place, agenda,
                                now=now)


def log(p, actor=None, held_on=D(2026, 3, 2), duration=60, topic_ids=None, notes="We talked.", next_steps="",
        private_note="", meeting=None, now=NOW):
    return svc.log_meeting(actor or p.mentor, p.pair, held_on, duration,
                           topic_ids if topic_ids is not None else [p.topics["Leadership"].id], notes, next_steps,
                           private_note, meeting=meeting, now=now)


def fresh(row):
    return type(row).get_by_id(row.id)


def notes(kind=None):
    query = Notification.select().order_by(Notification.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return [(n.recipient_id, n.kind) for n in query]


def actions():
    return [(e.actor_id, e.action, e.target) for e in AuditEvent.select().order_by(AuditEvent.id)]


def reachable(obj):
    """Every plain value reachable from what a service returned: all that a template could show."""
    found, stack, seen = [], [obj], set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            stack += [*item.keys(), *item.values()]
        elif isinstance(item, (list, tuple, set)):
            stack += list(item)
        elif isinstance(item, Model):
            stack += [item.__data__, *item.__rel__.values()]
        elif isinstance(item, SimpleNamespace):
            stack.append(vars(item))
        else:
            found.append(item)
    return found


def shows(page, text):
    return any(isinstance(v, str) and text in v for v in reachable(page))


# --- the schema -----------------------------------------------------------------------

def test_the_migrated_schema_matches_the_models(db):
    """On SQLite and, under make test-services, PostgreSQL: nothing to create, add or drop for the pair's tables."""
    ours = {"mentorship", "milestone", "meeting", "meeting_topic", "private_note", "feedback"}
    diff = diff_models(db.obj, ALL_MODELS)
    assert not [m for m in diff.create_tables if m._meta.table_name in ours]
    assert not [f for f in diff.add_columns if f.model._meta.table_name in ours]
    assert not [c for c in diff.drop_columns if c[0] in ours]
    assert not [i for i in diff.add_indexes + diff.drop_indexes if i.table in ours]


def test_the_migration_keeps_existing_pairs_and_their_requests(tmp_path, monkeypatch):
    from portal import create_app
    from portal.db import runner

    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{tmp_path}/old.sqlite3"})
    with database.connection_context():
        runner().up("0003_connection_requests")
        # Rows as the schema of then has them (today's User has columns added since).
        for n in (1, 2):
            database.execute_sql('INSERT INTO "user" (email, password_hash, name, role, active, verified, time_zone, '
                                 "session_token, created_at) VALUES (?, '', ?, 'member', 1, 1, 'UTC', ?, "
                                 "'2026-01-01 00:00:00')", (f"u{n}@example.org", f"U{n}", f"token{n}"))
        mentor, mentee = 1, 2
        database.execute_sql("INSERT INTO mentorship (mentor_id, mentee_id, status, goals, started_at) "
                             "VALUES (?, ?, 'active', 'Grow', '2026-01-02 00:00:00')", (mentor, mentee))
        ConnectionRequest.create(requester=mentee, mentor=mentor, mentee=mentee, help_wanted="h",
                                 success_looks_like="s", status="accepted", mentorship=1)
        assert "0004_pairs_space" in runner().up()
        m = Mentorship.get_by_id(1)
        assert (m.goals, m.status, m.end_reason, m.mentor_reflection, m.mentor_stays_in_touch, m.flagged_at) == (
            "Grow", "active", "", "", False, None)
        assert database.execute_sql("SELECT mentorship_id FROM connection_request").fetchone()[0] == 1
        Meeting.create(mentorship=m, starts_at=T0)


# --- who may read a pair ----------------------------------------------------------------

def test_the_partners_and_coordinators_see_a_pair_and_nobody_else(p):
    for viewer in (p.mentor, p.mentee, p.coordinator):
        assert svc.visible_mentorship(p.pair.id, viewer).id == p.pair.id
    assert svc.visible_mentorship(p.pair.id, p.other) is None
    assert svc.visible_mentorship(p.pair.id + 100, p.coordinator) is None
    assert svc.visible_mentorship("nope", p.mentor) is None
    m = svc.visible_mentorship(p.pair.id, p.mentee)
    assert (m.mentor.name, m.mentee.name) == ("Ana Berger", "Mel Mentee")


def test_meetings_are_visible_like_their_pair(p):
    meeting = schedule(p)
    assert svc.visible_meeting(meeting.id, p.mentee).mentorship.id == p.pair.id
    assert svc.visible_meeting(meeting.id, p.coordinator) is not None
    assert svc.visible_meeting(meeting.id, p.other) is None
    assert svc.visible_meeting(meeting.id + 100, p.mentor) is None
    assert svc.visible_meeting(None, p.mentor) is None


def changes(p, meeting, held, milestone):
    """Every change a partner can make, as (name, call taking the actor)."""
    pair = p.pair
    return [
        ("update_goals", lambda a: svc.update_goals(a, pair, "Lead well", now=NOW)),
        ("add_milestone", lambda a: svc.add_milestone(a, pair, "First 1:1s", now=NOW)),
        ("tick_milestone", lambda a: svc.tick_milestone(a, pair, milestone, now=NOW)),
        ("untick_milestone", lambda a: svc.untick_milestone(a, pair, milestone, now=NOW)),
        ("delete_milestone", lambda a: svc.delete_milestone(a, pair, milestone)),
        ("schedule_meeting", lambda a: schedule(p, actor=a)),
        ("reschedule_meeting", lambda a: svc.reschedule_meeting(a, meeting, D(2026, 3, 17), H(10), 60, "video",
                                                                now=NOW)),
        ("cancel_meeting", lambda a: svc.cancel_meeting(a, meeting, now=NOW)),
        ("log_meeting", lambda a: log(p, actor=a)),
        ("log a scheduled meeting", lambda a: log(p, actor=a, meeting=meeting)),
        ("edit_log", lambda a: svc.edit_log(a, held, D(2026, 3, 2), 30, now=NOW)),
        ("delete_log", lambda a: svc.delete_log(a, held, now=NOW)),
        ("set_private_note", lambda a: svc.set_private_note(a, held, "mine", now=NOW)),
        ("give_feedback", lambda a: svc.give_feedback(a, held, 5, now=NOW)),
        ("end_mentorship", lambda a: svc.end_mentorship(a, pair, "goals_met", now=NOW)),
        ("write_reflection", lambda a: svc.write_reflection(a, pair, "Thanks")),
        ("set_stay_in_touch", lambda a: svc.set_stay_in_touch(a, pair, True, now=NOW)),
    ]


def test_no_one_outside_the_pair_changes_it_and_coordinators_only_read(p):
    meeting = schedule(p)
    held = log(p)
    milestone = svc.add_milestone(p.mentor, p.pair, "Delegate the standup", now=NOW)
    before = (actions(), notes(), [(m.id, m.status, m.sequence) for m in Meeting.select()])
    for name, call in changes(p, meeting, held, milestone):
        refused(lambda: call(p.other), "This mentorship is not yours", error=NotAllowed)
        error = refused(lambda: call(p.coordinator), "Only the two partners can", error=NotAllowed)
        assert isinstance(error, NotAllowed), name
    assert (actions(), notes(), [(m.id, m.status, m.sequence) for m in Meeting.select()]) == before
    assert fresh(p.pair).status == Mentorship.ACTIVE
    with pytest.raises(NotAllowed):
        svc.pair_page(p.pair, p.other, now=NOW)


def test_an_ended_pair_can_be_read_but_not_changed(p):
    meeting = schedule(p, day=D(2026, 3, 3), time=H(11))  # over before the end: stays scheduled
    held = log(p)
    milestone = svc.add_milestone(p.mentor, p.pair, "Delegate the standup", now=NOW)
    svc.end_mentorship(p.mentee, p.pair, "goals_met", "Thank you!", now=NOW + dt.timedelta(days=2))
    later = NOW + dt.timedelta(days=3)
    frozen = {"update_goals", "add_milestone", "tick_milestone", "untick_milestone", "delete_milestone",
              "schedule_meeting", "reschedule_meeting", "cancel_meeting", "log_meeting", "log a scheduled meeting",
              "edit_log", "delete_log"}
    for name, call in changes(p, meeting, held, milestone):
        if name in frozen:
            refused(lambda: call(p.mentor), "has ended: its history stays readable")
    refused(lambda: svc.end_mentorship(p.mentor, p.pair, "goals_met", now=later), "has already ended")
    for viewer in (p.mentor, p.mentee, p.coordinator):
        page = svc.pair_page(svc.visible_mentorship(p.pair.id, viewer), viewer, now=later)
        assert not page.can_change and page.meetings_held == 1 and page.end_reason_label == "Goals met"
        assert [(who.name, text) for who, text in page.reflections] == [("Mel Mentee", "Thank you!")]


# --- goals and milestones ---------------------------------------------------------------

def test_either_partner_writes_the_goals(p):
    svc.update_goals(p.mentee, p.pair, "  Lead a **calm** weekly meeting.\n", now=NOW)
    m = fresh(p.pair)
    assert (m.goals, m.goals_updated_at, m.goals_updated_by_id) == ("Lead a **calm** weekly meeting.", NOW, p.mentee.id)
    assert actions() == [(p.mentee.id, "mentorship.goals_updated", f"mentorship:{p.pair.id}")]
    page = svc.pair_page(p.pair, p.mentor, now=NOW)
    assert (page.goals, page.goals_updated_by.name) == ("Lead a **calm** weekly meeting.", "Mel Mentee")
    refused(lambda: svc.update_goals(p.mentor, p.pair, "x" * 5001), r"Keep the goals under 5000 characters "
                                                                   r"\(you wrote 5001\)", "goals")


def test_milestones_are_added_ticked_by_either_partner_and_deleted(p):
    ms = svc.add_milestone(p.mentor, p.pair, " Run the standup alone ", D(2026, 4, 1), now=NOW)
    assert (ms.title, ms.due_on, ms.created_by_id, ms.done_at) == ("Run the standup alone", D(2026, 4, 1),
                                                                   p.mentor.id, None)
    svc.tick_milestone(p.mentee, p.pair, ms.id, now=NOW)
    svc.tick_milestone(p.mentor, p.pair, ms.id, now=NOW + dt.timedelta(hours=1))  # already done: unchanged
    assert (fresh(ms).done_at, fresh(ms).done_by_id) == (NOW, p.mentee.id)
    page = svc.pair_page(p.pair, p.mentor, now=NOW)
    assert [(m.title, m.done_by.name) for m in page.milestones] == [("Run the standup alone", "Mel Mentee")]
    svc.untick_milestone(p.mentor, p.pair, ms, now=NOW)
    assert fresh(ms).done_at is None and fresh(ms).done_by_id is None
    svc.delete_milestone(p.mentee, p.pair, ms)
    assert Milestone.select().count() == 0
    assert [a[1] for a in actions()] == ["milestone.added", "milestone.done", "milestone.undone",
                                         "milestone.deleted"]


def test_milestone_rules(p, make_member, topics):
    refused(lambda: svc.add_milestone(p.mentor, p.pair, "  ", now=NOW), "Give the milestone a title", "title")
    refused(lambda: svc.add_milestone(p.mentor, p.pair, "x" * 201, now=NOW), "Keep the title under 200", "title")
    # 3 March 09:00 UTC is already 3 March in Berlin: 2 March has passed, 3 March has not.
    refused(lambda: svc.add_milestone(p.mentor, p.pair, "Late", D(2026, 3, 2), now=NOW),
            "Choose a due date from today on", "due_on")
    svc.add_milestone(p.mentor, p.pair, "Today", D(2026, 3, 3), now=NOW)
    Milestone.insert_many([{"mentorship": p.pair.id, "title": f"M{i}", "created_at": NOW}
                           for i in range(svc.MAX_MILESTONES - 1)]).execute()
    refused(lambda: svc.add_milestone(p.mentor, p.pair, "One more", now=NOW), "at most 50 milestones")
    other_pair = start_pair(make_member(offers=[topics["Python"]]), p.other, [topics["Python"].id])
    foreign = Milestone.create(mentorship=other_pair, title="Theirs", created_at=NOW)
    refused(lambda: svc.tick_milestone(p.mentor, p.pair, foreign, now=NOW), "This milestone no longer exists")
    refused(lambda: svc.delete_milestone(p.mentor, p.pair, 99999), "This milestone no longer exists")
    assert fresh(foreign).done_at is None


# --- scheduling -------------------------------------------------------------------------------

def test_a_partner_schedules_a_meeting_in_their_zone_and_the_other_is_told_in_theirs(p):
    meeting = schedule(p)  # Mon 16 March, 10:00 in Berlin (CET) = 09:00 UTC = 05:00 in New York (EDT already)
    m = fresh(meeting)
    assert (m.status, m.starts_at, m.duration_minutes, m.format, m.link, m.agenda) == (
        Meeting.SCHEDULED, dt.datetime(2026, 3, 16, 9, 0), 60, "video", "https://meet.example.org/ana-mel",
        "Your first month as a lead")
    assert (m.organiser_id, m.time_zone, m.sequence, m.created_at) == (p.mentor.id, "Europe/Berlin", 0, NOW)
    assert m.ics_uid and meeting.notice == ""
    assert actions() == [(p.mentor.id, "meeting.scheduled", f"meeting:{m.id}")]
    assert notes() == [(p.mentee.id, notifications.MEETING_SCHEDULED)]
    n = Notification.get()
    assert n.subject == "Ana Berger scheduled a meeting: Mon 16 Mar 2026, 05:00 (New York time)"
    assert n.dedupe_key == f"meeting:{m.id}:meeting_scheduled:0:{p.mentee.id}"
    assert (n.context["meeting_id"], n.context["sequence"]) == (m.id, 0)


@pytest.mark.parametrize("kwargs, message, field", [
    (dict(day=None), "Enter the date of the meeting", "date"),
    (dict(time=None), "Enter the time the meeting starts", "time"),
    (dict(day=D(2026, 3, 2)), "That day has passed: choose a date from today on", "date"),
    (dict(day=D(2026, 3, 3), time=H(9, 30)), "That time has passed: choose a time later than now", "time"),
    (dict(day=D(2027, 3, 16)), "Schedule meetings at most a year ahead", "date"),
    (dict(duration=0), "Choose a duration in steps of 15 minutes, from 15 minutes to 4 hours", "duration"),
    (dict(duration=50), "Choose a duration in steps of 15 minutes", "duration"),
    (dict(duration=255), "Choose a duration in steps of 15 minutes", "duration"),
    (dict(duration="an hour"), "Choose a duration in steps of 15 minutes", "duration"),
    (dict(fmt="chat"), "Choose how you will meet: video call, phone call or in person", "format"),
    (dict(link="ftp://files.example.org/x"), "web address that starts with https://", "link"),
    (dict(link="javascript:alert(1)"), "web address that starts with https://", "link"),
    (dict(link="https://"), "web address that starts with https://", "link"),
    (dict(link="https://meet.example.org/a b"), "web address that starts with https://", "link"),
    (dict(link="https://e.org/" + "x" * 500), "Keep the link under 500 characters", "link"),
    (dict(fmt="in_person", place=" "), "Say where you will meet", "place"),
    (dict(fmt="in_person", place="x" * 201), "Keep the place under 200 characters", "place"),
    (dict(agenda="x" * 2001), "Keep the agenda under 2000 characters", "agenda"),
])
def test_scheduling_rules(p, kwargs, message, field):
    refused(lambda: schedule(p, **kwargs), message, field)
    assert Meeting.select().count() == 0 and notes() == [] and actions() == []


def test_every_meeting_format_and_duration_step_is_accepted(p):
    phone = schedule(p, fmt="phone", link="", place="Ana calls Mel", duration=15)
    visit = schedule(p, fmt="in_person", link="", place="Café Einstein, Berlin", duration=240)
    video = schedule(p, link="http://meet.example.org/plain-http", duration="45")
    assert [(m.format, m.duration_minutes, m.place, m.link) for m in (phone, visit, video)] == [
        ("phone", 15, "Ana calls Mel", ""), ("in_person", 240, "Café Einstein, Berlin", ""),
        ("video", 45, "", "http://meet.example.org/plain-http")]


@pytest.mark.parametrize("zone, day, time", [
    ("Europe/Berlin", D(2026, 3, 29), H(2, 30)),
    ("America/New_York", D(2026, 3, 8), H(2, 30)),
])
def test_a_time_the_clocks_skip_is_refused(p, zone, day, time):
    User.update(time_zone=zone).where(User.id == p.mentor.id).execute()
    refused(lambda: schedule(p, actor=fresh(p.mentor), day=day, time=time),
            f"02:30 does not exist on {day.day} March 2026 in your time zone \\({zone}\\): "
            "the clocks go forward that night. Choose another time.", "time")


@pytest.mark.parametrize("zone, day, time, utc, words", [
    ("Europe/Berlin", D(2026, 10, 25), H(2, 30), dt.datetime(2026, 10, 25, 0, 30), "02:30 CEST (UTC+02:00)"),
    ("America/New_York", D(2026, 11, 1), H(1, 30), dt.datetime(2026, 11, 1, 5, 30), "01:30 EDT (UTC-04:00)"),
])
def test_a_time_the_clocks_repeat_is_taken_the_first_time_and_the_organiser_is_told(p, zone, day, time, utc, words):
    User.update(time_zone=zone).where(User.id == p.mentor.id).execute()
    meeting = schedule(p, actor=fresh(p.mentor), day=day, time=time)
    assert fresh(meeting).starts_at == utc
    assert meeting.notice == (f"{time:%H:%M} happens twice on {day.day} {day:%B} 2026 in your time zone ({zone}), "
                              f"as the clocks go back: the meeting is at the first one, {words}.")


@pytest.fixture
def three_zones(p, make_member, topics):
    """Ana (Berlin) also mentors Sam in Sydney."""
    Mentorship.update(status=Mentorship.ENDED).where(Mentorship.id == p.pair.id).execute()  # a free place
    sam = make_member(name="Sam Sydney", time_zone="Australia/Sydney", seeks=[topics["Leadership"]], password=None)
    return SimpleNamespace(sam=sam, pair=start_pair(p.mentor, sam, [topics["Leadership"].id]))


@pytest.mark.parametrize("day, utc, sydney, new_york", [
    # 8 March New York moves to EDT; 29 March Berlin to CEST; 5 April Sydney back to AEST.
    (D(2026, 3, 6), dt.datetime(2026, 3, 6, 9), "20:00", "04:00"),
    (D(2026, 3, 16), dt.datetime(2026, 3, 16, 9), "20:00", "05:00"),
    (D(2026, 3, 30), dt.datetime(2026, 3, 30, 8), "19:00", "04:00"),
    (D(2026, 4, 13), dt.datetime(2026, 4, 13, 8), "18:00", "04:00"),
    # 4 October Sydney to AEDT; 25 October Berlin to CET; 1 November New York to EST.
    (D(2026, 10, 19), dt.datetime(2026, 10, 19, 8), "19:00", "04:00"),
    (D(2026, 10, 26), dt.datetime(2026, 10, 26, 9), "20:00", "05:00"),
    (D(2026, 11, 2), dt.datetime(2026, 11, 2, 9), "20:00", "04:00"),
])
def test_a_weekly_10_oclock_in_berlin_across_the_clock_changes(p, three_zones, day, utc, sydney, new_york):
    meeting = svc.schedule_meeting(p.mentor, three_zones.pair, day, H(10), 60, "video", now=NOW)
    assert fresh(meeting).starts_at == utc
    sam = three_zones.sam
    assert svc.times_for(utc, p.mentor, [sam]) == f"10:00 for you · {sydney} for Sam, Sydney"
    assert svc.times_for(utc, sam, [p.mentor]) == f"{sydney} for you · 10:00 for Ana, Berlin"
    assert svc.times_for(utc, p.mentee, [p.mentor, sam]) == (
        f"{new_york} for you · 10:00 for Ana, Berlin · {sydney} for Sam, Sydney")
    page = svc.pair_page(three_zones.pair, sam, now=NOW)
    assert page.next_meeting.times == f"{sydney} for you · 10:00 for Ana, Berlin"


def test_a_time_on_another_day_for_the_partner_names_the_weekday(p, three_zones):
    # 09:00 Monday in New York (EDT) is 14:00 in Berlin (CET) and midnight going into Tuesday in Sydney.
    utc = svc.to_utc(D(2026, 3, 9), H(9), "America/New_York")[0]
    assert utc == dt.datetime(2026, 3, 9, 13)
    assert svc.times_for(utc, p.mentee, [p.mentor, three_zones.sam]) == (
        "09:00 for you · 14:00 for Ana, Berlin · 00:00 Tue for Sam, Sydney")
    assert svc.times_for(utc, p.mentor, [p.mentee]) == "14:00 for you · 09:00 for Mel, New York"
    assert svc.times_for(utc, p.mentor, [p.mentor]) == "14:00 for you and Ana"


def test_a_coordinator_sees_each_partners_time(p):
    schedule(p)
    page = svc.pair_page(svc.visible_mentorship(p.pair.id, p.coordinator), p.coordinator, now=NOW)
    assert page.meetings[0].times == "10:00 for Ana, Berlin · 05:00 for Mel, New York"
    assert page.role is None and page.partner is None


def test_the_partner_reschedules_in_their_own_zone_and_calendars_get_the_next_sequence(p):
    meeting = schedule(p)
    uid = fresh(meeting).ics_uid
    moved = svc.reschedule_meeting(p.mentee, meeting, D(2026, 3, 17), H(6, 30), 45, "video",
                                   "https://meet.example.org/ana-mel", "", "Your first month as a lead",
                                   now=NOW + dt.timedelta(hours=1))
    m = fresh(moved)
    assert (m.starts_at, m.duration_minutes, m.sequence, m.ics_uid) == (dt.datetime(2026, 3, 17, 10, 30), 45, 1, uid)
    assert (m.organiser_id, m.time_zone) == (p.mentor.id, "Europe/Berlin")  # the organiser stays
    assert notes() == [(p.mentee.id, notifications.MEETING_SCHEDULED), (p.mentor.id, notifications.MEETING_CHANGED)]
    n = Notification.select().order_by(Notification.id.desc()).get()
    assert n.subject == "Mel Mentee moved your meeting to Tue 17 Mar 2026, 11:30 (Berlin time)"
    assert n.dedupe_key == f"meeting:{m.id}:meeting_changed:1:{p.mentor.id}"
    assert actions()[-1][1] == "meeting.rescheduled"
    assert "from 2026-03-16 09:00 to 2026-03-17 10:30 UTC" in AuditEvent.select().order_by(
        AuditEvent.id.desc()).get().detail

    svc.reschedule_meeting(p.mentor, meeting, D(2026, 3, 17), H(11, 30), 45, "video",
                           "https://meet.example.org/ana-mel", "", "Agenda changed", now=NOW)
    n = Notification.select().order_by(Notification.id.desc()).get()
    assert (fresh(meeting).sequence, n.subject) == (
        2, "Ana Berger changed the details of your meeting on Tue 17 Mar 2026, 06:30 (New York time)")
    count = Notification.select().count()
    same = svc.reschedule_meeting(p.mentor, meeting, D(2026, 3, 17), H(11, 30), 45, "video",
                                  "https://meet.example.org/ana-mel", "", "Agenda changed", now=NOW)
    assert fresh(same).sequence == 2 and Notification.select().count() == count  # nothing changed, nothing sent
    refused(lambda: svc.reschedule_meeting(p.mentor, meeting, D(2026, 3, 17), H(11, 30), 20, "video", now=NOW),
            "Choose a duration", "duration")


def test_cancelling_tells_the_partner_and_bumps_the_sequence(p):
    meeting = schedule(p)
    svc.cancel_meeting(p.mentee, meeting, now=NOW)
    m = fresh(meeting)
    assert (m.status, m.sequence, m.cancelled_by_id, m.cancelled_at) == (Meeting.CANCELLED, 1, p.mentee.id, NOW)
    assert notes()[-1] == (p.mentor.id, notifications.MEETING_CANCELLED)
    assert Notification.select().order_by(Notification.id.desc()).get().subject == (
        "Mel Mentee cancelled your meeting on Mon 16 Mar 2026, 10:00 (Berlin time)")
    assert actions()[-1] == (p.mentee.id, "meeting.cancelled", f"meeting:{m.id}")
    refused(lambda: svc.cancel_meeting(p.mentor, meeting, now=NOW), "was cancelled: schedule a new one instead")
    refused(lambda: svc.reschedule_meeting(p.mentor, meeting, D(2026, 3, 20), H(10), 60, "video", now=NOW),
            "was cancelled")
    refused(lambda: log(p, meeting=meeting), "This meeting was cancelled: log the meeting you held as a new one")
    held = log(p, meeting=schedule(p), held_on=D(2026, 3, 3))
    refused(lambda: svc.cancel_meeting(p.mentor, held, now=NOW), "has been logged: it can no longer be moved")


# --- the invitation (.ics) ------------------------------------------------------------------------

def parse(data):
    calendar = Calendar.from_ical(data)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    return calendar, events[0]


def invitation(p, meeting, recipient=None):
    m = fresh(meeting)
    return ics.meeting_calendar(m, p.mentor, p.mentee, recipient or p.mentee, ORGANISER, "http://portal.test/",
                                now=NOW)


def test_the_invitation_is_a_request_in_the_organisers_zone(p):
    meeting = schedule(p, day=D(2026, 3, 30), agenda="Delegation\nand feedback")  # Berlin on summer time
    data = invitation(p, meeting)
    calendar, event = parse(data)
    assert (str(calendar["METHOD"]), str(calendar["VERSION"]), str(calendar["PRODID"])) == (
        "REQUEST", "2.0", ics.PRODID)
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    assert {c.name for c in calendar.walk("VTIMEZONE")[0].subcomponents} == {"STANDARD", "DAYLIGHT"}
    assert b"DTSTART;TZID=Europe/Berlin:20260330T100000" in data
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert start.astimezone(dt.timezone.utc).replace(tzinfo=None) == dt.datetime(2026, 3, 30, 8)
    assert end - start == dt.timedelta(hours=1)
    assert (str(event["UID"]), event.decoded("SEQUENCE"), str(event["STATUS"])) == (
        fresh(meeting).ics_uid, 0, "CONFIRMED")
    assert str(event["SUMMARY"]) == "Mentoring: Ana Berger and Mel Mentee"
    assert str(event["ORGANIZER"]) == "mailto:tandem@portal.test"
    assert str(event["ATTENDEE"]) == f"mailto:{p.mentee.email}"
    assert str(event["ATTENDEE"].params["CN"]) == "Mel Mentee"
    assert str(event["LOCATION"]) == str(event["URL"]) == "https://meet.example.org/ana-mel"
    assert str(event["DESCRIPTION"]) == (f"Delegation\nand feedback\n\nVideo link: https://meet.example.org/ana-mel"
                                         f"\n\nMeeting page: http://portal.test/meetings/{meeting.id}")
    # The partner's address is shared only when both agree to stay in touch, never by an invitation.
    assert p.mentor.email.encode() not in data


def test_a_change_keeps_the_uid_and_raises_the_sequence_and_a_cancel_says_so(p):
    meeting = schedule(p, fmt="in_person", link="", place="Café Einstein")
    _, first = parse(invitation(p, meeting))
    svc.reschedule_meeting(p.mentee, meeting, D(2026, 3, 16), H(6), 60, "in_person", "", "Café Einstein",
                           now=NOW)
    _, moved = parse(invitation(p, meeting, recipient=p.mentor))
    assert str(moved["UID"]) == str(first["UID"])
    assert (first.decoded("SEQUENCE"), moved.decoded("SEQUENCE")) == (0, 1)
    assert moved.decoded("DTSTART").astimezone(dt.timezone.utc).replace(tzinfo=None) == dt.datetime(2026, 3, 16, 10)
    assert str(moved["LOCATION"]) == "Café Einstein" and "URL" not in moved
    assert str(moved["ATTENDEE"]) == f"mailto:{p.mentor.email}"
    svc.cancel_meeting(p.mentor, meeting, now=NOW)
    calendar, cancelled = parse(invitation(p, meeting))
    assert (str(calendar["METHOD"]), str(cancelled["STATUS"]), cancelled.decoded("SEQUENCE")) == (
        "CANCEL", "CANCELLED", 2)
    assert str(cancelled["UID"]) == str(first["UID"])


def test_a_meeting_in_utc_needs_no_vtimezone_and_an_unscheduled_one_has_no_invitation(p):
    User.update(time_zone="UTC").where(User.id == p.mentor.id).execute()
    meeting = schedule(p, actor=fresh(p.mentor))
    data = invitation(p, meeting)
    assert b"DTSTART:20260316T100000Z" in data and b"VTIMEZONE" not in data
    with pytest.raises(ValueError):
        invitation(p, log(p))


# --- logging a held meeting -------------------------------------------------------------------

def test_a_scheduled_meeting_becomes_held_when_logged_and_the_first_asks_about_fit(p):
    meeting = schedule(p, day=D(2026, 3, 3), time=H(11))
    Notification.delete().execute()
    held = log(p, actor=p.mentee, meeting=meeting, held_on=D(2026, 3, 3), duration=75,
               notes="Delegation *first*",
               next_steps="Write the plan", private_note="I was nervous", now=NOW + dt.timedelta(hours=2))
    m = fresh(held)
    assert m.id == meeting.id
    assert (m.status, m.held_on, m.duration_minutes, m.notes, m.next_steps) == (
        Meeting.HELD, D(2026, 3, 3), 75, "Delegation *first*", "Write the plan")
    assert (m.logged_by_id, m.logged_at, m.sequence) == (p.mentee.id, NOW + dt.timedelta(hours=2), 0)
    assert [t.topic.name for t in MeetingTopic.select().where(MeetingTopic.meeting == m.id)] == ["Leadership"]
    assert [(n.author_id, n.text) for n in PrivateNote.select()] == [(p.mentee.id, "I was nervous")]
    assert actions()[-1][:2] == (p.mentee.id, "meeting.logged")
    assert sorted(notes()) == sorted([(p.mentor.id, notifications.FIRST_MEETING_FIT),
                                      (p.mentee.id, notifications.FIRST_MEETING_FIT)])
    assert Notification.get(Notification.recipient == p.mentee.id).subject == (
        "After your first meeting: is Ana Berger a good fit?")
    log(p, held_on=D(2026, 3, 2))  # a second meeting asks nothing more
    assert len(notes()) == 2


def test_a_meeting_never_scheduled_can_be_logged_afterwards(p):
    held = log(p, held_on=D(2026, 3, 2), duration=30, topic_ids=[])
    m = fresh(held)
    assert (m.status, m.starts_at, m.organiser_id, m.held_on, m.duration_minutes) == (
        Meeting.HELD, None, None, D(2026, 3, 2), 30)
    page = svc.pair_page(p.pair, p.mentee, now=NOW)
    assert [(i.date, i.times, i.status) for i in page.meetings] == [("Mon 02 Mar 2026", "", "held")]
    assert (page.meetings_held, page.minutes, page.hours) == (1, 30, 0.5)


@pytest.mark.parametrize("kwargs, message, field", [
    (dict(held_on=None), "Enter the date the meeting took place", "held_on"),
    (dict(held_on=D(2026, 3, 4)), "The meeting date is in the future: log a meeting once it has taken place",
     "held_on"),
    (dict(held_on=D(2026, 3, 1)), r"The meeting date is before your mentorship started \(02 Mar 2026\)", "held_on"),
    (dict(duration=10), "Choose a duration in steps of 15 minutes, from 15 minutes to 4 hours", "duration"),
    (dict(duration=250), "Choose a duration in steps of 15 minutes", "duration"),
    (dict(duration=None), "Choose a duration in steps of 15 minutes", "duration"),
    (dict(topic_ids=["negotiation"]), "Choose only among the topics of your mentorship", "topics"),
    (dict(notes="x" * 5001), "Keep the notes under 5000 characters", "notes"),
    (dict(next_steps="x" * 5001), "Keep the next steps under 5000 characters", "next_steps"),
    (dict(private_note="x" * 5001), "Keep your private note under 5000 characters", "private_note"),
])
def test_logging_rules(p, kwargs, message, field):
    refused(lambda: log(p, **kwargs), message, field)
    assert Meeting.select().count() == 0 and actions() == [] and notes() == []


def test_topics_of_a_log_are_the_pairs(p):
    # The pair's topics: Leadership (requested), and what Ana offers that Mel seeks (Leadership again);
    # Python is Ana's but Mel does not seek it, Public speaking Mel's but Ana does not offer it.
    assert [t.name for t in svc.pair_topics(p.pair)] == ["Leadership"]
    refused(lambda: log(p, topic_ids=[p.topics["Public speaking"].id]), "Choose only among the topics", "topics")
    refused(lambda: log(p, topic_ids=[p.topics["Negotiation"].id]), "Choose only among the topics", "topics")


def test_the_sydney_partner_logs_the_meeting_on_their_own_date(p, three_zones):
    # At 3 March 15:00 UTC it is already 02:00 on 4 March in Sydney, and 16:00 on 3 March in Berlin.
    now = dt.datetime(2026, 3, 3, 15)
    held = svc.log_meeting(three_zones.sam, three_zones.pair, D(2026, 3, 4), 60, now=now)
    assert fresh(held).held_on == D(2026, 3, 4)
    refused(lambda: svc.log_meeting(p.mentor, three_zones.pair, D(2026, 3, 4), 60, now=now),
            "The meeting date is in the future", "held_on")


def test_the_author_edits_and_deletes_a_log_for_14_days(p):
    held = log(p, private_note="Ana's own thought")
    svc.edit_log(p.mentor, held, D(2026, 3, 3), 90, [], "Better notes", "Next: plan", now=NOW + dt.timedelta(days=3))
    m = fresh(held)
    assert (m.held_on, m.duration_minutes, m.notes, m.next_steps, m.logged_at) == (
        D(2026, 3, 3), 90, "Better notes", "Next: plan", NOW)
    assert MeetingTopic.select().count() == 0
    assert PrivateNote.get().text == "Ana's own thought"  # None: the private note stays as it was
    svc.edit_log(p.mentor, held, D(2026, 3, 3), 90, private_note="", now=NOW)
    assert PrivateNote.select().count() == 0
    refused(lambda: svc.edit_log(p.mentee, held, D(2026, 3, 3), 90, now=NOW),
            "Only the partner who logged this meeting can change or delete its log", error=NotAllowed)
    refused(lambda: svc.delete_log(p.mentee, held, now=NOW), "Only the partner who logged", error=NotAllowed)
    late = NOW + dt.timedelta(days=14, seconds=1)
    refused(lambda: svc.edit_log(p.mentor, held, D(2026, 3, 3), 90, now=late),
            "A log can be changed for 14 days after it is written; this one was written on 03 Mar 2026")
    refused(lambda: svc.delete_log(p.mentor, held, now=late), "A log can be changed for 14 days")
    refused(lambda: svc.edit_log(p.mentor, held, D(2026, 3, 3), 20, now=NOW), "Choose a duration", "duration")
    refused(lambda: svc.edit_log(p.mentor, schedule(p), D(2026, 3, 3), 60, now=NOW), "has not been logged")
    assert [a[1] for a in actions() if a[1].startswith("meeting.log")] == ["meeting.logged", "meeting.log_edited",
                                                                           "meeting.log_edited"]


def test_a_deleted_log_leaves_the_timeline_but_the_partners_feedback_stays_for_coordinators(p):
    held = log(p, private_note="Ana's own thought")
    svc.give_feedback(p.mentee, held, 2, "Not much", Feedback.COORDINATORS, now=NOW)
    svc.set_private_note(p.mentee, held, "Mel's own thought", now=NOW)
    svc.delete_log(p.mentor, held, now=NOW)
    assert fresh(held).status == Meeting.DELETED
    assert [n.text for n in PrivateNote.select()] == ["Mel's own thought"]  # only the author's own note goes
    for partner in (p.mentor, p.mentee):
        page = svc.pair_page(p.pair, partner, now=NOW)
        assert page.meetings == [] and page.meetings_held == 0
        assert svc.visible_meeting(held.id, partner) is None
        assert svc.mentorships_of(partner, now=NOW)[0].meetings_held == 0
    coordinator_page = svc.pair_page(svc.visible_mentorship(p.pair.id, p.coordinator), p.coordinator, now=NOW)
    assert [(i.status, [f.rating for f in i.feedback]) for i in coordinator_page.meetings] == [("deleted", [2])]
    refused(lambda: svc.delete_log(p.mentor, held, now=NOW), "This meeting no longer exists")
    refused(lambda: svc.give_feedback(p.mentee, held, 3, now=NOW), "This meeting no longer exists")


def test_each_partner_keeps_their_own_private_note(p):
    held = log(p)
    svc.set_private_note(p.mentee, held, "  Mel only  ", now=NOW)
    svc.set_private_note(p.mentor, held, "Ana only", now=NOW)
    svc.set_private_note(p.mentor, held, "Ana, again", now=NOW)
    assert sorted((n.author_id, n.text) for n in PrivateNote.select()) == sorted(
        [(p.mentee.id, "Mel only"), (p.mentor.id, "Ana, again")])
    refused(lambda: svc.set_private_note(p.mentor, schedule(p), "x", now=NOW),
            "Private notes are kept on meetings that have been logged", "private_note")
    refused(lambda: svc.set_private_note(p.mentor, held, "x" * 5001, now=NOW), "Keep your private note under",
            "private_note")
    svc.set_private_note(p.mentee, held, "", now=NOW)
    assert [n.author_id for n in PrivateNote.select()] == [p.mentor.id]


# --- feedback -----------------------------------------------------------------------------------

def test_feedback_is_given_once_and_changed_for_7_days(p):
    held = log(p)
    fb = svc.give_feedback(p.mentee, held, "4", "  The delegation checklist ", Feedback.PARTNER, "yes", now=NOW)
    f = fresh(fb)
    assert (f.rating, f.most_useful, f.visibility, f.good_fit, f.author_id) == (
        4, "The delegation checklist", "partner", True, p.mentee.id)
    svc.give_feedback(p.mentee, held, 5, "Changed my mind", Feedback.COORDINATORS, True,
                      now=NOW + dt.timedelta(days=7))
    assert Feedback.select().count() == 1
    f = fresh(fb)
    assert (f.rating, f.visibility, f.created_at, f.updated_at) == (5, "coordinators", NOW,
                                                                     NOW + dt.timedelta(days=7))
    refused(lambda: svc.give_feedback(p.mentee, held, 3, now=NOW + dt.timedelta(days=7, seconds=1)),
            "Feedback can be changed for 7 days after it is given; you gave yours on 03 Mar 2026")
    assert [a[1] for a in actions()][-2:] == ["feedback.given", "feedback.edited"]
    assert fresh(p.pair).flagged_at is None


@pytest.mark.parametrize("kwargs, message, field", [
    (dict(rating=0), "Choose a rating from 1 to 5", "rating"),
    (dict(rating=6), "Choose a rating from 1 to 5", "rating"),
    (dict(rating=None), "Choose a rating from 1 to 5", "rating"),
    (dict(rating="great"), "Choose a rating from 1 to 5", "rating"),
    (dict(most_useful="x" * 2001), "Keep what was most useful under 2000 characters", "most_useful"),
    (dict(visibility="everyone"), "Choose who may read your feedback: your partner, or coordinators only",
     "visibility"),
    (dict(good_fit="maybe"), "Answer “Is this a good fit\\?” with yes or no", "good_fit"),
])
def test_feedback_rules(p, kwargs, message, field):
    held = log(p)
    args = dict(rating=4, most_useful="", visibility=Feedback.PARTNER, good_fit=None) | kwargs
    refused(lambda: svc.give_feedback(p.mentor, held, **args, now=NOW), message, field)
    assert Feedback.select().count() == 0


def test_feedback_needs_a_held_meeting_and_asks_about_fit_after_the_first_only(p):
    refused(lambda: svc.give_feedback(p.mentor, schedule(p), 4, now=NOW),
            "You can give feedback once the meeting has been logged")
    cancelled = svc.cancel_meeting(p.mentor, schedule(p), now=NOW)
    refused(lambda: svc.give_feedback(p.mentor, cancelled, 4, now=NOW), "This meeting was cancelled")
    first = log(p, held_on=D(2026, 3, 2))
    second = log(p, held_on=D(2026, 3, 3))
    assert svc.asks_fit(first) and not svc.asks_fit(second)
    refused(lambda: svc.give_feedback(p.mentor, second, 4, good_fit="no", now=NOW),
            "“Is this a good fit\\?” is asked after your first meeting only", "good_fit")
    page = svc.pair_page(p.pair, p.mentor, now=NOW)
    assert [(i.id, i.asks_fit, i.can_give_feedback) for i in page.meetings if i.status == "held"] == [
        (second.id, False, True), (first.id, True, True)]


def test_not_a_good_fit_flags_the_pair_for_coordinators_only(p, make_member):
    second_coordinator = make_member(name="Carl Coordinator", role=User.COORDINATOR, password=None)
    User.update(role=User.COORDINATOR).where(User.id == p.mentor.id).execute()  # a coordinator in the pair
    mentor = fresh(p.mentor)
    held = log(p)
    Notification.delete().execute()
    svc.give_feedback(p.mentee, held, 2, "Hard to talk", Feedback.COORDINATORS, "no", now=NOW)
    m = fresh(p.pair)
    assert (m.flagged_at, m.flagged_by_id) == (NOW, p.mentee.id)
    assert sorted(notes()) == sorted([(p.coordinator.id, notifications.PAIR_FLAGGED),
                                      (second_coordinator.id, notifications.PAIR_FLAGGED)])
    assert Notification.select().first().subject == "Mel Mentee says their mentorship with Ana Berger is not a good fit"
    assert actions()[-1] == (p.mentee.id, "mentorship.flagged", f"mentorship:{p.pair.id}")

    # The mentor (a coordinator too) sees the pair as a partner: no flag, no trace of the feedback.
    copy = svc.visible_mentorship(p.pair.id, mentor)
    assert "flagged_at" not in copy.__data__ and "flagged_by" not in copy.__data__
    page = svc.pair_page(copy, mentor, now=NOW)
    assert page.flag is None and page.meetings[0].feedback == []
    assert not shows(page, "Hard to talk")
    coordinator_page = svc.pair_page(svc.visible_mentorship(p.pair.id, p.coordinator), p.coordinator, now=NOW)
    assert (coordinator_page.flag.at, coordinator_page.flag.by.name) == (NOW, "Mel Mentee")
    assert [(f.rating, f.good_fit, f.most_useful) for f in coordinator_page.meetings[0].feedback] == [
        (2, False, "Hard to talk")]

    refused(lambda: svc.clear_flag(p.mentee, p.pair), "Only coordinators can clear", error=NotAllowed)
    refused(lambda: svc.clear_flag(mentor, p.pair), "cannot clear the flag of your own mentorship", error=NotAllowed)
    svc.clear_flag(p.coordinator, p.pair)
    assert fresh(p.pair).flagged_at is None and actions()[-1][1] == "mentorship.flag_cleared"
    refused(lambda: svc.clear_flag(p.coordinator, p.pair), "This pair is not flagged")


# --- confidentiality ------------------------------------------------------------------------------

def test_a_partner_never_gets_the_others_private_note_or_coordinators_only_feedback(p):
    held = log(p, private_note="MENTOR-PRIVATE")
    svc.set_private_note(p.mentee, held, "MENTEE-PRIVATE", now=NOW)
    svc.give_feedback(p.mentee, held, 1, "MENTEE-FOR-COORDINATORS", Feedback.COORDINATORS, "no", now=NOW)
    svc.give_feedback(p.mentor, held, 5, "MENTOR-SHARED", Feedback.PARTNER, "yes", now=NOW)

    mentor_page = svc.pair_page(svc.visible_mentorship(p.pair.id, p.mentor), p.mentor, now=NOW)
    item = mentor_page.meetings[0]
    assert item.my_private_note == "MENTOR-PRIVATE"
    assert [(f.author.name, f.rating, f.good_fit, f.mine) for f in item.feedback] == [("Ana Berger", 5, True, True)]
    for secret in ("MENTEE-PRIVATE", "MENTEE-FOR-COORDINATORS"):
        assert not shows(mentor_page, secret)
        assert not any(shows(i, secret) for i in svc.mentorships_of(p.mentor, now=NOW))
    assert 1 not in [f.rating for i in mentor_page.meetings for f in i.feedback]
    assert mentor_page.flag is None

    mentee_page = svc.pair_page(p.pair, p.mentee, now=NOW)
    item = mentee_page.meetings[0]
    assert item.my_private_note == "MENTEE-PRIVATE" and not shows(mentee_page, "MENTOR-PRIVATE")
    # The mentor's shared feedback is there, but its good-fit answer is for coordinators.
    assert [(f.author.name, f.rating, f.most_useful, f.good_fit) for f in item.feedback] == [
        ("Mel Mentee", 1, "MENTEE-FOR-COORDINATORS", False), ("Ana Berger", 5, "MENTOR-SHARED", None)]

    coordinator_page = svc.pair_page(svc.visible_mentorship(p.pair.id, p.coordinator), p.coordinator, now=NOW)
    assert sorted(f.most_useful for f in coordinator_page.meetings[0].feedback) == [
        "MENTEE-FOR-COORDINATORS", "MENTOR-SHARED"]
    assert not shows(coordinator_page, "MENTOR-PRIVATE") and not shows(coordinator_page, "MENTEE-PRIVATE")


# --- my mentorships ----------------------------------------------------------------------------------

def test_my_mentorships_lists_active_then_past_pairs_with_their_meetings(p, make_member, topics):
    log(p, held_on=D(2026, 3, 2), duration=60)
    log(p, held_on=D(2026, 3, 3), duration=45)
    later = schedule(p, day=D(2026, 3, 20))
    soon = schedule(p, day=D(2026, 3, 10), time=H(16))
    svc.cancel_meeting(p.mentor, schedule(p, day=D(2026, 3, 5)), now=NOW)
    ended_mentor = make_member(name="Eve Earlier", offers=[topics["Leadership"]], password=None)
    old = start_pair(ended_mentor, p.mentee, [topics["Leadership"].id], now=T0 - dt.timedelta(days=90))
    svc.end_mentorship(p.mentee, old, "goals_met", now=T0 - dt.timedelta(days=10))

    items = svc.mentorships_of(p.mentee, now=NOW)
    assert [(i.partner.name, i.role, i.active, i.meetings_held, i.minutes, i.hours) for i in items] == [
        ("Ana Berger", "mentee", True, 2, 105, 1.75), ("Eve Earlier", "mentee", False, 0, 0, 0)]
    first = items[0]
    assert (first.next_meeting.id, first.next_date, first.next_when, first.needs_meeting, first.since) == (
        soon.id, "Tue 10 Mar 2026", "11:00 for you · 16:00 for Ana, Berlin", False, T0)
    assert items[1].next_meeting is None and not items[1].needs_meeting
    assert later.id != soon.id
    mine = svc.mentorships_of(p.mentor, now=NOW)
    assert [(i.partner.name, i.role) for i in mine] == [("Mel Mentee", "mentor")]
    assert svc.mentorships_of(p.other, now=NOW) == []


def test_a_pair_with_nothing_scheduled_is_prompted(p):
    schedule(p, day=D(2026, 3, 3), time=H(11))  # already over at NOW + 1 day
    item = svc.mentorships_of(p.mentor, now=NOW + dt.timedelta(days=1))[0]
    assert item.next_meeting is None and item.needs_meeting
    page = svc.pair_page(p.pair, p.mentor, now=NOW + dt.timedelta(days=1))
    assert page.next_meeting is None and [i.status for i in page.needs_log] == ["scheduled"]


# --- ending well ------------------------------------------------------------------------------------

def test_ending_cancels_what_is_to_come_tells_the_partner_and_keeps_the_history(p):
    past = log(p)
    coming = schedule(p)
    Notification.delete().execute()
    AuditEvent.delete().execute()
    svc.end_mentorship(p.mentor, p.pair, "no_longer_able", "  I change jobs; it was a joy. ", True, now=NOW)
    m = fresh(p.pair)
    assert (m.status, m.ended_at, m.ended_by_id, m.end_reason) == (Mentorship.ENDED, NOW, p.mentor.id,
                                                                   "no_longer_able")
    assert (m.mentor_reflection, m.mentee_reflection, m.mentor_stays_in_touch, m.mentee_stays_in_touch) == (
        "I change jobs; it was a joy.", "", True, False)
    assert (fresh(coming).status, fresh(coming).sequence, fresh(past).status) == (Meeting.CANCELLED, 1, Meeting.HELD)
    assert notes() == [(p.mentee.id, notifications.MEETING_CANCELLED), (p.mentee.id, notifications.MENTORSHIP_ENDED)]
    assert Notification.select().order_by(Notification.id.desc()).get().subject == "Ana Berger ended your mentorship"
    assert [a[1] for a in actions()] == ["mentorship.ended", "meeting.cancelled"]
    page = svc.pair_page(p.pair, p.mentee, now=NOW)
    assert (page.end_reason_label, page.ended_by.name, page.partner_contact) == (
        "No longer able to continue", "Ana Berger", None)
    assert [i.id for i in page.meetings] == [coming.id, past.id]


@pytest.mark.parametrize("reason, reflection, message, field", [
    ("", "", "Choose why the mentorship ends", "reason"),
    ("bored", "", "Choose why the mentorship ends", "reason"),
    ("other", " ", "Say in a few words why the mentorship ends", "reflection"),
    ("goals_met", "x" * 3001, "Keep your reflection under 3000 characters", "reflection"),
])
def test_ending_rules(p, reason, reflection, message, field):
    refused(lambda: svc.end_mentorship(p.mentee, p.pair, reason, reflection, now=NOW), message, field)
    assert fresh(p.pair).status == Mentorship.ACTIVE


def test_ending_as_not_a_good_fit_tells_coordinators(p):
    svc.end_mentorship(p.mentee, p.pair, "not_a_good_fit", now=NOW)
    assert sorted(notes()) == sorted([(p.mentor.id, notifications.MENTORSHIP_ENDED),
                                      (p.coordinator.id, notifications.PAIR_FLAGGED)])
    assert Notification.get(Notification.recipient == p.coordinator.id).subject == (
        "Mel Mentee ended the mentorship with Ana Berger: not a good fit")


def test_ending_frees_the_mentors_place_for_a_new_request(p, make_member, topics):
    newcomer = make_member(name="Nia Newcomer", seeks=[topics["Leadership"]], password=None)
    with pytest.raises(requests.RequestError, match="has no free place"):
        requests.send_request(newcomer, p.mentor, [topics["Leadership"].id], HELP, SUCCESS, "video", now=NOW)
    svc.end_mentorship(p.mentee, p.pair, "goals_met", now=NOW)
    req = requests.send_request(newcomer, p.mentor, [topics["Leadership"].id], HELP, SUCCESS, "video", now=NOW)
    accepted = requests.accept(p.mentor, req, now=NOW)
    assert accepted.mentorship.status == Mentorship.ACTIVE
    assert [i.partner.name for i in svc.mentorships_of(p.mentor, now=NOW)] == ["Nia Newcomer", "Mel Mentee"]


def test_the_other_partner_adds_a_reflection_after_the_end(p):
    refused(lambda: svc.write_reflection(p.mentor, p.pair, "Early"), "written when the mentorship ends",
            "reflection")
    svc.end_mentorship(p.mentee, p.pair, "goals_met", "I lead with confidence now.", now=NOW)
    svc.write_reflection(p.mentor, p.pair, " Proud of you. ")
    refused(lambda: svc.write_reflection(p.mentor, p.pair, "x" * 3001), "Keep your reflection under 3000",
            "reflection")
    page = svc.pair_page(p.pair, p.mentor, now=NOW)
    assert [(who.name, text) for who, text in page.reflections] == [
        ("Ana Berger", "Proud of you."), ("Mel Mentee", "I lead with confidence now.")]
    assert page.my_reflection == "Proud of you."
    assert actions()[-1][1] == "mentorship.reflection"


def test_contact_details_are_shared_only_when_both_want_to_stay_in_touch(p):
    svc.end_mentorship(p.mentee, p.pair, "goals_met", stay_in_touch=True, now=NOW)
    Notification.delete().execute()
    page = svc.pair_page(p.pair, p.mentor, now=NOW)
    assert (page.i_stay_in_touch, page.partner_stays_in_touch, page.partner_contact) == (False, True, None)
    assert svc.pair_page(p.pair, p.mentee, now=NOW).partner_contact is None
    svc.set_stay_in_touch(p.mentor, p.pair, True, now=NOW)
    assert svc.pair_page(p.pair, p.mentor, now=NOW).partner_contact == p.mentee.email
    assert svc.pair_page(p.pair, p.mentee, now=NOW).partner_contact == p.mentor.email
    coordinator_page = svc.pair_page(svc.visible_mentorship(p.pair.id, p.coordinator), p.coordinator, now=NOW)
    assert coordinator_page.partner_contact is None
    assert [(n.recipient_id, n.subject) for n in Notification.select()] == [
        (p.mentee.id, "Ana Berger agreed to stay in touch: you can now see each other's contact details")]
    svc.set_stay_in_touch(p.mentor, p.pair, True, now=NOW)  # no change, no news
    svc.set_stay_in_touch(p.mentee, p.pair, False, now=NOW)
    assert svc.pair_page(p.pair, p.mentor, now=NOW).partner_contact is None
    assert Notification.select().count() == 1
    assert [a.target for a in AuditEvent.select().where(AuditEvent.action == "mentorship.stay_in_touch")] == [
        f"mentorship:{p.pair.id}"] * 2


def test_asking_to_stay_in_touch_tells_the_partner(p):
    svc.set_stay_in_touch(p.mentee, p.pair, True, now=NOW)
    assert [(n.recipient_id, n.kind, n.subject) for n in Notification.select()] == [
        (p.mentor.id, notifications.STAY_IN_TOUCH, "Mel Mentee would like to stay in touch")]


@pytest.mark.parametrize("minutes, words", [(15, "15 min"), (60, "1 h"), (75, "1 h 15 min"), (240, "4 h")])
def test_a_meeting_length_is_written_for_people(minutes, words):
    assert svc.times.duration(minutes) == words


# --- when both can meet -------------------------------------------------------------------------------

@pytest.mark.parametrize("day, mine, theirs", [
    (D(2026, 3, 2), "14:00–18:00", "08:00–12:00"),   # Berlin CET, New York EST: 6 h apart
    (D(2026, 3, 16), "13:00–18:00", "08:00–13:00"),  # New York on summer time already: 5 h apart
    (D(2026, 3, 30), "14:00–18:00", "08:00–12:00"),  # both on summer time: 6 h again
])
def test_the_overlap_of_both_working_days_follows_the_clock_changes(p, day, mine, theirs):
    windows = svc.overlap_hours(p.mentor, p.mentee, day)
    assert svc.describe_overlap(windows, p.mentor, p.mentee) == [f"{mine} for you · {theirs} for Mel, New York"]
    assert svc.describe_overlap(svc.overlap_hours(p.mentee, p.mentor, day), p.mentee, p.mentor) == [
        f"{theirs} for you · {mine} for Ana, Berlin"]
    assert sum(w.hours for w in windows) == (5 if day == D(2026, 3, 16) else 4)


def test_the_overlap_uses_the_hours_a_profile_names(p, three_zones):
    sam = three_zones.sam
    assert svc.overlap_hours(p.mentor, sam, D(2026, 3, 16)) == []  # 08–18 in Berlin and in Sydney never meet
    sam.profile.availability_note = "Evenings 18:00–22:00, not on Fridays"
    sam.profile.save()
    windows = svc.overlap_hours(p.mentor, fresh(sam), D(2026, 3, 16))
    assert [w.hours for w in windows] == [4]
    assert svc.describe_overlap(windows, p.mentor, sam) == ["08:00–12:00 for you · 18:00–22:00 for Sam, Sydney"]


# --- a fixed number of queries ---------------------------------------------------------------------

def fill(p, count):
    """``count`` held meetings with topics, both partners' feedback and private notes, in a few statements."""
    rows = [dict(mentorship=p.pair.id, status=Meeting.HELD, held_on=D(2026, 3, 2), duration_minutes=60,
                 logged_by=p.mentor.id, logged_at=NOW, ics_uid=f"fill-{p.pair.id}-{i}@test", created_at=NOW,
                 updated_at=NOW, notes=f"Meeting {i}") for i in range(count)]
    Meeting.insert_many(rows).execute()
    ids = [m.id for m in Meeting.select(Meeting.id).where(Meeting.ics_uid.startswith("fill-"))]
    MeetingTopic.insert_many([dict(meeting=i, topic=p.topics["Leadership"].id) for i in ids]).execute()
    Feedback.insert_many([dict(meeting=i, author=a.id, rating=4, visibility=v, created_at=NOW, updated_at=NOW)
                          for i in ids for a, v in ((p.mentor, "partner"), (p.mentee, "coordinators"))]).execute()
    PrivateNote.insert_many([dict(meeting=i, author=p.mentor.id, text="mine", created_at=NOW, updated_at=NOW)
                             for i in ids]).execute()
    Milestone.insert_many([dict(mentorship=p.pair.id, title=f"M{i}", done_by=p.mentee.id, done_at=NOW,
                                created_at=NOW) for i in range(count // 10)]).execute()


def queries_for_pages(p, count_queries):
    counts = []
    for viewer in (p.mentor, p.coordinator):
        with count_queries() as queries:
            page = svc.pair_page(svc.visible_mentorship(p.pair.id, viewer), viewer, now=NOW)
            [(i.times, i.topics, i.organiser, i.logged_by, [f.author for f in i.feedback]) for i in page.meetings]
            [m.done_by for m in page.milestones]
        counts.append(len(queries))
    with count_queries() as queries:
        svc.mentorships_of(p.mentor, now=NOW)
    return counts + [len(queries)], len(page.meetings)


def test_the_pair_page_runs_the_same_queries_for_1_and_200_meetings(p, count_queries):
    schedule(p)
    fill(p, 1)
    few, shown = queries_for_pages(p, count_queries)
    assert shown == 2
    Meeting.delete().where(Meeting.ics_uid.startswith("fill-")).execute()
    fill(p, 200)
    many, shown = queries_for_pages(p, count_queries)
    assert shown == 201
    assert many == few, (few, many)
    assert few[0] <= 8 and few[2] == 3, few


# --- the demo program -------------------------------------------------------------------------------

def test_the_demo_pairs_have_meetings_feedback_and_milestones(db):
    demo.seed(members=40, echo=lambda *_: None)
    counts = (Meeting.select().count(), Feedback.select().count(), Milestone.select().count())
    assert all(counts), counts
    assert Meeting.select().where(Meeting.status == Meeting.SCHEDULED).exists()
    assert Feedback.select().where(Feedback.visibility == Feedback.COORDINATORS).exists()
    demo.seed(members=40, echo=lambda *_: None)
    assert (Meeting.select().count(), Feedback.select().count(), Milestone.select().count()) == counts
