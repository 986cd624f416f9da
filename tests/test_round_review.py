"""Issue 8, review and publish: the cohort of a round, the matcher's runs around locked and forbidden pairs,
swaps, the weights' preview, the fairness figures, publishing (all or nothing), and the review page."""
import datetime as dt
import json

import pytest

from portal import matching
from portal.models import (
    AuditEvent,
    ConnectionRequest,
    Mentorship,
    Notification,
    ProfileTopic,
    Round,
    RoundEntry,
    RoundEntryTopic,
    RoundExclusion,
    RoundForbidden,
    RoundPreference,
    RoundProposal,
    User,
    utcnow,
)
from portal.notifications import delivery
from portal.rounds import review

START = dt.date.today() + dt.timedelta(days=20)


@pytest.fixture
def coordinator(make_member):
    return make_member(name="Cora Coordinator", email="cora@example.org", role=User.COORDINATOR)


@pytest.fixture
def new_round(db):
    def make(status=Round.MATCHING, name="Spring 2027", weights=None):
        today = dt.date.today()
        return Round.create(name=name, opens_on=today - dt.timedelta(days=10), closes_on=today - dt.timedelta(days=1),
                            starts_on=START, length_weeks=12, status=status, weights=json.dumps(weights or {}))
    return make


def join(r, user, capacity=0, offers=(), seeks=(), preferred=(), avoid=()):
    """``user`` opts in to ``r``: as mentor when ``capacity``, as mentee when ``seeks``."""
    entry = RoundEntry.create(round=r, user=user, as_mentor=capacity > 0, capacity=capacity, as_mentee=bool(seeks),
                              confirmed_at=utcnow())
    for kind, topics in ((ProfileTopic.OFFERS, offers), (ProfileTopic.SEEKS, seeks)):
        for t in topics:
            RoundEntryTopic.create(entry=entry, topic=t, kind=kind)
    for rank, mentor in enumerate(preferred, 1):
        RoundPreference.create(entry=entry, mentor=mentor, rank=rank)
    for other in avoid:
        RoundExclusion.create(entry=entry, other=other)
    return entry


def pairs_of(r):
    return {(p.mentee_id, p.mentor_id) for p in RoundProposal.select().where(RoundProposal.round == r.id)}


def proposal(r, mentee):
    return RoundProposal.get((RoundProposal.round == r.id) & (RoundProposal.mentee == mentee.id))


# --- the cohort ------------------------------------------------------------------------------------

def test_the_cohort_holds_the_round_entries_with_topics_preferences_and_exclusions(
        new_round, make_member, topics, count_queries):
    t = topics
    r = new_round()
    mona = make_member(name="Mona", offers=[t["Python"]], languages=("en", "de"), job_level="senior",
                       time_zone="Europe/Berlin")
    max_ = make_member(name="Max", offers=[t["Leadership"]])
    mel = make_member(name="Mel", seeks=[t["Python"]], time_zone="America/New_York", languages=("en",))
    gone = make_member(name="Gone", seeks=[t["Python"]])
    join(r, mona, capacity=2, offers=[t["Python"], t["Negotiation"]])
    join(r, max_, capacity=1, offers=[t["Leadership"]], seeks=[t["Python"]], avoid=[mel])
    join(r, mel, seeks=[t["Python"], t["Career change"]], preferred=[max_, mona], avoid=[gone])
    join(r, gone, seeks=[t["Python"]])
    gone.active = False
    gone.save()
    Mentorship.create(mentor=mona, mentee=max_)
    Mentorship.create(mentor=mona, mentee=mel, status=Mentorship.ENDED)  # an ended pair may pair again

    with count_queries() as queries:
        c = review.cohort(r)
    assert len(queries) <= 8

    assert set(c.mentors) == {mona.id, max_.id} and set(c.mentees) == {max_.id, mel.id}  # not the deactivated one
    assert c.mentors[mona.id].capacity == 2
    assert c.mentors[mona.id].candidate.topic_ids == {t["Python"].id, t["Negotiation"].id}  # the round's, not profile's
    assert c.mentors[mona.id].candidate.languages == {"en", "de"}
    assert c.mentors[mona.id].candidate.level == "senior"
    mel_entry = c.mentees[mel.id]
    assert mel_entry.seeker.topic_ids == {t["Python"].id, t["Career change"].id}
    assert mel_entry.seeker.time_zone == "America/New_York"
    assert mel_entry.preferred == (max_.id, mona.id)  # by rank
    assert mel_entry.avoid == {gone.id}
    assert c.mentors[max_.id].avoid == {mel.id} and c.mentees[max_.id].avoid == {mel.id}
    assert c.existing == {(max_.id, mona.id), (mona.id, max_.id)}


