"""A mentor offers to mentor a member who seeks mentoring, in the browser without JavaScript: the form at
/members/<id>/offer worded for the mentor, its refusals, and the offer answered like any request."""
from types import SimpleNamespace

import pytest

from portal.models import ConnectionRequest, Mentorship, Notification, ProgramSetting, RequestTopic
from portal.notifications import services as notifications
from portal.requests import services as svc

R = ConnectionRequest
HELP = "I led my first team three years ago and can help you with your one-to-ones."
SUCCESS = "You run your weekly meeting with confidence and delegate one task a week."


@pytest.fixture
def people(make_member, topics):
    t = topics
    return SimpleNamespace(
        mentor=make_member(name="Mona Mentor", email="mona@example.org",
                           offers=[t["Python"], t["Public speaking"], t["Leadership"]], capacity=2),
        mentee=make_member(name="Mel Mentee", email="mel@example.org", seeks=[t["Python"], t["Negotiation"]],
                           meeting_formats="video phone"),
        seeker=make_member(name="Sam Seeker", email="sam@example.org", seeks=[t["Python"]]),
        other_mentor=make_member(name="Nina Mentor", email="nina@example.org", offers=[t["Python"]]),
        coordinator=make_member(name="Cora Coordinator", email="cora@example.org", role="coordinator",
                                password=None),
        topics=t,
    )


def form(p, **changes):
    """Mona's offer to Mel, with ``changes``."""
    return {"topics": [str(p.topics["Leadership"].id)], "help_wanted": HELP, "success_looks_like": SUCCESS,
            "meeting_format": "video", **changes}


def page(response):
    return response.get_data(as_text=True)


def test_the_form_shows_my_topics_theirs_first_and_questions_for_a_mentor(client, auth, people):
    auth.login("mona@example.org")
    html = page(client.get(f"/members/{people.mentee.id}/offer"))
    assert "<h1>Offer to mentor Mel Mentee</h1>" in html
    assert "<legend>Topics you could mentor Mel Mentee on</legend>" in html
    leadership, python = people.topics["Leadership"].id, people.topics["Python"].id
    # The topic Mel seeks comes first, marked and ticked; my other topics follow by name; none I do not offer.
    assert html.index("Python (sought by Mel Mentee)") < html.index("Leadership") < html.index("Public speaking")
    assert f'<input checked id="topics-0" name="topics" type="checkbox" value="{python}">' in html
    assert f'<input id="topics-1" name="topics" type="checkbox" value="{leadership}">' in html
    assert "Negotiation" not in html
    assert "What could you help Mel Mentee with?" in html
    assert "What would success look like in three months?" in html
    assert "What would you like help with?" not in html
    assert "For example: “I led my first team" in html and "For example: “You run your weekly meeting" in html
    assert "Mel Mentee meets by video call or phone call." in html
    assert ">Send the offer</button>" in html


def test_an_offer_is_sent_and_the_mentee_accepts_it(client, auth, people):
    auth.login("mona@example.org")
    response = client.post(f"/members/{people.mentee.id}/offer",
                           data=form(people, topics=[str(people.topics["Leadership"].id),
                                                     str(people.topics["Python"].id)]))
    assert response.status_code == 303 and response.headers["Location"].endswith("/requests")
    offer = R.get()
    assert (offer.direction, offer.requester_id, offer.mentor_id, offer.mentee_id) == (
        R.OFFER, people.mentor.id, people.mentor.id, people.mentee.id)
    assert offer.status == R.PENDING_MENTOR and offer.help_wanted == HELP and offer.meeting_format == "video"
    assert sorted(link.topic_id for link in RequestTopic.select()) == sorted(
        [people.topics["Leadership"].id, people.topics["Python"].id])
    assert "Your offer is sent to Mel Mentee, who has 14 days to answer." in page(client.get("/requests"))
    assert [(n.recipient_id, n.kind) for n in Notification.select()] == [
        (people.mentee.id, notifications.REQUEST_RECEIVED)]

    client.post("/logout")
    auth.login("mel@example.org")
    html = page(client.get("/requests"))
    assert "Mona Mentor" in html and "offers to mentor you" in html and HELP in html
    assert client.post(f"/requests/{offer.id}/accept").status_code == 303
    assert R.get_by_id(offer.id).status == R.ACCEPTED
    mentorship = Mentorship.get()
    assert (mentorship.mentor_id, mentorship.mentee_id, mentorship.status) == (
        people.mentor.id, people.mentee.id, Mentorship.ACTIVE)


def test_with_review_on_the_offer_waits_for_a_coordinator(client, auth, people):
    ProgramSetting.set_value(ProgramSetting.REQUESTS_NEED_REVIEW, True)
    auth.login("mona@example.org")
    response = client.post(f"/members/{people.mentee.id}/offer", data=form(people), follow_redirects=True)
    assert ("Your offer to Mel Mentee is sent. A coordinator looks at it first, then Mel Mentee can answer."
            in page(response))
    offer = R.get()
    assert offer.status == R.PENDING_REVIEW and offer.expires_at is None
    assert [(n.recipient_id, n.kind) for n in Notification.select()] == [
        (people.coordinator.id, notifications.REQUEST_TO_REVIEW)]


