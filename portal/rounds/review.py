"""Reviewing a round's proposals and publishing them (issue 8, "Review"): the coordinator runs the matcher,
locks, forbids and swaps pairs, tunes the weights with a preview, reads the fairness figures, and publishes.

The proposals live in ``RoundProposal`` rows (one per matched mentee); a locked row survives a re-run. Why a
mentee is left unmatched is worked out again when asked (``why_unmatched``) from the stored proposals, so it
always describes what the page shows, also after a forbid or a swap that the matcher has not seen.
"""
import datetime as dt
import json
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .. import audit, matching
from ..coordinator.pairs import close_open_requests
from ..db import locked, write_lock
from ..models import (
    Mentorship,
    Profile,
    ProfileLanguage,
    ProfileTopic,
    Round,
    RoundEntry,
    RoundEntryTopic,
    RoundExclusion,
    RoundForbidden,
    RoundPreference,
    RoundProposal,
    Topic,
    User,
    utcnow,
)
from . import news


class ReviewError(Exception):
    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


def _require(actor, round_, *statuses):
    """Only coordinators, and only in ``statuses``. Call it again inside the write lock through
    ``_still_matching``: the status read by the view may have changed since (another coordinator published)."""
    if not actor.is_coordinator:
        raise ReviewError("Only coordinators can do this.")
    if statuses and round_.status not in statuses:
        raise ReviewError(STATUS_REFUSAL.get(round_.status, "This round cannot be changed now."), "status")


def _still_matching(actor, round_):
    """Inside the write lock: the round as it is now, still in matching (else the refusal in words)."""
    current = locked(Round.select().where(Round.id == round_.id)).get()
    _require(actor, current, Round.MATCHING)
    return current


STATUS_REFUSAL = {
    Round.DRAFT: "This round is still a draft: open it and close its sign-ups before matching.",
    Round.OPEN: "Sign-ups are still open: close them (the round moves to matching) before running the matcher.",
    Round.PUBLISHED: "This round is published: its pairs have started, the proposals can no longer change.",
    Round.CLOSED: "This round is closed: its proposals can no longer change.",
}


# --- the cohort: the round's entries as the matcher sees them ------------------------------------

@dataclass
class Cohort:
    mentees: dict  # user id -> matching.MenteeEntry
    mentors: dict  # user id -> matching.MentorEntry
    existing: set  # (mentee id, mentor id) pairs with an active mentorship, both ways round
    users: dict  # user id -> User, every active entrant
    forbidden: set = field(default_factory=set)  # (mentee id, mentor id) pairs ruled out by coordinators

    @property
    def blocked(self):
        return self.existing | self.forbidden


