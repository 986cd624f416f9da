"""Privacy (issue 7): a member's data export, and the deletion of their account.

**The export** (``export``) holds what the member may read in the portal about themself, and nothing
more: their account (never the password hash or the session token), profile, settings, the
invitation that made them, the requests they sent or that reached them (with both sides' words, as
/requests shows them), their mentorships with the partner's name only, the milestones, the meetings
(shared notes, their own private notes, their own feedback and the feedback their partner shared
with them), their check-ins, their entries in pairing rounds, notifications and the audit events they
caused. The partner's private notes, coordinators-only feedback (not even that it exists), good-fit
answers and check-ins, and any other member's email, are never read. A fixed number of queries, however many meetings.

**Deletion** runs in two steps: the member asks (with their password; they may cancel while it
waits) and coordinators are told; a coordinator other than the member confirms, and ``erase`` runs
in one transaction. It ends the member's active mentorships the way a partner does ("left the
program": the partners are told, meetings still to come are cancelled), closes their open requests
(the ones they sent are withdrawn; the ones sent to them declined with a note their sender is told
of), then erases or anonymises, table by table (``ERASURE`` in tests/test_privacy.py checks every
model):

- the account: "Former member", an undeliverable unique address (so that the same email can be
  invited again), no password, a new session token (every session ends), inactive;
- the profile's texts, topics and languages; their unapproved topic suggestions nobody else uses;
- everything only they had: private notes, notifications, notification settings, used email links,
  the invitations to their address, their entries in pairing rounds (topics, preferred mentors, "never
  pair me with" list), and the round rows that name them (others' preferences and lists, proposals,
  forbidden pairs); a round they created keeps going without their name;
- their own words where others' rows keep the numbers: request prompts and notes they wrote,
  feedback comments (ratings kept), check-in comments (scores kept), their closing reflections,
  audit details of what they did or what was done to their account (the events themselves stay);
- kept as they are: what the pair wrote together and the partner still reads on the pair's page
  (goals, milestones, meeting agendas, shared notes and next steps). They belong to the partner as
  much as to the member, and the member's name is gone from them ("Former member"). Other members'
  notifications keep their subjects (what they were told, and when, is their own record), but the
  coordinators' notices of this deletion request go with it.

Counts stay: meetings, pairs, requests, ratings and scores keep their rows, so the dashboard's
statistics do not move.
"""
import datetime as dt
from types import SimpleNamespace

from .. import audit
from ..auth import services as accounts
from ..db import locked, write_lock
from ..mentorships import services as mentorships
from ..models import (
    AuditEvent,
    CheckIn,
    ConnectionRequest,
    Feedback,
    Invitation,
    Meeting,
    MeetingTopic,
    Mentorship,
    Milestone,
    Notification,
    NotificationPreference,
    PrivateNote,
    Profile,
    ProfileLanguage,
    ProfileTopic,
    RequestTopic,
    Round,
    RoundEntry,
    RoundEntryTopic,
    RoundExclusion,
    RoundForbidden,
    RoundPreference,
    RoundProposal,
    Topic,
    UsedLink,
    User,
    new_token,
    utcnow,
)
from ..notifications import preferences
from ..notifications import services as notifications
from ..requests import services as requests

R = ConnectionRequest
FORMER_NAME = "Former member"
# The note closing a request sent to a member who leaves: nameless, since it stays on the requester's row.
LEFT_NOTE = "Closed: the member it was sent to has left the program."


class PrivacyError(Exception):
    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(PrivacyError):
    """The actor has no right to this step."""


def deleted_email(user_id):
    """A unique address that no mail server delivers to (``.invalid`` is reserved, RFC 2606)."""
    return f"deleted-{user_id}@invalid"


# --- the export ---------------------------------------------------------------------------------

def _iso(value):
    return value.isoformat() if isinstance(value, (dt.datetime, dt.date, dt.time)) else value


def _row(obj, names):
    return {name: _iso(getattr(obj, name)) for name in names}


