"""Links in emails that answer without logging in (DESIGN §6).

Both kinds are signed with the secret key (``portal.tokens``), so nobody can make one for another
member, and both act only on POST: mail scanners fetch every link of a message, so a GET shows
what the link will do and changes nothing.

- Unsubscribe links (RFC 8058 one-click) carry a member and a kind of notification. They do not
  expire and may be followed again: turning off what is off changes nothing.
- Action links carry a member, an action, its object and a link id: accept or decline a request,
  "away for two weeks", "yes, a good fit". They work for ``ACTION_MAX_AGE`` and act once: the used
  link's id goes into ``UsedLink`` (unique) in the same transaction as the action, so a link
  followed twice at once acts once, and an action the rules refuse leaves the link unused.
  They act through the same services as the portal's pages, as the member the link names.
"""
import datetime as dt
from dataclasses import dataclass

from flask import current_app, render_template
from peewee import IntegrityError

from .. import audit, tokens
from ..db import database, write_lock
from ..members import services as members
from ..mentorships import services as mentorships
from ..models import ConnectionRequest, Feedback, Meeting, UsedLink, User, utcnow
from ..notifications import preferences
from ..requests import services as requests

UNSUBSCRIBE = "unsubscribe"
ACTION = "email-action"
ACTION_MAX_AGE = dt.timedelta(days=14)

ACCEPT, DECLINE, AWAY, GOOD_FIT = "accept", "decline", "away", "good_fit"
ACTIONS = (ACCEPT, DECLINE, AWAY, GOOD_FIT)

EXPIRED = "This link has expired: links in emails work for 14 days. Log in to do the same on the portal."
USED = "This link has already been used. Log in to see where things stand."
BROKEN = "This link is not valid. Check that you copied all of it, or log in to do the same on the portal."


class LinkError(Exception):
    """The link cannot act (broken, expired, used, or its object is gone); the message says which."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def _url(path):
    return f"{current_app.config['BASE_URL'].rstrip('/')}{path}"


# --- unsubscribe -------------------------------------------------------------------------------

def unsubscribe_url(user_id, kind):
    return _url(f"/unsubscribe/{tokens.make(UNSUBSCRIBE, {'u': user_id, 'k': kind})}")


def add_unsubscribe(message, row):
    """The one-click unsubscribe of a notification's email (RFC 8058, DESIGN §6): the two headers mail
    programs act on, and the same link at the foot of both parts, for people."""
    url = unsubscribe_url(row.recipient_id, row.kind)
    # A signed URL is one long word: folded at 78 characters, Python would turn the header into
    # encoded words (RFC 2047), which no mail program reads as a URL. Lines may be 998 long (RFC 5322).
    message.policy = message.policy.clone(max_line_length=998)
    message["List-Unsubscribe"] = f"<{url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    label = preferences.kind_label(row.kind)
    for subtype, ext in (("plain", "txt"), ("html", "html")):
        part = message.get_body(preferencelist=(subtype,))
        if part is not None:
            footer = render_template(f"mail/_unsubscribe.{ext}", url=url, label=label,
                                     base_url=current_app.config["BASE_URL"].rstrip("/"))
            part.set_content(part.get_content() + footer, subtype=subtype)
    return message


def read_unsubscribe(token):
    """The member and the kind an unsubscribe link names."""
    try:
        data = tokens.load(UNSUBSCRIBE, token, max_age=None)
    except tokens.TokenError:
        raise LinkError(BROKEN) from None
    user = User.get_or_none((User.id == data.get("u")) & (User.active == True))  # noqa: E712
    if user is None or not isinstance(data.get("k"), str):
        raise LinkError(BROKEN)
    return user, data["k"]


def unsubscribe(token):
    """Turn off email of the link's kind for its member; returns them and the kind."""
    user, kind = read_unsubscribe(token)
    with write_lock():
        preferences.set_email_off(user, kind)
        audit.record(user, "notifications.unsubscribed", f"user:{user.id}", kind)
    return user, kind


# --- single-use actions ------------------------------------------------------------------------

def action_url(user_id, action, object_id, link_id, now=None):
    """A link that does ``action`` on ``object_id`` (a request, a meeting; None for "away") as the member."""
    payload = {"u": user_id, "a": action, "o": object_id, "l": link_id}
    return _url(f"/email/{tokens.make(ACTION, payload, now=now)}")