def cohort(round_, only=None):
    """The round's active entrants as ``MenteeEntry`` / ``MentorEntry``, their active mentorships with each
    other and the forbidden pairs: eight queries however many entrants (``only``: these user ids alone)."""
    entries = (RoundEntry.select(RoundEntry, User, Profile).join(User).join(Profile, attr="profile")
               .where((RoundEntry.round == round_.id) & (User.active == True)  # noqa: E712
                      & User.deleted_at.is_null()))
    if only is not None:
        entries = entries.where(RoundEntry.user.in_(sorted(only)))
    entries = list(entries)
    ids = [e.user_id for e in entries]
    by_entry = {e.id: e.user_id for e in entries}
    languages, topics, preferred, avoid = defaultdict(set), defaultdict(set), defaultdict(list), defaultdict(set)
    existing, forbidden = set(), set()
    names = {}
    if entries:
        for profile_id, code in ProfileLanguage.select(ProfileLanguage.profile, ProfileLanguage.code).where(
                ProfileLanguage.profile.in_(ids)).tuples():
            languages[profile_id].add(code)
        for entry_id, topic_id, kind, name in (
                RoundEntryTopic.select(RoundEntryTopic.entry, RoundEntryTopic.topic, RoundEntryTopic.kind, Topic.name)
                .join(Topic).where(RoundEntryTopic.entry.in_(list(by_entry))).tuples()):
            topics[by_entry[entry_id], kind].add(topic_id)
            names[topic_id] = name
        for entry_id, mentor_id in (RoundPreference.select(RoundPreference.entry, RoundPreference.mentor)
                                    .where(RoundPreference.entry.in_(list(by_entry)))
                                    .order_by(RoundPreference.entry, RoundPreference.rank).tuples()):
            preferred[by_entry[entry_id]].append(mentor_id)
        for entry_id, other_id in (RoundExclusion.select(RoundExclusion.entry, RoundExclusion.other)
                                   .where(RoundExclusion.entry.in_(list(by_entry))).tuples()):
            avoid[by_entry[entry_id]].add(other_id)
        for mentor_id, mentee_id in (Mentorship.select(Mentorship.mentor, Mentorship.mentee)
                                     .where((Mentorship.status == Mentorship.ACTIVE) & Mentorship.mentor.in_(ids)
                                            & Mentorship.mentee.in_(ids)).tuples()):
            existing |= {(mentee_id, mentor_id), (mentor_id, mentee_id)}  # never again, nor the other way round
        forbidden = set(RoundForbidden.select(RoundForbidden.mentee, RoundForbidden.mentor)
                        .where(RoundForbidden.round == round_.id).tuples())
    # Working hours are compared on the first weekday of the round's mentorships.
    on = matching.next_weekday(max(round_.starts_on, dt.date.today()))
    mentees, mentors = {}, {}
    for e in entries:
        p, uid = e.user.profile, e.user_id
        if e.as_mentee:
            seeker = matching.Seeker(level=p.job_level, organization=p.organization, time_zone=e.user.time_zone,
                                     topic_ids=frozenset(topics[uid, ProfileTopic.SEEKS]),
                                     languages=frozenset(languages[uid]), topic_names=names, on=on)
            mentees[uid] = matching.MenteeEntry(uid, seeker, tuple(preferred[uid]), frozenset(avoid[uid]))
        if e.as_mentor and e.capacity > 0:
            candidate = matching.Candidate(p.job_level, p.organization, e.user.time_zone,
                                           frozenset(topics[uid, ProfileTopic.OFFERS]), frozenset(languages[uid]))
            mentors[uid] = matching.MentorEntry(uid, candidate, e.capacity, frozenset(avoid[uid]))
    return Cohort(mentees, mentors, existing, {e.user_id: e.user for e in entries}, forbidden)


def weights_of(round_):
    try:
        data = json.loads(round_.weights or "{}")
    except ValueError:
        data = {}
    return matching.Weights.from_dict(data if isinstance(data, dict) else {})


def _propose(round_, c, weights, locked_pairs):
    try:
        return matching.propose(list(c.mentees.values()), list(c.mentors.values()), weights=weights,
                                locked=locked_pairs, forbidden=sorted(c.forbidden), existing=sorted(c.existing))
    except matching.MatchingError as error:
        raise _locked_refusal(error, c) from None


def _locked_refusal(error, c):
    """The matcher's refusal of a locked pair, with names (it knows only ids)."""
    names = _names(*(uid for uid in (error.mentee_id, error.mentor_id) if uid))
    if error.mentee_id and error.mentor_id:
        why = _why_not(c.mentees.get(error.mentee_id), c.mentors.get(error.mentor_id), c)
        return ReviewError(f"The locked pair of {names[error.mentor_id]} and {names[error.mentee_id]} cannot stay: "
                           f"{why}. Unlock it and run the matcher again.", "locked")
    if error.mentor_id:
        return ReviewError(f"{names[error.mentor_id]} has fewer places in this round than pairs locked to them: "
                           "unlock one and run the matcher again.", "locked")
    return ReviewError(f"{error} Unlock the pair and run the matcher again.", "locked")


# --- running the matcher -------------------------------------------------------------------------

