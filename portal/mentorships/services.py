"""The pair's space: every rule of DESIGN journey 4 ("work together") in one place.

Who may do what:

- the two partners read all of their pair except each other's private notes and
  each other's coordinators-only feedback (not even that it exists), and change
  it while the mentorship is active; an ended pair stays readable, and only
  closing reflections, "stay in touch" and feedback still change;
- coordinators read every pair (all feedback and the "not a good fit" flag,
  never a private note) and change nothing, except clearing that flag and
  ending the pair (``end_mentorship(..., as_coordinator=True)``, with a note);
  a coordinator who is a partner sees their own pair as a partner;
- anyone else: the pair does not exist for them (``visible_mentorship`` and
  ``visible_meeting`` answer None, a 404).

Each change re-reads its rows under the write lock (the mentorship first, then
the meeting), checks the actor (``NotAllowed``: who asks), validates with a
``MentorshipError`` whose ``field`` names the form field, and writes the
AuditEvent and the notifications it implies (DESIGN §6) in the same transaction.
A meeting is entered in its author's zone and stored in UTC (see ``times``).

    scheduled ─log─> held ─delete log (its author, 14 days)─> deleted
        ├─reschedule: same UID, SEQUENCE+1
        └─cancel: SEQUENCE+1 ─> cancelled
    (never scheduled) ─log─> held
"""
import datetime as dt
from types import SimpleNamespace
from urllib.parse import urlparse

from peewee import fn

from .. import audit, vocab
from ..db import locked, write_lock
from ..models import (
    CheckIn,
    ConnectionRequest,
    Feedback,
    Meeting,
    MeetingTopic,
    Mentorship,
    Milestone,
    PrivateNote,
    ProfileTopic,
    RequestTopic,
    Topic,
    User,
    utcnow,
)
from ..notifications import services as notifications
from . import times
from .times import LocalTimeError, times_for, to_utc

END_REASONS = [
    ("goals_met", "Goals met"),
    ("no_longer_able", "No longer able to continue"),
    ("not_a_good_fit", "Not a good fit"),
    ("other", "Other"),
]
# Not a member's choice on the form: the portal ends the pairs of a member whose account is deleted.
LEFT_PROGRAM = "left_program"
END_REASON_LABEL = dict(END_REASONS, **{LEFT_PROGRAM: "Left the program"})
FORMAT_LABEL = {code: vocab.FORMAT_LABEL[code] for code in Meeting.FORMATS}
VISIBILITY_LABEL = {Feedback.PARTNER: "Shared with my partner", Feedback.COORDINATORS: "Coordinators only"}
DURATIONS = list(range(15, 4 * 60 + 1, 15))
LOG_EDIT_DAYS = 14
FEEDBACK_EDIT_DAYS = 7
SCHEDULE_AHEAD_DAYS = 365
MAX_MILESTONES = 50
LIMITS = {"goals": 5000, "title": 200, "agenda": 2000, "link": 500, "place": 200, "notes": 5000,
          "next_steps": 5000, "private_note": 5000, "most_useful": 2000, "reflection": 3000, "comment": 2000,
          "note": 2000}
LABELS = {"goals": "the goals", "title": "the title", "agenda": "the agenda", "link": "the link",
          "place": "the place", "notes": "the notes", "next_steps": "the next steps",
          "private_note": "your private note", "most_useful": "what was most useful",
          "reflection": "your reflection", "comment": "your comment", "note": "the note"}

CHECK_IN_FIRST = dt.timedelta(days=30)  # the first check-in, after the start of the mentorship
CHECK_IN_EVERY = dt.timedelta(days=60)  # and the next ones

ENDED = "This mentorship has ended: its history stays readable, but it cannot be changed any more."
GONE_MEETING = "This meeting no longer exists."


class MentorshipError(Exception):
    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(MentorshipError):
    """The actor has no right to this change (not a rule about the pair itself)."""


# --- who is who ---------------------------------------------------------------------

def role_of(mentorship, user):
    """The user's part in the pair: "mentor", "mentee", or None for someone outside it."""
    if user is None:
        return None
    if user.id == mentorship.mentor_id:
        return "mentor"
    if user.id == mentorship.mentee_id:
        return "mentee"
    return None


def partner_id(mentorship, user):
    return mentorship.mentee_id if user.id == mentorship.mentor_id else mentorship.mentor_id


# The columns a partner's copy of a mentorship holds: the fit flag comes from a partner's
# feedback, which may be for coordinators only, so it is not even read for partners.
_SHARED_COLUMNS = [f for f in Mentorship._meta.sorted_fields if f.name not in ("flagged_at", "flagged_by")]


def _with_partners(columns, mentorship_id=None):
    Mentor, Mentee = User.alias(), User.alias()
    query = (Mentorship.select(*columns, Mentor, Mentee)
             .join(Mentor, on=Mentorship.mentor).switch(Mentorship)
             .join(Mentee, on=Mentorship.mentee).switch(Mentorship))
    if mentorship_id is not None:
        query = query.where(Mentorship.id == mentorship_id)
    return query


def _as_id(value):
    try:
        return int(value.id if hasattr(value, "id") else value)
    except (TypeError, ValueError):
        return None


def visible_mentorship(mentorship_id, viewer):
    """The pair with both partners if the viewer is one of them or a coordinator, else None (a 404).

    A partner's copy does not hold the "not a good fit" flag.
    """
    pair_id = _as_id(mentorship_id)
    if pair_id is None or viewer is None:
        return None
    m = _with_partners(_SHARED_COLUMNS, pair_id).first()
    if m is None:
        return None
    if role_of(m, viewer) is not None:
        return m
    if viewer.is_coordinator:
        return _with_partners(Mentorship._meta.sorted_fields, pair_id).first()
    return None


def visible_meeting(meeting_id, viewer):
    """A meeting with its pair if the viewer may read it, else None (a 404).

    A deleted log is gone for the partners; coordinators still see it.
    """
    meeting_id = _as_id(meeting_id)
    meeting = Meeting.get_or_none(Meeting.id == meeting_id) if meeting_id is not None else None
    if meeting is None or viewer is None:
        return None
    m = visible_mentorship(meeting.mentorship_id, viewer)
    if m is None or (meeting.status == Meeting.DELETED and role_of(m, viewer) is not None):
        return None
    meeting.mentorship = m
    return meeting


