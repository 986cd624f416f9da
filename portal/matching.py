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

Pairing rounds (``propose``, at the end) pair a whole cohort at once: the
same score, its parts weighted by coordinators (``Weights``) plus points for
a mentee's preferred mentors, maximised over every mentee × mentor place.
"""
import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
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
    parts, reasons, eligible = score_parts(seeker, candidate)
    reasons.sort(key=lambda r: -r[1])
    return Match(score=sum(parts.values()), reasons=[words for _, _, words in reasons], eligible=eligible)


def score_parts(seeker, candidate):
    """The parts of ``explain``'s score: ({part: points}, [(part, points, words)], eligible).

    The parts are "topics", "seniority", "overlap" and "organization" (the
    pairing rounds weigh each); the reasons come in a fixed order, unsorted.
    """
    words = WORDS[seeker.looks_for]
    reasons = []  # (part, points, words)
    shared_topics = seeker.topic_ids & candidate.topic_ids
    parts = {"topics": TOPIC_POINTS * len(shared_topics)}
    if seeker.topic_ids:
        if shared_topics:
            names = sorted(seeker.topic_names.get(t, "") for t in shared_topics)
            reasons.append(("topics", parts["topics"],
                            words["topics"].format(shared=len(shared_topics), total=len(seeker.topic_ids),
                                                   names=", ".join(n for n in names if n))))
        else:
            reasons.append(("topics", 0, words["no topic"]))

    gap = seeker.level_gap(candidate.level)
    points = parts["seniority"] = seeker.seniority_points(candidate.level, bool(shared_topics))
    if gap > 0:
        reasons.append(("seniority", points, words["gap"].format(gap=gap, s="s" if gap > 1 else "")))
    elif points:
        reasons.append(("seniority", points, words["reverse"] if gap < 0 else words["peer"]))

    hours = overlap_hours(seeker.time_zone, candidate.time_zone, seeker.on)
    points = parts["overlap"] = overlap_points(hours)
    reasons.append(("overlap", points,
                    f"{hours} h overlap in working hours" if hours else "no overlap in working hours"))

    parts["organization"] = int(different_organization(seeker.organization, candidate.organization))
    if parts["organization"]:
        reasons.append(("organization", 1, "different organization"))

    shared_languages = seeker.languages & candidate.languages
    eligible = not seeker.languages or bool(shared_languages)
    if shared_languages:
        names = vocab.language_names()
        reasons.append(("languages", 0, "speaks " + ", ".join(sorted(names.get(c, c) for c in shared_languages))))
    elif not eligible:
        reasons.append(("languages", 0, "no language in common"))
    return parts, reasons, eligible


def organization_key(name):
    """What is compared of two organizations: case and surrounding spaces ignored ("" for none)."""
    return (name or "").strip().lower()


def different_organization(mine, theirs):
    mine, theirs = organization_key(mine), organization_key(theirs)
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


# --- pairing rounds: the whole cohort at once ------------------------------------------------------------------
#
# Hard rules (a pair that breaks one is never proposed): not the same person; the two share a language, unless
# neither names any (the browse rule, from both sides); neither has the other on their avoid list; not already
# paired; not forbidden by a coordinator; the mentor's capacity. Everything else is soft, topics included: the
# optimum pairs as many mentees as the hard rules allow, then has the highest total score, so a pair with no
# topic in common may be proposed (it scores low, and its reasons say so) rather than leave a mentee out.

PREFERENCE_POINTS = 3  # a mentee's 1st choice of mentor; the 2nd gets one point less, the 3rd two less
MAX_WEIGHT = 10
ORDINALS = {1: "1st", 2: "2nd", 3: "3rd"}


class MatchingError(Exception):
    """A round cannot be matched as asked (a locked pair breaks a rule, or exceeds the mentor's capacity).

    ``mentee_id`` and ``mentor_id`` name the pair at fault (either may be None), for a message with names."""

    def __init__(self, message, mentee_id=None, mentor_id=None):
        super().__init__(message)
        self.mentee_id, self.mentor_id = mentee_id, mentor_id


@dataclass(frozen=True)
class Weights:
    """Multipliers on the parts of ``explain``'s score, tuned by coordinators (0 to MAX_WEIGHT)."""

    topics: float = 1.0
    seniority: float = 1.0
    overlap: float = 1.0
    organization: float = 1.0
    preference: float = 1.0  # on preference_points(rank)

    def as_dict(self):
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data):
        """Tolerant of what a form or a stored round holds: unknown keys are ignored, bad values give the default."""
        values = {}
        for name in cls.__dataclass_fields__:
            try:
                value = float((data or {}).get(name))
            except (TypeError, ValueError):
                continue
            if 0 <= value <= MAX_WEIGHT:  # also rules out NaN
                values[name] = value
        return cls(**values)


