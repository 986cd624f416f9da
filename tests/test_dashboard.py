"""The coordinators' health dashboard and at-risk list (issue 7): every figure against a program built by
hand (exact numbers, ``now`` fixed), the at-risk rules at their boundaries, "Nudge now", the period
filter, and a constant number of queries."""
import datetime as dt
import re
from types import SimpleNamespace

import pytest

from portal.coordinator import dashboard
from portal.models import (
    AuditEvent,
    CheckIn,
    ConnectionRequest,
    Feedback,
    Meeting,
    Mentorship,
    Notification,
    Round,
    User,
)
from portal.notifications import delivery
from portal.notifications import services as kinds

R = ConnectionRequest
N = Notification
NOW = dt.datetime(2026, 6, 17, 12, 0)  # a Wednesday
DAY = dt.timedelta(days=1)
TEXT = "I lead a team of four for the first time and want to do it well."


@pytest.fixture
def fixed_now(monkeypatch):
    """The dashboard's clock at NOW, for the pages too."""
    monkeypatch.setattr(dashboard, "utcnow", lambda: NOW)
    return NOW


def pair(mentor, mentee, started_days, **fields):
    return Mentorship.create(mentor=mentor, mentee=mentee, started_at=NOW - started_days * DAY, **fields)


def held(m, days_ago, minutes=60):
    return Meeting.create(mentorship=m, status=Meeting.HELD, held_on=(NOW - days_ago * DAY).date(),
                          duration_minutes=minutes, logged_at=NOW - days_ago * DAY)


def rate(meeting, author, rating, days_ago, good_fit=None):
    return Feedback.create(meeting=meeting, author=author, rating=rating, good_fit=good_fit,
                           created_at=NOW - days_ago * DAY, updated_at=NOW - days_ago * DAY)


def request(mentor, mentee, status, created, reviewed=None, reached=None, answered=None):
    """A request sent ``created`` before NOW; ``reached``: when it reached the mentor (its expiry is set then)."""
    return R.create(requester=mentee, mentor=mentor, mentee=mentee, help_wanted=TEXT, success_looks_like=TEXT,
                    status=status, created_at=NOW - created,
                    reviewed_at=NOW - reviewed if reviewed is not None else None,
                    expires_at=NOW - reached + dt.timedelta(days=14) if reached is not None else None,
                    answered_at=NOW - answered if answered is not None else None)


