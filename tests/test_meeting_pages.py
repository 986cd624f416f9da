"""Meetings in the browser (journey 4): schedule one in my own time zone with the hours both partners
work, move or cancel it, download it for a calendar, log it (scheduled or not), edit or delete the log,
keep a private note, give feedback (in place with htmx), and the invitation email; who may open what,
every message on its field with what was typed kept, times around the clock changes in two zones, and
a partner who never learns of the other's private note or coordinators-only feedback."""
import datetime as dt
import re
import socket
from email import message_from_bytes, policy
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from icalendar import Calendar
from markupsafe import escape

from portal import mail
from portal.mentorships import services as svc
from portal.mentorships import times
from portal.models import (AuditEvent, Feedback, Meeting, MeetingTopic, Mentorship, Notification, PrivateNote, User,
                           utcnow)
from portal.notifications import services as notifications
from portal.requests import services as requests

HELP = "I lead a team of four for the first time and want to do it well."
SUCCESS = "Our weekly meeting runs itself and I delegate without worrying."
LINK = "https://meet.example.org/ana-mel"
AGENDA = "Your first month as a lead"
PASSWORD = "correct horse battery"
D, H = dt.date, dt.time


@pytest.fixture
def p(app, make_member, topics):
    """Ana (Berlin) mentors Mel (New York); Cora coordinates; Otto is another member. Each has a client."""
    t = topics
    mentor = make_member(name="Ana Berger", email="ana@example.org", time_zone="Europe/Berlin",
                         offers=[t["Leadership"], t["Python"]])
    mentee = make_member(name="Mel Mentee", email="mel@example.org", time_zone="America/New_York",
                         seeks=[t["Leadership"], t["Public speaking"]])
    coordinator = make_member(name="Cora Coordinator", email="cora@example.org", role=User.COORDINATOR)
    other = make_member(name="Otto Other", email="otto@example.org", seeks=[t["Python"]])
    req = requests.send_request(mentee, mentor, [t["Leadership"].id], HELP, SUCCESS, "video")
    pair = Mentorship.get_by_id(requests.accept(mentor, req).mentorship_id)
    Notification.delete().execute()
    AuditEvent.delete().execute()
    clients = {}
    for role, user in (("ana", mentor), ("mel", mentee), ("cora", coordinator), ("otto", other)):
        clients[role] = app.test_client()
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page(clients[role].get("/login")))
        data = {"email": user.email, "password": PASSWORD, "csrf_token": token.group(1) if token else ""}
        assert clients[role].post("/login", data=data).status_code == 302
    return SimpleNamespace(mentor=mentor, mentee=mentee, coordinator=coordinator, other=other, pair=pair, topics=t,
                           **clients)


def page(response):
    return response.get_data(as_text=True)


def fresh(row):
    return type(row).get_by_id(row.id)


def today(user):
    return times.today(user.time_zone, utcnow())


def schedule(p, days=10, at=H(10), actor=None, **kw):
    actor = actor or p.mentor
    args = dict(duration=60, format="video", link=LINK, place="", agenda=AGENDA) | kw
    return svc.schedule_meeting(actor, p.pair, today(actor) + dt.timedelta(days=days), at, **args)


def log(p, actor=None, meeting=None, private_note="", notes="We talked about delegation."):
    actor = actor or p.mentor
    return svc.log_meeting(actor, p.pair, today(actor), 60, [p.topics["Leadership"].id], notes, "Write the plan",
                           private_note, meeting=meeting)


def form(day, time="10:00", **changes):
    data = {"date": day.isoformat(), "time": time, "duration": "60", "format": "video", "link": LINK, "place": "",
            "agenda": AGENDA}
    return data | changes


def field_error(html, field):
    """The error message shown on a field, or None."""
    found = re.search(rf'<small id="{re.escape(field)}-error" class="error">([^<]*)</small>', html)
    return found and found.group(1)


def textarea(text):
    """How a text box shows what was typed."""
    return f">\r\n{escape(text)}</textarea>"


def item_of(html, meeting_id):
    """The timeline item of a meeting in a page."""
    found = re.search(rf'<article class="meeting [a-z]+" id="meeting-{meeting_id}".*?</article>', html, re.S)
    assert found, f"no meeting {meeting_id} in the page"
    return found.group(0)


def prefixed(meeting, **data):
    """The fields of a meeting's private note or feedback form (named after the meeting: several may be open)."""
    return {f"meeting-{meeting.id}-{name}": value for name, value in data.items()}


def next_change(zone, forward, within=360):
    """The next day a zone's clocks go forward (or back), within ``within`` days, and the local hour they skip
    (or repeat); None when there is none so soon."""
    tz = times.zone(zone)
    day = dt.date.today() + dt.timedelta(days=2)
    for _ in range(within):
        at_start = dt.datetime.combine(day, H(0)).replace(tzinfo=tz).utcoffset()
        at_end = dt.datetime.combine(day, H(23, 59)).replace(tzinfo=tz).utcoffset()
        if at_start != at_end and (at_end > at_start) == forward:
            for hour in range(24):
                wall = dt.datetime.combine(day, H(hour, 30))
                if wall.replace(tzinfo=tz, fold=0).utcoffset() != wall.replace(tzinfo=tz, fold=1).utcoffset():
                    return day, H(hour, 30)
        day += dt.timedelta(days=1)
    return None


def soonest_change(forward):
    """A zone with a clock change coming within the year the portal schedules ahead, the day and the hour."""
    for zone in ("Europe/Berlin", "America/New_York"):  # a week or more apart: one is always near enough
        found = next_change(zone, forward)
        if found:
            return (zone, *found)
    raise AssertionError("no clock change within a year in Berlin or New York")


# --- scheduling ---------------------------------------------------------------------------------

def test_the_schedule_form_names_my_zone_and_shows_when_we_both_work(p):
    html = page(p.ana.get(f"/mentorships/{p.pair.id}/meetings/new"))
    assert "Schedule a meeting with Mel Mentee" in html
    assert "When, in your time zone: Europe/Berlin" in html
    assert "Mel Mentee sees the meeting in theirs, America/New York." in html
    for code, label in svc.FORMAT_LABEL.items():
        assert f'value="{code}"' in html and label in html
    assert '<option selected value="60">1 h</option>' in html and ">4 h</option>" in html and ">15 min</option>" in html
    # The next working day, as the overlap of 09:00–17:00 in both zones.
    day = today(p.mentor) + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    expected = svc.describe_overlap(svc.overlap_hours(p.mentor, p.mentee, day), p.mentor, p.mentee)
    assert expected and f"On {day:%A %d %B %Y} (the next working day), your days overlap {expected[0]}." in html


