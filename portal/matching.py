"""The explainable match score between a member who seeks and a member who offers.

The score is the pair's, whoever looks: a mentee browsing mentors and a mentor
browsing mentees (``Seeker.looks_for``) see the same number for the same pair,
each with reasons worded from their own side.

One set of rules, written twice on purpose: ``explain`` scores one candidate in
Python and says why in words (for the cards); ``score_expression`` builds the
same score as SQL (for ranking thousands of members in the database). Tests
keep the two equal.

The parts of the score:

- topic fit: 3 points per topic the mentee seeks and the mentor offers;
- seniority: 2 points for a mentor one or two levels more senior than the
  mentee, 1 for three or more; a mentor at the same level or junior who
  offers a sought topic scores 1 (peer or reverse mentoring);
- working-hours overlap (08:00–18:00 local on weekdays), in whole hours
  rounded down: 2 points for 6 h or more, 1 for 3 h or more;
- a different organization (ignoring case and surrounding spaces; a blank
  organization is never "different"): 1 point;
- language: when the member who looks names languages, a candidate who
  shares none of them (or names none) is not eligible: left out of "best match".

Only approved topics count: a topic waiting for approval is not shown to
others, so it neither scores nor appears in the reasons.
"""
import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

from peewee import Case, Value, fn

from . import vocab

TOPIC_POINTS = 3
WORK_START, WORK_END = 8, 18
OVERLAP_FILTER_HOURS = 2  # "overlaps my working hours" means at least this much
MENTORS, MENTEES = "mentors", "mentees"  # whom the member who browses looks for


def seniority_points(mentee_level, mentor_level, topic_matches):
    gap = vocab.LEVEL_RANK.get(mentor_level, 0) - vocab.LEVEL_RANK.get(mentee_level, 0)
    if gap in (1, 2):
        return 2
    if gap >= 3:
        return 1
    return 1 if topic_matches else 0


def overlap_points(hours):
    if hours >= 6:
        return 2
    if hours >= 3:
        return 1
    return 0


def overlap_hours(zone_a, zone_b, on=None):
    """Whole hours in which both members' working days (08–18 local) overlap.

    ``on`` is the day (a weekday) on which to compare, by default the next
    weekday from today: offsets change with daylight saving time.
    """
    return _overlap_hours(zone_a, zone_b, on or next_weekday())


