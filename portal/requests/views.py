"""Connection requests, the member's side: ask a mentor, see my requests, answer or withdraw them."""
import click
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..db import database
from ..members import services as members
from ..models import ConnectionRequest, User, utcnow
from . import services
from .forms import RequestForm

bp = Blueprint("requests", __name__)
R = ConnectionRequest


def _me():
    return current_user._get_current_object()


@bp.route("/members/<int:member_id>/request", methods=["GET", "POST"])
@login_required
def new(member_id):
    me = _me()
    mentor = members.visible_member(member_id, me)
    if mentor is None or not mentor.active:
        abort(404)
    offered = members.topics_by_kind(mentor.profile)["offers"]
    form = RequestForm(topics=offered)
    refusal = services.request_refusal(me, mentor)
    if refusal is None and form.validate_on_submit():
        try:
            req = services.send_request(me, mentor, form.topics.data, form.help_wanted.data,
                                        form.success_looks_like.data, form.meeting_format.data)
        except services.NotAllowed:
            abort(403)
        except services.RequestError as error:
            if error.field in ("topics", "help_wanted", "success_looks_like", "meeting_format"):
                form[error.field].errors = [*form[error.field].errors, error.message]
            else:
                form.form_errors.append(error.message)
        else:
            if req.status == R.PENDING_REVIEW:
                flash(f"Your request to {mentor.name} is sent. A coordinator looks at it first, "
                      f"then {mentor.name} can answer.", "success")
            else:
                flash(f"Your request is sent to {mentor.name}, who has 14 days to answer.", "success")
            return redirect(url_for("requests.index"), 303)
    return render_template("requests/new.html", form=form, mentor=mentor, refusal=refusal,
                           formats=mentor.profile.formats)


@bp.get("/requests")
@login_required
def index():
    me = _me()
    incoming, outgoing = services.requests_of(me)
    return render_template("requests/list.html", incoming=incoming, outgoing=outgoing,
                           status_label=STATUS_LABEL, note_max=services.NOTE_MAX, prompts=services.PROMPTS)


STATUS_LABEL = {
    R.PENDING_REVIEW: "Waiting for a coordinator's review",
    R.PENDING_MENTOR: "Waiting for an answer",
    R.ACCEPTED: "Accepted",
    R.DECLINED: "Declined",
    R.REJECTED: "Not approved by a coordinator",
    R.WITHDRAWN: "Withdrawn",
    R.EXPIRED: "Expired",
}


def _act(request_id, transition, done):
    me = _me()
    if services.visible_request(request_id, me) is None:
        abort(404)
    try:
        req = transition(me)
    except services.NotAllowed:
        abort(404)
    except services.RequestError as error:
        flash(error.message, "error")
    else:
        flash(done(req), "success")
    return redirect(url_for("requests.index"), 303)


def _name(user_id):
    return User.select(User.name).where(User.id == user_id).scalar()


@bp.post("/requests/<int:request_id>/accept")
@login_required
def accept(request_id):
    return _act(request_id, lambda me: services.accept(me, request_id),
                lambda req: f"You accepted. Your mentorship with {_name(req.requester_id)} has started.")


@bp.post("/requests/<int:request_id>/decline")
@login_required
def decline(request_id):
    note = request.form.get("note", "")
    return _act(request_id, lambda me: services.decline(me, request_id, note),
                lambda req: f"You declined the {'offer' if req.direction == R.OFFER else 'request'} "
                            f"of {_name(req.requester_id)}.")


@bp.post("/requests/<int:request_id>/withdraw")
@login_required
def withdraw(request_id):
    return _act(request_id, lambda me: services.withdraw(me, request_id),
                lambda req: f"You withdrew your {'offer' if req.direction == R.OFFER else 'request'} "
                            f"to {_name(req.asked_id)}.")


@click.command("expire-requests")
def expire_requests_command():
    """Expire the requests that waited 14 days without an answer (the reminders job will run this)."""
    with database.connection_context():
        expired = services.expire_due(utcnow())
    click.echo(f"{len(expired)} request{'' if len(expired) == 1 else 's'} expired.")


def init_app(app):
    app.register_blueprint(bp)
    app.cli.add_command(expire_requests_command)
