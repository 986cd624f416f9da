"""The member's notification controls: the list at /notifications with its unread badge and "mark read",
the settings (per kind: by email at once, in the daily digest, in the portal only; quiet hours; the
digest hour, in the member's zone), and delivery that follows them, to a real SMTP server
(tests/mailkit.py), in three time zones and across the nights the clocks change."""
import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from portal.mentorships import services as pairs
from portal.models import Notification, NotificationPreference, User, utcnow
from portal.notifications import delivery, preferences
from portal.notifications.services import notify
from portal.notifications.sweep import sweep
from portal.requests import services as svc

N = Notification
UTC = dt.timezone.utc
HELP = "I lead a team of four for the first time and want to do it well."
SUCCESS = "Our weekly meeting runs itself and I delegate without worrying."


@pytest.fixture
def people(cast):
    return cast(capacity=5)


def ask(p, mentee=None, now=None, mentor=None):
    return svc.send_request(mentee or p.mentee, mentor or p.mentor, [p.topics["Leadership"].id], HELP, SUCCESS,
                            "video", now=now)


def page(response):
    return response.get_data(as_text=True)


def listed(html):
    """The ids of the items of the list, in the order shown."""
    return [int(i) for i in re.findall(r'<li id="notification-(\d+)"', html)]


def item(html, notification_id):
    found = re.search(rf'<li id="notification-{notification_id}".*?</li>', html, re.S)
    assert found, f"notification {notification_id} is not listed"
    return found.group(0)


def badge(html):
    """What the navigation's badge says to a screen reader ("" when nothing is unread)."""
    found = re.search(r'<span id="notification-badge"[^>]*>((?:<span[^>]*>[^<]*</span>)*)</span>', html)
    assert found, "no badge"
    said = re.search(r'class="visually-hidden">([^<]*)<', found.group(0))
    return said.group(1) if said else ""


def checked(html, name):
    """The value of the radio button chosen for ``name`` (None when none is)."""
    found = re.search(rf'<input checked id="[^"]+" name="{name}" type="radio" value="([^"]+)"', html)
    return found.group(1) if found else None


def local(moment, zone):
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))


def utc(zone, *wall):
    """A wall-clock time in a zone as naive UTC (the first one, when the clocks repeat it)."""
    return dt.datetime(*wall, tzinfo=ZoneInfo(zone)).astimezone(UTC).replace(tzinfo=None)


def choose(user, quiet=(None, None), digest_hour=8, now=None, **modes):
    """The member saves settings, as the settings page does."""
    settings = preferences.settings_of(user)
    settings.modes.update(modes)
    settings.quiet_from, settings.quiet_until = quiet
    settings.digest_hour = digest_hour
    preferences.save(user, settings, now=now)
    return User.get_by_id(user.id)


def sweep_at(now):
    """One sweep at ``now`` whose deliveries run at once and at the same ``now``: the test's clock."""
    return sweep(now, enqueue=lambda notification_id: delivery.deliver(notification_id, now=now))


def to(smtp, email, subject_start=""):
    return [m for m in smtp.messages() if email in m["To"] and m["Subject"].startswith(subject_start)]


def text_of(message):
    return message.get_body(preferencelist=("plain",)).get_content()


# --- the list ---------------------------------------------------------------------------------------

def test_my_notifications_newest_first_each_linked_to_what_it_is_about_in_my_time(client, auth, people):
    p = people
    t0 = (utcnow() - dt.timedelta(hours=3)).replace(microsecond=0)
    req = ask(p, now=t0)
    pair = svc.accept(p.mentor, req, now=t0 + dt.timedelta(minutes=30)).mentorship
    day = (local(t0, "America/New_York") + dt.timedelta(days=7)).date()
    meeting = pairs.schedule_meeting(p.mentee, pair, day, dt.time(10), 60, "video", link="https://v.example.org/a",
                                     now=t0 + dt.timedelta(hours=1))
    pairs.end_mentorship(p.mentee, pair, "goals_met", now=t0 + dt.timedelta(hours=2))
    auth.login("mona@example.org")
    html = page(client.get("/notifications"))
    mine = list(N.select().where(N.recipient == p.mentor.id).order_by(N.created_at.desc(), N.id.desc()))
    assert [n.kind for n in mine] == ["mentorship_ended", "meeting_cancelled", "meeting_scheduled",
                                      "request_received"]
    assert listed(html) == [n.id for n in mine]
    ended, cancelled, scheduled, received = mine
    assert f'<a href="/mentorships/{pair.id}">Mel Mentee ended your mentorship</a>' in item(html, ended.id)
    assert f'href="/meetings/{meeting.id}"' in item(html, cancelled.id)
    assert f'href="/meetings/{meeting.id}"' in item(html, scheduled.id)
    assert f'<a href="/requests#request-{req.id}">Mel Mentee asks you for mentoring</a>' in item(html, received.id)
    # When, in my zone (Berlin), not the server's
    assert f">{local(t0, 'Europe/Berlin'):%a %d %b %Y, %H:%M}</time>" in item(html, received.id)
    assert all("New" in item(html, n.id) and "Mark as read" in item(html, n.id) for n in mine)
    assert badge(html) == "4 unread"
    # Mel's own notification (her request was accepted) is hers alone
    assert "accepted your request" not in html