def export(user):
    """All of ``user``'s data as a JSON-ready dict (see the module's doc for what is in it)."""
    me = User.get_by_id(user.id)
    profile = Profile.get(Profile.user == me.id)
    topics = {ProfileTopic.OFFERS: [], ProfileTopic.SEEKS: []}
    for kind, name in (ProfileTopic.select(ProfileTopic.kind, Topic.name).join(Topic)
                       .where(ProfileTopic.profile == me.id).order_by(Topic.name).tuples()):
        topics[kind].append(name)

    reqs = list(R.select().where(requests.seen_by(me)).order_by(R.created_at, R.id))
    # Never the "not a good fit" flag: it comes from a partner's feedback, maybe for coordinators only.
    M = Mentorship
    pairs = list(M.select(M.id, M.mentor, M.mentee, M.status, M.goals, M.started_at, M.ended_at, M.ended_by,
                          M.end_reason, M.end_note, M.mentor_reflection, M.mentee_reflection, M.mentor_stays_in_touch,
                          M.mentee_stays_in_touch)
                 .where((Mentorship.mentor == me.id) | (Mentorship.mentee == me.id))
                 .order_by(Mentorship.started_at, Mentorship.id))
    other_ids = {r.mentee_id if r.mentor_id == me.id else r.mentor_id for r in reqs}
    other_ids |= {mentorships.partner_id(m, me) for m in pairs}
    names = dict(User.select(User.id, User.name).where(User.id.in_(list(other_ids))).tuples()) if other_ids else {}
    request_topics = {}
    for request_id, name in (RequestTopic.select(RequestTopic.request, Topic.name).join(Topic)
                             .where(RequestTopic.request.in_([r.id for r in reqs])).order_by(Topic.name).tuples()):
        request_topics.setdefault(request_id, []).append(name)

    return {
        "exported_at": _iso(utcnow()),
        "account": _row(me, ("id", "email", "name", "role", "active", "verified", "time_zone", "created_at",
                             "last_login", "last_seen", "deletion_requested_at")),
        "profile": dict(_row(profile, ("headline", "bio", "organization", "job_title", "job_level", "industry",
                                       "country", "region", "offers_mentoring", "seeks_mentoring", "capacity",
                                       "availability_note", "completed", "updated_at", "away_until")),
                        meeting_formats=profile.formats, topics_offered=topics[ProfileTopic.OFFERS],
                        topics_sought=topics[ProfileTopic.SEEKS],
                        languages=[code for (code,) in ProfileLanguage.select(ProfileLanguage.code)
                                   .where(ProfileLanguage.profile == me.id).order_by(ProfileLanguage.code).tuples()]),
        "notification_settings": {
            "quiet_from": _iso(me.quiet_from), "quiet_until": _iso(me.quiet_until), "digest_hour": me.digest_hour,
            "choices": preferences.settings_of(me).modes,
        },
        "invitations": [_row(inv, ("created_at", "accepted_at", "role", "name")) for inv in
                        Invitation.select().where(Invitation.accepted_user == me.id).order_by(Invitation.id)],
        "requests": [_request(r, me, names, request_topics) for r in reqs],
        "mentorships": _mentorships(pairs, me, names),
        "meetings": _meetings(pairs, me),
        "round_entries": _round_entries(me),
        "check_ins": [_row(c, ("mentorship_id", "round", "score", "comment", "created_at")) for c in
                      CheckIn.select().where(CheckIn.author == me.id).order_by(CheckIn.created_at, CheckIn.id)],
        "notifications": [_row(n, ("kind", "subject", "created_at", "read_at")) for n in
                          Notification.select(Notification.kind, Notification.subject, Notification.created_at,
                                              Notification.read_at)
                          .where(Notification.recipient == me.id).order_by(Notification.created_at, Notification.id)],
        # Without the detail: a coordinator's detail may quote someone else (the address they invited).
        "audit_events": [_row(e, ("action", "target", "created_at")) for e in
                         AuditEvent.select(AuditEvent.action, AuditEvent.target, AuditEvent.created_at)
                         .where(AuditEvent.actor == me.id).order_by(AuditEvent.created_at, AuditEvent.id)],
    }