# --- loading under the lock ------------------------------------------------------------

def _load_pair(mentorship):
    m = locked(Mentorship.select().where(Mentorship.id == _as_id(mentorship))).first()
    if m is None:
        raise MentorshipError("This mentorship no longer exists.")
    return m


def _require_partner(actor, m, doing="change this mentorship"):
    if role_of(m, actor) is None:
        raise NotAllowed(f"Only the two partners can {doing}." if actor.is_coordinator
                         else "This mentorship is not yours.")


def _require_active(m):
    if m.status != Mentorship.ACTIVE:
        raise MentorshipError(ENDED)


def _changeable_pair(actor, mentorship):
    m = _load_pair(mentorship)
    _require_partner(actor, m)
    _require_active(m)
    return m


def _load_meeting(actor, meeting, doing="change this meeting"):
    """The meeting's pair and the meeting, both locked, once the actor is known to be a partner."""
    found = Meeting.select(Meeting.id, Meeting.mentorship).where(Meeting.id == _as_id(meeting)).first()
    if found is None:
        raise MentorshipError(GONE_MEETING)
    m = _load_pair(found.mentorship_id)
    _require_partner(actor, m, doing)
    meeting = locked(Meeting.select().where(Meeting.id == found.id)).first()
    if meeting is None or meeting.status == Meeting.DELETED:
        raise MentorshipError(GONE_MEETING)
    return m, meeting


def _partner(m, actor):
    return User.get_by_id(partner_id(m, actor))


def _target(obj):
    return f"{type(obj).__name__.lower()}:{obj.id}"


# --- checks shared by the forms ----------------------------------------------------

def _text(value, field, required=None):
    """Trimmed text within its limit; ``required`` is the message when it may not be empty."""
    value = (value or "").strip()
    if required and not value:
        raise MentorshipError(required, field)
    limit = LIMITS[field]
    if len(value) > limit:
        raise MentorshipError(f"Keep {LABELS[field]} under {limit} characters (you wrote {len(value)}).", field)
    return value


def _duration(value):
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        minutes = None
    if minutes not in DURATIONS:
        raise MentorshipError("Choose a duration in steps of 15 minutes, from 15 minutes to 4 hours.", "duration")
    return minutes


def _link(value):
    link = _text(value, "link")
    if link:
        parts = urlparse(link)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in link):
            raise MentorshipError("Enter the video link as a web address that starts with https://.", "link")
    return link


def _format(value):
    if value not in Meeting.FORMATS:
        raise MentorshipError("Choose how you will meet: video call, phone call or in person.", "format")
    return value


def _when(actor, day, time, now):
    """The UTC start of a meeting entered as a local date and time in the actor's zone, and a notice."""
    if not isinstance(day, dt.date):
        raise MentorshipError("Enter the date of the meeting.", "date")
    if not isinstance(time, dt.time):
        raise MentorshipError("Enter the time the meeting starts.", "time")
    try:
        starts_at, notice = to_utc(day, time, actor.time_zone)
    except LocalTimeError as error:
        raise MentorshipError(str(error), "time") from None
    if starts_at <= now:
        if day < times.today(actor.time_zone, now):
            raise MentorshipError("That day has passed: choose a date from today on.", "date")
        raise MentorshipError("That time has passed: choose a time later than now.", "time")
    if starts_at > now + dt.timedelta(days=SCHEDULE_AHEAD_DAYS):
        raise MentorshipError("Schedule meetings at most a year ahead.", "date")
    return starts_at, notice


def _meeting_plan(actor, day, time, duration, format, link, place_text, agenda, now):
    starts_at, notice = _when(actor, day, time, now)
    fields = dict(starts_at=starts_at, duration_minutes=_duration(duration), format=_format(format),
                  link=_link(link), place=_text(place_text, "place"), agenda=_text(agenda, "agenda"))
    if fields["format"] == Meeting.IN_PERSON and not fields["place"]:
        raise MentorshipError("Say where you will meet.", "place")
    return fields, notice


# --- reading ------------------------------------------------------------------------

def pair_topics(mentorship):
    """The topics a pair works on, by name: those of the request that started it and those the
    mentor offers that the mentee seeks; when that leaves none, all that either brings."""
    requested = (RequestTopic.select(RequestTopic.topic).join(ConnectionRequest)
                 .where(ConnectionRequest.mentorship == mentorship.id))
    offered = ProfileTopic.select(ProfileTopic.topic).where(
        (ProfileTopic.profile == mentorship.mentor_id) & (ProfileTopic.kind == ProfileTopic.OFFERS))
    sought = ProfileTopic.select(ProfileTopic.topic).where(
        (ProfileTopic.profile == mentorship.mentee_id) & (ProfileTopic.kind == ProfileTopic.SEEKS))
    approved = Topic.approved == True  # noqa: E712
    topics = list(Topic.select().where(Topic.id.in_(requested) | (approved & Topic.id.in_(offered)
                                                                   & Topic.id.in_(sought)))
                  .order_by(fn.LOWER(Topic.name)))
    if not topics:
        topics = list(Topic.select().where(approved & (Topic.id.in_(offered) | Topic.id.in_(sought)))
                      .order_by(fn.LOWER(Topic.name)))
    return topics


