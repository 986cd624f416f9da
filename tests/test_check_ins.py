"""The last reminders of DESIGN §6: each partner's check-in (30 days after the start, then every 60
days; the page that answers it, for the coordinators' eyes only) and the coordinators' daily digest of
the review queue. Emails go to a real SMTP server (the ``smtp`` fixture)."""
import datetime as dt
import re
from types import SimpleNamespace

import pytest

import jobs
from portal.coordinator import reminders as review_digest
from portal.mentorships import reminders
from portal.mentorships import services as pairs
from portal.models import AuditEvent, CheckIn, ConnectionRequest, Notification, ProgramSetting, User, utcnow
from portal.notifications import delivery
from portal.notifications import services as kinds
from portal.notifications.sweep import sweep
from portal.requests import services as svc

N = Notification
R = ConnectionRequest
HELP = "I lead a team of four for the first time and want to do it well."
SUCCESS = "Our weekly meeting runs itself and I delegate without worrying."
DAY = dt.timedelta(days=1)


pytestmark = pytest.mark.usefixtures("embedded")  # the in-process worker, also under test-services


@pytest.fixture
def p(make_member, topics):
    t = topics
    return SimpleNamespace(
        mentor=make_member(name="Mona Mentor", email="mona@example.org", offers=[t["Leadership"]], capacity=3),
        mentee=make_member(name="Mel Mentee", email="mel@example.org", seeks=[t["Leadership"]],
                           time_zone="America/New_York"),
        other=make_member(name="Otto Other", email="otto@example.org", seeks=[t["Leadership"]]),
        coordinator=make_member(name="Cora Coordinator", email="cora@example.org", role=User.COORDINATOR,
                                time_zone="UTC"),
        topics=t,
    )


def ask(p, mentee=None, now=None):
    return svc.send_request(mentee or p.mentee, p.mentor, [p.topics["Leadership"].id], HELP, SUCCESS, "video", now=now)


def start_pair(p, started, mentee=None):
    req = ask(p, mentee, now=started - dt.timedelta(hours=1))
    svc.accept(p.mentor, req, now=started)
    return R.get_by_id(req.id).mentorship


def check_ins(recipient=None):
    query = N.select().where(N.kind == kinds.CHECK_IN)
    if recipient is not None:
        query = query.where(N.recipient == recipient.id)
    return list(query.order_by(N.id))


def text(response):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def login(client, auth, who):
    auth.logout()
    auth.login(who.email)
    return client


# --- when a check-in is due ----------------------------------------------------------------------

def test_the_first_check_in_comes_on_day_30_then_every_60_days_to_both_partners(p):
    start = utcnow().replace(second=0, microsecond=0) - dt.timedelta(days=200)
    pair = start_pair(p, start)
    assert reminders.check_in(start + 30 * DAY - dt.timedelta(minutes=1)) == 0  # day 29
    assert reminders.check_in(start + 30 * DAY) == 2
    assert [(n.recipient_id, n.subject) for n in check_ins()] == [
        (p.mentor.id, "How is your mentorship with Mel Mentee going?"),
        (p.mentee.id, "How is your mentorship with Mona Mentor going?")]
    assert check_ins()[0].context == {"mentorship_id": pair.id, "round": 1}
    assert reminders.check_in(start + 89 * DAY) == 0  # day 89: still round 1, already written
    assert reminders.check_in(start + 90 * DAY) == 2  # day 90: round 2
    assert [n.context["round"] for n in check_ins(p.mentee)] == [1, 2]
    assert reminders.check_in(start + 150 * DAY) == 2  # round 3


def test_a_sweep_run_twice_writes_each_check_in_once(p):
    start = utcnow().replace(second=0, microsecond=0) - dt.timedelta(days=31)
    start_pair(p, start)
    now = utcnow()
    assert reminders.check_in(now) == 2
    assert reminders.check_in(now) == 0
    assert reminders.check_in(now + dt.timedelta(hours=5)) == 0
    assert len(check_ins()) == 2


def test_a_round_missed_for_more_than_a_week_is_not_written_late(p):
    start = utcnow().replace(second=0, microsecond=0) - dt.timedelta(days=60)
    start_pair(p, start)
    assert reminders.check_in(utcnow()) == 0  # round 1 opened 30 days ago


def test_an_ended_pair_gets_no_check_in(p):
    start = utcnow().replace(second=0, microsecond=0) - dt.timedelta(days=31)
    pair = start_pair(p, start)
    pairs.end_mentorship(p.mentee, pair, "goals_met")
    assert reminders.check_in(utcnow()) == 0
    assert check_ins() == []