def _round_entries(me):
    """My entries in pairing rounds, with their topics, my preferred mentors and my "never pair me with" list
    (names only: I chose them), in four queries."""
    entries = list(RoundEntry.select(RoundEntry, Round.name).join(Round).where(RoundEntry.user == me.id)
                   .order_by(RoundEntry.created_at, RoundEntry.id))
    ids = [e.id for e in entries] or [0]
    topics, preferred, avoided = {}, {}, {}
    for entry_id, kind, name in (RoundEntryTopic.select(RoundEntryTopic.entry, RoundEntryTopic.kind, Topic.name)
                                 .join(Topic).where(RoundEntryTopic.entry.in_(ids)).order_by(Topic.name).tuples()):
        topics.setdefault((entry_id, kind), []).append(name)
    for entry_id, name in (RoundPreference.select(RoundPreference.entry, User.name)
                           .join(User, on=(RoundPreference.mentor == User.id))
                           .where(RoundPreference.entry.in_(ids)).order_by(RoundPreference.rank).tuples()):
        preferred.setdefault(entry_id, []).append(name)
    for entry_id, name in (RoundExclusion.select(RoundExclusion.entry, User.name)
                           .join(User, on=(RoundExclusion.other == User.id))
                           .where(RoundExclusion.entry.in_(ids)).order_by(User.name).tuples()):
        avoided.setdefault(entry_id, []).append(name)
    return [dict(_row(e, ("as_mentor", "capacity", "as_mentee", "confirmed_at", "created_at", "updated_at")),
                 round=e.round.name, topics_offered=topics.get((e.id, ProfileTopic.OFFERS), []),
                 topics_sought=topics.get((e.id, ProfileTopic.SEEKS), []), preferred_mentors=preferred.get(e.id, []),
                 never_pair_with=avoided.get(e.id, [])) for e in entries]


def _request(r, me, names, topics):
    mine = r.requester_id == me.id
    other_id = r.mentee_id if r.mentor_id == me.id else r.mentor_id
    return dict(
        _row(r, ("id", "direction", "status", "help_wanted", "success_looks_like", "meeting_format", "created_at",
                 "answered_at", "answer_note", "expires_at", "closed_at", "mentorship_id")),
        my_part="requester" if mine else "asked", other_member=names.get(other_id), topics=topics.get(r.id, []),
        # As /requests shows it: a coordinator's note on a rejection is written for the requester.
        review_note=r.review_note if mine and r.status == R.REJECTED else "",
    )


def _who(user_id, me):
    return None if user_id is None else ("me" if user_id == me.id else "partner")


def _mentorships(pairs, me, names):
    milestones = {}
    for ms in (Milestone.select().where(Milestone.mentorship.in_([m.id for m in pairs]))
               .order_by(Milestone.created_at, Milestone.id)):
        milestones.setdefault(ms.mentorship_id, []).append(
            dict(_row(ms, ("title", "due_on", "done_at", "created_at")), done_by=_who(ms.done_by_id, me)))
    items = []
    for m in pairs:
        mine, theirs = ("mentor", "mentee") if m.mentor_id == me.id else ("mentee", "mentor")
        items.append(dict(
            _row(m, ("id", "status", "goals", "started_at", "ended_at", "end_reason", "end_note")),
            my_role=mine, partner=names.get(mentorships.partner_id(m, me)), ended_by=_who(m.ended_by_id, me),
            my_reflection=getattr(m, f"{mine}_reflection"), partner_reflection=getattr(m, f"{theirs}_reflection"),
            i_stay_in_touch=getattr(m, f"{mine}_stays_in_touch"),
            partner_stays_in_touch=getattr(m, f"{theirs}_stays_in_touch"),
            milestones=milestones.get(m.id, []),
        ))
    return items


def _meetings(pairs, me):
    """The meetings of the member's pairs as the partners see them (a deleted log is gone for both)."""
    ids = [m.id for m in pairs]
    meetings = list(Meeting.select().where(Meeting.mentorship.in_(ids) & (Meeting.status != Meeting.DELETED))
                    .order_by(Meeting.created_at, Meeting.id))
    of_mine = [mt.id for mt in meetings]
    topics = {}
    for meeting_id, name in (MeetingTopic.select(MeetingTopic.meeting, Topic.name).join(Topic)
                             .where(MeetingTopic.meeting.in_(of_mine)).order_by(Topic.name).tuples()):
        topics.setdefault(meeting_id, []).append(name)
    notes = dict(PrivateNote.select(PrivateNote.meeting, PrivateNote.text)
                 .where(PrivateNote.meeting.in_(of_mine) & (PrivateNote.author == me.id)).tuples())
    feedback = {}
    # Only the member's own feedback and what the partner shared: the rest is not even read.
    for fb in (Feedback.select().where(Feedback.meeting.in_(of_mine)
                                       & ((Feedback.author == me.id) | (Feedback.visibility == Feedback.PARTNER)))
               .order_by(Feedback.created_at, Feedback.id)):
        item = dict(_row(fb, ("rating", "most_useful", "created_at")), by=_who(fb.author_id, me))
        if fb.author_id == me.id:
            item.update(visibility=fb.visibility, good_fit=fb.good_fit)
        feedback.setdefault(fb.meeting_id, []).append(item)
    return [dict(
        _row(mt, ("id", "mentorship_id", "status", "starts_at", "duration_minutes", "format", "link", "place",
                  "agenda", "cancelled_at", "held_on", "logged_at", "notes", "next_steps")),
        organiser=_who(mt.organiser_id, me), cancelled_by=_who(mt.cancelled_by_id, me),
        logged_by=_who(mt.logged_by_id, me), topics=topics.get(mt.id, []), my_private_note=notes.get(mt.id, ""),
        feedback=feedback.get(mt.id, []),
    ) for mt in meetings]