def mentorships_of(member, now=None):
    """The member's pairs, active ones first (newest first), then past ones (latest ended first).

    Each item has ``mentorship``, ``partner``, ``role`` (the member's: "mentor" or "mentee"),
    ``active``, ``since``, ``ended_at``, ``meetings_held``, ``minutes`` and ``hours`` held,
    ``next_meeting`` with ``next_when`` ("10:00 for you · 18:00 for Ana, Berlin") and
    ``next_date``, and ``needs_meeting`` (active and nothing scheduled: the page prompts).
    Three queries, however many pairs and meetings.
    """
    now = now or utcnow()
    mine = (Mentorship.mentor == member.id) | (Mentorship.mentee == member.id)
    pairs = list(_with_partners(_SHARED_COLUMNS).where(mine).order_by(Mentorship.started_at.desc(),
                                                                       Mentorship.id.desc()))
    if not pairs:
        return []
    ids = Mentorship.select(Mentorship.id).where(mine)
    held = {pair: (count, minutes or 0) for pair, count, minutes in
            Meeting.select(Meeting.mentorship, fn.COUNT(Meeting.id), fn.SUM(Meeting.duration_minutes))
            .where(Meeting.mentorship.in_(ids) & (Meeting.status == Meeting.HELD))
            .group_by(Meeting.mentorship).tuples()}
    upcoming = {}
    for meeting in (Meeting.select().where(Meeting.mentorship.in_(ids) & (Meeting.status == Meeting.SCHEDULED)
                                           & (Meeting.starts_at > now))
                    .order_by(Meeting.starts_at, Meeting.id)):
        upcoming.setdefault(meeting.mentorship_id, meeting)
    items = []
    for m in pairs:
        role = role_of(m, member)
        partner = m.mentee if role == "mentor" else m.mentor
        count, minutes = held.get(m.id, (0, 0))
        following = upcoming.get(m.id)
        active = m.status == Mentorship.ACTIVE
        items.append(SimpleNamespace(
            mentorship=m, id=m.id, partner=partner, role=role, active=active, since=m.started_at,
            ended_at=m.ended_at, meetings_held=count, minutes=minutes, hours=minutes / 60,
            next_meeting=following,
            next_date=times.when(following.starts_at, member.time_zone, "%a %d %b %Y") if following else "",
            next_when=times_for(following.starts_at, member, [partner]) if following else "",
            needs_meeting=active and following is None))
    past = sorted((i for i in items if not i.active), key=lambda i: i.ended_at or i.since, reverse=True)
    return [i for i in items if i.active] + past


def pair_page(mentorship, viewer, now=None):
    """Everything the pair's page shows to ``viewer``, in a fixed number of queries.

    ``mentorship`` as ``visible_mentorship`` returns it. The page holds the pair
    (``mentorship``, ``mentor``, ``mentee``, ``role``, ``partner``, ``can_change``),
    ``milestones``, the ``meetings`` timeline newest first (each with its topics,
    the viewer's own private note, the feedback the viewer may read, and what the
    viewer may still do with it), ``upcoming`` and ``next_meeting``, the counts,
    the pair's ``topics``, the closing ``reflections``, "stay in touch" and the
    shared ``partner_contact``, and for coordinators the ``flag``.

    A partner never receives the other's private notes, nor the other's
    coordinators-only feedback (those rows are not even read), nor the good-fit
    answer of the other's shared feedback.
    """
    now = now or utcnow()
    role = role_of(mentorship, viewer)
    if role is None and not viewer.is_coordinator:
        raise NotAllowed("This mentorship is not yours.")
    m = visible_mentorship(mentorship.id, viewer)
    if m is None:
        raise MentorshipError("This mentorship no longer exists.")
    as_partner = role is not None
    people = {m.mentor_id: m.mentor, m.mentee_id: m.mentee}
    partner = people[partner_id(m, viewer)] if as_partner else None
    active = m.status == Mentorship.ACTIVE
    can_change = as_partner and active

    milestones = list(Milestone.select().where(Milestone.mentorship == m.id)
                      .order_by(Milestone.done_at.is_null(False), Milestone.due_on.is_null(),
                                Milestone.due_on, Milestone.id))
    for ms in milestones:
        ms.done_by = people.get(ms.done_by_id)

    query = Meeting.select().where(Meeting.mentorship == m.id)
    if as_partner:
        query = query.where(Meeting.status != Meeting.DELETED)
    meetings = list(query)
    of_pair = Meeting.select(Meeting.id).where(Meeting.mentorship == m.id)

    topics_of = {}
    for link in (MeetingTopic.select(MeetingTopic.meeting, Topic).join(Topic)
                 .where(MeetingTopic.meeting.in_(of_pair)).order_by(fn.LOWER(Topic.name))):
        topics_of.setdefault(link.meeting_id, []).append(link.topic)

    my_notes = {}
    if as_partner:
        my_notes = {note.meeting_id: note.text for note in
                    PrivateNote.select(PrivateNote.meeting, PrivateNote.text)
                    .where(PrivateNote.meeting.in_(of_pair) & (PrivateNote.author == viewer.id))}

    feedback_query = Feedback.select().where(Feedback.meeting.in_(of_pair))
    if as_partner:
        feedback_query = feedback_query.where((Feedback.author == viewer.id)
                                              | (Feedback.visibility == Feedback.PARTNER))
    feedback_of = {}
    for fb in feedback_query.order_by(Feedback.created_at, Feedback.id):
        feedback_of.setdefault(fb.meeting_id, []).append(_feedback_item(fb, viewer, people, as_partner, now))

    held = sorted((mt for mt in meetings if mt.status == Meeting.HELD), key=lambda mt: (mt.held_on, mt.id))
    first_held_id = held[0].id if held else None
    items = [_meeting_item(mt, m, viewer, partner, people, topics_of, my_notes, feedback_of, first_held_id,
                           as_partner, active, now)
             for mt in meetings]
    items.sort(key=lambda i: (i.moment, i.meeting.id), reverse=True)
    upcoming = sorted((i for i in items if i.meeting.status == Meeting.SCHEDULED and i.meeting.starts_at > now),
                      key=lambda i: i.meeting.starts_at)

    mine = theirs = None
    if as_partner:
        mine, theirs = role, ("mentee" if role == "mentor" else "mentor")
    both_agree = m.mentor_stays_in_touch and m.mentee_stays_in_touch
    reflections = [(people[pid], text) for pid, text in ((m.mentor_id, m.mentor_reflection),
                                                        (m.mentee_id, m.mentee_reflection)) if text]
    flag = None
    if not as_partner and m.flagged_at is not None:
        flag = SimpleNamespace(at=m.flagged_at, by=people.get(m.flagged_by_id))
    return SimpleNamespace(
        mentorship=m, mentor=m.mentor, mentee=m.mentee, role=role, partner=partner, viewer=viewer,
        active=active, can_change=can_change, goals=m.goals, goals_updated_at=m.goals_updated_at,
        goals_updated_by=people.get(m.goals_updated_by_id),
        milestones=milestones, meetings=items, upcoming=upcoming, next_meeting=upcoming[0] if upcoming else None,
        needs_log=[i for i in items if i.needs_log],
        meetings_held=len(held), minutes=sum(mt.duration_minutes for mt in held),
        hours=sum(mt.duration_minutes for mt in held) / 60,
        topics=pair_topics(m) if can_change else [],
        ended_at=m.ended_at, end_reason=m.end_reason,
        # A coordinator who ended the pair is not one of ``people``: one more query for those pairs only.
        ended_by=people.get(m.ended_by_id) or (User.get_or_none(User.id == m.ended_by_id) if m.ended_by_id else None),
        end_reason_label=END_REASON_LABEL.get(m.end_reason, ""), reflections=reflections,
        my_reflection=getattr(m, f"{mine}_reflection") if as_partner else "",
        i_stay_in_touch=getattr(m, f"{mine}_stays_in_touch") if as_partner else False,
        partner_stays_in_touch=getattr(m, f"{theirs}_stays_in_touch") if as_partner else False,
        partner_contact=partner.email if as_partner and both_agree else None,
        flag=flag,
        # Check-in scores are the coordinators' alone: a partner's page never reads them.
        check_ins=latest_check_ins(m) if not as_partner else [],
        check_in_round=check_in_round(m, now) if can_change else 0,
    )


