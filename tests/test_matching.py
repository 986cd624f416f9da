"""The explainable match score (portal/matching.py), without HTTP.

The last tests prove that the SQL score that ranks mentors (or mentees) in the
database equals the Python score that explains each card, on random members.
"""
import datetime as dt
import random

import pytest

from portal import matching
from portal.matching import Candidate, Seeker, explain, overlap_hours, overlap_points, seniority_points
from portal.members import services
from portal.models import Mentorship, Topic

WINTER = dt.date(2026, 1, 14)  # a Wednesday: Europe and North America on standard time
SUMMER = dt.date(2026, 7, 15)  # a Wednesday: both on daylight saving time
GAP_WEEKS = dt.date(2026, 3, 18)  # a Wednesday: North America already on DST, Europe not yet


# --- working-hours overlap -------------------------------------------------------

@pytest.mark.parametrize("zone_a, zone_b, on, hours", [
    ("Europe/Berlin", "Europe/Berlin", WINTER, 10),
    ("Europe/Berlin", "Europe/Paris", WINTER, 10),
    ("Europe/Berlin", "Europe/London", WINTER, 9),
    ("Europe/Berlin", "America/New_York", WINTER, 4),
    ("America/New_York", "Europe/Berlin", WINTER, 4),
    ("Europe/Berlin", "America/New_York", SUMMER, 4),
    ("Europe/Berlin", "America/New_York", GAP_WEEKS, 5),
    ("Europe/Berlin", "America/Los_Angeles", WINTER, 1),
    ("Europe/Berlin", "Pacific/Honolulu", WINTER, 0),
    ("Asia/Tokyo", "America/Los_Angeles", WINTER, 3),  # across the date line: their day is our yesterday
    ("Europe/Berlin", "Asia/Kolkata", WINTER, 5),  # 5 h 30 min, rounded down
    ("Europe/London", "Asia/Kolkata", SUMMER, 5),
    ("Europe/Berlin", "UTC", WINTER, 9),
    ("UTC", None, WINTER, 10),  # no zone counts as UTC
    ("Europe/Berlin", "Not/A_Zone", WINTER, 0),
    ("", "Europe/London", WINTER, 10),
])
def test_overlap_hours_of_known_zone_pairs(zone_a, zone_b, on, hours):
    assert overlap_hours(zone_a, zone_b, on=on) == hours


def test_overlap_hours_defaults_to_the_next_weekday_and_is_not_stuck_on_its_first_answer(monkeypatch):
    """A long-running process crosses daylight saving changes: the default day is looked up on every call."""
    day = {"next": WINTER}
    monkeypatch.setattr(matching, "next_weekday", lambda: day["next"])
    assert overlap_hours("Europe/Berlin", "America/New_York") == 4
    day["next"] = GAP_WEEKS  # US already on DST, Europe not yet
    assert overlap_hours("Europe/Berlin", "America/New_York") == 5
    assert overlap_hours("Europe/Berlin", "America/New_York", on=WINTER) == 4


def test_next_weekday_skips_the_weekend():
    assert matching.next_weekday(dt.date(2026, 1, 16)) == dt.date(2026, 1, 16)  # Friday
    assert matching.next_weekday(dt.date(2026, 1, 17)) == dt.date(2026, 1, 19)  # Saturday → Monday
    assert matching.next_weekday(dt.date(2026, 1, 18)) == dt.date(2026, 1, 19)  # Sunday → Monday
    assert matching.next_weekday().weekday() < 5


@pytest.mark.parametrize("hours, points", [(0, 0), (1, 0), (2, 0), (3, 1), (5, 1), (6, 2), (10, 2)])
def test_overlap_points_at_their_boundaries(hours, points):
    assert overlap_points(hours) == points


def test_overlapping_zones_keeps_zones_with_at_least_two_hours():
    zones = ["Europe/Paris", "America/New_York", "America/Los_Angeles", "Asia/Tokyo", "Asia/Kolkata"]
    assert matching.overlapping_zones("Europe/Berlin", zones, on=WINTER) == ["Europe/Paris", "America/New_York",
                                                                             "Asia/Tokyo", "Asia/Kolkata"]
    assert matching.overlapping_zones("Europe/Berlin", zones, hours=5, on=WINTER) == ["Europe/Paris", "Asia/Kolkata"]


# --- seniority -------------------------------------------------------------------

