"""Each member's notification settings, and the one place that decides when a notification is emailed.

A member chooses, per kind, how to hear of it: by email at once (the default: no row), in a daily
digest, or in the portal only; and quiet hours and the hour of the digest, as wall-clock times in
their own time zone. Every notification is an item of the member's list at /notifications whatever
they chose; these settings decide only the email.

``delivery_plan`` decides for one due row, when the sweep finds it due and again when a worker has
claimed it (settings may have changed in between):

- portal only: never emailed; the row becomes ``portal_only`` (not ``sent``, so that nobody reads it
  as "an email went out", nor ``skipped``, which means nothing was left to tell);
- digest: not sent alone; the row waits as ``digest`` until the member's daily digest
  (``portal.notifications.digests``) gathers it and, once that email is sent, marks it sent;
- quiet hours: the row waits: its ``due_at`` moves to the end of the quiet hours in the member's
  zone, as their clocks read that day, also on the nights the clocks change;
- urgent: news of a meeting that begins before the quiet hours end (tomorrow's meeting, a change, a
  cancellation) is sent at once, since after the meeting it is of no use. Meeting invitations and
  the day-before reminder offer no digest either: an invitation carries its calendar file, and a
  digest may come after the meeting.

A change of settings applies to the rows waiting for a digest at once (``save``): to email at once
they go out with the next sweep, to the portal only they stay in the portal. Rows already kept in
the portal only are not emailed afterwards: a backlog arriving at once would surprise.
"""
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from .. import audit
from ..db import database
from ..mentorships import times
from ..models import Notification, NotificationPreference, User, utcnow
from . import services as k

N = Notification
IMMEDIATELY, DIGEST, PORTAL = "immediately", "digest", "portal"
MODE_LABEL = {IMMEDIATELY: "By email at once", DIGEST: "In my daily digest email", PORTAL: "In the portal only"}
ALL_MODES = (IMMEDIATELY, DIGEST, PORTAL)
NO_DIGEST = (IMMEDIATELY, PORTAL)
DEFAULT_DIGEST_HOUR = 8

# What delivery_plan says to do with a due row.
SEND, HOLD, TO_DIGEST, PORTAL_ONLY = "send", "hold", "digest", "portal_only"


@dataclass(frozen=True)
class Choice:
    """One choice on the settings page; ``key`` (a kind) names it, and it decides every kind in ``kinds``."""
    key: str
    label: str
    modes: tuple = ALL_MODES
    also: tuple = ()  # further kinds this choice decides
    coordinator_label: str = ""  # the label coordinators read, when the kind also brings them news

    @property
    def kinds(self):
        return (self.key, *self.also)


MEMBER_GROUPS = (
    ("Requests", (
        Choice(k.REQUEST_RECEIVED, "A member asks you for mentoring, or offers to mentor you"),
        Choice(k.REQUEST_WAITING, "A request has waited 3 days for your answer"),
        Choice(k.REQUEST_ANSWERED, "Your request or offer is accepted, declined or not approved"),
        Choice(k.REQUEST_EXPIRED, "Your request or offer expired without an answer"),
        Choice(k.BACK_FROM_AWAY, "You are back from being away: what waited for you"),
    )),
    ("Meetings", (
        Choice(k.MEETING_SCHEDULED, "Your partner schedules, moves or cancels a meeting (with its calendar "
                                    "invitation)", NO_DIGEST, also=(k.MEETING_CHANGED, k.MEETING_CANCELLED)),
        Choice(k.MEETING_SOON, "A meeting tomorrow", NO_DIGEST),
        Choice(k.LOG_MEETING, "A meeting to log once it is over"),
        Choice(k.FEEDBACK_DUE, "Feedback to give on a meeting"),
    )),
    ("Your mentorships", (
        Choice(k.FIRST_MEETING_FIT, "After your first meeting: is it a good fit?"),
        Choice(k.PAIR_QUIET, "You and your partner have not met for 30 days",
               coordinator_label="A pair has not met for a while: yours after 30 days, any pair after 45"),
        Choice(k.CHECK_IN, "Every couple of months: how is your mentorship going?"),
        Choice(k.PAIR_NUDGE, "A coordinator asks how your mentorship is going"),
        Choice(k.PAIR_MATCHED, "A coordinator pairs you with a mentor or a mentee"),
        Choice(k.MENTORSHIP_ENDED, "Your partner ends your mentorship"),
        Choice(k.STAY_IN_TOUCH, "A former partner would like to stay in touch"),
    )),
    ("Pairing rounds", (
        Choice(k.ROUND_OPENED, "A pairing round opens for sign-ups"),
        Choice(k.ROUND_CLOSING, "A pairing round you have not joined closes in 3 days"),
        Choice(k.ROUND_PUBLISHED, "The pairs of a round you joined are out"),
    )),
)
COORDINATOR_GROUP = ("As a coordinator", (
    Choice(k.REQUEST_TO_REVIEW, "A request waits for a coordinator's review"),
    Choice(k.PAIR_FLAGGED, "A partner says their pair is not a good fit"),
    Choice(k.REVIEW_QUEUE_DIGEST, "Once a day, while requests wait for review: how many", NO_DIGEST),
    Choice(k.DELETION_REQUESTED, "A member asks to delete their account"),
))
CHOICE_OF = {kind: choice for _, choices in (*MEMBER_GROUPS, COORDINATOR_GROUP) for choice in choices
             for kind in choice.kinds}