def test_the_overlap_follows_the_day_chosen_with_and_without_javascript(p):
    day = today(p.mentor) + dt.timedelta(days=20)
    lines = svc.describe_overlap(svc.overlap_hours(p.mentee, p.mentor, day), p.mentee, p.mentor)
    url = f"/mentorships/{p.pair.id}/meetings/new?date={day.isoformat()}"
    html = page(p.mel.get(url))
    assert f"On {day:%A %d %B %Y}, your days overlap {lines[0]}." in html
    assert f'value="{day.isoformat()}"' in html  # the form takes the day
    partial = page(p.mel.get(url, headers={"HX-Request": "true", "HX-Target": "overlap"}))
    assert f"your days overlap {lines[0]}." in partial and "<form" not in partial and "<main" not in partial
    # A partner's availability note ("Evenings 18:00–22:00") is what counts, not a working day.
    profile = p.mentee.profile
    profile.availability_note = "Evenings 18:00–22:00"
    profile.save()
    html = page(p.ana.get(url, headers={"HX-Request": "true", "HX-Target": "overlap"}))
    assert "your days do not overlap: one of you would meet outside their usual hours." in html


def test_scheduling_a_meeting_tells_the_partner_and_shows_it_in_both_zones(p, mailbox):
    day = today(p.mentor) + dt.timedelta(days=14)
    response = p.ana.post(f"/mentorships/{p.pair.id}/meetings/new",
                          data=form(day, "16:30", agenda="Delegation\nand feedback"))
    meeting = Meeting.get()
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/mentorships/{p.pair.id}#meeting-{meeting.id}")
    start = times.local(meeting.starts_at, "Europe/Berlin")
    assert (start.date(), start.time(), meeting.time_zone, meeting.organiser_id) == (
        day, H(16, 30), "Europe/Berlin", p.mentor.id)
    assert [(n.recipient_id, n.kind) for n in Notification.select()] == [(p.mentee.id, notifications.MEETING_SCHEDULED)]
    assert [e.action for e in AuditEvent.select()] == ["meeting.scheduled"]
    assert mailbox.messages == []  # the invitation goes out with the delivery job, not from the request
    mine = svc.times_for(meeting.starts_at, p.mentor, [p.mentee])
    assert re.fullmatch(r"16:30 for you · \d\d:30 for Mel, New York", mine)
    html = page(p.ana.get(f"/mentorships/{p.pair.id}"))
    assert f"The meeting is scheduled: {day:%a %d %b %Y}, {mine}. Mel Mentee is told." in html
    item = item_of(html, meeting.id)
    assert mine in item and "Scheduled</strong> by you" in item and "Delegation<br>and feedback" in item
    assert f'href="{LINK}"' in item and "1 h" in item
    theirs = item_of(page(p.mel.get(f"/mentorships/{p.pair.id}")), meeting.id)
    assert svc.times_for(meeting.starts_at, p.mentee, [p.mentor]) in theirs
    assert "for you · 16:30 for Ana, Berlin" in theirs and "Scheduled</strong> by Ana Berger" in theirs


@pytest.mark.parametrize("changes, message, field", [
    (dict(date=""), "Enter the date of the meeting.", "date"),
    (dict(date="16/03/2027"), "Enter the date as a date, such as 2027-03-16.", "date"),
    (dict(time=""), "Enter the time the meeting starts.", "time"),
    (dict(time="noon"), "Enter the time as hours and minutes, such as 14:30.", "time"),
    (dict(date=-1), "That day has passed: choose a date from today on.", "date"),
    (dict(date=400), "Schedule meetings at most a year ahead.", "date"),
    (dict(duration="50"), "Choose a duration in steps of 15 minutes, from 15 minutes to 4 hours.", "duration"),
    (dict(format="chat"), "Choose how you will meet: video call, phone call or in person.", "format"),
    (dict(link="ftp://files.example.org/x"), "Enter the video link as a web address that starts with https://.",
     "link"),
    (dict(format="in_person", link="", place=" "), "Say where you will meet.", "place"),
    (dict(place="Café " * 50), "Keep the place under 200 characters (you wrote 249).", "place"),
    (dict(agenda="Plans " * 400), "Keep the agenda under 2000 characters (you wrote 2399).", "agenda"),
])
def test_each_scheduling_mistake_is_named_on_its_field_with_what_was_typed_kept(p, changes, message, field):
    soon = today(p.mentor) + dt.timedelta(days=7)
    if isinstance(changes.get("date"), int):
        changes["date"] = (today(p.mentor) + dt.timedelta(days=changes["date"])).isoformat()
    data = form(soon, agenda="Typed *agenda* & more") | changes
    response = p.ana.post(f"/mentorships/{p.pair.id}/meetings/new", data=data)
    html = page(response)
    assert response.status_code == 200
    assert field_error(html, field) == message
    assert "Please correct the field marked below." in html
    for name in ("link", "place"):
        if data[name].strip():
            assert f'value="{escape(data[name])}"' in html
    assert textarea(data["agenda"]) in html
    assert f'value="{escape(data["date"])}"' in html and f'value="{escape(data["time"])}"' in html
    assert re.search(rf'<input (?:aria-invalid="true" )?checked id="format-\d" name="format" type="radio" '
                     rf'value="{data["format"]}">', html) or field == "format"
    assert Meeting.select().count() == 0 and Notification.select().count() == 0


def test_a_time_the_clocks_skip_is_refused_on_the_time_field(p):
    zone, day, hour = soonest_change(forward=True)
    User.update(time_zone=zone).where(User.id == p.mentor.id).execute()
    html = page(p.ana.post(f"/mentorships/{p.pair.id}/meetings/new", data=form(day, f"{hour:%H:%M}")))
    assert field_error(html, "time") == (
        f"{hour:%H:%M} does not exist on {day.day} {day:%B %Y} in your time zone ({zone}): the clocks go forward "
        "that night. Choose another time.")
    assert Meeting.select().count() == 0


