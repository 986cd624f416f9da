"""The pair's space, the partners' side (journey 4): my mentorships, the pair's page with its goals and
milestones, and ending well. Coordinators read every pair and change nothing but the fit flag."""
import datetime as dt
from types import SimpleNamespace

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import ics
from ..forms import refuse_on_field
from ..members import services as members
from ..models import Feedback, Meeting, Mentorship, utcnow
from ..templating import render_page
from . import services, times
from .forms import CheckInForm, EndForm, FeedbackForm, GoalsForm, LogForm, MeetingForm, MilestoneForm, NoteForm, ReflectionForm
from .services import MentorshipError, NotAllowed

bp = Blueprint("mentorships", __name__)

# The parts of the pair's page that htmx replaces in place (each a block of pair.html and the id of its element).
PARTS = ("goals", "milestones")


def _me():
    return current_user._get_current_object()


def _pair(mentorship_id):
    """The pair if the current user may read it; anyone else gets a 404."""
    m = services.visible_mentorship(mentorship_id, _me())
    if m is None:
        abort(404)
    return m


def _partners_only(m):
    """Pages that change a pair answer 403 to the coordinators, who may read it but not change it."""
    if services.role_of(m, _me()) is None:
        abort(403)


def _partners_pair(mentorship_id):
    """The pair, for a partner's change to it: 404 outside the pair, 403 for coordinators."""
    m = _pair(mentorship_id)
    _partners_only(m)
    return m


def _part():
    target = request.htmx.target if request.htmx and not request.htmx.boosted else None
    return target if target in PARTS else None


def _show(m, status=None, problem=None, **forms):
    """The pair's page, or only the part htmx asked for, with the forms given (and their errors)."""
    me = _me()
    page = services.pair_page(m, me)
    people = [page.partner] if page.role else [page.mentor, page.mentee]
    cards = [(person, members.language_codes(person.profile)) for person in people]
    overlap = []
    if page.can_change:
        day = times.today(me.time_zone, utcnow())
        overlap = services.describe_overlap(services.overlap_hours(me, page.partner, day), me, page.partner)
    forms.setdefault("milestone_form", MilestoneForm(formdata=None))
    if not page.active and page.role:
        forms.setdefault("reflection_form", ReflectionForm(formdata=None, data={"reflection": page.my_reflection}))
    return render_page("mentorships/pair.html", block=_part(), page=page, cards=cards, overlap=overlap,
                       status=status, problem=problem, **forms)


def _done(m, message, anchor):
    """After a change: the part htmx asked for, saying what happened; without JavaScript, back to the page."""
    if _part():
        return _show(m, status=message)
    flash(message, "success")
    return redirect(url_for("mentorships.pair", mentorship_id=m.id, _anchor=anchor), 303)


def _refused(m, error, form=None, **forms):
    """A refusal on the field it names, with what was typed kept; else said above the part htmx
    asked for, or at the top of the page."""
    if form is not None and error.field in form:
        form[error.field].errors = [*form[error.field].errors, error.message]
        return _show(m, **forms)
    if _part():
        return _show(m, problem=error.message, **forms)
    flash(error.message, "error")
    return redirect(url_for("mentorships.pair", mentorship_id=m.id), 303)


@bp.get("/mentorships")
@login_required
def index():
    return render_template("mentorships/list.html", items=services.mentorships_of(_me()))


@bp.get("/mentorships/<int:mentorship_id>")
@login_required
def pair(mentorship_id):
    return _show(_pair(mentorship_id))


@bp.route("/mentorships/<int:mentorship_id>/goals", methods=["GET", "POST"])
@login_required
def goals(mentorship_id):
    """The goals as a form: in place with htmx, or as the pair's page with the form open."""
    m = _partners_pair(mentorship_id)
    if m.status != Mentorship.ACTIVE:
        return _refused(m, MentorshipError(services.ENDED))
    form = GoalsForm(data={"goals": m.goals})
    if form.validate_on_submit():
        try:
            services.update_goals(_me(), m, form.goals.data)
        except NotAllowed:
            abort(403)
        except MentorshipError as error:
            return _refused(m, error, form, goals_form=form)
        return _done(m, "Your goals are saved.", "goals")
    return _show(m, goals_form=form)


