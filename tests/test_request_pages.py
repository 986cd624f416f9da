"""The member's side of connection requests in the browser: ask a mentor, see my requests (the other
member's summary, their other open requests, each request's history), accept, decline with a kind
note, withdraw, without JavaScript and in place with htmx, and the expire-requests command."""
import datetime as dt
import json
import re
from types import SimpleNamespace

import pytest
from peewee import chunked

from portal.models import ConnectionRequest, Mentorship, Notification, Profile, ProfileLanguage, RequestTopic, User
from portal.requests import services as svc

R = ConnectionRequest
HELP = "I lead a team of four for the first time and want to do it well."
SUCCESS = "Our weekly meeting runs itself and I delegate without worrying."


@pytest.fixture
def people(make_member, topics):
    t = topics
    return SimpleNamespace(
        mentor=make_member(name="Mona Mentor", email="mona@example.org", offers=[t["Leadership"], t["Python"]],
                           capacity=2, meeting_formats="video phone"),
        mentee=make_member(name="Mel Mentee", email="mel@example.org", seeks=[t["Leadership"]]),
        other=make_member(name="Otto Other", email="otto@example.org", seeks=[t["Python"]]),
        plain=make_member(name="Pia Plain", email="pia@example.org", seeks=[t["Python"]]),
        topics=t,
    )


def form(p, **changes):
    data = {"topics": [str(p.topics["Leadership"].id)], "help_wanted": HELP, "success_looks_like": SUCCESS,
            "meeting_format": "video"}
    data.update(changes)
    return data


def ask(p, mentee=None, now=None, mentor=None):
    return svc.send_request(mentee or p.mentee, mentor or p.mentor, [p.topics["Leadership"].id], HELP, SUCCESS,
                            "video", now=now)


def page(response):
    return response.get_data(as_text=True)


def test_the_form_shows_the_mentors_topics_the_prompts_and_examples(client, auth, people):
    auth.login("mel@example.org")
    html = page(client.get(f"/members/{people.mentor.id}/request"))
    assert "Request mentoring from Mona Mentor" in html
    assert "Leadership" in html and "Python" in html and "Negotiation" not in html
    for question in svc.PROMPTS.values():
        assert question in html
    assert "For example:" in html
    assert 'name="meeting_format"' in html and "meets by video call or phone call" in html


def test_the_profile_links_to_the_form_and_the_nav_to_requests(client, auth, people):
    auth.login("mel@example.org")
    html = page(client.get(f"/members/{people.mentor.id}"))
    assert f"/members/{people.mentor.id}/request" in html
    assert 'href="/requests"' in html
    assert "Request mentoring" not in page(client.get(f"/members/{people.other.id}"))
    assert "Request mentoring" not in page(client.get(f"/members/{people.mentee.id}"))


def test_a_valid_request_is_sent_and_leads_to_my_requests(client, auth, people):
    auth.login("mel@example.org")
    response = client.post(f"/members/{people.mentor.id}/request", data=form(people))
    assert response.status_code == 303 and response.headers["Location"].endswith("/requests")
    req = R.get()
    assert (req.mentee_id, req.mentor_id, req.requester_id) == (people.mentee.id, people.mentor.id, people.mentee.id)
    assert req.help_wanted == HELP and req.meeting_format == "video" and req.status == R.PENDING_MENTOR
    assert [link.topic_id for link in RequestTopic.select()] == [people.topics["Leadership"].id]
    assert "Your request is sent to Mona Mentor" in page(client.get("/requests"))