def request_links(row, recipient, req):
    """The action links of an email about ``req`` to the member asked: accept, decline, and, for a
    mentor, "away for two weeks". Empty when the email is not theirs to answer."""
    if recipient.id != req.asked_id or req.status != ConnectionRequest.PENDING_MENTOR:
        return {}
    links = {action: action_url(recipient.id, action, req.id, f"n{row.id}:{action}") for action in (ACCEPT, DECLINE)}
    if req.direction == ConnectionRequest.REQUEST:
        links[AWAY] = action_url(recipient.id, AWAY, None, f"n{row.id}:{AWAY}")
    return links


def fit_links(row, recipient, meeting_id):
    return {GOOD_FIT: action_url(recipient.id, GOOD_FIT, meeting_id, f"n{row.id}:{GOOD_FIT}")} if meeting_id else {}


@dataclass
class Action:
    user: User
    action: str
    link_id: str
    req: ConnectionRequest | None = None
    meeting: Meeting | None = None
    feedback: Feedback | None = None  # the member's feedback on the meeting, if they gave it


def read_action(token):
    """What an action link would do, as an ``Action``; a LinkError when it cannot."""
    try:
        data = tokens.load(ACTION, token, max_age=int(ACTION_MAX_AGE.total_seconds()), expired=EXPIRED)
    except tokens.TokenError as error:
        raise LinkError(EXPIRED if str(error) == EXPIRED else BROKEN) from None
    user = User.get_or_none((User.id == data.get("u")) & (User.active == True))  # noqa: E712
    if user is None or data.get("a") not in ACTIONS or not data.get("l"):
        raise LinkError(BROKEN)
    if UsedLink.select().where(UsedLink.link_id == data["l"]).exists():
        raise LinkError(USED)
    found = Action(user, data["a"], data["l"])
    if found.action in (ACCEPT, DECLINE):
        found.req = ConnectionRequest.get_or_none(ConnectionRequest.id == data.get("o"))
        if found.req is None or found.req.asked_id != user.id:
            raise LinkError("This request no longer exists. Log in to see your requests.")
    elif found.action == GOOD_FIT:
        found.meeting = mentorships.visible_meeting(data.get("o"), user)
        if found.meeting is None or mentorships.role_of(found.meeting.mentorship, user) is None:
            raise LinkError("This meeting no longer exists. Log in to see your mentorships.")
        found.feedback = Feedback.get_or_none((Feedback.meeting == found.meeting.id) & (Feedback.author == user.id))
    return found


def act(found, note="", template="", rating=None, now=None):
    """Do what the link says, once. Returns a sentence saying what was done; raises
    ``requests.RequestError`` or ``mentorships.MentorshipError`` (with the field to fix) when the rules
    refuse, leaving the link unused, and ``LinkError`` when it has been used meanwhile."""
    now = now or utcnow()
    user = found.user
    with write_lock():
        try:
            with database.atomic():
                UsedLink.create(link_id=found.link_id, user=user.id, action=found.action, used_at=now)
        except IntegrityError:
            raise LinkError(USED) from None
        if found.action == ACCEPT:
            found.req = requests.accept(user, found.req, now=now)
            done = f"You accepted {found.req.requester.name}’s {_noun(found.req)}: your mentorship has started."
        elif found.action == DECLINE:
            found.req = requests.decline(user, found.req, note, now=now, template=template)
            done = f"You declined {found.req.requester.name}’s {_noun(found.req)}. They have been told."
        elif found.action == AWAY:
            profile = members.go_away(user, now=now)
            done = (f"You are away until {profile.away_until.day} {profile.away_until:%B %Y}: you are not listed "
                    "for browsing, and new requests wait for your return.")
        else:
            fb = found.feedback
            if fb is not None:
                mentorships.give_feedback(user, found.meeting, fb.rating, fb.most_useful, fb.visibility,
                                          good_fit=True, now=now)
            else:
                mentorships.give_feedback(user, found.meeting, rating, good_fit=True, now=now)
            done = "Thank you: you said this mentorship is a good fit."
        audit.record(user, "email_link.used", found.link_id, found.action)
    return done


def _noun(req):
    return "offer" if req.direction == ConnectionRequest.OFFER else "request"