def test_a_time_the_clocks_repeat_is_saved_and_the_notice_shown_after(p):
    zone, day, hour = soonest_change(forward=False)
    User.update(time_zone=zone).where(User.id == p.mentor.id).execute()
    response = p.ana.post(f"/mentorships/{p.pair.id}/meetings/new", data=form(day, f"{hour:%H:%M}"),
                          follow_redirects=True)
    html = page(response)
    meeting = Meeting.get()
    first = dt.datetime.combine(day, hour).replace(tzinfo=times.zone(zone), fold=0)
    assert times.aware(meeting.starts_at) == first.astimezone(dt.timezone.utc)  # the first of the two
    assert (f"{hour:%H:%M} happens twice on {day.day} {day:%B %Y} in your time zone ({zone}), as the clocks go "
            f"back: the meeting is at the first one, {hour:%H:%M} {first.tzname()}") in html
    assert "The meeting is scheduled" in html


@pytest.mark.parametrize("day, berlin, new_york", [
    # 8 March 2026 New York moves to summer time, 29 March Berlin: for three weeks they are 5 hours apart.
    (D(2026, 3, 6), "10:00", "04:00"),
    (D(2026, 3, 16), "10:00", "05:00"),
    (D(2026, 3, 30), "10:00", "04:00"),
    # 25 October Berlin goes back to winter time, 1 November New York: for a week 5 hours apart again.
    (D(2026, 10, 23), "10:00", "04:00"),
    (D(2026, 10, 26), "10:00", "05:00"),
    (D(2026, 11, 2), "10:00", "04:00"),
])
def test_the_timeline_shows_each_partner_the_time_in_their_zone_across_the_clock_changes(p, day, berlin, new_york):
    meeting = svc.schedule_meeting(p.mentor, p.pair, day, H(10), 60, "video", LINK, now=dt.datetime(2026, 3, 2))
    for client, words in ((p.ana, f"{berlin} for you · {new_york} for Mel, New York"),
                          (p.mel, f"{new_york} for you · {berlin} for Ana, Berlin"),
                          (p.cora, f"{berlin} for Ana, Berlin · {new_york} for Mel, New York")):
        for path in (f"/mentorships/{p.pair.id}", f"/meetings/{meeting.id}"):
            item = item_of(page(client.get(path)), meeting.id)
            assert words in item and f"{day:%a %d %b %Y}" in item, (path, item)


def test_mel_schedules_in_new_york_time_and_ana_sees_berlin_time(p):
    meeting = svc.schedule_meeting(p.mentee, p.pair, D(2026, 3, 9), H(9), 60, "phone", place="Mel calls Ana",
                                   now=dt.datetime(2026, 3, 2))
    assert fresh(meeting).time_zone == "America/New_York"
    item = item_of(page(p.ana.get(f"/mentorships/{p.pair.id}")), meeting.id)
    assert "14:00 for you · 09:00 for Mel, New York" in item and "Phone call" in item and "Mel calls Ana" in item


# --- moving and cancelling -----------------------------------------------------------------------

def test_the_partner_moves_the_meeting_in_their_own_zone(p):
    meeting = schedule(p, days=10, at=H(16))
    start_ny = times.local(meeting.starts_at, "America/New_York")
    html = page(p.mel.get(f"/meetings/{meeting.id}/edit"))
    assert "Change the meeting with Ana Berger" in html
    assert f'value="{start_ny:%Y-%m-%d}"' in html and f'value="{start_ny:%H:%M}"' in html
    assert f'value="{LINK}"' in html and textarea(AGENDA) in html
    day = start_ny.date() + dt.timedelta(days=1)
    response = p.mel.post(f"/meetings/{meeting.id}/edit", data=form(day, "08:15", duration="45"))
    assert response.status_code == 303
    moved = fresh(meeting)
    assert times.local(moved.starts_at, "America/New_York").replace(tzinfo=None) == dt.datetime.combine(day, H(8, 15))
    assert (moved.sequence, moved.duration_minutes, moved.ics_uid, moved.organiser_id) == (
        1, 45, meeting.ics_uid, p.mentor.id)
    assert [(n.recipient_id, n.kind) for n in Notification.select().order_by(Notification.id)][-1] == (
        p.mentor.id, notifications.MEETING_CHANGED)
    html = page(p.mel.get(f"/mentorships/{p.pair.id}"))
    assert f"The meeting is changed: {day:%a %d %b %Y}, 08:15 for you" in html and "45 min" in html
    # Saving it again unchanged changes nothing and tells nobody.
    count = Notification.select().count()
    p.mel.post(f"/meetings/{meeting.id}/edit", data=form(day, "08:15", duration="45"))
    assert fresh(meeting).sequence == 1 and Notification.select().count() == count
    assert "Nothing changed: the meeting stays as it was." in page(p.mel.get(f"/mentorships/{p.pair.id}"))


def test_a_mistake_when_moving_stays_on_its_field(p):
    meeting = schedule(p)
    tomorrow = today(p.mentor) + dt.timedelta(days=1)  # 10:00 today has passed after ten in Berlin
    html = page(p.ana.post(f"/meetings/{meeting.id}/edit", data=form(tomorrow, "10:00", duration="20")))
    assert field_error(html, "duration") == "Choose a duration in steps of 15 minutes, from 15 minutes to 4 hours."
    assert '<option selected value="20">' not in html and fresh(meeting).sequence == 0