@pytest.mark.parametrize("changes, message, field", [
    ({"topics": []}, "Choose at least one of the topics Mona Mentor offers.", "topics"),
    ({"help_wanted": "Help"}, "Write a little more for", "help_wanted"),
    ({"success_looks_like": ""}, "Please answer", "success_looks_like"),
    ({"meeting_format": ""}, "Choose how you would like to meet.", "meeting_format"),
    ({"meeting_format": "in_person"}, "Mona Mentor meets by", "meeting_format"),
])
def test_each_refusal_is_explained_with_the_typed_values_kept(client, auth, people, changes, message, field):
    auth.login("mel@example.org")
    data = form(people, **changes)
    response = client.post(f"/members/{people.mentor.id}/request", data=data)
    html = page(response)
    assert response.status_code == 200
    assert message in html
    assert f'id="{field}-error"' in html or field == "topics"
    if field != "help_wanted":
        assert HELP in html
    if field != "success_looks_like":
        assert SUCCESS in html
    assert R.select().count() == 0


def test_a_second_open_request_to_the_same_mentor_is_refused_at_the_top(client, auth, people):
    ask(people)
    auth.login("mel@example.org")
    response = client.post(f"/members/{people.mentor.id}/request", data=form(people))
    assert response.status_code == 200
    assert "You already have an open request with Mona Mentor" in page(response)
    assert HELP in page(response)
    assert R.select().count() == 1


def test_who_cannot_be_asked(client, auth, people, make_member):
    gone = make_member(name="Gone", offers=[people.topics["Python"]], active=False)
    auth.login("mel@example.org")
    own = client.get(f"/members/{people.mentee.id}/request")
    assert own.status_code == 200 and "You cannot send a mentoring request to yourself." in page(own)
    not_mentor = client.post(f"/members/{people.other.id}/request", data=form(people))
    assert not_mentor.status_code == 200 and "Otto Other does not offer mentoring." in page(not_mentor)
    assert client.get(f"/members/{gone.id}/request").status_code == 404
    assert client.get("/members/999999/request").status_code == 404
    assert R.select().count() == 0


def test_my_requests_lists_incoming_and_outgoing(client, auth, people, count_queries):
    ask(people)
    ask(people, mentee=people.other)
    auth.login("mona@example.org")
    html = page(client.get("/requests"))
    assert "Mel Mentee" in html and "Otto Other" in html and HELP in html and SUCCESS in html
    assert html.count(">Accept</button>") == 2 and html.count(">Decline</button>") == 2
    auth.logout()
    auth.login("mel@example.org")
    html = page(client.get("/requests"))
    assert "Your request to" in html and "Mona Mentor" in html and "Waiting for an answer" in html
    assert ">Withdraw</button>" in html and ">Accept</button>" not in html


def test_my_requests_run_a_constant_number_of_queries(client, auth, people, make_member, count_queries):
    auth.login("mona@example.org")

    def queries():
        with count_queries() as seen:
            assert client.get("/requests").status_code == 200
        return len(seen)

    ask(people)
    one = queries()
    for n in range(3):
        mentee = make_member(seeks=[people.topics["Leadership"]])
        ask(people, mentee=mentee)
        svc.decline(people.mentor, R.select().order_by(R.id.desc()).first())
    assert queries() == one


def test_accept_starts_a_mentorship(client, auth, people):
    req = ask(people)
    auth.login("mona@example.org")
    response = client.post(f"/requests/{req.id}/accept")
    assert response.status_code == 303 and response.headers["Location"].endswith("/requests")
    assert R.get_by_id(req.id).status == R.ACCEPTED
    mentorship = Mentorship.get()
    assert (mentorship.mentor_id, mentorship.mentee_id) == (people.mentor.id, people.mentee.id)
    assert "mentorship with Mel Mentee has started" in page(client.get("/requests"))


def test_decline_with_a_note(client, auth, people):
    req = ask(people)
    auth.login("mona@example.org")
    response = client.post(f"/requests/{req.id}/decline", data={"note": "No time this quarter, sorry."})
    assert response.status_code == 303
    req = R.get_by_id(req.id)
    assert req.status == R.DECLINED and req.answer_note == "No time this quarter, sorry."
    assert Mentorship.select().count() == 0


def test_withdraw(client, auth, people):
    req = ask(people)
    auth.login("mel@example.org")
    assert client.post(f"/requests/{req.id}/withdraw").status_code == 303
    assert R.get_by_id(req.id).status == R.WITHDRAWN