def run(actor, round_):
    """Propose again around the locked pairs: every unlocked proposal is replaced. Returns the Result."""
    _require(actor, round_, Round.MATCHING)
    with write_lock():
        round_ = _still_matching(actor, round_)
        c = cohort(round_)
        kept = list(locked(RoundProposal.select().where((RoundProposal.round == round_.id) & RoundProposal.locked)))
        result = _propose(round_, c, weights_of(round_), [(p.mentee_id, p.mentor_id) for p in kept])
        RoundProposal.delete().where((RoundProposal.round == round_.id) & ~RoundProposal.locked).execute()
        kept = {p.mentee_id: p for p in kept}
        now = utcnow()
        rows = []
        for p in result.proposals:
            if p.mentee_id in kept:  # a locked row stays; its score follows the weights of the day
                RoundProposal.update(score=p.score, reasons=json.dumps(list(p.reasons)),
                                     preferred_rank=p.preferred_rank).where(
                    RoundProposal.id == kept[p.mentee_id].id).execute()
            else:
                rows.append(dict(round=round_.id, mentee=p.mentee_id, mentor=p.mentor_id, score=p.score,
                                 reasons=json.dumps(list(p.reasons)), preferred_rank=p.preferred_rank, created_at=now))
        for start in range(0, len(rows), 200):
            RoundProposal.insert_many(rows[start:start + 200]).execute()
        audit.record(actor, "round.matched", f"round:{round_.id}",
                     f"{len(result.proposals)} proposals ({len(kept)} locked), {len(result.unmatched)} unmatched, "
                     f"total score {result.total:g}")
    return result


def proposal_in(round_, proposal_id):
    """A proposal of this round, or None (an id of another round is unknown here)."""
    return RoundProposal.get_or_none((RoundProposal.id == proposal_id) & (RoundProposal.round == round_.id))


def _names(*user_ids):
    return dict(User.select(User.id, User.name).where(User.id.in_(list(user_ids))).tuples())


def set_locked(actor, round_, proposal, locked_):
    _require(actor, round_, Round.MATCHING)
    with write_lock():
        _still_matching(actor, round_)
        RoundProposal.update(locked=locked_).where(RoundProposal.id == proposal.id).execute()
        proposal.locked = locked_
        audit.record(actor, "round.proposal_locked" if locked_ else "round.proposal_unlocked", f"round:{round_.id}",
                     f"mentee user:{proposal.mentee_id}, mentor user:{proposal.mentor_id}")
    return proposal


def forbid(actor, round_, proposal):
    """Rule the proposed pair out for this round: the proposal goes, the matcher never proposes it again."""
    _require(actor, round_, Round.MATCHING)
    if proposal.locked:
        names = _names(proposal.mentee_id, proposal.mentor_id)
        raise ReviewError(f"The pair of {names[proposal.mentor_id]} and {names[proposal.mentee_id]} is locked: "
                          "unlock it before you rule it out.", "locked")
    with write_lock():
        _still_matching(actor, round_)
        RoundForbidden.insert(round=round_.id, mentee=proposal.mentee_id, mentor=proposal.mentor_id,
                              created_by=actor.id, created_at=utcnow()).on_conflict_ignore().execute()
        RoundProposal.delete().where(RoundProposal.id == proposal.id).execute()
        audit.record(actor, "round.pair_forbidden", f"round:{round_.id}",
                     f"mentee user:{proposal.mentee_id}, mentor user:{proposal.mentor_id}")