def test_cancelling_asks_for_a_clear_confirmation_and_tells_the_partner(p):
    meeting = schedule(p)
    item = item_of(page(p.mel.get(f"/mentorships/{p.pair.id}")), meeting.id)
    assert "<summary>Cancel the meeting…</summary>" in item
    assert f"Yes, cancel the meeting of {times.when(meeting.starts_at, 'America/New_York', '%a %d %b %Y')}" in item
    response = p.mel.post(f"/meetings/{meeting.id}/cancel")
    assert response.status_code == 303
    m = fresh(meeting)
    assert (m.status, m.cancelled_by_id, m.sequence) == (Meeting.CANCELLED, p.mentee.id, 1)
    assert Notification.select().order_by(Notification.id.desc()).get().kind == notifications.MEETING_CANCELLED
    html = page(p.mel.get(f"/mentorships/{p.pair.id}"))
    assert "The meeting is cancelled. Ana Berger is told, and calendars take it out." in html
    item = item_of(html, meeting.id)
    assert "Cancelled</strong> by you" in item and "Take it out of my calendar (.ics)" in item
    assert "Move or change it" not in item and "Cancel the meeting" not in item
    # A second try says why, and a stale form link leads back to the meeting.
    p.mel.post(f"/meetings/{meeting.id}/cancel")
    assert "This meeting was cancelled: schedule a new one instead." in page(p.mel.get(f"/mentorships/{p.pair.id}"))
    response = p.mel.get(f"/meetings/{meeting.id}/edit")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/meetings/{meeting.id}")


def test_an_ended_mentorship_schedules_nothing_more(p):
    svc.end_mentorship(p.mentee, p.pair, "goals_met")
    for path in (f"/mentorships/{p.pair.id}/meetings/new", f"/mentorships/{p.pair.id}/meetings/log"):
        response = p.ana.get(path, follow_redirects=True)
        assert svc.ENDED in page(response)
    response = p.ana.post(f"/mentorships/{p.pair.id}/meetings/new", data=form(today(p.mentor) + dt.timedelta(days=3)))
    assert response.status_code == 303 and Meeting.select().count() == 0


# --- the .ics -----------------------------------------------------------------------------------

def calendar_of(response):
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="mentoring-\d{4}-\d\d-\d\d\.ics"',
                        response.headers["Content-Disposition"])
    calendar = Calendar.from_ical(response.get_data())
    [event] = calendar.walk("VEVENT")
    return calendar, event


def test_the_ics_is_a_request_then_an_update_with_the_same_uid_then_a_cancel(p):
    meeting = schedule(p)
    calendar, first = calendar_of(p.mel.get(f"/meetings/{meeting.id}.ics"))
    assert str(calendar["METHOD"]) == "REQUEST" and first.decoded("SEQUENCE") == 0
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    assert first.decoded("DTSTART").astimezone(dt.timezone.utc).replace(tzinfo=None) == meeting.starts_at
    assert str(first["ATTENDEE"]) == "mailto:mel@example.org" and AGENDA in str(first["DESCRIPTION"])
    assert b"ana@example.org" not in p.mel.get(f"/meetings/{meeting.id}.ics").get_data()
    day = today(p.mentor) + dt.timedelta(days=12)
    p.ana.post(f"/meetings/{meeting.id}/edit", data=form(day, "11:00"))
    _, moved = calendar_of(p.ana.get(f"/meetings/{meeting.id}.ics"))
    assert str(moved["UID"]) == str(first["UID"]) and moved.decoded("SEQUENCE") == 1
    assert str(moved["ATTENDEE"]) == "mailto:ana@example.org"
    p.ana.post(f"/meetings/{meeting.id}/cancel")
    calendar, cancelled = calendar_of(p.mel.get(f"/meetings/{meeting.id}.ics"))
    assert (str(calendar["METHOD"]), str(cancelled["STATUS"]), cancelled.decoded("SEQUENCE")) == (
        "CANCEL", "CANCELLED", 2)
    assert str(cancelled["UID"]) == str(first["UID"])


def test_the_ics_is_for_the_partners_only(p):
    meeting = schedule(p)
    assert p.otto.get(f"/meetings/{meeting.id}.ics").status_code == 404
    assert p.cora.get(f"/meetings/{meeting.id}.ics").status_code == 403
    assert p.ana.get("/meetings/999999.ics").status_code == 404
    never_scheduled = log(p)
    assert p.ana.get(f"/meetings/{never_scheduled.id}.ics").status_code == 404
    assert "(.ics)" not in item_of(page(p.ana.get(f"/mentorships/{p.pair.id}")), never_scheduled.id)


# --- logging ------------------------------------------------------------------------------------

def log_form(day, **changes):
    return {"held_on": day.isoformat(), "duration": "75", "notes": "We talked about *delegation*.",
            "next_steps": "Write the plan", "private_note": "I was nervous"} | changes


def test_logging_a_meeting_never_scheduled(p):
    leadership, python = p.topics["Leadership"], p.topics["Python"]
    html = page(p.mel.get(f"/mentorships/{p.pair.id}/meetings/log"))
    assert "Log your meeting with Ana Berger" in html
    assert f'value="{today(p.mentee).isoformat()}"' in html  # today, in Mel's zone
    assert "Topics covered" in html and "Leadership" in html and "Python" not in html  # the pair's topics
    assert "Private note: only you will ever see this" in html
    assert re.findall(r"<option[^>]*>([^<]*)</option>", html) == [times.duration(m) for m in svc.DURATIONS]
    response = p.mel.post(f"/mentorships/{p.pair.id}/meetings/log",
                          data=log_form(today(p.mentee), topics=[str(leadership.id)]))
    meeting = Meeting.get()
    assert response.status_code == 303 and response.headers["Location"].endswith(f"#meeting-{meeting.id}")
    assert (meeting.status, meeting.starts_at, meeting.duration_minutes, meeting.logged_by_id) == (
        Meeting.HELD, None, 75, p.mentee.id)
    assert [link.topic_id for link in MeetingTopic.select()] == [leadership.id]
    assert [(n.author_id, n.text) for n in PrivateNote.select()] == [(p.mentee.id, "I was nervous")]
    html = page(p.mel.get(f"/mentorships/{p.pair.id}"))
    assert f"The meeting of {today(p.mentee):%a %d %b %Y} is logged." in html
    item = item_of(html, meeting.id)
    assert "<em>delegation</em>" in item and "Write the plan" in item and "1 h 15 min" in item
    assert "Your private note" in item and "I was nervous" in item and "Leadership" in item
    assert python.name not in item