def test_a_refused_transition_is_flashed(client, auth, people):
    req = ask(people)
    svc.withdraw(people.mentee, req)
    auth.login("mona@example.org")
    response = client.post(f"/requests/{req.id}/accept", follow_redirects=True)
    assert "This request has been withdrawn." in page(response)
    assert Mentorship.select().count() == 0


@pytest.mark.parametrize("action", ["accept", "decline", "withdraw"])
def test_another_members_request_is_not_found(client, auth, people, action):
    req = ask(people)
    auth.login("pia@example.org")
    assert client.post(f"/requests/{req.id}/{action}").status_code == 404
    assert client.post(f"/requests/999999/{action}").status_code == 404
    assert R.get_by_id(req.id).status == R.PENDING_MENTOR


@pytest.mark.parametrize("action", ["accept", "decline"])
def test_the_requester_cannot_answer_their_own_request(client, auth, people, action):
    req = ask(people)
    auth.login("mel@example.org")
    assert client.post(f"/requests/{req.id}/{action}").status_code == 404
    assert R.get_by_id(req.id).status == R.PENDING_MENTOR


def test_the_asked_mentor_cannot_withdraw(client, auth, people):
    req = ask(people)
    auth.login("mona@example.org")
    assert client.post(f"/requests/{req.id}/withdraw").status_code == 404
    assert R.get_by_id(req.id).status == R.PENDING_MENTOR


@pytest.mark.parametrize("method, path", [
    ("GET", "/requests"), ("GET", "/members/1/request"), ("POST", "/members/1/request"),
    ("POST", "/requests/1/accept"), ("POST", "/requests/1/decline"), ("POST", "/requests/1/withdraw"),
])
def test_anonymous_visitors_are_sent_to_log_in(client, people, method, path):
    response = client.open(path, method=method)
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]


def test_the_expire_requests_command_expires_old_requests(app, runner, people):
    old = ask(people, now=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(days=15))
    fresh = ask(people, mentee=people.other)
    result = runner.invoke(args=["expire-requests"])
    assert result.exit_code == 0, result.output
    assert "1 request expired." in result.output
    assert R.get_by_id(old.id).status == R.EXPIRED
    assert R.get_by_id(fresh.id).status == R.PENDING_MENTOR
    assert "0 requests expired." in runner.invoke(args=["expire-requests"]).output



# --- what /requests shows: the other member, their other requests, the history ---------------

T0 = dt.datetime(2026, 3, 2, 9, 0)  # a Monday, in UTC


def in_place(req):
    """The headers htmx sends for a form inside the request's article (hx-target="closest article")."""
    return {"HX-Request": "true", "HX-Target": f"request-{req.id}"}


def article(html, req):
    """The article of one request on the page."""
    start = html.index(f'<article class="request" id="request-{req.id}"')
    return html[start:html.index("</article>", start) + len("</article>")]


def section(html, heading_id):
    start = html.index(f'<h2 id="{heading_id}">')
    return html[start:html.index("</section>", start)]


def set_zone(user, zone):
    User.update(time_zone=zone).where(User.id == user.id).execute()


@pytest.fixture
def coordinator(make_member):
    return make_member(name="Cora Coordinator", email="cora@example.org", role=User.COORDINATOR)


def test_a_request_sent_to_me_shows_the_mentees_profile_summary(client, auth, people):
    Profile.update(headline="New team lead in logistics", organization="Acme Freight", job_title="Team lead",
                   job_level="early", country="BR").where(Profile.user == people.mentee.id).execute()
    set_zone(people.mentee, "America/Sao_Paulo")
    ProfileLanguage.create(profile=people.mentee.id, code="pt")
    req = svc.send_request(people.mentee, people.mentor, [people.topics["Leadership"].id, people.topics["Python"].id],
                           HELP, SUCCESS, "video")
    auth.login("mona@example.org")
    mine = article(page(client.get("/requests")), req)
    for shown in ("Mel Mentee", "asks you for mentoring", "New team lead in logistics", "Team lead at Acme Freight",
                  "Early career", "Brazil", "America/Sao Paulo, local time", "speaks English, Portuguese",
                  "<li>Leadership</li>", "<li>Python</li>", HELP, SUCCESS, "Video call"):
        assert shown in mine, shown


