"""The actors: what ``dramatiq jobs`` workers run, and the in-process worker of the embedded default."""
import dramatiq

from portal.auth import invitations
from portal.db import database
from portal.notifications import delivery

from . import broker


@broker.register
@dramatiq.actor(queue_name=broker.QUEUE, max_retries=3, min_backoff=5_000, max_backoff=60_000,
                time_limit=120_000)  # shorter than the row's lease (DELIVERY_LEASE), so no attempt outlives it
def deliver(notification_id):
    """Send one notification; ``portal.notifications.delivery`` claims, renders, sends and records it.

    Mail server failures are recorded on the row, not raised. What is raised (the database out of
    reach) dramatiq retries a few times; past that the row's lease runs out and a sweep enqueues it again.
    """
    import jobs

    with jobs.portal_app().app_context(), database.connection_context():
        delivery.deliver(notification_id)


@broker.register
@dramatiq.actor(queue_name=broker.QUEUE, max_retries=3, min_backoff=5_000, max_backoff=60_000, time_limit=120_000)
def send_invitation(invitation_id):
    """Send one invitation's email (``portal.auth.invitations``), as ``deliver`` does a notification's."""
    import jobs

    with jobs.portal_app().app_context(), database.connection_context():
        invitations.deliver(invitation_id)