@pytest.fixture
def program(make_member, topics):
    """A small program where each figure has a known value (see the comments for the arithmetic)."""
    t = topics["Leadership"]
    p = SimpleNamespace()
    p.cora = make_member(name="Cora Coordinator", email="cora@example.org", role=User.COORDINATOR)
    p.mona = make_member(name="Mona Mentor", email="mona@example.org", offers=[t], capacity=2)
    p.max = make_member(name="Max Mentor", email="max@example.org", offers=[t], capacity=1)
    p.mia = make_member(name="Mia Mentor", email="mia@example.org", offers=[t], capacity=3)
    p.mel = make_member(name="Mel Mentee", email="mel@example.org", seeks=[t])
    p.otto = make_member(name="Otto Other", email="otto@example.org", seeks=[t])
    p.pia = make_member(name="Pia Partial", email="pia@example.org", seeks=[t], completed=False)
    p.ned = make_member(name="Ned New", email="ned@example.org", seeks=[t])
    p.ida = make_member(name="Ida Inactive", email="ida@example.org", offers=[t], capacity=5, active=False)
    # 8 active members; verified: Cora, Mona, Max, Mel, Ned (5); completed profiles: all but Pia (7).
    User.update(verified=False).where(User.id.in_([p.mia.id, p.otto.id, p.pia.id])).execute()

    # Pairs: Mona 2 of 2 places (full), Max 2 of 1 (over capacity), Mia 0 of 3 (free): 4 active pairs.
    p.p1 = pair(p.mona, p.mel, 100)
    p.p2 = pair(p.mona, p.otto, 60, flagged_at=NOW - 20 * DAY, flagged_by=p.otto)  # quiet since its start
    p.p3 = pair(p.max, p.ned, 45)
    p.p4 = pair(p.max, p.pia, 120)
    p.p5 = pair(p.mia, p.mel, 80, status=Mentorship.ENDED, ended_at=NOW - 5 * DAY, end_reason="not_a_good_fit")

    # Meetings held in the last 90 days (from 20 Mar): 3, 10, 89 days ago (P1), 29 (P3), 30 (P4), 70 (P5):
    # 6 meetings, 60 + 90 + 30 + 60 + 45 + 60 = 345 minutes. 90 and 200 days ago are outside.
    p.m1 = held(p.p1, 3, 60)
    p.m2 = held(p.p1, 10, 90)
    held(p.p1, 89, 30)
    held(p.p1, 90, 30)
    held(p.p1, 200, 60)
    p.m3 = held(p.p3, 29, 60)
    p.m4 = held(p.p4, 30, 45)
    p.m5 = held(p.p5, 70, 60)
    Meeting.create(mentorship=p.p2, status=Meeting.CANCELLED, starts_at=NOW - 5 * DAY)  # never held: not counted

    # Ratings in the period: 5, 4, 2, 3, 2 (1: 0, 2: 2, 3: 1, 4: 1, 5: 1; average 3.2). Pia's 1 is older.
    rate(p.m1, p.mel, 5, 2)
    rate(p.m1, p.mona, 4, 2)
    rate(p.m2, p.mel, 2, 9)  # P1 is at risk: a rating of 2
    rate(p.m3, p.ned, 3, 28)  # 3 is not low
    rate(p.m4, p.pia, 1, 100)  # outside the 90 days
    rate(p.m5, p.mel, 2, 69, good_fit=False)  # P5 said "not a good fit" (and has ended: not at risk)

    CheckIn.create(mentorship=p.p1, author=p.mel, round=1, score=4, created_at=NOW - 5 * DAY)
    CheckIn.create(mentorship=p.p1, author=p.mona, round=1, score=3, created_at=NOW - 6 * DAY)
    CheckIn.create(mentorship=p.p3, author=p.ned, round=1, score=1, created_at=NOW - 200 * DAY)

    # Requests sent in the period: 8. Answered in the period after 2 days, 6 hours and 4 days (median 2 days).
    H = dt.timedelta(hours=1)
    request(p.mona, p.mel, R.ACCEPTED, 20 * DAY, reviewed=19 * DAY, reached=19 * DAY, answered=17 * DAY)
    request(p.max, p.otto, R.DECLINED, 10 * DAY, reached=10 * DAY, answered=10 * DAY - 6 * H)
    request(p.max, p.ned, R.ACCEPTED, 30 * DAY, reached=30 * DAY, answered=26 * DAY)
    request(p.mia, p.otto, R.PENDING_REVIEW, 2 * DAY)
    request(p.mia, p.ned, R.REJECTED, 5 * DAY, reviewed=4 * DAY)
    p.waiting_7 = request(p.mia, p.mel, R.PENDING_MENTOR, 7 * DAY, reached=7 * DAY)  # unanswered 7 days: at risk
    p.waiting_6 = request(p.mona, p.pia, R.PENDING_MENTOR, 7 * DAY - H, reached=7 * DAY - H)  # 6 days 23 h: not yet
    request(p.max, p.mel, R.WITHDRAWN, 3 * DAY)  # withdrawn while waiting for review
    request(p.mona, p.ned, R.ACCEPTED, 120 * DAY, reached=120 * DAY, answered=119 * DAY)  # before the period

    for n in range(2):
        N.create(recipient=p.mel, kind=kinds.PAIR_QUIET, subject="Quiet", dedupe_key=f"failed:{n}",
                 status=N.FAILED, last_error="550 no such user")
    return p


# --- the figures ---------------------------------------------------------------------------------

