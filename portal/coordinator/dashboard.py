"""The health dashboard and the at-risk list (issue 7): what a coordinator opens every morning.

Every figure is a plain dataclass built from a fixed number of queries, whatever the size of the
program: counts and sums are GROUP BY / SUM(CASE …) in SQL that SQLite and PostgreSQL both run, and
dates are bucketed in Python (weeks from a per-day grouping), so no dialect's date functions are
needed. The view only renders.

The period is the last 30, 90 or 365 days, or "this round" (``?period=round``): the latest published or closed
pairing round, from the start of its mentorships to now, or to the end of their planned length if that has passed
(see ``window``). The round is looked up once a request, whatever the period, in the same query that counts its pairs.
"""
import datetime as dt
import statistics
from dataclasses import dataclass

from flask import g, has_request_context
from peewee import JOIN, Case, fn

from .. import audit
from ..db import write_lock
from ..mentorships.reminders import quiet_since
from ..models import (
    CheckIn,
    ConnectionRequest,
    Feedback,
    Meeting,
    Mentorship,
    Notification,
    Profile,
    Round,
    User,
    utcnow,
)
from ..notifications import services as notifications
from ..requests.services import EXPIRY
from .services import CoordinatorError, waited

R = ConnectionRequest
PERIODS = (30, 90, 365)
DEFAULT_PERIOD = 90
ROUND = "round"  # the period "this round": offered only once a round has been published
WEEKS = 26  # the meetings chart: the last six months
UNANSWERED = dt.timedelta(days=7)
LOW_RATING = 2
PAIR_KINDS = ("quiet", "low_rated", "not_good_fit")  # the at-risk lists of pairs, each row with "Nudge now"
SHOWN = 10  # at-risk items of each kind on the dashboard; /coordinator/at-risk lists them all
FUNNEL = ("Sent", "Reviewed, or needed no review", "Reached the person asked", "Accepted")


def period_of(value):
    """The period asked for in days, or ROUND; the default for anything else. ROUND is only asked for: without a
    published round, ``window`` falls back to the default (no query here)."""
    if value == ROUND:
        return ROUND
    try:
        days = int(value)
    except (TypeError, ValueError):
        return DEFAULT_PERIOD
    return days if days in PERIODS else DEFAULT_PERIOD


def _count_if(condition):
    return fn.SUM(Case(None, [(condition, 1)], 0))


def latest_round():
    """The latest published or closed round (by ``starts_on``, then ``published_at``), with ``pairs`` and
    ``active`` (its mentorships, and those still active) counted in the same query; None before the first.
    One query, made once a request (the dashboard's figures and its at-risk list share it)."""
    if has_request_context() and "dashboard_round" in g:
        return g.dashboard_round
    M = Mentorship
    found = (Round.select(Round, fn.COUNT(M.id).alias("pairs"), _count_if(M.status == M.ACTIVE).alias("active"))
             .join(M, JOIN.LEFT_OUTER, on=(M.round == Round.id))
             .where(Round.status.in_((Round.PUBLISHED, Round.CLOSED)))
             .group_by(Round.id)
             .order_by(Round.starts_on.desc(), Round.published_at.is_null(), Round.published_at.desc(),
                       Round.id.desc())
             .first())
    if found is not None:
        found.pairs, found.active = int(found.pairs or 0), int(found.active or 0)
    if has_request_context():
        g.dashboard_round = found
    return found


def round_label(r):
    """"Spring 2027 round" (a name that already says "round" is kept as it is)."""
    return r.name if r.name.lower().endswith("round") else f"{r.name} round"