@dataclass(frozen=True)
class MenteeEntry:
    id: int  # the member's user id
    seeker: Seeker  # looks_for=MENTORS, topic_ids = the topics sought in this round
    preferred: tuple = ()  # up to three mentor user ids, in order of preference
    avoid: frozenset = frozenset()  # user ids this member must not be paired with


@dataclass(frozen=True)
class MentorEntry:
    id: int
    candidate: Candidate  # topic_ids = the topics offered in this round
    capacity: int
    avoid: frozenset = frozenset()


@dataclass(frozen=True)
class Proposal:
    mentee_id: int
    mentor_id: int
    score: float  # the weighted score the optimiser used
    reasons: tuple  # words, strongest first
    preferred_rank: int | None  # 1..3 when the mentor is one of the mentee's preferred, else None
    locked: bool = False


@dataclass
class Result:
    proposals: list  # sorted by mentee id
    unmatched: dict  # mentee id -> why, in words
    total: float
    mentors_with_free_places: dict  # mentor id -> places left


def preference_points(rank):
    return max(PREFERENCE_POINTS + 1 - rank, 0) if rank else 0


def preferred_rank(mentee, mentor_id):
    """1, 2 or 3 when ``mentor_id`` is among the mentee's three preferred mentors, else None."""
    top = mentee.preferred[:3]
    return top.index(mentor_id) + 1 if mentor_id in top else None


def languages_compatible(mine, theirs):
    """The round's language rule: a shared language, unless neither names one."""
    return bool(mine & theirs) or not (mine or theirs)


def pair_score(mentee, mentor, weights=Weights()):
    """(weighted score, reasons strongest first) of one pair, or None when a hard rule forbids it."""
    if (mentee.id == mentor.id or mentor.id in mentee.avoid or mentee.id in mentor.avoid
            or not languages_compatible(mentee.seeker.languages, mentor.candidate.languages)):
        return None
    parts, reasons, _ = score_parts(mentee.seeker, mentor.candidate)
    rank = preferred_rank(mentee, mentor.id)
    parts["preference"] = preference_points(rank)
    if rank:
        reasons.append(("preference", parts["preference"], f"your {ORDINALS[rank]} choice"))
    weight = weights.as_dict()
    reasons.sort(key=lambda r: -weight.get(r[0], 1) * r[1])
    return sum(weight[part] * points for part, points in parts.items()), tuple(words for _, _, words in reasons)


