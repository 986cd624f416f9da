"""The coordinator's review queue and the program setting behind it, in the browser with and without
htmx: what a reviewer sees, approving and declining in place or by plain forms, bulk approval,
the navigation's counter, who may do it, and the settings page."""
import datetime as dt
import re
from types import SimpleNamespace

import pytest

from portal.models import (
    AuditEvent,
    ConnectionRequest,
    Mentorship,
    Notification,
    ProgramSetting,
    RequestTopic,
    User,
    utcnow,
)
from portal.notifications import services as notifications
from portal.requests import services as svc

R = ConnectionRequest
HELP = "I lead a team of four for the first time and want to do it well."
SUCCESS = "Our weekly meeting runs itself and I delegate without worrying."


@pytest.fixture
def people(make_member, topics):
    t = topics
    ProgramSetting.set_value(ProgramSetting.REQUESTS_NEED_REVIEW, True)
    return SimpleNamespace(
        coordinator=make_member(name="Cora Coordinator", email="cora@example.org", role=User.COORDINATOR),
        mentor=make_member(name="Mona Mentor", email="mona@example.org", offers=[t["Leadership"], t["Python"]],
                           capacity=2, organization="Acme", job_title="Head of Data", job_level="senior",
                           headline="I grow data teams", country="CA", region="north_america", time_zone="America/Toronto",
                           languages=("en", "fr")),
        mentee=make_member(name="Mel Mentee", email="mel@example.org", seeks=[t["Leadership"]],
                           organization="Initech", job_title="Analyst", job_level="early",
                           headline="New team lead", country="JP", region="asia", time_zone="Asia/Tokyo", languages=("en", "ja")),
        other=make_member(name="Otto Other", email="otto@example.org", seeks=[t["Python"]]),
        topics=t,
    )


def ask(p, mentee=None, mentor=None, topic="Leadership", ago=None):
    now = utcnow() - ago if ago else None
    return svc.send_request(mentee or p.mentee, mentor or p.mentor, [p.topics[topic].id], HELP, SUCCESS, "video",
                            now=now)


def page(response):
    return response.get_data(as_text=True)


def text_of(response):
    """The page as a person reads it: no tags, spaces collapsed."""
    return plain(page(response))


def plain(html):
    return re.sub(r" ([,.;:)])", r"\1", " ".join(re.sub(r"<[^>]+>", " ", html).split()))


def row(html, req):
    """The queue's row of one request (an empty string when it is not there)."""
    found = re.search(rf'<article class="review" id="review-{req.id}">.*?</article>', html, re.S)
    return found.group(0) if found else ""


def rows(html):
    return [int(n) for n in re.findall(r'<article class="review" id="review-(\d+)">', html)]


def nav_count(html):
    """What the navigation's counter says to a screen reader ('' when it is empty)."""
    badge = re.search(r'<span id="review-count" class="badge"[^>]*>((?:<span[^>]*>[^<]*</span>)*)</span>', html)
    assert badge, "no counter in the page"
    label = re.search(r'<span class="visually-hidden">([^<]*)</span>', badge.group(1))
    return label.group(1) if label else ""


def htmx(req):
    return {"HX-Request": "true", "HX-Target": f"review-{req.id}"}


def fresh(req):
    return R.get_by_id(req.id)


def events(req):
    return [(e.actor_id, e.action, e.detail) for e in
            AuditEvent.select().where(AuditEvent.target == f"request:{req.id}").order_by(AuditEvent.id)]


def sent(kind):
    return [(n.recipient_id, n.subject) for n in
            Notification.select().where(Notification.kind == kind).order_by(Notification.id)]


# --- what the queue shows ----------------------------------------------------------

