"""The pairing-round matcher (portal/matching.py: propose, greedy, pair_score), without a database.

Hand-made cohorts with a known optimum (where the greedy baseline does worse), random small cohorts against a
brute-force optimum, random large ones against greedy, and hypothesis property tests of every hard rule.
"""
import datetime as dt
import itertools
import math
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal import matching
from portal.matching import (Candidate, MatchingError, MenteeEntry, MentorEntry, Seeker, Weights, greedy,
                             pair_score, propose)

WINTER = dt.date(2026, 1, 14)  # a Wednesday: Europe and North America on standard time
SUMMER = dt.date(2026, 7, 15)
NAMES = {1: "Leadership", 2: "Negotiation", 3: "Python", 4: "Public speaking", 5: "Fundraising"}
PROPERTIES = settings(max_examples=150, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow])


def mentee(id, topics=(1,), level="early", organization="Initech", zone="Europe/Berlin", languages=("en",),
           preferred=(), avoid=(), on=WINTER):
    return MenteeEntry(id=id, seeker=Seeker(level=level, organization=organization, time_zone=zone,
                                            topic_ids=frozenset(topics), languages=frozenset(languages), on=on,
                                            topic_names=NAMES),
                       preferred=tuple(preferred), avoid=frozenset(avoid))


def mentor(id, topics=(1,), capacity=1, level="senior", organization="Globex", zone="Europe/Berlin",
           languages=("en",), avoid=()):
    return MentorEntry(id=id, candidate=Candidate(level=level, organization=organization, time_zone=zone,
                                                  topic_ids=frozenset(topics), languages=frozenset(languages)),
                       capacity=capacity, avoid=frozenset(avoid))


def pairs(result):
    return {(p.mentee_id, p.mentor_id) for p in result.proposals}


# Every pair below scores 5 besides its topics: 2 levels more senior (2), same zone (10 h overlap: 2),
# different organization (1); each shared topic adds 3.

def test_the_optimum_pairs_everyone_where_greedy_strands_a_mentee():
    """Greedy gives Ana the best mentor (Xena, 14) and leaves Ben, who speaks only German, without one."""
    mentees = [mentee(1, topics={1, 2, 3}, languages={"en"}), mentee(2, topics={1, 2}, languages={"de"})]
    mentors = [mentor(10, topics={1, 2, 3}, languages={"en", "de"}), mentor(11, topics={1, 2}, languages={"en"})]
    best, base = propose(mentees, mentors), greedy(mentees, mentors)
    assert pairs(best) == {(1, 11), (2, 10)} and best.total == 11 + 11 and best.unmatched == {}
    assert pairs(base) == {(1, 10)} and base.total == 14
    assert base.unmatched == {2: "every eligible mentor's places are taken by better-scoring pairs"}


def test_the_optimum_beats_greedy_on_score_when_both_pair_everyone():
    """Greedy takes Ana–Xena (11) first, which costs Ben his only good mentor: 11 + 4 < 8 + 10."""
    mentees = [mentee(1, topics={1, 2}), mentee(2, topics={3, 4}, organization="Globex")]  # Ben: same org
    mentors = [mentor(10, topics={1, 2, 3, 4}), mentor(11, topics={1})]
    best, base = propose(mentees, mentors), greedy(mentees, mentors)
    assert pairs(best) == {(1, 11), (2, 10)} and best.total == 8 + 10
    assert pairs(base) == {(1, 10), (2, 11)} and base.total == 11 + 4
    proposal = {p.mentee_id: p for p in best.proposals}[2]
    assert proposal.reasons == ("2 of your 2 topics: Public speaking, Python", "2 levels more senior",
                                "10 h overlap in working hours", "speaks English")
    assert proposal.preferred_rank is None and not proposal.locked