def test_the_mentor_sees_how_many_other_open_requests_the_mentee_has(client, auth, people, make_member):
    others = [make_member(offers=[people.topics["Leadership"]]) for _ in range(2)]
    req = ask(people)
    auth.login("mona@example.org")
    assert "This is Mel Mentee’s only open request." in article(page(client.get("/requests")), req)
    sent = [ask(people, mentor=mentor) for mentor in others]
    assert "Mel Mentee has 2 other open requests." in article(page(client.get("/requests")), req)
    svc.withdraw(people.mentee, sent[0])
    assert "Mel Mentee has 1 other open request." in article(page(client.get("/requests")), req)
    svc.decline(others[1], sent[1])
    assert "This is Mel Mentee’s only open request." in article(page(client.get("/requests")), req)
    svc.decline(people.mentor, req)
    assert "open request" not in article(page(client.get("/requests")), req)  # answered: no longer a question
    auth.logout()
    auth.login("mel@example.org")
    assert "other open request" not in page(client.get("/requests"))


def test_an_offer_shows_the_mentors_summary_and_their_other_open_offers(client, auth, people):
    first = svc.send_offer(people.mentor, people.mentee, [people.topics["Leadership"].id], HELP, SUCCESS, "video")
    auth.login("mel@example.org")
    mine = article(page(client.get("/requests")), first)
    assert "offers to mentor you" in mine and "This is Mona Mentor’s only open offer." in mine
    assert "Headline 1" in mine and "Engineer at Org 1" in mine
    svc.send_offer(people.mentor, people.other, [people.topics["Python"].id], HELP, SUCCESS, "video")
    assert "Mona Mentor has 1 other open offer." in article(page(client.get("/requests")), first)


def test_an_offer_shows_the_questions_the_mentor_answered(client, auth, people):
    req = svc.send_offer(people.mentor, people.mentee, [people.topics["Leadership"].id], HELP, SUCCESS, "video")
    for email in ("mel@example.org", "mona@example.org"):
        auth.login(email)
        mine = article(page(client.get("/requests")), req)
        assert f"<dt>What could you help Mel Mentee with?</dt><dd>{HELP}</dd>" in mine
        auth.logout()


def test_each_side_sees_the_history_in_their_own_time_zone(client, auth, people, coordinator):
    set_zone(people.mentor, "Asia/Tokyo")  # UTC+9
    set_zone(people.mentee, "America/New_York")  # UTC-5 in early March
    svc.set_requests_need_review(coordinator, True)
    req = ask(people, now=T0)
    svc.approve(coordinator, req, "Between us coordinators: fine.", now=T0 + dt.timedelta(hours=2))
    auth.login("mona@example.org")
    mine = article(page(client.get("/requests")), req)
    assert "answer by Mon 16 Mar 2026, 20:00" in mine
    svc.decline(people.mentor, req, "No time this quarter, sorry.", now=T0 + dt.timedelta(days=1))
    html = page(client.get("/requests"))
    mine = article(section(html, "past"), req)
    assert re.findall(r'<time datetime="([^"]+)">([^<]+)</time> ([^<:]+)', mine) == [
        ("2026-03-02T09:00:00Z", "Mon 02 Mar 2026, 18:00", "Sent"),
        ("2026-03-02T11:00:00Z", "Mon 02 Mar 2026, 20:00", "Approved by a coordinator"),
        ("2026-03-03T09:00:00Z", "Tue 03 Mar 2026, 18:00", "Declined")]
    assert "Declined: <q>No time this quarter, sorry.</q>" in mine
    assert "Between us coordinators" not in html
    auth.logout()
    auth.login("mel@example.org")
    html = page(client.get("/requests"))
    mine = article(section(html, "past"), req)
    assert [when for when in re.findall(r"<time [^>]+>([^<]+)</time>", mine)] == [
        "Mon 02 Mar 2026, 04:00", "Mon 02 Mar 2026, 06:00", "Tue 03 Mar 2026, 04:00"]
    assert "Declined: <q>No time this quarter, sorry.</q>" in mine and "Between us coordinators" not in html


