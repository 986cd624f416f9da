"""Pairing rounds (DESIGN journey 6): coordinators create rounds and move them along; members opt in.

A round goes draft → open → matching → published → closed:

- draft: being prepared, only coordinators see it; it can be edited;
- open: members opt in (``join``), change their entry, or withdraw (``leave``); it can still be edited.
  Opening it tells every active member with a completed profile (``news.opened``); when its ``opens_on``
  day is still ahead, opening it now makes today its first day;
- matching: sign-ups are closed while coordinators match and review (``portal.rounds`` matching part);
  it can go back to open (sign-ups reopen, nobody is told again) until its pairs are published;
- published: set by the publish service with the mentorships it created; then closed when the round is over.

The ``closes_on`` day is the deadline members are told of (and reminded of 3 days before); sign-ups close
when a coordinator moves the round to matching, so a late entry is never lost by a clock.

An entry is as mentor (a capacity of 1 to 5 and the topics offered in this round), as mentee (the topics
sought), or both, on different topics; the member confirms their profile is up to date. A mentee names up
to three preferred mentors among the round's mentors, in order, and anyone may name people they must never
be paired with. Every change is one function here: checked, audited, in one transaction.
"""
from dataclasses import dataclass

from peewee import JOIN, fn

from .. import audit
from ..db import locked, write_lock
from ..models import (
    Profile,
    ProfileTopic,
    Round,
    RoundEntry,
    RoundEntryTopic,
    RoundExclusion,
    RoundPreference,
    Topic,
    User,
    utcnow,
)
from . import news

NAME_MAX = 80
MIN_WEEKS, MAX_WEEKS = 4, 104
MAX_CAPACITY = 5
MAX_PREFERENCES = 3
MAX_EXCLUSIONS = 10
SEARCH_LIMIT = 10
EDITABLE = (Round.DRAFT, Round.OPEN)
STATUS_LABEL = {Round.DRAFT: "Draft", Round.OPEN: "Open for sign-ups", Round.MATCHING: "Matching",
                Round.PUBLISHED: "Published", Round.CLOSED: "Closed"}
# The moves a coordinator makes (published is the publish service's): target -> (allowed from, button, done).
MOVES = {
    Round.OPEN: ((Round.DRAFT, Round.MATCHING), "Open sign-ups", "is open: members are told and can sign up"),
    Round.MATCHING: ((Round.OPEN,), "Close sign-ups and start matching", "is closed to sign-ups: time to match"),
    Round.CLOSED: ((Round.PUBLISHED,), "Close the round", "is closed"),
}


class RoundError(Exception):
    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


def today(now=None):
    """The program's calendar day: rounds' days are the same for everyone, in UTC."""
    return (now or utcnow()).date()


# --- coordinators: rounds --------------------------------------------------------------------------

@dataclass
class RoundRow:
    round: Round
    mentors: int
    places: int
    mentees: int


def round_list():
    """Every round, newest first, with its numbers of mentors, mentor places and mentees (one query)."""
    E = RoundEntry
    rows = (Round.select(Round, fn.COUNT(E.id).filter(E.as_mentor == True).alias("mentors"),  # noqa: E712
                         fn.COALESCE(fn.SUM(E.capacity), 0).alias("places"),  # 0 unless a mentor
                         fn.COUNT(E.id).filter(E.as_mentee == True).alias("mentees"))  # noqa: E712
            .join(E, JOIN.LEFT_OUTER, on=(E.round == Round.id))
            .group_by(Round.id).order_by(Round.opens_on.desc(), Round.id.desc()))
    return [RoundRow(r, r.mentors or 0, int(r.places or 0), r.mentees or 0) for r in rows]