def test_capacity_lets_one_mentor_take_several_mentees_and_reports_the_places_left():
    mentees = [mentee(1), mentee(2), mentee(3)]
    mentors = [mentor(10, capacity=2), mentor(11, capacity=3, topics={2})]
    result = propose(mentees, mentors)
    assert sum(1 for p in result.proposals if p.mentor_id == 10) == 2
    assert len(result.proposals) == 3 and result.mentors_with_free_places == {11: 2}
    assert [p.mentee_id for p in result.proposals] == [1, 2, 3]


def test_unmatched_mentees_are_told_why():
    mentees = [mentee(1, languages={"ja"}), mentee(2, languages={"de"}, avoid={11}), mentee(3), mentee(4)]
    mentors = [mentor(10, languages={"en"}), mentor(11, languages={"de", "en"})]
    result = propose(mentees, mentors, existing={(4, 10)}, forbidden={(4, 11)})
    assert result.unmatched == {
        1: "no mentor shares a language",
        2: "no eligible mentor: 1 shares no language, 1 on an avoid list",
        4: "no eligible mentor: 1 already paired with you, 1 ruled out by a coordinator",
    }
    assert pairs(result) == {(3, 10)} and result.mentors_with_free_places == {11: 1}
    assert propose([mentee(5)], [mentor(5)]).unmatched == {5: "no mentor in this round"}  # only themself
    assert propose([mentee(5)], [mentor(6, capacity=0)]).unmatched == {
        5: "no eligible mentor has a place in this round"}
    three = [mentor(6), mentor(7), mentor(8, languages={"de"}, avoid={5})]
    assert propose([mentee(5, languages={"de"})], three).unmatched == {
        5: "no eligible mentor: 2 share no language, 1 on an avoid list"}
    with pytest.raises(MatchingError, match="listed twice"):
        propose([mentee(1), mentee(1)], mentors)


def test_the_language_rule_holds_from_both_sides():
    """As when browsing: a pair needs a language in common, unless neither names one."""
    assert pair_score(mentee(1, languages=()), mentor(10, languages=())) is not None
    assert pair_score(mentee(1, languages=()), mentor(10, languages={"en"})) is None
    assert pair_score(mentee(1, languages={"en"}), mentor(10, languages=())) is None
    assert pair_score(mentee(1, languages={"en", "fr"}), mentor(10, languages={"fr"})) is not None


def test_avoid_lists_and_the_same_person_are_hard_rules():
    assert pair_score(mentee(1, avoid={10}), mentor(10)) is None
    assert pair_score(mentee(1), mentor(10, avoid={1})) is None
    assert pair_score(mentee(7), mentor(7)) is None
    result = propose([mentee(1), mentee(2, topics={2})], [mentor(10, capacity=2, avoid={1}), mentor(2)])
    assert pairs(result) == {(1, 2), (2, 10)}  # not 1 with 10, who avoids them, nor 2 with themself


def test_locked_pairs_stay_and_the_rest_is_matched_around_them():
    mentees = [mentee(1, topics={1, 2, 3}, languages={"en"}), mentee(2, topics={1, 2}, languages={"de"})]
    mentors = [mentor(10, topics={1, 2, 3}, languages={"en", "de"}), mentor(11, topics={1, 2}, languages={"en"})]
    result = propose(mentees, mentors, locked={(1, 10)})
    assert pairs(result) == {(1, 10)} and [p.locked for p in result.proposals] == [True]
    assert result.unmatched == {2: "every eligible mentor's places are taken by locked or better-scoring pairs"}
    assert pairs(propose(mentees, mentors, forbidden={(2, 10)})) == {(1, 10)}


