"""Round news through the reminder system (DESIGN §6 "round news"): three kinds of notification.

- ``round_opened``: when a coordinator opens a round, to every active member with a completed profile,
  written in bulk in the transaction that opens it; key ``round_opened:<round>:<member>`` (a round
  reopened after matching tells nobody twice).
- ``round_closing``: written by the sweep from 3 days before the round's closing day (00:00 UTC, the
  program's calendar) until that day ends, to the members above who have not joined; key
  ``round_closing:<round>:<member>``, so once per member and round.
- ``round_published``: written by the publish service (``published``) for every member of the round's
  entries, in the publish transaction: the context holds only ids, and the email reads the pairs
  (names, roles) as they are when it goes out. Callers pass ``mentorship_ids``: the member's new
  mentorships of this round (empty for a member left without a partner this time).

Delivery (``render_*``, registered in ``notifications.delivery``) checks the news still holds: no
"round open" email once sign-ups closed, no "closes soon" email to someone who joined since.
"""
import datetime as dt
from types import SimpleNamespace

from .. import mail
from ..models import Mentorship, Profile, Round, RoundEntry, User, utcnow
from ..notifications import services as notifications

CLOSING_BEFORE = dt.timedelta(days=3)


def _audience():
    """Active members with a completed profile: who hears that a round opens or is closing."""
    return (User.select(User.id).join(Profile, on=(Profile.user == User.id))
            .where((User.active == True) & User.deleted_at.is_null() & (Profile.completed == True)))  # noqa: E712


def _context(r):
    return {"round_id": r.id}


def opened(r, now=None):
    """Tell everyone a round is open; returns how many were newly told."""
    subject = f"Sign up for the pairing round “{r.name}” by {r.closes_on.day} {r.closes_on:%B}"
    return notifications.notify_many(
        [(uid, notifications.ROUND_OPENED, subject, f"round_opened:{r.id}:{uid}", _context(r))
         for (uid,) in _audience().tuples()], now)


def write_closing(now=None):
    """The sweep's part: "closes in 3 days" to those who have not joined the open rounds closing soon."""
    now = now or utcnow()
    day = now.date()
    written = 0
    for r in Round.select().where((Round.status == Round.OPEN) & (Round.closes_on >= day)
                                  & (Round.closes_on <= day + CLOSING_BEFORE)):
        joined = RoundEntry.select(RoundEntry.user).where(RoundEntry.round == r.id)
        subject = f"The pairing round “{r.name}” closes on {r.closes_on.day} {r.closes_on:%B}: sign up now"
        written += notifications.notify_many(
            [(uid, notifications.ROUND_CLOSING, subject, f"round_closing:{r.id}:{uid}", _context(r))
             for (uid,) in _audience().where(User.id.not_in(joined)).tuples()], now)
    return written


def published(r, user_id, mentorship_ids, now=None, reason=""):
    """For the publish service: tell one member of the round that its pairs are out (see the module's doc);
    ``reason``: why a mentee was left without a mentor, in words for them."""
    subject = (f"Your pairing in “{r.name}”" if mentorship_ids
               else f"The pairs of “{r.name}” are out: no partner for you this time")
    context = {"round_id": r.id, "mentorship_ids": list(mentorship_ids)}
    if reason:
        context["reason"] = reason
    return notifications.notify(user_id, notifications.ROUND_PUBLISHED, subject,
                                f"round_published:{r.id}:{user_id}", context=context, now=now)


# --- delivery: one renderer per kind (a message, or why there is nothing to send) ------------------------

def _round(context):
    return Round.get_or_none(Round.id == context.get("round_id"))


def _joined(r, recipient):
    return RoundEntry.select().where((RoundEntry.round == r.id) & (RoundEntry.user == recipient.id)).exists()


def render_opened(row, recipient, context, now):
    r = _round(context)
    if r is None or r.status != Round.OPEN:
        return "The round is no longer open for sign-ups."
    return mail.build(recipient.email, row.subject, row.kind, to_name=recipient.name, round=r,
                      joined=_joined(r, recipient))


def render_closing(row, recipient, context, now):
    r = _round(context)
    if r is None or r.status != Round.OPEN:
        return "The round is no longer open for sign-ups."
    if _joined(r, recipient):
        return "The member has joined the round."
    return mail.build(recipient.email, row.subject, row.kind, to_name=recipient.name, round=r)


def render_published(row, recipient, context, now):
    r = _round(context)
    if r is None:
        return "The round is gone."
    pairs = list(Mentorship.select().where(Mentorship.id.in_(context.get("mentorship_ids") or [0])
                                           & (Mentorship.round == r.id)).order_by(Mentorship.id))
    if context.get("mentorship_ids") and not pairs:
        return "The round's pairs for this member are gone."
    names = dict(User.select(User.id, User.name)
                 .where(User.id.in_([p.mentor_id for p in pairs] + [p.mentee_id for p in pairs] or [0])).tuples())
    partners = [SimpleNamespace(id=p.id, name=names.get(p.mentee_id if p.mentor_id == recipient.id else p.mentor_id),
                                i_mentor=p.mentor_id == recipient.id) for p in pairs]
    return mail.build(recipient.email, row.subject, row.kind, to_name=recipient.name, round=r, partners=partners,
                      reason=context.get("reason", ""))