MEETING_NEWS = (k.MEETING_SCHEDULED, k.MEETING_CHANGED, k.MEETING_CANCELLED, k.MEETING_SOON)


def groups_for(user):
    """The choices a member sees, grouped: ``[(title, [(choice, label), …]), …]``; coordinators also theirs."""
    groups = [*MEMBER_GROUPS, COORDINATOR_GROUP] if user.is_coordinator else MEMBER_GROUPS
    return [(title, [(c, c.coordinator_label if user.is_coordinator and c.coordinator_label else c.label)
                     for c in choices]) for title, choices in groups]


def modes_of(user_ids):
    """``{user id: {choice key: mode}}`` for the choices that differ from "at once"."""
    found = defaultdict(dict)
    if user_ids:
        for user_id, kind, mode in (NotificationPreference.select(NotificationPreference.user,
                                                                   NotificationPreference.kind,
                                                                   NotificationPreference.mode)
                                    .where(NotificationPreference.user.in_(list(set(user_ids)))).tuples()):
            found[user_id][kind] = mode
    return found


@dataclass
class Settings:
    modes: dict  # choice key -> mode, for every choice the member sees
    quiet_from: dt.time = None
    quiet_until: dt.time = None
    digest_hour: int = DEFAULT_DIGEST_HOUR


def settings_of(user):
    chosen = modes_of([user.id]).get(user.id, {})
    modes = {choice.key: chosen.get(choice.key, IMMEDIATELY) for _, choices in groups_for(user)
             for choice, _ in choices}
    return Settings(modes, user.quiet_from, user.quiet_until, user.digest_hour)


class PreferenceError(ValueError):
    """Settings that cannot be saved: ``errors`` maps each field to what to fix."""

    def __init__(self, errors):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def save(user, settings, now=None):
    """Check and store a member's settings; rows waiting for a digest follow the new modes at once."""
    now = now or utcnow()
    errors = problems(user, settings)
    if errors:
        raise PreferenceError(errors)
    modes = {key: mode for key, mode in settings.modes.items() if key in _keys(user)}
    with database.atomic():
        NotificationPreference.delete().where((NotificationPreference.user == user.id)
                                              & NotificationPreference.kind.in_(list(modes))).execute()
        rows = [{"user": user.id, "kind": key, "mode": mode} for key, mode in modes.items() if mode != IMMEDIATELY]
        if rows:
            NotificationPreference.insert_many(rows).execute()
        User.update(quiet_from=settings.quiet_from, quiet_until=settings.quiet_until,
                    digest_hour=settings.digest_hour).where(User.id == user.id).execute()
        # What changed stays private (the log names the member only): their settings are theirs.
        audit.record(user, "notifications.preferences_changed", f"user:{user.id}")
        for mode, status in ((IMMEDIATELY, N.PENDING), (PORTAL, N.PORTAL_ONLY)):
            kinds = [kind for key, chosen in modes.items() if chosen == mode for kind in CHOICE_OF[key].kinds]
            if kinds:
                N.update(status=status, due_at=now).where(
                    (N.recipient == user.id) & (N.status == N.DIGEST) & N.kind.in_(kinds)).execute()
    user.quiet_from, user.quiet_until, user.digest_hour = settings.quiet_from, settings.quiet_until, settings.digest_hour


