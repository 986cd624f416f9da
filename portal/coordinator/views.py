import datetime as dt
from functools import wraps

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block, render_blocks

from ..auth import services as accounts
from ..forms import refuse_on_field
from ..members import privacy
from ..mentorships import services as mentorships
from ..models import ConnectionRequest, Invitation, Topic, User, utcnow
from ..notifications.preferences import kind_label
from ..requests import services as requests
from ..templating import render_page
from . import audit_log, dashboard, exports, imports, services
from . import pairs as pairing
from .forms import ConfirmImportForm, EndPairForm, ImportForm, InviteForm, SettingsForm, TopicForm

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


@bp.route("/members", methods=["GET", "POST"])
@coordinator_required
def members():
    form = InviteForm()
    if form.validate_on_submit():
        try:
            accounts.invite(_me(), form.email.data, form.name.data, form.role.data)
        except accounts.AccountError as error:
            getattr(form, error.field or "email").errors.append(str(error))
        else:
            flash(f"Invitation sent to {accounts.normalize_email(form.email.data)}.", "success")
            return redirect(url_for("coordinator.members"))
    return _members_page(form)


@bp.post("/invitations/<int:invitation_id>/resend")
@coordinator_required
def resend_invitation(invitation_id):
    invitation = Invitation.get_or_none((Invitation.id == invitation_id) & Invitation.accepted_at.is_null())
    if invitation is None:
        abort(404)
    accounts.resend_invitation(_me(), invitation)
    flash(f"The invitation to {invitation.email} goes out again in a moment.", "success")
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
    return render_template(FAILED, rows=rows, total=total, kind_label=kind_label)


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

DASHBOARD = "coordinator/dashboard.html"
AT_RISK = "coordinator/at_risk.html"


@bp.get("")
@coordinator_required
def home():
    """The health dashboard; htmx swaps only the figures when the period changes."""
    period = dashboard.period_of(request.args.get("period"))
    return render_page(DASHBOARD, block="figures", period=period, periods=dashboard.PERIODS,
                       figures=dashboard.figures(period), risks=dashboard.at_risk(period))


@bp.get("/at-risk")
@coordinator_required
def at_risk():
    period = dashboard.period_of(request.args.get("period"))
    return render_template(AT_RISK, period=period, periods=dashboard.PERIODS,
                           risks=dashboard.at_risk(period, limit=None))


@bp.post("/pairs/<int:mentorship_id>/nudge")
@coordinator_required
def nudge_pair(mentorship_id):
    """"Nudge now": in place for htmx (the pair's action cell says what happened), else back where it was asked."""
    try:
        pair, new = dashboard.nudge(_me(), mentorship_id)
    except services.CoordinatorError as error:
        message, category = str(error), "error"
    else:
        if pair is None:
            abort(404)
        names = f"{pair.mentor.name} and {pair.mentee.name}"
        message, category = ((f"Nudge sent to {names}.", "success") if new else
                             (f"{names} were already nudged today: they have the message.", "info"))
    cells = {f"nudge-{mentorship_id}-{kind}" for kind in dashboard.PAIR_KINDS}
    if request.htmx and request.htmx.target in cells:
        return render_block(DASHBOARD, "nudged", cell=request.htmx.target, message=message, category=category)
    flash(message, category)
    period = dashboard.period_of(request.form.get("period"))
    back = "coordinator.at_risk" if request.form.get("back") == "at-risk" else "coordinator.home"
    return redirect(url_for(back, period=period if period != dashboard.DEFAULT_PERIOD else None), 303)


# --- members: filters, bulk invitations and CSV import, roles (issue 7) -------------

MEMBERS = "coordinator/members.html"
IMPORT = "coordinator/import.html"
MEMBER_FILTERS = ("q", "role", "status", "mentoring")


def _members_page(form=None):
    """The members page: the filters of the URL, one page of members, the invitations waiting."""
    filters = {name: _text_arg(name) for name in MEMBER_FILTERS}
    found = services.member_page(**filters, page=_page())
    invitations, waiting = services.pending_invitations()
    shown = {name: value for name, value in filters.items() if value}
    return render_page(MEMBERS, block="member_list", form=form or InviteForm(), found=found, filters=filters,
                       shown=shown, invitations=invitations, waiting=waiting)