@pytest.mark.parametrize("changes, message, field", [
    (dict(held_on=""), "Enter the date the meeting took place.", "held_on"),
    (dict(held_on="yesterday"), "Enter the date as a date, such as 2027-03-16.", "held_on"),
    (dict(held_on=2), "The meeting date is in the future: log a meeting once it has taken place.", "held_on"),
    (dict(held_on=-40), "The meeting date is before your mentorship started", "held_on"),
    (dict(duration="10"), "Choose a duration in steps of 15 minutes, from 15 minutes to 4 hours.", "duration"),
    (dict(duration="255"), "Choose a duration in steps of 15 minutes, from 15 minutes to 4 hours.", "duration"),
    (dict(topics=["python"]), "Choose only among the topics of your mentorship.", "topics"),
    (dict(notes="Notes " * 900), "Keep the notes under 5000 characters (you wrote 5399).", "notes"),
    (dict(next_steps="Step " * 1001), "Keep the next steps under 5000 characters (you wrote 5004).", "next_steps"),
    (dict(private_note="Mine " * 1001), "Keep your private note under 5000 characters (you wrote 5004).",
     "private_note"),
])
def test_each_logging_mistake_is_named_on_its_field_with_what_was_typed_kept(p, changes, message, field):
    if isinstance(changes.get("held_on"), int):
        changes["held_on"] = (today(p.mentee) + dt.timedelta(days=changes["held_on"])).isoformat()
    if changes.get("topics") == ["python"]:
        changes["topics"] = [str(p.topics["Python"].id)]
    data = log_form(today(p.mentee)) | changes
    html = page(p.mel.post(f"/mentorships/{p.pair.id}/meetings/log", data=data))
    assert (field_error(html, field) or "").startswith(message), field_error(html, field)
    for name in ("notes", "next_steps", "private_note"):
        assert textarea(data[name]) in html
    assert f'value="{escape(data["held_on"])}"' in html
    assert Meeting.select().count() == 0 and PrivateNote.select().count() == 0


def test_logging_a_scheduled_meeting_makes_it_held(p):
    meeting = schedule(p, days=1, duration=30)
    item = item_of(page(p.ana.get(f"/mentorships/{p.pair.id}")), meeting.id)
    assert f'href="/meetings/{meeting.id}/log"' in item
    html = page(p.ana.get(f"/meetings/{meeting.id}/log"))
    assert f'value="{today(p.mentor).isoformat()}"' in html and '<option selected value="30">' in html
    response = p.ana.post(f"/meetings/{meeting.id}/log", data=log_form(today(p.mentor), duration="30"))
    assert response.status_code == 303
    held = fresh(meeting)
    assert (held.status, held.held_on, held.logged_by_id, held.sequence) == (Meeting.HELD, today(p.mentor),
                                                                             p.mentor.id, 0)
    assert Meeting.select().count() == 1
    assert [n.kind for n in Notification.select().where(Notification.kind == notifications.FIRST_MEETING_FIT)] == [
        notifications.FIRST_MEETING_FIT] * 2
    response = p.ana.get(f"/meetings/{meeting.id}/log")  # already logged: back to the meeting, saying so
    assert response.status_code == 303
    assert "Only a scheduled meeting can be logged" in page(p.ana.get(f"/meetings/{meeting.id}"))


def test_the_author_edits_and_deletes_the_log_for_14_days(p):
    held = log(p, actor=p.mentee, private_note="Mel's own thought")
    html = page(p.mel.get(f"/meetings/{held.id}/log/edit"))
    assert "Change the log of your meeting with Ana Berger" in html
    assert textarea("We talked about delegation.") in html and textarea("Mel's own thought") in html
    assert re.search(rf'checked id="topics-\d" name="topics" type="checkbox" value="{p.topics["Leadership"].id}"', html)
    response = p.mel.post(f"/meetings/{held.id}/log/edit",
                          data=log_form(today(p.mentee), notes="Better notes", private_note="Changed my mind"))
    assert response.status_code == 303
    m = fresh(held)
    assert (m.notes, m.duration_minutes) == ("Better notes", 75)
    assert MeetingTopic.select().count() == 0  # no topic ticked any more
    assert PrivateNote.get().text == "Changed my mind"
    assert "The log is saved." in page(p.mel.get(f"/mentorships/{p.pair.id}"))

    # The other partner cannot, and is told so; a forged form is refused.
    assert "Edit the log" not in item_of(page(p.ana.get(f"/mentorships/{p.pair.id}")), held.id)
    assert "Only the partner who logged a meeting can change its log" in page(
        p.ana.get(f"/meetings/{held.id}/log/edit", follow_redirects=True))
    assert p.ana.post(f"/meetings/{held.id}/log/edit", data=log_form(today(p.mentor))).status_code == 403
    assert p.ana.post(f"/meetings/{held.id}/log/delete").status_code == 403

    # After 14 days the log stays as it is.
    Meeting.update(logged_at=utcnow() - dt.timedelta(days=15)).where(Meeting.id == held.id).execute()
    assert "Edit the log" not in item_of(page(p.mel.get(f"/mentorships/{p.pair.id}")), held.id)
    html = page(p.mel.post(f"/meetings/{held.id}/log/edit", data=log_form(today(p.mentee), notes="Too late")))
    assert "A log can be changed for 14 days after it is written" in html and textarea("Too late") in html
    p.mel.post(f"/meetings/{held.id}/log/delete")
    assert fresh(held).status == Meeting.HELD

    Meeting.update(logged_at=utcnow()).where(Meeting.id == held.id).execute()
    item = item_of(page(p.mel.get(f"/mentorships/{p.pair.id}")), held.id)
    assert "<summary>Delete the log…</summary>" in item
    response = p.mel.post(f"/meetings/{held.id}/log/delete")
    assert response.status_code == 303 and fresh(held).status == Meeting.DELETED
    html = page(p.mel.get(f"/mentorships/{p.pair.id}"))
    assert "is deleted" in html and f'id="meeting-{held.id}"' not in html
    assert PrivateNote.select().count() == 0
    assert p.mel.get(f"/meetings/{held.id}").status_code == 404
    assert p.ana.get(f"/meetings/{held.id}").status_code == 404
    assert "Log deleted" in item_of(page(p.cora.get(f"/meetings/{held.id}")), held.id)


# --- private notes --------------------------------------------------------------------------------