def test_the_queue_lists_waiting_requests_oldest_first_with_both_profiles(client, auth, people, make_member,
                                                                        topics):
    p = people
    newest = ask(p, mentee=p.other, topic="Python", ago=dt.timedelta(hours=5))
    oldest = ask(p, ago=dt.timedelta(days=3, hours=2))
    svc.set_requests_need_review(p.coordinator, False)
    elsewhere = make_member(name="Nia Noreview", offers=[topics["Python"]])
    straight = ask(p, mentor=elsewhere, topic="Python")
    auth.login("cora@example.org")
    response = client.get("/coordinator/requests")
    html = page(response)
    assert response.status_code == 200
    assert rows(html) == [oldest.id, newest.id], "oldest first, and only the requests waiting for review"
    assert straight.id not in rows(html)
    assert "2 requests waiting, oldest first" in text_of(response)

    first = plain(row(html, oldest))
    assert "Mel Mentee asks Mona Mentor for mentoring" in first
    assert f'href="/members/{p.mentee.id}"' in row(html, oldest) and f'href="/members/{p.mentor.id}"' in row(html, oldest)
    assert "Waiting 3 days" in first and "Waiting 5 hours" in text_of(response)
    for fact in ["Mentee: Mel Mentee", "New team lead", "Analyst at Initech · Early career", "Japan (Asia)",
                 "Asia/Tokyo", "English, Japanese", "Seeks Leadership",
                 "Mentor: Mona Mentor", "I grow data teams", "Head of Data at Acme · Senior", "Canada (North America)",
                 "America/Toronto", "English, French", "Offers Leadership Python",
                 "Topics asked for Leadership", HELP, SUCCESS, "Meeting by Video call"]:
        assert fact in first, fact
    assert "1 of your 1 topics: Leadership" in first and "2 levels more senior" in first
    assert "different organization" in first and "speaks English" in first
    assert "Worth checking" not in first, "nothing speaks against this pair"
    assert "Review is off" in html, "the note says new requests no longer wait"


def test_every_hint_of_a_conflict(client, auth, people, make_member, topics):
    p = people
    crowded = make_member(name="Carl Colleague", offers=[topics["Leadership"]], capacity=1, organization=" initech ")
    req = ask(p, mentor=crowded)
    for mentor in (p.mentor, make_member(offers=[topics["Leadership"]])):
        ask(p, mentor=mentor)  # Mel's two other open requests
    Mentorship.create(mentor=crowded, mentee=p.other)  # Carl's one place is now taken
    Mentorship.create(mentor=make_member(offers=[topics["Leadership"]]), mentee=p.mentee)
    auth.login("cora@example.org")
    html = page(client.get("/coordinator/requests"))
    hints = re.search(r'<ul class="hints"[^>]*>(.*?)</ul>', row(html, req), re.S).group(1)
    assert re.findall(r"<li>(.*?)</li>", hints) == [
        "Same organization: both work at initech.",
        "Carl Colleague is at capacity: 1 of 1 mentee place taken.",
        "Mel Mentee already has an active mentor.",
        "Mel Mentee has 2 other open requests.",
    ]


def test_a_mentor_who_stopped_mentoring_is_flagged(client, auth, people):
    req = ask(people)
    people.mentor.profile.offers_mentoring = False
    people.mentor.profile.save()
    auth.login("cora@example.org")
    assert "Mona Mentor no longer offers mentoring." in row(page(client.get("/coordinator/requests")), req)


def test_an_empty_queue_says_so_and_whether_review_is_on(client, auth, people):
    auth.login("cora@example.org")
    text = text_of(client.get("/coordinator/requests"))
    assert "Nothing to review" in text and "Review is off" not in text
    svc.set_requests_need_review(people.coordinator, False)
    text = text_of(client.get("/coordinator/requests"))
    assert "Nothing to review" in text
    assert "Review is off: new requests go straight to the mentor." in text


