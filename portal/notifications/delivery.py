"""Delivering the outbox (DESIGN §3, §6): one notification becomes one email, at most once.

A delivery claims its row first: one UPDATE moves it from pending to sending with a lease
(``claimed_until``), so a second delivery of the same message, or a second worker, finds nothing
to claim; a lease that ran out (the worker died while sending) may be claimed again. The email is
rendered from the data as it is now, in the recipient's time zone, after the claim has committed:
nothing is sent inside a transaction. The row then says what happened: sent; pending again, later,
with ``attempts`` and ``last_error``, when the mail server said "try later" (4xx) or could not be
reached; failed with the server's answer when it refused for good (5xx), or after ``MAX_ATTEMPTS``;
skipped when nothing is left to tell (the request was withdrawn, the member deactivated). A claimed
row that the member's settings no longer let go now (``preferences.delivery_plan``: changed since
the sweep, or quiet hours began) is given back, its attempt uncounted. A digest is marked sent
together with the rows it gathered (``digests``).

Between the mail server taking a message and the row being marked sent, a worker that dies leaves
a lease that runs out, and the email goes again: the only way one goes twice, with the same
Message-ID (derived from the dedupe key), so that mail programs show it once.
"""
import datetime as dt
import hashlib
from types import SimpleNamespace
from urllib.parse import urlparse

from flask import current_app

from .. import mail, vocab
from ..coordinator import reminders as review_digest
from ..db import database
from ..mentorships import reminders, times
from ..mentorships.services import END_REASON_LABEL
from ..models import (
    CheckIn,
    ConnectionRequest,
    Feedback,
    Meeting,
    Mentorship,
    Notification,
    RequestTopic,
    Topic,
    User,
    utcnow,
)
from ..links import services as links
from ..members import services as members
from ..requests.services import EXPIRY
from ..rounds import news as round_news
from . import digests, preferences
from . import services as kinds

N = Notification
R = ConnectionRequest
MAX_ATTEMPTS = 10
MEETING_KINDS = (kinds.MEETING_SCHEDULED, kinds.MEETING_CHANGED, kinds.MEETING_CANCELLED)
ANSWERABLE = (kinds.REQUEST_RECEIVED, kinds.REQUEST_WAITING)  # their emails carry accept and decline links


def retry_delay(attempts):
    """How long to wait after a failed attempt: 1, 2, 4 … minutes, at most 2 hours (10 attempts span about 6 h)."""
    return dt.timedelta(minutes=min(2 ** (attempts - 1), 120))


def claim(notification_id, now=None):
    """Take the row for sending; returns it, or None when it is not ours to send (already sent or
    being sent, not due, not an email)."""
    now = now or utcnow()
    lease = dt.timedelta(seconds=current_app.config["DELIVERY_LEASE"])
    taken = (N.update(status=N.SENDING, claimed_until=now + lease, attempts=N.attempts + 1)
             .where((N.id == notification_id) & (N.channel == N.EMAIL) & (N.due_at <= now)
                    & ((N.status == N.PENDING) | ((N.status == N.SENDING) & (N.claimed_until < now))))
             .execute())
    return N.get_by_id(notification_id) if taken else None


def deliver(notification_id, now=None):
    """Claim, render, send and record one notification; returns its new status, or None when
    there was nothing to do."""
    now = now or utcnow()
    row = claim(notification_id, now)
    if row is None:
        return None
    recipient = User.get_by_id(row.recipient_id)
    if not recipient.active:
        return _close(row, N.SKIPPED, "The member's account is deactivated.", now)
    plan = preferences.delivery_plan(row, now, recipient)
    if plan.action != preferences.SEND:  # the member's settings changed since the sweep, or quiet hours began
        preferences.set_aside({row.id: plan}, claimed=True)
        return plan.status
    message, moot = render(row, recipient, now)
    if message is None:
        return _close(row, N.SKIPPED, moot, now)
    try:
        mail.send(message)
    except mail.MailError as error:
        _, answer = mail.server_answer(error)
        if mail.is_permanent(error):
            return _close(row, N.FAILED, answer, now)
        return _try_later(row, answer, now)
    except OSError as error:  # the mail folder of the embedded default: a full disk passes
        return _try_later(row, str(error), now)
    return _close(row, N.SENT, "", now)