def test_a_private_note_without_javascript_and_in_place(p):
    held = log(p)
    html = page(p.mel.get(f"/meetings/{held.id}/note"))
    assert "Your meeting with Ana Berger" in html and "Private note: only you will ever see this" in html
    response = p.mel.post(f"/meetings/{held.id}/note", data=prefixed(held, private_note="Ask about budgets"))
    assert response.status_code == 303
    assert [(n.author_id, n.text) for n in PrivateNote.select()] == [(p.mentee.id, "Ask about budgets")]
    assert "Your private note is saved." in page(p.mel.get(f"/mentorships/{p.pair.id}"))

    in_place = {"HX-Request": "true", "HX-Target": f"meeting-{held.id}"}
    html = page(p.mel.get(f"/meetings/{held.id}/note", headers=in_place))
    assert html.startswith('<article class="meeting held"') and textarea("Ask about budgets") in html
    html = page(p.mel.post(f"/meetings/{held.id}/note", headers=in_place,
                           data=prefixed(held, private_note="Too long " * 600)))
    assert field_error(html, f"meeting-{held.id}-private_note").startswith("Keep your private note under 5000")
    assert textarea("Too long " * 600) in html and "<main" not in html
    html = page(p.mel.post(f"/meetings/{held.id}/note", headers=in_place, data=prefixed(held, private_note="")))
    assert "Your private note is deleted." in html and '<p id="pair-status" hx-swap-oob="innerHTML">' in html
    assert PrivateNote.select().count() == 0


def test_private_notes_are_kept_on_held_meetings_only(p):
    meeting = schedule(p)
    response = p.ana.get(f"/meetings/{meeting.id}/note", follow_redirects=True)
    assert "Private notes are kept on meetings that have been logged." in page(response)
    html = page(p.ana.post(f"/meetings/{meeting.id}/note", data=prefixed(meeting, private_note="Hmm")))
    assert field_error(html, f"meeting-{meeting.id}-private_note") == (
        "Private notes are kept on meetings that have been logged.")
    assert PrivateNote.select().count() == 0


# --- feedback ------------------------------------------------------------------------------------

def feedback(meeting, **changes):
    return prefixed(meeting, **({"rating": "4", "most_useful": "The delegation checklist", "visibility": "partner"}
                                | changes))


def test_feedback_without_javascript(p):
    held = log(p)
    html = page(p.mel.get(f"/meetings/{held.id}/feedback"))
    assert "Your feedback on the meeting with Ana Berger" in html
    assert "How useful was this meeting for you?" in html and "Share with my partner" in html
    assert "Coordinators only" in html and "Is this a good fit?" in html  # the pair's first meeting
    response = p.mel.post(f"/meetings/{held.id}/feedback", data=feedback(held, good_fit="yes"))
    assert response.status_code == 303
    fb = Feedback.get()
    assert (fb.author_id, fb.rating, fb.most_useful, fb.visibility, fb.good_fit) == (
        p.mentee.id, 4, "The delegation checklist", "partner", True)
    html = page(p.mel.get(f"/mentorships/{p.pair.id}"))
    assert "Thank you: your feedback is saved, for Ana Berger and the coordinators to read." in html
    item = item_of(html, held.id)
    assert "You rated it <strong>4 of 5</strong>" in item and "(shared with my partner)" in item
    assert "A good fit? <strong>Yes</strong>" in item and "Change your feedback" in item
    # The partner reads the rating and the comment, not the good-fit answer.
    item = item_of(page(p.ana.get(f"/mentorships/{p.pair.id}")), held.id)
    assert "Mel Mentee rated it <strong>4 of 5</strong>" in item and "The delegation checklist" in item
    assert "A good fit?" not in item

    # Changed within 7 days: the form shows the answers given; then it is closed.
    html = page(p.mel.get(f"/meetings/{held.id}/feedback"))
    assert re.search(rf'checked id="meeting-{held.id}-rating-3"', html)
    assert textarea("The delegation checklist") in html
    p.mel.post(f"/meetings/{held.id}/feedback", data=feedback(held, rating="5", visibility="coordinators",
                                                              good_fit="no"))
    assert (fresh(fb).rating, fresh(fb).visibility) == (5, "coordinators") and Feedback.select().count() == 1
    assert fresh(p.pair).flagged_at is not None  # "not a good fit" flags the pair for coordinators
    Feedback.update(created_at=utcnow() - dt.timedelta(days=8)).execute()
    assert "Change your feedback" not in item_of(page(p.mel.get(f"/mentorships/{p.pair.id}")), held.id)
    assert "You can give feedback once the meeting has been logged, and change it for 7 days." in page(
        p.mel.get(f"/meetings/{held.id}/feedback", follow_redirects=True))
    html = page(p.mel.post(f"/meetings/{held.id}/feedback", data=feedback(held, rating="1")))
    assert "Feedback can be changed for 7 days after it is given" in html and fresh(fb).rating == 5


@pytest.mark.parametrize("changes, message, field", [
    (dict(rating=None), "Choose a rating from 1 to 5.", "rating"),
    (dict(rating="6"), "Choose a rating from 1 to 5.", "rating"),
    (dict(most_useful="Useful " * 300), "Keep what was most useful under 2000 characters (you wrote 2099).",
     "most_useful"),
    (dict(visibility="everyone"), "Choose who may read your feedback: your partner, or coordinators only.",
     "visibility"),
    (dict(good_fit="maybe"), "Answer “Is this a good fit?” with yes or no.", "good_fit"),
])
def test_each_feedback_mistake_is_named_on_its_field_with_what_was_typed_kept(p, changes, message, field):
    held = log(p)
    data = {k: v for k, v in feedback(held, **changes).items() if v is not None}
    html = page(p.mel.post(f"/meetings/{held.id}/feedback", data=data))
    assert field_error(html, f"meeting-{held.id}-{field}") == message
    assert textarea(data[f"meeting-{held.id}-most_useful"]) in html
    if field != "visibility":
        assert re.search(rf'checked id="meeting-{held.id}-visibility-0"', html)
    if field != "rating":
        assert re.search(rf'checked id="meeting-{held.id}-rating-3"', html)
    assert Feedback.select().count() == 0