@pytest.mark.parametrize("locked, message, pair", [
    ([(2, 11)], "Locked pair 2–11 cannot be paired: no language in common.", (2, 11)),
    ([(1, 10), (2, 10)], "Mentor 10 has 1 place(s): too few for the pairs locked to them.", (None, 10)),
    ([(1, 10), (1, 11)], "Mentee 1 is locked to more than one mentor.", (1, None)),
    ([(1, 99)], "Locked pair 1–99: both must take part in the round, one as mentee and the other as mentor.", (1, 99)),
])
def test_a_locked_pair_that_breaks_a_rule_is_refused_with_a_message(locked, message, pair):
    mentees = [mentee(1), mentee(2, languages={"de"})]
    mentors = [mentor(10, languages={"en", "de"}), mentor(11, languages={"en"})]
    for method in (propose, greedy):
        with pytest.raises(MatchingError) as error:
            method(mentees, mentors, locked=locked)
        assert str(error.value) == message
        assert (error.value.mentee_id, error.value.mentor_id) == pair
    with pytest.raises(MatchingError, match="ruled out by a coordinator"):
        propose(mentees, mentors, locked={(1, 10)}, forbidden={(1, 10)})


# --- weights and preferences ------------------------------------------------------------------------------------

def test_a_preferred_mentor_wins_once_preferences_weigh_enough():
    """Xena shares two topics (6), Yann one (3) but is Ana's 1st choice (3 points, at weight 1 a tie)."""
    mentees = [mentee(1, topics={1, 2}, preferred=(11,))]
    mentors = [mentor(10, topics={1, 2}), mentor(11, topics={1})]
    assert pairs(propose(mentees, mentors, weights=Weights(preference=0))) == {(1, 10)}
    result = propose(mentees, mentors, weights=Weights(preference=2))
    assert pairs(result) == {(1, 11)}
    proposal = result.proposals[0]
    assert proposal.preferred_rank == 1 and proposal.score == 3 + 5 + 2 * 3
    assert proposal.reasons[0] == "your 1st choice"  # the strongest reason, once weighted
    second = propose([mentee(1, topics={1, 2}, preferred=(11, 10))], mentors).proposals[0]
    assert second.preferred_rank == 2 and "your 2nd choice" in second.reasons and second.score == 6 + 5 + 2


def test_weights_change_which_part_of_the_score_decides():
    """Xena shares the topic but works eight hours away; Yann shares none but works in the same zone."""
    mentees = [mentee(1, topics={1})]
    mentors = [mentor(10, topics={1}, zone="America/Los_Angeles"), mentor(11, topics={2})]
    assert pairs(propose(mentees, mentors)) == {(1, 10)}  # 3 + 2 + 0 + 1 against 0 + 2 + 2 + 1
    assert pairs(propose(mentees, mentors, weights=Weights(topics=0.5, overlap=3))) == {(1, 11)}
    assert pairs(propose(mentees, mentors, weights=Weights(topics=0))) == {(1, 11)}


def test_weights_from_a_form_or_a_stored_round_are_read_tolerantly():
    data = {"topics": "2.5", "overlap": "lots", "seniority": -1, "organization": None, "preference": float("nan"),
            "colour": 3}
    assert Weights.from_dict(data) == Weights(topics=2.5)
    assert Weights.from_dict({"preference": 11}) == Weights() == Weights.from_dict(None)
    weights = Weights(topics=2, seniority=0, overlap=1.5, organization=0.5, preference=10)
    assert Weights.from_dict(weights.as_dict()) == weights
    assert set(weights.as_dict()) == {"topics", "seniority", "overlap", "organization", "preference"}


# --- random cohorts ----------------------------------------------------------------------------------------------

ZONES = ["Europe/Berlin", "Europe/London", "America/New_York", "America/St_Johns", "Asia/Kolkata",
         "Asia/Kathmandu", "Australia/Adelaide", "Pacific/Auckland", "UTC", "", "Not/A_Zone"]
LEVELS = [code for code, _ in matching.vocab.JOB_LEVELS] + [""]
ORGANIZATIONS = ["Initech", " initech", "Globex", ""]