def _feedback_item(fb, viewer, people, as_partner, now):
    mine = fb.author_id == viewer.id
    return SimpleNamespace(
        id=fb.id, author=people.get(fb.author_id), mine=mine, rating=fb.rating, most_useful=fb.most_useful,
        visibility=fb.visibility, visibility_label=VISIBILITY_LABEL.get(fb.visibility, ""),
        # The good-fit answer goes to coordinators (and back to its author), never to the other partner.
        good_fit=fb.good_fit if (mine or not as_partner) else None,
        created_at=fb.created_at, updated_at=fb.updated_at,
        editable=mine and now - fb.created_at <= dt.timedelta(days=FEEDBACK_EDIT_DAYS))


def _meeting_item(mt, m, viewer, partner, people, topics_of, my_notes, feedback_of, first_held_id,
                  as_partner, active, now):
    feedback = feedback_of.get(mt.id, [])
    mine = next((fb for fb in feedback if fb.mine), None)
    held = mt.status == Meeting.HELD
    others = [partner] if as_partner else [m.mentor, m.mentee]
    # Scheduled and cancelled meetings show their time in everyone's zone; a held one its date as
    # logged, and its time when it was held on the day it was scheduled for.
    viewer_zone = viewer.time_zone if as_partner else m.mentor.time_zone
    start_day = times.local(mt.starts_at, viewer_zone).date() if mt.starts_at else None
    day = mt.held_on if mt.held_on is not None else start_day
    clock = ""
    if mt.starts_at is not None and mt.held_on in (None, start_day):
        clock = times_for(mt.starts_at, viewer if as_partner else None, others)
    moment = mt.starts_at
    if mt.held_on is not None:  # the timeline's order: the day it was held, at its time if it had one
        moment = dt.datetime.combine(mt.held_on, mt.starts_at.time() if mt.starts_at else dt.time(12))
    log_open = (as_partner and active and held and mt.logged_by_id == viewer.id
                and mt.logged_at is not None and now - mt.logged_at <= dt.timedelta(days=LOG_EDIT_DAYS))
    return SimpleNamespace(
        meeting=mt, id=mt.id, status=mt.status, moment=moment, date=day.strftime("%a %d %b %Y"), times=clock,
        format_label=FORMAT_LABEL.get(mt.format, ""), topics=topics_of.get(mt.id, []),
        organiser=people.get(mt.organiser_id), logged_by=people.get(mt.logged_by_id),
        cancelled_by=people.get(mt.cancelled_by_id), my_private_note=my_notes.get(mt.id, ""),
        feedback=feedback, my_feedback=mine,
        asks_fit=held and mt.id == first_held_id,
        can_change=as_partner and active and mt.status == Meeting.SCHEDULED,
        can_edit_log=log_open, can_delete_log=log_open,
        can_give_feedback=as_partner and held and (mine is None or mine.editable),
        needs_log=as_partner and active and mt.status == Meeting.SCHEDULED and mt.ends_at <= now,
    )


# --- goals and milestones -----------------------------------------------------------

def update_goals(actor, mentorship, goals, now=None):
    """Either partner rewrites the pair's shared goals (Markdown)."""
    now = now or utcnow()
    with write_lock():
        m = _changeable_pair(actor, mentorship)
        m.goals = _text(goals, "goals")
        m.goals_updated_at, m.goals_updated_by = now, actor.id
        m.save()
        audit.record(actor, "mentorship.goals_updated", _target(m))
    return m


def add_milestone(actor, mentorship, title, due_on=None, now=None):
    now = now or utcnow()
    with write_lock():
        m = _changeable_pair(actor, mentorship)
        title = _text(title, "title", required="Give the milestone a title.")
        if due_on is not None and due_on < times.today(actor.time_zone, now):
            raise MentorshipError("Choose a due date from today on, or leave it empty.", "due_on")
        if Milestone.select().where(Milestone.mentorship == m.id).count() >= MAX_MILESTONES:
            raise MentorshipError(f"A pair keeps at most {MAX_MILESTONES} milestones: "
                                  "delete one you no longer need first.")
        milestone = Milestone.create(mentorship=m.id, title=title, due_on=due_on, created_by=actor.id,
                                     created_at=now)
        audit.record(actor, "milestone.added", _target(milestone), _target(m))
    return milestone


def _load_milestone(m, milestone):
    found = Milestone.select().where((Milestone.id == _as_id(milestone)) & (Milestone.mentorship == m.id)).first()
    if found is None:
        raise MentorshipError("This milestone no longer exists.")
    return found


def tick_milestone(actor, mentorship, milestone, now=None):
    """Either partner marks a milestone done (ticking a done one again changes nothing)."""
    return _set_done(actor, mentorship, milestone, True, now or utcnow())


def untick_milestone(actor, mentorship, milestone, now=None):
    return _set_done(actor, mentorship, milestone, False, now or utcnow())


def _set_done(actor, mentorship, milestone, done, now):
    with write_lock():
        m = _changeable_pair(actor, mentorship)
        ms = _load_milestone(m, milestone)
        if (ms.done_at is not None) != done:
            ms.done_at, ms.done_by = (now, actor.id) if done else (None, None)
            ms.save()
            audit.record(actor, "milestone.done" if done else "milestone.undone", _target(ms), _target(m))
    return ms


def delete_milestone(actor, mentorship, milestone):
    with write_lock():
        m = _changeable_pair(actor, mentorship)
        ms = _load_milestone(m, milestone)
        ms.delete_instance()
        audit.record(actor, "milestone.deleted", _target(ms), f"{_target(m)}; {ms.title}")