def test_mark_one_read_without_javascript_then_in_place(client, auth, people):
    first, second = ask(people), ask(people, mentee=people.other)
    rows = [N.get((N.kind == "request_received") & (N.dedupe_key.contains(f"request:{r.id}:"))) for r in (first,
                                                                                                            second)]
    auth.login("mona@example.org")
    response = client.post(f"/notifications/{rows[0].id}/read")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/notifications#notification-{rows[0].id}")
    assert N.get_by_id(rows[0].id).read_at is not None and N.get_by_id(rows[1].id).read_at is None
    html = page(client.get("/notifications"))
    assert "New" not in item(html, rows[0].id) and "Mark as read" not in item(html, rows[0].id)
    assert "New" in item(html, rows[1].id) and badge(html) == "1 unread"

    response = client.post(f"/notifications/{rows[1].id}/read",
                           headers={"HX-Request": "true", "HX-Target": f"notification-{rows[1].id}"})
    html = page(response)
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith(f'<li id="notification-{rows[1].id}" class="notification">')
    assert "Mark as read" not in html
    assert 'id="notification-badge"' in html and 'hx-swap-oob="true"' in html and badge(html) == ""
    assert 'id="notifications-status" hx-swap-oob="innerHTML">Marked as read: Otto Other asks you for mentoring' in html
    assert N.get_by_id(rows[1].id).read_at is not None


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_mark_all_read(client, auth, people, make_member, htmx):
    for mentee in (people.mentee, people.other, make_member(seeks=[people.topics["Leadership"]])):
        ask(people, mentee=mentee)
    auth.login("mona@example.org")
    headers = {"HX-Request": "true", "HX-Target": "notifications"} if htmx else None
    response = client.post("/notifications/read", headers=headers)
    assert not N.select().where((N.recipient == people.mentor.id) & N.read_at.is_null()).exists()
    if htmx:
        html = page(response)
        assert response.status_code == 200 and "<html" not in html and len(listed(html)) == 3
        assert "New" not in html and "Mark all as read" not in html
        assert 'hx-swap-oob="innerHTML">3 notifications marked as read.' in html and badge(html) == ""
    else:
        assert response.status_code == 303 and response.headers["Location"].endswith("/notifications")
        html = page(client.get("/notifications"))
        assert "3 notifications marked as read." in html and badge(html) == "" and "New" not in html


def test_someone_elses_notification_is_not_found(client, auth, people):
    ask(people)
    monas = N.get(N.recipient == people.mentor.id)
    auth.login("mel@example.org")
    assert client.post(f"/notifications/{monas.id}/read").status_code == 404
    assert client.post(f"/notifications/{monas.id}/read", headers={
        "HX-Request": "true", "HX-Target": f"notification-{monas.id}"}).status_code == 404
    assert client.post("/notifications/999999/read").status_code == 404
    client.post("/notifications/read")
    assert N.get_by_id(monas.id).read_at is None
    assert monas.subject not in page(client.get("/notifications"))


def test_a_coordinator_lists_requests_to_review_linked_to_the_queue_and_never_a_digest(client, auth, people):
    svc.set_requests_need_review(people.coordinator, True)
    req = ask(people)
    notify(people.coordinator.id, "digest", "Your daily digest", "digest:test", context={"items": []})
    auth.login("cora@example.org")
    html = page(client.get("/notifications"))
    review = N.get((N.recipient == people.coordinator.id) & (N.kind == "request_to_review"))
    assert listed(html) == [review.id]
    assert f'<a href="/coordinator/requests#review-{req.id}">Mel Mentee asks Mona Mentor for mentoring: please review</a>' \
           in item(html, review.id)
    assert badge(html) == "1 unread" and "daily digest" not in html