def test_the_cohort_takes_the_same_queries_for_more_entrants(new_round, make_member, topics, count_queries):
    def measure(n):
        r = new_round(name=f"Round of {n}")
        for i in range(n):
            join(r, make_member(offers=[topics["Python"]]), capacity=1, offers=[topics["Python"]],
                 avoid=[make_member()])
            join(r, make_member(seeks=[topics["Python"]]), seeks=[topics["Python"]])
        with count_queries() as queries:
            review.cohort(r)
        return len(queries)

    assert measure(1) == measure(5)


# --- running the matcher ------------------------------------------------------------------------------

@pytest.fixture
def two_by_two(new_round, make_member, topics, coordinator):
    """Mel fits Mona best and Otto fits Max best; each mentor has one place."""
    t = topics
    r = new_round()
    mona = make_member(name="Mona Mentor", offers=[t["Python"]])
    max_ = make_member(name="Max Mentor", offers=[t["Leadership"]])
    mel = make_member(name="Mel Mentee", seeks=[t["Python"]])
    otto = make_member(name="Otto Mentee", seeks=[t["Leadership"]])
    join(r, mona, capacity=1, offers=[t["Python"]])
    join(r, max_, capacity=1, offers=[t["Leadership"]])
    join(r, mel, seeks=[t["Python"]])
    join(r, otto, seeks=[t["Leadership"]])
    return r, mona, max_, mel, otto


def test_run_proposes_the_best_pairs_and_keeps_locked_ones(two_by_two, coordinator):
    r, mona, max_, mel, otto = two_by_two
    result = review.run(coordinator, r)
    assert pairs_of(r) == {(mel.id, mona.id), (otto.id, max_.id)}
    assert result.unmatched == {}
    stored = proposal(r, mel)
    assert (stored.score, tuple(json.loads(stored.reasons))) == matching.pair_score(
        review.cohort(r).mentees[mel.id], review.cohort(r).mentors[mona.id])

    # The coordinator keeps Mel with Max (swapped, then locked): the next run pairs Otto around it.
    review.swap(coordinator, r, proposal(r, mel), proposal(r, otto))
    review.set_locked(coordinator, r, proposal(r, mel), True)
    review.run(coordinator, r)
    assert pairs_of(r) == {(mel.id, max_.id), (otto.id, mona.id)}
    assert proposal(r, mel).locked and not proposal(r, otto).locked
    assert AuditEvent.select().where(AuditEvent.action == "round.matched").count() == 2


def test_a_forbidden_pair_is_never_proposed_again(two_by_two, coordinator, client, auth):
    r, mona, max_, mel, otto = two_by_two
    review.run(coordinator, r)
    review.set_locked(coordinator, r, proposal(r, otto), True)
    review.forbid(coordinator, r, proposal(r, mel))
    assert (mel.id, mona.id) in set(RoundForbidden.select(RoundForbidden.mentee, RoundForbidden.mentor).tuples())
    assert pairs_of(r) == {(otto.id, max_.id)}
    review.run(coordinator, r)
    assert pairs_of(r) == {(otto.id, max_.id)}  # Mona is forbidden for Mel, Max's place is Otto's (locked)
    assert review.why_unmatched(review.cohort(r), pairs_of(r)) == {
        mel.id: "every mentor who could be paired with you had all their places taken by other pairs"}

    with pytest.raises(review.ReviewError, match="is locked: unlock it before you rule it out"):
        review.forbid(coordinator, r, proposal(r, otto))


