from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..auth import services as accounts
from ..mail import MailError
from ..models import Invitation, Topic, User
from . import services
from .forms import InviteForm, TopicForm

bp = Blueprint("coordinator", __name__, url_prefix="/coordinator")


def coordinator_required(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_coordinator:
            abort(403)
        return view(*args, **kwargs)
    return wrapped


def _me():
    return current_user._get_current_object()


@bp.get("")
@coordinator_required
def home():
    return redirect(url_for("coordinator.members"))


@bp.route("/members", methods=["GET", "POST"])
@coordinator_required
def members():
    form = InviteForm()
    if form.validate_on_submit():
        try:
            accounts.invite(_me(), form.email.data, form.name.data, form.role.data)
        except accounts.AccountError as error:
            getattr(form, error.field or "email").errors.append(str(error))
        except MailError:
            form.email.errors.append("The invitation is saved, but the mail server did not take the email. "
                                     "Use “Resend” in a moment.")
        else:
            flash(f"Invitation sent to {accounts.normalize_email(form.email.data)}.", "success")
            return redirect(url_for("coordinator.members"))
    q = request.args.get("q", "").replace("\x00", "").strip()  # PostgreSQL refuses NUL in a query
    return render_template("coordinator/members.html", form=form, members=services.find_members(q),
                           invitations=services.pending_invitations(), q=q)


@bp.post("/invitations/<int:invitation_id>/resend")
@coordinator_required
def resend_invitation(invitation_id):
    invitation = Invitation.get_or_none((Invitation.id == invitation_id) & Invitation.accepted_at.is_null())
    if invitation is None:
        abort(404)
    try:
        accounts.send_invitation(invitation)
    except MailError:
        flash("The mail server did not take the email. Try again in a moment.", "error")
    else:
        flash(f"Invitation sent again to {invitation.email}.", "success")
    return redirect(url_for("coordinator.members"))


@bp.post("/members/<int:member_id>/deactivate")
@coordinator_required
def deactivate(member_id):
    return _set_active(member_id, False)


@bp.post("/members/<int:member_id>/reactivate")
@coordinator_required
def reactivate(member_id):
    return _set_active(member_id, True)


def _set_active(member_id, active):
    member = User.get_or_none(User.id == member_id)
    if member is None:
        abort(404)
    try:
        accounts.set_active(_me(), member, active)
    except accounts.AccountError as error:
        flash(str(error), "error")
    else:
        flash(f"{member.name} is {'active again' if active else 'deactivated and logged out everywhere'}.", "success")
    return redirect(url_for("coordinator.members"))


@bp.route("/topics", methods=["GET", "POST"])
@coordinator_required
def topics():
    form = TopicForm()
    if form.validate_on_submit():
        try:
            topic = services.add_topic(_me(), form.name.data)
        except services.CoordinatorError as error:
            form.name.errors.append(str(error))
        else:
            flash(f"“{topic.name}” is now a topic.", "success")
            return redirect(url_for("coordinator.topics"))
    return render_template("coordinator/topics.html", form=form, topics=services.all_topics())


@bp.post("/topics/<int:topic_id>/approve")
@coordinator_required
def approve_topic(topic_id):
    topic = Topic.get_or_none(Topic.id == topic_id)
    if topic is None:
        abort(404)
    services.approve_topic(_me(), topic)
    flash(f"“{topic.name}” is now a topic everyone can choose.", "success")
    return redirect(url_for("coordinator.topics"))