@lru_cache(maxsize=4096)
def _overlap_hours(zone_a, zone_b, day):
    try:
        a, b = ZoneInfo(zone_a or "UTC"), ZoneInfo(zone_b or "UTC")
    except (KeyError, ValueError):
        return 0
    start_a, end_a = _working_window(day, a)
    best = dt.timedelta(0)
    for shift in (-1, 0, 1):  # their working day may fall on our yesterday or tomorrow
        start_b, end_b = _working_window(day + dt.timedelta(days=shift), b)
        best = max(best, min(end_a, end_b) - max(start_a, start_b))
    # Rounded down: "6 h overlap" only when there are six whole hours (5:30 is 5).
    return int(best.total_seconds() // 3600)


def next_weekday(day=None):
    """``day`` (default today), or the Monday after it when it falls on a weekend."""
    day = day or dt.date.today()
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def _working_window(day, zone):
    start = dt.datetime.combine(day, dt.time(WORK_START), zone).astimezone(dt.timezone.utc)
    end = dt.datetime.combine(day, dt.time(WORK_END), zone).astimezone(dt.timezone.utc)
    return start, end


@dataclass
class Seeker:
    """What the score needs to know of the member who is looking.

    A member looks for MENTORS (``topic_ids`` are the topics they seek) or for
    MENTEES (``topic_ids`` are the topics they offer).
    """

    level: str = ""
    organization: str = ""
    time_zone: str = "UTC"
    topic_ids: frozenset = frozenset()
    languages: frozenset = frozenset()
    topic_names: dict = field(default_factory=dict)
    on: dt.date | None = None  # the weekday on which working hours are compared (None: the next one)
    looks_for: str = MENTORS

    @property
    def own_kind(self):
        """The kind of topic (ProfileTopic.kind) of ``topic_ids``."""
        return "seeks" if self.looks_for == MENTORS else "offers"

    @property
    def their_kind(self):
        """The kind of the candidates' topics that can match: what they offer, or what they seek."""
        return "offers" if self.looks_for == MENTORS else "seeks"

    def level_gap(self, their_level):
        """How many levels the mentor of the pair is above the mentee."""
        gap = vocab.LEVEL_RANK.get(their_level, 0) - vocab.LEVEL_RANK.get(self.level, 0)
        return gap if self.looks_for == MENTORS else -gap

    def seniority_points(self, their_level, topic_matches):
        pair = (self.level, their_level) if self.looks_for == MENTORS else (their_level, self.level)
        return seniority_points(*pair, topic_matches)


@dataclass
class Candidate:
    level: str
    organization: str
    time_zone: str
    topic_ids: frozenset
    languages: frozenset


@dataclass
class Match:
    score: int
    reasons: list
    eligible: bool = True


# The reasons in the words of the member who looks: a mentee about a mentor, or a mentor about a mentee.
WORDS = {
    MENTORS: {
        "topics": "{shared} of your {total} topics: {names}",
        "no topic": "none of the topics you seek",
        "gap": "{gap} level{s} more senior",
        "reverse": "reverse mentoring: junior to you, and offers your topic",
        "peer": "peer mentoring: same level, offers your topic",
    },
    MENTEES: {
        "topics": "seeks {shared} of your {total} topics: {names}",
        "no topic": "seeks none of the topics you offer",
        "gap": "{gap} level{s} more junior",
        "reverse": "reverse mentoring: senior to you, and seeks your topic",
        "peer": "peer mentoring: same level, seeks your topic",
    },
}


def explain(seeker, candidate):
    """The score and its reasons in words, strongest first."""
    words = WORDS[seeker.looks_for]
    reasons = []  # (points, words)
    shared_topics = seeker.topic_ids & candidate.topic_ids
    score = TOPIC_POINTS * len(shared_topics)
    if seeker.topic_ids:
        if shared_topics:
            names = sorted(seeker.topic_names.get(t, "") for t in shared_topics)
            reasons.append((score, words["topics"].format(shared=len(shared_topics), total=len(seeker.topic_ids),
                                                          names=", ".join(n for n in names if n))))
        else:
            reasons.append((0, words["no topic"]))

    gap = seeker.level_gap(candidate.level)
    points = seeker.seniority_points(candidate.level, bool(shared_topics))
    score += points
    if gap > 0:
        reasons.append((points, words["gap"].format(gap=gap, s="s" if gap > 1 else "")))
    elif points:
        reasons.append((points, words["reverse"] if gap < 0 else words["peer"]))

    hours = overlap_hours(seeker.time_zone, candidate.time_zone, seeker.on)
    points = overlap_points(hours)
    score += points
    reasons.append((points, f"{hours} h overlap in working hours" if hours else "no overlap in working hours"))

    if different_organization(seeker.organization, candidate.organization):
        score += 1
        reasons.append((1, "different organization"))

    shared_languages = seeker.languages & candidate.languages
    eligible = not seeker.languages or bool(shared_languages)
    if shared_languages:
        names = vocab.language_names()
        reasons.append((0, "speaks " + ", ".join(sorted(names.get(c, c) for c in shared_languages))))
    elif not eligible:
        reasons.append((0, "no language in common"))

    reasons.sort(key=lambda r: -r[0])
    return Match(score=score, reasons=[words for _, words in reasons], eligible=eligible)


def different_organization(mine, theirs):
    mine, theirs = (mine or "").strip().lower(), (theirs or "").strip().lower()
    return bool(mine and theirs and mine != theirs)


def topic_matches(seeker, ProfileTopic):
    """Per profile, how many of the seeker's topics it offers, or seeks (column ``matches``).

    A grouped subquery to LEFT JOIN on ``profile_id`` (read through the
    (topic, kind) index), or None when the seeker seeks no topic.
    """
    if not seeker.topic_ids:
        return None
    return (ProfileTopic.select(ProfileTopic.profile, fn.COUNT(ProfileTopic.id).alias("matches"))
            .where(ProfileTopic.topic.in_(sorted(seeker.topic_ids)) & (ProfileTopic.kind == seeker.their_kind))
            .group_by(ProfileTopic.profile))


def score_expression(seeker, Profile, User, matches, zones, organizations=()):
    """The score of ``explain`` as one SQL expression over Profile joined to User.

    ``matches`` is the ``matches`` column of ``topic_matches`` joined in (None
    when there is none). ``zones`` are the time zones that occur among
    candidates, ``organizations`` the organization names: both are compared
    with the seeker here, in Python, and written into the query as constants,
    so that SQL and ``explain`` agree on every database (SQL's LOWER and TRIM
    differ between databases and from Python's on non-ASCII letters and on
    whitespace).
    """
    if matches is not None:
        topic_count = fn.COALESCE(matches, 0)
        topic_points = topic_count * TOPIC_POINTS
        reverse = Case(None, [(topic_count > 0, 1)], 0)
    else:
        topic_points = Value(0)
        reverse = Value(0)

    senior = [(code, points) for code, _ in vocab.JOB_LEVELS if (points := seeker.seniority_points(code, False))]
    seniority = Case(Profile.job_level, senior, reverse) if senior else reverse

    by_points = {}
    for zone in zones:
        points = overlap_points(overlap_hours(seeker.time_zone, zone, seeker.on))
        if points:
            by_points.setdefault(points, []).append(zone)
    overlap = (Case(None, [(User.time_zone.in_(sorted(by_points[points])), points)
                           for points in sorted(by_points, reverse=True)], 0)
               if by_points else Value(0))

    if (seeker.organization or "").strip():
        same = sorted(name for name in organizations if not different_organization(seeker.organization, name))
        organization = Case(None, [(Profile.organization.in_(same), 0)], 1) if same else Value(1)
    else:
        organization = Value(0)
    return topic_points + seniority + overlap + organization


def overlapping_zones(my_zone, zones, hours=OVERLAP_FILTER_HOURS, on=None):
    return [zone for zone in zones if overlap_hours(my_zone, zone, on) >= hours]