def test_run_only_while_matching_and_only_by_coordinators(new_round, coordinator, make_member):
    r = new_round(status=Round.OPEN)
    with pytest.raises(review.ReviewError, match="Sign-ups are still open"):
        review.run(coordinator, r)
    r.status = Round.MATCHING
    with pytest.raises(review.ReviewError, match="Only coordinators"):
        review.run(make_member(), r)


def test_unmatched_reasons_say_why(new_round, make_member, topics, coordinator):
    t = topics
    r = new_round()
    mona = make_member(name="Mona", offers=[t["Python"]], languages=("de",))
    fr = make_member(name="Francine", seeks=[t["Python"]], languages=("fr",))
    join(r, mona, capacity=1, offers=[t["Python"]])
    join(r, fr, seeks=[t["Python"]])
    result = review.run(coordinator, r)
    assert pairs_of(r) == set() and fr.id in result.unmatched
    assert review.why_unmatched(review.cohort(r), set()) == {
        fr.id: "no mentor in this round shares a language with you"}


# --- swaps -----------------------------------------------------------------------------------------

def test_a_swap_exchanges_the_mentees_and_rescores(two_by_two, coordinator):
    r, mona, max_, mel, otto = two_by_two
    review.run(coordinator, r)
    review.swap(coordinator, r, proposal(r, mel), proposal(r, otto))
    assert pairs_of(r) == {(mel.id, max_.id), (otto.id, mona.id)}
    c = review.cohort(r)
    swapped = proposal(r, mel)
    assert (swapped.score, tuple(json.loads(swapped.reasons))) == matching.pair_score(c.mentees[mel.id],
                                                                                      c.mentors[max_.id])
    assert AuditEvent.select().where(AuditEvent.action == "round.pairs_swapped").count() == 1


def test_a_swap_is_refused_for_locked_pairs_and_for_pairs_the_rules_forbid(new_round, make_member, topics,
                                                                            coordinator):
    t = topics
    r = new_round()
    mona = make_member(name="Mona", offers=[t["Python"]], languages=("de",))
    max_ = make_member(name="Max", offers=[t["Python"]], languages=("en",))
    greta = make_member(name="Greta", seeks=[t["Python"]], languages=("de",))
    ed = make_member(name="Ed", seeks=[t["Python"]], languages=("en",))
    for mentor in (mona, max_):
        join(r, mentor, capacity=1, offers=[t["Python"]])
    for mentee in (greta, ed):
        join(r, mentee, seeks=[t["Python"]])
    review.run(coordinator, r)
    before = pairs_of(r)
    assert before == {(greta.id, mona.id), (ed.id, max_.id)}
    with pytest.raises(review.ReviewError, match="Max cannot mentor Greta: they share no language. Nothing"):
        review.swap(coordinator, r, proposal(r, greta), proposal(r, ed))
    review.set_locked(coordinator, r, proposal(r, ed), True)
    with pytest.raises(review.ReviewError, match="The pair of Max and Ed is locked: unlock it to swap it."):
        review.swap(coordinator, r, proposal(r, greta), proposal(r, ed))
    assert pairs_of(r) == before


# --- weights -------------------------------------------------------------------------------------------

def test_the_weights_preview_shows_the_changes_and_stores_nothing(new_round, make_member, topics, coordinator):
    t = topics
    r = new_round(weights={"preference": 0})
    mona = make_member(name="Mona", offers=[t["Python"], t["Leadership"]])
    max_ = make_member(name="Max", offers=[t["Negotiation"]])
    mel = make_member(name="Mel", seeks=[t["Python"], t["Leadership"]])
    join(r, mona, capacity=1, offers=[t["Python"], t["Leadership"]])
    join(r, max_, capacity=1, offers=[t["Negotiation"]])
    join(r, mel, seeks=[t["Python"], t["Leadership"]], preferred=[max_])
    review.run(coordinator, r)
    assert pairs_of(r) == {(mel.id, mona.id)}  # preferences count for nothing: the topics win
    stored = list(RoundProposal.select().tuples())

    preview = review.preview_weights(r, matching.Weights(preference=10))
    assert [(ch.mentee, ch.before, ch.after) for ch in preview.changes] == [("Mel", "Mona", "Max")]
    assert (preview.matched_before, preview.matched_after) == (1, 1)
    assert preview.total_before == proposal(r, mel).score
    c = review.cohort(r)
    assert preview.total_after == matching.pair_score(c.mentees[mel.id], c.mentors[max_.id],
                                                      matching.Weights(preference=10))[0]
    assert list(RoundProposal.select().tuples()) == stored
    assert json.loads(Round.get_by_id(r.id).weights) == {"preference": 0}

    review.save_weights(coordinator, r, matching.Weights(preference=10))
    assert pairs_of(r) == {(mel.id, max_.id)}
    assert proposal(r, mel).preferred_rank == 1
    assert json.loads(Round.get_by_id(r.id).weights)["preference"] == 10