# --- scheduling -----------------------------------------------------------------------

def schedule_meeting(actor, mentorship, day, time, duration, format, link="", place="", agenda="", now=None):
    """A partner schedules a meeting at a local date and time of their own zone; the partner is told.

    The returned meeting carries a ``notice`` for the person ("" when none): a
    time the clocks repeat is taken the first time, and the notice says so.
    """
    now = now or utcnow()
    with write_lock():
        m = _changeable_pair(actor, mentorship)
        fields, notice = _meeting_plan(actor, day, time, duration, format, link, place, agenda, now)
        meeting = Meeting.create(mentorship=m.id, status=Meeting.SCHEDULED, organiser=actor.id,
                                 time_zone=actor.time_zone, created_at=now, updated_at=now, **fields)
        audit.record(actor, "meeting.scheduled", _target(meeting),
                     f"{_target(m)}; {meeting.starts_at:%Y-%m-%d %H:%M} UTC")
        partner = _partner(m, actor)
        _notify_meeting(meeting, m, partner, notifications.MEETING_SCHEDULED,
                        f"{actor.name} scheduled a meeting: {_their_time(meeting, partner)}", now)
    meeting.notice = notice
    return meeting


def reschedule_meeting(actor, meeting, day, time, duration, format, link="", place="", agenda="", now=None):
    """Either partner changes a scheduled meeting; calendars get the update (SEQUENCE grows by one).

    Changing nothing writes nothing. The returned meeting carries a ``notice`` as for scheduling.
    """
    now = now or utcnow()
    with write_lock():
        m, meeting = _load_meeting(actor, meeting)
        _require_active(m)
        _require_scheduled(meeting)
        fields, notice = _meeting_plan(actor, day, time, duration, format, link, place, agenda, now)
        changed = {name: value for name, value in fields.items() if getattr(meeting, name) != value}
        if changed:
            moved = "starts_at" in changed
            before = meeting.starts_at
            for name, value in changed.items():
                setattr(meeting, name, value)
            meeting.sequence += 1
            meeting.updated_at = now
            meeting.save()
            audit.record(actor, "meeting.rescheduled", _target(meeting),
                         f"{_target(m)}; changed {', '.join(sorted(changed))}"
                         + (f"; from {before:%Y-%m-%d %H:%M} to {meeting.starts_at:%Y-%m-%d %H:%M} UTC"
                            if moved else ""))
            partner = _partner(m, actor)
            subject = (f"{actor.name} moved your meeting to {_their_time(meeting, partner)}" if moved
                       else f"{actor.name} changed the details of your meeting on {_their_time(meeting, partner)}")
            _notify_meeting(meeting, m, partner, notifications.MEETING_CHANGED, subject, now)
    meeting.notice = notice
    return meeting


def cancel_meeting(actor, meeting, now=None):
    """Either partner calls a scheduled meeting off; calendars get a CANCEL."""
    now = now or utcnow()
    with write_lock():
        m, meeting = _load_meeting(actor, meeting)
        _require_active(m)
        _require_scheduled(meeting)
        _cancel(actor, m, meeting, now)
    return meeting


def _cancel(actor, m, meeting, now):
    meeting.status = Meeting.CANCELLED
    meeting.cancelled_at, meeting.cancelled_by = now, actor.id
    meeting.sequence += 1
    meeting.updated_at = now
    meeting.save()
    audit.record(actor, "meeting.cancelled", _target(meeting), _target(m))
    # A coordinator ending the pair is neither partner: both are told.
    for person in [_partner(m, actor)] if role_of(m, actor) else [m.mentor, m.mentee]:
        _notify_meeting(meeting, m, person, notifications.MEETING_CANCELLED,
                        f"{actor.name} cancelled your meeting on {_their_time(meeting, person)}", now)


def _require_scheduled(meeting):
    if meeting.status == Meeting.HELD:
        raise MentorshipError("This meeting has been logged: it can no longer be moved or cancelled.")
    if meeting.status == Meeting.CANCELLED:
        raise MentorshipError("This meeting was cancelled: schedule a new one instead.")


def _their_time(meeting, person):
    return f"{times.when(meeting.starts_at, person.time_zone)} ({times.place(person.time_zone)} time)"


# --- logging a held meeting ---------------------------------------------------------------

def log_meeting(actor, mentorship, held_on, duration, topic_ids=(), notes="", next_steps="", private_note="",
                meeting=None, now=None):
    """A partner logs a held meeting: a scheduled one (``meeting``) becomes held, or a new one is
    written that was never scheduled. After the pair's first held meeting both partners are asked
    whether this is a good fit."""
    now = now or utcnow()
    with write_lock():
        m = _changeable_pair(actor, mentorship)
        if meeting is not None:
            _, meeting = _load_meeting(actor, meeting)
            if meeting.mentorship_id != m.id:
                raise MentorshipError(GONE_MEETING)
            if meeting.status == Meeting.HELD:
                raise MentorshipError("This meeting is already logged: change its log instead.")
            if meeting.status == Meeting.CANCELLED:
                raise MentorshipError("This meeting was cancelled: log the meeting you held as a new one.")
        fields, topics, note = _log_fields(actor, m, held_on, duration, topic_ids, notes, next_steps,
                                           private_note, now)
        first = not Meeting.select().where((Meeting.mentorship == m.id) & (Meeting.status == Meeting.HELD)).exists()
        if meeting is None:
            meeting = Meeting.create(mentorship=m.id, status=Meeting.HELD, time_zone=actor.time_zone,
                                     created_at=now, **fields)
        else:
            for name, value in fields.items():
                setattr(meeting, name, value)
            meeting.status = Meeting.HELD
            meeting.save()
        _replace_topics(meeting, topics)
        _set_note(meeting, actor, note, now)
        audit.record(actor, "meeting.logged", _target(meeting),
                     f"{_target(m)}; held {meeting.held_on:%Y-%m-%d}, {meeting.duration_minutes} min")
        if first:
            mentor, mentee = User.get_by_id(m.mentor_id), User.get_by_id(m.mentee_id)
            for person, other in ((mentor, mentee), (mentee, mentor)):
                notifications.notify(person.id, notifications.FIRST_MEETING_FIT,
                                     f"After your first meeting: is {other.name} a good fit?",
                                     f"mentorship:{m.id}:first_meeting_fit:{person.id}",
                                     context={"mentorship_id": m.id, "meeting_id": meeting.id}, now=now)
    return meeting