@dataclass
class Window:
    """What a period covers: timestamps in (``since``, ``until``], days ``first_day`` to ``last_day``."""
    period: object  # 30, 90, 365 or ROUND
    since: dt.datetime
    until: dt.datetime
    first_day: dt.date
    last_day: dt.date
    label: str  # "The last 90 days", "Spring 2027 round"
    during: str  # "in the last 90 days", "during the Spring 2027 round"
    round: Round = None  # the latest published round, whatever the period (None: "this round" is not offered)
    ended: bool = False  # ROUND: its planned length has passed (the window ends there, not now)

    @property
    def days(self):
        """Calendar days covered (at least 1, for the per-week figures of a round not begun yet)."""
        return max(1, (self.last_day - self.first_day).days + 1)


def window(period=DEFAULT_PERIOD, now=None, round_=None):
    """The window of ``period`` at ``now``; ``round_``: the latest published round (``latest_round()``).

    "This round" starts when the round's mentorships started: the morning (00:00 UTC) of its ``starts_on``, or its
    ``published_at`` if it was published later than that (publishing starts them then, as ``rounds.review.start_of``
    does). Publishing earlier does not move the start: no pair of the round meets before ``starts_on``. It runs to
    now, or to the end of its planned length (``starts_on`` + ``length_weeks``, 00:00 UTC) if that has passed. A
    round not begun yet has an empty window. Without a published round, ROUND falls back to the default period."""
    now = now or utcnow()
    if period == ROUND and round_ is not None:
        start = dt.datetime.combine(round_.starts_on, dt.time(0))
        start = max(start, round_.published_at or start)
        end = dt.datetime.combine(round_.starts_on, dt.time(0)) + dt.timedelta(weeks=round_.length_weeks)
        until = min(now, end)
        last_day = now.date() if end > now else end.date() - dt.timedelta(days=1)
        label = round_label(round_)
        return Window(ROUND, start, until, start.date(), last_day, label, f"during the {label}", round_, end <= now)
    if period not in PERIODS:
        period = DEFAULT_PERIOD
    since = now - dt.timedelta(days=period)
    # ``period`` calendar days, today included
    return Window(period, since, now, since.date() + dt.timedelta(days=1), now.date(), f"The last {period} days",
                  f"in the last {period} days", round_)


@dataclass
class Week:
    start: dt.date
    meetings: int = 0
    minutes: int = 0

    @property
    def hours(self):
        return round(self.minutes / 60, 1)


@dataclass
class Figures:
    period: object  # 30, 90, 365 or ROUND (an unavailable ROUND falls back to the default)
    since: dt.datetime
    members_active: int
    members_verified: int
    profiles_completed: int
    mentors_with_places: int
    open_requests: dict  # status -> count, now
    median_answer: dt.timedelta  # None when no request was answered in the period
    answered: int
    active_pairs: int
    meetings: int  # held in the period
    minutes: int
    average_rating: float  # None without feedback
    ratings: dict  # 1..5 -> count
    average_check_in: float  # None without check-ins
    check_ins: int
    not_good_fit: int
    weeks: list  # of Week, oldest first
    funnel: list  # of (step, count)
    window: Window
    round_pairs: int  # the latest published round's pairs (shown for the period ROUND)
    round_active: int  # and those of them still active

    @property
    def round(self):
        """The latest published round: the select offers "this round" when there is one."""
        return self.window.round

    @property
    def round_label(self):
        return round_label(self.round) if self.round else None

    @property
    def days(self):
        return self.window.days

    @property
    def median_answer_words(self):
        """"14 hours", "3 days": as long as the review queue says a request has waited."""
        return waited(self.since, self.since + self.median_answer) if self.median_answer is not None else None

    @property
    def meetings_per_week(self):
        return round(self.meetings / (self.days / 7), 1)

    @property
    def hours_per_week(self):
        return round(self.minutes / 60 / (self.days / 7), 1)

    @property
    def rating_rows(self):
        return [(f"{stars} of 5", count) for stars, count in sorted(self.ratings.items())]

    @property
    def rated(self):
        return sum(self.ratings.values())


@dataclass
class PairRisk:
    pair: Mentorship  # with .mentor and .mentee joined
    value: object  # quiet: since when (UTC); low_rated: the lowest rating; not_good_fit: when flagged (UTC)
    nudged_today: bool = False