@bp.post("/mentorships/<int:mentorship_id>/milestones")
@login_required
def add_milestone(mentorship_id):
    m = _partners_pair(mentorship_id)
    form = MilestoneForm()
    if not form.validate_on_submit():
        return _show(m, milestone_form=form)
    try:
        milestone = services.add_milestone(_me(), m, form.title.data, form.due_on.data)
    except NotAllowed:
        abort(403)
    except MentorshipError as error:
        return _refused(m, error, form, milestone_form=form)
    return _done(m, f"Milestone “{milestone.title}” added.", "milestones")


@bp.post("/mentorships/<int:mentorship_id>/milestones/<int:milestone_id>/done")
@login_required
def milestone_done(mentorship_id, milestone_id):
    """Tick (``done=yes``) or untick a milestone."""
    m = _partners_pair(mentorship_id)
    done = request.form.get("done") == "yes"
    change = services.tick_milestone if done else services.untick_milestone
    try:
        milestone = change(_me(), m, milestone_id)
    except NotAllowed:
        abort(403)
    except MentorshipError as error:
        return _refused(m, error)
    return _done(m, f"“{milestone.title}” is {'done' if done else 'not done yet'}.", "milestones")


@bp.post("/mentorships/<int:mentorship_id>/milestones/<int:milestone_id>/delete")
@login_required
def delete_milestone(mentorship_id, milestone_id):
    m = _partners_pair(mentorship_id)
    try:
        services.delete_milestone(_me(), m, milestone_id)
    except NotAllowed:
        abort(403)
    except MentorshipError as error:
        return _refused(m, error)
    return _done(m, "The milestone is deleted.", "milestones")


@bp.route("/mentorships/<int:mentorship_id>/end", methods=["GET", "POST"])
@login_required
def end(mentorship_id):
    """Either partner ends the mentorship: a page of its own, that says what ending means."""
    m = _partners_pair(mentorship_id)
    me = _me()
    partner = m.mentee if services.role_of(m, me) == "mentor" else m.mentor
    form = EndForm()
    if form.validate_on_submit():
        try:
            services.end_mentorship(me, m, form.reason.data, form.reflection.data, form.stay_in_touch.data)
        except NotAllowed:
            abort(403)
        except MentorshipError as error:
            refuse_on_field(form, error)
        else:
            flash(f"Your mentorship with {partner.name} has ended. {partner.name} is told; "
                  "your history together stays here.", "success")
            return redirect(url_for("mentorships.pair", mentorship_id=m.id), 303)
    return render_template("mentorships/end.html", form=form, m=m, partner=partner,
                           ended_label=services.END_REASON_LABEL.get(m.end_reason, ""))


@bp.route("/mentorships/<int:mentorship_id>/check-in", methods=["GET", "POST"])
@login_required
def check_in(mentorship_id):
    """A partner answers the check-in of the round open now (DESIGN §6), for the coordinators only."""
    m = _partners_pair(mentorship_id)
    me = _me()
    round_number, mine = services.my_check_in(m, me)
    form = CheckInForm(data={"score": str(mine.score), "comment": mine.comment} if mine else None)
    if form.validate_on_submit():
        try:
            services.answer_check_in(me, m, form.score.data, form.comment.data)
        except NotAllowed:
            abort(403)
        except MentorshipError as error:
            refuse_on_field(form, error)
        else:
            flash("Thank you: your check-in is saved, for the coordinators to read.", "success")
            return redirect(url_for("mentorships.pair", mentorship_id=m.id), 303)
    partner = m.mentee if services.role_of(m, me) == "mentor" else m.mentor
    return render_template("mentorships/check_in.html", form=form, m=m, partner=partner, round=round_number,
                           answered=mine is not None, first_at=services.check_in_due_at(m, 1))


@bp.post("/mentorships/<int:mentorship_id>/reflection")
@login_required
def reflection(mentorship_id):
    """After the end, a partner writes (or rewrites) their closing reflection."""
    m = _partners_pair(mentorship_id)
    form = ReflectionForm()
    try:
        services.write_reflection(_me(), m, form.reflection.data)
    except NotAllowed:
        abort(403)
    except MentorshipError as error:
        # The form is on the page of an ended pair only.
        return _refused(m, error, form if m.status != Mentorship.ACTIVE else None, reflection_form=form)
    return _done(m, "Your reflection is saved.", "ending")