def check_round(name, opens_on, closes_on, starts_on, length_weeks, current=None):
    """The first problem with these values, as a RoundError on its field (None when all is well)."""
    name = (name or "").strip()
    if not name:
        raise RoundError("Give the round a name, such as “Spring 2027”.", "name")
    if len(name) > NAME_MAX:
        raise RoundError(f"Keep the name under {NAME_MAX} characters.", "name")
    same = Round.select().where(fn.LOWER(Round.name) == name.lower())
    if current is not None:
        same = same.where(Round.id != current.id)
    if same.exists():
        raise RoundError(f"Another round is already called “{name}”: choose another name.", "name")
    for field, label, value in (("opens_on", "opens", opens_on), ("closes_on", "closes", closes_on),
                                ("starts_on", "mentorships start", starts_on)):
        if value is None:
            raise RoundError(f"Enter the day the round {label} as year-month-day, for example 2027-03-01.", field)
    if closes_on < opens_on:
        raise RoundError("The round closes before it opens: choose a closing day on or after the opening day.",
                         "closes_on")
    if starts_on < closes_on:
        raise RoundError("The mentorships would start before sign-ups close: choose a start on or after the "
                         "closing day.", "starts_on")
    if length_weeks is None or not MIN_WEEKS <= length_weeks <= MAX_WEEKS:
        raise RoundError(f"Plan the mentorships for {MIN_WEEKS} to {MAX_WEEKS} weeks.", "length_weeks")
    return name


def create_round(actor, name, opens_on, closes_on, starts_on, length_weeks, now=None):
    now = now or utcnow()
    with write_lock():
        name = check_round(name, opens_on, closes_on, starts_on, length_weeks)
        r = Round.create(name=name, opens_on=opens_on, closes_on=closes_on, starts_on=starts_on,
                         length_weeks=length_weeks, created_by=actor, created_at=now)
        audit.record(actor, "round.created", f"round:{r.id}", _summary(r))
    return r


def update_round(actor, r, name, opens_on, closes_on, starts_on, length_weeks):
    with write_lock():
        r = locked(Round.select().where(Round.id == r.id)).first()
        if r.status not in EDITABLE:
            raise RoundError(f"“{r.name}” is {STATUS_LABEL[r.status].lower()}: its details can no longer change.")
        name = check_round(name, opens_on, closes_on, starts_on, length_weeks, current=r)
        r.name, r.opens_on, r.closes_on, r.starts_on, r.length_weeks = (name, opens_on, closes_on, starts_on,
                                                                          length_weeks)
        r.save()
        audit.record(actor, "round.updated", f"round:{r.id}", _summary(r))
    return r


def _summary(r):
    return (f"{r.name}: open {r.opens_on}–{r.closes_on}, mentorships from {r.starts_on} "
            f"for {r.length_weeks} weeks")


def move(actor, r, target, now=None):
    """Move a round to ``target`` (a key of MOVES), checked; opening it tells the members. Returns the round."""
    now = now or utcnow()
    if target not in MOVES:
        raise RoundError("Choose one of the moves the page offers.")
    allowed, _, _ = MOVES[target]
    with write_lock():
        r = locked(Round.select().where(Round.id == r.id)).first()
        if r.status == target:
            raise RoundError(f"“{r.name}” is already {STATUS_LABEL[target].lower()}.")
        if r.status not in allowed:
            raise RoundError(f"“{r.name}” is {STATUS_LABEL[r.status].lower()}: it cannot be moved to "
                             f"{STATUS_LABEL[target].lower()} from there.")
        before = r.status
        # A draft past its closing day is edited first; a round reopened after matching (for late entries)
        # keeps the days members were told.
        if target == Round.OPEN and before == Round.DRAFT and r.closes_on < today(now):
            raise RoundError(f"“{r.name}” closed on {r.closes_on:%d %B %Y}: move its closing day to today or "
                             "later first (Edit).")
        if target == Round.OPEN and r.opens_on > today(now):
            r.opens_on = today(now)  # opened early: today is its first day
        r.status = target
        r.save()
        told = news.opened(r, now) if target == Round.OPEN else 0
        audit.record(actor, f"round.{target}", f"round:{r.id}",
                     f"{r.name}: {before} → {target}" + (f", {told} member(s) told" if told else ""))
    return r


def any_open():
    return Round.select().where(Round.status == Round.OPEN).exists()


# --- members: entries ---------------------------------------------------------------------------------

def open_round_or_none(round_id):
    return Round.get_or_none((Round.id == round_id) & (Round.status == Round.OPEN))