# --- fairness ------------------------------------------------------------------------------------------

def test_fairness_figures_of_a_hand_made_round(new_round, make_member, coordinator):
    r = new_round()
    mentors = [make_member(name=f"Mentor {i}") for i in range(3)]
    mentees = [make_member(name=f"Mentee {i}") for i in range(5)]
    for mentor, capacity in zip(mentors, (2, 2, 1)):
        join(r, mentor, capacity=capacity)
    for i, mentee in enumerate(mentees):
        join(r, mentee, seeks=[], preferred=[mentors[0]] if i < 3 else [])
        RoundEntry.update(as_mentee=True).where(RoundEntry.user == mentee.id).execute()
    # Four pairs with scores 3, 5, 8 and 10 (ranks 1, -, 2, 1); Mentee 4 is left out; Mentor 2 has a place.
    for mentee, mentor, score, rank in ((0, 0, 3, 1), (1, 0, 5, None), (2, 1, 8, 2), (3, 1, 10, 1)):
        RoundProposal.create(round=r, mentee=mentees[mentee], mentor=mentors[mentor], score=score, preferred_rank=rank)

    f = review.fairness(r)
    assert (f.proposals, f.unmatched) == (4, 1)
    assert (f.lowest, f.median, f.highest, f.lowest_tenth) == (3, 6.5, 10, 3)
    assert f.by_rank == {1: 2, 2: 1, 3: 0}
    assert f.named_preferences == 3
    assert (f.free_places, f.mentors_with_free_places) == (1, 1)


# --- publishing ----------------------------------------------------------------------------------------

@pytest.fixture
def ready(new_round, make_member, topics, coordinator):
    """A round with three proposed pairs (Mona mentors two), and Una, a mentee no mentor can take."""
    t = topics
    r = new_round()
    mona = make_member(name="Mona Mentor", email="mona@example.org", offers=[t["Python"]])
    max_ = make_member(name="Max Mentor", email="max@example.org", offers=[t["Leadership"]])
    mel = make_member(name="Mel Mentee", email="mel@example.org", seeks=[t["Python"]])
    otto = make_member(name="Otto Mentee", email="otto@example.org", seeks=[t["Leadership"]])
    pia = make_member(name="Pia Mentee", email="pia@example.org", seeks=[t["Python"]])
    una = make_member(name="Una Unmatched", email="una@example.org", seeks=[t["Python"]], languages=("fi",))
    join(r, mona, capacity=2, offers=[t["Python"]])
    join(r, max_, capacity=1, offers=[t["Leadership"]])
    for mentee in (mel, otto, pia, una):
        join(r, mentee, seeks=[t["Python"] if mentee != otto else t["Leadership"]])
    review.run(coordinator, r)
    assert pairs_of(r) == {(mel.id, mona.id), (pia.id, mona.id), (otto.id, max_.id)}
    return r, mona, max_, mel, otto, pia, una


