"""Delivering the outbox: the sweep, the delivery actor and the broker, against a real SMTP server.

Mail goes to an aiosmtpd server (tests/mailkit.py) that answers as each test scripts it (451 then 250,
550, a stall). Without ``PORTAL_TEST_REDIS_URL`` the jobs run in the embedded default (dramatiq's
StubBroker and a Worker in this process); the tests at the end start real ``dramatiq jobs``
worker processes against Redis, and kill one mid-delivery. The test of Redis going down runs a
``redis-server`` of its own, so it runs wherever that is installed, with or without make test-services.
"""
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import redis
from mailkit import free_port

import jobs
from jobs import scheduler
from portal import create_app
from portal.db import database
from portal.mentorships import services as pairs
from portal.models import AuditEvent, ConnectionRequest, Notification, User, utcnow
from portal.notifications import delivery
from portal.notifications.sweep import REQUEUE_AFTER, sweep
from portal.requests import services as svc

R = ConnectionRequest
N = Notification
ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL")
REDIS_SERVER = shutil.which("redis-server")
PASSWORD = "correct horse battery"  # what make_member gives everyone
HELP = "I lead a team of four for the first time and want to do it well."
SUCCESS = "Our weekly meeting runs itself and I delegate without worrying."


pytestmark = pytest.mark.usefixtures("embedded")  # the in-process worker, also under test-services


@pytest.fixture
def people(cast):
    return cast(capacity=2)


def ask(p, mentee=None, now=None, topic="Leadership"):
    return svc.send_request(mentee or p.mentee, p.mentor, [p.topics[topic].id], HELP, SUCCESS, "video", now=now)


def row(kind, recipient):
    return N.get((N.kind == kind) & (N.recipient == recipient.id))


def in_zone(moment, zone):
    return moment.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(zone))


def run_sweep(now=None, **kwargs):
    done = sweep(now, **kwargs)
    jobs.drain()
    return done


def in_app(app, fn):
    """``fn()`` in a thread of its own, with the app and a connection of its own, as a worker runs."""
    with app.app_context(), database.connection_context():
        return fn()


def run_at_once(app, count, fn):
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def run(i):
        try:
            barrier.wait()
            results[i] = in_app(app, fn)
        except Exception as error:  # reported below, with the test's failure
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


# --- what arrives ------------------------------------------------------------------------------

