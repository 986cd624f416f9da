"""The coordinator's pairs page, admin match and ending a pair (issue 7): what a coordinator sees and
does, the rules with their messages, what the partners are told, and the audit trail."""
import datetime as dt
import re
from types import SimpleNamespace

import pytest

from portal.coordinator import pairs as pairing
from portal.coordinator.services import CoordinatorError
from portal.mentorships import services as mentorships
from portal.models import AuditEvent, ConnectionRequest, Feedback, Meeting, Mentorship, Notification, User, utcnow
from portal.notifications import delivery
from portal.notifications import services as kinds
from portal.requests import services as requests

from pagekit import page_text

N = Notification
HELP = "I lead a team of four for the first time and want to do it well."
SUCCESS = "Our weekly meeting runs itself and I delegate without worrying."


@pytest.fixture
def p(make_member, topics, auth):
    t = topics
    people = SimpleNamespace(
        cora=make_member(name="Cora Coordinator", email="cora@example.org", role=User.COORDINATOR,
                         offers=[t["Python"]], time_zone="UTC"),
        mona=make_member(name="Mona Mentor", email="mona@example.org", offers=[t["Leadership"], t["Python"]],
                         capacity=1, organization="Acme"),
        mel=make_member(name="Mel Mentee", email="mel@example.org", seeks=[t["Leadership"]], organization="Acme"),
        otto=make_member(name="Otto Other", email="otto@example.org", seeks=[t["Python"]]),
        max=make_member(name="Max Mentor", email="max@example.org", offers=[t["Python"]], capacity=3),
        topics=t,
    )
    auth.login("cora@example.org")
    return people


def start(mentor, mentee, days_ago=10):
    return Mentorship.create(mentor=mentor, mentee=mentee, started_at=utcnow() - dt.timedelta(days=days_ago))


def held(pair, actor, days_ago, rating=None, visibility=Feedback.PARTNER, author=None):
    day = (utcnow() - dt.timedelta(days=days_ago)).date()
    meeting = mentorships.log_meeting(actor, pair, day, 60, notes="We talked.")
    if rating:
        Feedback.create(meeting=meeting, author=author or actor, rating=rating, visibility=visibility)
    return meeting


# --- the list -------------------------------------------------------------------------------------

def test_the_list_shows_each_pair_with_its_figures(client, p):
    pair = start(p.mona, p.mel, days_ago=20)
    held(pair, p.mona, 9, rating=5)
    held(pair, p.mel, 3, rating=4, author=p.mel, visibility=Feedback.COORDINATORS)
    pair.flagged_at = utcnow()
    pair.save()
    quiet = start(p.max, p.otto, days_ago=2)
    text = page_text(client.get("/coordinator/pairs"))
    last = (utcnow() - dt.timedelta(days=3)).date()
    began = (utcnow() - dt.timedelta(days=20))
    assert (f"Mona Mentor Mel Mentee Active {began:%d %b %Y} 2 {last:%d %b %Y} 4.5 (2 ratings) Not a good fit"
            in text)
    assert "Max Mentor Otto Other Active" in text and "0 None yet No rating No" in text
    html = client.get("/coordinator/pairs").get_data(as_text=True)
    assert f'href="/members/{p.mona.id}"' in html and f'href="/mentorships/{quiet.id}"' in html
    assert f'href="/coordinator/pairs/{quiet.id}/end"' in html


def test_filters_by_status_name_and_flag(client, p):
    active = start(p.mona, p.mel)
    ended = start(p.max, p.otto)
    Mentorship.update(status=Mentorship.ENDED, ended_at=utcnow()).where(Mentorship.id == ended.id).execute()
    flagged = start(p.max, p.mel)
    Mentorship.update(flagged_at=utcnow()).where(Mentorship.id == flagged.id).execute()

    def shown(query=""):
        html = client.get(f"/coordinator/pairs{query}").get_data(as_text=True)
        return {int(i) for i in re.findall(r'id="pair-(\d+)"', html)}

    assert shown() == {active.id, flagged.id}  # active by default
    assert shown("?status=ended") == {ended.id}
    assert shown("?status=all") == {active.id, ended.id, flagged.id}
    assert shown("?status=all&q=otto") == {ended.id}
    assert shown("?status=all&q=MAX@example") == {ended.id, flagged.id}
    assert shown("?flagged=1") == {flagged.id}
    assert shown("?status=nonsense") == {active.id, flagged.id}
    assert "No pair matches these filters." in page_text(client.get("/coordinator/pairs?q=nobody"))