def entry_of(user, r):
    return RoundEntry.get_or_none((RoundEntry.round == r.id) & (RoundEntry.user == user.id))


def my_rounds(user):
    """The open rounds and the rounds I joined, each with my entry (or None), the open ones first (2 queries)."""
    mine = {e.round_id: e for e in RoundEntry.select().where(RoundEntry.user == user.id)}
    rounds = list(Round.select().where((Round.status == Round.OPEN) | Round.id.in_(list(mine) or [0]))
                  .order_by(Round.status != Round.OPEN, Round.closes_on.desc(), Round.id.desc()))
    return [(r, mine.get(r.id)) for r in rounds]


def entry_topics(entry):
    """``{offers: [topic id…], seeks: [topic id…]}`` of an entry."""
    found = {ProfileTopic.OFFERS: [], ProfileTopic.SEEKS: []}
    if entry is not None:
        for topic_id, kind in (RoundEntryTopic.select(RoundEntryTopic.topic, RoundEntryTopic.kind)
                               .where(RoundEntryTopic.entry == entry.id).tuples()):
            found[kind].append(topic_id)
    return found


def profile_defaults(user):
    """What a new entry starts from: the member's profile (roles, capacity within 1–5, topics)."""
    profile = Profile.get(Profile.user == user.id)
    topics = {ProfileTopic.OFFERS: [], ProfileTopic.SEEKS: []}
    for topic_id, kind in (ProfileTopic.select(ProfileTopic.topic, ProfileTopic.kind)
                           .where(ProfileTopic.profile == user.id).tuples()):
        topics[kind].append(topic_id)
    return dict(as_mentor=profile.offers_mentoring, as_mentee=profile.seeks_mentoring,
                capacity=min(max(profile.capacity, 1), MAX_CAPACITY), offers=topics[ProfileTopic.OFFERS],
                seeks=topics[ProfileTopic.SEEKS])


def join(user, r, as_mentor, capacity, offers, as_mentee, seeks, confirmed, now=None):
    """Opt in to the open round ``r``, or change my entry; returns the entry."""
    now = now or utcnow()
    offers, seeks = list(dict.fromkeys(offers or [])), list(dict.fromkeys(seeks or []))
    if not as_mentor and not as_mentee:
        raise RoundError("Choose how you take part: as a mentor, as a mentee, or both.", "as_mentor")
    known = {t.id: t.name for t in Topic.select(Topic.id, Topic.name).where(Topic.id.in_(offers + seeks or [0]))}
    if as_mentor:
        if capacity is None or not 1 <= capacity <= MAX_CAPACITY:
            raise RoundError(f"Choose how many mentees you take in this round: 1 to {MAX_CAPACITY}.", "capacity")
        if not offers:
            raise RoundError("Choose at least one topic you offer as a mentor in this round.", "offers")
    if as_mentee and not seeks:
        raise RoundError("Choose at least one topic you want to be mentored on in this round.", "seeks")
    if any(t not in known for t in offers + seeks):
        raise RoundError("Choose topics from the list.", "offers" if any(t not in known for t in offers) else "seeks")
    both = set(offers) & set(seeks) if as_mentor and as_mentee else set()
    if both:
        names = ", ".join(sorted(known[t] for t in both))
        raise RoundError(f"You chose {names} both to offer and to seek: mentor and be mentored on different "
                         "topics.", "seeks")
    if not confirmed:
        raise RoundError("Confirm that your profile is up to date: the matching reads it.", "confirmed")
    with write_lock():
        r = locked(Round.select().where(Round.id == r.id)).first()
        if r.status != Round.OPEN:
            raise RoundError(f"“{r.name}” is no longer open for sign-ups.")
        me = User.get_by_id(user.id)
        if not me.active or not Profile.get(Profile.user == me.id).completed:
            raise RoundError("Complete your profile first: the matching reads it.", "confirmed")
        entry = locked(RoundEntry.select().where((RoundEntry.round == r.id) & (RoundEntry.user == me.id))).first()
        new = entry is None
        if new:
            entry = RoundEntry(round=r, user=me, created_at=now)
        entry.as_mentor, entry.capacity = bool(as_mentor), capacity if as_mentor else 0
        entry.as_mentee, entry.confirmed_at, entry.updated_at = bool(as_mentee), now, now
        entry.save()
        RoundEntryTopic.delete().where(RoundEntryTopic.entry == entry.id).execute()
        rows = [dict(entry=entry.id, topic=t, kind=ProfileTopic.OFFERS) for t in (offers if as_mentor else [])]
        rows += [dict(entry=entry.id, topic=t, kind=ProfileTopic.SEEKS) for t in (seeks if as_mentee else [])]
        RoundEntryTopic.insert_many(rows).execute()
        if not as_mentee:  # preferred mentors are a mentee's
            RoundPreference.delete().where(RoundPreference.entry == entry.id).execute()
        roles = " and ".join(role for role, on in (("mentor", as_mentor), ("mentee", as_mentee)) if on)
        audit.record(me, "round.joined" if new else "round.entry_changed", f"round:{r.id}",
                     f"as {roles}" + (f", capacity {capacity}" if as_mentor else ""))
    return entry