def test_the_queue_runs_a_constant_number_of_queries(client, auth, people, make_member, topics, count_queries):
    p = people
    auth.login("cora@example.org")

    def queries():
        with count_queries() as seen:
            response = client.get("/coordinator/requests")
        assert response.status_code == 200
        return len(seen), len(rows(page(response)))

    ask(p)
    one, shown = queries()
    assert shown == 1
    mentors = [make_member(offers=[topics["Leadership"]], organization=f"Org {n}") for n in range(10)]
    mentees = [make_member(seeks=[topics["Leadership"]], languages=("en", "de")) for n in range(10)]
    for n, mentor in enumerate(mentors[:4]):
        Mentorship.create(mentor=mentor, mentee=mentees[n])
    start = utcnow() - dt.timedelta(days=10)
    R.insert_many([
        {"requester": mentees[n % 10].id, "mentee": mentees[n % 10].id, "mentor": mentors[n // 10 % 10].id,
         "help_wanted": HELP, "success_looks_like": SUCCESS, "meeting_format": "video", "status": R.PENDING_REVIEW,
         "created_at": start + dt.timedelta(minutes=n)} for n in range(499)]).execute()
    RequestTopic.insert_many([{"request": r.id, "topic": topics["Leadership"].id}
                              for r in R.select(R.id).where(R.mentee != p.mentee)]).execute()
    assert R.select().where(R.status == R.PENDING_REVIEW).count() == 500
    many, shown = queries()
    assert shown == 25
    assert many == one, f"{one} queries with one request, {many} with 500"
    # Measured: the session's user and profile (the layout), the navigation's count, the setting, the total,
    # the page (both members and profiles joined), its requested topics, profile topics, languages,
    # mentorships and open requests; the navigation's unread notifications and whether a round is open.
    assert one <= 13, one


def test_a_page_past_the_first_and_the_last(client, auth, people, make_member, topics):
    p = people
    mentees = [make_member(seeks=[topics["Leadership"]]) for n in range(9)]
    waiting = [ask(p, mentee=mentee, mentor=mentor, ago=dt.timedelta(hours=30 - n))
               for n, (mentee, mentor) in enumerate((m, mentor) for m in mentees
                                                   for mentor in (p.mentor, make_member(offers=[topics["Leadership"]]),
                                                                  make_member(offers=[topics["Leadership"]])))]
    assert len(waiting) == 27
    auth.login("cora@example.org")
    second = client.get("/coordinator/requests?page=2")
    assert rows(page(second)) == [r.id for r in waiting[25:]]
    assert "page 2 of 2" in text_of(second)
    assert rows(page(client.get("/coordinator/requests?page=9"))) == [r.id for r in waiting[25:]]
    response = client.post(f"/coordinator/requests/{waiting[26].id}/approve", data={"page": "2"})
    assert response.status_code == 303 and response.headers["Location"] == "/coordinator/requests?page=2"


# --- approve and decline without JavaScript ----------------------------------------------

def test_approve_sends_the_request_on_to_the_mentor(client, auth, people):
    p = people
    req = ask(p)
    auth.login("cora@example.org")
    response = client.post(f"/coordinator/requests/{req.id}/approve", data={"note": "Good fit."})
    assert response.status_code == 303 and response.headers["Location"] == "/coordinator/requests"
    queue = client.get("/coordinator/requests")
    assert "Approved Mel Mentee’s request to Mona Mentor: it now waits for the answer." in text_of(queue)
    assert req.id not in rows(page(queue))
    req = fresh(req)
    assert (req.status, req.reviewed_by_id, req.review_note) == (R.PENDING_MENTOR, p.coordinator.id, "Good fit.")
    assert events(req)[-1] == (p.coordinator.id, "request.approved", "Good fit.")
    assert sent(notifications.REQUEST_RECEIVED) == [(p.mentor.id, "Mel Mentee asks you for mentoring")]
    auth.logout()
    auth.login("mel@example.org")
    assert "Waiting for an answer" in text_of(client.get("/requests"))
    auth.logout()
    auth.login("mona@example.org")
    assert ">Accept</button>" in page(client.get("/requests"))


def test_decline_tells_the_requester_why(client, auth, people):
    p = people
    req = ask(p)
    auth.login("cora@example.org")
    response = client.post(f"/coordinator/requests/{req.id}/reject", data={"note": "Please ask a mentor outside Acme."})
    assert response.status_code == 303
    assert "Declined Mel Mentee’s request to Mona Mentor: your note tells them why." in text_of(
        client.get("/coordinator/requests"))
    req = fresh(req)
    assert (req.status, req.review_note) == (R.REJECTED, "Please ask a mentor outside Acme.")
    assert events(req)[-1] == (p.coordinator.id, "request.rejected", "Please ask a mentor outside Acme.")
    assert sent(notifications.REQUEST_ANSWERED) == [(p.mentee.id, "Your request to Mona Mentor was not approved")]
    assert sent(notifications.REQUEST_RECEIVED) == []
    auth.logout()
    auth.login("mel@example.org")
    text = text_of(client.get("/requests"))
    assert "Not approved by a coordinator" in text and "Please ask a mentor outside Acme." in text


def test_an_offer_is_reviewed_the_same_way(client, auth, people):
    p = people
    offer = svc.send_offer(p.mentor, p.mentee, [p.topics["Leadership"].id], HELP, SUCCESS, "video")
    auth.login("cora@example.org")
    mine = plain(row(page(client.get("/coordinator/requests")), offer))
    assert "Mona Mentor offers to mentor Mel Mentee" in mine and "Needed to decline: Mona Mentor reads it." in mine
    html = page(client.post(f"/coordinator/requests/{offer.id}/reject", data={"note": "Mel is paired already."},
                            headers=htmx(offer)))
    assert "Declined Mona Mentor’s offer to mentor Mel Mentee" in html
    assert sent(notifications.REQUEST_ANSWERED) == [(p.mentor.id, "Your offer to Mel Mentee was not approved")]


@pytest.mark.parametrize("headers", [False, True], ids=["plain form", "htmx"])
@pytest.mark.parametrize("action, note, message", [
    ("reject", "   ", "Write a short note saying why: the member will read it."),
    ("reject", "x" * 1001, "Keep the note saying why under 1000 characters (you wrote 1001)."),
    ("approve", "y" * 1001, "Keep the note under 1000 characters (you wrote 1001)."),
])
def test_a_bad_note_is_refused_on_its_field_and_kept(client, auth, people, headers, action, note, message):
    req = ask(people)
    auth.login("cora@example.org")
    response = client.post(f"/coordinator/requests/{req.id}/{action}", data={"note": note},
                           headers=htmx(req) if headers else {})
    assert response.status_code == 200
    html = page(response)
    mine = row(html, req)
    assert f'<small id="note-{req.id}-error" class="error">{message}</small>' in mine
    assert re.search(rf'<textarea id="note-{req.id}"[^>]*aria-invalid="true"[^>]*>{re.escape(note)}</textarea>', mine)
    assert f'note-{req.id}-help note-{req.id}-error' in mine
    assert ("<html" in html) is not headers, "htmx gets the row alone, a plain form the whole page"
    assert fresh(req).status == R.PENDING_REVIEW and [a for _, a, _ in events(req)] == ["request.sent"]


# --- in place, with htmx -------------------------------------------------------------

def test_approve_in_place_replaces_the_row_and_updates_the_counters(client, auth, people, make_member, topics):
    p = people
    req = ask(p)
    ask(p, mentee=p.other, topic="Python")
    auth.login("cora@example.org")
    assert nav_count(page(client.get("/coordinator/requests"))) == "2 requests to review"
    response = client.post(f"/coordinator/requests/{req.id}/approve", data={"note": ""}, headers=htmx(req))
    assert response.status_code == 200
    html = page(response)
    assert "<article" not in html and "<html" not in html
    assert re.search(rf'<p id="review-{req.id}" [^>]*role="status"[^>]*>Approved Mel Mentee’s request to Mona Mentor',
                     html)
    assert '<span id="review-count" class="badge" hx-swap-oob="true">' in html
    assert nav_count(html) == "1 request to review"
    assert '<span id="queue-total" hx-swap-oob="true">1 request waiting</span>' in html
    assert fresh(req).status == R.PENDING_MENTOR
    assert sent(notifications.REQUEST_RECEIVED) == [(p.mentor.id, "Mel Mentee asks you for mentoring")]
    queue = page(client.get("/coordinator/requests"))
    assert req.id not in rows(queue) and nav_count(queue) == "1 request to review"
    assert "Approved Mel Mentee" not in queue, "nothing left over in the flashes"


def test_decline_in_place_and_the_last_one_empties_the_counter(client, auth, people):
    req = ask(people)
    auth.login("cora@example.org")
    response = client.post(f"/coordinator/requests/{req.id}/reject", data={"note": "Not in this round."},
                           headers=htmx(req))
    html = page(response)
    assert f'<p id="review-{req.id}"' in html and "Declined Mel Mentee’s request to Mona Mentor" in html
    assert nav_count(html) == "" and '<span id="review-count" class="badge" hx-swap-oob="true"></span>' in html
    assert fresh(req).status == R.REJECTED
    assert sent(notifications.REQUEST_ANSWERED) == [(people.mentee.id, "Your request to Mona Mentor was not approved")]


def test_a_request_someone_else_reviewed_leaves_the_queue_with_the_reason(client, auth, people, make_member):
    req = ask(people)
    second = make_member(name="Sam Second", role=User.COORDINATOR)
    auth.login("cora@example.org")
    client.get("/coordinator/requests")
    svc.approve(second, req)
    html = page(client.post(f"/coordinator/requests/{req.id}/reject", data={"note": "No."}, headers=htmx(req)))
    assert re.search(rf'<p id="review-{req.id}" class="reviewed flash flash-error"[^>]*>This request is waiting for '
                     "an answer.</p>", html)
    response = client.post(f"/coordinator/requests/{req.id}/approve")
    assert response.status_code == 303
    assert "This request is waiting for an answer." in text_of(client.get("/coordinator/requests"))
    assert fresh(req).reviewed_by_id == second.id


# --- approve selected -------------------------------------------------------------------

def test_approve_selected_approves_each_and_names_the_ones_that_could_not_be(client, auth, people, make_member,
                                                                          topics):
    p = people
    first = ask(p)
    second = ask(p, mentee=p.other, topic="Python")
    declined = ask(p, mentee=make_member(name="Dora Done", seeks=[topics["Leadership"]]))
    svc.reject(make_member(role=User.COORDINATOR), declined, "Already paired elsewhere.")
    auth.login("cora@example.org")
    response = client.post("/coordinator/requests/approve",
                           data={"ids": [str(first.id), str(second.id), str(declined.id), "999999"]})
    assert response.status_code == 303 and response.headers["Location"] == "/coordinator/requests"
    text = text_of(client.get("/coordinator/requests"))
    assert "Approved 2 requests." in text
    assert ("Not approved: Dora Done’s request to Mona Mentor (This request was not approved by a coordinator.); "
            "request 999999 (This request no longer exists.)") in text
    assert [fresh(r).status for r in (first, second, declined)] == [R.PENDING_MENTOR, R.PENDING_MENTOR, R.REJECTED]
    assert [e[1] for e in events(first)] == ["request.sent", "request.approved"]
    assert sorted(sent(notifications.REQUEST_RECEIVED)) == [(p.mentor.id, "Mel Mentee asks you for mentoring"),
                                                           (p.mentor.id, "Otto Other asks you for mentoring")]


def test_approve_selected_with_htmx_renders_the_queue_again(client, auth, people):
    p = people
    first = ask(p)
    left = ask(p, mentee=p.other, topic="Python")
    auth.login("cora@example.org")
    html = page(client.post("/coordinator/requests/approve", data={"ids": [str(first.id)]},
                            headers={"HX-Request": "true", "HX-Target": "queue"}))
    assert "<html" not in html and rows(html) == [left.id]
    assert "Approved 1 request." in html and 'role="status"' in html
    assert nav_count(html) == "1 request to review" and 'hx-swap-oob="true"' in html
    assert "Approved 1 request." not in page(client.get("/coordinator/requests")), "the message was shown once"


def test_approve_selected_without_a_selection_says_so(client, auth, people):
    req = ask(people)
    auth.login("cora@example.org")
    response = client.post("/coordinator/requests/approve", data={})
    assert response.status_code == 303
    assert "Select the requests to approve first." in text_of(client.get("/coordinator/requests"))
    assert fresh(req).status == R.PENDING_REVIEW


# --- who may review ------------------------------------------------------------------

def test_a_coordinator_does_not_review_a_request_they_are_part_of(client, auth, people, make_member, topics):
    p = people
    kim = make_member(name="Kim Coord", email="kim@example.org", role=User.COORDINATOR, seeks=[topics["Leadership"]])
    own = ask(p, mentee=kim)
    theirs = ask(p)
    auth.login("kim@example.org")
    html = page(client.get("/coordinator/requests"))
    assert rows(html) == [own.id, theirs.id]
    mine = row(html, own)
    assert "You are part of this request: another coordinator reviews it." in mine
    assert "<button" not in mine and 'name="ids"' not in mine
    assert f'/coordinator/requests/{theirs.id}/approve' in row(html, theirs)
    assert nav_count(html) == "1 request to review", "the count leaves out the coordinator's own request"
    assert client.post(f"/coordinator/requests/{own.id}/approve").status_code == 403
    client.post("/coordinator/requests/approve", data={"ids": [str(own.id)]})
    assert "You cannot review a request you are part of" in text_of(client.get("/coordinator/requests"))
    assert fresh(own).status == R.PENDING_REVIEW
    auth.logout()
    auth.login("cora@example.org")
    assert client.post(f"/coordinator/requests/{own.id}/approve").status_code == 303
    assert fresh(own).status == R.PENDING_MENTOR


@pytest.mark.parametrize("method, path", [
    ("get", "/coordinator/requests"), ("post", "/coordinator/requests/{id}/approve"),
    ("post", "/coordinator/requests/{id}/reject"), ("post", "/coordinator/requests/approve"),
    ("get", "/coordinator/settings"), ("post", "/coordinator/settings"),
])
def test_members_are_refused(client, auth, people, method, path):
    req = ask(people)
    auth.login("mona@example.org")
    response = getattr(client, method)(path.format(id=req.id), data={"note": "Sure", "ids": [str(req.id)],
                                                                      "requests_need_review": ""})
    assert response.status_code == 403
    assert fresh(req).status == R.PENDING_REVIEW and svc.requests_need_review() is True
    assert 'id="review-count"' not in page(client.get("/requests")), "members have no counter"


def test_an_unknown_request_is_not_found(client, auth, people):
    auth.login("cora@example.org")
    for action in ("approve", "reject"):
        assert client.post(f"/coordinator/requests/999999/{action}", data={"note": "x"}).status_code == 404


def test_the_counter_is_on_every_page_for_coordinators_and_costs_one_count(client, auth, people, count_queries):
    ask(people)
    auth.login("cora@example.org")
    with count_queries() as seen:
        html = page(client.get("/profile/edit"))
    assert nav_count(html) == "1 request to review"
    assert 'href="/coordinator/requests"' in re.search(r"<a [^>]*>Coordinate .*?</a>", html, re.S).group(0)
    requests_read = [q for q in seen if "connection_request" in q]
    assert len(requests_read) == 1 and "COUNT" in requests_read[0], requests_read


@pytest.mark.csrf
def test_an_htmx_review_carries_the_token_the_page_gives(client, auth, people):
    req = ask(people)
    login_page = page(client.get("/login"))
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"email": "cora@example.org", "password": "correct horse battery", "csrf_token": token})
    queue = page(client.get("/coordinator/requests"))
    header = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', queue).group(1)
    refused = client.post(f"/coordinator/requests/{req.id}/approve", data={"note": ""}, headers=htmx(req))
    assert refused.status_code == 400 and fresh(req).status == R.PENDING_REVIEW
    response = client.post(f"/coordinator/requests/{req.id}/approve", data={"note": ""},
                           headers=dict(htmx(req), **{"X-CSRFToken": header}))
    assert response.status_code == 200 and fresh(req).status == R.PENDING_MENTOR