class _Cohort:
    """Every mentee × mentor of a round as numpy arrays: ``score`` (weighted, as pair_score) and the masks of the
    hard rules. The parts come from tables over the few distinct levels, zones and organizations, each entry
    computed by the same functions as ``explain``: tests keep ``score`` equal to ``pair_score``."""

    def __init__(self, mentees, mentors, weights, *, forbidden=(), existing=()):
        self.mentees, self.mentors, self.weights = list(mentees), list(mentors), weights
        if any(e.seeker.looks_for != MENTORS for e in self.mentees):
            raise ValueError("a mentee's seeker looks for mentors")
        self.row = {e.id: i for i, e in enumerate(self.mentees)}
        self.col = {e.id: j for j, e in enumerate(self.mentors)}
        if len(self.row) < len(self.mentees) or len(self.col) < len(self.mentors):
            raise MatchingError("A member is listed twice as mentee, or twice as mentor.")
        n, m = len(self.mentees), len(self.mentors)
        seekers = [e.seeker for e in self.mentees]
        candidates = [e.candidate for e in self.mentors]

        shared_topics = _shared([s.topic_ids for s in seekers], [c.topic_ids for c in candidates])
        levels_a, levels_b = _classes([s.level for s in seekers]), _classes([c.level for c in candidates])
        seniority = np.array([[[seniority_points(a, b, bool(h)) for h in (0, 1)] for b in levels_b[1]]
                              for a in levels_a[1]]).reshape(len(levels_a[1]), len(levels_b[1]), 2)
        seniority = seniority[levels_a[0][:, None], levels_b[0][None, :], (shared_topics > 0).astype(int)]
        overlap = np.zeros((n, m))
        days = [s.on or next_weekday() for s in seekers]
        for day in set(days):
            rows = np.array([i for i, d in enumerate(days) if d == day])
            zones_a = _zone_classes([seekers[i].time_zone for i in rows], day)
            zones_b = _zone_classes([c.time_zone for c in candidates], day)
            table = np.array([[overlap_points(overlap_hours(a, b, day)) for b in zones_b[1]] for a in zones_a[1]])
            overlap[rows] = table.reshape(len(zones_a[1]), len(zones_b[1]))[zones_a[0][:, None], zones_b[0][None, :]]
        keys = {}  # organization key -> number; -1 for none
        org_a = np.array([keys.setdefault(k, len(keys)) if (k := organization_key(s.organization)) else -1
                          for s in seekers], dtype=int)
        org_b = np.array([keys.setdefault(k, len(keys)) if (k := organization_key(c.organization)) else -1
                          for c in candidates], dtype=int)
        organization = (org_a[:, None] >= 0) & (org_b[None, :] >= 0) & (org_a[:, None] != org_b[None, :])
        preference = np.zeros((n, m))
        for i, entry in enumerate(self.mentees):
            for mentor_id in set(entry.preferred[:3]) & self.col.keys():
                preference[i, self.col[mentor_id]] = preference_points(preferred_rank(entry, mentor_id))
        w = weights
        self.score = (w.topics * TOPIC_POINTS * shared_topics + w.seniority * seniority + w.overlap * overlap
                      + w.organization * organization + w.preference * preference)

        langs_a, langs_b = [s.languages for s in seekers], [c.languages for c in candidates]
        named_a = np.array([bool(x) for x in langs_a], dtype=bool)
        named_b = np.array([bool(x) for x in langs_b], dtype=bool)
        self.language = (_shared(langs_a, langs_b) > 0) | ~(named_a[:, None] | named_b[None, :])
        self.same = np.zeros((n, m), dtype=bool)
        self.avoid = np.zeros((n, m), dtype=bool)
        for i, entry in enumerate(self.mentees):
            if entry.id in self.col:
                self.same[i, self.col[entry.id]] = True
            for other in entry.avoid:
                if other in self.col:
                    self.avoid[i, self.col[other]] = True
        for j, entry in enumerate(self.mentors):
            for other in entry.avoid:
                if other in self.row:
                    self.avoid[self.row[other], j] = True
        self.existing = self._mask(existing)
        self.forbidden = self._mask(forbidden)
        self.hard = self.language & ~self.same & ~self.avoid  # what pair_score allows
        self.eligible = self.hard & ~self.existing & ~self.forbidden
        self.capacity = np.array([max(e.capacity, 0) for e in self.mentors], dtype=int)

    def _mask(self, pairs):
        mask = np.zeros((len(self.mentees), len(self.mentors)), dtype=bool)
        for mentee_id, mentor_id in pairs:
            if mentee_id in self.row and mentor_id in self.col:
                mask[self.row[mentee_id], self.col[mentor_id]] = True
        return mask

    def lock(self, locked):
        """The locked pairs as (row, column), checked; the capacity left to the others is ``self.free``."""
        self.free = self.capacity.copy()
        pairs, seen = [], set()
        for mentee_id, mentor_id in locked:
            if mentee_id not in self.row or mentor_id not in self.col:
                raise MatchingError(f"Locked pair {mentee_id}–{mentor_id}: both must take part in the round, "
                                    "one as mentee and the other as mentor.", mentee_id, mentor_id)
            i, j = self.row[mentee_id], self.col[mentor_id]
            if not self.eligible[i, j]:
                raise MatchingError(f"Locked pair {mentee_id}–{mentor_id} cannot be paired: {self.why_not(i, j)}.",
                                    mentee_id, mentor_id)
            if i in seen:
                raise MatchingError(f"Mentee {mentee_id} is locked to more than one mentor.", mentee_id)
            if self.free[j] < 1:
                raise MatchingError(f"Mentor {mentor_id} has {self.capacity[j]} place(s): "
                                    "too few for the pairs locked to them.", mentor_id=mentor_id)
            seen.add(i)
            self.free[j] -= 1
            pairs.append((i, j))
        return pairs

    def why_not(self, i, j):
        if self.same[i, j]:
            return "the same person"
        if not self.language[i, j]:
            return "no language in common"
        if self.avoid[i, j]:
            return "one asked not to be paired with the other"
        if self.existing[i, j]:
            return "already paired"
        return "ruled out by a coordinator"

    def unmatched_reason(self, i, locked_to):
        """Why mentee ``i`` got no mentor, in an output where every eligible mentor is full (``propose`` and
        ``greedy`` both leave none with room); ``locked_to`` counts each mentor's locked pairs."""
        others = ~self.same[i]
        if not others.any():
            return "no mentor in this round"
        eligible = self.eligible[i]
        if not eligible.any():
            if not (self.language[i] & others).any():
                return "no mentor shares a language"
            silent = int((others & ~self.language[i]).sum())
            counts = [(silent, "shares no language" if silent == 1 else "share no language"),
                      ((self.language[i] & self.avoid[i]).sum(), "on an avoid list"),
                      ((self.hard[i] & self.existing[i]).sum(), "already paired with you"),
                      ((self.hard[i] & ~self.existing[i] & self.forbidden[i]).sum(), "ruled out by a coordinator")]
            return "no eligible mentor: " + ", ".join(f"{count} {words}" for count, words in counts if count)
        if not self.capacity[eligible].any():
            return "no eligible mentor has a place in this round"
        if locked_to[eligible].any():
            return "every eligible mentor's places are taken by locked or better-scoring pairs"
        return "every eligible mentor's places are taken by better-scoring pairs"

    def result(self, pairs, locked_pairs):
        proposals, used = [], np.zeros(len(self.mentors), dtype=int)
        locked_set = set(locked_pairs)
        for i, j in list(locked_pairs) + list(pairs):
            mentee, mentor = self.mentees[i], self.mentors[j]
            _, reasons = pair_score(mentee, mentor, self.weights)
            proposals.append(Proposal(mentee.id, mentor.id, float(self.score[i, j]), reasons,
                                      preferred_rank(mentee, mentor.id), locked=(i, j) in locked_set))
            used[j] += 1
        free = self.capacity - used
        locked_to = np.bincount([j for _, j in locked_pairs], minlength=len(self.mentors))
        matched = {self.row[p.mentee_id] for p in proposals}
        unmatched = {e.id: self.unmatched_reason(i, locked_to) for i, e in enumerate(self.mentees) if i not in matched}
        proposals.sort(key=lambda p: p.mentee_id)
        return Result(proposals=proposals, unmatched=dict(sorted(unmatched.items())),
                      total=sum(p.score for p in proposals),
                      mentors_with_free_places={e.id: int(free[j]) for j, e in enumerate(self.mentors) if free[j] > 0})