def test_a_coordinators_own_pair_shows_what_its_partner_sees(client, p):
    """No flag, and not the other partner's coordinators-only rating (pair_page's rule)."""
    own = start(p.cora, p.otto)
    held(own, p.cora, 4, rating=5)
    held(own, p.otto, 2, rating=1, author=p.otto, visibility=Feedback.COORDINATORS)
    Mentorship.update(flagged_at=utcnow()).where(Mentorship.id == own.id).execute()
    text = page_text(client.get("/coordinator/pairs"))
    assert "5.0 (1 rating) No" in text and "Not a good fit" not in text
    assert 'id="pair-' not in client.get("/coordinator/pairs?flagged=1").get_data(as_text=True)


def test_pages_and_a_constant_number_of_queries(client, p, make_member, count_queries):
    mentors = [make_member(offers=[p.topics["Python"]], capacity=50) for _ in range(3)]
    mentees = [make_member(seeks=[p.topics["Python"]]) for _ in range(4)]

    def add(n):
        for i in range(n):
            pair = start(mentors[i % 3], mentees[i % 4], days_ago=i % 40)
            Meeting.create(mentorship=pair, status=Meeting.HELD, held_on=utcnow().date(), duration_minutes=30)

    add(10)
    with count_queries() as few:
        client.get("/coordinator/pairs")
    add(100)
    with count_queries() as many:
        response = client.get("/coordinator/pairs?page=2")
    assert len(many) == len(few)
    text = page_text(response)
    assert "110 pairs · page 2 of 3" in text and "Previous" in text and "Next" in text
    html = response.get_data(as_text=True)
    assert len(re.findall(r'id="pair-\d+"', html)) == pairing.PAGE_SIZE
    last = client.get("/coordinator/pairs?page=99").get_data(as_text=True)  # past the end: the last page
    assert len(re.findall(r'id="pair-\d+"', last)) == 10


def test_htmx_filtering_answers_the_list_only(client, p):
    start(p.mona, p.mel)
    response = client.get("/coordinator/pairs?q=mel", headers={"HX-Request": "true", "HX-Target": "pairs"})
    html = response.get_data(as_text=True)
    assert "Mel Mentee" in html and "<h1>" not in html and "1 pair" in html


def test_members_may_not_see_the_pairs(client, p, auth):
    auth.logout()
    auth.login("mel@example.org")
    for url in ("/coordinator/pairs", "/coordinator/pairs/new", f"/coordinator/pairs/{start(p.mona, p.mel).id}/end"):
        assert client.get(url).status_code == 403
    assert client.post("/coordinator/pairs/new", data={"mentor": p.max.id, "mentee": p.otto.id}).status_code == 403
    assert Mentorship.select().where(Mentorship.mentor == p.max.id).count() == 0


# --- admin match ----------------------------------------------------------------------------------

def test_searching_each_side_lists_a_few_members_to_choose(client, p):
    response = client.get("/coordinator/pairs/new?mentor_q=m&mentee_q=otto")
    html, text = response.get_data(as_text=True), page_text(response)
    # Mentors: members who offer mentoring only (Mel and Otto do not), with their free places.
    assert "Choose Max Mentor max@example.org · 3 free places" in text
    assert "Choose Mona Mentor mona@example.org · 1 free place" in text
    assert "Choose Mel Mentee" not in text.split("Mentee Find")[0]
    assert f'href="/coordinator/pairs/new?mentee={p.otto.id}"' in html
    assert "No mentor who offers mentoring matches “zzz”" in page_text(client.get("/coordinator/pairs/new?mentor_q=zzz"))


def test_prefilled_pair_shows_the_score_reasons_and_hints(client, p):
    requests.send_request(p.mel, p.mona, [p.topics["Leadership"].id], HELP, SUCCESS, "video")
    text = page_text(client.get(f"/coordinator/pairs/new?mentor={p.mona.id}&mentee={p.mel.id}"))
    assert "Chosen: Mona Mentor (mona@example.org)" in text and "Chosen: Mel Mentee (mel@example.org)" in text
    assert "Mona Mentor mentors Mel Mentee" in text
    match = pairing.preview(p.mona, p.mel).match
    assert match.reasons and f"Score {match.score}: {' · '.join(match.reasons)}" in text
    assert "Same organization: both work at Acme." in text
    assert "Mel Mentee’s open request between them is closed as accepted" in text
    assert "Match Mona Mentor with Mel Mentee" in text