def test_the_list_costs_the_same_queries_for_2_or_32_notifications_and_pages_by_20(client, auth, people,
                                                                                     count_queries):
    start = utcnow() - dt.timedelta(days=3)

    def write(n):
        kinds = [("request_received", {"request_id": 7}), ("meeting_soon", {"meeting_id": 3, "mentorship_id": 2}),
                 ("pair_quiet", {"mentorship_id": 2, "since": start})]
        kind, context = kinds[n % 3]
        notify(people.mentor.id, kind, f"Notification number {n}", f"test:{n}", context=context,
               now=start + dt.timedelta(minutes=n))

    auth.login("mona@example.org")

    def queries(path="/notifications"):
        with count_queries() as seen:
            response = client.get(path)
        assert response.status_code == 200
        return len(seen), page(response)

    for n in range(2):
        write(n)
    few, html = queries()
    assert len(listed(html)) == 2 and "Older" not in html
    for n in range(2, 32):
        write(n)
    many, html = queries()
    assert many == few, "one query for the page, whatever it lists"
    assert len(listed(html)) == 20 and "Notification number 31<" in html and "Notification number 12<" in html
    assert 'href="/notifications?page=2" rel="next">Older</a>' in html
    _, older = queries("/notifications?page=2")
    assert len(listed(older)) == 12 and "Notification number 11<" in older and "Notification number 0<" in older
    assert 'href="/notifications" rel="prev">Newer</a>' in older and "Older" not in older


def test_the_badge_is_on_every_page_and_costs_one_count(client, auth, people, count_queries):
    ask(people)
    ask(people, mentee=people.other)
    auth.login("mona@example.org")
    with count_queries() as seen:
        html = page(client.get("/requests"))
    link = re.search(r'<a href="/notifications"[^>]*>Notifications .*?</a>', html, re.S).group(0)
    assert 'hx-get="/notifications/badge" hx-trigger="every 60s" hx-swap="outerHTML"' in link
    assert badge(link) == "2 unread" and '<span aria-hidden="true">2</span>' in link
    counted = [q for q in seen if '"notification"' in q]
    assert len(counted) == 1 and "COUNT" in counted[0], counted

    with count_queries() as seen:
        response = client.get("/notifications/badge", headers={"HX-Request": "true",
                                                                "HX-Target": "notification-badge"})
    html = page(response)
    assert html.startswith('<span id="notification-badge"') and "<html" not in html and badge(html) == "2 unread"
    counted = [q for q in seen if '"notification"' in q]
    assert len(counted) == 1 and "COUNT" in counted[0], counted
    client.post("/notifications/read")
    assert badge(page(client.get("/notifications/badge"))) == ""


def test_a_badge_poll_after_the_session_ended_changes_nothing(client):
    polled = client.get("/notifications/badge", headers={"HX-Request": "true", "HX-Target": "notification-badge"})
    assert polled.status_code == 204 and "HX-Redirect" not in polled.headers and page(polled) == ""
    visited = client.get("/notifications/badge")
    assert visited.status_code == 302 and "/login?next=" in visited.headers["Location"]


@pytest.mark.csrf
def test_mark_read_in_place_carries_the_csrf_header_of_the_layout(client, people):
    ask(people)
    row = N.get(N.recipient == people.mentor.id)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page(client.get("/login"))).group(1)
    client.post("/login", data={"email": "mona@example.org", "password": "correct horse battery", "csrf_token": token})
    header = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page(client.get("/notifications"))).group(1)
    in_place = {"HX-Request": "true", "HX-Target": f"notification-{row.id}"}
    assert client.post(f"/notifications/{row.id}/read", headers=in_place).status_code == 400
    assert N.get_by_id(row.id).read_at is None
    response = client.post(f"/notifications/{row.id}/read", headers={**in_place, "X-CSRFToken": header})
    assert response.status_code == 200 and "Marked as read" in page(response)
    assert N.get_by_id(row.id).read_at is not None


# --- the settings -------------------------------------------------------------------------------------