def test_a_due_notification_arrives_once_with_both_parts_and_a_stable_message_id(app, people, smtp):
    req = ask(people)
    done = run_sweep()
    assert done.enqueued == [row("request_received", people.mentor).id]
    [envelope] = smtp.received
    assert envelope.rcpt_tos == ["mona@example.org"]
    [message] = smtp.messages()
    assert message["Subject"] == "Mel Mentee asks you for mentoring"
    assert "mona@example.org" in message["To"] and "Mona Mentor" in message["To"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert HELP in text and SUCCESS in text and "Leadership" in text
    assert "http://portal.test/requests" in text and 'href="http://portal.test/requests"' in html
    # The answer is due in the mentor's own time zone.
    assert f"by {in_zone(req.expires_at, 'Europe/Berlin'):%a %d %b %Y, %H:%M} (Berlin time)" in text
    notification = row("request_received", people.mentor)
    assert message["Message-ID"] == delivery.message_id(notification.dedupe_key)
    assert message["Message-ID"].endswith("@portal.test>")
    assert (notification.status, notification.attempts, notification.last_error) == ("sent", 1, "")
    assert notification.sent_at is not None and notification.claimed_until is None


def test_the_message_id_is_the_same_for_every_attempt_and_differs_between_notifications(app, people, smtp):
    ask(people)
    ask(people, mentee=people.other, topic="Python")
    ids = [delivery.message_id(n.dedupe_key) for n in N.select().order_by(N.id)]
    assert len(set(ids)) == 2 and ids == [delivery.message_id(n.dedupe_key) for n in N.select().order_by(N.id)]


def test_a_meeting_notification_carries_the_invitation_in_the_recipients_time_zone(app, people, smtp):
    req = ask(people)
    svc.accept(people.mentor, req)
    pair = R.get_by_id(req.id).mentorship
    day = (utcnow() + dt.timedelta(days=7)).date()
    meeting = pairs.schedule_meeting(people.mentor, pair, day, dt.time(17, 0), 60, "video",
                                     link="https://video.example.org/room")
    run_sweep()
    [message] = [m for m in smtp.messages() if m["Subject"].startswith("Mentoring meeting with Mona Mentor on")]
    assert "mel@example.org" in message["To"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    start_ny = in_zone(meeting.starts_at, "America/New_York")
    assert f"{start_ny:%H:%M} for you" in text and "for Mona, Berlin" in text
    [calendar] = [part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"]
    assert "METHOD:REQUEST" in calendar.get_content()
    assert message.get_body(preferencelist=("html",)) is not None
    assert row("meeting_scheduled", people.mentee).status == "sent"


def test_a_second_notification_about_the_same_meeting_replaces_the_first(app, people, smtp):
    req = ask(people)
    svc.accept(people.mentor, req)
    run_sweep()
    pair = R.get_by_id(req.id).mentorship
    day = (utcnow() + dt.timedelta(days=7)).date()
    link = "https://v.example.org/a"
    meeting = pairs.schedule_meeting(people.mentor, pair, day, dt.time(17, 0), 60, "video", link=link)
    pairs.reschedule_meeting(people.mentor, meeting, day, dt.time(18, 0), 60, "video", link=link)
    run_sweep()
    to_mentee = [m for m in smtp.messages() if "mel@example.org" in m["To"] and "meeting" in m["Subject"]]
    assert len(to_mentee) == 1 and to_mentee[0]["Subject"].startswith("Changed:")
    assert row("meeting_scheduled", people.mentee).status == "skipped"
    assert row("meeting_changed", people.mentee).status == "sent"


# --- the mail server says no ---------------------------------------------------------------------

def test_451_then_250_is_delivered_once_after_a_growing_backoff(app, people, smtp):
    t = utcnow() - dt.timedelta(hours=1)
    ask(people, now=t)
    notification = row("request_received", people.mentor)
    smtp.data = ["451 4.7.1 Greylisted, try again later", "421 4.3.2 System not accepting messages"]

    assert delivery.deliver(notification.id, now=t) == "pending"
    first = N.get_by_id(notification.id)
    assert (first.attempts, first.due_at, first.claimed_until) == (1, t + dt.timedelta(minutes=1), None)
    assert first.last_error == "451 4.7.1 Greylisted, try again later"
    assert sweep(t + dt.timedelta(seconds=30)).enqueued == [], "not due again before its backoff"

    assert delivery.deliver(notification.id, now=t + dt.timedelta(minutes=1)) == "pending"
    second = N.get_by_id(notification.id)
    assert second.attempts == 2 and second.due_at == t + dt.timedelta(minutes=3)  # then 2 minutes
    assert second.last_error.startswith("421 4.3.2")
    assert smtp.received == []

    assert run_sweep().enqueued == [notification.id]
    assert len(smtp.received) == 1
    sent = N.get_by_id(notification.id)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 3, "")
    assert run_sweep().enqueued == [] and len(smtp.received) == 1


def test_550_fails_the_row_with_the_servers_answer_and_is_not_retried(app, people, smtp):
    ask(people)
    smtp.rcpt = ["550 5.1.1 <mona@example.org>: mailbox unavailable"]
    run_sweep()
    failed = row("request_received", people.mentor)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.last_error == "550 5.1.1 <mona@example.org>: mailbox unavailable"
    assert run_sweep(utcnow() + dt.timedelta(days=1)).enqueued == []
    assert delivery.deliver(failed.id) is None
    assert smtp.received == [] and N.get_by_id(failed.id).attempts == 1


def test_a_mail_server_that_is_down_is_tried_again_later(app, people):
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"
    ask(people)
    run_sweep()
    waiting = row("request_received", people.mentor)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert "refused" in waiting.last_error.lower()
    assert waiting.due_at > utcnow()


def test_after_ten_temporary_failures_the_row_fails(app, people, smtp):
    t = utcnow() - dt.timedelta(days=1)
    ask(people, now=t)
    notification = row("request_received", people.mentor)
    smtp.data = ["452 4.3.1 Insufficient system storage"] * delivery.MAX_ATTEMPTS
    for _ in range(delivery.MAX_ATTEMPTS):
        delivery.deliver(notification.id, now=N.get_by_id(notification.id).due_at)
    gave_up = N.get_by_id(notification.id)
    assert (gave_up.status, gave_up.attempts) == ("failed", delivery.MAX_ATTEMPTS)
    assert gave_up.last_error == "452 4.3.1 Insufficient system storage (gave up after 10 attempts)"


# --- never twice -----------------------------------------------------------------------------

def test_two_deliveries_of_the_same_row_send_one_email(app, people, smtp):
    ask(people)
    notification = row("request_received", people.mentor)
    jobs.enqueue_delivery(notification.id)
    jobs.enqueue_delivery(notification.id)
    jobs.drain()
    assert len(smtp.received) == 1
    assert N.get_by_id(notification.id).attempts == 1


def test_deliveries_of_the_same_row_at_the_same_moment_send_one_email(app, people, smtp):
    ask(people)
    notification = row("request_received", people.mentor)
    outcomes = run_at_once(app, 4, lambda: delivery.deliver(notification.id))
    assert sorted(outcomes, key=str) == [None, None, None, "sent"]
    assert len(smtp.received) == 1


def test_a_lease_that_ran_out_is_taken_again_and_the_row_sent_once(app, people, smtp):
    t = utcnow() - dt.timedelta(hours=1)
    ask(people, now=t)
    notification = row("request_received", people.mentor)
    assert delivery.claim(notification.id, now=t) is not None  # a worker took it, then died
    assert delivery.deliver(notification.id, now=t + dt.timedelta(seconds=10)) is None, "its lease holds"
    assert sweep(t + dt.timedelta(seconds=10)).enqueued == []
    done = run_sweep(t + dt.timedelta(seconds=app.config["DELIVERY_LEASE"] + 1))
    assert done.enqueued == [notification.id]
    sent = N.get_by_id(notification.id)
    assert (sent.status, sent.attempts) == ("sent", 2)
    assert len(smtp.received) == 1


def test_sweeping_twice_creates_and_sends_nothing_twice(app, people, smtp):
    now = utcnow()
    ask(people, now=now - dt.timedelta(days=4))  # waiting 4 days: reminded
    ask(people, mentee=people.other, topic="Python", now=now - dt.timedelta(days=15))  # expires
    first = run_sweep(now)
    rows = N.select().count()
    second = run_sweep(now)
    assert (first.expired, first.reminded, len(first.enqueued)) == (1, 1, 4)
    assert (second.expired, second.reminded, second.enqueued) == (0, 0, [])
    assert N.select().count() == rows
    # Otto's request expired before its "received" went out: that one is skipped.
    assert sorted(m["Subject"] for m in smtp.messages()) == [
        "Mel Mentee asks you for mentoring", "Mel Mentee's request is waiting for your answer",
        "Your request to Mona Mentor expired without an answer"]


def test_two_sweeps_at_the_same_moment_write_and_send_each_thing_once(app, people, smtp):
    now = utcnow()
    ask(people, now=now - dt.timedelta(days=4))
    ask(people, mentee=people.other, topic="Python", now=now - dt.timedelta(days=15))
    results = run_at_once(app, 2, lambda: sweep(now))
    jobs.drain()
    enqueued = results[0].enqueued + results[1].enqueued
    assert len(enqueued) == len(set(enqueued)) == 4
    assert results[0].expired + results[1].expired == 1
    assert results[0].reminded + results[1].reminded >= 1
    assert N.select().where(N.kind == "request_waiting").count() == 1
    assert AuditEvent.select().where(AuditEvent.action == "request.expired").count() == 1
    assert sorted(e.rcpt_tos[0] for e in smtp.received) == ["mona@example.org", "mona@example.org",
                                                            "otto@example.org"]


def test_an_enqueue_the_broker_refused_is_made_by_the_next_sweep(app, client, auth, people, smtp, caplog):
    # The broker is down: Redis on a port where nothing listens.
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    jobs.init_app(app)
    auth.login("mel@example.org")
    response = client.post(f"/members/{people.mentor.id}/request", data={
        "topics": [str(people.topics["Leadership"].id)], "help_wanted": HELP, "success_looks_like": SUCCESS,
        "meeting_format": "video"})
    assert response.status_code == 303, "the web keeps answering"
    assert client.get("/healthz").get_json()["broker"] == "unreachable"
    done = sweep()
    assert done.enqueued == [] and done.not_enqueued == 1
    assert "could not enqueue 1 deliveries" in caplog.text
    left = row("request_received", people.mentor)
    assert (left.status, left.claimed_until, left.attempts) == ("pending", None, 0)

    app.config["REDIS_URL"] = None  # the broker is back
    jobs.init_app(app)
    assert run_sweep().enqueued == [left.id]
    assert [e.rcpt_tos for e in smtp.received] == [["mona@example.org"]]
    assert run_sweep().enqueued == []


def test_a_message_the_broker_lost_is_enqueued_again_when_its_lease_runs_out(app, people, smtp):
    ask(people)
    notification = row("request_received", people.mentor)
    lost = []  # the broker took the message and lost it (a Redis restarted without persistence)
    now = utcnow()
    assert sweep(now, enqueue=lost.append).enqueued == [notification.id]
    assert run_sweep(now + REQUEUE_AFTER - dt.timedelta(seconds=1)).enqueued == [], "still leased"
    assert run_sweep(now + REQUEUE_AFTER + dt.timedelta(seconds=1)).enqueued == [notification.id]
    assert len(smtp.received) == 1 and N.get_by_id(notification.id).status == "sent"


# --- what the sweep finds ---------------------------------------------------------------------------

def test_a_request_waiting_three_days_reminds_the_mentor_once(app, people, smtp):
    now = utcnow()
    req = ask(people, now=now - dt.timedelta(days=3, minutes=1))
    ask(people, mentee=people.other, topic="Python", now=now - dt.timedelta(days=2, hours=23))
    run_sweep(now)
    reminder = row("request_waiting", people.mentor)
    assert reminder.dedupe_key == f"request:{req.id}:request_waiting:{people.mentor.id}"
    assert reminder.status == "sent"
    [message] = [m for m in smtp.messages() if "waiting" in m["Subject"]]
    assert message["Subject"] == "Mel Mentee's request is waiting for your answer"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "has waited 3 days for your answer" in text
    assert f"expires on {in_zone(req.expires_at, 'Europe/Berlin'):%a %d %b %Y, %H:%M} (Berlin time)" in text
    assert run_sweep(now + dt.timedelta(days=1)).reminded == 1, "Otto's request, a day later; Mel's not again"
    assert N.select().where(N.kind == "request_waiting").count() == 2


def test_a_request_reviewed_late_waits_three_days_from_its_approval(app, people, smtp):
    now = utcnow()
    svc.set_requests_need_review(people.coordinator, True)
    req = ask(people, now=now - dt.timedelta(days=5))
    svc.approve(people.coordinator, req, now=now - dt.timedelta(days=1))
    assert run_sweep(now).reminded == 0
    assert run_sweep(now + dt.timedelta(days=2, minutes=1)).reminded == 1


def test_an_answered_request_is_not_announced_nor_reminded(app, people, smtp):
    now = utcnow()
    req = ask(people, now=now - dt.timedelta(days=4))
    svc.decline(people.mentor, req, now=now - dt.timedelta(minutes=1))
    run_sweep(now)
    assert row("request_received", people.mentor).status == "skipped"
    assert "declined" in row("request_received", people.mentor).last_error
    assert not N.select().where(N.kind == "request_waiting").exists()
    [message] = smtp.messages()
    assert message["Subject"] == "Mona Mentor declined your request" and "mel@example.org" in message["To"]
    assert "http://portal.test/mentors" in message.get_body(preferencelist=("plain",)).get_content()


def test_the_sweep_expires_requests_and_tells_the_mentee(app, people, smtp):
    req = ask(people, now=utcnow() - dt.timedelta(days=14, minutes=1))
    run_sweep()
    assert R.get_by_id(req.id).status == R.EXPIRED
    [message] = [m for m in smtp.messages() if "mel@example.org" in m["To"]]
    assert message["Subject"] == "Your request to Mona Mentor expired without an answer"
    assert "waited 14 days without an answer" in message.get_body(preferencelist=("plain",)).get_content()


def test_a_deactivated_member_gets_no_email(app, people, smtp):
    ask(people)
    User.update(active=False).where(User.id == people.mentor.id).execute()
    run_sweep()
    skipped = row("request_received", people.mentor)
    assert (skipped.status, skipped.last_error) == ("skipped", "The member's account is deactivated.")
    assert smtp.received == []


# --- the pair's reminders ----------------------------------------------------------------------------

def start_pair(p, started):
    req = ask(p, now=started - dt.timedelta(hours=1))
    svc.accept(p.mentor, req, now=started)
    return R.get_by_id(req.id).mentorship


def schedule_at(p, pair, starts_at, arranged, duration=60):
    """A meeting the mentor arranged at ``arranged``, starting at ``starts_at`` (UTC, to the minute)."""
    local = in_zone(starts_at, p.mentor.time_zone)
    return pairs.schedule_meeting(p.mentor, pair, local.date(), local.time().replace(second=0, microsecond=0),
                                  duration, "video", link="https://video.example.org/room", now=arranged)


def sent(smtp, subject_start):
    return [m for m in smtp.messages() if m["Subject"].startswith(subject_start)]


def text_of(message):
    return message.get_body(preferencelist=("plain",)).get_content()


def test_both_partners_are_reminded_of_tomorrows_meeting_in_their_own_time(app, people, smtp):
    now = utcnow().replace(second=0, microsecond=0)
    pair = start_pair(people, now - dt.timedelta(days=10))
    meeting = schedule_at(people, pair, now + dt.timedelta(hours=20), arranged=now - dt.timedelta(days=3))
    schedule_at(people, pair, now + dt.timedelta(hours=22), arranged=now - dt.timedelta(hours=1))  # just arranged
    run_sweep(now)
    reminders = [m for m in smtp.messages() if "your mentoring meeting with" in m["Subject"]]
    # "Today" or "tomorrow" as each partner's own calendar has it.
    ny, berlin = in_zone(meeting.starts_at, "America/New_York"), in_zone(meeting.starts_at, "Europe/Berlin")
    word = {zone: "Today" if start.date() == in_zone(now, zone).date() else "Tomorrow"
            for zone, start in (("America/New_York", ny), ("Europe/Berlin", berlin))}
    assert sorted(m["Subject"] for m in reminders) == sorted([
        f"{word['Europe/Berlin']}: your mentoring meeting with Mel Mentee",
        f"{word['America/New_York']}: your mentoring meeting with Mona Mentor"])
    [to_mentee] = [m for m in reminders if "mel@example.org" in m["To"]]
    text = text_of(to_mentee)
    assert f"You meet Mona Mentor {word['America/New_York'].lower()}:" in text
    assert f"{ny:%a %d %b %Y}, {ny:%H:%M} for you · {berlin:%H:%M}" in text and "for Mona, Berlin" in text
    assert "https://video.example.org/room" in text and f"http://portal.test/meetings/{meeting.id}" in text
    assert N.select().where(N.kind == "meeting_soon").count() == 2, "not for the meeting arranged just now"
    assert run_sweep(now + dt.timedelta(hours=1)).reminded == 0


def test_a_moved_meeting_is_reminded_at_its_new_time_and_a_cancelled_one_not_at_all(app, people, smtp):
    now = utcnow().replace(second=0, microsecond=0)
    pair = start_pair(people, now - dt.timedelta(days=10))
    meeting = schedule_at(people, pair, now + dt.timedelta(hours=20), arranged=now - dt.timedelta(days=3))
    lost = []
    sweep(now, enqueue=lost.append)  # written, not yet delivered...
    pairs.cancel_meeting(people.mentee, meeting, now=now)  # ...when the mentee calls it off
    run_sweep(now + REQUEUE_AFTER + dt.timedelta(seconds=1))
    assert [m for m in smtp.messages() if "your mentoring meeting with" in m["Subject"]] == []
    assert {n.status for n in N.select().where(N.kind == "meeting_soon")} == {"skipped"}


def test_a_meeting_nobody_logged_two_hours_after_its_end_is_to_be_logged(app, people, smtp):
    now = utcnow().replace(second=0, microsecond=0)
    pair = start_pair(people, now - dt.timedelta(days=10))
    meeting = schedule_at(people, pair, now - dt.timedelta(hours=3, minutes=1), arranged=now - dt.timedelta(days=5))
    schedule_at(people, pair, now - dt.timedelta(hours=2), arranged=now - dt.timedelta(days=5))  # ended 1 h ago
    run_sweep(now)
    reminders = sent(smtp, "How did your meeting with")
    assert sorted(m["Subject"] for m in reminders) == ["How did your meeting with Mel Mentee go? Log it",
                                                       "How did your meeting with Mona Mentor go? Log it"]
    assert f"http://portal.test/meetings/{meeting.id}/log" in text_of(reminders[0])
    pairs.log_meeting(people.mentee, pair, in_zone(now, "America/New_York").date(), 60, meeting=meeting, now=now)
    assert run_sweep(now + dt.timedelta(hours=1)).reminded == 2, "the other meeting's turn; not this one again"


def test_a_partner_who_gave_no_feedback_two_days_after_the_log_is_asked_for_it(app, people, smtp):
    now = utcnow().replace(second=0, microsecond=0)
    pair = start_pair(people, now - dt.timedelta(days=10))
    logged = now - dt.timedelta(days=2, minutes=1)
    meeting = pairs.log_meeting(people.mentor, pair, in_zone(logged, "Europe/Berlin").date(), 45, now=logged)
    pairs.give_feedback(people.mentor, meeting, 5, "Clear goals", now=logged)
    assert run_sweep(now - dt.timedelta(minutes=2)).reminded == 0, "not before two days"
    run_sweep(now)
    [reminder] = sent(smtp, "How was your meeting with")
    assert reminder["Subject"] == "How was your meeting with Mona Mentor? A minute of feedback"
    assert "mel@example.org" in reminder["To"]
    assert f"http://portal.test/meetings/{meeting.id}/feedback" in text_of(reminder)
    assert run_sweep(now + dt.timedelta(days=1)).reminded == 0


def test_a_quiet_pair_is_nudged_at_30_days_and_coordinators_told_at_45(app, people, make_member, smtp):
    now = utcnow().replace(second=0, microsecond=0)
    start_pair(people, now - dt.timedelta(days=31))  # Mona and Mel: the partners are nudged
    long_quiet = SimpleNamespace(**{**vars(people), "mentee": people.other})
    start_pair(long_quiet, now - dt.timedelta(days=46))  # Mona and Otto: coordinators are told too
    planned = SimpleNamespace(**{**vars(people), "mentee": make_member(name="Pia Planner", seeks=[people.topics[
        "Leadership"]]), "mentor": make_member(name="Max Mentor", offers=[people.topics["Leadership"]], capacity=1)})
    pair = start_pair(planned, now - dt.timedelta(days=60))  # quiet, but a meeting is planned
    schedule_at(planned, pair, now + dt.timedelta(days=3), arranged=now - dt.timedelta(days=1))
    run_sweep(now)
    nudges = sent(smtp, "It has been a while")
    assert sorted((m["To"].addresses[0].addr_spec, m["Subject"]) for m in nudges) == [
        ("mel@example.org", "It has been a while: time to meet Mona Mentor?"),
        ("mona@example.org", "It has been a while: time to meet Mel Mentee?"),
        ("mona@example.org", "It has been a while: time to meet Otto Other?"),
        ("otto@example.org", "It has been a while: time to meet Mona Mentor?")]
    text = text_of(next(m for m in nudges if "mel@example.org" in m["To"]))
    assert f"have not met since {in_zone(now - dt.timedelta(days=31), 'America/New_York'):%d %B %Y} (31 days)" in text
    assert "/meetings/new" in text
    [told] = sent(smtp, "Mona Mentor and Otto Other have not met for")
    assert "cora@example.org" in told["To"] and told["Subject"].endswith("46 days")
    assert "They were reminded at 30 days" in text_of(told)
    assert run_sweep(now + dt.timedelta(days=1)).reminded == 0


# --- the embedded default ----------------------------------------------------------------------------

def test_without_redis_a_request_made_in_the_app_becomes_an_eml_after_a_sweep(app, client, auth, runner, people,
                                                                               mailbox):
    assert app.config["REDIS_URL"] is None and not app.config.get("SMTP_URL")
    auth.login("mel@example.org")
    client.post(f"/members/{people.mentor.id}/request", data={
        "topics": [str(people.topics["Leadership"].id)], "help_wanted": HELP, "success_looks_like": SUCCESS,
        "meeting_format": "video"})
    assert mailbox.to("mona@example.org") == []
    result = runner.invoke(args=["send-reminders"])
    assert result.exit_code == 0, result.output
    assert "1 deliveries enqueued" in result.output
    message = mailbox.last_to("mona@example.org")
    assert message["Subject"] == "Mel Mentee asks you for mentoring"
    assert HELP in mailbox.text(message)
    assert runner.invoke(args=["send-reminders"]).output.strip().endswith("0 deliveries enqueued.")
    assert len(mailbox.to("mona@example.org")) == 1


def test_without_redis_the_web_process_starts_sweeping_with_its_first_request(app, people, mailbox):
    ask(people)
    served = create_app({"SECRET_KEY": "test secret", "DATABASE_URL": app.config["DATABASE_URL"],
                         "MAIL_DIR": app.config["MAIL_DIR"], "BASE_URL": "http://portal.test", "REDIS_URL": None})
    try:
        assert not mailbox.to("mona@example.org"), "nothing sweeps before the first request"
        served.test_client().get("/healthz")
        wait_for(lambda: mailbox.to("mona@example.org"), 20, "the in-process sweep delivered")
    finally:
        scheduler.stop_in_process()
    assert mailbox.last_to("mona@example.org")["Subject"] == "Mel Mentee asks you for mentoring"


def test_the_scheduler_process_sweeps_as_soon_as_it_starts(app, people, smtp, processes):
    ask(people)
    # Without Redis, the scheduler's own process runs the deliveries it enqueues.
    processes.start("jobs.scheduler", redis_url=None)
    wait_for(lambda: smtp.received, 30, "the scheduler's first sweep delivered", processes)
    assert smtp.received[0].rcpt_tos == ["mona@example.org"]
    wait_for(lambda: N.get(N.kind == "request_received").status == "sent", 10, "the row marked sent", processes)


def test_what_members_typed_is_escaped_in_the_html_part_and_kept_in_the_text(app, make_member, topics, smtp):
    payload = '<img src=x onerror="alert(1)">'
    mentor = make_member(name="Mona Mentor", email="mona@example.org", offers=[topics["Leadership"]], capacity=2)
    mentee = make_member(name=f"Mel {payload}", email="mel@example.org", seeks=[topics["Leadership"]])
    svc.send_request(mentee, mentor, [topics["Leadership"].id], f"Help with {payload} and my new team", SUCCESS,
                     "video")
    run_sweep()
    [message] = smtp.messages()
    html = message.get_body(preferencelist=("html",)).get_content()
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert payload not in html
    assert html.count("&lt;img src=x onerror=&#34;alert(1)&#34;&gt;") == 3  # the name twice, the prompt once
    assert f"Mel {payload} asks you for mentoring" in text and f"Help with {payload}" in text


# --- a real broker and real workers (make test-services) --------------------------------------------

needs_redis = pytest.mark.skipif(not REDIS_URL, reason="PORTAL_TEST_REDIS_URL is unset: the Redis broker and "
                                 "dramatiq worker processes are tested by make test-services")


class Processes:
    """Processes of the portal (``dramatiq jobs`` workers, the scheduler) on the test's database and
    mail server, each with an instance folder of its own; workers hold a notification for 3 seconds."""

    def __init__(self, app, tmp_path, smtp):
        self.app, self.tmp_path, self.smtp, self.running = app, tmp_path, smtp, []

    def start(self, *command, redis_url=REDIS_URL):
        instance = self.tmp_path / f"process{len(self.running)}"
        instance.mkdir()
        (instance / "config.py").write_text(
            f"DATABASE_URL = {self.app.config['DATABASE_URL']!r}\nSECRET_KEY = 'test secret'\n"
            f"BASE_URL = 'http://portal.test'\nSMTP_URL = 'smtp://127.0.0.1:{self.smtp.port}'\n"
            "SMTP_TIMEOUT = 5\nDELIVERY_LEASE = 3\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
        env["PORTAL_INSTANCE_PATH"] = str(instance)
        if redis_url:
            env["PORTAL_REDIS_URL"] = redis_url
        with (instance / "output.log").open("wb") as log:
            process = subprocess.Popen([sys.executable, "-m", *command], cwd=ROOT, env=env, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.running.append(process)
        return process

    def start_worker(self, redis_url=REDIS_URL):
        return self.start("dramatiq", "jobs", "--processes", "1", "--threads", "2", redis_url=redis_url)

    def kill(self, process, sig=signal.SIGKILL):
        if process.poll() is None:
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def stop_all(self):
        for process in self.running:
            self.kill(process, signal.SIGTERM)

    def log(self):
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.tmp_path.glob("process*/output.log")))


@pytest.fixture
def processes(app, tmp_path, smtp):
    started = Processes(app, tmp_path, smtp)
    yield started
    started.stop_all()


@pytest.fixture
def workers(app, processes):
    app.config["REDIS_URL"] = REDIS_URL
    jobs.init_app(app)
    jobs.broker.current().flush_all()  # the dramatiq queues only: nothing from an earlier run
    return processes


def wait_for(condition, seconds, what, processes=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} within {seconds} s" + (f"; process output:\n{processes.log()[-3000:]}"
                                                          if processes else ""))