def test_a_rejected_request_shows_the_coordinators_note_to_the_requester_only(client, auth, people, coordinator):
    svc.set_requests_need_review(coordinator, True)
    req = ask(people, now=T0)
    auth.login("mel@example.org")
    mine = article(section(page(client.get("/requests")), "outgoing"), req)
    assert "Waiting for a coordinator&#39;s review" in mine and ">Withdraw</button>" in mine
    svc.reject(coordinator, req, "Please ask a mentor outside your own team.", now=T0 + dt.timedelta(hours=1))
    mine = article(section(page(client.get("/requests")), "past"), req)
    assert "Not approved by a coordinator: <q>Please ask a mentor outside your own team.</q>" in mine
    assert "Mon 02 Mar 2026, 11:00</time> Not approved" in mine and ">Withdraw</button>" not in mine
    auth.logout()
    auth.login("mona@example.org")
    html = page(client.get("/requests"))
    assert f'id="request-{req.id}"' not in html and "outside your own team" not in html


def test_a_request_waiting_for_review_has_not_reached_the_mentor(client, auth, people, coordinator):
    svc.set_requests_need_review(coordinator, True)
    req = ask(people)
    auth.login("mona@example.org")
    assert f'id="request-{req.id}"' not in page(client.get("/requests"))
    assert client.post(f"/requests/{req.id}/accept").status_code == 404
    assert client.post(f"/requests/{req.id}/accept", headers=in_place(req)).status_code == 404
    svc.approve(coordinator, req)
    assert ">Accept</button>" in article(page(client.get("/requests")), req)


def test_withdrawn_and_expired_requests_are_past_with_the_time_they_closed(client, auth, people, make_member):
    second = make_member(name="Sam Second", offers=[people.topics["Leadership"]])
    withdrawn = ask(people, now=T0)
    svc.withdraw(people.mentee, withdrawn, now=T0 + dt.timedelta(hours=3))
    expired = ask(people, mentor=second, now=T0)
    svc.expire_due(now=T0 + dt.timedelta(days=15))
    auth.login("mel@example.org")
    html = page(client.get("/requests"))
    assert "You have no open request." in section(html, "outgoing")
    past = section(html, "past")
    assert "Mon 02 Mar 2026, 13:00</time> Withdrawn" in article(past, withdrawn)  # Berlin, UTC+1
    assert "Tue 17 Mar 2026, 10:00</time> Expired without an answer" in article(past, expired)
    assert ">Withdraw</button>" not in past
    # The most recently closed come first.
    assert past.index(f'id="request-{expired.id}"') < past.index(f'id="request-{withdrawn.id}"')


# --- answering in place (htmx) and without JavaScript ----------------------------------------

def test_accept_in_place_swaps_just_the_article(client, auth, people):
    req = ask(people)
    auth.login("mona@example.org")
    response = client.post(f"/requests/{req.id}/accept", headers=in_place(req))
    html = page(response)
    assert response.status_code == 200 and "<html" not in html and "<h1" not in html
    assert html.lstrip().startswith(f'<article class="request" id="request-{req.id}"')
    assert "<strong>Accepted</strong>" in html and "</time> Accepted</li>" in html and ">Accept</button>" not in html
    assert "You accepted. Your mentorship with Mel Mentee has started." in html
    # The page's live region hears it too, out of band.
    assert re.search(r'<p id="requests-status" hx-swap-oob="innerHTML">You accepted\.', html)
    assert R.get_by_id(req.id).status == R.ACCEPTED and Mentorship.select().count() == 1
    # Nothing is left over as a flash for the next page.
    assert "has started" not in page(client.get("/requests"))