@pytest.mark.parametrize("mine, theirs, topic_matches, points", [
    ("mid", "senior", False, 2),       # one level more senior
    ("mid", "executive", False, 2),    # two levels
    ("student", "senior", False, 1),   # three levels: a big gap counts less
    ("student", "executive", True, 1),  # four levels
    ("mid", "mid", True, 1),           # peer who offers a sought topic
    ("mid", "mid", False, 0),
    ("senior", "early", True, 1),      # reverse mentoring
    ("senior", "early", False, 0),
    ("executive", "student", True, 1),
    ("", "early", False, 2),           # no level counts as the most junior
])
def test_seniority_points_at_their_boundaries(mine, theirs, topic_matches, points):
    assert seniority_points(mine, theirs, topic_matches) == points


# --- reasons in words --------------------------------------------------------------

NAMES = {1: "Leadership", 2: "Negotiation", 3: "Python", 4: "Public speaking"}


def seeker(**fields):
    values = dict(level="mid", organization="Initech", time_zone="Europe/Berlin", topic_ids=frozenset({1, 2, 3}),
                  languages=frozenset({"en", "de"}), topic_names=NAMES, on=WINTER)
    values.update(fields)
    return Seeker(**values)


def candidate(**fields):
    values = dict(level="senior", organization="Globex", time_zone="America/New_York",
                  topic_ids=frozenset({1, 3, 4}), languages=frozenset({"en"}))
    values.update(fields)
    return Candidate(**values)


def test_explain_a_senior_mentor_abroad():
    match = explain(seeker(), candidate(level="executive"))
    assert match.eligible
    # 2 topics × 3 + 2 levels (2) + 4 h overlap (1) + other organization (1)
    assert match.score == 10
    assert match.reasons == [
        "2 of your 3 topics: Leadership, Python",
        "2 levels more senior",
        "4 h overlap in working hours",
        "different organization",
        "speaks English",
    ]


def test_explain_one_level_more_senior_in_the_same_organization_and_zone():
    match = explain(seeker(), candidate(level="senior", organization="  INITECH ", time_zone="Europe/Paris",
                                        topic_ids=frozenset({2}), languages=frozenset({"de", "en", "fr"})))
    assert match.score == 3 + 2 + 2
    assert match.reasons == ["1 of your 3 topics: Negotiation", "1 level more senior",
                             "10 h overlap in working hours", "speaks English, German"]
    assert "different organization" not in match.reasons


def test_explain_from_the_mentors_side_gives_the_pairs_score_in_the_mentors_words():
    """A senior mentor who offers 1, 3, 4 looks at a mid-level mentee who seeks 1, 2, 3: the same pair as above."""
    mentor = seeker(level="executive", organization="Globex", time_zone="America/New_York",
                    topic_ids=frozenset({1, 3, 4}), languages=frozenset({"en"}), looks_for=matching.MENTEES)
    mentee = candidate(level="mid", organization="Initech", time_zone="Europe/Berlin",
                       topic_ids=frozenset({1, 2, 3}), languages=frozenset({"en", "de"}))
    match = explain(mentor, mentee)
    assert match.score == explain(seeker(), candidate(level="executive")).score == 10
    assert match.reasons == ["seeks 2 of your 3 topics: Leadership, Python", "2 levels more junior",
                             "4 h overlap in working hours", "different organization", "speaks English"]
    reverse = explain(seeker(level="early", topic_ids=frozenset({3}), looks_for=matching.MENTEES),
                      candidate(level="senior"))
    assert "reverse mentoring: senior to you, and seeks your topic" in reverse.reasons
    peer = explain(seeker(topic_ids=frozenset({4}), looks_for=matching.MENTEES), candidate(level="mid"))
    assert "peer mentoring: same level, seeks your topic" in peer.reasons
    off_topic = explain(seeker(topic_ids=frozenset({2}), looks_for=matching.MENTEES), candidate(level="mid"))
    assert "seeks none of the topics you offer" in off_topic.reasons
    assert not any("mentoring" in r for r in off_topic.reasons)


def test_explain_reverse_and_peer_mentoring():
    reverse = explain(seeker(level="senior"), candidate(level="early", topic_ids=frozenset({3})))
    assert reverse.score == 3 + 1 + 1 + 1
    assert "reverse mentoring: junior to you, and offers your topic" in reverse.reasons
    assert not any("senior" in r for r in reverse.reasons)

    peer = explain(seeker(), candidate(level="mid", topic_ids=frozenset({3})))
    assert "peer mentoring: same level, offers your topic" in peer.reasons

    junior_off_topic = explain(seeker(level="senior"), candidate(level="early", topic_ids=frozenset({4})))
    assert junior_off_topic.score == 0 + 0 + 1 + 1
    assert junior_off_topic.reasons[0] in ("4 h overlap in working hours", "different organization")
    assert "none of the topics you seek" in junior_off_topic.reasons
    assert not any("mentoring" in r for r in junior_off_topic.reasons)