@bp.post("/mentorships/<int:mentorship_id>/stay-in-touch")
@login_required
def stay_in_touch(mentorship_id):
    """Give (``consent=yes``) or withdraw the wish to stay in touch."""
    m = _partners_pair(mentorship_id)
    me = _me()
    partner = m.mentee if services.role_of(m, me) == "mentor" else m.mentor
    consent = request.form.get("consent") == "yes"
    try:
        changed = services.set_stay_in_touch(me, m, consent)
    except NotAllowed:
        abort(403)
    except MentorshipError as error:
        return _refused(m, error)
    if not consent:
        message = f"You no longer share your contact details with {partner.name}."
    elif changed.mentor_stays_in_touch and changed.mentee_stays_in_touch:
        message = f"You both want to stay in touch: you and {partner.name} now see each other's contact details."
    else:
        message = (f"{partner.name} is told you would like to stay in touch; you see each other's contact details "
                   "once they agree.")
    return _done(m, message, "ending")


@bp.post("/mentorships/<int:mentorship_id>/flag/clear")
@login_required
def clear_flag(mentorship_id):
    """A coordinator has looked at a pair flagged "not a good fit" and clears the flag."""
    m = _pair(mentorship_id)
    try:
        services.clear_flag(_me(), m)
    except NotAllowed:
        abort(403)
    except MentorshipError as error:
        flash(error.message, "error")
    else:
        flash("The flag is cleared.", "success")
    return redirect(url_for("mentorships.pair", mentorship_id=m.id), 303)


# --- meetings ---
# Scheduling, moving, cancelling and logging a meeting, each a page of its own; a private note and
# feedback in the meeting's timeline item (in place with htmx, else the meeting's page with the form
# open); the .ics for a partner's calendar. The meeting page is where invitations link to.

@bp.app_template_filter("duration")
def duration_filter(minutes):
    return times.duration(minutes)


def _partners_meeting(meeting_id):
    """The meeting and its pair, for a partner's action on it: 404 outside the pair, 403 for coordinators."""
    meeting = _meeting(meeting_id)
    _partners_only(meeting.mentorship)
    return meeting, meeting.mentorship


def _to_meeting(mentorship_id, meeting_id):
    return redirect(url_for("mentorships.pair", mentorship_id=mentorship_id, _anchor=f"meeting-{meeting_id}"), 303)


def _ended(m):
    flash(services.ENDED, "error")
    return redirect(url_for("mentorships.pair", mentorship_id=m.id), 303)


def _meeting(meeting_id):
    """The meeting with its pair if the current user may read it; anyone else gets a 404."""
    meeting = services.visible_meeting(meeting_id, _me())
    if meeting is None:
        abort(404)
    return meeting


def _in_timeline(meeting):
    """The pair's page and the meeting's item in its timeline: what the viewer sees of it and may do."""
    page = services.pair_page(meeting.mentorship, _me())
    return page, next(item for item in page.meetings if item.id == meeting.id)


def _item_targeted(meeting_id):
    return bool(request.htmx and not request.htmx.boosted and request.htmx.target == f"meeting-{meeting_id}")


def _show_meeting(page, item, template="mentorships/meeting.html", said="", open_form=None):
    """One meeting: only its timeline item when htmx targets it, else a page of its own.

    ``said`` tells what has just changed; ``open_form`` is the private note or feedback form being filled in.
    """
    context = dict(page=page, item=item, said=said, open_form=open_form)
    if _item_targeted(item.id):
        return render_template("mentorships/_meeting.html", partial=True, **context)
    return render_template(template, **context)


def _back_to(meeting, message, category="success"):
    """After a change: the meeting's item in place with htmx; without JavaScript, the timeline."""
    if _item_targeted(meeting.id):
        page, item = _in_timeline(_meeting(meeting.id))
        return _show_meeting(page, item, said=message)
    flash(message, category)
    return _to_meeting(meeting.mentorship_id, meeting.id)