def swap(actor, round_, a, b):
    """Exchange the mentees of two proposals' mentors, when both new pairs are allowed; scores recomputed."""
    _require(actor, round_, Round.MATCHING)
    if a is None or b is None or a.id == b.id:
        raise ReviewError("Choose two proposals to swap.", "swap")
    names = _names(a.mentee_id, a.mentor_id, b.mentee_id, b.mentor_id)
    for p in (a, b):
        if p.locked:
            raise ReviewError(f"The pair of {names[p.mentor_id]} and {names[p.mentee_id]} is locked: "
                              "unlock it to swap it.", "swap")
    if a.mentor_id == b.mentor_id:
        raise ReviewError(f"Both mentees already have {names[a.mentor_id]} as mentor: choose pairs with "
                          "different mentors.", "swap")
    with write_lock():
        _still_matching(actor, round_)
        c = cohort(round_, only={a.mentee_id, a.mentor_id, b.mentee_id, b.mentor_id})
        weights = weights_of(round_)
        scored = {}
        for p, mentor_id in ((a, b.mentor_id), (b, a.mentor_id)):
            mentee, mentor = c.mentees.get(p.mentee_id), c.mentors.get(mentor_id)
            found = (None if mentee is None or mentor is None or (p.mentee_id, mentor_id) in c.blocked
                     else matching.pair_score(mentee, mentor, weights))
            if found is None:
                raise ReviewError(f"{names[mentor_id]} cannot mentor {names[p.mentee_id]}: "
                                  f"{_why_not(mentee, mentor, c)}. Nothing was swapped.", "swap")
            scored[p.id] = (mentor_id, found, matching.preferred_rank(mentee, mentor_id))
        for p in (a, b):
            mentor_id, (score, reasons), rank = scored[p.id]
            RoundProposal.update(mentor=mentor_id, score=score, reasons=json.dumps(list(reasons)),
                                 preferred_rank=rank).where(RoundProposal.id == p.id).execute()
        audit.record(actor, "round.pairs_swapped", f"round:{round_.id}",
                     f"mentee user:{a.mentee_id} to mentor user:{b.mentor_id}, "
                     f"mentee user:{b.mentee_id} to mentor user:{a.mentor_id}")
    return names


def _why_not(mentee, mentor, c):
    """Why one pair is not allowed, in words (the hard rules of ``matching.pair_score`` and the blocked pairs)."""
    if mentee is None or mentor is None:
        return "one of them has left the round or was deactivated"
    if mentee.id == mentor.id:
        return "a member cannot mentor themselves"
    if (mentee.id, mentor.id) in c.existing:
        return "they already have an active mentorship"
    if (mentee.id, mentor.id) in c.forbidden:
        return "a coordinator ruled this pair out"
    if mentor.id in mentee.avoid or mentee.id in mentor.avoid:
        return "one of them asked never to be paired with the other"
    if not matching.languages_compatible(mentee.seeker.languages, mentor.candidate.languages):
        return "they share no language"
    return "the matcher's rules do not allow it"


# --- what the page shows: proposals, unmatched mentees, fairness -----------------------------------

@dataclass
class Row:
    proposal: RoundProposal  # with .mentee and .mentor (User)
    reasons: list


def proposals(round_):
    """The round's proposals with both members' names, best score first: one query."""
    Mentee, Mentor = User.alias(), User.alias()
    query = (RoundProposal.select(RoundProposal, Mentee, Mentor)
             .join(Mentee, on=(RoundProposal.mentee == Mentee.id), attr="mentee").switch(RoundProposal)
             .join(Mentor, on=(RoundProposal.mentor == Mentor.id), attr="mentor").switch(RoundProposal)
             .where(RoundProposal.round == round_.id)
             .order_by(Mentor.name, Mentee.name, RoundProposal.id))
    return [Row(p, json.loads(p.reasons or "[]")) for p in query]


def places_left(c, pairs):
    """Free places per mentor of the cohort, given the (mentee id, mentor id) pairs proposed."""
    taken = Counter(mentor_id for _, mentor_id in pairs)
    return {mid: m.capacity - taken.get(mid, 0) for mid, m in c.mentors.items()}