def test_feedback_waits_for_the_log_and_asks_about_fit_after_the_first_meeting_only(p):
    meeting = schedule(p)
    assert "Give feedback" not in item_of(page(p.mel.get(f"/mentorships/{p.pair.id}")), meeting.id)
    assert "You can give feedback once the meeting has been logged" in page(
        p.mel.get(f"/meetings/{meeting.id}/feedback", follow_redirects=True))
    html = page(p.mel.post(f"/meetings/{meeting.id}/feedback", data=feedback(meeting)))
    assert "You can give feedback once the meeting has been logged." in html
    log(p)
    second = log(p)
    html = page(p.mel.get(f"/meetings/{second.id}/feedback"))
    assert "Is this a good fit?" not in html and "How useful was this meeting" in html


@pytest.mark.csrf
def test_feedback_in_place_with_htmx(p):
    held = log(p)
    html = page(p.mel.get(f"/mentorships/{p.pair.id}"))
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', html).group(1)
    item = item_of(html, held.id)
    assert (f'href="/meetings/{held.id}/feedback" hx-get="/meetings/{held.id}/feedback" '
            'hx-target="closest article" hx-swap="outerHTML">Give feedback</a>') in item
    in_place = {"HX-Request": "true", "HX-Target": f"meeting-{held.id}"}
    opened = page(p.mel.get(f"/meetings/{held.id}/feedback", headers=in_place))
    assert opened.startswith(f'<article class="meeting held" id="meeting-{held.id}"') and "<main" not in opened
    assert f'hx-post="/meetings/{held.id}/feedback" hx-target="closest article"' in opened

    refused = p.mel.post(f"/meetings/{held.id}/feedback", headers=in_place, data=feedback(held))
    assert refused.status_code == 400 and Feedback.select().count() == 0  # no token, no feedback
    with_token = in_place | {"X-CSRFToken": token}
    wrong = page(p.mel.post(f"/meetings/{held.id}/feedback", headers=with_token, data=feedback(held, rating="")))
    assert field_error(wrong, f"meeting-{held.id}-rating") == "Choose a rating from 1 to 5."
    assert 'role="alert"' in wrong and "<main" not in wrong
    done = page(p.mel.post(f"/meetings/{held.id}/feedback", headers=with_token,
                           data=feedback(held, visibility="coordinators")))
    assert Feedback.get().visibility == "coordinators"
    assert done.startswith(f'<article class="meeting held" id="meeting-{held.id}"') and "<form" not in done.split(
        "<footer")[0]
    said = "Thank you: your feedback is saved, for the coordinators only to read."
    assert f'<p class="flash flash-success">{said}</p>' in done
    assert f'<p id="pair-status" hx-swap-oob="innerHTML">{said}</p>' in done
    assert "You rated it <strong>4 of 5</strong> (coordinators only)" in done


# --- who may open what ------------------------------------------------------------------------------

def test_the_other_member_finds_nothing_and_the_coordinator_only_reads(p):
    meeting = schedule(p)
    held = log(p, private_note="Ana's own thought")
    svc.give_feedback(p.mentee, held, 2, "Hard to talk", Feedback.COORDINATORS, "no")
    gets = [f"/meetings/{meeting.id}", f"/meetings/{meeting.id}/edit", f"/meetings/{meeting.id}/log",
            f"/meetings/{meeting.id}.ics", f"/meetings/{held.id}/log/edit", f"/meetings/{held.id}/note",
            f"/meetings/{held.id}/feedback", f"/mentorships/{p.pair.id}/meetings/new",
            f"/mentorships/{p.pair.id}/meetings/log"]
    posts = [(f"/meetings/{meeting.id}/edit", form(today(p.mentor) + dt.timedelta(days=3))),
             (f"/meetings/{meeting.id}/cancel", {}), (f"/meetings/{meeting.id}/log", log_form(today(p.mentor))),
             (f"/meetings/{held.id}/log/edit", log_form(today(p.mentor))), (f"/meetings/{held.id}/log/delete", {}),
             (f"/meetings/{held.id}/note", prefixed(held, private_note="x")),
             (f"/meetings/{held.id}/feedback", feedback(held)),
             (f"/mentorships/{p.pair.id}/meetings/new", form(today(p.mentor) + dt.timedelta(days=3))),
             (f"/mentorships/{p.pair.id}/meetings/log", log_form(today(p.mentor)))]
    for path in gets:
        assert p.otto.get(path).status_code == 404, path
        assert p.cora.get(path).status_code == (200 if path == f"/meetings/{meeting.id}" else 403), path
    for path, data in posts:
        assert p.otto.post(path, data=data).status_code == 404, path
        assert p.cora.post(path, data=data).status_code == 403, path
    assert p.otto.get(f"/meetings/{held.id}").status_code == 404
    assert (fresh(meeting).status, fresh(held).status, Meeting.select().count()) == ("scheduled", "held", 2)
    assert [(f.author_id, f.rating) for f in Feedback.select()] == [(p.mentee.id, 2)]
    assert [n.text for n in PrivateNote.select()] == ["Ana's own thought"]

    # The coordinator reads the whole pair, all feedback with the fit answer, never a private note.
    item = item_of(page(p.cora.get(f"/meetings/{held.id}")), held.id)
    assert "Mel Mentee rated it <strong>2 of 5</strong>" in item and "(coordinators only)" in item
    assert "Hard to talk" in item and "A good fit? <strong>No</strong>" in item
    assert "Ana's own thought" not in item and "private note" not in item.lower()
    assert "<footer" not in item  # nothing to do there
    assert "Meeting of Ana Berger and Mel Mentee" in page(p.cora.get(f"/meetings/{held.id}"))