@dataclass
class AtRisk:
    now: dt.datetime
    quiet: list  # PairRisk: no meeting held or planned for 30+ days
    low_rated: list  # PairRisk: a rating of 2 or less in the period
    not_good_fit: list  # PairRisk: flagged "not a good fit"
    unanswered: list  # ConnectionRequest with .mentor, .mentee joined, waiting 7+ days for the answer
    over_capacity: list  # (User, active mentees, capacity)
    failed_emails: int
    counts: dict  # kind -> how many in all (the lists may be cut to ``limit``)
    window: Window = None  # the period's window, for the low ratings' heading

    @property
    def total(self):
        return sum(self.counts.values())


def figures(period=DEFAULT_PERIOD, now=None):
    """The program's health over the last ``period`` days, or this round's window (the state of things now where
    a figure is a state: members, open requests, active pairs)."""
    now = now or utcnow()
    latest = latest_round()
    w = window(period, now, latest)
    since, until, first_day, last_day = w.since, w.until, w.first_day, w.last_day

    active = User.active == True  # noqa: E712
    members = (User.select(fn.COUNT(User.id), _count_if(User.verified == True),  # noqa: E712
                           _count_if(Profile.completed == True))  # noqa: E712
               .join(Profile, on=(Profile.user == User.id)).where(active).tuples().get())
    members_active, members_verified, profiles_completed = (int(n or 0) for n in members)

    taken = _taken()
    mentors_with_places = (Profile.select(fn.COUNT(Profile.user)).join(User)
                           .join(taken, JOIN.LEFT_OUTER, on=(taken.c.mentor_id == Profile.user))
                           .where(_offering() & (Profile.capacity > fn.COALESCE(taken.c.taken, 0))).scalar())
    active_pairs = Mentorship.select().where(Mentorship.status == Mentorship.ACTIVE).count()
    open_requests = dict.fromkeys(R.OPEN, 0)
    open_requests.update(R.select(R.status, fn.COUNT(R.id)).where(R.status.in_(R.OPEN)).group_by(R.status).tuples())

    # Time to an answer: from reaching the person asked (``expires_at`` is set then) to their answer.
    waits = [answered - (expires - EXPIRY) for expires, answered in
             R.select(R.expires_at, R.answered_at).where((R.answered_at > since) & (R.answered_at <= until)
                                                        & R.expires_at.is_null(False))
             .tuples()]

    today = now.date()
    first_week = today - dt.timedelta(days=today.weekday() + 7 * (WEEKS - 1))
    weeks = [Week(first_week + dt.timedelta(weeks=i)) for i in range(WEEKS)]
    meetings = minutes = 0
    for day, count, total in (Meeting.select(Meeting.held_on, fn.COUNT(Meeting.id), fn.SUM(Meeting.duration_minutes))
                              .where((Meeting.status == Meeting.HELD) & (Meeting.held_on >= min(first_week, first_day))
                                     & (Meeting.held_on <= today))
                              .group_by(Meeting.held_on).tuples()):
        day = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))
        if first_day <= day <= last_day:
            meetings, minutes = meetings + count, minutes + int(total or 0)
        if day >= first_week:
            week = weeks[(day - first_week).days // 7]
            week.meetings, week.minutes = week.meetings + count, week.minutes + int(total or 0)

    ratings = dict.fromkeys(range(1, 6), 0)
    ratings.update(Feedback.select(Feedback.rating, fn.COUNT(Feedback.id))
                   .where((Feedback.created_at > since) & (Feedback.created_at <= until))
                   .group_by(Feedback.rating).tuples())
    rated = sum(ratings.values())
    check_in_average, check_ins = CheckIn.select(fn.AVG(CheckIn.score), fn.COUNT(CheckIn.id)).where(
        (CheckIn.created_at > since) & (CheckIn.created_at <= until)).tuples().get()

    # "Not a good fit": said after the first meeting (the pair is flagged, until a coordinator clears it),
    # or given as the reason to end the pair.
    M = Mentorship
    said = (Feedback.select(Meeting.mentorship).join(Meeting)
            .where((Feedback.good_fit == False) & (Feedback.created_at > since)  # noqa: E712
                   & (Feedback.created_at <= until))
            | M.select(M.id).where((M.flagged_at > since) & (M.flagged_at <= until))
            | M.select(M.id).where((M.end_reason == "not_a_good_fit") & (M.ended_at > since)
                                   & (M.ended_at <= until)))
    not_good_fit = len({pair_id for (pair_id,) in said.tuples()})

    reached = R.expires_at.is_null(False)
    funnel = (R.select(fn.COUNT(R.id), _count_if(R.reviewed_at.is_null(False) | reached), _count_if(reached),
                       _count_if(R.status == R.ACCEPTED))
              .where((R.created_at > since) & (R.created_at <= until)).tuples().get())

    return Figures(
        period=w.period, since=since, members_active=members_active, members_verified=members_verified,
        profiles_completed=profiles_completed,
        mentors_with_places=mentors_with_places,
        open_requests=open_requests, median_answer=statistics.median(waits) if waits else None, answered=len(waits),
        active_pairs=active_pairs, meetings=meetings, minutes=minutes,
        average_rating=round(sum(k * n for k, n in ratings.items()) / rated, 2) if rated else None, ratings=ratings,
        average_check_in=round(float(check_in_average), 2) if check_ins else None, check_ins=check_ins,
        not_good_fit=not_good_fit, weeks=weeks,
        funnel=[(label, int(n or 0)) for label, n in zip(FUNNEL, funnel)],
        window=w, round_pairs=latest.pairs if latest else 0, round_active=latest.active if latest else 0,
    )


def _taken():
    """Each mentor's active pairs, as a subquery (``mentor_id``, ``taken``)."""
    M = Mentorship
    return (M.select(M.mentor, fn.COUNT(M.id).alias("taken")).where(M.status == M.ACTIVE)
            .group_by(M.mentor).alias("taken"))


def _offering():
    return (Profile.offers_mentoring == True) & (User.active == True)  # noqa: E712


def at_risk(period=DEFAULT_PERIOD, now=None, limit=SHOWN):
    """What needs a coordinator's attention now, each kind cut to ``limit`` (None: all), most urgent first.
    Low ratings count over the period's window (ROUND: this round's, the round looked up once a request)."""
    now = now or utcnow()
    w = window(period, now, latest_round())
    since, until = w.since, w.until
    M = Mentorship
    active = M.status == M.ACTIVE

    quiet = sorted(quiet_since(None, now).items(), key=lambda item: (item[1], item[0]))
    low = list(Feedback.select(Meeting.mentorship, fn.MIN(Feedback.rating)).join(Meeting).join(M)
               .where(active & (Feedback.rating <= LOW_RATING) & (Feedback.created_at > since)
                      & (Feedback.created_at <= until))
               .group_by(Meeting.mentorship).order_by(fn.MIN(Feedback.rating), Meeting.mentorship).tuples())
    flagged = list(M.select(M.id, M.flagged_at).where(active & M.flagged_at.is_null(False))
                   .order_by(M.flagged_at, M.id).tuples())
    cut = (lambda rows: rows) if limit is None else (lambda rows: rows[:limit])

    pairs = _pairs({pair_id for rows in (quiet, low, flagged) for pair_id, _ in cut(rows)})
    nudged = _nudged_today(pairs.values(), now)

    def risks(rows):
        return [PairRisk(pairs[pair_id], value, pair_id in nudged) for pair_id, value in cut(rows)]

    Mentor, Mentee = User.alias(), User.alias()
    waiting = (R.select(R, Mentor, Mentee)
               .join(Mentor, on=(R.mentor == Mentor.id), attr="mentor").switch(R)
               .join(Mentee, on=(R.mentee == Mentee.id), attr="mentee")
               .where((R.status == R.PENDING_MENTOR) & (R.expires_at <= now - UNANSWERED + EXPIRY))
               .order_by(R.expires_at, R.id))
    unanswered = list(waiting if limit is None else waiting.limit(limit))
    unanswered_count = waiting.count()
    for req in unanswered:
        req.reached_at = req.expires_at - EXPIRY  # when it reached the person asked

    taken = _taken()
    over = list(User.select(User.id, User.name, taken.c.taken, Profile.capacity).join(Profile)
                .join(taken, on=(taken.c.mentor_id == User.id))
                .where(_offering() & (taken.c.taken > Profile.capacity))
                .order_by(Profile.capacity - taken.c.taken, User.id).objects())
    failed = Notification.select().where(Notification.status == Notification.FAILED).count()

    return AtRisk(
        now=now, quiet=risks(quiet), low_rated=risks(low), not_good_fit=risks(flagged),
        unanswered=unanswered,
        over_capacity=[(user, user.taken, user.capacity) for user in cut(over)],
        failed_emails=failed,
        counts={"quiet": len(quiet), "low_rated": len(low), "not_good_fit": len(flagged),
                "unanswered": unanswered_count, "over_capacity": len(over), "failed_emails": failed},
        window=w,
    )


def _pairs(ids):
    """``{id: Mentorship}`` with both partners joined (``pair.mentor.name`` costs nothing)."""
    if not ids:
        return {}
    Mentor, Mentee = User.alias(), User.alias()
    M = Mentorship
    query = (M.select(M, Mentor, Mentee)
             .join(Mentor, on=(M.mentor == Mentor.id), attr="mentor").switch(M)
             .join(Mentee, on=(M.mentee == Mentee.id), attr="mentee")
             .where(M.id.in_(sorted(ids))))
    return {pair.id: pair for pair in query}


# --- nudging a pair ------------------------------------------------------------------------------

def _nudge_key(pair_id, day, recipient_id):
    return f"mentorship:{pair_id}:{notifications.PAIR_NUDGE}:{day:%Y%m%d}:{recipient_id}"


def _nudged_today(pairs, now):
    """The ids of ``pairs`` a coordinator has nudged today (UTC): their keys looked up in the unique index."""
    keys = {_nudge_key(pair.id, now.date(), pair.mentor_id): pair.id for pair in pairs}
    if not keys:
        return set()
    return {keys[key] for (key,) in Notification.select(Notification.dedupe_key)
            .where(Notification.dedupe_key.in_(list(keys))).tuples()}


def nudge(actor, pair_id, now=None):
    """A coordinator nudges a pair: both partners are told a coordinator asks how it goes, once a day.
    Returns the pair (partners joined) and whether the nudge is new today; None when there is no such pair."""
    if not actor.is_coordinator:
        raise CoordinatorError("Only coordinators can do this.")
    now = now or utcnow()
    with write_lock():
        pair = _pairs({pair_id}).get(pair_id)
        if pair is None:
            return None, False
        if pair.status != Mentorship.ACTIVE:
            raise CoordinatorError(f"The mentorship of {pair.mentor.name} and {pair.mentee.name} has ended: "
                                   "there is nothing to nudge.")
        if actor.id in (pair.mentor_id, pair.mentee_id):
            raise CoordinatorError("This is your own mentorship: another coordinator will nudge it.")
        context = {"mentorship_id": pair.id, "by": actor.id}
        new = False
        for me, partner in ((pair.mentor, pair.mentee), (pair.mentee, pair.mentor)):
            new |= notifications.notify(me.id, notifications.PAIR_NUDGE,
                                        f"How is your mentorship with {partner.name} going?",
                                        _nudge_key(pair.id, now.date(), me.id), context=context, now=now)
        if new:
            audit.record(actor, "mentorship.nudged", f"mentorship:{pair.id}", f"{pair.mentor.name} and "
                         f"{pair.mentee.name}")
    return pair, new

