from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block, render_blocks

from ..auth import services as accounts
from ..mail import MailError
from ..models import ConnectionRequest, Invitation, Topic, User
from ..notifications.preferences import kind_label
from ..requests import services as requests
from ..templating import render_page
from . import services
from .forms import InviteForm, SettingsForm, TopicForm

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


# --- the review queue ----------------------------------------------------------

QUEUE = "coordinator/requests.html"


@bp.app_context_processor
def review_counter():
    """The navigation's count of requests to review, as a function: only the layout of a
    coordinator's page calls it (one COUNT), and pages without the layout run no query."""
    return {"review_count": lambda: services.review_count(_me())}


def _page():
    return max(1, request.values.get("page", 1, type=int))


def _queue_url(page):
    return url_for("coordinator.review_queue", page=page if page > 1 else None)


@bp.get("/requests")
@coordinator_required
def review_queue():
    return _queue_page(_page())


def _queue_page(page, error_id=None, error=None, note=""):
    queue = services.review_queue(_me(), page)
    return render_page(QUEUE, block="queue", queue=queue, page=queue.page, waiting=queue.total,
                       review_on=requests.requests_need_review(), prompts=requests.PROMPTS,
                       note_max=requests.NOTE_MAX, error_id=error_id, error=error, note=note)


@bp.post("/requests/<int:request_id>/approve")
@coordinator_required
def approve_request(request_id):
    return _review(request_id, requests.approve, lambda what: f"Approved {what}: it now waits for the answer.")


@bp.post("/requests/<int:request_id>/reject")
@coordinator_required
def reject_request(request_id):
    return _review(request_id, requests.reject, lambda what: f"Declined {what}: your note tells them why.")


def _review(request_id, transition, done):
    """Approve or decline one request: in place for htmx (the row's answer and the counters
    out of band), else back to the same page of the queue."""
    req = ConnectionRequest.get_or_none(ConnectionRequest.id == request_id)
    if req is None:
        abort(404)
    note, page = request.form.get("note", ""), _page()
    in_place = request.htmx and request.htmx.target == f"review-{request_id}"
    what = services.describe(req)
    try:
        transition(_me(), req, note)
    except requests.NotAllowed:
        abort(403)
    except requests.RequestError as error:
        if error.field == "note":
            return _note_error(request_id, error.message, note, page, in_place)
        message, category = error.message, "error"
    else:
        message, category = done(what), "success"
    if in_place:
        return render_blocks(QUEUE, ["reviewed", "counters", "total"], request_id=request_id, message=message,
                             category=category, waiting=services.waiting_count(), oob=True)
    flash(message, category)
    return redirect(_queue_url(page), 303)


def _note_error(request_id, message, note, page, in_place):
    """The row again with the message on its note field and the typed note kept."""
    if in_place:
        return render_blocks(QUEUE, ["row"], item=services.review_item(_me(), request_id), page=page,
                             prompts=requests.PROMPTS, note_max=requests.NOTE_MAX,
                             error_id=request_id, error=message, note=note)
    return _queue_page(page, request_id, message, note)


@bp.post("/requests/approve")
@coordinator_required
def approve_selected():
    ids = request.form.getlist("ids", type=int)
    if not ids:
        flash("Select the requests to approve first.", "error")
    else:
        result = services.approve_many(_me(), ids)
        if result.approved:
            count = len(result.approved)
            flash(f"Approved {count} request{'s' if count != 1 else ''}.", "success")
        if result.refused:
            flash(f"Not approved: {'; '.join(f'{what} ({why})' for what, why in result.refused)}", "error")
    if request.htmx and request.htmx.target == "queue":
        return _queue_page(_page())
    return redirect(_queue_url(_page()), 303)


@bp.route("/settings", methods=["GET", "POST"])
@coordinator_required
def settings():
    current = requests.requests_need_review()
    # A switch that is off sends nothing: on POST the form reads only what was sent.
    form = SettingsForm() if request.method == "POST" else SettingsForm(data={"requests_need_review": current})
    if form.validate_on_submit():
        wanted = form.requests_need_review.data
        if wanted != current:
            requests.set_requests_need_review(_me(), wanted)
        if wanted:
            flash("Saved: new requests wait for a coordinator’s review before the mentor sees them.", "success")
        else:
            flash("Saved: new requests go straight to the mentor. Requests already waiting stay in the "
                  "review queue.", "success")
        return redirect(url_for("coordinator.settings"), 303)
    return render_template("coordinator/settings.html", form=form, waiting=services.waiting_count())


# --- failed emails ---------------------------------------------------------------

FAILED = "coordinator/notifications.html"


@bp.get("/notifications")
@coordinator_required
def failed_notifications():
    rows, total = services.failed_emails()
    return render_template(FAILED, rows=rows, total=total, shown=services.FAILED_SHOWN, kind_label=kind_label)


@bp.post("/notifications/<int:notification_id>/retry")
@coordinator_required
def retry_notification(notification_id):
    """Send a failed email again: in place for htmx (the row becomes a line saying so), else back to the list."""
    try:
        row = services.retry_email(_me(), notification_id)
    except services.CoordinatorError as error:
        message, category = str(error), "error"
    else:
        if row is None:
            abort(404)
        message, category = f"The email to {row.recipient.name} goes out again with the next sweep.", "success"
    if request.htmx and request.htmx.target == f"failed-{notification_id}":
        return render_block(FAILED, "retried", notification_id=notification_id, message=message, category=category)
    flash(message, category)
    return redirect(url_for("coordinator.failed_notifications"), 303)


# --- the health dashboard and the at-risk list (issue 7) ------------------------


# --- members: filters, bulk invitations and CSV import, roles (issue 7) -------------


# --- pairs: the list, admin match, ending a pair (issue 7) --------------------------


# --- exports and the audit log (issue 7) -----------------------------------------


# --- privacy: pending account deletions (issue 7) ---------------------------------