def test_withdraw_in_place(client, auth, people):
    req = ask(people)
    auth.login("mel@example.org")
    response = client.post(f"/requests/{req.id}/withdraw", headers=in_place(req))
    html = page(response)
    assert response.status_code == 200 and html.lstrip().startswith(f'<article class="request" id="request-{req.id}"')
    assert "You withdrew your request to Mona Mentor." in html and "</time> Withdrawn</li>" in html
    assert ">Withdraw</button>" not in html
    assert R.get_by_id(req.id).status == R.WITHDRAWN


def test_the_page_offers_answers_in_place_and_without_javascript(client, auth, people):
    req = ask(people)
    auth.login("mona@example.org")
    mine = article(page(client.get("/requests")), req)
    for action in ("accept", "decline"):
        assert (f'method="post" action="/requests/{req.id}/{action}"' in mine
                and f'hx-post="/requests/{req.id}/{action}" hx-target="closest article" hx-swap="outerHTML"' in mine)
    assert 'id="requests-status" class="visually-hidden" role="status"' in page(client.get("/requests"))


def test_an_answer_that_comes_too_late_says_so_in_the_article(client, auth, people):
    req = ask(people)
    auth.login("mona@example.org")
    svc.withdraw(people.mentee, req)
    html = page(client.post(f"/requests/{req.id}/accept", headers=in_place(req)))
    assert '<p class="flash flash-error" role="alert">This request has been withdrawn.</p>' in html
    assert "<strong>Withdrawn</strong>" in html and ">Accept</button>" not in html
    assert Mentorship.select().count() == 0


def test_a_full_mentor_is_told_in_the_article_and_can_still_decline(client, auth, people, make_member):
    req = ask(people)
    for _ in range(2):  # Mona takes two mentees: her capacity
        svc.accept(people.mentor, ask(people, mentee=make_member(seeks=[people.topics["Leadership"]])))
    auth.login("mona@example.org")
    html = page(client.post(f"/requests/{req.id}/accept", headers=in_place(req)))
    assert "You have no free place for a new mentee" in html and 'role="alert"' in html
    assert "<strong>Waiting for an answer</strong>" in html and ">Decline</button>" in html
    assert R.get_by_id(req.id).status == R.PENDING_MENTOR


@pytest.mark.parametrize("action", ["accept", "decline", "withdraw"])
def test_another_members_request_is_not_found_in_place_either(client, auth, people, action):
    req = ask(people)
    auth.login("pia@example.org")
    assert client.post(f"/requests/{req.id}/{action}", headers=in_place(req)).status_code == 404
    assert client.post(f"/requests/999999/{action}", headers={"HX-Request": "true",
                                                               "HX-Target": "request-999999"}).status_code == 404
    assert R.get_by_id(req.id).status == R.PENDING_MENTOR


@pytest.mark.csrf
def test_an_answer_in_place_carries_the_csrf_header_of_the_layout(client, people):
    req = ask(people)
    login_page = page(client.get("/login"))
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"email": "mona@example.org", "password": "correct horse battery", "csrf_token": token})
    header = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page(client.get("/requests"))).group(1)
    assert client.post(f"/requests/{req.id}/accept", headers=in_place(req)).status_code == 400
    assert R.get_by_id(req.id).status == R.PENDING_MENTOR
    response = client.post(f"/requests/{req.id}/accept", headers={**in_place(req), "X-CSRFToken": header})
    assert response.status_code == 200 and "You accepted." in page(response)
    assert R.get_by_id(req.id).status == R.ACCEPTED


# --- declining with a kind note -------------------------------------------------------------

NOT_MY_AREA = svc.DECLINE_NOTES["not_my_area"][1]