def leave(user, r):
    """Withdraw my entry (with its topics, preferences and exclusions) while the round is open."""
    with write_lock():
        r = locked(Round.select().where(Round.id == r.id)).first()
        if r.status != Round.OPEN:
            raise RoundError(f"“{r.name}” is no longer open: your entry can no longer change.")
        gone = RoundEntry.delete().where((RoundEntry.round == r.id) & (RoundEntry.user == user.id)).execute()
        if not gone:
            raise RoundError(f"You have not joined “{r.name}”.")
        audit.record(user, "round.left", f"round:{r.id}")


# --- members: preferred mentors and "never pair me with" ------------------------------------------------

def _my_entry(user, r):
    """My entry in the open round, locked, or a RoundError."""
    r = locked(Round.select().where(Round.id == r.id)).first()
    if r.status != Round.OPEN:
        raise RoundError(f"“{r.name}” is no longer open: your entry can no longer change.")
    entry = locked(RoundEntry.select().where((RoundEntry.round == r.id) & (RoundEntry.user == user.id))).first()
    if entry is None:
        raise RoundError("Join the round first.")
    return r, entry


def preferences(entry):
    """My preferred mentors, in order: ``[(rank, user)]``."""
    if entry is None:
        return []
    return [(p.rank, p.mentor) for p in RoundPreference.select(RoundPreference, User)
            .join(User, on=(RoundPreference.mentor == User.id)).where(RoundPreference.entry == entry.id)
            .order_by(RoundPreference.rank)]


def exclusions(entry):
    if entry is None:
        return []
    return [x.other for x in RoundExclusion.select(RoundExclusion, User)
            .join(User, on=(RoundExclusion.other == User.id)).where(RoundExclusion.entry == entry.id)
            .order_by(User.name, User.id)]


def _named(q):
    q = (q or "").replace("\x00", "").strip()[:100]
    return q, fn.LOWER(User.name).contains(q.lower())


def find_mentors(r, user, q):
    """The round's mentors (who joined as mentors so far) whose name contains ``q``, not me."""
    q, named = _named(q)
    if len(q) < 2:
        return []
    return list(User.select().join(RoundEntry, on=(RoundEntry.user == User.id))
                .where((RoundEntry.round == r.id) & (RoundEntry.as_mentor == True)  # noqa: E712
                       & (User.id != user.id) & (User.active == True) & named)  # noqa: E712
                .order_by(User.name, User.id).limit(SEARCH_LIMIT))


def find_members(user, q):
    """Active members whose name contains ``q``, not me: whom I may ask never to be paired with."""
    q, named = _named(q)
    if len(q) < 2:
        return []
    return list(User.select().where((User.active == True) & User.deleted_at.is_null()  # noqa: E712
                                    & (User.id != user.id) & named)
                .order_by(User.name, User.id).limit(SEARCH_LIMIT))