def _shared(sets_a, sets_b):
    """How many items each set of ``sets_a`` shares with each of ``sets_b`` (a matrix product of 0/1 rows)."""
    items = {x: k for k, x in enumerate(sorted(set().union(*sets_a), key=str))}
    a = np.zeros((len(sets_a), len(items)), dtype=np.float32)
    b = np.zeros((len(sets_b), len(items)), dtype=np.float32)
    for matrix, sets in ((a, sets_a), (b, sets_b)):
        for row, values in enumerate(sets):
            matrix[row, [items[x] for x in values if x in items]] = 1
    return (a @ b.T).astype(int)


def _classes(values):
    """(class of each value, one representative per class) of equal values."""
    index = {}
    classes = np.array([index.setdefault(v, len(index)) for v in values], dtype=int)
    return classes, list(index)


def _zone_classes(zones, day):
    """Zones grouped by their working hours in UTC around ``day`` (hundreds of zone names, a few dozen offsets):
    two zones with the same windows overlap every third zone equally. Unknown zones form one class."""
    signature = {}
    for zone in set(zones):
        try:
            tz = ZoneInfo(zone or "UTC")
        except (KeyError, ValueError):
            signature[zone] = None
            continue
        signature[zone] = tuple(_working_window(day + dt.timedelta(days=shift), tz) for shift in (-1, 0, 1))
    classes, representatives = _classes([signature[z] for z in zones])
    first = {}
    for zone in zones:
        first.setdefault(signature[zone], zone)
    return classes, [first[s] for s in representatives]


