"""Links in emails (DESIGN §6), "away until" (journey 7) and failed emails shown to coordinators.

Mail goes to a real SMTP server (aiosmtpd, tests/mailkit.py); the links in it are followed with a
test client that is not logged in, as a member following them from their mail program would.
"""
import datetime as dt
import re
import threading
from zoneinfo import ZoneInfo

import pytest

from portal.db import database
from portal.links import services as links
from portal.members import services as members
from portal.mentorships import services as pairs
from portal.models import AuditEvent, ConnectionRequest, Feedback, Notification, NotificationPreference, Profile, User
from portal.models import UsedLink, utcnow
from portal.notifications import delivery
from portal.notifications.sweep import sweep
from portal.requests import services as svc

R = ConnectionRequest
N = Notification
HELP = "I lead a team of four for the first time and want to do it well."
SUCCESS = "Our weekly meeting runs itself and I delegate without worrying."


@pytest.fixture
def people(cast):
    return cast(capacity=3)


def ask(p, mentee=None, now=None, topic="Leadership", mentor=None):
    return svc.send_request(mentee or p.mentee, mentor or p.mentor, [p.topics[topic].id], HELP, SUCCESS, "video",
                            now=now)


def run_sweep(now=None):
    """One sweep whose deliveries run at once, in this thread."""
    now = now or utcnow()
    return sweep(now, enqueue=lambda notification_id: delivery.deliver(notification_id, now))


def text_of(message):
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message):
    return message.get_body(preferencelist=("html",)).get_content()


def to(smtp, email, subject_start=""):
    return [m for m in smtp.messages() if email in m["To"] and m["Subject"].startswith(subject_start)]


def path_of(url):
    return url.replace("http://portal.test", "")


def link(message, label):
    """The URL after ``label:`` in the text part."""
    found = re.search(re.escape(label) + r":? (http://portal\.test/\S+)", text_of(message))
    assert found, f"no {label!r} link in:\n{text_of(message)}"
    return path_of(found.group(1))


def form_token(page):
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def in_zone(moment, zone):
    return moment.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(zone))


def midnight_utc(day, zone):
    return dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(zone)).astimezone(dt.timezone.utc).replace(tzinfo=None)


# --- one-click unsubscribe ----------------------------------------------------------------------

def test_every_email_carries_a_one_click_unsubscribe_for_its_own_kind(app, people, make_member, smtp):
    now = utcnow().replace(microsecond=0)
    p = people
    svc.set_requests_need_review(p.coordinator, True)
    old = ask(p, mentee=p.other, topic="Python", now=now - dt.timedelta(days=15))  # to review, then expires
    svc.approve(p.coordinator, old, now=now - dt.timedelta(days=15))
    ria = make_member(name="Ria Review", email="ria@example.org", seeks=[p.topics["Leadership"]])
    ask(p, mentee=ria, now=now - dt.timedelta(hours=1))  # waits for review
    svc.set_requests_need_review(p.coordinator, False)
    ask(p, now=now - dt.timedelta(days=4))  # received, then waiting
    max_mentor = make_member(name="Max Mentor", email="max@example.org", offers=[p.topics["Leadership"]], capacity=1)
    pia = make_member(name="Pia Partner", email="pia@example.org", seeks=[p.topics["Leadership"]])
    started = svc.accept(max_mentor, ask(p, mentee=pia, mentor=max_mentor, now=now - dt.timedelta(days=3)),
                         now=now - dt.timedelta(days=3))  # answered
    pair = pairs.visible_mentorship(started.mentorship_id, max_mentor)
    day = in_zone(now, max_mentor.time_zone).date()
    meeting = pairs.log_meeting(max_mentor, pair, day, 60, now=now)  # first meeting: is it a good fit?
    pairs.give_feedback(pia, meeting, 2, good_fit="no", now=now)  # coordinators are told
    pairs.schedule_meeting(max_mentor, pair, day + dt.timedelta(days=7), dt.time(10, 0), 60, "video", now=now)
    members.go_away(p.other, days=1, now=now - dt.timedelta(days=2))  # back already: told what waited
    run_sweep(now)

    sent = list(N.select().where(N.status == N.SENT))
    kinds = {row.kind for row in sent}
    assert kinds >= {"request_to_review", "request_received", "request_waiting", "request_expired", "request_answered",
                     "first_meeting_fit", "pair_flagged", "meeting_scheduled", "back_from_away"}
    messages = {m["Message-ID"]: m for m in smtp.messages()}
    assert len(messages) == len(sent)
    for row in sent:
        message = messages[delivery.message_id(row.dedupe_key)]
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click", row.kind
        header = message["List-Unsubscribe"]
        assert re.fullmatch(r"<http://portal\.test/unsubscribe/[\w.-]+>", header), (row.kind, header)
        url = header[1:-1]
        assert url in text_of(message) and f'href="{url}"' in html_of(message), row.kind
        user, kind = links.read_unsubscribe(url.rsplit("/", 1)[1])
        assert (user.id, kind) == (row.recipient_id, row.kind)