def add_preference(user, r, mentor_id):
    """Name a preferred mentor, after those already named (ranks 1 to 3)."""
    with write_lock():
        r, entry = _my_entry(user, r)
        if not entry.as_mentee:
            raise RoundError("Preferred mentors are for mentees: join as a mentee to name them.", "mentor_q")
        if mentor_id == user.id:
            raise RoundError("You cannot prefer yourself as your mentor.", "mentor_q")
        mentor = (User.select().join(RoundEntry, on=(RoundEntry.user == User.id))
                  .where((User.id == mentor_id) & (RoundEntry.round == r.id)
                         & (RoundEntry.as_mentor == True)).first())  # noqa: E712
        if mentor is None:
            raise RoundError("Choose a mentor of this round from the search.", "mentor_q")
        ranks = {p.mentor_id: p.rank for p in RoundPreference.select().where(RoundPreference.entry == entry.id)}
        if mentor.id in ranks:
            raise RoundError(f"{mentor.name} is already your choice number {ranks[mentor.id]}.", "mentor_q")
        if len(ranks) >= MAX_PREFERENCES:
            raise RoundError(f"You have named {MAX_PREFERENCES} mentors already: remove one to choose another.",
                             "mentor_q")
        if RoundExclusion.select().where((RoundExclusion.entry == entry.id)
                                         & (RoundExclusion.other == mentor.id)).exists():
            raise RoundError(f"You asked never to be paired with {mentor.name}: remove that first.", "mentor_q")
        rank = len(ranks) + 1
        RoundPreference.create(entry=entry, mentor=mentor, rank=rank)
        audit.record(user, "round.preference_added", f"round:{r.id}", f"mentor user:{mentor.id} as choice {rank}")
    return mentor


def remove_preference(user, r, mentor_id):
    """Remove a preferred mentor; those after move up one place."""
    with write_lock():
        r, entry = _my_entry(user, r)
        gone = RoundPreference.get_or_none((RoundPreference.entry == entry.id) & (RoundPreference.mentor == mentor_id))
        if gone is None:
            raise RoundError("That mentor is not among your choices.", "mentor_q")
        gone.delete_instance()
        # One by one, upwards: the unique (entry, rank) never sees two rows on one rank.
        for p in RoundPreference.select().where((RoundPreference.entry == entry.id)
                                                & (RoundPreference.rank > gone.rank)).order_by(RoundPreference.rank):
            RoundPreference.update(rank=p.rank - 1).where(RoundPreference.id == p.id).execute()
        audit.record(user, "round.preference_removed", f"round:{r.id}", f"mentor user:{mentor_id}")


def add_exclusion(user, r, other_id):
    """Never pair me with this member in this round."""
    with write_lock():
        r, entry = _my_entry(user, r)
        if other_id == user.id:
            raise RoundError("You are never paired with yourself: choose someone else.", "other_q")
        other = User.get_or_none((User.id == other_id) & (User.active == True)  # noqa: E712
                                 & User.deleted_at.is_null())
        if other is None:
            raise RoundError("Choose a member from the search.", "other_q")
        taken = [x.other_id for x in RoundExclusion.select().where(RoundExclusion.entry == entry.id)]
        if other.id in taken:
            raise RoundError(f"{other.name} is already on your list.", "other_q")
        if len(taken) >= MAX_EXCLUSIONS:
            raise RoundError(f"Your list holds {MAX_EXCLUSIONS} people at most: tell a coordinator if you need more.",
                             "other_q")
        if RoundPreference.select().where((RoundPreference.entry == entry.id)
                                          & (RoundPreference.mentor == other.id)).exists():
            raise RoundError(f"{other.name} is one of your preferred mentors: remove them from your choices first.",
                             "other_q")
        RoundExclusion.create(entry=entry, other=other)
        audit.record(user, "round.exclusion_added", f"round:{r.id}")  # whom: not in the trail, a private matter
    return other


def remove_exclusion(user, r, other_id):
    with write_lock():
        r, entry = _my_entry(user, r)
        gone = RoundExclusion.delete().where((RoundExclusion.entry == entry.id)
                                             & (RoundExclusion.other == other_id)).execute()
        if not gone:
            raise RoundError("That member is not on your list.", "other_q")
        audit.record(user, "round.exclusion_removed", f"round:{r.id}")


def days_left(r, now=None):
    return (r.closes_on - today(now)).days
