"""The daily digest (DESIGN §6): one email a day gathering the notifications a member chose to read in it.

Such a notification waits with status ``digest`` (``preferences.delivery_plan`` puts it there when it
comes due). Each sweep looks at the members who have some waiting: once their digest hour has come in
their zone, it writes one ``digest`` notification listing the rows that waited since before that
moment. Its dedupe key names the member and the day in their calendar, so there is one digest a
day however often the sweep runs and whatever the clocks do that night (an hour the clocks skip
sends it when they jump; an hour they repeat, the first time). The digest is then delivered like any
other email: claimed, retried, its Message-ID derived from its key; quiet hours hold it too.

Rows stay ``digest`` until the digest email is sent, which marks them sent with it (``delivered``),
in the same transaction as the digest itself. A row with nothing left to tell when the digest is
written (the request was withdrawn) is left out and skipped. While a member's digest waits to be
sent no other is written for them, so that no row goes out in two; a digest that fails for good
leaves its rows waiting for the next day's.
"""
from peewee import fn

from .. import mail
from ..db import locked, write_lock
from ..mentorships import times
from ..models import Notification, User, utcnow
from . import inbox, preferences
from . import services as k

N = Notification


def key(user_id, day):
    return f"digest:{user_id}:{day:%Y-%m-%d}"


def write_due(now=None):
    """Write the digests due at ``now``; returns how many."""
    now = now or utcnow()
    oldest = dict(N.select(N.recipient, fn.MIN(N.due_at)).where(N.status == N.DIGEST).group_by(N.recipient).tuples())
    if not oldest:
        return 0
    busy = {user_id for (user_id,) in N.select(N.recipient).where(
        (N.kind == k.DIGEST) & N.status.in_([N.PENDING, N.SENDING]) & N.recipient.in_(list(oldest))).tuples()}
    due = {}
    for user in User.select(User.id, User.time_zone, User.digest_hour).where(
            User.id.in_(list(oldest)) & (User.active == True)):  # noqa: E712
        day, moment = preferences.digest_moment(user, now)
        if user.id not in busy and oldest[user.id] <= moment:
            due[key(user.id, day)] = (user, day, moment)
    written = 0
    for dedupe_key in set(due) - k.known_keys(due):
        user, day, moment = due[dedupe_key]
        with write_lock():
            ids = [row.id for row in locked(N.select(N.id).where(
                (N.recipient == user.id) & (N.status == N.DIGEST) & (N.due_at <= moment)).order_by(N.id))]
            if ids:
                written += k.notify(user.id, k.DIGEST, f"Your daily digest for {day:%a} {day.day} {day:%b %Y}",
                                    dedupe_key, context={"date": day, "items": ids}, now=now)
    return written


def render(row, recipient, context, now):
    """The digest email, or why there is nothing to send. Each gathered row is checked as its own
    email would be (``delivery.RENDERERS``): one with nothing left to tell is skipped, not listed."""
    from .delivery import render as render_one  # delivery renders digests with this function

    waiting = list(N.select().where(N.id.in_(context.get("items", [])) & (N.recipient == recipient.id)
                                    & (N.status == N.DIGEST)).order_by(N.created_at, N.id))
    listed = []
    for item in waiting:
        message, moot = render_one(item, recipient, now)
        if message is None:
            N.update(status=N.SKIPPED, last_error=moot).where((N.id == item.id) & (N.status == N.DIGEST)).execute()
        else:
            listed.append(item)
    if not listed:
        return "Nothing gathered for this digest is left to tell."
    count = f"{len(listed)} update{'s' if len(listed) != 1 else ''}"
    return mail.build(
        recipient.email, f"{row.subject}: {count}", "digest", to_name=recipient.name, count=count,
        zone=times.place(recipient.time_zone),
        items=[{"subject": item.subject, "link": inbox.link_for(item.kind, item.context),
                "when": times.when(item.created_at, recipient.time_zone, "%a %d %b, %H:%M")} for item in listed],
    )


def delivered(row, now):
    """The digest email went out: the rows it gathered are sent with it."""
    N.update(status=N.SENT, sent_at=now, last_error="", claimed_until=None).where(
        N.id.in_(row.context.get("items", [])) & (N.recipient == row.recipient_id) & (N.status == N.DIGEST)).execute()