def test_every_figure_matches_the_hand_built_program(program):
    f = dashboard.figures(90, now=NOW)
    assert (f.members_active, f.members_verified, f.profiles_completed) == (8, 5, 7)
    assert f.mentors_with_places == 1  # Mia; Mona is full, Max over, Ida inactive
    assert f.open_requests == {R.PENDING_REVIEW: 1, R.PENDING_MENTOR: 2}
    assert (f.median_answer, f.answered, f.median_answer_words) == (2 * DAY, 3, "2 days")
    assert f.active_pairs == 4
    assert (f.meetings, f.minutes) == (6, 345)
    assert (f.meetings_per_week, f.hours_per_week) == (0.5, 0.4)  # 6 / (90/7), 5.75 h / (90/7)
    assert f.ratings == {1: 0, 2: 2, 3: 1, 4: 1, 5: 1} and f.average_rating == 3.2 and f.rated == 5
    assert (f.average_check_in, f.check_ins) == (3.5, 2)
    assert f.not_good_fit == 2  # P5 (its feedback and its end), P2 (flagged)
    assert f.funnel == [("Sent", 8), ("Reviewed, or needed no review", 6), ("Reached the person asked", 5),
                        ("Accepted", 2)]


def test_meetings_per_week_cover_the_last_26_weeks_from_monday(program):
    weeks = dashboard.figures(90, now=NOW).weeks
    assert len(weeks) == 26
    assert weeks[0].start == dt.date(2025, 12, 22) and weeks[-1].start == dt.date(2026, 6, 15)
    assert all(w.start.weekday() == 0 for w in weeks)
    counted = {w.start: (w.meetings, w.hours) for w in weeks if w.meetings}
    assert counted == {
        dt.date(2026, 3, 16): (2, 1.0),  # 19 and 20 Mar: the chart ignores the period
        dt.date(2026, 4, 6): (1, 1.0),
        dt.date(2026, 5, 18): (2, 1.8),  # 18 and 19 May, 45 + 60 minutes
        dt.date(2026, 6, 1): (1, 1.5),  # Sunday 7 Jun belongs to the week of 1 Jun
        dt.date(2026, 6, 8): (1, 1.0),
    }


def test_the_period_changes_what_is_counted(program):
    month = dashboard.figures(30, now=NOW)
    assert (month.meetings, month.minutes) == (3, 210)  # 3, 10 and 29 days ago; not 30
    assert month.ratings == {1: 0, 2: 1, 3: 1, 4: 1, 5: 1}
    assert (month.median_answer, month.answered) == (2 * DAY, 3)
    assert month.funnel[0] == ("Sent", 7)  # the request of 30 days ago is out
    assert month.active_pairs == 4 and month.members_active == 8  # states, whatever the period
    year = dashboard.figures(365, now=NOW)
    assert (year.meetings, year.ratings[1], year.check_ins, year.answered) == (8, 1, 3, 4)
    assert year.median_answer == 1.5 * DAY  # 6 h, 1, 2 and 4 days


def test_an_empty_program_shows_no_averages(db):
    f = dashboard.figures(90, now=NOW)
    assert (f.median_answer, f.average_rating, f.average_check_in, f.meetings_per_week) == (None, None, None, 0)
    assert f.funnel == [(label, 0) for label in dashboard.FUNNEL]


@pytest.mark.parametrize("value, period", [("30", 30), ("365", 365), ("90", 90), ("7", 90), ("x", 90), (None, 90),
                                           ("round", "round"), ("Round", 90)])
def test_the_period_is_one_of_three(value, period):
    assert dashboard.period_of(value) == period


# --- the at-risk rules, at their boundaries -------------------------------------------------------------

def test_the_at_risk_lists_hold_exactly_what_crossed_the_line(program):
    p = program
    risks = dashboard.at_risk(90, now=NOW)
    # 60 quiet days (P2, since its start) and 30 (P4); P3 met 29 days ago, P1 3 days ago.
    assert [(r.pair.id, r.value) for r in risks.quiet] == [(p.p2.id, NOW - 60 * DAY),
                                                          (p.p4.id, dt.datetime(2026, 5, 18))]
    assert [(r.pair.id, r.value) for r in risks.low_rated] == [(p.p1.id, 2)]  # P3's 3 is not low; P5 has ended
    assert [r.pair.id for r in risks.not_good_fit] == [p.p2.id]
    assert [req.id for req in risks.unanswered] == [p.waiting_7.id]  # 7 days; not 6 days 23 hours
    assert [(u.name, n, cap) for u, n, cap in risks.over_capacity] == [("Max Mentor", 2, 1)]  # Mona: 2 of 2
    assert risks.failed_emails == 2
    assert risks.counts == {"quiet": 2, "low_rated": 1, "not_good_fit": 1, "unanswered": 1, "over_capacity": 1,
                            "failed_emails": 2}
    assert risks.quiet[0].pair.mentor.name == "Mona Mentor" and risks.quiet[0].pair.mentee.name == "Otto Other"
    # Over a year, Pia's 1 of 100 days ago counts too, lowest first.
    assert [(r.pair.id, r.value) for r in dashboard.at_risk(365, now=NOW).low_rated] == [(p.p4.id, 1), (p.p1.id, 2)]