def random_cohort(rng, mentees, mentors, capacity=(1, 3), overlap_ids=0):
    """Random entries: mentee ids 1.., mentor ids 1000.., the first ``overlap_ids`` mentors also mentees."""
    mentor_ids = [i + 1 if i < overlap_ids else 1000 + i for i in range(mentors)]

    def sometimes(ids):  # one in ten avoids someone
        return rng.sample(list(ids), 1) if ids and rng.random() < 0.1 else []

    def person():
        return dict(topics=rng.sample(range(1, 6), rng.randint(0, 3)), level=rng.choice(LEVELS),
                    organization=rng.choice(ORGANIZATIONS), zone=rng.choice(ZONES),
                    languages=rng.sample(["en", "de", "fr"], rng.choice([0, 1, 1, 2])))

    return ([mentee(i, **person(), on=rng.choice([WINTER, SUMMER]),
                    preferred=rng.sample(mentor_ids, rng.randint(0, min(3, mentors))),
                    avoid=sometimes(mentor_ids)) for i in range(1, mentees + 1)],
            [mentor(i, **person(), capacity=rng.randint(*capacity), avoid=sometimes(range(1, mentees + 1)))
             for i in mentor_ids])


def brute_force(mentees, mentors, blocked=()):
    """The best (matched count, total score) over every assignment of mentees to mentors or to no one."""
    options = []  # per mentee: (mentor id, score) of each allowed mentor, and None for no one
    for e in mentees:
        scored = {m.id: pair_score(e, m) for m in mentors if (e.id, m.id) not in blocked}
        options.append([None] + [(mentor_id, s[0]) for mentor_id, s in scored.items() if s is not None])
    best = (0, 0.0)
    for choice in itertools.product(*options):
        used = [c[0] for c in choice if c]
        if all(used.count(m.id) <= m.capacity for m in mentors):
            best = max(best, (len(used), sum(c[1] for c in choice if c)))
    return best


@pytest.mark.parametrize("seed", range(40))
def test_small_random_cohorts_reach_the_brute_force_optimum(seed):
    rng = random.Random(seed)
    mentees, mentors = random_cohort(rng, rng.randint(1, 6), rng.randint(1, 4), capacity=(1, 2), overlap_ids=1)
    every_pair = [(e.id, m.id) for e in mentees for m in mentors]
    blocked = set(rng.sample(every_pair, min(2, len(every_pair))))
    result = propose(mentees, mentors, forbidden=blocked)
    count, total = brute_force(mentees, mentors, blocked)
    assert len(result.proposals) == count
    assert result.total == pytest.approx(total)


@pytest.mark.parametrize("seed", range(4))
def test_large_random_cohorts_are_never_below_greedy(seed):
    rng = random.Random(seed)
    mentees, mentors = random_cohort(rng, 300, 150)
    best, base = propose(mentees, mentors), greedy(mentees, mentors)
    assert len(best.proposals) >= len(base.proposals)
    if len(best.proposals) == len(base.proposals):
        assert best.total >= base.total - 1e-9
    assert_valid(best, mentees, mentors)


def test_the_vectorised_scores_equal_pair_score_for_every_pair():
    """The optimiser scores every pair at once from tables; each entry must be what pair_score explains."""
    rng = random.Random(8)
    mentees, mentors = random_cohort(rng, 40, 30, overlap_ids=3)
    weights = Weights(topics=1.5, seniority=0.5, overlap=2, organization=3, preference=0.25)
    cohort = matching._Cohort(mentees, mentors, weights)
    for i, e in enumerate(mentees):
        for j, m in enumerate(mentors):
            scored = pair_score(e, m, weights)
            assert cohort.hard[i, j] == (scored is not None)
            if scored:
                assert cohort.score[i, j] == pytest.approx(scored[0])


# --- properties of every output -------------------------------------------------------------------------------