@bp.get("/members/template.csv")
@coordinator_required
def import_template():
    return Response(imports.TEMPLATE, mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="members-template.csv"'})


@bp.route("/members/import", methods=["GET", "POST"])
@coordinator_required
def import_members():
    """Invite many: the pasted list or the uploaded file, previewed row by row before anything is written."""
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            if upload and upload.filename:
                kind, source = "csv", imports.decode(upload.read(imports.MAX_BYTES + 1))
                entries = imports.read_csv(source)
            elif form.emails.data.strip():
                kind, source = "paste", form.emails.data
                entries = imports.read_pasted(source)
            else:
                raise services.CoordinatorError("Paste email addresses, or choose a CSV file.", "emails")
        except services.CoordinatorError as error:
            getattr(form, error.field or "emails").errors.append(str(error))
        else:
            preview = imports.check(entries, form.role.data)
            confirm = ConfirmImportForm(data={"source": source, "kind": kind, "role": form.role.data,
                                              "expected": preview.fingerprint})
            return render_template(IMPORT, form=form, preview=preview, confirm=confirm)
    return render_template(IMPORT, form=form, preview=None, max_rows=imports.MAX_ROWS,
                           max_mb=imports.MAX_BYTES // 1_000_000)


@bp.post("/members/import/confirm")
@coordinator_required
def confirm_import():
    """Invite the previewed list, read again from the form and checked again: everyone or nobody."""
    confirm = ConfirmImportForm()
    try:
        if not confirm.validate_on_submit():
            raise services.CoordinatorError("The list did not come back as it was previewed: preview it again.")
        read = imports.read_csv if confirm.kind.data == "csv" else imports.read_pasted
        done = imports.invite_all(_me(), read(confirm.source.data), confirm.role.data, expected=confirm.expected.data)
    except imports.ImportRefused as error:
        confirm.expected.data = error.preview.fingerprint
        return render_template(IMPORT, form=ImportForm(formdata=None), preview=error.preview, confirm=confirm,
                               refused=str(error))
    except services.CoordinatorError as error:
        flash(str(error), "error")
        return redirect(url_for("coordinator.import_members"), 303)
    count, skipped = len(done.created), len(done.duplicates) + len(done.invalid)
    flash(f"Invited {count} {'person' if count == 1 else 'people'}: their invitations go out in a moment"
          + (f"; {skipped} row{'s' if skipped != 1 else ''} left out." if skipped else "."), "success")
    return redirect(url_for("coordinator.members"), 303)


@bp.post("/members/<int:member_id>/role")
@coordinator_required
def set_role(member_id):
    member = User.get_or_none(User.id == member_id)
    if member is None:
        abort(404)
    try:
        services.set_role(_me(), member, request.form.get("role", ""))
    except services.CoordinatorError as error:
        flash(str(error), "error")
    else:
        flash(f"{member.name} is now a {member.role}.", "success")
    return redirect(url_for("coordinator.members"), 303)


def _topic(topic_id):
    topic = Topic.get_or_none(Topic.id == topic_id)
    if topic is None:
        abort(404)
    return topic


def _topics_page(topic_id, error, typed=""):
    """The topics page again, the message (and what was typed) on the row of ``topic_id``."""
    return render_template("coordinator/topics.html", form=TopicForm(formdata=None), topics=services.all_topics(),
                           error_id=topic_id, error=str(error), error_field=error.field, typed=typed)


@bp.post("/topics/<int:topic_id>/rename")
@coordinator_required
def rename_topic(topic_id):
    topic, name = _topic(topic_id), request.form.get("new_name", "")
    old = topic.name
    try:
        services.rename_topic(_me(), topic, name)
    except services.CoordinatorError as error:
        return _topics_page(topic_id, error, name)
    flash(f"“{old}” is now called “{topic.name}”.", "success")
    return redirect(url_for("coordinator.topics"), 303)


@bp.post("/topics/<int:topic_id>/merge")
@coordinator_required
def merge_topic(topic_id):
    topic = _topic(topic_id)
    into = request.form.get("into", type=int)
    target = Topic.get_or_none(Topic.id == into) if into else None
    try:
        moved = services.merge_topic(_me(), topic, target)
    except services.CoordinatorError as error:
        return _topics_page(topic_id, error)
    flash(f"“{topic.name}” is merged into “{target.name}”: {moved} link{'s' if moved != 1 else ''} moved.", "success")
    return redirect(url_for("coordinator.topics"), 303)



# --- pairs: the list, admin match, ending a pair (issue 7) --------------------------

PAIRS = "coordinator/pairs.html"
NEW_PAIR = "coordinator/new_pair.html"


def _text_arg(name, limit=100):
    """A search text from the query string (PostgreSQL refuses NUL in a query)."""
    return request.args.get(name, "").replace("\x00", "").strip()[:limit]


@bp.get("/pairs", endpoint="pairs")
@coordinator_required
def pair_list():
    status = request.args.get("status", "active")
    status = status if status in pairing.STATUSES else "active"
    q, flagged = _text_arg("q"), request.args.get("flagged") == "1"
    listing = pairing.pair_list(_me(), status, q, flagged, _page())
    return render_page(PAIRS, block="pairs", listing=listing, status=status, q=q, flagged=flagged,
                       statuses=pairing.STATUSES)


@bp.route("/pairs/new", methods=["GET", "POST"])
@coordinator_required
def new_pair():
    """Admin match: search and choose a mentor and a mentee (GET, ``?mentor=&mentee=`` prefill), see
    the score, the reasons and what speaks against the pair, then confirm (POST)."""
    mentor = pairing.member_or_none(request.values.get("mentor", type=int))
    mentee = pairing.member_or_none(request.values.get("mentee", type=int))
    error = None
    if request.method == "POST":
        try:
            m = pairing.match(_me(), mentor, mentee, over_capacity=request.form.get("over_capacity") == "y")
        except services.CoordinatorError as refusal:
            error = refusal
        else:
            flash(f"{mentor.name} now mentors {mentee.name}: both are told.", "success")
            return redirect(url_for("mentorships.pair", mentorship_id=m.id), 303)
    if mentor and mentee and error is None:
        error = pairing.match_refusal(_me(), mentor, mentee)  # said before the coordinator confirms
    both = mentor is not None and mentee is not None
    mentor_q, mentee_q = _text_arg("mentor_q"), _text_arg("mentee_q")
    return render_template(
        NEW_PAIR, mentor=mentor, mentee=mentee, mentor_q=mentor_q, mentee_q=mentee_q, error=error,
        mentor_found=pairing.find_side(pairing.MENTOR, mentor_q),
        mentee_found=pairing.find_side(pairing.MENTEE, mentee_q),
        preview=pairing.preview(mentor, mentee) if both and (error is None or error.field == "over_capacity")
        else None)


@bp.route("/pairs/<int:mentorship_id>/end", methods=["GET", "POST"])
@coordinator_required
def end_pair(mentorship_id):
    """A coordinator ends a pair with a reason and a note to both partners: a page of its own."""
    m = mentorships.visible_mentorship(mentorship_id, _me())
    if m is None:
        abort(404)
    form = EndPairForm()
    if form.validate_on_submit():
        try:
            pairing.end(_me(), m, form.reason.data, form.note.data)
        except (services.CoordinatorError, mentorships.MentorshipError) as error:
            refuse_on_field(form, error)
        else:
            flash(f"The pair of {m.mentor.name} and {m.mentee.name} has ended: both are told.", "success")
            return redirect(url_for("coordinator.pairs"), 303)
    return render_template("coordinator/end_pair.html", form=form, m=m, own=mentorships.role_of(m, _me()),
                           ended_label=mentorships.END_REASON_LABEL.get(m.end_reason, ""))


# --- exports and the audit log (issue 7) -----------------------------------------

@bp.get("/export")
@coordinator_required
def exports_page():
    """The five exports, each a link; a GET form adds the BOM some spreadsheets want."""
    return render_template("coordinator/exports.html", labels=exports.LABELS)


@bp.get("/export/<name>.csv")
@coordinator_required
def export(name):
    """One export as CSV, streamed: rows are written as the database gives them. The per-request
    connection is closed at the end of the app context, which ``stream_with_context`` keeps open
    until the last row is out."""
    found = exports.start(_me(), name)
    if found is None:
        abort(404)
    header, rows = found
    filename = f"tandem-{name}-{utcnow():%Y-%m-%d}.csv"
    lines = exports.csv_lines(header, rows, bom=request.args.get("bom") == "1")
    return Response(stream_with_context(lines), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


def _day_arg(name, label, errors):
    """A day from the query string (YYYY-MM-DD, as a date field sends it), or None; a bad one adds a message."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        errors[name] = f"Enter the “{label}” date as year-month-day, for example 2026-03-01 (you wrote “{raw[:40]}”)."
        return None


@bp.get("/audit")
@coordinator_required
def audit():
    """Every audit event, newest first, filtered; shown and filtered in the coordinator's zone."""
    errors = {}
    date_from, date_to = _day_arg("from", "From", errors), _day_arg("to", "To", errors)
    if date_from and date_to and date_from > date_to:
        errors["to"] = "The “To” date comes before the “From” date: choose a later one."
        date_to = None
    known = audit_log.actions()
    action = request.args.get("action", "")
    action = action if action in known else ""
    filters = dict(action=action, actor=_text_arg("actor"), target=_text_arg("target"))
    log = audit_log.events(date_from=date_from, date_to=date_to, time_zone=_me().time_zone, page=_page(), **filters)
    return render_page("coordinator/audit.html", block="log", log=log, actions=known, errors=errors,
                       typed={"from": request.args.get("from", "")[:40], "to": request.args.get("to", "")[:40]},
                       **filters)


# --- privacy: pending account deletions (issue 7) ---------------------------------

@bp.get("/deletions")
@coordinator_required
def deletions():
    return render_template("coordinator/deletions.html", rows=privacy.pending_deletions())


@bp.post("/deletions/<int:member_id>/confirm")
@coordinator_required
def confirm_deletion(member_id):
    """Erase a member's account, as they asked; the page's <details> is the step that confirms it."""
    member = privacy.pending_member(member_id)
    if member is None:
        abort(404)
    try:
        privacy.erase(_me(), member)
    except privacy.NotAllowed:
        abort(403)
    except privacy.PrivacyError as error:
        flash(error.message, "error")
    else:
        flash(f"{member.name}’s account is deleted: their personal data is erased, the program’s counts are kept.",
              "success")
    return redirect(url_for("coordinator.deletions"), 303)