def test_publish_creates_exactly_the_pairs_and_tells_everyone(ready, coordinator, mailbox):
    r, mona, max_, mel, otto, pia, una = ready
    asked = ConnectionRequest.create(requester=mel, mentee=mel, mentor=mona, help_wanted="x" * 30,
                                     success_looks_like="y" * 30, status=ConnectionRequest.PENDING_MENTOR)
    assert review.publish(coordinator, r) == 3

    made = list(Mentorship.select().where(Mentorship.round == r.id))
    assert {(m.mentee_id, m.mentor_id) for m in made} == {(mel.id, mona.id), (pia.id, mona.id), (otto.id, max_.id)}
    assert {m.started_at for m in made} == {dt.datetime.combine(START, dt.time(0))}  # the morning of the start day
    assert Mentorship.select().count() == 3
    asked = ConnectionRequest.get_by_id(asked.id)
    assert asked.status == ConnectionRequest.ACCEPTED and asked.mentorship_id in {m.id for m in made}
    r = Round.get_by_id(r.id)
    assert r.status == Round.PUBLISHED and r.published_at is not None

    news = {n.recipient_id: n for n in Notification.select().where(Notification.kind == "round_published")}
    assert set(news) == {mona.id, max_.id, mel.id, otto.id, pia.id, una.id}
    assert len(json.loads(news[mona.id].body)["mentorship_ids"]) == 2
    assert json.loads(news[una.id].body)["reason"] == "no mentor in this round shares a language with you"
    for person in (mona, mel, una):
        assert delivery.deliver(news[person.id].id) == Notification.SENT
    assert "Mel Mentee" in mailbox.text(mailbox.last_to("mona@example.org"))
    assert "Mona Mentor" in mailbox.text(mailbox.last_to("mel@example.org"))
    assert "no mentor in this round shares a language with you" in mailbox.text(mailbox.last_to("una@example.org"))
    assert AuditEvent.select().where(AuditEvent.action == "round.published").count() == 1

    with pytest.raises(review.ReviewError, match="This round is published"):
        review.publish(coordinator, r)


def test_a_round_whose_start_day_has_passed_starts_now(ready, coordinator):
    r = ready[0]
    r.starts_on = dt.date.today() - dt.timedelta(days=3)
    r.save()
    now = utcnow()
    review.publish(coordinator, r, now=now)
    assert {m.started_at for m in Mentorship.select()} == {now}


def test_publish_is_all_or_nothing_when_it_fails_midway(ready, coordinator, monkeypatch):
    r = ready[0]
    real = Mentorship.create
    made = []

    def third_fails(**fields):
        if len(made) == 2:
            raise RuntimeError("the database went away")
        made.append(real(**fields))
        return made[-1]

    monkeypatch.setattr(Mentorship, "create", third_fails)
    with pytest.raises(RuntimeError):
        review.publish(coordinator, r)
    assert len(made) == 2  # two were written inside the transaction, then rolled back
    assert Mentorship.select().count() == 0
    assert Notification.select().where(Notification.kind == "round_published").count() == 0
    assert Round.get_by_id(r.id).status == Round.MATCHING
    assert AuditEvent.select().where(AuditEvent.action == "round.published").count() == 0
    assert RoundProposal.select().where(RoundProposal.round == r.id).count() == 3


@pytest.mark.parametrize("change, message", [
    ("deactivated", "The pair of Mona Mentor and Pia Mentee can no longer be made: one of them has left the round"),
    ("paired", "The pair of Mona Mentor and Pia Mentee can no longer be made: they already have an active mentorship"),
    ("excluded", "The pair of Mona Mentor and Pia Mentee can no longer be made: one of them asked never"),
])
def test_publish_is_refused_when_a_pair_became_invalid(ready, coordinator, change, message):
    r, mona, max_, mel, otto, pia, una = ready
    if change == "deactivated":
        User.update(active=False).where(User.id == pia.id).execute()
    elif change == "paired":
        Mentorship.create(mentor=mona, mentee=pia)
    else:
        RoundExclusion.create(entry=RoundEntry.get(RoundEntry.user == pia.id), other=mona)
    with pytest.raises(review.ReviewError, match=message) as refused:
        review.publish(coordinator, r)
    assert "Nothing was published" in refused.value.message
    assert Mentorship.select().where(Mentorship.round == r.id).count() == 0
    assert Notification.select().where(Notification.kind == "round_published").count() == 0
    assert Round.get_by_id(r.id).status == Round.MATCHING