@needs_redis
def test_a_dramatiq_worker_process_delivers_through_redis(app, people, smtp, workers):
    ask(people)
    workers.start_worker()
    assert len(run_sweep().enqueued) == 1
    wait_for(lambda: smtp.received, 30, "the worker delivered", workers)
    [message] = smtp.messages()
    notification = row("request_received", people.mentor)
    assert message["Subject"] == "Mel Mentee asks you for mentoring"
    assert message["Message-ID"] == delivery.message_id(notification.dedupe_key)
    assert message.get_body(preferencelist=("html",)) is not None
    wait_for(lambda: N.get_by_id(notification.id).status == "sent", 10, "the row marked sent", workers)


@needs_redis
def test_a_worker_killed_mid_delivery_loses_nothing_and_sends_once(app, people, smtp, workers):
    ask(people)
    notification = row("request_received", people.mentor)
    smtp.stall = 15
    first = workers.start_worker()
    assert sweep().enqueued == [notification.id]
    wait_for(smtp.stalled.is_set, 30, "the worker started sending", workers)
    workers.kill(first)  # SIGKILL, in the middle of DATA
    assert N.get_by_id(notification.id).status == "sending"
    workers.start_worker()
    # No sweep: Redis hands the dead worker's message to the new one once its heartbeat is stale.
    wait_for(lambda: smtp.received, 60, "the reminder arrived after the new worker started", workers)
    wait_for(lambda: N.get_by_id(notification.id).status == "sent", 10, "the row marked sent", workers)
    time.sleep(1)
    assert sweep().enqueued == []
    assert len(smtp.received) == 1 and smtp.received[0].rcpt_tos == ["mona@example.org"]
    assert N.get_by_id(notification.id).attempts == 2