def _keys(user):
    return {choice.key for _, choices in groups_for(user) for choice, _ in choices}


def problems(user, settings):
    """What is wrong with ``settings``, by field (empty when they can be saved)."""
    errors = {}
    for key, mode in settings.modes.items():
        choice = CHOICE_OF.get(key)
        if choice is None or key not in _keys(user):
            errors[key] = "There is no such kind of notification."
        elif mode not in choice.modes:
            errors[key] = "Choose one of: " + ", ".join(MODE_LABEL[m].lower() for m in choice.modes) + "."
    start, end = settings.quiet_from, settings.quiet_until
    if start is not None and end is None:
        errors["quiet_until"] = "Enter when your quiet hours end too, or leave both times empty."
    elif start is None and end is not None:
        errors["quiet_from"] = "Enter when your quiet hours begin too, or leave both times empty."
    elif start is not None and start == end:
        errors["quiet_until"] = "Quiet hours end at another time than they begin: change one of the two."
    if not isinstance(settings.digest_hour, int) or not 0 <= settings.digest_hour <= 23:
        errors["digest_hour"] = "Choose the hour of your digest from the list."
    elif (start is not None and end is not None and start != end and DIGEST in settings.modes.values()
          and _inside(dt.time(settings.digest_hour), start, end)):
        errors["digest_hour"] = (f"Your digest would come during your quiet hours ({start:%H:%M}–{end:%H:%M}): "
                                 "choose an hour outside them.")
    return errors


# --- the decision --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    action: str  # SEND, HOLD, TO_DIGEST or PORTAL_ONLY
    until: dt.datetime = field(default=None)  # HOLD: the end of the quiet hours (naive UTC)

    @property
    def status(self):
        """The row's status once the plan is applied (SEND: whatever sending makes of it)."""
        return {HOLD: N.PENDING, TO_DIGEST: N.DIGEST, PORTAL_ONLY: N.PORTAL_ONLY}.get(self.action)


def delivery_plan(notification, now, recipient=None, modes=None):
    """What to do with a due notification at ``now``: send it, hold it until the quiet hours end, keep
    it for the digest, or keep it in the portal only. ``recipient`` and ``modes`` (``modes_of``) are
    read when not given."""
    recipient = recipient or User.get_by_id(notification.recipient_id)
    if modes is None:
        modes = modes_of([recipient.id]).get(recipient.id, {})
    choice = CHOICE_OF.get(notification.kind)
    mode = modes.get(choice.key, IMMEDIATELY) if choice else IMMEDIATELY
    if choice is not None and mode not in choice.modes:
        mode = IMMEDIATELY
    if mode == PORTAL:
        return Plan(PORTAL_ONLY)
    if mode == DIGEST:
        return Plan(TO_DIGEST)
    end = quiet_end(recipient, now)
    if end is None or (notification.kind in MEETING_NEWS and _meeting_before(notification, end)):
        return Plan(SEND)
    return Plan(HOLD, end)


def _meeting_before(notification, moment):
    starts_at = notification.context.get("starts_at")
    return bool(starts_at) and dt.datetime.fromisoformat(starts_at) < moment


def plans_for(rows, now):
    """``{row id: Plan}`` for many due rows, their recipients and modes read in two queries."""
    recipient_ids = {row.recipient_id for row in rows}
    if not recipient_ids:
        return {}
    people = {u.id: u for u in User.select(User.id, User.time_zone, User.quiet_from, User.quiet_until)
              .where(User.id.in_(list(recipient_ids)))}
    modes = modes_of(recipient_ids)
    return {row.id: delivery_plan(row, now, people[row.recipient_id], modes.get(row.recipient_id, {}))
            for row in rows}


