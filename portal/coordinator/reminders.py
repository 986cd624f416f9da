"""The coordinators' daily digest of the review queue (DESIGN §6: "request to review … daily digest of
the queue").

While requests wait for review, the sweep writes each coordinator one ``review_queue_digest`` a day,
once their digest hour has come in their zone (``preferences.digest_moment``, as for members'
digests), counting the requests they may review (not those they are part of). The dedupe key names
the coordinator and their calendar day, so the sweep running every minute writes it once. Delivery
counts the queue again: an email goes out only if requests still wait, with the numbers as they are.
"""
from ..models import ConnectionRequest as R
from ..models import utcnow
from ..notifications import preferences
from ..notifications import services as notifications


def key(user_id, day):
    return f"review_queue:{user_id}:{day:%Y-%m-%d}"


def waiting_for(coordinator_id, now):
    """``(how many requests this coordinator may review, days the oldest has waited)``."""
    mine = (R.mentor != coordinator_id) & (R.mentee != coordinator_id)
    rows = R.select(R.created_at).where((R.status == R.PENDING_REVIEW) & mine).order_by(R.created_at)
    count = rows.count()
    return count, ((now - rows.first().created_at).days if count else 0)


def subject(count, days):
    requests = f"{count} request{'s' if count != 1 else ''} wait{'s' if count == 1 else ''}"
    return f"{requests} for your review, the oldest for {days} day{'s' if days != 1 else ''}"


def write_due(now=None):
    """One digest per coordinator whose digest hour has come today, when requests waited for them then."""
    now = now or utcnow()
    waiting = list(R.select(R.mentor, R.mentee, R.created_at).where(R.status == R.PENDING_REVIEW).tuples())
    if not waiting:
        return 0
    due = {}
    for coordinator in notifications.coordinators():
        day, moment = preferences.digest_moment(coordinator, now)
        if moment <= now:
            due[key(coordinator.id, day)] = (coordinator, moment)
    written = 0
    for dedupe_key in sorted(set(due) - notifications.known_keys(due)):
        coordinator, moment = due[dedupe_key]
        # What waited at the digest hour: a request arriving later was told at once, and waits for tomorrow's.
        theirs = [created for mentor, mentee, created in waiting
                  if coordinator.id not in (mentor, mentee) and created <= moment]
        if theirs:
            days = (now - min(theirs)).days
            written += notifications.notify(coordinator.id, notifications.REVIEW_QUEUE_DIGEST,
                                            subject(len(theirs), days), dedupe_key,
                                            context={"count": len(theirs), "days": days}, now=now)
    return written