# --- the setting ---------------------------------------------------------------------

def test_the_settings_page_switches_review_on_and_off(client, auth, people, make_member, topics):
    p = people
    svc.set_requests_need_review(p.coordinator, False)
    auth.login("cora@example.org")
    html = page(client.get("/coordinator/settings"))
    switch = re.search(r'<input [^>]*id="requests_need_review"[^>]*>', html).group(0)
    assert 'role="switch"' in switch and "checked" not in switch
    assert "Requests need a coordinator’s review" in html
    assert "new requests go straight to the mentor" in html and "stay in the queue" in html
    assert 'href="/coordinator/settings" aria-current="page"' in html

    response = client.post("/coordinator/settings", data={"requests_need_review": "y"})
    assert response.status_code == 303 and response.headers["Location"] == "/coordinator/settings"
    html = page(client.get("/coordinator/settings"))
    assert "Saved: new requests wait for a coordinator’s review" in html
    assert "checked" in re.search(r'<input [^>]*id="requests_need_review"[^>]*>', html).group(0)
    waiting = ask(p)
    assert fresh(waiting).status == R.PENDING_REVIEW

    client.post("/coordinator/settings", data={})
    assert "Requests already waiting stay in the review queue." in text_of(client.get("/coordinator/settings"))
    straight = ask(p, mentee=p.other, topic="Python")
    assert fresh(straight).status == R.PENDING_MENTOR
    assert sent(notifications.REQUEST_RECEIVED) == [(p.mentor.id, "Otto Other asks you for mentoring")]
    assert rows(page(client.get("/coordinator/requests"))) == [waiting.id], "the waiting request stays"
    changes = [(e.actor_id, e.detail) for e in AuditEvent.select().where(AuditEvent.action == "setting.changed")
               .order_by(AuditEvent.id)]
    assert changes[-2:] == [(p.coordinator.id, "on"), (p.coordinator.id, "off")]
    client.post("/coordinator/settings", data={})
    assert AuditEvent.select().where(AuditEvent.action == "setting.changed").count() == len(changes), \
        "saving the same value changes nothing"


def test_the_coordinator_pages_link_to_each_other(client, auth, people):
    auth.login("cora@example.org")
    for path in ("/coordinator/members", "/coordinator/topics", "/coordinator/requests", "/coordinator/settings"):
        nav = re.search(r'<nav aria-label="Coordination".*?</nav>', page(client.get(path)), re.S).group(0)
        for link in ("/coordinator/requests", "/coordinator/members", "/coordinator/topics", "/coordinator/settings"):
            assert f'href="{link}"' in nav, (path, link)
        assert f'href="{path}" aria-current="page"' in nav