@pytest.mark.csrf
def test_the_one_click_post_without_login_turns_the_kind_off_and_its_next_email_is_not_sent(app, client, people,
                                                                                           smtp):
    now = utcnow()
    ask(people, now=now - dt.timedelta(days=1))
    run_sweep(now)
    [received] = to(smtp, "mona@example.org")
    url = path_of(received["List-Unsubscribe"][1:-1])
    # What a mail program sends (RFC 8058): no cookie, no form token of ours.
    response = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert "you will no longer get these emails" in response.get_data(as_text=True)
    assert NotificationPreference.get(NotificationPreference.user == people.mentor.id).kind == "request_received"
    assert AuditEvent.get(AuditEvent.action == "notifications.unsubscribed").detail == "request_received"

    ask(people, mentee=people.other, topic="Python", now=now)
    run_sweep(now + dt.timedelta(minutes=1))
    assert len(to(smtp, "mona@example.org", "Otto Other asks you")) == 0, "that kind is off"
    latest = N.select().where((N.kind == "request_received") & (N.recipient == people.mentor.id)).order_by(N.id.desc())
    assert latest.first().status == "portal_only", "kept in the portal"
    run_sweep(now + dt.timedelta(days=3))  # another kind still arrives
    assert [m["Subject"] for m in to(smtp, "mona@example.org", "Mel Mentee's request is waiting")]
    # Following it again changes nothing and says the same.
    assert client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert NotificationPreference.select().count() == 1


def received_row(user):
    return N.select().where((N.kind == "request_received") & (N.recipient == user.id)).order_by(N.id).first()


def test_opening_the_unsubscribe_link_changes_nothing_until_the_button(app, client, people, smtp):
    ask(people)
    run_sweep()
    url = path_of(to(smtp, "mona@example.org")[0]["List-Unsubscribe"][1:-1])
    page = client.get(url)  # a mail scanner, or the member reading first
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Stop emails about “A member asks you for mentoring, or offers to mentor you”?" in body
    assert f'<form method="post" action="{url}">' in body
    assert NotificationPreference.select().count() == 0
    ask(people, mentee=people.other, topic="Python")
    run_sweep()
    assert len(to(smtp, "mona@example.org", "Otto Other asks you")) == 1


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_forged_or_altered_unsubscribe_link_is_refused(app, client, people, method):
    real = links.unsubscribe_url(people.mentor.id, "request_received").rsplit("/", 1)[1]
    other_user = links.unsubscribe_url(people.mentee.id, "request_received").rsplit("/", 1)[1]
    # Mel's payload with the signature of Mona's link, and a made-up token.
    altered = other_user.split(".")[0] + "." + ".".join(real.split(".")[1:])
    for token in (altered, "not-a-token", real[:-2]):
        response = client.open(f"/unsubscribe/{token}", method=method)
        assert response.status_code == 404
        assert "This link is not valid" in response.get_data(as_text=True)
    assert NotificationPreference.select().count() == 0