class RedisServer:
    """A ``redis-server`` of the test's own, on a free port, to stop and start again (the machine's
    Redis serves other test runs). Nothing is saved to disk: a restart comes back empty."""

    def __init__(self, folder):
        self.folder, self.port, self.process = folder, free_port(), None
        self.url = f"redis://127.0.0.1:{self.port}/0"
        folder.mkdir()

    def start(self):
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for(self.answers, 10, "redis-server answers")

    def answers(self):
        with redis.Redis.from_url(self.url, socket_connect_timeout=0.5) as client:
            try:
                return client.ping()
            except redis.ConnectionError:
                return False

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.mark.skipif(not REDIS_SERVER, reason="redis-server is not installed: this test stops and restarts a Redis "
                    "of its own")
def test_requests_made_while_redis_is_stopped_are_answered_and_each_reminder_arrives_once_when_it_is_back(
        app, people, smtp, processes, redis_server):
    # The web app and a dramatiq worker process on the test's own Redis, the rate limits of logins included.
    web = create_app({"TESTING": True, "SECRET_KEY": "test secret", "DATABASE_URL": app.config["DATABASE_URL"],
                      "REDIS_URL": redis_server.url, "BASE_URL": "http://portal.test",
                      "MAIL_DIR": app.config["MAIL_DIR"], "WTF_CSRF_ENABLED": False})
    worker = processes.start_worker(redis_server.url)
    wait_for(lambda: "Worker process is ready" in processes.log(), 30, "the worker started", processes)

    redis_server.stop()
    client = web.test_client()
    for mentee, topic in ((people.mentee, "Leadership"), (people.other, "Python")):
        assert client.post("/login", data={"email": mentee.email, "password": PASSWORD}).status_code == 302
        response = client.post(f"/members/{people.mentor.id}/request", data={
            "topics": [str(people.topics[topic].id)], "help_wanted": HELP, "success_looks_like": SUCCESS,
            "meeting_format": "video"})
        assert response.status_code == 303, "the web keeps answering"
        page = client.get(response.headers["Location"])
        assert page.status_code == 200 and "Mona Mentor" in page.get_data(as_text=True)
        assert client.post("/logout").status_code == 302
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok", "broker": "unreachable"}
    assert R.select().where(R.mentor == people.mentor.id).count() == 2
    received = N.select().where((N.kind == "request_received") & (N.recipient == people.mentor.id))
    assert [n.status for n in received] == ["pending", "pending"]
    assert sweep().not_enqueued == 2, "the scheduler's sweep runs on while the broker is down"

    redis_server.start()  # back on the same port, empty
    assert len(sweep().enqueued) == 2
    wait_for(lambda: len(smtp.received) == 2, 30, "both emails arrived", processes)
    wait_for(lambda: {n.status for n in received.clone()} == {"sent"}, 10, "the rows marked sent", processes)
    assert sweep().enqueued == []
    time.sleep(1)
    assert [e.rcpt_tos for e in smtp.received] == [["mona@example.org"], ["mona@example.org"]]
    subjects = ["Mel Mentee asks you for mentoring", "Otto Other asks you for mentoring"]
    assert sorted(m["Subject"] for m in smtp.messages()) == subjects
    # The worker logs each email once, though both dramatiq's logging and the app's are set up in it.
    assert [processes.log().count(f"mail {subject!r} sent to") for subject in subjects] == [1, 1]
    assert worker.poll() is None, "the worker rode out the outage"


def test_a_dramatiq_worker_without_a_redis_url_refuses_to_start(processes):
    # Without a broker it would consume an in-memory queue that nothing feeds.
    worker = processes.start_worker(redis_url=None)
    assert worker.wait(timeout=60) != 0
    assert jobs.NO_BROKER in processes.log()