def test_both_partners_are_emailed_with_a_link_to_the_check_in_and_not_after_answering(app, p, smtp):
    pair = start_pair(p, utcnow().replace(second=0, microsecond=0) - dt.timedelta(days=30, minutes=5))
    pairs.answer_check_in(p.mentee, pair, 4)  # Mel answered from the portal before the sweep
    sweep()
    jobs.drain()
    messages = [m for m in smtp.messages() if m["Subject"].startswith("How is your mentorship")]
    assert [(m["To"].addresses[0].addr_spec, m["Subject"]) for m in messages] == [
        ("mona@example.org", "How is your mentorship with Mel Mentee going?")]
    body = messages[0].get_body(preferencelist=("plain",)).get_content()
    assert "How is your mentorship going?" in body
    assert f"/mentorships/{pair.id}/check-in" in body
    html = messages[0].get_body(preferencelist=("html",)).get_content()
    assert f'/mentorships/{pair.id}/check-in">Answer the check-in</a>' in html
    assert N.get((N.kind == kinds.CHECK_IN) & (N.recipient == p.mentee.id)).status == N.SKIPPED


# --- the check-in page ---------------------------------------------------------------------------

@pytest.fixture
def due(p):
    """Mona and Mel, 31 days into their mentorship: round 1 is open."""
    return start_pair(p, utcnow().replace(second=0, microsecond=0) - dt.timedelta(days=31))


def test_a_partner_answers_the_check_in_and_can_change_the_answer(client, auth, p, due):
    login(client, auth, p.mentee)
    assert f'href="/mentorships/{due.id}/check-in"' in client.get(f"/mentorships/{due.id}").get_data(as_text=True)
    page = client.get(f"/mentorships/{due.id}/check-in")
    assert page.status_code == 200
    assert "How is your mentorship with Mona Mentor going?" in text(page)
    response = client.post(f"/mentorships/{due.id}/check-in", data={"score": "4", "comment": "Good talks."})
    assert response.status_code == 303
    assert "your check-in is saved" in text(client.get(response.headers["Location"]))
    response = client.post(f"/mentorships/{due.id}/check-in", data={"score": "2", "comment": ""})
    assert response.status_code == 303
    [answer] = CheckIn.select()
    assert (answer.author_id, answer.round, answer.score, answer.comment) == (p.mentee.id, 1, 2, "")
    assert [e.action for e in AuditEvent.select().where(AuditEvent.action.startswith("check_in"))
            .order_by(AuditEvent.id)] == ["check_in.answered", "check_in.changed"]
    page = text(client.get(f"/mentorships/{due.id}/check-in"))
    assert "You have answered this check-in" in page and "Change my answer" in page