# --- single-use action links --------------------------------------------------------------------

def received_mail(p, smtp, now=None):
    ask(p, now=now)
    run_sweep(now)
    [message] = to(smtp, "mona@example.org", "Mel Mentee asks you")
    return message


@pytest.mark.csrf
def test_accept_from_the_email_without_logging_in_acts_once(app, client, people, smtp):
    message = received_mail(people, smtp)
    url = link(message, "Accept")
    assert f'href="http://portal.test{url}"' in html_of(message)
    page = client.get(url)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Accept Mel Mentee’s request?" in body and "You answer as Mona Mentor" in body
    assert HELP in body
    assert R.get().status == R.PENDING_MENTOR, "opening the link does nothing"
    assert client.post(url).status_code == 400, "the confirm page's form token is needed"
    assert R.get().status == R.PENDING_MENTOR

    done = client.post(url, data={"csrf_token": form_token(body)})
    assert done.status_code == 200
    assert "You accepted Mel Mentee’s request: your mentorship has started." in done.get_data(as_text=True)
    req = R.get()
    assert req.status == R.ACCEPTED and req.mentorship_id is not None
    assert AuditEvent.get(AuditEvent.action == "request.accepted").actor_id == people.mentor.id
    assert N.get(N.kind == "request_answered").recipient_id == people.mentee.id

    again = client.post(url, data={"csrf_token": form_token(body)})
    assert again.status_code == 404 and "This link has already been used" in again.get_data(as_text=True)
    assert 'href="/login"' in again.get_data(as_text=True)
    assert client.get(url).status_code == 404
    assert UsedLink.select().count() == 1


def test_decline_from_the_email_sends_the_chosen_kind_note(app, client, people, smtp):
    message = received_mail(people, smtp)
    url = link(message, "Decline")
    page = client.get(url).get_data(as_text=True)
    assert "Decline Mel Mentee’s request?" in page and "No time this quarter" in page
    response = client.post(url, data={"template": "no_time", "note": ""})
    assert "You declined Mel Mentee’s request. They have been told." in response.get_data(as_text=True)
    req = R.get()
    assert req.status == R.DECLINED and req.answer_note == svc.DECLINE_NOTES["no_time"][1]


def test_a_refused_answer_shows_why_keeps_what_was_typed_and_leaves_the_link_unused(app, client, people, smtp):
    url = link(received_mail(people, smtp), "Decline")
    long_note = "Thank you. " * 120
    response = client.post(url, data={"note": long_note})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="note-error" class="error">Keep the note under 1000 characters' in body
    assert long_note.strip() in body and 'aria-invalid="true"' in body
    assert R.get().status == R.PENDING_MENTOR and UsedLink.select().count() == 0
    assert "You declined" in client.post(url, data={"note": "Not this quarter, sorry."}).get_data(as_text=True)


def test_the_accept_link_of_a_request_answered_meanwhile_says_so(app, client, people, smtp):
    message = received_mail(people, smtp)
    svc.decline(people.mentor, R.get())
    body = client.post(link(message, "Accept")).get_data(as_text=True)
    assert "This request has already been declined." in body
    assert R.get().status == R.DECLINED


