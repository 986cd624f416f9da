"""The pair's reminders, written by the sweep when their time comes (DESIGN §6).

- meeting soon: both partners, 24 h before a scheduled meeting arranged before that day;
- log your meeting: both partners, 2 h after a scheduled meeting ended, if nobody logged it (for a week);
- feedback due: a partner who gave none, 2 days after the meeting was logged (for a week);
- pair quiet: both partners after 30 days without a meeting held or planned; coordinators at 45;
- check-in: both partners, 30 days after the mentorship started, then every 60 days (the round
  number is in the key).

Each function writes the reminders due at ``now`` and returns how many. A dedupe key names what
the reminder is about (the meeting's start time, the day the quiet began), so that running the
sweep again, or twice at once, writes nothing twice, while a meeting moved to another time, or a
pair quiet again after a new meeting, is reminded anew. Delivery re-checks each reminder against
the data as it is then (``portal.notifications.delivery``) and skips one that no longer holds.
"""
import datetime as dt

from peewee import fn

from ..models import Feedback, Meeting, Mentorship, User, utcnow
from ..notifications import services as notifications
from . import services, times

SOON = dt.timedelta(hours=24)
LOG_AFTER = dt.timedelta(hours=2)
FEEDBACK_AFTER = dt.timedelta(days=2)
WINDOW = dt.timedelta(days=7)  # a reminder that could not go out within a week is not written any more
QUIET = dt.timedelta(days=30)
QUIET_COORDINATORS = dt.timedelta(days=45)


def write_due(now=None):
    """Every pair reminder due at ``now``; returns how many were written."""
    now = now or utcnow()
    return meeting_soon(now) + log_your_meeting(now) + feedback_due(now) + pair_quiet(now) + check_in(now)


def _write(items, now):
    """``items``: (recipient id, kind, subject, dedupe key, context); writes those whose key is new, due now."""
    known = notifications.known_keys(item[3] for item in items)
    written = 0
    for recipient, kind, subject, key, context in items:
        if key not in known:
            written += notifications.notify(recipient, kind, subject, key, context=context, now=now)
    return written


def _names(*ids):
    return dict(User.select(User.id, User.name).where(User.id.in_(list(set(ids)))).tuples())


def _scheduled(start_from, start_until):
    return list(Meeting.select(Meeting, Mentorship.mentor, Mentorship.mentee).join(Mentorship)
                .where((Meeting.status == Meeting.SCHEDULED) & (Mentorship.status == Mentorship.ACTIVE)
                       & (Meeting.starts_at > start_from) & (Meeting.starts_at <= start_until))
                .order_by(Meeting.id))


def _partners(meeting):
    pair = meeting.mentorship
    return ((pair.mentor_id, pair.mentee_id), (pair.mentee_id, pair.mentor_id))


def meeting_soon(now=None):
    """Both partners, 24 h before a meeting; not for one arranged or changed within that day, since
    its invitation has just told them."""
    now = now or utcnow()
    meetings = [m for m in _scheduled(now, now + SOON) if m.updated_at <= m.starts_at - SOON]
    people = {u.id: u for u in User.select(User.id, User.name, User.time_zone).where(
        User.id.in_([person for m in meetings for pair in _partners(m) for person in pair]))} if meetings else {}
    kind = notifications.MEETING_SOON
    return _write([(me, kind, f"{day_word(m.starts_at, people[me], now).capitalize()}: your mentoring meeting "
                              f"with {people[partner].name}",
                   f"meeting:{m.id}:{kind}:{m.starts_at:%Y%m%dT%H%M}:{me}",
                   {"meeting_id": m.id, "mentorship_id": m.mentorship_id, "starts_at": m.starts_at})
                  for m in meetings for me, partner in _partners(m)], now)


def day_word(moment, person, now):
    """"today" or "tomorrow", as the person's own calendar says of a moment less than a day away."""
    return "today" if times.today(person.time_zone, moment) == times.today(person.time_zone, now) else "tomorrow"


def log_your_meeting(now=None):
    """Both partners, 2 h after a scheduled meeting ended, while nobody has logged it."""
    now = now or utcnow()
    meetings = [m for m in _scheduled(now - WINDOW, now - LOG_AFTER) if m.ends_at + LOG_AFTER <= now]
    names = _names(*(person for m in meetings for pair in _partners(m) for person in pair))
    kind = notifications.LOG_MEETING
    return _write([(me, kind, f"How did your meeting with {names[partner]} go? Log it",
                   f"meeting:{m.id}:{kind}:{me}", {"meeting_id": m.id, "mentorship_id": m.mentorship_id})
                  for m in meetings for me, partner in _partners(m)], now)