def test_nobody_but_the_author_learns_of_a_private_note_or_coordinators_only_feedback(p, app):
    """Mel's private note and coordinators-only feedback, and Ana's private note: through every page, partial,
    .ics and email the other partner could see."""
    meeting = schedule(p, agenda="A shared agenda")
    held = log(p, actor=p.mentee, meeting=schedule(p, days=1), private_note="MEL-PRIVATE-NOTE")
    svc.give_feedback(p.mentee, held, 1, "MEL-FOR-COORDINATORS", Feedback.COORDINATORS, "no")
    svc.set_private_note(p.mentor, held, "ANA-PRIVATE-NOTE")
    hidden = {"ana": ["MEL-PRIVATE-NOTE", "MEL-FOR-COORDINATORS", "Mel Mentee rated", "A good fit?", ">Feedback<"],
              "mel": ["ANA-PRIVATE-NOTE"], "cora": ["MEL-PRIVATE-NOTE", "ANA-PRIVATE-NOTE"]}
    in_place = {"HX-Request": "true", "HX-Target": f"meeting-{held.id}"}
    for who, secrets in hidden.items():
        client = getattr(p, who)
        seen = []
        for path, headers in [(f"/mentorships/{p.pair.id}", {}), ("/mentorships", {}), (f"/meetings/{held.id}", {}),
                              (f"/meetings/{held.id}", in_place), (f"/meetings/{held.id}/note", {}),
                              (f"/meetings/{held.id}/note", in_place), (f"/meetings/{held.id}/feedback", {}),
                              (f"/meetings/{held.id}/feedback", in_place), (f"/meetings/{held.id}/log/edit", {}),
                              (f"/meetings/{held.id}.ics", {}), (f"/meetings/{meeting.id}", {}),
                              (f"/meetings/{meeting.id}.ics", {})]:
            response = client.get(path, headers=headers, follow_redirects=True)
            seen.append(response.get_data(as_text=True))
        for secret in secrets:
            assert not any(secret in text for text in seen), (who, secret)
    # Each author does see their own.
    assert "MEL-PRIVATE-NOTE" in page(p.mel.get(f"/meetings/{held.id}"))
    assert "MEL-FOR-COORDINATORS" in page(p.mel.get(f"/meetings/{held.id}"))
    assert "ANA-PRIVATE-NOTE" in page(p.ana.get(f"/meetings/{held.id}"))
    assert "MEL-FOR-COORDINATORS" in page(p.cora.get(f"/meetings/{held.id}"))
    # The invitation emails of both meetings carry neither.
    with app.test_request_context():
        for m in (meeting, held):
            for recipient in (p.mentor, p.mentee):
                text = message_text(mail.meeting_message(fresh(m), recipient))
                assert not any(s in text for s in ("MEL-PRIVATE-NOTE", "MEL-FOR-COORDINATORS", "ANA-PRIVATE-NOTE"))


def test_the_meeting_page_runs_the_same_queries_for_1_and_50_meetings(p, count_queries):
    held = log(p, private_note="mine")
    svc.give_feedback(p.mentee, held, 4, "Good", Feedback.PARTNER)

    def count():
        with count_queries() as queries:
            assert p.ana.get(f"/meetings/{held.id}").status_code == 200
        return len(queries)

    few = count()
    for _ in range(49):
        svc.give_feedback(p.mentee, log(p, private_note="more"), 3, "", Feedback.COORDINATORS)
    assert count() == few


# --- the invitation email ------------------------------------------------------------------------

def message_text(message):
    return "\n".join(part.get_content() for part in message.walk() if part.get_content_maintype() == "text")


def invitation_calendar(message):
    [part] = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    assert part.get_filename() == "meeting.ics"
    calendar = Calendar.from_ical(part.get_content())
    [event] = calendar.walk("VEVENT")
    return part.get_param("method"), calendar, event


def test_the_invitation_update_and_cancellation_emails(p, app):
    day = D(2026, 12, 14)
    meeting = svc.schedule_meeting(p.mentor, p.pair, day, H(16, 30), 45, "video", LINK, agenda="Delegation\n& feedback",
                                   now=dt.datetime(2026, 12, 1))
    with app.test_request_context():
        message = mail.meeting_message(fresh(meeting), p.mentee)
    assert message["To"] == "Mel Mentee <mel@example.org>"
    assert message["Subject"] == "Mentoring meeting with Ana Berger on Mon 14 Dec 2026"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Ana Berger and you meet for mentoring:" in text
    assert "Mon 14 Dec 2026, 10:30 for you · 16:30 for Ana, Berlin" in text and "45 min, video call" in text
    assert f"Video link: {LINK}" in text and "Delegation\n& feedback" in text
    assert f"http://portal.test/meetings/{meeting.id}" in text
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Delegation<br>&amp; feedback" in html and f'<a href="{LINK}">' in html
    method, calendar, first = invitation_calendar(message)
    assert method == str(calendar["METHOD"]) == "REQUEST"
    assert str(first["ATTENDEE"]) == "mailto:mel@example.org" and first.decoded("SEQUENCE") == 0
    assert "ana@example.org" not in message_text(message)

    svc.reschedule_meeting(p.mentee, meeting, day, H(11), 45, "video", LINK, now=dt.datetime(2026, 12, 1))
    with app.test_request_context():
        message = mail.meeting_message(fresh(meeting), p.mentor)
    assert message["Subject"] == "Changed: mentoring meeting with Mel Mentee on Mon 14 Dec 2026"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "has changed. It is now:" in text and "17:00 for you · 11:00 for Mel, New York" in text
    method, _, moved = invitation_calendar(message)
    assert method == "REQUEST" and str(moved["UID"]) == str(first["UID"]) and moved.decoded("SEQUENCE") == 1

    svc.cancel_meeting(p.mentor, meeting, now=dt.datetime(2026, 12, 1))
    with app.test_request_context():
        message = mail.meeting_message(fresh(meeting), p.mentee)
    assert message["Subject"] == "Cancelled: mentoring meeting with Ana Berger on Mon 14 Dec 2026"
    assert "is cancelled" in message.get_body(preferencelist=("plain",)).get_content()
    method, calendar, cancelled = invitation_calendar(message)
    assert (method, str(calendar["METHOD"]), str(cancelled["STATUS"])) == ("CANCEL", "CANCEL", "CANCELLED")
    assert str(cancelled["UID"]) == str(first["UID"]) and cancelled.decoded("SEQUENCE") == 2


class Collect:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_invitation_reaches_a_real_mail_server_with_its_calendar(p, app):
    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        app.config["SMTP_URL"] = f"smtp://127.0.0.1:{controller.port}"
        meeting = schedule(p)
        with app.test_request_context():
            mail.send(mail.meeting_message(fresh(meeting), p.mentee))
    finally:
        controller.stop()
    [envelope] = handler.envelopes
    assert envelope.rcpt_tos == ["mel@example.org"]
    received = message_from_bytes(envelope.content, policy=policy.default)
    method, calendar, event = invitation_calendar(received)
    assert method == "REQUEST" and str(event["UID"]) == fresh(meeting).ics_uid
    assert received.get_body(preferencelist=("html",)) is not None
