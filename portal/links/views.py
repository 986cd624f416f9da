"""The pages behind the links of emails: nobody logs in; the signed token names the member.

A GET only shows what the link will do, with a button: mail scanners fetch links, and must not
unsubscribe anyone or accept a request. The button POSTs.
"""
from flask import Blueprint, render_template, request, url_for

from ..extensions import csrf
from ..members import services as members
from ..mentorships import services as mentorships
from ..models import ConnectionRequest as R
from ..models import User
from ..notifications import preferences
from ..requests import services as requests
from . import services

bp = Blueprint("links", __name__)

PROBLEM = "auth/link_problem.html"


def _problem(error):
    return render_template(PROBLEM, message=error.message), 404


# RFC 8058: a mail client's one-click unsubscribe POSTs "List-Unsubscribe=One-Click" to the URL of the
# List-Unsubscribe header, without cookies or a form token of ours; it cannot carry one. The token in
# the URL, signed with our secret key, is what protects it: nobody can make one for another member,
# and all it can do is turn off one kind of email for the member it names.
@csrf.exempt
@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token):
    try:
        if request.method == "POST":
            user, kind = services.unsubscribe(token)
            return render_template("links/unsubscribed.html", user=user, kind=kind,
                                   label=preferences.kind_label(kind))
        user, kind = services.read_unsubscribe(token)
    except services.LinkError as error:
        return _problem(error)
    return render_template("links/unsubscribe.html", user=user, kind=kind, label=preferences.kind_label(kind),
                           token=token)


@bp.route("/email/<token>", methods=["GET", "POST"])
def email_action(token):
    """What an action link does, with a button; the button's POST (with our form token) does it, once."""
    try:
        found = services.read_action(token)
    except services.LinkError as error:
        return _problem(error)
    error = field = None
    typed = {name: request.form.get(name, "") for name in ("note", "template", "rating")}
    if request.method == "POST":
        try:
            done = services.act(found, typed["note"], typed["template"], typed["rating"] or None)
        except services.LinkError as gone:
            return _problem(gone)
        except (requests.RequestError, mentorships.MentorshipError) as refused:
            error, field = refused.message, refused.field
        else:
            return render_template("links/done.html", found=found, done=done, next_url=_next_url(found))
    return render_template("links/action.html", found=found, token=token, error=error, field=field, typed=typed,
                           **_what(found))


def _what(found):
    """What the confirmation page shows of the link's object."""
    if found.req is not None:
        return dict(noun="offer" if found.req.direction == R.OFFER else "request",
                    topics=requests.request_topics(found.req),
                    prompts=requests.prompts_for(found.req.direction, found.user),
                    notes=requests.decline_notes(found.req), note_max=requests.NOTE_MAX)
    if found.meeting is not None:
        return dict(partner=User.get_by_id(mentorships.partner_id(found.meeting.mentorship, found.user)))
    return dict(away_day=members.away_day(found.user), waiting=members.waiting_for(found.user.id).count())


def _next_url(found):
    """Where the member goes on from here (the login page sends them there once logged in)."""
    if found.action == services.ACCEPT:
        return url_for("mentorships.pair", mentorship_id=found.req.mentorship_id)
    if found.action == services.GOOD_FIT:
        return url_for("mentorships.feedback", meeting_id=found.meeting.id)
    if found.action == services.AWAY:
        return url_for("members.edit_profile")
    return url_for("requests.index")