def test_a_planned_meeting_or_a_new_flag_moves_a_pair(program):
    p = program
    Meeting.create(mentorship=p.p2, status=Meeting.SCHEDULED, starts_at=NOW + 2 * DAY)
    Mentorship.update(flagged_at=None).where(Mentorship.id == p.p2.id).execute()
    Mentorship.update(flagged_at=NOW - DAY).where(Mentorship.id == p.p3.id).execute()
    risks = dashboard.at_risk(90, now=NOW)
    assert [r.pair.id for r in risks.quiet] == [p.p4.id]
    assert [r.pair.id for r in risks.not_good_fit] == [p.p3.id]


def test_the_dashboard_shows_a_few_of_each_and_the_at_risk_page_all(program, make_member):
    for n in range(3):
        pair(program.mia, make_member(name=f"Quiet Mentee {n}"), 40 + n)
    cut = dashboard.at_risk(90, now=NOW, limit=2)
    assert len(cut.quiet) == 2 and cut.counts["quiet"] == 5
    assert len(dashboard.at_risk(90, now=NOW, limit=None).quiet) == 5


# --- the pages -----------------------------------------------------------------------------------------

def text_of(html, element_id):
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert found, f"no element {element_id}"
    return found.group(1).strip()


def test_the_dashboard_page_shows_figures_charts_and_their_tables(client, auth, program, fixed_now):
    auth.login("cora@example.org")
    html = client.get("/coordinator").get_data(as_text=True)
    assert '<a href="/coordinator" aria-current="page">Dashboard</a>' in html
    assert {key: text_of(html, f"figure-{key}") for key in (
        "members", "mentors-free", "open-requests", "median-answer", "active-pairs", "meetings-week", "rating",
        "check-in", "not-good-fit")} == {
        "members": "8", "mentors-free": "1", "open-requests": "3", "median-answer": "2 days", "active-pairs": "4",
        "meetings-week": "0.5", "rating": "3.2", "check-in": "3.5", "not-good-fit": "2"}
    assert "5 verified · 7 with a completed profile" in html
    assert "1 waiting for review · 2 waiting for an answer" in html
    assert "6 meetings held · 0.4 hours per week" in html
    # Each chart: an image named by its numbers, and the same numbers in a table with headers.
    for chart in ("chart-meetings", "chart-funnel", "chart-ratings"):
        assert re.search(rf'<svg id="{chart}" role="img" aria-labelledby="{chart}-title"', html)
    assert ("Requests sent in the last 90 days, from sent to accepted: Sent 8, Reviewed, or needed no review 6, "
            "Reached the person asked 5, Accepted 2.") in html
    assert "1 of 5 0, 2 of 5 2, 3 of 5 1, 4 of 5 1, 5 of 5 1." in html
    assert "week of 18 May 2" in html
    assert re.search(r'<th scope="row">18 May 2026</th><td>2</td><td>1.8</td>', html)
    assert re.search(r'<th scope="row">Reached the person asked</th><td>5</td>', html)
    assert re.search(r'<th scope="row">2 of 5</th><td>2</td>', html)
    assert html.count('<th scope="col">') >= 7 and html.count("<caption") >= 3


def test_the_at_risk_block_offers_each_action(client, auth, program, fixed_now):
    p = program
    auth.login("cora@example.org")
    html = client.get("/coordinator").get_data(as_text=True)
    section = html[html.index('id="at-risk"'):]
    assert "At risk <small class=\"count\">(8)</small>" in section
    assert "No meeting held since 18 Apr 2026 (60 days), none planned" in section  # Cora reads Berlin time
    assert "Rated a meeting 2 of 5" in section and "A partner said “not a good fit” on 28 May 2026" in section
    assert f'href="/mentorships/{p.p2.id}"' in section
    assert f'action="/coordinator/pairs/{p.p2.id}/nudge"' in section
    assert f'id="nudge-{p.p2.id}-quiet"' in section and f'id="nudge-{p.p2.id}-not_good_fit"' in section
    reassign = re.search(r'href="([^"]*)">Reassign<span class="visually-hidden"> Otto Other', section).group(1)
    assert reassign.replace("&amp;", "&").endswith(f"mentee={p.otto.id}")
    assert "Mia Mentor offers" not in section and "Mel Mentee asks Mia Mentor for mentoring" in section
    assert "Pia Partial asks Mona" not in section
    assert "Max Mentor</a>: 2 active mentees, capacity 1" in section
    assert 'href="/coordinator/notifications">See the 2 failed emails' in section