def feedback_due(now=None):
    """Each partner who has given no feedback 2 days after the meeting was logged."""
    now = now or utcnow()
    meetings = list(Meeting.select(Meeting, Mentorship.mentor, Mentorship.mentee).join(Mentorship)
                    .where((Meeting.status == Meeting.HELD) & (Mentorship.status == Mentorship.ACTIVE)
                           & (Meeting.logged_at > now - FEEDBACK_AFTER - WINDOW)
                           & (Meeting.logged_at <= now - FEEDBACK_AFTER))
                    .order_by(Meeting.id))
    given = set(Feedback.select(Feedback.meeting, Feedback.author)
                .where(Feedback.meeting.in_([m.id for m in meetings])).tuples()) if meetings else set()
    owed = [(m, me, partner) for m in meetings for me, partner in _partners(m) if (m.id, me) not in given]
    names = _names(*(partner for _, _, partner in owed))
    kind = notifications.FEEDBACK_DUE
    return _write([(me, kind, f"How was your meeting with {names[partner]}? A minute of feedback",
                   f"meeting:{m.id}:{kind}:{me}", {"meeting_id": m.id, "mentorship_id": m.mentorship_id})
                  for m, me, partner in owed], now)


def quiet_since(pair_ids, now):
    """``{mentorship id: when it went quiet}`` for the active pairs among ``pair_ids`` (all when None)
    that have held no meeting for ``QUIET`` and have none scheduled: the day of the last meeting
    held, or the start of the mentorship."""
    held = (Meeting.select(Meeting.mentorship, fn.MAX(Meeting.held_on))
            .where(Meeting.status == Meeting.HELD).group_by(Meeting.mentorship))
    upcoming = Meeting.select(Meeting.mentorship).where((Meeting.status == Meeting.SCHEDULED)
                                                        & (Meeting.starts_at > now))
    pairs = Mentorship.select(Mentorship.id, Mentorship.started_at).where(
        (Mentorship.status == Mentorship.ACTIVE) & (Mentorship.started_at <= now - QUIET)
        & Mentorship.id.not_in(upcoming))
    if pair_ids is not None:
        pairs = pairs.where(Mentorship.id.in_(list(pair_ids)))
        held = held.where(Meeting.mentorship.in_(list(pair_ids)))
    last_held = dict(held.tuples())
    quiet = {}
    for pair_id, started_at in pairs.tuples():
        day = last_held.get(pair_id)
        since = max(started_at, dt.datetime.combine(day, dt.time())) if day else started_at
        if since <= now - QUIET:
            quiet[pair_id] = since
    return quiet


def pair_quiet(now=None):
    """Both partners after 30 quiet days; every coordinator outside the pair after 45."""
    now = now or utcnow()
    quiet = quiet_since(None, now)
    pairs = {m.id: m for m in Mentorship.select(Mentorship.id, Mentorship.mentor, Mentorship.mentee)
             .where(Mentorship.id.in_(list(quiet)))} if quiet else {}
    names = _names(*(person for m in pairs.values() for person in (m.mentor_id, m.mentee_id)))
    coordinators = notifications.coordinators()
    kind = notifications.PAIR_QUIET
    items = []
    for pair_id, since in quiet.items():
        m = pairs[pair_id]
        context = {"mentorship_id": pair_id, "since": since}
        for me, partner in ((m.mentor_id, m.mentee_id), (m.mentee_id, m.mentor_id)):
            items.append((me, kind, f"It has been a while: time to meet {names[partner]}?",
                          f"mentorship:{pair_id}:{kind}:{since:%Y%m%d}:{me}", context))
        if since <= now - QUIET_COORDINATORS:
            for coordinator in coordinators:
                if coordinator.id not in (m.mentor_id, m.mentee_id):
                    items.append((coordinator.id, kind,
                                  f"{names[m.mentor_id]} and {names[m.mentee_id]} have not met for "
                                  f"{(now - since).days} days",
                                  f"mentorship:{pair_id}:{kind}:{since:%Y%m%d}:{coordinator.id}", context))
    return _write(items, now)


def check_in(now=None):
    """Both partners of each active pair, when a check-in round opens (within a week of it)."""
    now = now or utcnow()
    pairs = [m for m in Mentorship.select(Mentorship.id, Mentorship.mentor, Mentorship.mentee, Mentorship.started_at)
             .where((Mentorship.status == Mentorship.ACTIVE)
                    & (Mentorship.started_at <= now - services.CHECK_IN_FIRST)).order_by(Mentorship.id)
             if services.check_in_due_at(m, services.check_in_round(m, now)) > now - WINDOW]
    names = _names(*(person for m in pairs for person in (m.mentor_id, m.mentee_id))) if pairs else {}
    kind = notifications.CHECK_IN
    items = []
    for m in pairs:
        round_number = services.check_in_round(m, now)
        for me, partner in ((m.mentor_id, m.mentee_id), (m.mentee_id, m.mentor_id)):
            items.append((me, kind, f"How is your mentorship with {names[partner]} going?",
                          f"mentorship:{m.id}:{kind}:{round_number}:{me}",
                          {"mentorship_id": m.id, "round": round_number}))
    return _write(items, now)