def _close(row, status, error, now):
    with database.atomic():  # a digest and the rows it gathered are sent together
        N.update(status=status, last_error=error, claimed_until=None,
                 sent_at=now if status == N.SENT else None).where((N.id == row.id) & (N.status == N.SENDING)).execute()
        if status == N.SENT and row.kind == kinds.DIGEST:
            digests.delivered(row, now)
    if status == N.FAILED:
        current_app.logger.warning("notification %s to user %s failed: %s", row.id, row.recipient_id, error)
    return status


def _try_later(row, error, now):
    if row.attempts >= MAX_ATTEMPTS:
        return _close(row, N.FAILED, f"{error} (gave up after {row.attempts} attempts)", now)
    N.update(status=N.PENDING, last_error=error, claimed_until=None, due_at=now + retry_delay(row.attempts)) \
        .where((N.id == row.id) & (N.status == N.SENDING)).execute()
    current_app.logger.info("notification %s: attempt %s failed (%s); trying again later", row.id, row.attempts, error)
    return N.PENDING


def message_id(dedupe_key):
    """``<…@host>``, the same for every attempt at the same notification."""
    host = urlparse(current_app.config["BASE_URL"]).hostname or "localhost"
    return f"<{hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]}@{host}>"


def render(row, recipient, now):
    """``(message, None)``, or ``(None, why)`` when the notification has nothing left to tell."""
    renderer = RENDERERS.get(row.kind)
    if renderer is None:
        return None, f"No email is written for {row.kind} notifications."
    message = renderer(row, recipient, row.context, now)
    if isinstance(message, str):
        return None, message
    del message["Message-ID"]
    message["Message-ID"] = message_id(row.dedupe_key)
    links.add_unsubscribe(message, row)
    return message, None


# --- one renderer per kind: a message, or the reason there is nothing to send -----------------------

def _people(*ids):
    return {u.id: u for u in User.select().where(User.id.in_([i for i in ids if i]))}


def _request(row, recipient, context, now):
    req = R.get_or_none(R.id == context.get("request_id"))
    if req is None:
        return "The request no longer exists."
    still = {kinds.REQUEST_TO_REVIEW: R.PENDING_REVIEW, kinds.REQUEST_RECEIVED: R.PENDING_MENTOR,
             kinds.REQUEST_WAITING: R.PENDING_MENTOR}.get(row.kind)
    if still and req.status != still:
        return f"The request is {req.status.replace('_', ' ')} now: there is nothing to answer."
    people = _people(req.requester_id, req.mentor_id, req.mentee_id)
    asked = people[req.asked_id]
    topics = [t.name for t in Topic.select(Topic.name).join(RequestTopic)
              .where(RequestTopic.request == req.id).order_by(Topic.name)]
    noun = "offer" if req.direction == R.OFFER else "request"
    if req.status == R.REJECTED:
        note = req.review_note
    elif req.status == R.DECLINED:
        note = req.answer_note
    else:
        note = ""
    return mail.build(
        recipient.email, row.subject, row.kind, to_name=recipient.name, req=req, noun=noun,
        requester=people[req.requester_id], asked=asked, mentor=people[req.mentor_id], mentee=people[req.mentee_id],
        topics=topics, note=note, offer=req.direction == R.OFFER,
        expires=times.when(req.expires_at, recipient.time_zone, "%a %d %b %Y, %H:%M") if req.expires_at else "",
        zone=times.place(recipient.time_zone),
        waited_days=(now - (req.expires_at - EXPIRY)).days if req.expires_at else 0,
        actions=links.request_links(row, recipient, req) if row.kind in ANSWERABLE else {},
    )


def _meeting(row, recipient, context, now):
    meeting = Meeting.get_or_none(Meeting.id == context.get("meeting_id"))
    if meeting is None:
        return "The meeting no longer exists."
    # Each message carries the meeting as it is now: a later notification to the same person about
    # the same meeting makes this one say the same thing again.
    later = (N.select().where((N.recipient == recipient.id) & (N.kind.in_(MEETING_KINDS)) & (N.id > row.id)
                              & N.dedupe_key.startswith(f"meeting:{meeting.id}:"))
             .exists())
    if later:
        return "A later notification about this meeting replaces this one."
    return mail.meeting_message(meeting, recipient, now=now)