def test_the_period_filter_keeps_the_url_and_htmx_gets_the_figures_alone(client, auth, program, fixed_now):
    auth.login("cora@example.org")
    html = client.get("/coordinator?period=30").get_data(as_text=True)
    assert '<option value="30" selected>Last 30 days</option>' in html
    assert text_of(html, "figure-meetings-week") == "0.7"  # 3 meetings in 30 days
    assert "<h2 id=\"figures-title\">The last 30 days</h2>" in html
    odd = client.get("/coordinator?period=12").get_data(as_text=True)
    assert '<option value="90" selected>' in odd
    partial = client.get("/coordinator?period=365", headers={"HX-Request": "true", "HX-Target": "figures"})
    body = partial.get_data(as_text=True)
    assert partial.status_code == 200 and "<html" not in body and "<select" not in body
    assert "Showing the last 365 days." in body and text_of(body, "figure-meetings-week") == "0.2"


def test_the_at_risk_page_lists_everything(client, auth, program, make_member, fixed_now):
    for n in range(11):
        pair(program.mia, make_member(name=f"Quiet Mentee {n}"), 40 + n)
    auth.login("cora@example.org")
    dash = client.get("/coordinator").get_data(as_text=True)
    quiet = dash[dash.index('id="risk-quiet"'):dash.index('id="risk-low_rated"')]
    assert quiet.count("Nudge now<span") == dashboard.SHOWN
    assert "All 13 pairs" in quiet
    full = client.get("/coordinator/at-risk").get_data(as_text=True)
    quiet = full[full.index('id="risk-quiet"'):full.index('id="risk-low_rated"')]
    assert quiet.count("Nudge now<span") == 13 and "All 13" not in quiet
    assert 'name="back" value="at-risk"' in full


def test_members_cannot_open_the_dashboard(client, auth, program):
    auth.login("mel@example.org")
    assert client.get("/coordinator").status_code == 403
    assert client.get("/coordinator/at-risk").status_code == 403


# --- nudging a pair ------------------------------------------------------------------------------------

def nudges():
    return list(N.select().where(N.kind == kinds.PAIR_NUDGE).order_by(N.recipient))


def test_a_nudge_tells_both_partners_once_a_day_and_is_audited(client, auth, program):
    p = program
    auth.login("cora@example.org")
    response = client.post(f"/coordinator/pairs/{p.p2.id}/nudge", data={"period": "30"})
    assert response.status_code == 303 and response.headers["Location"] == "/coordinator?period=30"
    assert [(n.recipient_id, n.subject) for n in nudges()] == [
        (p.mona.id, "How is your mentorship with Otto Other going?"),
        (p.otto.id, "How is your mentorship with Mona Mentor going?")]
    assert nudges()[0].context == {"mentorship_id": p.p2.id, "by": p.cora.id}
    events = list(AuditEvent.select().where(AuditEvent.action == "mentorship.nudged"))
    assert [(e.actor_id, e.target) for e in events] == [(p.cora.id, f"mentorship:{p.p2.id}")]
    html = client.get("/coordinator?period=30").get_data(as_text=True)
    assert "Nudge sent to Mona Mentor and Otto Other." in html
    assert re.search(rf'id="nudge-{p.p2.id}-quiet".*?Nudged today', html, re.S)

    again = client.post(f"/coordinator/pairs/{p.p2.id}/nudge", follow_redirects=True).get_data(as_text=True)
    assert "Mona Mentor and Otto Other were already nudged today: they have the message." in again
    assert len(nudges()) == 2 and AuditEvent.select().where(AuditEvent.action == "mentorship.nudged").count() == 1