def test_publish_is_refused_over_a_mentors_round_capacity(ready, coordinator):
    r, mona = ready[0], ready[1]
    RoundEntry.update(capacity=1).where(RoundEntry.user == mona.id).execute()
    with pytest.raises(review.ReviewError, match="Mona Mentor has 1 place in this round but 2 mentees"):
        review.publish(coordinator, r)
    assert Mentorship.select().count() == 0


# --- the page and its actions ---------------------------------------------------------------------------

def url(r, tail=""):
    return f"/coordinator/rounds/{r.id}/{tail or 'proposals'}"


def test_the_page_shows_proposals_fairness_and_the_unmatched(ready, coordinator, client, auth):
    r, mona, max_, mel, otto, pia, una = ready
    auth.login("cora@example.org")
    page = client.get(url(r)).get_data(as_text=True)
    assert "Proposals: Spring 2027" in page
    for name in ("Mona Mentor", "Max Mentor", "Mel Mentee", "Otto Mentee", "Pia Mentee"):
        assert name in page
    assert "Una Unmatched</td><td>No mentor in this round shares a language with you." in page
    assert "<dt>Pairs proposed</dt><dd>3</dd>" in page
    assert "Publish 3 pairs…" in page


def test_the_page_takes_the_same_queries_for_more_pairs(new_round, make_member, topics, coordinator, client, auth,
                                                        count_queries):
    auth.login("cora@example.org")

    def measure(n):
        r = new_round(name=f"Round of {n}")
        for i in range(n):
            join(r, make_member(offers=[topics["Python"]]), capacity=1, offers=[topics["Python"]])
            join(r, make_member(seeks=[topics["Python"]]), seeks=[topics["Python"]])
        join(r, make_member(seeks=[topics["Python"]]), seeks=[topics["Python"]])  # one left over
        review.run(coordinator, r)
        with count_queries() as queries:
            assert client.get(url(r)).status_code == 200
        return len(queries)

    assert measure(2) == measure(6)


def test_the_page_says_when_the_round_is_not_matching_yet(new_round, coordinator, client, auth):
    r = new_round(status=Round.OPEN)
    auth.login("cora@example.org")
    page = client.get(url(r)).get_data(as_text=True)
    assert "Sign-ups are still open" in page and "Run the matcher" not in page
    response = client.post(url(r, "run"))
    assert response.status_code == 303
    assert "Sign-ups are still open" in client.get(response.location).get_data(as_text=True)


def test_members_get_403_and_unknown_rounds_404(ready, coordinator, client, auth):
    r, mel = ready[0], ready[3]
    auth.login("mel@example.org")
    assert client.get(url(r)).status_code == 403
    assert client.post(url(r, "publish")).status_code == 403
    auth.logout()
    auth.login("cora@example.org")
    assert client.get("/coordinator/rounds/999999/proposals").status_code == 404
    other = Round.create(name="Other", opens_on=START, closes_on=START, starts_on=START, length_weeks=8,
                         status=Round.MATCHING)
    assert client.post(f"/coordinator/rounds/{other.id}/proposals/{proposal(r, mel).id}/lock").status_code == 404