def _mentorship(row, recipient, context, now):
    pair = Mentorship.get_or_none(Mentorship.id == context.get("mentorship_id"))
    if pair is None:
        return "The mentorship no longer exists."
    if row.kind in (kinds.FIRST_MEETING_FIT, kinds.PAIR_NUDGE) and pair.status != Mentorship.ACTIVE:
        return "The mentorship has ended."
    people = _people(pair.mentor_id, pair.mentee_id, context.get("by"))
    partner = people[pair.mentee_id if recipient.id == pair.mentor_id else pair.mentor_id]
    return mail.build(
        recipient.email, row.subject, row.kind, to_name=recipient.name, pair=pair, partner=partner,
        mentor=people[pair.mentor_id], mentee=people[pair.mentee_id], by=people.get(context.get("by")),
        meeting_id=context.get("meeting_id"), reason=END_REASON_LABEL.get(context.get("reason"), ""),
        both=bool(context.get("both")),
        actions=(links.fit_links(row, recipient, context.get("meeting_id")) if row.kind == kinds.FIRST_MEETING_FIT
                 else {}),
    )


def _meeting_reminder(row, recipient, context, now):
    meeting = Meeting.get_or_none(Meeting.id == context.get("meeting_id"))
    if meeting is None:
        return "The meeting no longer exists."
    pair = Mentorship.get_by_id(meeting.mentorship_id)
    if pair.status != Mentorship.ACTIVE:
        return "The mentorship has ended."
    if row.kind == kinds.MEETING_SOON and (
            meeting.status != Meeting.SCHEDULED or meeting.starts_at <= now
            or meeting.starts_at != dt.datetime.fromisoformat(context["starts_at"])):
        return "The meeting was moved, cancelled or has begun."
    if row.kind == kinds.LOG_MEETING and meeting.status != Meeting.SCHEDULED:
        return "The meeting has been logged or cancelled."
    if row.kind == kinds.FEEDBACK_DUE and (meeting.status != Meeting.HELD or Feedback.select().where(
            (Feedback.meeting == meeting.id) & (Feedback.author == recipient.id)).exists()):
        return "The feedback has been given."
    partner = User.get_by_id(pair.mentee_id if recipient.id == pair.mentor_id else pair.mentor_id)
    moment = meeting.starts_at if row.kind != kinds.FEEDBACK_DUE else None  # a held meeting: its day
    return mail.build(
        recipient.email, row.subject, row.kind, to_name=recipient.name, meeting=meeting, partner=partner,
        day=times.when(moment, recipient.time_zone, "%a %d %b %Y") if moment else f"{meeting.held_on:%a %d %b %Y}",
        times=times.times_for(moment, recipient, [partner]) if moment else "",
        duration=times.duration(meeting.duration_minutes), format_label=vocab.FORMAT_LABEL.get(meeting.format, ""),
        day_word=reminders.day_word(moment, recipient, now) if moment else "",
    )


def _pair_quiet(row, recipient, context, now):
    pair = Mentorship.get_or_none(Mentorship.id == context.get("mentorship_id"))
    if pair is None or pair.status != Mentorship.ACTIVE:
        return "The mentorship has ended."
    since = reminders.quiet_since([pair.id], now).get(pair.id)
    if since is None or since != dt.datetime.fromisoformat(context["since"]):
        return "The pair has met or planned a meeting since."
    people = _people(pair.mentor_id, pair.mentee_id)
    partner = people[pair.mentee_id if recipient.id == pair.mentor_id else pair.mentor_id]
    return mail.build(
        recipient.email, row.subject, row.kind, to_name=recipient.name, pair=pair, partner=partner,
        mentor=people[pair.mentor_id], mentee=people[pair.mentee_id],
        in_pair=recipient.id in (pair.mentor_id, pair.mentee_id), days=(now - since).days,
        since=times.when(since, recipient.time_zone, "%d %B %Y"),
    )