def test_a_nudge_the_next_day_is_new(program):
    p = program
    assert dashboard.nudge(p.cora, p.p4.id, now=NOW)[1] is True
    assert dashboard.nudge(p.cora, p.p4.id, now=NOW + dt.timedelta(hours=11))[1] is False  # 23:00 the same day
    assert dashboard.nudge(p.cora, p.p4.id, now=NOW + DAY)[1] is True
    assert len(nudges()) == 4


def test_a_nudge_in_place_with_htmx(client, auth, program):
    p = program
    auth.login("cora@example.org")
    cell = f"nudge-{p.p1.id}-low_rated"
    response = client.post(f"/coordinator/pairs/{p.p1.id}/nudge", headers={"HX-Request": "true", "HX-Target": cell})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.startswith(f'<td id="{cell}">')
    assert 'role="status"' in body and "Nudge sent to Mona Mentor and Mel Mentee." in body
    # A target that is not one of the pair's cells gets the plain answer.
    odd = client.post(f"/coordinator/pairs/{p.p1.id}/nudge", headers={"HX-Request": "true", "HX-Target": "x"})
    assert odd.status_code == 303


def test_ended_own_and_unknown_pairs_are_not_nudged(client, auth, program, make_member):
    p = program
    auth.login("cora@example.org")
    ended = client.post(f"/coordinator/pairs/{p.p5.id}/nudge", follow_redirects=True).get_data(as_text=True)
    assert "The mentorship of Mia Mentor and Mel Mentee has ended: there is nothing to nudge." in ended
    own = pair(p.cora, p.ned, 40)
    mine = client.post(f"/coordinator/pairs/{own.id}/nudge", follow_redirects=True).get_data(as_text=True)
    assert "This is your own mentorship: another coordinator will nudge it." in mine
    assert client.post("/coordinator/pairs/999999/nudge").status_code == 404
    assert nudges() == []
    auth.logout()
    auth.login("mona@example.org")
    assert client.post(f"/coordinator/pairs/{p.p2.id}/nudge").status_code == 403
    assert nudges() == []


@pytest.mark.csrf
def test_an_htmx_nudge_needs_the_token_the_page_gives(client, program):
    p = program
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"email": "cora@example.org", "password": "correct horse battery", "csrf_token": token})
    html = client.get("/coordinator").get_data(as_text=True)
    header = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', html).group(1)
    htmx = {"HX-Request": "true", "HX-Target": f"nudge-{p.p2.id}-quiet"}
    assert client.post(f"/coordinator/pairs/{p.p2.id}/nudge", headers=htmx).status_code == 400
    assert nudges() == []
    response = client.post(f"/coordinator/pairs/{p.p2.id}/nudge", headers=dict(htmx, **{"X-CSRFToken": header}))
    assert response.status_code == 200 and len(nudges()) == 2


def test_the_nudge_email_asks_how_it_goes(app, program, mailbox):
    p = program
    dashboard.nudge(p.cora, p.p2.id)
    row = N.get((N.kind == kinds.PAIR_NUDGE) & (N.recipient == p.otto.id))
    assert delivery.deliver(row.id) == N.SENT
    text = mailbox.text(mailbox.last_to("otto@example.org"))
    assert "Cora Coordinator, one of the program’s coordinators, asks how your mentorship with Mona Mentor" in text
    assert f"http://portal.test/mentorships/{p.p2.id}/meetings/new" in text


# --- a constant number of queries ------------------------------------------------------------------

def grow(p, make_member, n):
    """``n`` more pairs, each with meetings, feedback, a check-in, a flag, requests and a failed email."""
    for i in range(n):
        mentor = make_member(name=f"Extra Mentor {i}", offers=[], capacity=1, offers_mentoring=True)
        mentee = make_member(name=f"Extra Mentee {i}")
        m = pair(mentor, mentee, 40 + i, flagged_at=NOW - DAY)
        meeting = held(m, 31 + i)
        rate(meeting, mentee, 1 + i % 5, 2)
        CheckIn.create(mentorship=m, author=mentee, round=1, score=3, created_at=NOW - DAY)
        request(mentor, mentee, R.PENDING_MENTOR, 8 * DAY, reached=8 * DAY)
        request(mentor, mentee, R.ACCEPTED, 9 * DAY, reached=9 * DAY, answered=8 * DAY)
        pair(mentor, make_member(name=f"Extra Second {i}"), 2)  # over capacity
        N.create(recipient=mentee, kind=kinds.PAIR_QUIET, subject="Quiet", dedupe_key=f"extra:{i}", status=N.FAILED)
        dashboard.nudge(p.cora, m.id, now=NOW)