def propose(mentees, mentors, *, weights=Weights(), locked=(), forbidden=(), existing=()):
    """The pairing with the most mentees matched and, among those, the highest total weighted score.

    An exact assignment (``linear_sum_assignment``) of mentees to mentor places: each mentor's column repeated
    once per place left after the locked pairs; a pair scores BIG + its score, so that one more pair always
    outweighs any difference in scores, and a pair that breaks a hard rule 0 (dropped afterwards).
    """
    from scipy.optimize import linear_sum_assignment  # loaded here: web processes import this module too

    cohort = _Cohort(mentees, mentors, weights, forbidden=forbidden, existing=existing)
    locked_pairs = cohort.lock(locked)
    taken = {i for i, _ in locked_pairs}
    rows = np.array([i for i in range(len(cohort.mentees)) if i not in taken], dtype=int)
    slots = np.repeat(np.arange(len(cohort.mentors)), cohort.free)
    pairs = []
    if len(rows) and len(slots):
        cells = np.ix_(rows, slots)
        eligible = cohort.eligible[cells]
        weight = cohort.score[cells]  # a copy, changed in place: the largest array here
        spread = weight.max(initial=0) - min(weight.min(initial=0), 0) + 1
        weight += spread * (min(len(rows), len(slots)) + 1)  # BIG: more than any difference of two totals
        weight[~eligible] = 0
        chosen_rows, chosen_slots = linear_sum_assignment(weight, maximize=True)
        pairs = [(rows[r], slots[c]) for r, c in zip(chosen_rows, chosen_slots) if eligible[r, c]]
    return cohort.result(pairs, locked_pairs)


def greedy(mentees, mentors, *, weights=Weights(), locked=(), forbidden=(), existing=()):
    """The baseline: pairs by descending score (then mentee, then mentor), each taken while both sides are free."""
    cohort = _Cohort(mentees, mentors, weights, forbidden=forbidden, existing=existing)
    locked_pairs = cohort.lock(locked)
    free, taken = cohort.free.copy(), {i for i, _ in locked_pairs}
    rows, cols = np.nonzero(cohort.eligible)
    order = np.lexsort((cols, rows, -cohort.score[rows, cols]))
    pairs, left = [], len(cohort.mentees) - len(taken)
    for i, j in zip(rows[order].tolist(), cols[order].tolist()):
        if left == 0:
            break
        if i not in taken and free[j] > 0:
            taken.add(i)
            free[j] -= 1
            left -= 1
            pairs.append((i, j))
    return cohort.result(pairs, locked_pairs)