def why_unmatched(c, pairs):
    """For each mentee of the cohort without a proposal, why, in words a mentee can read."""
    matched = {mentee_id for mentee_id, _ in pairs}
    left = places_left(c, pairs)
    found = {}
    for mid, mentee in c.mentees.items():
        if mid in matched:
            continue
        eligible = [m for m in c.mentors.values()
                    if (mid, m.id) not in c.blocked and matching.pair_score(mentee, m) is not None]
        if not eligible:
            speaks = [m for m in c.mentors.values() if m.id != mid
                      and matching.languages_compatible(mentee.seeker.languages, m.candidate.languages)]
            found[mid] = ("no mentor in this round shares a language with you" if not speaks
                          else "no mentor in this round could be paired with you")
        elif all(left[m.id] <= 0 for m in eligible):
            found[mid] = "every mentor who could be paired with you had all their places taken by other pairs"
        else:
            found[mid] = FREE_PLACE
    return found


FREE_PLACE = "a mentor still has a free place: run the matcher again to propose one"
NOT_PAIRED = "the coordinators could not settle on a mentor for you in this round"


@dataclass
class Fairness:
    proposals: int
    unmatched: int
    lowest: float | None
    median: float | None
    highest: float | None
    lowest_tenth: float | None  # the average score of the lowest 10% of the proposals (at least one)
    by_rank: dict  # rank 1..3 -> mentees who got that preferred mentor
    named_preferences: int  # mentees who named at least one preferred mentor
    free_places: int
    mentors_with_free_places: int


def fairness(round_, c=None, rows=None):
    """The spread of the scores and who got what (``c`` and ``rows`` when the caller has them already)."""
    c = c if c is not None else cohort(round_)
    rows = rows if rows is not None else proposals(round_)
    scores = sorted(r.proposal.score for r in rows)
    tenth = scores[:max(1, math.ceil(len(scores) / 10))]
    left = places_left(c, [(r.proposal.mentee_id, r.proposal.mentor_id) for r in rows])
    matched = {r.proposal.mentee_id for r in rows}
    by_rank = Counter(r.proposal.preferred_rank for r in rows if r.proposal.preferred_rank)
    return Fairness(
        proposals=len(rows), unmatched=len(set(c.mentees) - matched),
        lowest=scores[0] if scores else None, median=statistics.median(scores) if scores else None,
        highest=scores[-1] if scores else None,
        lowest_tenth=round(statistics.fmean(tenth), 2) if scores else None,
        by_rank={rank: by_rank.get(rank, 0) for rank in (1, 2, 3)},
        named_preferences=sum(1 for m in c.mentees.values() if m.preferred),
        free_places=sum(n for n in left.values() if n > 0),
        mentors_with_free_places=sum(1 for n in left.values() if n > 0))


# --- weights: preview and save ---------------------------------------------------------------------

@dataclass
class Change:
    mentee: str
    before: str | None  # the mentor's name now, or None (unmatched)
    after: str | None


@dataclass
class WeightsPreview:
    changes: list  # Change, by mentee name
    total_before: float
    total_after: float
    matched_before: int
    matched_after: int


def preview_weights(round_, weights):
    """What the matcher would propose with ``weights`` around the locked pairs, against the proposals now:
    nothing is written."""
    c = cohort(round_)
    now = list(RoundProposal.select(RoundProposal.mentee, RoundProposal.mentor, RoundProposal.score,
                                    RoundProposal.locked).where(RoundProposal.round == round_.id).tuples())
    result = _propose(round_, c, weights, [(mentee, mentor) for mentee, mentor, _, lock in now if lock])
    before = {mentee: mentor for mentee, mentor, _, _ in now}
    after = {p.mentee_id: p.mentor_id for p in result.proposals}
    ids = set(before) | set(after) | set(before.values()) | set(after.values())
    names = {uid: u.name for uid, u in c.users.items()}
    names.update(_names(*(ids - set(names))) if ids - set(names) else {})
    changes = [Change(names.get(mentee, "?"), names.get(before.get(mentee)), names.get(after.get(mentee)))
               for mentee in set(before) | set(after) if before.get(mentee) != after.get(mentee)]
    changes.sort(key=lambda ch: ch.mentee.lower())
    return WeightsPreview(changes, round(sum(s for _, _, s, _ in now), 2), round(result.total, 2),
                          len(before), len(after))


