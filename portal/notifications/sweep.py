"""The reminder sweep (DESIGN §6): what is due now, written and handed to the workers.

The scheduler runs it every minute; ``flask --app portal send-reminders`` runs it once. It
expires the requests that waited 14 days, writes the reminders whose time has come ("request
waiting", and the pair's: ``portal.mentorships.reminders``), brings back the members whose "away
until" day has come (``members.services.bring_back``), writes the "round closes soon" news
(``rounds.news.write_closing``), then enqueues one delivery per due
email row whose lease is free. Due rows first meet their recipient's settings
(``preferences.delivery_plan``): kept in the portal only, set aside for the daily digest, or held until
the quiet hours end; the digests whose hour has come are written (``digests``) and enqueued in
the same sweep. Everything it writes has a unique dedupe key
and every row it enqueues is leased first, under the write lock, so running it twice, or in two
processes at once, writes and enqueues nothing twice.

The broker is not trusted with anything the database does not also know. A failed enqueue (the
broker is down) is logged and its lease released, so the next sweep tries again; a message the
broker lost is enqueued again once its lease (``REQUEUE_AFTER``) runs out; a row whose worker died
mid-send is put back once the worker's lease runs out.
"""
import datetime as dt
import logging
from dataclasses import dataclass, field

from ..auth import invitations
from ..coordinator import reminders as review_digest
from ..db import locked, write_lock
from ..members import services as members
from ..mentorships import reminders
from ..models import Notification, utcnow
from ..requests import services as requests
from ..rounds import news as round_news
from . import digests, preferences
from .delivery import MAX_ATTEMPTS

log = logging.getLogger(__name__)

N = Notification
BATCH = 1000  # rows enqueued per sweep at most; the next sweep takes the rest
REQUEUE_AFTER = dt.timedelta(minutes=5)  # an enqueued row not yet taken by a worker is enqueued again after this


@dataclass
class Swept:
    expired: int = 0
    reminded: int = 0
    enqueued: list = field(default_factory=list)
    not_enqueued: int = 0
    invitations: int = 0  # invitation emails enqueued (never sent, or to try again)


def sweep(now=None, enqueue=None, enqueue_invitation=None):
    """One sweep at ``now``; ``enqueue(notification_id)`` hands a delivery to the broker (the jobs
    package's by default), ``enqueue_invitation(invitation_id)`` an invitation's email. Returns what it did."""
    if enqueue is None:
        from jobs import enqueue_delivery as enqueue
    now = now or utcnow()
    done = Swept(expired=len(requests.expire_due(now)),
                 reminded=requests.remind_waiting(now) + reminders.write_due(now) + members.bring_back(now)
                 + review_digest.write_due(now) + round_news.write_closing(now))
    _put_back_interrupted(now)
    due = _lease_due(now)
    if digests.write_due(now):  # gathers what the members' preferences just set aside too
        due += _lease_due(now)
    for position, notification_id in enumerate(due):
        try:
            enqueue(notification_id)
        except Exception as error:  # the broker is unreachable: keep the rows for the next sweep
            left = due[position:]
            log.warning("could not enqueue %d deliveries (%s); the next sweep tries again", len(left), error)
            N.update(claimed_until=None).where(N.id.in_(left) & (N.status == N.PENDING)).execute()
            done.not_enqueued = len(left)
            break
        done.enqueued.append(notification_id)
    # Invitation emails the request could not hand over (or whose job was lost), and those to try again.
    invitations.put_back_interrupted(now)
    done.invitations = invitations.hand_over(invitations.lease_due(now, REQUEUE_AFTER), now, enqueue_invitation)
    return done


def _due(now):
    return ((N.channel == N.EMAIL) & (N.status == N.PENDING) & (N.due_at <= now)
            & (N.claimed_until.is_null() | (N.claimed_until < now)))


def _lease_due(now):
    """The ids of the due rows to email now, leased for ``REQUEUE_AFTER`` so that no other sweep takes
    them; the others are set aside as their recipients' preferences say (portal only, digest, quiet hours)."""
    with write_lock():
        rows = list(locked(N.select(N.id, N.recipient, N.kind, N.body).where(_due(now))
                           .order_by(N.due_at, N.id).limit(BATCH)))
        plans = preferences.plans_for(rows, now)
        preferences.set_aside(plans)
        ids = [row.id for row in rows if plans[row.id].action == preferences.SEND]
        if ids:
            N.update(claimed_until=now + REQUEUE_AFTER).where(N.id.in_(ids)).execute()
    return ids


def _put_back_interrupted(now):
    """Rows whose worker stopped while sending (its lease ran out) go back to pending, or fail
    after ``MAX_ATTEMPTS``."""
    lost = (N.status == N.SENDING) & (N.claimed_until < now)
    N.update(status=N.FAILED, claimed_until=None,
             last_error=f"The delivery was interrupted {MAX_ATTEMPTS} times; gave up.") \
        .where(lost & (N.attempts >= MAX_ATTEMPTS)).execute()
    N.update(status=N.PENDING, claimed_until=None,
             last_error="The delivery was interrupted before the mail server answered; trying again.") \
        .where(lost).execute()