def test_matching_starts_the_pair_closes_the_request_tells_both_and_is_audited(client, p, mailbox):
    req = requests.send_request(p.mel, p.mona, [p.topics["Leadership"].id], HELP, SUCCESS, "video")
    response = client.post("/coordinator/pairs/new", data={"mentor": p.mona.id, "mentee": p.mel.id})
    pair = Mentorship.get((Mentorship.mentor == p.mona.id) & (Mentorship.mentee == p.mel.id))
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/mentorships/{pair.id}")
    assert pair.status == Mentorship.ACTIVE and pair.created_by_id == p.cora.id
    req = ConnectionRequest.get_by_id(req.id)
    assert req.status == ConnectionRequest.ACCEPTED and req.mentorship_id == pair.id and req.closed_at
    rows = {n.recipient_id: n for n in N.select().where(N.kind == kinds.PAIR_MATCHED)}
    assert set(rows) == {p.mona.id, p.mel.id}
    assert rows[p.mel.id].subject == "Cora Coordinator paired you with Mona Mentor"
    assert delivery.deliver(rows[p.mel.id].id) == N.SENT
    mail = mailbox.text(mailbox.last_to("mel@example.org"))
    assert "paired you with Mona Mentor: Mona Mentor is your mentor" in mail
    assert f"http://portal.test/mentorships/{pair.id}" in mail
    actions = {(e.action, e.target) for e in AuditEvent.select().where(AuditEvent.actor == p.cora.id)}
    assert {("mentorship.matched", f"mentorship:{pair.id}"), ("request.accepted", f"request:{req.id}")} <= actions
    assert "Mona Mentor now mentors Mel Mentee: both are told." in page_text(client.get(response.headers["Location"]))


