"""Invitation emails, out of the request (issue 7): each invitation row is its own outbox entry.

The same steps as a notification's delivery (``portal.notifications.delivery``), on the invitation's
columns: the request that writes invitations commits, then hands their ids to the workers (``hand_over``),
leasing them so that a sweep does not enqueue them again meanwhile; a worker claims one (pending →
sending, with a lease), builds its email with a fresh link, sends it and marks it sent. A mail server
that says "try later" (4xx) or cannot be reached is tried again after 1, 2, 4 … minutes, up to
``MAX_ATTEMPTS``; one that refuses for good (5xx) fails the invitation with its answer, which the
members page shows beside "Resend". The reminder sweep enqueues again whatever is pending and unleased
(``lease_due``): a lost job or a broker that was down never loses an invitation.
"""
import datetime as dt
import logging

from flask import current_app

from .. import mail, tokens
from ..db import database, locked, write_lock
from ..models import Invitation, utcnow
from ..notifications.delivery import MAX_ATTEMPTS, retry_delay

log = logging.getLogger(__name__)

I = Invitation  # noqa: E741


def _waiting(now):
    return ((I.send_status == I.PENDING) & I.accepted_at.is_null() & (I.send_due_at <= now)
            & (I.claimed_until.is_null() | (I.claimed_until < now)))


def hand_over(ids, now=None, enqueue=None):
    """After the transaction that wrote (or reset) these invitations: enqueue one send each. A broker
    that does not answer is logged and the leases released, so that the next sweep enqueues them."""
    from ..notifications.sweep import REQUEUE_AFTER

    if enqueue is None:
        from jobs import enqueue_invitation as enqueue
    now = now or utcnow()
    ids = list(ids)
    if not ids:
        return 0
    I.update(claimed_until=now + REQUEUE_AFTER).where(I.id.in_(ids) & _waiting(now)).execute()
    for position, invitation_id in enumerate(ids):
        try:
            enqueue(invitation_id)
        except Exception as error:  # the broker is unreachable: the sweep takes over
            left = ids[position:]
            log.warning("could not enqueue %d invitations (%s); the next sweep tries again", len(left), error)
            I.update(claimed_until=None).where(I.id.in_(left) & (I.send_status == I.PENDING)).execute()
            return position
    return len(ids)


def lease_due(now, lease):
    """For the sweep: the ids of the invitations waiting to be sent whose lease is free, leased for ``lease``."""
    with write_lock():
        ids = [row.id for row in locked(I.select(I.id).where(_waiting(now)).order_by(I.send_due_at, I.id).limit(1000))]
        if ids:
            I.update(claimed_until=now + lease).where(I.id.in_(ids)).execute()
    return ids


def put_back_interrupted(now):
    """Invitations whose worker stopped while sending go back to pending (the sweep sends them again)."""
    lost = (I.send_status == I.SENDING) & (I.claimed_until < now)
    I.update(send_status=I.FAILED, claimed_until=None,
             send_error=f"The delivery was interrupted {MAX_ATTEMPTS} times; gave up.") \
        .where(lost & (I.send_attempts >= MAX_ATTEMPTS)).execute()
    I.update(send_status=I.PENDING, claimed_until=None, send_due_at=now,
             send_error="The delivery was interrupted before the mail server answered; trying again.") \
        .where(lost).execute()


def claim(invitation_id, now=None):
    """Take the invitation for sending; returns it, or None when it is not ours to send."""
    now = now or utcnow()
    lease = dt.timedelta(seconds=current_app.config["DELIVERY_LEASE"])
    taken = (I.update(send_status=I.SENDING, claimed_until=now + lease, send_attempts=I.send_attempts + 1)
             .where((I.id == invitation_id) & I.accepted_at.is_null() & (I.send_due_at <= now)
                    & ((I.send_status == I.PENDING) | ((I.send_status == I.SENDING) & (I.claimed_until < now))))
             .execute())
    return I.get_by_id(invitation_id) if taken else None


def message(invitation):
    """The invitation's email, with a link signed now (valid ``INVITATION_MAX_AGE`` from now)."""
    token = tokens.make("invite", {"id": invitation.id, "email": invitation.email})
    # Built from the URL map, not ``url_for``: a worker has no request to take the host from.
    path = current_app.url_map.bind("").build("auth.accept_invitation", {"token": token})
    return mail.build(
        invitation.email, f"You are invited to {current_app.config['PROGRAM_NAME']}", "invitation",
        to_name=invitation.name, link=current_app.config["BASE_URL"].rstrip("/") + path,
        invited_by=invitation.invited_by, days=current_app.config["INVITATION_MAX_AGE"] // 86400,
    )


def deliver(invitation_id, now=None):
    """Claim, build, send and record one invitation's email; returns its new status, or None when
    there was nothing to do (already sent, being sent, accepted, or no such invitation)."""
    now = now or utcnow()
    row = claim(invitation_id, now)
    if row is None:
        return None
    try:
        mail.send(message(row))
    except mail.MailError as error:
        _, answer = mail.server_answer(error)
        if mail.is_permanent(error):
            return _close(row, I.FAILED, answer, now)
        return _try_later(row, answer, now)
    except OSError as error:  # the mail folder of the embedded default: a full disk passes
        return _try_later(row, str(error), now)
    return _close(row, I.SENT, "", now)


def _close(row, status, error, now):
    with database.atomic():
        I.update(send_status=status, send_error=error, claimed_until=None,
                 sent_at=now if status == I.SENT else None).where((I.id == row.id) & (I.send_status == I.SENDING)) \
            .execute()
    if status == I.FAILED:
        current_app.logger.warning("invitation %s to %s failed: %s", row.id, row.email, error)
    return status


def _try_later(row, error, now):
    if row.send_attempts >= MAX_ATTEMPTS:
        return _close(row, I.FAILED, f"{error} (gave up after {row.send_attempts} attempts)", now)
    I.update(send_status=I.PENDING, send_error=error, claimed_until=None,
             send_due_at=now + retry_delay(row.send_attempts)) \
        .where((I.id == row.id) & (I.send_status == I.SENDING)).execute()
    return I.PENDING
