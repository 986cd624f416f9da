"""Connection requests, the member's side: ask a mentor or offer to mentor, see my requests, answer or withdraw them."""
from types import SimpleNamespace

import click
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block

from ..db import database
from ..members import services as members
from ..models import ConnectionRequest, utcnow
from . import services
from .forms import OfferForm, RequestForm

bp = Blueprint("requests", __name__)
R = ConnectionRequest


def _me():
    return current_user._get_current_object()


@bp.route("/members/<int:member_id>/request", methods=["GET", "POST"])
@login_required
def new(member_id):
    me = _me()
    mentor = _active_member(member_id, me)
    form = RequestForm(topics=members.topics_by_kind(mentor.profile)["offers"])
    refusal = services.request_refusal(me, mentor)
    return (_sent(form, refusal, mentor, "request", lambda *answers: services.send_request(me, mentor, *answers))
            or render_template("requests/new.html", form=form, mentor=mentor, refusal=refusal,
                               formats=mentor.profile.formats))


@bp.route("/members/<int:member_id>/offer", methods=["GET", "POST"])
@login_required
def offer(member_id):
    """A mentor offers to mentor a member who seeks mentoring: a request the other way round."""
    me = _me()
    mentee = _active_member(member_id, me)
    topics, sought = services.offer_topics(me, mentee)
    form = OfferForm(mentee=mentee, topics=topics, sought=sought)
    refusal = services.offer_refusal(me, mentee)
    return (_sent(form, refusal, mentee, "offer", lambda *answers: services.send_offer(me, mentee, *answers))
            or render_template("requests/offer.html", form=form, mentee=mentee, refusal=refusal,
                               formats=mentee.profile.formats))


def _active_member(member_id, viewer):
    member = members.visible_member(member_id, viewer)
    if member is None or not member.active:
        abort(404)
    return member


def _sent(form, refusal, other, noun, send):
    """Send a valid form's request (or offer) to ``other``: the redirect to /requests.

    None when there is nothing to send yet, or the rules refuse it: the refusal
    is then on the field it names (or above the form), with the answers kept.
    """
    if refusal is not None or not form.validate_on_submit():
        return None
    try:
        req = send(form.topics.data, form.help_wanted.data, form.success_looks_like.data, form.meeting_format.data)
    except services.NotAllowed:
        abort(403)
    except services.RequestError as error:
        if error.field in ("topics", "help_wanted", "success_looks_like", "meeting_format"):
            form[error.field].errors = [*form[error.field].errors, error.message]
        else:
            form.form_errors.append(error.message)
        return None
    if req.status == R.PENDING_REVIEW:
        flash(f"Your {noun} to {other.name} is sent. A coordinator looks at it first, "
              f"then {other.name} can answer.", "success")
    elif members.is_away(other.profile):
        day = other.profile.away_until
        flash(f"Your {noun} is sent to {other.name}, who is away until {day.day} {day:%B}: it waits for their "
              "return, and their 14 days to answer start then.", "success")
    else:
        flash(f"Your {noun} is sent to {other.name}, who has 14 days to answer.", "success")
    return redirect(url_for("requests.index"), 303)


@bp.get("/requests")
@login_required
def index():
    return render_template("requests/list.html", page=services.my_requests(_me()), **_page_context())


STATUS_LABEL = {
    R.PENDING_REVIEW: "Waiting for a coordinator's review",
    R.PENDING_MENTOR: "Waiting for an answer",
    R.ACCEPTED: "Accepted",
    R.DECLINED: "Declined",
    R.REJECTED: "Not approved by a coordinator",
    R.WITHDRAWN: "Withdrawn",
    R.EXPIRED: "Expired",
}


def _page_context():
    return dict(status_label=STATUS_LABEL, note_max=services.NOTE_MAX)


def _act(request_id, transition, done, **typed):
    """Make one answer (or withdrawal) and show its outcome.

    htmx gets just the request's article in its new state, or with the error in it. Without
    JavaScript: a redirect with a flash, but a mistake in what was typed comes back at once,
    on the field and with the text kept.
    """
    me = _me()
    if services.my_request(request_id, me) is None:
        abort(404)
    answer = SimpleNamespace(request_id=request_id, message="", error="", field=None, **typed)
    try:
        transition(me)
    except services.NotAllowed:
        abort(404)
    except services.RequestError as error:
        answer.error, answer.field = error.message, error.field
    item = services.my_request(request_id, me)
    if not answer.error:
        answer.message = done(item)
    if request.htmx and not request.htmx.boosted and request.htmx.target == f"request-{request_id}":
        return render_block("requests/list.html", "request", item=item, answer=answer, partial=True,
                            **_page_context())
    if answer.field:
        return render_template("requests/list.html", page=services.my_requests(me), answer=answer,
                               **_page_context())
    flash(answer.error or answer.message, "error" if answer.error else "success")
    return redirect(url_for("requests.index"), 303)


def _noun(item):
    return "offer" if item.req.direction == R.OFFER else "request"


@bp.post("/requests/<int:request_id>/accept")
@login_required
def accept(request_id):
    return _act(request_id, lambda me: services.accept(me, request_id),
                lambda item: f"You accepted. Your mentorship with {item.other.name} has started.")


@bp.post("/requests/<int:request_id>/decline")
@login_required
def decline(request_id):
    note, template = request.form.get("note", ""), request.form.get("template", "")
    return _act(request_id, lambda me: services.decline(me, request_id, note, template=template),
                lambda item: f"You declined the {_noun(item)} of {item.other.name}.", note=note, template=template)


@bp.post("/requests/<int:request_id>/withdraw")
@login_required
def withdraw(request_id):
    return _act(request_id, lambda me: services.withdraw(me, request_id),
                lambda item: f"You withdrew your {_noun(item)} to {item.other.name}.")


@click.command("expire-requests")
def expire_requests_command():
    """Expire the requests that waited 14 days without an answer (the reminders job will run this)."""
    with database.connection_context():
        expired = services.expire_due(utcnow())
    click.echo(f"{len(expired)} request{'' if len(expired) == 1 else 's'} expired.")


def init_app(app):
    app.register_blueprint(bp)
    app.cli.add_command(expire_requests_command)