def test_an_expired_or_forged_action_link_says_so_and_offers_to_log_in(app, client, people, smtp):
    req = ask(people)
    old = path_of(links.action_url(people.mentor.id, links.ACCEPT, req.id, "test-old",
                                   now=utcnow() - links.ACTION_MAX_AGE - dt.timedelta(minutes=1)))
    fresh = path_of(links.action_url(people.mentor.id, links.ACCEPT, req.id, "test-fresh"))
    theirs = path_of(links.action_url(people.mentee.id, links.ACCEPT, req.id, "test-forged"))
    forged = fresh.rsplit(".", 1)[0] + "." + theirs.rsplit(".", 1)[1]  # Mona's link with another signature
    for method in ("GET", "POST"):
        response = client.open(old, method=method)
        assert response.status_code == 404 and "This link has expired" in response.get_data(as_text=True)
        assert 'href="/login"' in response.get_data(as_text=True)
        response = client.open(forged, method=method)
        assert response.status_code == 404 and "This link is not valid" in response.get_data(as_text=True)
    assert R.get().status == R.PENDING_MENTOR
    assert client.get(fresh).status_code == 200


def test_a_link_followed_twice_at_the_same_moment_acts_once(app, people, smtp):
    req = ask(people)
    token = links.action_url(people.mentor.id, links.DECLINE, req.id, "test-twice").rsplit("/", 1)[1]
    found = [links.read_action(token), links.read_action(token)]
    barrier, outcomes = threading.Barrier(2), []

    def follow(i):
        with app.app_context(), database.connection_context():
            barrier.wait()
            try:
                outcomes.append(links.act(found[i], note="Not now."))
            except (links.LinkError, svc.RequestError) as error:
                outcomes.append(error.message)

    threads = [threading.Thread(target=follow, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["This link has already been used. Log in to see where things stand.",
                                "You declined Mel Mentee’s request. They have been told."]
    assert AuditEvent.select().where(AuditEvent.action == "request.declined").count() == 1


def test_good_fit_from_the_email_asks_the_rating_once(app, client, people, smtp):
    req = svc.accept(people.mentor, ask(people))
    pair = pairs.visible_mentorship(req.mentorship_id, people.mentor)
    meeting = pairs.log_meeting(people.mentor, pair, in_zone(utcnow(), "Europe/Berlin").date(), 60)
    run_sweep()
    [message] = to(smtp, "mel@example.org", "After your first meeting")
    url = link(message, "Yes, a good fit")
    page = client.get(url).get_data(as_text=True)
    assert "Is Mona Mentor a good fit?" in page and "How was your first meeting? (1 to 5)" in page
    missing = client.post(url, data={}).get_data(as_text=True)
    assert 'id="rating-error" class="error">Choose a rating from 1 to 5.' in missing
    done = client.post(url, data={"rating": "4"}).get_data(as_text=True)
    assert "you said this mentorship is a good fit" in done
    fb = Feedback.get((Feedback.meeting == meeting.id) & (Feedback.author == people.mentee.id))
    assert (fb.rating, fb.good_fit) == (4, True)
    # The mentor's link keeps the rating they gave on the portal.
    pairs.give_feedback(people.mentor, meeting, 5, "Clear goals")
    [theirs] = to(smtp, "mona@example.org", "After your first meeting")
    page = client.get(link(theirs, "Yes, a good fit")).get_data(as_text=True)
    assert "(5 of 5) stays as it is" in page
    client.post(link(theirs, "Yes, a good fit"))
    mine = Feedback.get((Feedback.meeting == meeting.id) & (Feedback.author == people.mentor.id))
    assert (mine.rating, mine.most_useful, mine.good_fit) == (5, "Clear goals", True)


def test_away_for_two_weeks_from_a_request_email(app, client, auth, people, smtp):
    now = utcnow()
    message = received_mail(people, smtp, now)
    assert "Away for two weeks" in text_of(message)
    url = link(message, "Away for two weeks? New requests wait until you are back")
    back = in_zone(utcnow(), "Europe/Berlin").date() + dt.timedelta(days=14)
    page = client.get(url).get_data(as_text=True)
    assert f"You will be away until <strong>{back.day} {back:%B %Y}</strong>" in page
    assert "1 request already waits for your answer and keeps its date" in page
    assert Profile.get_by_id(people.mentor.id).away_until is None
    done = client.post(url).get_data(as_text=True)
    assert f"You are away until {back.day} {back:%B %Y}" in done
    profile = Profile.get_by_id(people.mentor.id)
    assert profile.away_until == back and profile.away_ends_at == midnight_utc(back, "Europe/Berlin")

    auth.login("otto@example.org")
    assert "Mona Mentor" not in client.get("/mentors").get_data(as_text=True)
    shown = client.get(f"/members/{people.mentor.id}").get_data(as_text=True)
    assert f"Away until {back.day} {back:%B %Y}: a request sent now waits for Mona Mentor’s return" in shown


# --- away until ---------------------------------------------------------------------------------

def test_a_request_to_an_away_mentor_is_held_until_they_are_back(app, client, auth, people, smtp):
    now = utcnow()
    members.go_away(people.mentor, now=now)
    back_at = Profile.get_by_id(people.mentor.id).away_ends_at
    auth.login("mel@example.org")
    response = client.post(f"/members/{people.mentor.id}/request", data={
        "topics": [str(people.topics["Leadership"].id)], "help_wanted": HELP, "success_looks_like": SUCCESS,
        "meeting_format": "video"}, follow_redirects=True)
    day = Profile.get_by_id(people.mentor.id).away_until
    assert (f"Your request is sent to Mona Mentor, who is away until {day.day} {day:%B}: it waits for their return, "
            "and their 14 days to answer start then.") in response.get_data(as_text=True)
    req = R.get()
    assert req.status == R.PENDING_MENTOR and req.expires_at == back_at + svc.EXPIRY
    assert received_row(people.mentor).due_at == back_at

    run_sweep(back_at - dt.timedelta(minutes=1))
    assert to(smtp, "mona@example.org") == [], "nothing reaches an away mentor"
    assert R.get().status == R.PENDING_MENTOR
    done = run_sweep(back_at)
    assert done.reminded == 1
    subjects = sorted(m["Subject"] for m in to(smtp, "mona@example.org"))
    assert subjects == ["Mel Mentee asks you for mentoring", "Welcome back: 1 request waits for your answer"]
    [welcome] = to(smtp, "mona@example.org", "Welcome back")
    text = text_of(welcome)
    assert "1 request waited for you:" in text and "- Mel Mentee (Leadership), to answer by" in text
    assert Profile.get_by_id(people.mentor.id).away_until is None
    # Reminded 3 days after the return, expired 14 days after it.
    assert run_sweep(back_at + svc.WAITING + dt.timedelta(minutes=1)).reminded == 1
    assert run_sweep(back_at + svc.EXPIRY - dt.timedelta(minutes=1)).expired == 0
    assert run_sweep(back_at + svc.EXPIRY).expired == 1


def test_a_request_approved_while_the_mentor_is_away_also_waits_for_them(app, people):
    now = utcnow()
    svc.set_requests_need_review(people.coordinator, True)
    req = ask(people, now=now)
    members.go_away(people.mentor, now=now)
    back_at = Profile.get_by_id(people.mentor.id).away_ends_at
    svc.approve(people.coordinator, req, now=now + dt.timedelta(hours=1))
    assert R.get().expires_at == back_at + svc.EXPIRY and received_row(people.mentor).due_at == back_at


def test_a_new_return_day_moves_what_waits_for_it(app, people):
    """Held requests follow the return day, later or earlier: their email and their 14 days."""
    now = utcnow()
    members.go_away(people.mentor, now=now)
    req = ask(people, now=now)
    later = members.away_day(people.mentor, 30, now)
    members.save_profile(User.get_by_id(people.mentor.id), {"away_until": later})
    back_later = Profile.get_by_id(people.mentor.id).away_ends_at
    assert R.get_by_id(req.id).expires_at == back_later + svc.EXPIRY
    assert received_row(people.mentor).due_at == back_later

    members.save_profile(User.get_by_id(people.mentor.id), {"away_until": None})  # back today after all
    assert Profile.get_by_id(people.mentor.id).away_ends_at is None
    assert R.get_by_id(req.id).expires_at - svc.EXPIRY <= utcnow()
    assert received_row(people.mentor).due_at <= utcnow()


def test_away_mentors_come_back_on_their_day_in_their_own_zone(app, client, auth, make_member, people, smtp):
    t = people.topics
    tokyo = make_member(name="Taro Tokyo", email="taro@example.org", offers=[t["Leadership"]], time_zone="Asia/Tokyo")
    la = make_member(name="Lia Angeles", email="lia@example.org", offers=[t["Leadership"]],
                     time_zone="America/Los_Angeles")
    now = utcnow()
    day = in_zone(now, "UTC").date() + dt.timedelta(days=3)
    for member in (tokyo, la):
        members.save_profile(member, {"away_until": day})
    tokyo_back, la_back = midnight_utc(day, "Asia/Tokyo"), midnight_utc(day, "America/Los_Angeles")
    assert tokyo_back < la_back and Profile.get_by_id(tokyo.id).away_ends_at == tokyo_back

    auth.login("mel@example.org")
    listed = client.get("/mentors?sort=name").get_data(as_text=True)
    assert "Mona Mentor" in listed and "Taro Tokyo" not in listed and "Lia Angeles" not in listed

    assert run_sweep(tokyo_back - dt.timedelta(seconds=1)).reminded == 0
    assert run_sweep(tokyo_back).reminded == 1
    assert (Profile.get_by_id(tokyo.id).away_until, Profile.get_by_id(la.id).away_until) == (None, day)
    assert run_sweep(la_back - dt.timedelta(seconds=1)).reminded == 0
    assert run_sweep(la_back).reminded == 1
    assert run_sweep(la_back + dt.timedelta(days=1)).reminded == 0, "told once"
    [welcome] = to(smtp, "lia@example.org")
    assert welcome["Subject"] == "Welcome back: you are listed again"
    assert "No request came while you were away." in text_of(welcome)
    assert AuditEvent.select().where(AuditEvent.action == "profile.back").count() == 2


def test_a_member_whose_day_has_come_is_listed_before_the_sweep_runs(app, client, auth, people):
    members.go_away(people.mentor, days=1, now=utcnow() - dt.timedelta(days=2))  # back yesterday
    assert Profile.get_by_id(people.mentor.id).away_until is not None
    auth.login("mel@example.org")
    assert "Mona Mentor" in client.get("/mentors").get_data(as_text=True)
    assert "Away until" not in client.get(f"/members/{people.mentor.id}").get_data(as_text=True)


def profile_form(user, **changes):
    data = {"name": user.name, "headline": "Headline", "bio": "", "organization": "Org", "job_title": "Engineer",
            "job_level": "mid", "industry": "technology", "country": "DE", "offers_mentoring": "y",
            "offered_topics": [str(t.topic_id) for t in user.profile.topic_links if t.kind == "offers"],
            "capacity": "2", "time_zone": user.time_zone, "languages": ["en"], "meeting_formats": ["video"],
            "availability_note": "", "away_until": ""}
    data.update(changes)
    return data


def test_the_profile_page_sets_and_clears_the_away_date(app, client, auth, people):
    auth.login("mona@example.org")
    today = in_zone(utcnow(), "Europe/Berlin").date()
    past = client.post("/profile/edit", data=profile_form(people.mentor, away_until=today.isoformat()))
    body = past.get_data(as_text=True)
    assert past.status_code == 200
    assert 'id="away_until-error" class="error">Choose a day after today for your return' in body
    assert f'value="{today.isoformat()}"' in body
    typo = client.post("/profile/edit", data=profile_form(people.mentor, away_until="next friday")).get_data(
        as_text=True)
    assert "Enter the day you are back as a date, such as 2025-06-30" in typo and 'value="next friday"' in typo
    far = today + dt.timedelta(days=members.AWAY_MAX_DAYS + 1)
    assert "Choose a return within a year" in client.post(
        "/profile/edit", data=profile_form(people.mentor, away_until=far.isoformat())).get_data(as_text=True)
    assert Profile.get_by_id(people.mentor.id).away_until is None

    back = today + dt.timedelta(days=10)
    saved = client.post("/profile/edit", data=profile_form(people.mentor, away_until=back.isoformat()),
                        follow_redirects=True).get_data(as_text=True)
    assert f"Away until {back.day} {back:%B %Y}." in saved
    assert f'value="{back.isoformat()}"' in client.get("/profile/edit").get_data(as_text=True)
    # Moving to Tokyo moves the moment of the return to Tokyo's midnight.
    client.post("/profile/edit", data=profile_form(people.mentor, away_until=back.isoformat(), time_zone="Asia/Tokyo"))
    assert Profile.get_by_id(people.mentor.id).away_ends_at == midnight_utc(back, "Asia/Tokyo")
    client.post("/profile/edit", data=profile_form(people.mentor))
    profile = Profile.get_by_id(people.mentor.id)
    assert (profile.away_until, profile.away_ends_at) == (None, None)
    assert [e.detail for e in AuditEvent.select().where(AuditEvent.action == "profile.away").order_by(AuditEvent.id)] \
        == [f"until {back.isoformat()}", f"until {back.isoformat()}", "back"]


def test_coming_back_early_announces_the_held_requests_now(app, people, smtp):
    now = utcnow()
    members.go_away(people.mentor, now=now)
    ask(people, now=now)
    members.save_profile(User.get_by_id(people.mentor.id), {"away_until": None})
    run_sweep(now + dt.timedelta(minutes=1))
    assert [m["Subject"] for m in to(smtp, "mona@example.org")] == ["Mel Mentee asks you for mentoring"]


# --- failed emails, for coordinators --------------------------------------------------------------

def test_coordinators_see_failed_emails_and_send_one_again(app, client, auth, people, smtp):
    ask(people)
    smtp.rcpt = ["550 5.1.1 <mona@example.org>: mailbox unavailable"]
    run_sweep()
    failed = received_row(people.mentor)
    assert failed.status == "failed"

    auth.login("mel@example.org")
    assert client.get("/coordinator/notifications").status_code == 403
    assert client.post(f"/coordinator/notifications/{failed.id}/retry").status_code == 403
    auth.logout()
    auth.login("cora@example.org")
    page = client.get("/coordinator/notifications").get_data(as_text=True)
    assert "1 failed email" in page
    row = re.search(rf'<tr id="failed-{failed.id}">.*?</tr>', page, re.S).group(0)
    for shown in ("Mona Mentor", "mona@example.org", "Mel Mentee asks you for mentoring",
                  "A member asks you for mentoring, or offers to mentor you",
                  "550 5.1.1 &lt;mona@example.org&gt;: mailbox unavailable", "<td>1</td>", "Try again"):
        assert shown in row, shown

    response = client.post(f"/coordinator/notifications/{failed.id}/retry",
                           headers={"HX-Request": "true", "HX-Target": f"failed-{failed.id}"})
    assert response.status_code == 200
    assert "The email to Mona Mentor goes out again with the next sweep." in response.get_data(as_text=True)
    again = N.get_by_id(failed.id)
    assert (again.status, again.attempts) == ("pending", 0)
    assert AuditEvent.get(AuditEvent.action == "notification.retried").actor_id == people.coordinator.id
    twice = client.post(f"/coordinator/notifications/{failed.id}/retry", follow_redirects=True)
    assert "no longer failed" in twice.get_data(as_text=True)
    assert "No failed email" in client.get("/coordinator/notifications").get_data(as_text=True)

    run_sweep()
    assert N.get_by_id(failed.id).status == "sent" and len(to(smtp, "mona@example.org")) == 1
    assert client.post("/coordinator/notifications/999999/retry").status_code == 404