@pytest.mark.parametrize("who, message, field", [
    (lambda p: (p.mona, p.mona), "Mona Mentor cannot mentor themselves: choose two different members.", "mentee"),
    (lambda p: (p.cora, p.otto), "You cannot match yourself: another coordinator makes a pair you are part of.",
     "mentor"),
    (lambda p: (p.mel, p.otto), "Mel Mentee does not offer mentoring: choose a mentor who does.", "mentor"),
    (lambda p: (None, p.otto), "Choose a mentor.", "mentor"),
    (lambda p: (p.max, None), "Choose a mentee.", "mentee"),
])
def test_pairs_the_rules_refuse_say_why(client, p, who, message, field):
    mentor, mentee = who(p)
    data = {"mentor": mentor.id if mentor else "", "mentee": mentee.id if mentee else ""}
    response = client.post("/coordinator/pairs/new", data=data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'<small id="{field}-error" class="error">{message}</small>' in html.replace("&#39;", "'")
    assert Mentorship.select().count() == 0
    with pytest.raises(CoordinatorError, match=re.escape(message)):
        pairing.match(p.cora, mentor, mentee)


def test_no_second_active_pair_and_no_deactivated_member(client, p):
    start(p.max, p.otto)
    assert "Max Mentor and Otto Other already have an active mentorship." in page_text(
        client.post("/coordinator/pairs/new", data={"mentor": p.max.id, "mentee": p.otto.id}))
    User.update(active=False).where(User.id == p.mel.id).execute()
    assert "Mel Mentee is deactivated: reactivate them first." in page_text(
        client.post("/coordinator/pairs/new", data={"mentor": p.max.id, "mentee": p.mel.id}))
    assert Mentorship.select().count() == 1


def test_a_full_mentor_needs_the_explicit_override(client, p):
    start(p.mona, p.otto)  # Mona's one place is taken
    page = client.get(f"/coordinator/pairs/new?mentor={p.mona.id}&mentee={p.mel.id}")
    assert "Mona Mentor is at capacity: 1 of 1 mentee place taken." in page_text(page)
    assert 'name="over_capacity"' in page.get_data(as_text=True)
    refused = client.post("/coordinator/pairs/new", data={"mentor": p.mona.id, "mentee": p.mel.id})
    assert ("Mona Mentor is at capacity: 1 of 1 mentee place taken. Tick “Match anyway” to go over it."
            in page_text(refused))
    assert 'aria-describedby="over_capacity-error"' in refused.get_data(as_text=True)
    assert Mentorship.select().where(Mentorship.mentee == p.mel.id).count() == 0
    done = client.post("/coordinator/pairs/new", data={"mentor": p.mona.id, "mentee": p.mel.id,
                                                       "over_capacity": "y"})
    assert done.status_code == 303
    assert Mentorship.select().where((Mentorship.mentor == p.mona.id) & (Mentorship.status == "active")).count() == 2
    event = AuditEvent.get(AuditEvent.action == "mentorship.matched")
    assert event.detail.endswith("over capacity (2 of 1)")


def test_only_coordinators_match(p):
    with pytest.raises(CoordinatorError, match="Only coordinators"):
        pairing.match(p.max, p.max, p.otto)


# --- ending a pair --------------------------------------------------------------------------------

def test_a_coordinator_ends_a_pair_with_a_reason_and_a_note(client, p, mailbox, auth):
    pair = start(p.mona, p.mel)
    soon = (utcnow() + dt.timedelta(days=5)).date()
    meeting = mentorships.schedule_meeting(p.mel, pair, soon, dt.time(10), 60, "video", "https://meet.example.org/x")
    response = client.post(f"/coordinator/pairs/{pair.id}/end",
                           data={"reason": "no_longer_able", "note": "Mona moves to another program."})
    assert response.status_code == 303 and response.headers["Location"].endswith("/coordinator/pairs")
    pair = Mentorship.get_by_id(pair.id)
    assert (pair.status, pair.ended_by_id, pair.end_reason, pair.end_note) == (
        Mentorship.ENDED, p.cora.id, "no_longer_able", "Mona moves to another program.")
    assert Meeting.get_by_id(meeting.id).status == Meeting.CANCELLED
    cancelled = {n.recipient_id for n in N.select().where(N.kind == kinds.MEETING_CANCELLED)}
    assert cancelled == {p.mona.id, p.mel.id}
    ended = {n.recipient_id: n for n in N.select().where(N.kind == kinds.MENTORSHIP_ENDED)}
    assert set(ended) == {p.mona.id, p.mel.id}
    assert ended[p.mona.id].subject == "Cora Coordinator, a coordinator, ended your mentorship with Mel Mentee"
    assert delivery.deliver(ended[p.mona.id].id) == N.SENT
    mail = mailbox.text(mailbox.last_to("mona@example.org"))
    assert ("Cora Coordinator, a coordinator, ended your mentorship with Mel Mentee (no longer able to continue): "
            "“Mona moves to another program.”") in mail
    event = AuditEvent.get(AuditEvent.action == "mentorship.ended")
    assert event.actor_id == p.cora.id and event.detail == ("no_longer_able (by a coordinator): "
                                                            "Mona moves to another program.")
    assert pairing.match(p.cora, p.mona, p.otto).status == Mentorship.ACTIVE  # Mona's one place is free again
    # The partners read who ended it, and the note, on their pair's page.
    auth.logout()
    auth.login("mel@example.org")
    text = page_text(client.get(f"/mentorships/{pair.id}"))
    assert "Cora Coordinator ended it on" in text
    assert "The note of Cora Coordinator, a coordinator: Mona moves to another program." in text


def test_ending_needs_a_reason_and_a_note_and_keeps_what_was_typed(client, p):
    pair = start(p.mona, p.mel)
    response = client.post(f"/coordinator/pairs/{pair.id}/end", data={"reason": "", "note": "Half a thought"})
    assert response.status_code == 200
    assert "Choose why the mentorship ends." in page_text(response)
    assert "Half a thought</textarea>" in response.get_data(as_text=True)
    response = client.post(f"/coordinator/pairs/{pair.id}/end", data={"reason": "other", "note": "  "})
    assert "Say in a few words why you end this pair: both partners read it." in page_text(response)
    assert Mentorship.get_by_id(pair.id).status == Mentorship.ACTIVE
    assert N.select().where(N.kind == kinds.MENTORSHIP_ENDED).count() == 0


def test_ending_an_ended_pair_or_ones_own_pair_is_refused(client, p):
    pair = start(p.mona, p.mel)
    mentorships.end_mentorship(p.mel, pair, "goals_met")
    assert "This pair has already ended (Goals met)." in page_text(client.get(f"/coordinator/pairs/{pair.id}/end"))
    response = client.post(f"/coordinator/pairs/{pair.id}/end", data={"reason": "other", "note": "Again"})
    assert "This pair has already ended (Goals met)." in page_text(response)
    assert Mentorship.get_by_id(pair.id).end_reason == "goals_met"
    with pytest.raises(mentorships.MentorshipError, match="This mentorship has already ended."):
        pairing.end(p.cora, pair, "other", "Again")
    own = start(p.cora, p.otto)
    assert "This is your own pair" in page_text(client.get(f"/coordinator/pairs/{own.id}/end"))
    response = client.post(f"/coordinator/pairs/{own.id}/end", data={"reason": "other", "note": "Mine"})
    assert "This is your own pair" in page_text(response)
    with pytest.raises(CoordinatorError, match="This is your own pair: end it from your pair’s page, as its partner."):
        pairing.end(p.cora, own, "other", "Mine")
    assert Mentorship.get_by_id(own.id).status == Mentorship.ACTIVE
    assert client.get("/coordinator/pairs/999999/end").status_code == 404


def test_the_pair_page_offers_coordinators_the_end_and_partners_not(client, p, auth):
    pair = start(p.mona, p.mel)
    link = f'href="/coordinator/pairs/{pair.id}/end"'
    assert link in client.get(f"/mentorships/{pair.id}").get_data(as_text=True)
    auth.logout()
    auth.login("mel@example.org")
    assert link not in client.get(f"/mentorships/{pair.id}").get_data(as_text=True)