def set_aside(plans, claimed=False):
    """Apply the plans that are not SEND to their rows, pending ones (the sweep) or ones a worker has
    just ``claimed``, which gives back the attempt the claim counted."""
    grouped = defaultdict(list)
    for row_id, plan in plans.items():
        if plan.action != SEND:
            grouped[plan].append(row_id)
    for plan, ids in grouped.items():
        changes = {N.status: plan.status, N.claimed_until: None}
        if plan.action == HOLD:
            changes[N.due_at] = plan.until
        if claimed:
            changes[N.attempts] = N.attempts - 1
        N.update(changes).where(N.id.in_(ids) & (N.status == (N.SENDING if claimed else N.PENDING))).execute()


# --- wall-clock times in a member's zone -----------------------------------------------------------------

def _inside(clock, start, end):
    """Whether a time of day falls in the quiet hours ``start``–``end`` (which may run past midnight)."""
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end


def quiet_end(user, now):
    """When the quiet hours the member is in at ``now`` end (naive UTC), or None when they are not in them."""
    start, end = user.quiet_from, user.quiet_until
    if start is None or end is None or start == end:
        return None
    local = times.local(now, user.time_zone)
    clock = local.time()
    if not _inside(clock, start, end):
        return None
    day = local.date() + dt.timedelta(days=1 if start > end and clock >= start else 0)
    return reached(day, end, user.time_zone, after=now)


def reached(day, clock, zone_name, after=None):
    """The first moment (naive UTC, later than ``after`` if given) at which the clocks of the zone read
    ``clock`` or later on ``day``: the time itself; its first occurrence when the clocks go back (its
    second one if the first is not after ``after``); the moment they jump when they skip it."""
    tz = times.zone(zone_name)
    wall = dt.datetime.combine(day, clock)
    first, second = (wall.replace(tzinfo=tz, fold=fold).astimezone(times.UTC) for fold in (0, 1))
    if first.astimezone(tz).replace(tzinfo=None) != wall:
        # Skipped: ``second`` (read with the offset after the change) is before the jump, ``first`` after.
        low, high = second, first
        while high - low > dt.timedelta(minutes=1):
            middle = low + (high - low) / 2
            if middle.astimezone(tz).replace(tzinfo=None) >= wall:
                high = middle
            else:
                low = middle
        # The clocks change on a whole minute, the only one in (low, high].
        return high.replace(tzinfo=None, second=0, microsecond=0)
    if after is not None and first.replace(tzinfo=None) <= after and second.replace(tzinfo=None) > after:
        return second.replace(tzinfo=None)
    return first.replace(tzinfo=None)


def digest_moment(user, now):
    """``(local date, moment)``: the latest digest the member is due at ``now``, the day it is for in
    their calendar and when their digest hour came that day (naive UTC)."""
    today = times.today(user.time_zone, now)
    for day in (today, today - dt.timedelta(days=1)):
        moment = reached(day, dt.time(user.digest_hour), user.time_zone)
        if moment <= now:
            return day, moment
    return day, moment


# --- one-click unsubscribe (portal.links) ------------------------------------------------------------

def kind_label(kind):
    """What an email of ``kind`` is about, in the words of the settings page."""
    if kind == k.DIGEST:
        return "Your daily digest"
    choice = CHOICE_OF.get(kind)
    return choice.label if choice else kind.replace("_", " ").capitalize()


def set_email_off(user, kind):
    """The one-click unsubscribe of an email of ``kind``: its choice becomes "in the portal only"; for the
    digest, every choice gathered in it. The caller holds the write transaction."""
    settings = settings_of(user)
    if kind == k.DIGEST:
        keys = [key for key, mode in settings.modes.items() if mode == DIGEST]
    else:
        keys = [CHOICE_OF[kind].key] if kind in CHOICE_OF and CHOICE_OF[kind].key in settings.modes else []
    for key in keys:
        settings.modes[key] = PORTAL
    if keys:
        save(user, settings)