def save_weights(actor, round_, weights):
    """Keep ``weights`` for the round and propose again with them."""
    _require(actor, round_, Round.MATCHING)
    with write_lock():  # one transaction with the run: weights the matcher refused are not kept
        _still_matching(actor, round_)
        round_.weights = json.dumps(weights.as_dict(), sort_keys=True)
        Round.update(weights=round_.weights).where(Round.id == round_.id).execute()
        audit.record(actor, "round.weights_saved", f"round:{round_.id}", round_.weights)
        return run(actor, round_)


# --- publishing ------------------------------------------------------------------------------------

def start_of(round_, now):
    """When the round's mentorships start: the morning (00:00 UTC) of its start day, or now if that has passed."""
    return max(now, dt.datetime.combine(round_.starts_on, dt.time(0)))


def publish(actor, round_, now=None):
    """All or nothing, under the write lock: every proposal checked again (members still active and in the
    round, hard rules, no pair made meanwhile, capacity), then the mentorships, the requests they answer,
    everyone's news, and the round's new status. Any refusal or failure leaves everything as it was."""
    _require(actor, round_, Round.MATCHING)
    now = now or utcnow()
    with write_lock():
        _still_matching(actor, round_)  # another coordinator may have published meanwhile
        rows = proposals(round_)
        if not rows:
            raise ReviewError("There is no proposal to publish: run the matcher first.", "publish")
        ids = {r.proposal.mentee_id for r in rows} | {r.proposal.mentor_id for r in rows}
        locked(User.select(User.id).where(User.id.in_(sorted(ids))).order_by(User.id)).execute()
        c = cohort(round_)
        weights = weights_of(round_)
        taken = Counter()
        for r in rows:
            p = r.proposal
            mentee, mentor = c.mentees.get(p.mentee_id), c.mentors.get(p.mentor_id)
            pair = f"{p.mentor.name} and {p.mentee.name}"
            if (mentee is None or mentor is None or (p.mentee_id, p.mentor_id) in c.blocked
                    or matching.pair_score(mentee, mentor, weights) is None):
                raise ReviewError(f"The pair of {pair} can no longer be made: {_why_not(mentee, mentor, c)}. "
                                  "Nothing was published: run the matcher again.", "publish")
            taken[p.mentor_id] += 1
            if taken[p.mentor_id] > mentor.capacity:
                raise ReviewError(f"{p.mentor.name} has {mentor.capacity} place{'s' if mentor.capacity != 1 else ''} "
                                  f"in this round but {taken[p.mentor_id]} mentees: nothing was published.", "publish")
        start = start_of(round_, now)
        theirs = defaultdict(list)  # member -> the ids of their new mentorships
        for r in rows:
            p = r.proposal
            m = Mentorship.create(mentor=p.mentor_id, mentee=p.mentee_id, started_at=start, round=round_.id)
            close_open_requests(actor, m, now, f"the round “{round_.name}”")
            theirs[p.mentor_id].append(m.id)
            theirs[p.mentee_id].append(m.id)
        why = why_unmatched(c, [(r.proposal.mentee_id, r.proposal.mentor_id) for r in rows])
        for user_id in sorted(c.users):  # every active entrant hears the news, partnered or not
            reason = why.get(user_id, "")
            news.published(round_, user_id, theirs.get(user_id, []), now=now,
                           reason=NOT_PAIRED if reason == FREE_PLACE else reason)
        Round.update(status=Round.PUBLISHED, published_at=now).where(Round.id == round_.id).execute()
        round_.status, round_.published_at = Round.PUBLISHED, now
        audit.record(actor, "round.published", f"round:{round_.id}",
                     f"{len(rows)} mentorships, {len(c.mentees) - len({r.proposal.mentee_id for r in rows})} "
                     "mentees unmatched")
    return len(rows)