def test_lock_in_place_and_as_a_plain_form(ready, coordinator, client, auth):
    r, mel = ready[0], ready[3]
    p = proposal(r, mel)
    auth.login("cora@example.org")
    response = client.post(url(r, f"proposals/{p.id}/lock"),
                           headers={"HX-Request": "true", "HX-Target": f"proposal-{p.id}"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith(f'<tr id="proposal-{p.id}"')
    assert "Locked: this pair stays" in html and "Unlock" in html
    assert proposal(r, mel).locked
    response = client.post(url(r, f"proposals/{p.id}/unlock"))
    assert response.status_code == 303
    assert "Unlocked: the matcher may change this pair." in client.get(response.location).get_data(as_text=True)
    assert not proposal(r, mel).locked


def test_swap_forbid_and_publish_through_the_page(ready, coordinator, client, auth):
    r, mona, max_, mel, otto, pia, una = ready
    auth.login("cora@example.org")
    one = client.post(url(r, "swap"), data={"swap": [str(proposal(r, mel).id)]})
    assert "Select exactly two pairs" in client.get(one.location).get_data(as_text=True)
    response = client.post(url(r, "swap"), data={"swap": [str(proposal(r, mel).id), str(proposal(r, otto).id)]})
    assert response.status_code == 303
    assert "Swapped: " in client.get(response.location).get_data(as_text=True)
    assert (mel.id, max_.id) in pairs_of(r)

    client.post(url(r, f"proposals/{proposal(r, pia).id}/forbid"))
    assert pia.id not in {mentee for mentee, _ in pairs_of(r)}

    response = client.post(url(r, "publish"))
    assert response.status_code == 303
    assert "Published: 2 pairs start on" in client.get(response.location).get_data(as_text=True)
    assert Mentorship.select().where(Mentorship.round == r.id).count() == 2


def test_the_weights_form_previews_and_names_a_bad_field(ready, coordinator, client, auth):
    r = ready[0]
    auth.login("cora@example.org")
    fields = {"topics": "1", "seniority": "1", "overlap": "1", "organization": "1", "preference": "1"}
    bad = client.post(url(r, "weights"), data={**fields, "overlap": "12", "action": "preview"}).get_data(as_text=True)
    assert "Choose a weight for “Working-hours overlap” from 0 (ignore it) to 10." in bad
    assert 'value="12"' in bad
    stored = pairs_of(r)
    preview = client.post(url(r, "weights"), data={**fields, "topics": "0", "action": "preview"})
    assert "With these weights" in preview.get_data(as_text=True)
    assert pairs_of(r) == stored and Round.get_by_id(r.id).weights == "{}"
    saved = client.post(url(r, "weights"), data={**fields, "topics": "2", "action": "save"})
    assert saved.status_code == 303
    assert json.loads(Round.get_by_id(r.id).weights)["topics"] == 2


def test_a_weight_that_is_no_number_is_named_and_kept(ready, coordinator, client, auth):
    auth.login("cora@example.org")
    fields = {"topics": "lots", "seniority": "1", "overlap": "1", "organization": "1", "preference": "1"}
    page = client.post(url(ready[0], "weights"), data={**fields, "action": "save"}).get_data(as_text=True)
    assert "Choose a weight for “Shared topics” from 0 (ignore it) to 10." in page
    assert 'value="lots"' in page
    assert Round.get_by_id(ready[0].id).weights == "{}"


def test_a_locked_pair_that_can_no_longer_be_made_is_named(two_by_two, coordinator):
    r, mona, max_, mel, otto = two_by_two
    review.run(coordinator, r)
    review.set_locked(coordinator, r, proposal(r, mel), True)
    User.update(active=False).where(User.id == mel.id).execute()
    with pytest.raises(review.ReviewError, match="The locked pair of Mona Mentor and Mel Mentee cannot stay: one of "
                                                 "them has left the round or was deactivated. Unlock it"):
        review.run(coordinator, r)
    assert pairs_of(r) == {(mel.id, mona.id), (otto.id, max_.id)}  # nothing changed


def test_weights_the_matcher_refuses_are_not_kept(two_by_two, coordinator):
    """Saving weights and re-running is one transaction: a refused run leaves the old weights."""
    r, mona, max_, mel, otto = two_by_two
    review.run(coordinator, r)
    review.set_locked(coordinator, r, proposal(r, mel), True)
    User.update(active=False).where(User.id == mel.id).execute()
    with pytest.raises(review.ReviewError, match="The locked pair of Mona Mentor and Mel Mentee cannot stay"):
        review.save_weights(coordinator, r, matching.Weights(topics=5))
    assert Round.get_by_id(r.id).weights == "{}"
    assert not AuditEvent.select().where(AuditEvent.action == "round.weights_saved").exists()


def test_a_change_after_publication_is_refused_under_the_lock(two_by_two, coordinator):
    """The view read the round while matching; another coordinator published since: nothing changes."""
    r, mona, max_, mel, otto = two_by_two
    review.run(coordinator, r)
    Round.update(status=Round.PUBLISHED).where(Round.id == r.id).execute()  # r, as the view read it, says matching
    with pytest.raises(review.ReviewError, match="This round is published"):
        review.set_locked(coordinator, r, proposal(r, mel), True)
    assert not proposal(r, mel).locked