def _log_fields(actor, m, held_on, duration, topic_ids, notes, next_steps, private_note, now):
    if not isinstance(held_on, dt.date):
        raise MentorshipError("Enter the date the meeting took place.", "held_on")
    if held_on > times.today(actor.time_zone, now):
        raise MentorshipError("The meeting date is in the future: log a meeting once it has taken place.",
                              "held_on")
    started = times.local(m.started_at, actor.time_zone).date()
    if held_on < started:
        raise MentorshipError(f"The meeting date is before your mentorship started ({started:%d %b %Y}).",
                              "held_on")
    fields = dict(held_on=held_on, duration_minutes=_duration(duration), notes=_text(notes, "notes"),
                  next_steps=_text(next_steps, "next_steps"), logged_by=actor.id, logged_at=now, updated_at=now)
    return fields, _check_topics(m, topic_ids), (None if private_note is None
                                                  else _text(private_note, "private_note"))


def _check_topics(m, topic_ids):
    try:
        wanted = {int(t.id if isinstance(t, Topic) else t) for t in (topic_ids or ())}
    except (TypeError, ValueError):
        wanted = None
    if wanted is None or not wanted <= {t.id for t in pair_topics(m)}:
        raise MentorshipError("Choose only among the topics of your mentorship.", "topics")
    return sorted(wanted)


def _replace_topics(meeting, topic_ids):
    MeetingTopic.delete().where(MeetingTopic.meeting == meeting.id).execute()
    if topic_ids:
        MeetingTopic.insert_many([{"meeting": meeting.id, "topic": t} for t in topic_ids]).execute()


def _set_note(meeting, author, text, now):
    """The author's private note on the meeting: written, replaced, removed when empty; None leaves it."""
    if text is None:
        return
    if not text:
        PrivateNote.delete().where((PrivateNote.meeting == meeting.id) & (PrivateNote.author == author.id)).execute()
        return
    (PrivateNote.insert(meeting=meeting.id, author=author.id, text=text, created_at=now, updated_at=now)
     .on_conflict(conflict_target=[PrivateNote.meeting, PrivateNote.author],
                  update={PrivateNote.text: text, PrivateNote.updated_at: now})
     .execute())


def _require_own_log(actor, m, meeting, now):
    if meeting.status != Meeting.HELD:
        raise MentorshipError("This meeting has not been logged.")
    if meeting.logged_by_id != actor.id:
        raise NotAllowed("Only the partner who logged this meeting can change or delete its log.")
    _require_active(m)
    if now - meeting.logged_at > dt.timedelta(days=LOG_EDIT_DAYS):
        raise MentorshipError(f"A log can be changed for {LOG_EDIT_DAYS} days after it is written; "
                              f"this one was written on {meeting.logged_at:%d %b %Y}.")


def edit_log(actor, meeting, held_on, duration, topic_ids=(), notes="", next_steps="", private_note=None,
             now=None):
    """The partner who logged a meeting corrects the log, for 14 days. ``private_note`` None leaves it."""
    now = now or utcnow()
    with write_lock():
        m, meeting = _load_meeting(actor, meeting, "change this meeting's log")
        _require_own_log(actor, m, meeting, now)
        logged_at = meeting.logged_at
        fields, topics, note = _log_fields(actor, m, held_on, duration, topic_ids, notes, next_steps,
                                           private_note, now)
        for name, value in fields.items():
            setattr(meeting, name, value)
        meeting.logged_at = logged_at  # the 14 days run from the first writing
        meeting.save()
        _replace_topics(meeting, topics)
        _set_note(meeting, actor, note, now)
        audit.record(actor, "meeting.log_edited", _target(meeting), _target(m))
    return meeting


def delete_log(actor, meeting, now=None):
    """The partner who logged a meeting takes the log back, for 14 days.

    The meeting leaves the pair's timeline and counts, and the author's private
    note goes; the feedback stays for coordinators, so that deleting a log
    never erases what the partner wrote about the meeting.
    """
    now = now or utcnow()
    with write_lock():
        m, meeting = _load_meeting(actor, meeting, "change this meeting's log")
        _require_own_log(actor, m, meeting, now)
        meeting.status = Meeting.DELETED
        meeting.updated_at = now
        meeting.save()
        _set_note(meeting, actor, "", now)
        audit.record(actor, "meeting.log_deleted", _target(meeting), _target(m))
    return meeting


def set_private_note(actor, meeting, text, now=None):
    """A partner's own private note on a held meeting (empty text removes it); nobody else ever reads it."""
    now = now or utcnow()
    with write_lock():
        _, meeting = _load_meeting(actor, meeting, "write notes on this meeting")
        if meeting.status != Meeting.HELD:
            raise MentorshipError("Private notes are kept on meetings that have been logged.", "private_note")
        _set_note(meeting, actor, _text(text, "private_note"), now)
        audit.record(actor, "meeting.private_note", _target(meeting))
    return meeting


# --- feedback ---------------------------------------------------------------------------------

def asks_fit(meeting):
    """Whether feedback on this meeting asks "Is this a good fit?": on the pair's first held meeting only."""
    first = (Meeting.select(Meeting.id).where((Meeting.mentorship == meeting.mentorship_id)
                                              & (Meeting.status == Meeting.HELD))
             .order_by(Meeting.held_on, Meeting.id).first())
    return first is not None and first.id == meeting.id


def _good_fit(value):
    if value in (None, ""):
        return None
    if value in (True, "yes", "y", "1"):
        return True
    if value in (False, "no", "n", "0"):
        return False
    raise MentorshipError("Answer “Is this a good fit?” with yes or no.", "good_fit")


def _rating(value):
    try:
        rating = int(value)
    except (TypeError, ValueError):
        rating = None
    if rating not in range(1, 6):
        raise MentorshipError("Choose a rating from 1 to 5.", "rating")
    return rating