# --- asking for deletion ----------------------------------------------------------------------------

def request_deletion(user, password, now=None):
    """The member asks to delete their account, confirming with their password; coordinators are told."""
    now = now or utcnow()
    if not accounts.password_matches(user, password or ""):
        raise PrivacyError("That is not your password. Nothing has changed: try again.", "password")
    with write_lock():
        me = locked(User.select().where(User.id == user.id)).first()
        if me.deletion_requested_at is not None:
            raise PrivacyError("You have already asked to delete your account: a coordinator will confirm it.")
        me.deletion_requested_at = now
        me.save(only=[User.deletion_requested_at])
        audit.record(me, "account.deletion_requested", f"user:{me.id}")
        for coordinator in notifications.coordinators(exclude=(me.id,)):
            notifications.notify(coordinator.id, notifications.DELETION_REQUESTED,
                                 f"{me.name} asks to delete their account",
                                 f"deletion:{me.id}:{now.isoformat()}:{coordinator.id}",
                                 context={"member_id": me.id}, now=now)
    return me


def cancel_deletion(user, now=None):
    """The member takes their request back while it waits."""
    with write_lock():
        me = locked(User.select().where(User.id == user.id)).first()
        if me.deletion_requested_at is None:
            raise PrivacyError("Your account is not waiting to be deleted.")
        me.deletion_requested_at = None
        me.save(only=[User.deletion_requested_at])
        audit.record(me, "account.deletion_cancelled", f"user:{me.id}")
    return me


# --- the coordinators' side ---------------------------------------------------------------------------

def _pending():
    return User.deletion_requested_at.is_null(False) & User.deleted_at.is_null()


def pending_member(member_id):
    """The member whose deletion waits, or None (no such member, or none asked)."""
    return User.get_or_none((User.id == member_id) & _pending())


def pending_deletions():
    """The requests waiting, oldest first, each with the member's active pairs and open requests (3 queries)."""
    members = list(User.select().where(_pending()).order_by(User.deletion_requested_at, User.id))
    ids = [m.id for m in members]
    pairs, open_requests = dict.fromkeys(ids, 0), dict.fromkeys(ids, 0)
    if ids:
        for mentor_id, mentee_id in (Mentorship.select(Mentorship.mentor, Mentorship.mentee)
                                     .where((Mentorship.status == Mentorship.ACTIVE)
                                            & (Mentorship.mentor.in_(ids) | Mentorship.mentee.in_(ids))).tuples()):
            for person in {mentor_id, mentee_id} & set(ids):
                pairs[person] += 1
        for row in (R.select(R.requester, R.mentor, R.mentee).where(
                R.status.in_(R.OPEN) & (R.requester.in_(ids) | R.mentor.in_(ids) | R.mentee.in_(ids))).tuples()):
            for person in set(row) & set(ids):
                open_requests[person] += 1
    return [SimpleNamespace(member=m, since=m.deletion_requested_at, active_pairs=pairs[m.id],
                            open_requests=open_requests[m.id]) for m in members]


