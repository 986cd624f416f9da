"""The explainable match score between a member who seeks and a member who offers.

One set of rules, written twice on purpose: ``explain`` scores one candidate in
Python and says why in words (for the cards); ``score_expression`` builds the
same score as SQL (for ranking thousands of members in the database). Tests
keep the two equal.

The parts of the score:

- topic fit: 3 points per topic the seeker seeks and the candidate offers;
- seniority: 2 points for a candidate one or two levels more senior, 1 for
  three or more; a candidate at the same level or junior who offers a sought
  topic scores 1 (peer or reverse mentoring);
- working-hours overlap (08:00–18:00 local on weekdays): 2 points for 6 h or
  more, 1 for 3 h or more;
- a different organization: 1 point;
- language: no shared language excludes the candidate from "best match".
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


def seniority_points(my_level, their_level, topic_matches):
    gap = vocab.LEVEL_RANK.get(their_level, 0) - vocab.LEVEL_RANK.get(my_level, 0)
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


@lru_cache(maxsize=4096)
def overlap_hours(zone_a, zone_b, on=None):
    """Hours in which both members' working days (08–18 local) overlap, on a weekday."""
    day = on or _next_weekday(dt.date.today())
    try:
        a, b = ZoneInfo(zone_a or "UTC"), ZoneInfo(zone_b or "UTC")
    except (KeyError, ValueError):
        return 0
    start_a, end_a = _working_window(day, a)
    best = dt.timedelta(0)
    for shift in (-1, 0, 1):  # their working day may fall on our yesterday or tomorrow
        start_b, end_b = _working_window(day + dt.timedelta(days=shift), b)
        best = max(best, min(end_a, end_b) - max(start_a, start_b))
    return round(best.total_seconds() / 3600)


def _next_weekday(day):
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def _working_window(day, zone):
    start = dt.datetime.combine(day, dt.time(WORK_START), zone).astimezone(dt.timezone.utc)
    end = dt.datetime.combine(day, dt.time(WORK_END), zone).astimezone(dt.timezone.utc)
    return start, end


@dataclass
class Seeker:
    """What the score needs to know of the member who is looking."""

    level: str = ""
    organization: str = ""
    time_zone: str = "UTC"
    topic_ids: frozenset = frozenset()
    languages: frozenset = frozenset()
    topic_names: dict = field(default_factory=dict)


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


def explain(seeker, candidate):
    """The score and its reasons in words, strongest first."""
    reasons = []  # (points, words)
    shared_topics = seeker.topic_ids & candidate.topic_ids
    score = TOPIC_POINTS * len(shared_topics)
    if seeker.topic_ids:
        if shared_topics:
            names = sorted(seeker.topic_names.get(t, "") for t in shared_topics)
            reasons.append((score, f"{len(shared_topics)} of your {len(seeker.topic_ids)} topics: "
                                   + ", ".join(n for n in names if n)))
        else:
            reasons.append((0, "none of the topics you seek"))

    gap = vocab.LEVEL_RANK.get(candidate.level, 0) - vocab.LEVEL_RANK.get(seeker.level, 0)
    points = seniority_points(seeker.level, candidate.level, bool(shared_topics))
    score += points
    if gap > 0:
        reasons.append((points, f"{gap} level{'s' if gap > 1 else ''} more senior"))
    elif points:
        reasons.append((points, "reverse mentoring: junior to you, and offers your topic" if gap < 0
                        else "peer mentoring: same level, offers your topic"))

    hours = overlap_hours(seeker.time_zone, candidate.time_zone)
    points = overlap_points(hours)
    score += points
    reasons.append((points, f"{hours} h overlap in working hours" if hours else "no overlap in working hours"))

    if different_organization(seeker.organization, candidate.organization):
        score += 1
        reasons.append((1, "different organization"))

    shared_languages = seeker.languages & candidate.languages
    eligible = not (seeker.languages and candidate.languages) or bool(shared_languages)
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


def score_expression(seeker, Profile, User, ProfileTopic, zones):
    """The score of ``explain`` as one SQL expression over Profile joined to User.

    ``zones`` are the time zones that occur among candidates; their overlap with
    the seeker is computed here and written into the query as constants.
    """
    if seeker.topic_ids:
        topic_count = fn.COALESCE(
            ProfileTopic.select(fn.COUNT(ProfileTopic.id))
            .where((ProfileTopic.profile == Profile.user)
                   & (ProfileTopic.kind == "offers")
                   & (ProfileTopic.topic.in_(sorted(seeker.topic_ids)))), 0)
        topic_points = topic_count * TOPIC_POINTS
        reverse = Case(None, [(topic_count > 0, 1)], 0)
    else:
        topic_points = Value(0)
        reverse = Value(0)

    senior = [(code, points) for code, _ in vocab.JOB_LEVELS
              if (points := seniority_points(seeker.level, code, False))]
    seniority = Case(Profile.job_level, senior, reverse) if senior else reverse

    overlapping = [(zone, points) for zone in zones
                   if (points := overlap_points(overlap_hours(seeker.time_zone, zone)))]
    overlap = Case(User.time_zone, overlapping, 0) if overlapping else Value(0)

    mine = (seeker.organization or "").strip().lower()
    organization = (Case(None, [((fn.LOWER(fn.TRIM(Profile.organization)) != mine)
                                 & (fn.TRIM(Profile.organization) != ""), 1)], 0)
                    if mine else Value(0))
    return topic_points + seniority + overlap + organization


def overlapping_zones(my_zone, zones, hours=OVERLAP_FILTER_HOURS):
    return [zone for zone in zones if overlap_hours(my_zone, zone) >= hours]