def test_the_dashboard_runs_a_constant_number_of_queries(client, auth, program, make_member, count_queries,
                                                         fixed_now):
    auth.login("cora@example.org")
    client.get("/coordinator")  # the session's first request loads what later ones have cached
    with count_queries() as small:
        assert client.get("/coordinator").status_code == 200
    grow(program, make_member, 15)
    with count_queries() as large:
        html = client.get("/coordinator").get_data(as_text=True)
    assert "Extra Mentee 14" in html  # quiet for 45 days: among the first shown
    assert "Nudged today" in html
    assert len(large) == len(small), "\n".join(large)
    with count_queries() as everything:
        client.get("/coordinator/at-risk")
    assert len(everything) <= len(small)


# --- the period "this round" ---------------------------------------------------------------------------

def a_round(name="Spring 2026", starts_on=dt.date(2026, 4, 1), length_weeks=8, status=Round.PUBLISHED,
            published_at=dt.datetime(2026, 3, 20, 9, 0)):
    return Round.create(name=name, opens_on=starts_on - 31 * DAY, closes_on=starts_on - 17 * DAY,
                        starts_on=starts_on, length_weeks=length_weeks, status=status, published_at=published_at)


@pytest.fixture
def spring(program, make_member):
    """A round whose 8 weeks ran from 1 Apr to 26 May 2026 (ended before NOW), with two pairs: one still active
    with a meeting inside the window and one after it, and one ended."""
    r = a_round()
    rita = make_member(name="Rita Round", email="rita@example.org", capacity=2)
    start = dt.datetime(2026, 4, 1)
    r.active_pair = Mentorship.create(mentor=rita, mentee=make_member(name="Rob Round"), started_at=start, round=r)
    Mentorship.create(mentor=rita, mentee=make_member(name="Ruth Round"), started_at=start, round=r,
                      status=Mentorship.ENDED, ended_at=NOW - 60 * DAY)
    held(r.active_pair, 47, 30)  # 1 May: inside
    held(r.active_pair, 7, 60)  # 10 Jun: after the round's planned end
    return r


def test_this_round_counts_from_its_start_to_its_planned_end(spring):
    f = dashboard.figures(dashboard.ROUND, now=NOW)
    w = f.window
    assert (f.period, w.label, w.during) == ("round", "Spring 2026 round", "during the Spring 2026 round")
    assert (w.since, w.until, w.first_day, w.last_day, w.days, w.ended) == (
        dt.datetime(2026, 4, 1), dt.datetime(2026, 5, 27), dt.date(2026, 4, 1), dt.date(2026, 5, 26), 56, True)
    # Held 1 Apr to 26 May: 8 Apr (P5, 60), 1 May (the round's, 30), 18 May (P4, 45), 19 May (P3, 60).
    assert (f.meetings, f.minutes, f.meetings_per_week, f.hours_per_week) == (4, 195, 0.5, 0.4)
    assert f.ratings == {1: 0, 2: 1, 3: 1, 4: 0, 5: 0} and f.average_rating == 2.5  # 9 Apr and 20 May
    assert (f.average_check_in, f.check_ins) == (None, 0)
    assert (f.median_answer, f.answered) == (4 * DAY, 1)  # Max's answer of 22 May
    assert f.funnel == [("Sent", 1), ("Reviewed, or needed no review", 1), ("Reached the person asked", 1),
                        ("Accepted", 1)]
    assert f.not_good_fit == 1  # P5's feedback of 9 Apr; P2's flag (28 May) and P5's end (12 Jun) came later
    assert (f.round_pairs, f.round_active) == (2, 1)
    assert (f.active_pairs, f.members_active) == (5, 11)  # states, whatever the period
    assert dashboard.at_risk(dashboard.ROUND, now=NOW).low_rated == []  # P1's 2 of 8 Jun is after the round