def test_the_settings_name_each_kind_in_words_grouped_and_coordinators_see_theirs(client, auth, people):
    auth.login("mel@example.org")
    html = page(client.get("/notifications/preferences"))
    headings = re.findall(r"<h2[^>]*>([^<]+)</h2>", html)
    assert headings == ["Requests", "Meetings", "Your mentorships", "Pairing rounds", "Quiet hours", "Daily digest"]
    assert "<legend>A member asks you for mentoring, or offers to mentor you</legend>" in html
    assert "<legend>You and your partner have not met for 30 days</legend>" in html
    for value, label in (("immediately", "By email at once"), ("digest", "In my daily digest email"),
                         ("portal", "In the portal only")):
        assert re.search(rf'name="request_received" type="radio" value="{value}"> {label}</label>', html)
    assert checked(html, "request_received") == "immediately"
    # A calendar invitation and tomorrow's meeting do not wait for a digest
    assert 'name="meeting_soon" type="radio" value="digest"' not in html
    assert 'name="meeting_scheduled" type="radio" value="digest"' not in html
    assert "in your time zone: America/New York" in html
    assert "review" not in html.lower()
    auth.logout()
    auth.login("cora@example.org")
    html = page(client.get("/notifications/preferences"))
    assert "<h2 id=\"group-5\">As a coordinator</h2>" in html
    assert "<legend>A request waits for a coordinator&#39;s review</legend>" in html
    assert "<legend>A pair has not met for a while: yours after 30 days, any pair after 45</legend>" in html