def _closed(page, item, message):
    """A form the meeting no longer allows (a stale link): its page, saying why."""
    flash(message if page.active else services.ENDED, "error")
    return redirect(url_for("mentorships.meeting", meeting_id=item.id), 303)


def _partner_of(m):
    return m.mentee if services.role_of(m, _me()) == "mentor" else m.mentor


def _when(meeting, partner):
    me = _me()
    day = times.when(meeting.starts_at, me.time_zone, "%a %d %b %Y")
    return f"{day}, {times.times_for(meeting.starts_at, me, [partner])}"


@bp.get("/meetings/<int:meeting_id>")
@login_required
def meeting(meeting_id):
    page, item = _in_timeline(_meeting(meeting_id))
    return _show_meeting(page, item)


# scheduling

def _overlap(partner, day):
    """When both partners' days overlap on ``day`` (a date the member chose), else on the next working day."""
    me = _me()
    chosen = day is not None
    if not chosen:
        day = times.today(me.time_zone, utcnow()) + dt.timedelta(days=1)
        while day.weekday() >= 5:
            day += dt.timedelta(days=1)
    lines = services.describe_overlap(services.overlap_hours(me, partner, day), me, partner)
    return SimpleNamespace(day=day, chosen=chosen, lines=lines)


def _asked_day():
    try:
        return dt.date.fromisoformat(request.args.get("date", ""))
    except ValueError:
        return None


def _plan_page(m, form, action, meeting=None):
    """The form to schedule (or move) a meeting, with the hours both partners work on the chosen day;
    htmx asks for those hours alone when the day changes."""
    partner = _partner_of(m)
    asked = _asked_day() if request.method == "GET" else None
    if asked:
        form.date.data = asked
    day = form.date.data if isinstance(form.date.data, dt.date) else None
    return render_page("mentorships/meeting_form.html", block="overlap", form=form, m=m, partner=partner,
                       meeting=meeting, action=action, overlap=_overlap(partner, day))


def _plan(form):
    return (form.date.data, form.time.data, form.duration.data, form.format.data, form.link.data, form.place.data,
            form.agenda.data)


def _planned(m, meeting, message):
    """Back to the timeline, saying when the meeting is for both, and that a time the clocks repeat was
    taken the first time."""
    flash(message, "success")
    if meeting.notice:
        flash(meeting.notice, "notice")
    return _to_meeting(m.id, meeting.id)


@bp.route("/mentorships/<int:mentorship_id>/meetings/new", methods=["GET", "POST"])
@login_required
def schedule(mentorship_id):
    m = _partners_pair(mentorship_id)
    if m.status != Mentorship.ACTIVE:
        return _ended(m)
    form = MeetingForm()
    if form.validate_on_submit():
        try:
            meeting = services.schedule_meeting(_me(), m, *_plan(form))
        except NotAllowed:
            abort(403)
        except MentorshipError as error:
            refuse_on_field(form, error)
        else:
            partner = _partner_of(m)
            return _planned(m, meeting, f"The meeting is scheduled: {_when(meeting, partner)}. {partner.name} is told.")
    return _plan_page(m, form, url_for("mentorships.schedule", mentorship_id=m.id))