def give_feedback(actor, meeting, rating, most_useful="", visibility=Feedback.PARTNER, good_fit=None, now=None):
    """A partner rates a held meeting, once; they may change it for 7 days.

    ``visibility`` "coordinators" keeps it from the partner altogether. On the
    pair's first held meeting it also asks "Is this a good fit?": a no flags the
    pair for coordinators, who are told.
    """
    now = now or utcnow()
    with write_lock():
        m, meeting = _load_meeting(actor, meeting, "give feedback on their meetings")
        if meeting.status == Meeting.SCHEDULED:
            raise MentorshipError("You can give feedback once the meeting has been logged.")
        if meeting.status == Meeting.CANCELLED:
            raise MentorshipError("This meeting was cancelled: there is nothing to give feedback on.")
        rating = _rating(rating)
        most_useful = _text(most_useful, "most_useful")
        if visibility not in Feedback.VISIBILITIES:
            raise MentorshipError("Choose who may read your feedback: your partner, or coordinators only.",
                                  "visibility")
        good_fit = _good_fit(good_fit)
        if good_fit is not None and not asks_fit(meeting):
            raise MentorshipError("“Is this a good fit?” is asked after your first meeting only.", "good_fit")
        fb = Feedback.get_or_none((Feedback.meeting == meeting.id) & (Feedback.author == actor.id))
        if fb is None:
            fb = Feedback.create(meeting=meeting.id, author=actor.id, rating=rating, most_useful=most_useful,
                                 visibility=visibility, good_fit=good_fit, created_at=now, updated_at=now)
            action = "feedback.given"
        else:
            if now - fb.created_at > dt.timedelta(days=FEEDBACK_EDIT_DAYS):
                raise MentorshipError(f"Feedback can be changed for {FEEDBACK_EDIT_DAYS} days after it is given; "
                                      f"you gave yours on {fb.created_at:%d %b %Y}.")
            fb.rating, fb.most_useful, fb.visibility, fb.good_fit = rating, most_useful, visibility, good_fit
            fb.updated_at = now
            fb.save()
            action = "feedback.edited"
        audit.record(actor, action, _target(meeting), f"rating {rating}; {visibility}")
        if good_fit is False:
            _flag(actor, m, now)
    return fb


# --- check-ins (DESIGN §6) ------------------------------------------------------------------

def check_in_round(m, now):
    """The check-in round open at ``now``: 1 from day 30 of the mentorship, 2 from day 90, and so
    on; 0 before the first."""
    if now < m.started_at + CHECK_IN_FIRST:
        return 0
    return 1 + (now - m.started_at - CHECK_IN_FIRST) // CHECK_IN_EVERY


def check_in_due_at(m, round_number):
    return m.started_at + CHECK_IN_FIRST + (round_number - 1) * CHECK_IN_EVERY


def my_check_in(m, viewer, now=None):
    """``(round, the viewer's answer to it or None)``: the check-in the partner's page shows."""
    round_number = check_in_round(m, now or utcnow())
    mine = CheckIn.get_or_none((CheckIn.mentorship == m.id) & (CheckIn.author == viewer.id)
                               & (CheckIn.round == round_number)) if round_number else None
    return round_number, mine


def _score(value):
    try:
        score = int(value)
    except (TypeError, ValueError):
        score = None
    if score not in range(1, 6):
        raise MentorshipError("Choose a score from 1 to 5.", "score")
    return score


def answer_check_in(actor, mentorship, score, comment="", now=None):
    """A partner answers the check-in of the round open now; answering again changes the answer.
    Only the coordinators read it."""
    now = now or utcnow()
    with write_lock():
        m = _load_pair(mentorship)
        _require_partner(actor, m, "answer its check-ins")
        _require_active(m)
        round_number = check_in_round(m, now)
        if not round_number:
            raise MentorshipError(f"The first check-in comes {CHECK_IN_FIRST.days} days after the mentorship "
                                  f"starts, on {check_in_due_at(m, 1):%d %b %Y}.")
        score = _score(score)
        comment = _text(comment, "comment")
        found = CheckIn.get_or_none((CheckIn.mentorship == m.id) & (CheckIn.author == actor.id)
                                    & (CheckIn.round == round_number))
        if found is None:
            found = CheckIn.create(mentorship=m.id, author=actor.id, round=round_number, score=score,
                                   comment=comment, created_at=now)
            action = "check_in.answered"
        else:
            found.score, found.comment, found.created_at = score, comment, now
            found.save()
            action = "check_in.changed"
        audit.record(actor, action, _target(m), f"round {round_number}")
    return found


def latest_check_ins(m):
    """Each partner's latest check-in, mentor first (None where they gave none): for coordinators."""
    latest = {}
    for answer in (CheckIn.select().where(CheckIn.mentorship == m.id).order_by(CheckIn.round, CheckIn.id)):
        latest[answer.author_id] = answer
    return [(person, latest.get(person.id)) for person in (m.mentor, m.mentee)]


def _flag(actor, m, now):
    """A partner says "not a good fit": the pair is flagged and coordinators are told."""
    if m.flagged_at is None:
        m.flagged_at, m.flagged_by = now, actor.id
        m.save()
    audit.record(actor, "mentorship.flagged", _target(m), "not a good fit")
    partner = _partner(m, actor)
    for coordinator in notifications.coordinators(exclude=(m.mentor_id, m.mentee_id)):
        notifications.notify(coordinator.id, notifications.PAIR_FLAGGED,
                             f"{actor.name} says their mentorship with {partner.name} is not a good fit",
                             f"mentorship:{m.id}:flagged:{actor.id}:{coordinator.id}",
                             context={"mentorship_id": m.id, "by": actor.id}, now=now)


def clear_flag(actor, mentorship, now=None):
    """A coordinator has looked at a flagged pair and clears the flag."""
    with write_lock():
        m = _load_pair(mentorship)
        if not actor.is_coordinator:
            raise NotAllowed("Only coordinators can clear a pair's flag.")
        if role_of(m, actor) is not None:
            raise NotAllowed("You cannot clear the flag of your own mentorship: another coordinator will.")
        if m.flagged_at is None:
            raise MentorshipError("This pair is not flagged.")
        m.flagged_at = m.flagged_by = None
        m.save()
        audit.record(actor, "mentorship.flag_cleared", _target(m))
    return m


# --- ending well ----------------------------------------------------------------------------------