def assert_valid(result, mentees, mentors, weights=Weights(), locked=(), blocked=()):
    by_id = {m.id: m for m in mentors}
    people = {e.id: e for e in mentees}
    used = {m.id: 0 for m in mentors}
    assert [p.mentee_id for p in result.proposals] == sorted({p.mentee_id for p in result.proposals})  # once each
    for p in result.proposals:
        scored = pair_score(people[p.mentee_id], by_id[p.mentor_id], weights)
        assert scored is not None  # language, avoid lists (both sides), same person
        assert (p.mentee_id, p.mentor_id) not in blocked  # forbidden and existing
        assert p.score == pytest.approx(scored[0]) and p.reasons == scored[1]
        assert p.preferred_rank == matching.preferred_rank(people[p.mentee_id], p.mentor_id)
        assert p.locked == ((p.mentee_id, p.mentor_id) in locked)
        used[p.mentor_id] += 1
    assert all(used[m.id] <= m.capacity for m in mentors)
    assert set(locked) <= {(p.mentee_id, p.mentor_id) for p in result.proposals}
    assert result.total == pytest.approx(sum(p.score for p in result.proposals))
    assert result.mentors_with_free_places == {m.id: m.capacity - used[m.id] for m in mentors
                                               if m.capacity > used[m.id]}
    assert set(result.unmatched) == set(people) - {p.mentee_id for p in result.proposals}
    for mentee_id, reason in result.unmatched.items():
        assert reason
        for m in mentors:  # maximal: no eligible mentor has a place left
            if pair_score(people[mentee_id], m) is not None and (mentee_id, m.id) not in blocked:
                assert used[m.id] >= m.capacity


PERSON = st.fixed_dictionaries(dict(
    topics=st.frozensets(st.integers(1, 5), max_size=3), level=st.sampled_from(LEVELS),
    organization=st.sampled_from(ORGANIZATIONS), zone=st.sampled_from(ZONES),
    languages=st.frozensets(st.sampled_from(["en", "de", "fr"]), max_size=2)))
SOMEONE = st.frozensets(st.integers(1, 9), max_size=1)  # an avoid list: maybe a member of the round


@st.composite
def rounds(draw):
    """A round of up to 6 mentees (ids 1-6) and 4 mentors (ids 1-9: some also mentees), with locked, forbidden
    and existing pairs and weights."""
    mentor_ids = draw(st.lists(st.integers(1, 9), max_size=4, unique=True))
    choices = st.lists(st.sampled_from(mentor_ids), max_size=3, unique=True) if mentor_ids else st.just([])
    mentees = [mentee(i, **draw(PERSON), on=draw(st.sampled_from([WINTER, SUMMER])), preferred=draw(choices),
                      avoid=draw(SOMEONE)) for i in range(1, draw(st.integers(0, 6)) + 1)]
    mentors = [mentor(i, **draw(PERSON), capacity=draw(st.integers(0, 2)), avoid=draw(SOMEONE)) for i in mentor_ids]
    all_pairs = [(e.id, m.id) for e in mentees for m in mentors]
    forbidden = set(draw(st.lists(st.sampled_from(all_pairs), max_size=3))) if all_pairs else set()
    existing = set(draw(st.lists(st.sampled_from(all_pairs), max_size=3))) if all_pairs else set()
    weights = Weights(**{name: draw(st.sampled_from([0, 0.5, 1, 3])) for name in Weights().as_dict()})
    places = {m.id: m.capacity for m in mentors}
    locked, people = set(), {m.id: m for m in mentors}
    for mentee_id, mentor_id in draw(st.lists(st.sampled_from(all_pairs), max_size=3)) if all_pairs else []:
        entry = next(e for e in mentees if e.id == mentee_id)
        if (places[mentor_id] and mentee_id not in {a for a, _ in locked} and pair_score(entry, people[mentor_id])
                and (mentee_id, mentor_id) not in forbidden | existing):
            locked.add((mentee_id, mentor_id))
            places[mentor_id] -= 1
    return mentees, mentors, weights, locked, forbidden, existing


@PROPERTIES
@given(rounds())
def test_every_proposal_respects_every_rule(cohort):
    mentees, mentors, weights, locked, forbidden, existing = cohort
    for method in (propose, greedy):
        result = method(mentees, mentors, weights=weights, locked=locked, forbidden=forbidden, existing=existing)
        assert_valid(result, mentees, mentors, weights, locked, forbidden | existing)
    assert not math.isnan(result.total)