def test_explain_three_levels_up_and_no_overlap():
    match = explain(seeker(level="student"), candidate(level="senior", time_zone="Pacific/Honolulu",
                                                       topic_ids=frozenset()))
    assert match.score == 0 + 1 + 0 + 1
    assert "3 levels more senior" in match.reasons
    assert "no overlap in working hours" in match.reasons
    assert "none of the topics you seek" in match.reasons


def test_explain_without_a_language_in_common_is_not_eligible():
    match = explain(seeker(), candidate(languages=frozenset({"fr", "es"})))
    assert match.eligible is False
    assert "no language in common" in match.reasons
    # A mentor who names no language shares none either (the database ranking leaves them out too).
    assert explain(seeker(), candidate(languages=frozenset())).eligible is False
    # A seeker who names no language excludes no one.
    assert explain(seeker(languages=frozenset()), candidate(languages=frozenset({"fr"}))).eligible is True


def test_explain_a_blank_organization_is_never_different():
    assert "different organization" not in explain(seeker(organization=""), candidate()).reasons
    assert "different organization" not in explain(seeker(), candidate(organization="   ")).reasons
    assert "different organization" in explain(seeker(organization="Ärzte ohne Grenzen"),
                                               candidate(organization="Globex")).reasons
    assert "different organization" not in explain(seeker(organization="Ärzte ohne Grenzen"),
                                                   candidate(organization="ÄRZTE OHNE GRENZEN\t")).reasons


def test_explain_reasons_go_strongest_first_and_a_seeker_without_topics_gets_no_topic_reason():
    match = explain(seeker(topic_ids=frozenset(), level="executive"), candidate(level="mid"))
    assert match.score == 0 + 0 + 1 + 1
    assert not any("topic" in r for r in match.reasons)
    points_of = {"4 h overlap in working hours": 1, "different organization": 1, "speaks English": 0}
    assert [points_of[r] for r in match.reasons] == sorted(points_of.values(), reverse=True)


# --- the SQL score equals the Python score ---------------------------------------