def _back_from_away(row, recipient, context, now):
    """What waits for a member back from being away: the requests as they are now (some may have been
    withdrawn, or answered from the portal, since the sweep wrote this)."""
    waiting = list(members.waiting_for(recipient.id).order_by(R.expires_at, R.id))
    people = _people(*[req.requester_id for req in waiting])
    topics = {}
    for request_id, name in (RequestTopic.select(RequestTopic.request, Topic.name).join(Topic)
                             .where(RequestTopic.request.in_([req.id for req in waiting]))
                             .order_by(Topic.name).tuples()):
        topics.setdefault(request_id, []).append(name)
    day = dt.date.fromisoformat(context["away_until"])
    return mail.build(
        recipient.email, row.subject, row.kind, to_name=recipient.name, away_until=f"{day.day} {day:%B %Y}",
        waiting=[SimpleNamespace(requester=people[req.requester_id], topics=topics.get(req.id, []),
                                 expires=times.when(req.expires_at, recipient.time_zone, "%a %d %b %Y"))
                 for req in waiting],
    )


def _check_in(row, recipient, context, now):
    pair = Mentorship.get_or_none(Mentorship.id == context.get("mentorship_id"))
    if pair is None or pair.status != Mentorship.ACTIVE:
        return "The mentorship has ended."
    if CheckIn.select().where((CheckIn.mentorship == pair.id) & (CheckIn.author == recipient.id)
                              & (CheckIn.round == context.get("round"))).exists():
        return "The check-in has been answered."
    partner = User.get_by_id(pair.mentee_id if recipient.id == pair.mentor_id else pair.mentor_id)
    return mail.build(recipient.email, row.subject, row.kind, to_name=recipient.name, pair=pair, partner=partner)


def _review_queue_digest(row, recipient, context, now):
    """The queue as it is when the email goes: the numbers of now, or nothing once it is empty."""
    if not recipient.is_coordinator:
        return "The recipient is no longer a coordinator."
    count, days = review_digest.waiting_for(recipient.id, now)
    if not count:
        return "No request waits for review any more."
    return mail.build(recipient.email, review_digest.subject(count, days), row.kind, to_name=recipient.name,
                      count=count, days=days)


def _deletion_requested(row, recipient, context, now):
    """A member's request to delete their account, while it still waits for a coordinator."""
    if not recipient.is_coordinator:
        return "The recipient is no longer a coordinator."
    member = User.get_or_none(User.id == context.get("member_id"))
    if member is None or member.deletion_requested_at is None or member.deleted_at is not None:
        return "The request was cancelled or has been carried out."
    return mail.build(recipient.email, row.subject, row.kind, to_name=recipient.name, member=member)


RENDERERS = {
    kinds.REQUEST_TO_REVIEW: _request,
    kinds.REQUEST_RECEIVED: _request,
    kinds.REQUEST_WAITING: _request,
    kinds.REQUEST_ANSWERED: _request,
    kinds.REQUEST_EXPIRED: _request,
    kinds.MEETING_SCHEDULED: _meeting,
    kinds.MEETING_CHANGED: _meeting,
    kinds.MEETING_CANCELLED: _meeting,
    kinds.FIRST_MEETING_FIT: _mentorship,
    kinds.PAIR_FLAGGED: _mentorship,
    kinds.PAIR_NUDGE: _mentorship,
    kinds.MENTORSHIP_ENDED: _mentorship,
    kinds.PAIR_MATCHED: _mentorship,
    kinds.STAY_IN_TOUCH: _mentorship,
    kinds.MEETING_SOON: _meeting_reminder,
    kinds.LOG_MEETING: _meeting_reminder,
    kinds.FEEDBACK_DUE: _meeting_reminder,
    kinds.PAIR_QUIET: _pair_quiet,
    kinds.BACK_FROM_AWAY: _back_from_away,
    kinds.CHECK_IN: _check_in,
    kinds.REVIEW_QUEUE_DIGEST: _review_queue_digest,
    kinds.DELETION_REQUESTED: _deletion_requested,
    kinds.DIGEST: digests.render,
    kinds.ROUND_OPENED: round_news.render_opened,
    kinds.ROUND_CLOSING: round_news.render_closing,
    kinds.ROUND_PUBLISHED: round_news.render_published,
}