def test_a_round_under_way_runs_to_now_and_starts_when_published_if_later(program):
    r = a_round(starts_on=dt.date(2026, 6, 1), length_weeks=12, published_at=dt.datetime(2026, 6, 3, 10, 0))
    w = dashboard.window(dashboard.ROUND, NOW, r)
    assert (w.since, w.until, w.first_day, w.last_day, w.days, w.ended) == (
        dt.datetime(2026, 6, 3, 10, 0), NOW, dt.date(2026, 6, 3), dt.date(2026, 6, 17), 15, False)
    f = dashboard.figures(dashboard.ROUND, now=NOW)
    assert (f.meetings, f.minutes) == (2, 150)  # 7 and 14 Jun
    assert (f.round_pairs, f.round_active) == (0, 0)


def test_the_latest_published_or_closed_round_is_this_round(program):
    assert dashboard.latest_round() is None
    a_round(name="Draft", starts_on=dt.date(2026, 9, 1), status=Round.DRAFT, published_at=None)
    a_round(name="Matching", starts_on=dt.date(2026, 8, 1), status=Round.MATCHING, published_at=None)
    assert dashboard.latest_round() is None
    a_round(name="Winter 2026 round", starts_on=dt.date(2026, 1, 5), status=Round.CLOSED)
    spring = a_round()
    assert dashboard.latest_round().id == spring.id
    f = dashboard.figures(dashboard.ROUND, now=NOW)
    assert (f.round.name, f.round_label) == ("Spring 2026", "Spring 2026 round")
    assert dashboard.round_label(Round.get(Round.name == "Winter 2026 round")) == "Winter 2026 round"


def test_without_a_published_round_this_round_falls_back_to_90_days(program):
    a_round(status=Round.MATCHING, published_at=None)
    f = dashboard.figures(dashboard.ROUND, now=NOW)
    assert (f.period, f.window.label, f.round, f.meetings) == (90, "The last 90 days", None, 6)
    assert [r.pair.id for r in dashboard.at_risk(dashboard.ROUND, now=NOW).low_rated] == [program.p1.id]


def test_the_select_offers_this_round_once_one_is_published(client, auth, program, fixed_now):
    auth.login("cora@example.org")
    html = client.get("/coordinator").get_data(as_text=True)
    assert 'value="round"' not in html and 'id="figure-round-pairs"' not in html
    odd = client.get("/coordinator?period=round").get_data(as_text=True)
    assert '<option value="90" selected>' in odd and '<h2 id="figures-title">The last 90 days</h2>' in odd
    a_round(status=Round.OPEN, published_at=None)
    assert 'value="round"' not in client.get("/coordinator").get_data(as_text=True)


def test_the_round_period_on_the_page(client, auth, spring, fixed_now):
    auth.login("cora@example.org")
    html = client.get("/coordinator").get_data(as_text=True)
    assert '<option value="round">Spring 2026 round</option>' in html and 'id="figure-round-pairs"' not in html
    html = client.get("/coordinator?period=round").get_data(as_text=True)
    assert '<option value="round" selected>Spring 2026 round</option>' in html
    assert '<option value="90" selected>' not in html
    assert '<h2 id="figures-title">Spring 2026 round</h2>' in html
    assert "From 01 Apr 2026 to 26 May 2026, the end of its planned 8 weeks." in html
    assert text_of(html, "figure-round-pairs") == "2" and "1 still active" in html
    assert text_of(html, "figure-meetings-week") == "0.5" and "4 meetings held · 0.4 hours per week" in html
    assert "Requests sent during the Spring 2026 round, from sent to accepted: Sent 1," in html
    partial = client.get("/coordinator?period=round", headers={"HX-Request": "true", "HX-Target": "figures"})
    assert "Showing the Spring 2026 round." in partial.get_data(as_text=True)


def test_the_round_period_costs_the_same_queries(client, auth, spring, count_queries, fixed_now):
    auth.login("cora@example.org")
    client.get("/coordinator")
    with count_queries() as days:
        assert client.get("/coordinator").status_code == 200
    with count_queries() as this_round:
        assert "figure-round-pairs" in client.get("/coordinator?period=round").get_data(as_text=True)
    assert len(this_round) == len(days), "\n".join(this_round)