@pytest.mark.parametrize("score, message", [
    ("", "Choose a score from 1 to 5."),
    ("6", "Choose a score from 1 to 5."),
    ("x", "Choose a score from 1 to 5."),
])
def test_a_missing_or_wrong_score_is_named_on_its_field_and_the_comment_kept(client, auth, p, due, score, message):
    login(client, auth, p.mentor)
    response = client.post(f"/mentorships/{due.id}/check-in", data={"score": score, "comment": "Kept <b>text</b>"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'<small id="score-error" class="error">{message}</small>' in html
    assert "Kept &lt;b&gt;text&lt;/b&gt;</textarea>" in html
    assert CheckIn.select().count() == 0


def test_a_comment_too_long_is_named_on_its_field(client, auth, p, due):
    login(client, auth, p.mentor)
    response = client.post(f"/mentorships/{due.id}/check-in", data={"score": "3", "comment": "x" * 2001})
    assert "Keep your comment under 2000 characters (you wrote 2001)." in text(response)
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert CheckIn.select().count() == 0


def test_before_day_30_and_after_the_end_there_is_no_check_in_to_answer(client, auth, p):
    young = start_pair(p, utcnow() - dt.timedelta(days=29))
    login(client, auth, p.mentee)
    assert "/check-in" not in client.get(f"/mentorships/{young.id}").get_data(as_text=True)
    assert "The first check-in comes 30 days after the mentorship starts" in text(
        client.get(f"/mentorships/{young.id}/check-in"))
    response = client.post(f"/mentorships/{young.id}/check-in", data={"score": "5"})
    assert "The first check-in comes 30 days after the mentorship starts" in text(response)
    pairs.end_mentorship(p.mentee, young, "goals_met")
    assert "there is no check-in to answer" in text(client.get(f"/mentorships/{young.id}/check-in"))
    response = client.post(f"/mentorships/{young.id}/check-in", data={"score": "5"})
    assert "This mentorship has ended" in text(response)
    assert CheckIn.select().count() == 0


def test_only_the_partners_answer_outsiders_get_404_and_coordinators_403(client, auth, p, due):
    login(client, auth, p.other)
    assert client.get(f"/mentorships/{due.id}/check-in").status_code == 404
    assert client.post(f"/mentorships/{due.id}/check-in", data={"score": "1"}).status_code == 404
    login(client, auth, p.coordinator)
    assert client.get(f"/mentorships/{due.id}/check-in").status_code == 403
    assert client.post(f"/mentorships/{due.id}/check-in", data={"score": "1"}).status_code == 403
    assert CheckIn.select().count() == 0


def test_coordinators_see_the_latest_scores_and_partners_never_see_each_others(client, auth, p, due):
    pairs.answer_check_in(p.mentee, due, 2, "Hard to find time zonecanary")
    pairs.answer_check_in(p.mentor, due, 5, "Great mentee")
    login(client, auth, p.coordinator)
    page = text(client.get(f"/mentorships/{due.id}"))
    assert "Latest check-ins" in page
    assert "Mel Mentee: 2 of 5 (round 1" in page and "Hard to find time zonecanary" in page
    assert "Mona Mentor: 5 of 5 (round 1" in page
    login(client, auth, p.mentor)
    for path in (f"/mentorships/{due.id}", f"/mentorships/{due.id}/check-in", "/mentorships", "/notifications"):
        page = text(client.get(path))
        assert "zonecanary" not in page and "Latest check-ins" not in page and "2 of 5" not in page, path


# --- the coordinators' daily digest of the review queue -------------------------------------------

@pytest.fixture
def queue(p):
    """Coordinators' digest hour has just come (09:00 in their zone, an hour ago at most two)."""
    ProgramSetting.set_value(ProgramSetting.REQUESTS_NEED_REVIEW, True)
    now = utcnow().replace(second=0, microsecond=0)
    User.update(digest_hour=(now - dt.timedelta(hours=1)).hour).where(User.id == p.coordinator.id).execute()
    return now


def digests(coordinator=None):
    query = N.select().where(N.kind == kinds.REVIEW_QUEUE_DIGEST)
    if coordinator is not None:
        query = query.where(N.recipient == coordinator.id)
    return list(query.order_by(N.id))


def test_no_digest_while_the_queue_is_empty(p, queue):
    assert review_digest.write_due(queue) == 0
    req = ask(p, now=queue - 3 * DAY)
    svc.withdraw(p.mentee, req)
    assert review_digest.write_due(queue) == 0
    assert digests() == []


def test_one_digest_a_day_per_coordinator_while_requests_wait(p, make_member, queue):
    other_coordinator = make_member(name="Carl Coordinator", role=User.COORDINATOR, time_zone="UTC")
    User.update(digest_hour=(queue - dt.timedelta(hours=1)).hour).where(User.id == other_coordinator.id).execute()
    ask(p, now=queue - 3 * DAY - dt.timedelta(hours=1))
    ask(p, mentee=p.other, now=queue - DAY)
    assert review_digest.write_due(queue) == 2
    assert review_digest.write_due(queue) == 0
    assert review_digest.write_due(queue + dt.timedelta(hours=12)) == 0
    [mine] = digests(p.coordinator)
    assert mine.subject == "2 requests wait for your review, the oldest for 3 days"
    assert review_digest.write_due(queue + DAY) == 2  # the next day
    assert [n.subject for n in digests(p.coordinator)] == [
        "2 requests wait for your review, the oldest for 3 days",
        "2 requests wait for your review, the oldest for 4 days"]


def test_a_request_arriving_after_the_digest_hour_waits_for_the_next_digest(p, queue):
    ask(p, now=queue - dt.timedelta(minutes=1))  # the digest hour came more than an hour ago
    assert review_digest.write_due(queue) == 0
    assert review_digest.write_due(queue + DAY) == 1


def test_a_coordinator_is_not_counted_their_own_request(p, make_member, queue):
    ask(p, mentee=p.coordinator, now=queue - 2 * DAY)
    assert review_digest.write_due(queue) == 0


def test_the_digest_email_counts_the_queue_and_links_to_it(app, p, queue, smtp):
    ask(p, now=queue - 3 * DAY - dt.timedelta(hours=1))
    ask(p, mentee=p.other, now=queue - 2 * DAY)
    sweep(queue)
    jobs.drain()
    [message] = [m for m in smtp.messages() if "for your review" in m["Subject"]]
    assert message["To"].addresses[0].addr_spec == "cora@example.org"
    assert message["Subject"] == "2 requests wait for your review, the oldest for 3 days"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "2 requests wait for your review, the oldest for 3 days." in body
    assert "/coordinator/requests" in body
    assert digests()[0].status == N.SENT
    sweep(queue + dt.timedelta(minutes=1))
    jobs.drain()
    assert len([m for m in smtp.messages() if "for your review" in m["Subject"]]) == 1


def test_a_digest_is_skipped_when_the_queue_emptied_before_it_went(p, queue):
    req = ask(p, now=queue - 3 * DAY)
    assert review_digest.write_due(queue) == 1
    svc.withdraw(p.mentee, req)
    assert delivery.deliver(digests()[0].id, queue) == N.SKIPPED