@bp.route("/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
@login_required
def reschedule(meeting_id):
    """Move a meeting, or change its details, with the time in the member's own zone."""
    meeting, m = _partners_meeting(meeting_id)
    page, item = _in_timeline(meeting)
    if not item.can_change:
        return _closed(page, item, "Only a scheduled meeting can be moved: this one was logged or cancelled.")
    start = times.local(meeting.starts_at, _me().time_zone)
    form = MeetingForm(data=dict(date=start.date(), time=start.time(), duration=str(meeting.duration_minutes),
                                 format=meeting.format, link=meeting.link, place=meeting.place, agenda=meeting.agenda))
    if form.validate_on_submit():
        sequence = meeting.sequence
        try:
            changed = services.reschedule_meeting(_me(), meeting, *_plan(form))
        except NotAllowed:
            abort(403)
        except MentorshipError as error:
            refuse_on_field(form, error)
        else:
            partner = _partner_of(m)
            if changed.sequence == sequence:
                return _planned(m, changed, "Nothing changed: the meeting stays as it was.")
            return _planned(m, changed, f"The meeting is changed: {_when(changed, partner)}. {partner.name} is told.")
    return _plan_page(m, form, url_for("mentorships.reschedule", meeting_id=meeting.id), meeting)


@bp.post("/meetings/<int:meeting_id>/cancel")
@login_required
def cancel(meeting_id):
    meeting, _ = _partners_meeting(meeting_id)
    try:
        services.cancel_meeting(_me(), meeting)
    except NotAllowed:
        abort(403)
    except MentorshipError as error:
        return _back_to(meeting, error.message, "error")
    partner = _partner_of(meeting.mentorship)
    return _back_to(meeting, f"The meeting is cancelled. {partner.name} is told, and calendars take it out.")


@bp.get("/meetings/<int:meeting_id>.ics")
@login_required
def meeting_ics(meeting_id):
    """The meeting for the partner's calendar: an invitation, or its cancellation; the same UID each time."""
    meeting, m = _partners_meeting(meeting_id)
    if meeting.starts_at is None:
        abort(404)  # logged without being scheduled: nothing for a calendar
    me = _me()
    data = ics.meeting_calendar(meeting, m.mentor, m.mentee, me, current_app.config["MAIL_FROM"],
                                current_app.config["BASE_URL"])
    response = current_app.response_class(data, content_type="text/calendar; charset=utf-8")
    day = times.when(meeting.starts_at, me.time_zone, "%Y-%m-%d")
    response.headers["Content-Disposition"] = f'attachment; filename="mentoring-{day}.ics"'
    response.headers["Cache-Control"] = "no-store"
    return response


# logging

def _log_page(m, form, action, meeting=None, editing=False):
    return render_template("mentorships/log_form.html", form=form, m=m, partner=_partner_of(m), meeting=meeting,
                           action=action, editing=editing)


def _logged(form):
    return (form.held_on.data, form.duration.data, form.topics.data, form.notes.data, form.next_steps.data,
            form.private_note.data)


def _log(m, form, meeting=None):
    """Log a held meeting (the scheduled ``meeting``, or one never scheduled); None when the form has
    errors, which are then on their fields."""
    try:
        held = services.log_meeting(_me(), m, *_logged(form), meeting=meeting)
    except NotAllowed:
        abort(403)
    except MentorshipError as error:
        refuse_on_field(form, error)
        return None
    flash(f"The meeting of {held.held_on:%a %d %b %Y} is logged.", "success")
    return _to_meeting(m.id, held.id)


@bp.route("/mentorships/<int:mentorship_id>/meetings/log", methods=["GET", "POST"])
@login_required
def log_unscheduled(mentorship_id):
    """Log a meeting that was never scheduled here."""
    m = _partners_pair(mentorship_id)
    if m.status != Mentorship.ACTIVE:
        return _ended(m)
    form = LogForm(topics=services.pair_topics(m), data=dict(held_on=times.today(_me().time_zone, utcnow())))
    done = _log(m, form) if form.validate_on_submit() else None
    return done or _log_page(m, form, url_for("mentorships.log_unscheduled", mentorship_id=m.id))


@bp.route("/meetings/<int:meeting_id>/log", methods=["GET", "POST"])
@login_required
def log_meeting(meeting_id):
    """Log a scheduled meeting: it becomes held."""
    meeting, m = _partners_meeting(meeting_id)
    page, item = _in_timeline(meeting)
    if not item.can_change:
        return _closed(page, item, "Only a scheduled meeting can be logged: this one was logged or cancelled.")
    me = _me()
    held_on = min(times.local(meeting.starts_at, me.time_zone).date(), times.today(me.time_zone, utcnow()))
    form = LogForm(topics=services.pair_topics(m), data=dict(held_on=held_on, duration=str(meeting.duration_minutes)))
    done = _log(m, form, meeting) if form.validate_on_submit() else None
    return done or _log_page(m, form, url_for("mentorships.log_meeting", meeting_id=meeting.id), meeting)


@bp.route("/meetings/<int:meeting_id>/log/edit", methods=["GET", "POST"])
@login_required
def edit_log(meeting_id):
    """The partner who logged a meeting corrects the log, for 14 days."""
    meeting, m = _partners_meeting(meeting_id)
    page, item = _in_timeline(meeting)
    if request.method == "GET" and not item.can_edit_log:
        return _closed(page, item, f"Only the partner who logged a meeting can change its log, for "
                                   f"{services.LOG_EDIT_DAYS} days after writing it.")
    form = LogForm(topics=services.pair_topics(m), data=dict(
        held_on=meeting.held_on, duration=str(meeting.duration_minutes), topics=[str(t.id) for t in item.topics],
        notes=meeting.notes, next_steps=meeting.next_steps, private_note=item.my_private_note))
    if form.validate_on_submit():
        try:
            services.edit_log(_me(), meeting, *_logged(form))
        except NotAllowed:
            abort(403)
        except MentorshipError as error:
            refuse_on_field(form, error)
        else:
            flash("The log is saved.", "success")
            return _to_meeting(m.id, meeting.id)
    return _log_page(m, form, url_for("mentorships.edit_log", meeting_id=meeting.id), meeting, editing=True)


@bp.post("/meetings/<int:meeting_id>/log/delete")
@login_required
def delete_log(meeting_id):
    meeting, m = _partners_meeting(meeting_id)
    try:
        services.delete_log(_me(), meeting)
    except NotAllowed:
        abort(403)
    except MentorshipError as error:
        flash(error.message, "error")
    else:
        flash(f"The log of the meeting of {meeting.held_on:%a %d %b %Y} is deleted.", "success")
    return redirect(url_for("mentorships.pair", mentorship_id=m.id, _anchor="meetings"), 303)


# a private note and feedback, in the timeline item

@bp.route("/meetings/<int:meeting_id>/note", methods=["GET", "POST"])
@login_required
def private_note(meeting_id):
    """A partner's own note on a held meeting, which nobody else ever reads."""
    meeting, _ = _partners_meeting(meeting_id)
    page, item = _in_timeline(meeting)
    form = NoteForm(prefix=f"meeting-{meeting.id}", data=dict(private_note=item.my_private_note))
    if form.validate_on_submit():
        try:
            services.set_private_note(_me(), meeting, form.private_note.data)
        except NotAllowed:
            abort(403)
        except MentorshipError as error:
            refuse_on_field(form, error)
        else:
            return _back_to(meeting, "Your private note is saved." if form.private_note.data.strip()
                            else "Your private note is deleted.")
    elif item.status != Meeting.HELD:
        return _closed(page, item, "Private notes are kept on meetings that have been logged.")
    return _show_meeting(page, item, open_form=SimpleNamespace(kind="note", form=form))


FIT_ANSWER = {True: "yes", False: "no", None: None}


@bp.route("/meetings/<int:meeting_id>/feedback", methods=["GET", "POST"])
@login_required
def feedback(meeting_id):
    """A partner rates a held meeting, once, and may change it for 7 days."""
    meeting, _ = _partners_meeting(meeting_id)
    page, item = _in_timeline(meeting)
    if request.method == "GET" and not item.can_give_feedback:
        if item.status == Meeting.CANCELLED:
            return _closed(page, item, "This meeting was cancelled: there is nothing to give feedback on.")
        return _closed(page, item, "You can give feedback once the meeting has been logged, and change it for "
                                   f"{services.FEEDBACK_EDIT_DAYS} days.")
    mine = item.my_feedback
    form = FeedbackForm(prefix=f"meeting-{meeting.id}", data=mine and dict(
        rating=str(mine.rating), most_useful=mine.most_useful, visibility=mine.visibility,
        good_fit=FIT_ANSWER[mine.good_fit]))
    if form.validate_on_submit():
        try:
            services.give_feedback(_me(), meeting, form.rating.data, form.most_useful.data, form.visibility.data,
                                   form.good_fit.data if item.asks_fit else None)
        except NotAllowed:
            abort(403)
        except MentorshipError as error:
            refuse_on_field(form, error)
        else:
            who = ("the coordinators only" if form.visibility.data == Feedback.COORDINATORS
                   else f"{page.partner.name} and the coordinators")
            return _back_to(meeting, f"Thank you: your feedback is saved, for {who} to read.")
    return _show_meeting(page, item, "mentorships/feedback.html", open_form=SimpleNamespace(kind="feedback", form=form))
