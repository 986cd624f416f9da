"""CSV exports for coordinators (issue 7): members, requests, pairs, meetings, feedback.

Each export is a header and a generator of rows that reads its main query with ``.iterator()``, so
rows go out as they are read (the view streams them); what each row needs besides (topics, counts) is
read before, in one query per kind, never per row.

What an export holds is what the coordinator may read in the portal, no more: no password hash,
session token or private settings of a member; never a private note; and for a pair the exporting
coordinator is part of, what they see as its partner (``mentorships.services.pair_page``): not the
other partner's coordinators-only feedback, nor the "not a good fit" flag or answer.

Cells a member typed are made spreadsheet-safe (``user_text``); the values the portal writes itself
(ids, numbers, statuses, times) are left as they are, so a spreadsheet still reads them as numbers.
Times are UTC in ISO 8601 with a ``Z``.
"""
import csv
import io

from peewee import JOIN, fn

from .. import audit
from ..models import (
    ConnectionRequest,
    Feedback,
    Meeting,
    MeetingTopic,
    Mentorship,
    Profile,
    ProfileLanguage,
    ProfileTopic,
    RequestTopic,
    Topic,
    User,
)
from .pairs import hidden_feedback, own_pairs

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def user_text(value):
    """Member-typed text a spreadsheet will not run as a formula: a leading = + - @ tab or CR gets a quote."""
    value = value or ""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def utc(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def day(value):
    return value.isoformat() if value else ""


def yes_no(value):
    return "" if value is None else ("yes" if value else "no")


def csv_lines(header, rows, bom=False):
    """The CSV text, one line at a time, as the rows come."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if bom:
        buffer.write("\ufeff")
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():  # the header alone, when there is no row
        yield buffer.getvalue()


def _names(query):
    """``{key: "A; B"}`` from (key, name) tuples already in order."""
    found = {}
    for key, name in query.tuples():
        found.setdefault(key, []).append(name)
    return {key: "; ".join(names) for key, names in found.items()}


# --- the five exports -----------------------------------------------------------------------

def members(viewer):
    header = ["id", "name", "email", "role", "active", "verified", "time_zone", "joined_at", "last_login",
              "headline", "organization", "job_title", "job_level", "industry", "country", "region",
              "offers_mentoring", "seeks_mentoring", "capacity", "profile_completed", "offers_topics",
              "seeks_topics", "languages"]
    topics = {}
    for profile_id, kind, name in (ProfileTopic.select(ProfileTopic.profile, ProfileTopic.kind, Topic.name)
                                   .join(Topic).order_by(ProfileTopic.profile, fn.LOWER(Topic.name)).tuples()):
        topics.setdefault((profile_id, kind), []).append(name)
    languages = _names(ProfileLanguage.select(ProfileLanguage.profile, ProfileLanguage.code)
                       .order_by(ProfileLanguage.profile, ProfileLanguage.code))

    def rows():
        query = (User.select(User.id, User.name, User.email, User.role, User.active, User.verified, User.time_zone,
                             User.created_at, User.last_login, Profile.headline, Profile.organization,
                             Profile.job_title, Profile.job_level, Profile.industry, Profile.country, Profile.region,
                             Profile.offers_mentoring, Profile.seeks_mentoring, Profile.capacity, Profile.completed)
                 .join(Profile, JOIN.LEFT_OUTER).order_by(User.id).tuples())
        for (uid, name, email, role, active, verified, zone, joined, last_login, headline, organization, job_title,
             level, industry, country, region, offers, seeks, capacity, completed) in query.iterator():
            yield [uid, user_text(name), user_text(email), role, yes_no(active), yes_no(verified), zone, utc(joined),
                   utc(last_login), user_text(headline), user_text(organization), user_text(job_title), level or "",
                   industry or "", country or "", region or "", yes_no(offers), yes_no(seeks),
                   "" if capacity is None else capacity, yes_no(completed),
                   user_text("; ".join(topics.get((uid, ProfileTopic.OFFERS), []))),
                   user_text("; ".join(topics.get((uid, ProfileTopic.SEEKS), []))), languages.get(uid, "")]
    return header, rows()


def requests(viewer):
    R = ConnectionRequest
    header = ["id", "sent_at", "direction", "status", "mentor_id", "mentor", "mentee_id", "mentee", "topics",
              "help_wanted", "success_looks_like", "meeting_format", "reviewed_at", "reviewed_by_id", "review_note",
              "answered_at", "answer_note", "expires_at", "closed_at", "mentorship_id"]
    topics = _names(RequestTopic.select(RequestTopic.request, Topic.name).join(Topic)
                    .order_by(RequestTopic.request, fn.LOWER(Topic.name)))

    def rows():
        Mentor, Mentee = User.alias(), User.alias()
        query = (R.select(R.id, R.created_at, R.direction, R.status, R.mentor, Mentor.name, R.mentee, Mentee.name,
                          R.help_wanted, R.success_looks_like, R.meeting_format, R.reviewed_at, R.reviewed_by,
                          R.review_note, R.answered_at, R.answer_note, R.expires_at, R.closed_at, R.mentorship)
                 .join(Mentor, on=(R.mentor == Mentor.id)).switch(R).join(Mentee, on=(R.mentee == Mentee.id))
                 .order_by(R.id).tuples())
        for (rid, sent, direction, status, mentor_id, mentor, mentee_id, mentee, help_wanted, success, fmt,
             reviewed_at, reviewed_by, review_note, answered_at, answer_note, expires_at, closed_at,
             mentorship_id) in query.iterator():
            yield [rid, utc(sent), direction, status, mentor_id, user_text(mentor), mentee_id, user_text(mentee),
                   user_text(topics.get(rid, "")), user_text(help_wanted), user_text(success), fmt, utc(reviewed_at),
                   reviewed_by or "", user_text(review_note), utc(answered_at), user_text(answer_note),
                   utc(expires_at), utc(closed_at), mentorship_id or ""]
    return header, rows()


def pairs(viewer):
    M = Mentorship
    header = ["id", "mentor_id", "mentor", "mentee_id", "mentee", "status", "origin", "started_at", "ended_at",
              "end_reason", "ended_by_id", "meetings_held", "minutes_held", "last_meeting", "average_rating",
              "ratings", "flagged_at"]
    held = {pid: (count, minutes, last) for pid, count, minutes, last in
            Meeting.select(Meeting.mentorship, fn.COUNT(Meeting.id), fn.SUM(Meeting.duration_minutes),
                           fn.MAX(Meeting.held_on))
            .where(Meeting.status == Meeting.HELD).group_by(Meeting.mentorship).tuples()}
    rated = {pid: (avg, count) for pid, avg, count in
             Feedback.select(Meeting.mentorship, fn.AVG(Feedback.rating), fn.COUNT(Feedback.id)).join(Meeting)
             .where(~hidden_feedback(viewer)).group_by(Meeting.mentorship).tuples()}
    from_request = {mid for (mid,) in ConnectionRequest.select(ConnectionRequest.mentorship)
                    .where(ConnectionRequest.mentorship.is_null(False)
                           & (ConnectionRequest.status == ConnectionRequest.ACCEPTED)).tuples()}

    def rows():
        Mentor, Mentee = User.alias(), User.alias()
        query = (M.select(M.id, M.mentor, Mentor.name, M.mentee, Mentee.name, M.status, M.created_by, M.started_at,
                          M.ended_at, M.end_reason, M.ended_by, M.flagged_at)
                 .join(Mentor, on=(M.mentor == Mentor.id)).switch(M).join(Mentee, on=(M.mentee == Mentee.id))
                 .order_by(M.id).tuples())
        for (mid, mentor_id, mentor, mentee_id, mentee, status, created_by, started, ended, reason, ended_by,
             flagged_at) in query.iterator():
            count, minutes, last = held.get(mid, (0, 0, None))
            avg, ratings = rated.get(mid, (None, 0))
            own = viewer.id in (mentor_id, mentee_id)  # its partner's copy has no flag
            origin = "admin match" if created_by else ("request" if mid in from_request else "")
            yield [mid, mentor_id, user_text(mentor), mentee_id, user_text(mentee), status, origin, utc(started),
                   utc(ended), reason, ended_by or "", count, minutes or 0, day(last),
                   "" if avg is None else round(float(avg), 2), ratings, "" if own else utc(flagged_at)]
    return header, rows()


def meetings(viewer):
    header = ["id", "mentorship_id", "mentor", "mentee", "status", "starts_at", "held_on", "duration_minutes",
              "format", "topics", "logged_at", "cancelled_at", "notes", "next_steps"]
    topics = _names(MeetingTopic.select(MeetingTopic.meeting, Topic.name).join(Topic)
                    .order_by(MeetingTopic.meeting, fn.LOWER(Topic.name)))

    def rows():
        Mentor, Mentee = User.alias(), User.alias()
        # The shared notes and next steps only: private notes live in their own table, never read here.
        query = (Meeting.select(Meeting.id, Meeting.mentorship, Mentor.name, Mentee.name, Meeting.status,
                                Meeting.starts_at, Meeting.held_on, Meeting.duration_minutes, Meeting.format,
                                Meeting.logged_at, Meeting.cancelled_at, Meeting.notes, Meeting.next_steps)
                 .join(Mentorship).join(Mentor, on=(Mentorship.mentor == Mentor.id)).switch(Mentorship)
                 .join(Mentee, on=(Mentorship.mentee == Mentee.id))
                 # A deleted log is gone for the partners: so in the viewer's own pairs.
                 .where(~(Meeting.mentorship.in_(own_pairs(viewer)) & (Meeting.status == Meeting.DELETED)))
                 .order_by(Meeting.id).tuples())
        for (mid, pair_id, mentor, mentee, status, starts, held_on, minutes, fmt, logged_at, cancelled_at, notes,
             next_steps) in query.iterator():
            yield [mid, pair_id, user_text(mentor), user_text(mentee), status, utc(starts), day(held_on), minutes,
                   fmt, user_text(topics.get(mid, "")), utc(logged_at), utc(cancelled_at), user_text(notes),
                   user_text(next_steps)]
    return header, rows()


def feedback(viewer):
    header = ["id", "meeting_id", "mentorship_id", "author_id", "author", "author_role", "rating", "most_useful",
              "visibility", "good_fit", "given_at", "updated_at"]

    def rows():
        query = (Feedback.select(Feedback.id, Feedback.meeting, Meeting.mentorship, Feedback.author, User.name,
                                 Mentorship.mentor, Mentorship.mentee, Feedback.rating, Feedback.most_useful,
                                 Feedback.visibility, Feedback.good_fit, Feedback.created_at, Feedback.updated_at)
                 .join(Meeting).join(Mentorship).switch(Feedback).join(User, on=(Feedback.author == User.id))
                 .where(~hidden_feedback(viewer)).order_by(Feedback.id).tuples())
        for (fid, meeting_id, pair_id, author_id, author, mentor_id, mentee_id, rating, most_useful, visibility,
             good_fit, given, updated) in query.iterator():
            # The good-fit answer goes to coordinators, never to the other partner (pair_page's rule).
            partner_view = viewer.id in (mentor_id, mentee_id) and author_id != viewer.id
            yield [fid, meeting_id, pair_id, author_id, user_text(author),
                   "mentor" if author_id == mentor_id else "mentee", rating, user_text(most_useful), visibility,
                   "" if partner_view else yes_no(good_fit), utc(given), utc(updated)]
    return header, rows()


EXPORTS = {"members": members, "requests": requests, "pairs": pairs, "meetings": meetings, "feedback": feedback}


def start(viewer, name):
    """The header and rows of the export ``name`` for ``viewer``, or None for no such export. Who took which
    data out of the portal is audited."""
    make = EXPORTS.get(name)
    if make is None:
        return None
    audit.record(viewer, "export.downloaded", f"export:{name}")
    return make(viewer)
LABELS = {
    "members": "Members: profiles, roles and topics (no passwords or private settings)",
    "requests": "Requests: who asked whom, the answers to the prompts, and what became of each",
    "pairs": "Pairs: status, meetings held, last meeting, average rating",
    "meetings": "Meetings: times, topics, shared notes and next steps (never private notes)",
    "feedback": "Feedback: ratings and comments coordinators may read",
}