def test_saving_settings(client, auth, people):
    auth.login("mona@example.org")
    response = client.post("/notifications/preferences", data={
        "request_received": "digest", "request_waiting": "portal", "meeting_soon": "immediately",
        "quiet_from": "22:00", "quiet_until": "07:00", "digest_hour": "18"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/notifications/preferences")
    assert sorted(NotificationPreference.select(NotificationPreference.kind, NotificationPreference.mode)
                  .where(NotificationPreference.user == people.mentor.id).tuples()) == [
        ("request_received", "digest"), ("request_waiting", "portal")]
    mona = User.get_by_id(people.mentor.id)
    assert (mona.quiet_from, mona.quiet_until, mona.digest_hour) == (dt.time(22), dt.time(7), 18)
    html = page(client.get("/notifications/preferences"))
    assert "Your notification settings are saved." in html
    assert checked(html, "request_received") == "digest" and checked(html, "request_waiting") == "portal"
    assert 'name="quiet_from" type="time" value="22:00"' in html and '<option selected value="18">18:00</option>' in html
    # Quiet hours cleared: none
    client.post("/notifications/preferences", data={"quiet_from": "", "quiet_until": "", "digest_hour": "18"})
    assert User.get_by_id(people.mentor.id).quiet_from is None


@pytest.mark.parametrize("changes, field, message, kept", [
    ({"quiet_from": "22:00", "quiet_until": ""}, "quiet_until",
     "Enter when your quiet hours end too, or leave both times empty.", 'value="22:00"'),
    ({"quiet_from": "", "quiet_until": "07:00"}, "quiet_from",
     "Enter when your quiet hours begin too, or leave both times empty.", 'value="07:00"'),
    ({"quiet_from": "25:99", "quiet_until": "07:00"}, "quiet_from",
     "Enter the time as hours and minutes, such as 22:00.", 'value="25:99"'),
    ({"quiet_from": "22:00", "quiet_until": "22:00"}, "quiet_until",
     "Quiet hours end at another time than they begin: change one of the two.", 'value="22:00"'),
    ({"request_received": "digest", "quiet_from": "07:00", "quiet_until": "09:00", "digest_hour": "8"}, "digest_hour",
     "Your digest would come during your quiet hours (07:00–09:00): choose an hour outside them.",
     'name="quiet_until" type="time" value="09:00"'),
    ({"meeting_soon": "digest"}, "meeting_soon", "Choose one of: by email at once, in the portal only.", None),
    ({"request_received": "pigeon"}, "request_received",
     "Choose one of: by email at once, in my daily digest email, in the portal only.", None),
    ({"digest_hour": "25"}, "digest_hour", "Choose the hour of your digest from the list.", None),
], ids=["end missing", "start missing", "not a time", "same times", "digest in quiet hours", "no digest for it",
        "no such mode", "no such hour"])
def test_settings_that_cannot_be_saved_say_why_on_the_field_and_keep_what_was_typed(client, auth, people, changes,
                                                                                  field, message, kept):
    auth.login("mona@example.org")
    data = {"request_waiting": "portal", "quiet_from": "", "quiet_until": "", "digest_hour": "8", **changes}
    response = client.post("/notifications/preferences", data=data)
    html = page(response)
    assert response.status_code == 200
    assert f'<small id="{field}-error" class="error">{message}</small>' in html.replace("&#39;", "'")
    assert "Please correct the field marked below." in html
    if kept:
        assert kept in html
    assert checked(html, "request_waiting") == "portal"
    if changes.get("request_received") == "digest":
        assert checked(html, "request_received") == "digest"
    assert not NotificationPreference.select().exists()
    assert User.get_by_id(people.mentor.id).quiet_from is None


def test_a_change_of_mode_sends_or_keeps_what_waited_for_the_digest(app, people, make_member, smtp):
    now = utc("Europe/Berlin", 2026, 6, 10, 12)
    choose(people.mentor, request_received="digest")
    ask(people, now=now)
    ask(people, mentee=people.other, now=now)
    sweep_at(now)
    assert {n.status for n in N.select().where(N.recipient == people.mentor.id)} == {"digest"}
    later = now + dt.timedelta(hours=1)
    choose(people.mentor, request_received="immediately", now=later)
    sweep_at(later)
    assert sorted(m["Subject"] for m in to(smtp, "mona@example.org")) == [
        "Mel Mentee asks you for mentoring", "Otto Other asks you for mentoring"]
    assert {n.status for n in N.select().where(N.recipient == people.mentor.id)} == {"sent"}

    choose(people.mentor, request_received="digest", now=later)
    ask(people, mentee=make_member(name="Pia Plain", seeks=[people.topics["Leadership"]]), now=later)
    sweep_at(later)
    choose(people.mentor, request_received="portal", now=later)
    sweep_at(utc("Europe/Berlin", 2026, 6, 11, 8))
    assert len(to(smtp, "mona@example.org")) == 2
    assert N.get(N.subject == "Pia Plain asks you for mentoring").status == "portal_only"


# --- delivery follows the settings --------------------------------------------------------------------

def test_portal_only_never_reaches_the_mail_server_and_stays_in_the_list(client, auth, people, smtp):
    now = utcnow()
    choose(people.mentor, request_received="portal", request_waiting="portal")
    req = ask(people, now=now - dt.timedelta(days=4))
    sweep_at(now)  # the request, and the reminder that it has waited 3 days
    kept = list(N.select().where(N.recipient == people.mentor.id).order_by(N.id))
    assert [(n.kind, n.status, n.attempts, n.sent_at) for n in kept] == [
        ("request_received", "portal_only", 0, None), ("request_waiting", "portal_only", 0, None)]
    assert sweep_at(now + dt.timedelta(days=1)).enqueued == []
    svc.decline(people.mentor, req, now=now + dt.timedelta(days=1))
    sweep_at(now + dt.timedelta(days=1, minutes=1))
    assert [e.rcpt_tos for e in smtp.received] == [["mel@example.org"]], "only Mel's answer, by email"
    auth.login("mona@example.org")
    html = page(client.get("/notifications"))
    assert listed(html) == [n.id for n in reversed(kept)]
    assert "In the portal only" in item(html, kept[0].id)


def test_a_setting_changed_after_the_sweep_is_followed_by_the_worker(app, people, smtp):
    now = utcnow()
    ask(people, now=now)
    row = N.get(N.recipient == people.mentor.id)
    lost = []
    assert sweep(now, enqueue=lost.append).enqueued == [row.id]  # in the broker...
    choose(people.mentor, request_received="portal")  # ...when Mona changes her mind
    assert delivery.deliver(row.id, now=now + dt.timedelta(seconds=5)) == "portal_only"
    kept = N.get_by_id(row.id)
    assert (kept.status, kept.attempts, kept.claimed_until) == ("portal_only", 0, None)
    assert smtp.received == []


def test_a_digest_lists_what_waited_leaves_out_what_is_moot_and_sends_it_all_once(app, people, make_member, smtp):
    p = people
    zone = "Europe/Berlin"
    choose(p.mentor, request_received="digest", digest_hour=8)
    pia = make_member(name="Pia Plain", email="pia@example.org", seeks=[p.topics["Leadership"]])
    first = ask(p, now=utc(zone, 2026, 6, 10, 10))
    second = ask(p, mentee=p.other, now=utc(zone, 2026, 6, 10, 11))
    withdrawn = ask(p, mentee=pia, now=utc(zone, 2026, 6, 10, 12))
    sweep_at(utc(zone, 2026, 6, 10, 12, 30))
    svc.withdraw(pia, withdrawn, now=utc(zone, 2026, 6, 10, 13))
    for hour in (13, 20, 23):
        sweep_at(utc(zone, 2026, 6, 10, hour))
    sweep_at(utc(zone, 2026, 6, 11, 7, 59))
    assert to(smtp, "mona@example.org") == []
    for _ in range(2):
        sweep_at(utc(zone, 2026, 6, 11, 8))
    sweep_at(utc(zone, 2026, 6, 11, 9))
    [digest] = to(smtp, "mona@example.org")
    assert digest["Subject"] == "Your daily digest for Thu 11 Jun 2026: 2 updates"
    row = N.get((N.recipient == p.mentor.id) & (N.kind == "digest"))
    assert row.dedupe_key == f"digest:{p.mentor.id}:2026-06-11" and row.status == "sent"
    assert digest["Message-ID"] == delivery.message_id(row.dedupe_key)
    text, html = text_of(digest), digest.get_body(preferencelist=("html",)).get_content()
    assert text.index("Mel Mentee asks you for mentoring") < text.index("Otto Other asks you for mentoring")
    assert "Wed 10 Jun, 10:00 · http://portal.test/requests#request-" + str(first.id) in text
    assert f'<a href="http://portal.test/requests#request-{second.id}">Otto Other asks you for mentoring</a>' in html
    assert "Pia Plain" not in text and "(times are Berlin time)" in text
    statuses = {n.subject: (n.status, n.sent_at) for n in N.select().where(
        (N.recipient == p.mentor.id) & (N.kind == "request_received"))}
    assert statuses == {"Mel Mentee asks you for mentoring": ("sent", utc(zone, 2026, 6, 11, 8)),
                        "Otto Other asks you for mentoring": ("sent", utc(zone, 2026, 6, 11, 8)),
                        "Pia Plain asks you for mentoring": ("skipped", None)}


def test_a_digest_the_server_refused_leaves_its_items_for_the_next_day(app, people, smtp):
    zone = "Europe/Berlin"
    choose(people.mentor, request_received="digest", digest_hour=8)
    ask(people, now=utc(zone, 2026, 6, 10, 10))
    sweep_at(utc(zone, 2026, 6, 10, 10, 1))
    smtp.rcpt = ["550 5.1.1 <mona@example.org>: mailbox unavailable"]
    sweep_at(utc(zone, 2026, 6, 11, 8))
    assert N.get((N.kind == "digest") & N.dedupe_key.endswith("2026-06-11")).status == "failed"
    assert N.get(N.kind == "request_received").status == "digest"
    ask(people, mentee=people.other, now=utc(zone, 2026, 6, 11, 10))
    sweep_at(utc(zone, 2026, 6, 11, 10, 1))
    sweep_at(utc(zone, 2026, 6, 12, 8))
    [digest] = to(smtp, "mona@example.org")
    assert digest["Subject"] == "Your daily digest for Fri 12 Jun 2026: 2 updates"
    assert {n.status for n in N.select().where(N.kind == "request_received")} == {"sent"}


ZONES = ("Europe/Berlin", "America/New_York", "Australia/Sydney")
DST_DAYS = {  # the day the clocks change, and what they do that night (local wall clock)
    "America/New_York": (dt.date(2026, 3, 8), "02:00 is skipped"),
    "Europe/Berlin": (dt.date(2026, 3, 29), "02:00 is skipped"),
    "Australia/Sydney": (dt.date(2026, 4, 5), "02:00 happens twice"),
}


@pytest.fixture
def three_zones(make_member, topics):
    """A mentor in each zone; the tests have members ask them as the days go by."""
    return {zone: make_member(name=f"Mentor {zone}", email=f"{zone.split('/')[1].lower()}@example.org",
                              offers=[topics["Leadership"]], capacity=9, time_zone=zone) for zone in ZONES}


def ticks(start, end, every):
    while start <= end:
        yield start
        start += every


@pytest.mark.parametrize("change_zone", ZONES, ids=["berlin-2026-03-29", "new-york-2026-03-08",
                                                     "sydney-2026-04-05"])
def test_one_digest_a_day_at_each_members_hour_in_three_zones_across_a_clock_change(app, make_member, topics,
                                                                                     three_zones, smtp, change_zone):
    """Digest hour 02:00, the hour the clocks skip (New York, Berlin) or repeat (Sydney) that night: the
    digest comes when the clocks jump past it, or the first time, and once a day, with every sweep run twice."""
    change_day = DST_DAYS[change_zone][0]
    days = [change_day + dt.timedelta(days=n) for n in (-2, -1, 0, 1)]
    events = []
    for zone, mentor in three_zones.items():
        choose(mentor, request_received="digest", digest_hour=2)
        for n, day in enumerate(days[:-1]):  # at noon of each day but the last, someone asks
            events.append((utc(zone, day.year, day.month, day.day, 12), zone, n))
    events.sort()
    start = utc("Pacific/Kiritimati", *days[0].timetuple()[:3])  # the first place where the first day begins
    end = utc("Pacific/Pago_Pago", *(days[-1] + dt.timedelta(days=1)).timetuple()[:3])
    for now in ticks(start, end, dt.timedelta(hours=1)):
        while events and events[0][0] <= now:
            at, zone, n = events.pop(0)
            mentee = make_member(name=f"Mentee {n} of {zone}", seeks=[topics["Leadership"]], time_zone=zone)
            svc.send_request(mentee, three_zones[zone], [topics["Leadership"].id], HELP, SUCCESS, "video", now=at)
        sweep_at(now)
        sweep_at(now)
    for zone, mentor in three_zones.items():
        digests = list(N.select().where((N.recipient == mentor.id) & (N.kind == "digest")).order_by(N.sent_at))
        sent_local = [local(d.sent_at, zone) for d in digests]
        skipped = zone == change_zone and "skipped" in DST_DAYS[zone][1]
        expected = [(day, "03:00" if skipped and day == change_day else "02:00") for day in days[1:]]
        assert [(t.date(), f"{t:%H:%M}") for t in sent_local] == expected, zone
        assert [d.status for d in digests] == ["sent"] * 3
        assert [d.dedupe_key for d in digests] == [f"digest:{mentor.id}:{day}" for day in days[1:]]
        mails = to(smtp, mentor.email, "Your daily digest")
        assert len(mails) == 3 and all(m["Subject"].endswith(": 1 update") for m in mails), zone
        for day, mail in zip(days[1:], mails):
            assert f"Mentee {days.index(day) - 1} of {zone} asks you for mentoring" in text_of(mail)
    if change_zone == "Australia/Sydney":
        # The repeated hour: the second 02:00 came an hour after the first, and sent nothing more.
        sydney = three_zones["Australia/Sydney"]
        first = N.get((N.recipient == sydney.id) & N.dedupe_key.endswith(str(change_day))).sent_at
        assert local(first, "Australia/Sydney").utcoffset() == dt.timedelta(hours=11), "the first 02:00 (AEDT)"


@pytest.mark.parametrize("change_zone", ZONES, ids=["berlin-2026-03-29", "new-york-2026-03-08",
                                                     "sydney-2026-04-05"])
def test_quiet_hours_past_midnight_hold_an_email_until_they_end_also_the_night_the_clocks_change(
        app, make_member, topics, three_zones, smtp, change_zone):
    """Quiet 22:00–07:00 in each member's zone. A request at 23:30 the night before the clocks change in
    ``change_zone`` arrives at 07:00 their time the next morning (6.5 hours later in New York and Berlin,
    8.5 in Sydney); one at noon arrives at once."""
    change_day = DST_DAYS[change_zone][0]
    eve = change_day - dt.timedelta(days=1)
    asked = {}
    for zone, mentor in three_zones.items():
        choose(mentor, quiet=(dt.time(22), dt.time(7)))
        asked[zone] = [(utc(zone, *eve.timetuple()[:3], 12), "noon"), (utc(zone, *eve.timetuple()[:3], 23, 30), "night")]
    events = sorted((at, zone, what) for zone, items in asked.items() for at, what in items)
    start, end = events[0][0], events[-1][0] + dt.timedelta(hours=12)
    for now in ticks(start, end, dt.timedelta(minutes=30)):
        while events and events[0][0] <= now:
            at, zone, what = events.pop(0)
            mentee = make_member(name=f"Asked at {what} in {zone}", seeks=[topics["Leadership"]])
            svc.send_request(mentee, three_zones[zone], [topics["Leadership"].id], HELP, SUCCESS, "video", now=at)
        sweep_at(now)
    for zone, mentor in three_zones.items():
        rows = {n.subject.split(" in ")[0]: n for n in N.select().where(N.recipient == mentor.id)}
        noon, night = rows["Asked at noon"], rows["Asked at night"]
        assert (noon.status, noon.sent_at) == ("sent", asked[zone][0][0]), zone
        arrived = local(night.sent_at, zone)
        assert (night.status, arrived.date(), f"{arrived:%H:%M}") == ("sent", change_day, "07:00"), zone
        waited = night.sent_at - asked[zone][1][0]
        if zone == change_zone:
            assert waited == dt.timedelta(hours=8.5 if zone == "Australia/Sydney" else 6.5), zone
        else:
            assert waited == dt.timedelta(hours=7.5), zone
        assert len(to(smtp, mentor.email)) == 2 and night.attempts == 1


@pytest.mark.parametrize("zone, now, ends", [
    ("Europe/Berlin", dt.datetime(2026, 6, 10, 21), "2026-06-11 02:30 CEST"),  # 23:00: past midnight
    ("America/New_York", dt.datetime(2026, 3, 8, 6), "2026-03-08 03:00 EDT"),  # 02:30 is skipped: at the jump
    ("Europe/Berlin", dt.datetime(2026, 3, 29, 0), "2026-03-29 03:00 CEST"),
    ("Australia/Sydney", dt.datetime(2026, 10, 3, 15), "2026-10-04 03:00 AEDT"),
    ("Australia/Sydney", dt.datetime(2026, 4, 4, 15, 10), "2026-04-05 02:30 AEDT"),  # 02:30 twice: the first...
    ("Australia/Sydney", dt.datetime(2026, 4, 4, 16, 10), "2026-04-05 02:30 AEST"),  # ...or, in the second hour, the second
], ids=["berlin-past-midnight", "new-york-skipped", "berlin-skipped", "sydney-skipped", "sydney-first", "sydney-second"])
def test_quiet_hours_that_end_in_an_hour_the_clocks_skip_or_repeat(make_member, zone, now, ends):
    member = choose(make_member(time_zone=zone), quiet=(dt.time(22), dt.time(2, 30)))
    end = preferences.quiet_end(member, now)
    assert f"{local(end, zone):%Y-%m-%d %H:%M %Z}" == ends and end > now
    assert preferences.quiet_end(member, end) is None


def test_news_of_a_meeting_before_the_quiet_hours_end_comes_at_once(app, people, smtp):
    p = people
    zone = "Europe/Berlin"
    choose(p.mentor, quiet=(dt.time(22), dt.time(7)))
    arranged = utc(zone, 2026, 6, 1, 12)
    pair = svc.accept(p.mentor, ask(p, now=arranged - dt.timedelta(hours=1)), now=arranged).mentorship
    early = pairs.schedule_meeting(p.mentor, pair, dt.date(2026, 6, 11), dt.time(6, 30), 60, "video",
                                   link="https://v.example.org/a", now=arranged)
    later = pairs.schedule_meeting(p.mentor, pair, dt.date(2026, 6, 18), dt.time(10), 60, "video",
                                   link="https://v.example.org/b", now=arranged)
    sweep_at(arranged)
    late_evening = utc(zone, 2026, 6, 10, 23)
    pairs.cancel_meeting(p.mentee, early, now=late_evening)  # tomorrow 06:30, before Mona's quiet hours end
    pairs.reschedule_meeting(p.mentee, later, dt.date(2026, 6, 18), dt.time(11), 60, "video",
                             link="https://v.example.org/b", now=late_evening)
    sweep_at(late_evening)
    assert [m["Subject"] for m in to(smtp, "mona@example.org", "Cancelled")] == [
        "Cancelled: mentoring meeting with Mel Mentee on Thu 11 Jun 2026"]
    assert to(smtp, "mona@example.org", "Changed") == []
    sweep_at(utc(zone, 2026, 6, 11, 6, 59))
    assert to(smtp, "mona@example.org", "Changed") == []
    sweep_at(utc(zone, 2026, 6, 11, 7))
    assert len(to(smtp, "mona@example.org", "Changed")) == 1