def erase(coordinator, member, now=None):
    """A coordinator confirms a pending deletion: ``member``'s account is erased, in one transaction
    (what goes and what stays: the module's doc). Returns the anonymised account."""
    now = now or utcnow()
    if not coordinator.is_coordinator:
        raise NotAllowed("Only coordinators confirm deletions.")
    if coordinator.id == member.id:
        raise NotAllowed("You cannot confirm the deletion of your own account: another coordinator will.")
    with write_lock():
        member = locked(User.select().where((User.id == member.id) & _pending())).first()
        if member is None:
            raise PrivacyError("This member has no deletion waiting any more.")
        uid, old_email = member.id, member.email
        # Their words in requests go first: the note that closes their open requests below stays.
        R.update(help_wanted="", success_looks_like="").where(R.requester == uid).execute()
        R.update(answer_note="").where(((R.direction == R.REQUEST) & (R.mentor == uid))
                                       | ((R.direction == R.OFFER) & (R.mentee == uid))).execute()
        R.update(review_note="").where(R.reviewed_by == uid).execute()
        closed = list(R.select().where(R.status.in_(R.OPEN) & ((R.requester == uid) | (R.mentor == uid)
                                                               | (R.mentee == uid))))
        for req in closed:
            requests.close_for_departure(member, req, LEFT_NOTE, now)
        ended = list(Mentorship.select().where(((Mentorship.mentor == uid) | (Mentorship.mentee == uid))
                                               & (Mentorship.status == Mentorship.ACTIVE)))
        for pair in ended:
            mentorships.end_mentorship(member, pair, mentorships.LEFT_PROGRAM, now=now, leaving=True)
        Mentorship.update(mentor_reflection="", mentor_stays_in_touch=False).where(Mentorship.mentor == uid).execute()
        Mentorship.update(mentee_reflection="", mentee_stays_in_touch=False).where(Mentorship.mentee == uid).execute()

        Feedback.update(most_useful="").where(Feedback.author == uid).execute()
        CheckIn.update(comment="").where(CheckIn.author == uid).execute()
        PrivateNote.delete().where(PrivateNote.author == uid).execute()
        # Pairing rounds: their entries (with topics, preferences, list) and every row that names them.
        RoundEntry.delete().where(RoundEntry.user == uid).execute()
        RoundPreference.delete().where(RoundPreference.mentor == uid).execute()
        RoundExclusion.delete().where(RoundExclusion.other == uid).execute()
        RoundProposal.delete().where((RoundProposal.mentee == uid) | (RoundProposal.mentor == uid)).execute()
        RoundForbidden.delete().where((RoundForbidden.mentee == uid) | (RoundForbidden.mentor == uid)).execute()
        RoundForbidden.update(created_by=None).where(RoundForbidden.created_by == uid).execute()
        Round.update(created_by=None).where(Round.created_by == uid).execute()

        invitations = Invitation.select(Invitation.id).where((Invitation.email == old_email)
                                                             | (Invitation.accepted_user == uid))
        invitation_targets = [f"invitation:{i.id}" for i in invitations]
        AuditEvent.update(detail="").where((AuditEvent.actor == uid) | (AuditEvent.target == f"user:{uid}")
                                           | AuditEvent.target.in_(invitation_targets)
                                           | AuditEvent.detail.contains(old_email)).execute()
        Invitation.delete().where(Invitation.id.in_(invitations)).execute()

        Notification.delete().where((Notification.recipient == uid)
                                    | ((Notification.kind == notifications.DELETION_REQUESTED)
                                       & Notification.dedupe_key.startswith(f"deletion:{uid}:"))).execute()
        NotificationPreference.delete().where(NotificationPreference.user == uid).execute()
        UsedLink.delete().where(UsedLink.user == uid).execute()

        ProfileTopic.delete().where(ProfileTopic.profile == uid).execute()
        ProfileLanguage.delete().where(ProfileLanguage.profile == uid).execute()
        _forget_suggestions(uid)
        blank = {field: field.default for field in Profile._meta.sorted_fields
                 if field.name not in ("user", "updated_at")}
        Profile.update(blank, updated_at=now).where(Profile.user == uid).execute()

        User.update(name=FORMER_NAME, email=deleted_email(uid), password_hash="", session_token=new_token(),
                    active=False, verified=False, role=User.MEMBER, time_zone="UTC", last_login=None,
                    last_seen=None, quiet_from=None, quiet_until=None, digest_hour=preferences.DEFAULT_DIGEST_HOUR,
                    deleted_at=now).where(User.id == uid).execute()
        # No personal data in the trail: only what happened, and to how much.
        audit.record(coordinator, "member.deleted", f"user:{uid}",
                     f"{len(ended)} pair(s) ended, {len(closed)} open request(s) closed")
    return User.get_by_id(uid)


def _forget_suggestions(uid):
    """Their topic suggestions lose their name; one not approved that nobody else uses is deleted."""
    links = (ProfileTopic, RequestTopic, MeetingTopic, RoundEntryTopic)  # every table that points to a topic
    used = Topic.id.in_(links[0].select(links[0].topic))
    for link in links[1:]:
        used |= Topic.id.in_(link.select(link.topic))
    Topic.delete().where((Topic.suggested_by == uid) & (Topic.approved == False) & ~used).execute()  # noqa: E712
    Topic.update(suggested_by=None).where(Topic.suggested_by == uid).execute()
