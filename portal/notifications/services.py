"""Writing the outbox (DESIGN §3, §6).

A service that changes something calls ``notify`` inside its own transaction, so
the notification exists exactly when the change does. Nothing is sent here:
the delivery job claims pending rows later. The dedupe key is unique, so
writing the same notification twice keeps the first one.
"""
import json

from peewee import chunked

from ..models import Notification, User, utcnow

REQUEST_TO_REVIEW = "request_to_review"
REQUEST_RECEIVED = "request_received"
REQUEST_WAITING = "request_waiting"
REQUEST_ANSWERED = "request_answered"
REQUEST_EXPIRED = "request_expired"
MEETING_SCHEDULED = "meeting_scheduled"
MEETING_CHANGED = "meeting_changed"
MEETING_CANCELLED = "meeting_cancelled"
FIRST_MEETING_FIT = "first_meeting_fit"
PAIR_FLAGGED = "pair_flagged"
PAIR_NUDGE = "pair_nudge"  # a coordinator asks a pair how it goes (the at-risk list's "Nudge now")
MENTORSHIP_ENDED = "mentorship_ended"
PAIR_MATCHED = "pair_matched"  # a coordinator paired two members directly (admin match)
STAY_IN_TOUCH = "stay_in_touch"
# Written by the sweep when their time comes (DESIGN §6).
MEETING_SOON = "meeting_soon"
LOG_MEETING = "log_meeting"
FEEDBACK_DUE = "feedback_due"
PAIR_QUIET = "pair_quiet"
CHECK_IN = "check_in"
REVIEW_QUEUE_DIGEST = "review_queue_digest"  # coordinators, once a day while requests wait
DELETION_REQUESTED = "deletion_requested"  # coordinators: a member asks to delete their account
# Written by the sweep at each member's digest hour: one email gathering their rows kept for it.
DIGEST = "digest"
BACK_FROM_AWAY = "back_from_away"  # a member's "away until" day has come: what waited for them
# Pairing rounds (``portal.rounds.news``): a round opens, closes in 3 days (sweep), its pairs are published.
ROUND_OPENED = "round_opened"
ROUND_CLOSING = "round_closing"
ROUND_PUBLISHED = "round_published"


def notify(recipient, kind, subject, dedupe_key, context=None, due_at=None, now=None):
    """Queue one notification; returns True when it is new, False when the dedupe key already existed."""
    now = now or utcnow()
    if Notification.select().where(Notification.dedupe_key == dedupe_key).exists():
        return False
    # A concurrent writer of the same key loses quietly: the unique key keeps the first row.
    Notification.insert(
        recipient=recipient, kind=kind, subject=subject[:255], dedupe_key=dedupe_key,
        body=json.dumps(context or {}, sort_keys=True, default=str),
        due_at=due_at or now, created_at=now,
    ).on_conflict_ignore().execute()
    return True


def notify_many(items, now=None):
    """Queue many notifications at once (news for the whole program): ``items`` are ``(recipient id, kind,
    subject, dedupe key, context)``; those whose key exists are left alone. Returns how many are new."""
    now = now or utcnow()
    known = known_keys(item[3] for item in items)
    rows = [dict(recipient=recipient, kind=kind, subject=subject[:255], dedupe_key=key, due_at=now, created_at=now,
                 body=json.dumps(context or {}, sort_keys=True, default=str))
            for recipient, kind, subject, key, context in items if key not in known]
    for batch in chunked(rows, 500):
        Notification.insert_many(batch).on_conflict_ignore().execute()
    return len(rows)


def known_keys(keys):
    """The dedupe keys among ``keys`` that already have a notification, so that a sweep writes
    only what is new without asking row by row."""
    known = set()
    for batch in chunked(list(keys), 500):
        known.update(key for (key,) in Notification.select(Notification.dedupe_key)
                     .where(Notification.dedupe_key.in_(batch)).tuples())
    return known


def coordinators(exclude=()):
    """Active coordinators, the recipients of program-wide news."""
    query = User.select().where((User.role == User.COORDINATOR) & (User.active == True))  # noqa: E712
    if exclude:
        query = query.where(User.id.not_in(list(exclude)))
    return list(query.order_by(User.id))