@pytest.mark.parametrize("headers", [None, "htmx"])
def test_decline_with_an_offered_note(client, auth, people, headers):
    req = ask(people)
    auth.login("mona@example.org")
    response = client.post(f"/requests/{req.id}/decline", data={"template": "not_my_area", "note": ""},
                           headers=in_place(req) if headers else None)
    assert response.status_code == (200 if headers else 303)
    assert R.get_by_id(req.id).answer_note == NOT_MY_AREA
    told = Notification.get(Notification.kind == "request_answered")
    assert told.recipient_id == people.mentee.id and json.loads(told.body)["note"] == NOT_MY_AREA
    if headers:
        assert f"</time> Declined: <q>{NOT_MY_AREA}</q>" in page(response)
    auth.logout()
    auth.login("mel@example.org")
    assert f"Declined: <q>{NOT_MY_AREA}</q>" in article(page(client.get("/requests")), req)


def test_the_offered_notes_are_a_radio_group_that_fills_the_note_box(client, auth, people):
    req = ask(people)
    auth.login("mona@example.org")
    mine = article(page(client.get("/requests")), req)
    assert "<legend>A kind note (optional)</legend>" in mine and f'<label for="note-{req.id}">Your note</label>' in mine
    for code, (label, text) in svc.DECLINE_NOTES.items():
        assert (f'<input type="radio" id="template-{req.id}-{code}" name="template" value="{code}" '
                f'data-note-for="note-{req.id}">') in mine
        assert re.search(rf'{re.escape(label)} <q class="offered-note">{re.escape(text)}</q></label>', mine)
    assert re.search(rf'id="template-{req.id}-own" name="template" value="" [^>]* checked>', mine)
    # app.js does the filling; the page itself has no script of its own (strict CSP).
    with client.get("/static/app.js") as script:
        assert "data-note-for" in script.get_data(as_text=True)


def test_an_offer_is_declined_with_the_notes_meant_for_a_mentee(client, auth, people):
    req = svc.send_offer(people.mentor, people.mentee, [people.topics["Leadership"].id], HELP, SUCCESS, "video")
    auth.login("mel@example.org")
    mine = article(page(client.get("/requests")), req)
    assert "Looking for something else" in mine and "At capacity" not in mine
    client.post(f"/requests/{req.id}/decline", data={"template": "other_focus"})
    assert R.get_by_id(req.id).answer_note == svc.OFFER_DECLINE_NOTES["other_focus"][1]


def test_own_words_win_over_the_chosen_note(client, auth, people):
    req = ask(people)
    auth.login("mona@example.org")
    client.post(f"/requests/{req.id}/decline", data={"template": "no_time", "note": "  My own words, Mel.  "})
    assert R.get_by_id(req.id).answer_note == "My own words, Mel."


@pytest.mark.parametrize("headers", [None, "htmx"])
@pytest.mark.parametrize("data, field, message", [
    ({"template": "rude", "note": "Typed by me, kept."}, "template",
     "Choose one of the offered notes, or write your own."),
    ({"template": "", "note": "Typed by me, kept. " + "x" * 1000}, "note",
     "Keep the note under 1000 characters (you wrote 1019)."),
])
def test_a_bad_decline_is_explained_on_its_field_with_the_typed_text_kept(client, auth, people, headers, data, field,
                                                                         message):
    req = ask(people)
    auth.login("mona@example.org")
    response = client.post(f"/requests/{req.id}/decline", data=data, headers=in_place(req) if headers else None)
    html = page(response)
    assert response.status_code == 200
    mine = article(html, req)
    assert f'<small id="{field}-{req.id}-error" class="error">{message}</small>' in mine
    assert f">{data['note']}</textarea>" in mine and "<details open>" in mine
    if field == "note":
        assert f'aria-invalid="true" aria-describedby="note-{req.id}-error"' in mine
    else:
        assert f'aria-describedby="template-{req.id}-help template-{req.id}-error"' in mine
    if headers:
        assert html.lstrip().startswith("<article")
    else:
        # The whole page, which says at the top what to fix and links to the field.
        assert f'<a href="#{field}-{req.id}">{message}</a>' in html and "<h1>Requests</h1>" in html
    assert R.get_by_id(req.id).status == R.PENDING_MENTOR
    assert Notification.select().where(Notification.kind == "request_answered").count() == 0


