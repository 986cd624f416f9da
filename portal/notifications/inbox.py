"""The member's notification list (/notifications): every notification row is also an item of it,
whatever the member chose for email, read or unread. The digest emails themselves are not items:
what they gathered is.

Each item links to what it is about, found in the row's JSON context, so that a page of items costs
one query whatever they are about.
"""
from dataclasses import dataclass

from ..models import Notification, utcnow
from . import services as k

N = Notification
PER_PAGE = 20
# A request to review is a coordinator's: it is found in the review queue, not among my requests.
QUEUE_KINDS = (k.REQUEST_TO_REVIEW,)
PAGE_OF_KIND = {k.BACK_FROM_AWAY: "/requests", k.REVIEW_QUEUE_DIGEST: "/coordinator/requests",
                k.DELETION_REQUESTED: "/coordinator/deletions", k.ROUND_OPENED: "/rounds", k.ROUND_CLOSING: "/rounds",
                k.ROUND_PUBLISHED: "/mentorships"}  # kinds about no one thing: the page where it waits


@dataclass
class Item:
    row: Notification
    link: str

    @property
    def unread(self):
        return self.row.read_at is None


@dataclass
class Page:
    items: list
    number: int
    has_next: bool


def _mine(user):
    return (N.recipient == user.id) & (N.kind != k.DIGEST)


def link_for(kind, context):
    """The portal path of what a notification is about (the meeting, the request, the pair), or the list."""
    if kind in QUEUE_KINDS and context.get("request_id"):
        return f"/coordinator/requests#review-{context['request_id']}"
    if kind == k.CHECK_IN and context.get("mentorship_id"):
        return f"/mentorships/{context['mentorship_id']}/check-in"
    if context.get("meeting_id"):
        return f"/meetings/{context['meeting_id']}"
    if context.get("request_id"):
        return f"/requests#request-{context['request_id']}"
    if context.get("mentorship_id"):
        return f"/mentorships/{context['mentorship_id']}"
    return PAGE_OF_KIND.get(kind, "/notifications")


def page_of(user, number=1):
    """One page of the member's notifications, newest first."""
    number = max(1, number)
    rows = list(N.select().where(_mine(user)).order_by(N.created_at.desc(), N.id.desc())
                .offset((number - 1) * PER_PAGE).limit(PER_PAGE + 1))
    return Page([Item(row, link_for(row.kind, row.context)) for row in rows[:PER_PAGE]], number,
                len(rows) > PER_PAGE)


def item(user, notification_id):
    """One of the member's own notifications, or None (someone else's, or none at all)."""
    row = N.get_or_none(_mine(user) & (N.id == notification_id))
    return Item(row, link_for(row.kind, row.context)) if row is not None else None


def unread_count(user):
    return N.select().where(_mine(user) & N.read_at.is_null()).count()


def mark_read(user, notification_id, now=None):
    """Mark one of the member's notifications read; returns it, or None when it is not theirs."""
    N.update(read_at=now or utcnow()).where(_mine(user) & (N.id == notification_id) & N.read_at.is_null()).execute()
    return item(user, notification_id)


def mark_all_read(user, now=None):
    """Mark every unread notification of the member read; returns how many."""
    return N.update(read_at=now or utcnow()).where(_mine(user) & N.read_at.is_null()).execute()