def end_mentorship(actor, mentorship, reason, reflection="", stay_in_touch=False, now=None, leaving=False,
                   note="", as_coordinator=False):
    """Either partner ends the mentorship, with a reason and a closing reflection (``leaving``: the
    actor's account is being deleted, the only way to the reason ``LEFT_PROGRAM``); or, ``as_coordinator``,
    a coordinator outside the pair ends it, with a reason and a ``note`` that both partners read.

    The mentor's place frees (capacity counts active pairs); meetings still to
    come are cancelled; the history stays readable to both; the partner (both
    partners, when a coordinator ends it) is told, and coordinators too when it
    was not a good fit.
    """
    now = now or utcnow()
    with write_lock():
        m = _load_pair(mentorship)
        role = role_of(m, actor)
        if role is None and not (as_coordinator and actor.is_coordinator):
            _require_partner(actor, m, "end their mentorship")
        if m.status != Mentorship.ACTIVE:
            raise MentorshipError("This mentorship has already ended.")
        if reason not in END_REASON_LABEL or (reason == LEFT_PROGRAM and not leaving):
            raise MentorshipError("Choose why the mentorship ends.", "reason")
        if role is None:  # a coordinator: the partners keep their own reflections to write
            m.end_note = _text(note, "note", required="Say in a few words why you end this pair: "
                                                      "both partners read it.")
        else:
            reflection = _text(reflection, "reflection", required="Say in a few words why the mentorship ends."
                               if reason == "other" else None)
            setattr(m, f"{role}_reflection", reflection)
            setattr(m, f"{role}_stays_in_touch", bool(stay_in_touch))
        m.status, m.ended_at, m.ended_by, m.end_reason = Mentorship.ENDED, now, actor.id, reason
        m.save()
        audit.record(actor, "mentorship.ended", _target(m), reason if role else f"{reason} (by a coordinator): "
                                                                                 f"{m.end_note}")
        for meeting in locked(Meeting.select().where((Meeting.mentorship == m.id)
                                                     & (Meeting.status == Meeting.SCHEDULED)
                                                     & (Meeting.starts_at > now))):
            _cancel(actor, m, meeting, now)
        if role:
            partner = _partner(m, actor)
            notifications.notify(partner.id, notifications.MENTORSHIP_ENDED, f"{actor.name} ended your mentorship",
                                 f"mentorship:{m.id}:ended:{partner.id}",
                                 context={"mentorship_id": m.id, "reason": reason}, now=now)
        else:
            mentor, mentee = User.get_by_id(m.mentor_id), User.get_by_id(m.mentee_id)
            for person, other in ((mentor, mentee), (mentee, mentor)):
                notifications.notify(person.id, notifications.MENTORSHIP_ENDED,
                                     f"{actor.name}, a coordinator, ended your mentorship with {other.name}",
                                     f"mentorship:{m.id}:ended:{person.id}",
                                     context={"mentorship_id": m.id, "reason": reason, "by": actor.id}, now=now)
            partner = mentee  # for the coordinators' message below: "<actor> ended the mentorship with <mentee>"
        if reason == "not_a_good_fit":
            for coordinator in notifications.coordinators(exclude=(m.mentor_id, m.mentee_id, actor.id)):
                notifications.notify(coordinator.id, notifications.PAIR_FLAGGED,
                                     f"{actor.name} ended the mentorship with {partner.name}: not a good fit",
                                     f"mentorship:{m.id}:ended_not_a_good_fit:{coordinator.id}",
                                     context={"mentorship_id": m.id, "by": actor.id}, now=now)
    return m


def write_reflection(actor, mentorship, reflection):
    """After the end, either partner writes (or rewrites) their closing reflection."""
    with write_lock():
        m = _load_pair(mentorship)
        _require_partner(actor, m, "write its closing reflections")
        if m.status == Mentorship.ACTIVE:
            raise MentorshipError("A closing reflection is written when the mentorship ends.", "reflection")
        setattr(m, f"{role_of(m, actor)}_reflection", _text(reflection, "reflection"))
        m.save()
        audit.record(actor, "mentorship.reflection", _target(m))
    return m


def set_stay_in_touch(actor, mentorship, consent, now=None):
    """A partner says whether they would like to stay in touch; contact details are shared only
    when both say yes. The partner hears of a yes (once)."""
    now = now or utcnow()
    consent = bool(consent)
    with write_lock():
        m = _load_pair(mentorship)
        _require_partner(actor, m, "choose to stay in touch")
        role = role_of(m, actor)
        if getattr(m, f"{role}_stays_in_touch") == consent:
            return m
        setattr(m, f"{role}_stays_in_touch", consent)
        m.save()
        audit.record(actor, "mentorship.stay_in_touch", _target(m), "yes" if consent else "no")
        if consent:
            partner = _partner(m, actor)
            both = m.mentor_stays_in_touch and m.mentee_stays_in_touch
            subject = (f"{actor.name} agreed to stay in touch: you can now see each other's contact details"
                       if both else f"{actor.name} would like to stay in touch")
            notifications.notify(partner.id, notifications.STAY_IN_TOUCH, subject,
                                 f"mentorship:{m.id}:stay_in_touch:{partner.id}:{'both' if both else 'asked'}",
                                 context={"mentorship_id": m.id, "both": both}, now=now)
    return m


# --- when to meet ------------------------------------------------------------------------------

def overlap_hours(member, partner, day):
    """The windows on ``day`` (a date in ``member``'s zone) when both partners' days overlap.

    Each partner's day is 08:00–18:00 in their zone, or the ranges their
    profile's availability note names ("18:00–21:00"). Each window has ``start``
    and ``end`` (aware UTC) and ``hours``; ``describe_overlap`` words it.
    """
    return times.overlap(day, member.time_zone, times.day_ranges(member.profile.availability_note),
                         partner.time_zone, times.day_ranges(partner.profile.availability_note))


def describe_overlap(windows, viewer, partner):
    """["14:00–17:00 for you · 09:00–12:00 for Ana, New York"], one line per window."""
    return [times_for(w.start.replace(tzinfo=None), viewer, [partner], end=w.end.replace(tzinfo=None))
            for w in windows]


# --- notifications (the outbox, DESIGN §6) ---------------------------------------------------------

def _notify_meeting(meeting, m, recipient, kind, subject, now):
    """Tell the partner of a meeting change; the delivery attaches the invitation (or CANCEL) as .ics."""
    notifications.notify(recipient.id, kind, subject, f"meeting:{meeting.id}:{kind}:{meeting.sequence}:{recipient.id}",
                         context={"meeting_id": meeting.id, "mentorship_id": m.id, "sequence": meeting.sequence,
                                  "starts_at": meeting.starts_at}, now=now)