ZONES = ["Europe/Berlin", "Europe/Paris", "Europe/London", "America/New_York", "America/Los_Angeles",
         "Asia/Kolkata", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland", "UTC", "Asia/Kathmandu"]
ORGANIZATIONS = ["Initech", "initech", " Initech ", "INITECH\t", "Globex", "Ärzte ohne Grenzen",
                 "ÄRZTE OHNE GRENZEN", "ärzte ohne grenzen", "", "   ", "Independent"]
LEVELS = ["student", "early", "mid", "senior", "executive"]
LANGUAGES = ["en", "de", "fr", "es", "ja"]


def random_member(rng, make_member, topic_ids, **fields):
    offers = rng.random() < 0.7
    values = dict(
        name=f"{rng.choice(['Ana', 'Ben', 'Chen', 'Dara', 'elif', 'Femi'])} {rng.randrange(1000)}",
        time_zone=rng.choice(ZONES), organization=rng.choice(ORGANIZATIONS), job_level=rng.choice(LEVELS),
        offers=rng.sample(topic_ids, rng.randint(0, 4)) if offers else [],
        seeks=rng.sample(topic_ids, rng.randint(0, 3)),
        languages=rng.sample(LANGUAGES, rng.choice([0, 1, 1, 2, 3])),
        capacity=rng.randint(0, 3) if offers else 0,
        offers_mentoring=offers,
        completed=rng.random() < 0.9, active=rng.random() < 0.9,
        password=None,  # no login needed: skip the (deliberately slow) password hash
    )
    values.update(fields)
    return make_member(**values)


@pytest.fixture
def random_program(db, make_member):
    """60 random members, topics (one waiting for approval), and a few mentorships."""
    rng = random.Random(20260114)
    topics = [Topic.create(name=name) for name in ["Leadership", "Negotiation", "Python", "Public speaking",
                                                    "Career change", "Fundraising"]]
    topics.append(Topic.create(name="Basket weaving", approved=False))
    topic_ids = [t.id for t in topics]
    members = [random_member(rng, make_member, topic_ids) for _ in range(60)]
    mentors = [m for m in members if m.profile.offers_mentoring]
    for mentor in rng.sample(mentors, 6):
        Mentorship.create(mentor=mentor, mentee=rng.choice(members),
                          status=rng.choice([Mentorship.ACTIVE, Mentorship.ENDED]))
    return rng, make_member, topic_ids, members


def _expected_candidate(member, approved, kind="offers"):
    profile = member.profile
    return Candidate(
        level=profile.job_level, organization=profile.organization, time_zone=member.time_zone,
        topic_ids=frozenset(t for t in services.topic_ids(profile, kind) if t in approved),
        languages=frozenset(services.language_codes(profile)),
    )


@pytest.mark.parametrize("looks_for", [matching.MENTORS, matching.MENTEES])
def test_the_sql_score_equals_explain_for_every_candidate_and_ranks_by_it(random_program, looks_for):
    rng, make_member, topic_ids, members = random_program
    approved = {t.id for t in Topic.select().where(Topic.approved == True)}  # noqa: E712
    mentors = looks_for == matching.MENTORS
    # Viewers who seek (to browse mentors) or offer (to browse mentees) k topics, and random members.
    mine, other = ("seeks", "offers") if mentors else ("offers", "seeks")
    viewers = [random_member(rng, make_member, topic_ids, active=True, completed=True, offers_mentoring=not mentors,
                             capacity=0 if mentors else 2, languages=languages, organization=organization,
                             **{mine: rng.sample(topic_ids, k), other: []})
               for k, languages, organization in [(3, ["en"], "initech"), (2, [], "Ärzte ohne Grenzen"),
                                                  (0, ["de", "ja"], ""), (7, ["fr", "es"], "Globex ")]]
    viewers += rng.sample(members, 4)
    compared = 0
    for viewer in viewers:
        seeker = services.seeker_for(viewer, on=WINTER, looks_for=looks_for)
        own = set(services.topic_ids(viewer.profile, mine)) & approved
        assert seeker.topic_ids == own
        assert seeker.languages == set(services.language_codes(viewer.profile))

        result = services.browse(viewer, services.BrowseFilters(sort="match", show_full=True), 500, looks_for)
        by_id = {card.user.id: card for card in result.cards}
        expected = {}
        for member in members:
            listed = member.profile.offers_mentoring if mentors else member.profile.seeks_mentoring
            if member.id == viewer.id or not member.active or not member.profile.completed or not listed:
                continue
            match = explain(seeker, _expected_candidate(member, approved, other))
            if match.eligible:
                expected[member.id] = match.score
        assert set(by_id) == set(expected), f"viewer {viewer.id}: candidates differ"
        assert result.total == len(expected)
        for member_id, card in by_id.items():
            sql_score = card.profile.score
            assert sql_score == expected[member_id] == card.match.score, (
                f"viewer {viewer.id}, candidate {member_id}: SQL {sql_score}, explain {expected[member_id]}: "
                f"{card.match.reasons}")
            compared += 1
        scores = [card.profile.score for card in result.cards]
        assert scores == sorted(scores, reverse=True)
    assert compared > 100


def test_the_sql_score_agrees_on_every_page_and_with_filters(random_program):
    rng, make_member, topic_ids, members = random_program
    viewer = random_member(rng, make_member, topic_ids, active=True, completed=True, languages=["en", "de", "fr"],
                           seeks=topic_ids[:4], organization="Initech", time_zone="Europe/Berlin")
    seen = []
    page, pages = 1, 1
    while page <= pages:
        result = services.browse_mentors(viewer, services.BrowseFilters(sort="match", page=page, overlap=True),
                                         page_size=4)
        pages = result.pages
        for card in result.cards:
            assert card.profile.score == card.match.score
            assert overlap_hours("Europe/Berlin", card.user.time_zone) >= matching.OVERLAP_FILTER_HOURS
            assert card.places_left > 0
        seen += [card.profile.score for card in result.cards]
        page += 1
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == result.total > 4


def test_topics_waiting_for_approval_neither_score_nor_show(db, make_member):
    pending = Topic.create(name="Basket weaving", approved=False)
    python = Topic.create(name="Python")
    make_member(name="Mentor", offers=[pending, python], job_level="mid", organization="Same",
                time_zone="Europe/Berlin")
    viewer = make_member(name="Seeker", seeks=[pending, python], job_level="mid", organization="Same",
                         time_zone="Europe/Berlin")
    seeker = services.seeker_for(viewer)
    assert seeker.topic_ids == {python.id}
    [card] = services.browse_mentors(viewer, services.BrowseFilters()).cards
    assert [t.name for t in card.topics] == ["Python"]
    assert card.match.reasons[0] == "1 of your 1 topics: Python"
    assert card.profile.score == card.match.score == 3 + 1 + 2
    assert services.browse_mentors(viewer, services.BrowseFilters(q="basket")).total == 0
