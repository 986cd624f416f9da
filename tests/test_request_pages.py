"""The member's side of connection requests in the browser without JavaScript: ask a mentor,
see my requests, accept, decline, withdraw, and the expire-requests command."""
import datetime as dt
from types import SimpleNamespace

import pytest

from portal.models import ConnectionRequest, Mentorship, RequestTopic
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


def ask(p, mentee=None, now=None):
    return svc.send_request(mentee or p.mentee, p.mentor, [p.topics["Leadership"].id], HELP, SUCCESS, "video",
                            now=now)


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