@pytest.mark.parametrize("changes, message, field", [
    ({"topics": []}, "Choose at least one of the topics you offer.", "topics"),
    ({"topics": ["negotiation"]}, "Choose among the topics you offer.", "topics"),
    ({"help_wanted": "I can help"}, "Write a little more for “What could you help Mel Mentee with?” (at least 20 "
                                    "characters), so that Mel Mentee understands what you have in mind.",
     "help_wanted"),
    ({"help_wanted": " "}, "Please answer “What could you help Mel Mentee with?”", "help_wanted"),
    ({"success_looks_like": ""}, "Please answer “What would success look like in three months?”",
     "success_looks_like"),
    ({"meeting_format": ""}, "Choose how you would like to meet.", "meeting_format"),
    ({"meeting_format": "in_person"}, "Mel Mentee meets by video call or phone call: choose one of those.",
     "meeting_format"),
])
def test_each_refusal_is_on_its_field_with_the_typed_values_kept(client, auth, people, changes, message, field):
    if changes.get("topics") == ["negotiation"]:  # a topic Mel seeks that I do not offer
        changes = {"topics": [str(people.topics["Negotiation"].id)]}
    auth.login("mona@example.org")
    response = client.post(f"/members/{people.mentee.id}/offer", data=form(people, **changes))
    html = page(response)
    assert response.status_code == 200
    assert f'<small id="{field}-error" class="error">{message}</small>' in html
    if field != "help_wanted":
        assert HELP in html
    if field != "success_looks_like":
        assert SUCCESS in html
    if field != "meeting_format":
        assert '<option selected value="video">' in html
    if field != "topics":  # what I ticked stays ticked
        assert f'<input checked id="topics-1" name="topics" type="checkbox" value="{people.topics["Leadership"].id}">' \
            in html
        assert 'id="topics-0" name="topics"' in html and '<input checked id="topics-0"' not in html
    assert R.select().count() == 0


def test_a_refusal_about_the_pair_is_shown_above_the_form(client, auth, people):
    svc.send_request(people.mentee, people.mentor, [people.topics["Leadership"].id], HELP, SUCCESS, "video")
    auth.login("mona@example.org")
    response = client.post(f"/members/{people.mentee.id}/offer", data=form(people))
    html = page(response)
    assert response.status_code == 200
    assert '<div class="form-errors" role="alert"><p>Mel Mentee has already sent you a request: answer it on your ' \
           'requests page.</p></div>' in html
    assert HELP in html and SUCCESS in html
    assert R.select().count() == 1


@pytest.mark.parametrize("who, whom, message", [
    ("mona", "mona", "You cannot offer mentoring to yourself."),
    ("sam", "mel", "Your profile does not offer mentoring: turn it on in your profile first."),
    ("mona", "nina", "Nina Mentor is not looking for a mentor."),
])
def test_who_cannot_offer_to_whom_is_said_before_the_form(client, auth, people, who, whom, message):
    members = {"mona": people.mentor, "mel": people.mentee, "sam": people.seeker, "nina": people.other_mentor}
    auth.login(f"{who}@example.org")
    for method in ("GET", "POST"):
        response = client.open(f"/members/{members[whom].id}/offer", method=method, data=form(people))
        html = page(response)
        assert response.status_code == 200
        assert f'<div class="form-errors" role="alert"><p>{message}</p></div>' in html
        assert "<form method=\"post\" action=\"/members/" not in html
        assert 'href="/mentees">Find a mentee</a>' in html
    assert ('href="/profile/edit#offers_mentoring">Edit my profile</a>' in html) == (who == "sam")
    assert R.select().count() == 0


def test_an_inactive_or_unknown_member_is_not_found(client, auth, people, make_member):
    gone = make_member(name="Gone", seeks=[people.topics["Python"]], active=False)
    auth.login("mona@example.org")
    for path in (f"/members/{gone.id}/offer", "/members/999999/offer"):
        assert client.get(path).status_code == 404
        assert client.post(path, data=form(people)).status_code == 404
    assert R.select().count() == 0


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_anonymous_visitors_are_sent_to_log_in(client, people, method):
    response = client.open(f"/members/{people.mentee.id}/offer", method=method)
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]


def test_the_profile_offers_mentoring_to_those_who_seek_it(client, auth, people):
    offer_link = f'href="/members/{people.mentee.id}/offer" role="button">Offer mentoring</a>'
    auth.login("mona@example.org")
    assert offer_link in page(client.get(f"/members/{people.mentee.id}"))
    assert "Offer mentoring" not in page(client.get(f"/members/{people.other_mentor.id}"))  # does not seek
    assert "Offer mentoring" not in page(client.get(f"/members/{people.mentor.id}"))  # my own profile
    client.post("/logout")
    auth.login("sam@example.org")  # does not offer mentoring
    assert "Offer mentoring" not in page(client.get(f"/members/{people.mentee.id}"))


def test_the_offer_is_made_from_a_mentees_card(client, auth, people):
    auth.login("mona@example.org")
    cards = page(client.get("/mentees"))
    assert f'<a href="/members/{people.mentee.id}/offer" role="button"' in cards
    assert client.post(f"/members/{people.mentee.id}/offer", data=form(people)).status_code == 303
    cards = page(client.get("/mentees"))
    assert f'/members/{people.mentee.id}/offer' not in cards
    assert "You offered to mentor Mel Mentee: your offer is open." in cards


def test_member_text_in_the_questions_is_escaped(client, auth, people, make_member):
    mentee = make_member(name="<b>Bold</b> Mentee", seeks=[people.topics["Python"]])
    auth.login("mona@example.org")
    html = page(client.get(f"/members/{mentee.id}/offer"))
    assert "What could you help &lt;b&gt;Bold&lt;/b&gt; Mentee with?" in html
    assert "<b>Bold</b>" not in html