# --- many requests: a fixed number of queries ------------------------------------------------

def _count(client, count_queries):
    with count_queries() as seen:
        response = client.get("/requests")
    assert response.status_code == 200
    return len(seen), page(response)


def bulk_requests(mentor, topic, n, status=R.PENDING_MENTOR, mentee=None):
    """``n`` requests to ``mentor``, each from a new member with a profile (or all from ``mentee``), in bulk."""
    now = dt.datetime(2026, 5, 4, 8, 0)
    if mentee is None:
        first = User.select().count()
        for rows in chunked([{"email": f"bulk{first + i}@example.org", "name": f"Bulk Mentee {first + i}",
                              "time_zone": "Europe/Lisbon"} for i in range(n)], 100):
            User.insert_many(rows).execute()
        senders = [u.id for u in User.select(User.id).where(User.email.startswith("bulk")).order_by(User.id)][-n:]
        for rows in chunked([{"user": u, "headline": f"Bulk headline {u}", "organization": "Bulk Org",
                              "job_title": "Analyst", "job_level": "early", "country": "PT", "seeks_mentoring": True,
                              "completed": True} for u in senders], 100):
            Profile.insert_many(rows).execute()
        for rows in chunked([{"profile": u, "code": "pt"} for u in senders], 100):
            ProfileLanguage.insert_many(rows).execute()
    else:
        senders = [mentee.id] * n
    closed = status not in R.OPEN
    for rows in chunked([{
        "requester": u, "mentor": mentor.id, "mentee": u, "help_wanted": HELP, "success_looks_like": SUCCESS,
        "meeting_format": "video", "status": status, "created_at": now + dt.timedelta(minutes=i),
        "expires_at": now + dt.timedelta(days=14), "answered_at": now + dt.timedelta(hours=i) if closed else None,
        "closed_at": now + dt.timedelta(hours=i) if closed else None,
        "answer_note": f"Bulk note {i}." if closed else "",
    } for i, u in enumerate(senders)], 100):
        R.insert_many(rows).execute()
    ids = [r.id for r in R.select(R.id).order_by(R.id.desc()).limit(n)]
    for rows in chunked([{"request": i, "topic": topic.id} for i in ids], 100):
        RequestTopic.insert_many(rows).execute()


def test_a_mentor_with_500_open_requests_runs_as_few_queries_as_with_one(client, auth, people, count_queries):
    auth.login("mona@example.org")
    ask(people)
    one, _ = _count(client, count_queries)
    bulk_requests(people.mentor, people.topics["Leadership"], 499)
    many, html = _count(client, count_queries)
    assert many == one
    incoming = section(html, "incoming")
    assert incoming.count('<article class="request"') == 500 and incoming.count(">Accept</button>") == 500
    assert incoming.count("Bulk Org") == 499 and "speaks Portuguese" in incoming
    assert incoming.count("’s only open request.") == 500


def test_a_mentee_with_many_past_requests_runs_a_fixed_number_of_queries(client, auth, people, make_member,
                                                                         count_queries):
    auth.login("mel@example.org")
    ask(people)
    one, html = _count(client, count_queries)
    assert 'id="past"' not in html
    for _ in range(2):
        ask(people, mentor=make_member(offers=[people.topics["Leadership"]]))
    bulk_requests(people.mentor, people.topics["Leadership"], 60, status=R.DECLINED, mentee=people.mentee)
    many, html = _count(client, count_queries)
    assert many == one
    assert section(html, "outgoing").count('<article class="request"') == 3
    past = section(html, "past")
    assert past.count('<article class="request"') == svc.PAST_SHOWN
    assert f"Only your {svc.PAST_SHOWN} most recently closed requests and offers are shown." in past
    assert "Bulk note 59." in past and "Bulk note 10." in past and "Bulk note 9." not in past
