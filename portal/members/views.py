import json

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..forms import choices
from ..mentorships import times
from ..models import ProfileTopic, utcnow
from ..templating import render_page
from . import privacy, services
from .forms import STEP_FORMS, BrowseForm, DeleteAccountForm, ProfileForm

bp = Blueprint("members", __name__)


def _me():
    return current_user._get_current_object()


def _form_data(user):
    """The current profile as form data, for prefilling a form."""
    profile = user.profile
    data = {name: getattr(profile, name) for name in services.PROFILE_FIELDS}
    data.update(
        name=user.name, time_zone=user.time_zone, meeting_formats=profile.formats, away_until=profile.away_until,
        languages=services.language_codes(profile),
        offered_topics=services.topic_ids(profile, ProfileTopic.OFFERS),
        sought_topics=services.topic_ids(profile, ProfileTopic.SEEKS),
    )
    if not profile.completed and not profile.offers_mentoring and not profile.seeks_mentoring:
        data["seeks_mentoring"] = True
    if not profile.offers_mentoring:
        data["capacity"] = 1  # the number a member who starts to mentor most likely means
    return data


def _with_topics(form, user):
    # A member's own suggestions waiting for approval stay on their form, marked as such.
    topics = [(t.id, t.name if t.approved else f"{t.name} (waiting for approval)")
              for t in services.topic_choices(user)]
    for name in ("offered_topics", "sought_topics"):
        if name in form:
            form[name].choices = choices(topics)
    return form


def _save_data(form):
    return {name: field.data for name, field in form._fields.items() if name != "csrf_token"}


@bp.route("/profile/wizard/<int:step>", methods=["GET", "POST"])
@login_required
def wizard(step):
    user = _me()
    if step not in STEP_FORMS:
        abort(404)
    if step > user.profile.wizard_step and not user.profile.completed:
        return redirect(url_for("members.wizard", step=user.profile.wizard_step))
    form = _with_topics(STEP_FORMS[step](data=_form_data(user)), user)
    if form.validate_on_submit():
        try:
            services.save_profile(user, _save_data(form), step=step)
        except services.ProfileError as error:
            form[error.field].errors.append(str(error))
        else:
            if step < max(STEP_FORMS):
                return redirect(url_for("members.wizard", step=step + 1))
            flash("Your profile is ready. Here are the mentors who fit you best.", "success")
            return redirect(url_for("members.mentors"))
    return render_template("members/wizard.html", form=form, step=step, steps=services.WIZARD_STEPS,
                           detect_zone=not user.profile.completed)


@bp.route("/profile/edit", methods=["GET", "POST"])
@login_required
def edit_profile():
    user = _me()
    form = _with_topics(ProfileForm(data=_form_data(user)), user)
    if form.validate_on_submit():
        try:
            services.save_profile(user, _save_data(form))
        except services.ProfileError as error:
            form[error.field].errors.append(str(error))
        else:
            flash("Your profile is saved.", "success")
            return redirect(url_for("members.profile", member_id=user.id))
    return render_template("members/edit.html", form=form)


@bp.get("/members/<int:member_id>")
@login_required
def profile(member_id):
    member = services.visible_member(member_id, _me())
    if member is None:
        abort(404)
    return render_template(
        "members/profile.html", member=member, profile=member.profile,
        topics=services.topics_by_kind(member.profile, _me()), languages=services.language_codes(member.profile),
        places_left=services.places_left(member.profile), away=services.is_away(member.profile),
    )


@bp.get("/mentors")
@login_required
def mentors():
    return _browse("members/mentors.html", services.browse_mentors)


@bp.get("/mentees")
@login_required
def mentees():
    """Mentors browse the members who seek mentoring, and offer to mentor one."""
    return _browse("members/mentees.html", services.browse_mentees)


def _browse(template, browse):
    form = BrowseForm(request.args, services.approved_topics())
    filters = form.filters()
    result = browse(_me(), filters, current_app.config["BROWSE_PAGE_SIZE"])
    return render_page(template, block="results", form=form, result=result, query_args=_query_args(filters))


def _query_args(filters):
    """The active filters as query-string values, for page links that keep them."""
    args = {}
    for name in ("q", "topic", "level", "industry", "region", "language", "sort"):
        value = getattr(filters, name)
        if value:
            args[name] = value
    for name in ("overlap", "show_full"):
        if getattr(filters, name):
            args[name] = "y"
    return args


# --- privacy: my data, deleting my account (issue 7) ---------------------------------

@bp.get("/profile/data.json")
@login_required
def data_export():
    """All my data as a JSON file to keep (``privacy.export`` says what is in it)."""
    user = _me()
    body = json.dumps(privacy.export(user), indent=2, ensure_ascii=False)
    day = times.today(user.time_zone, utcnow())
    response = current_app.response_class(body, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="tandem-my-data-{day.isoformat()}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/profile/delete", methods=["GET", "POST"])
@login_required
def delete_account():
    user = _me()
    form = DeleteAccountForm()
    if user.deletion_requested_at is None and form.validate_on_submit():
        try:
            privacy.request_deletion(user, form.password.data)
        except privacy.PrivacyError as error:
            form[error.field or "password"].errors.append(error.message)
        else:
            flash("Your request is recorded. A coordinator will confirm it soon; until then you can cancel it "
                  "here.", "success")
            return redirect(url_for("members.delete_account"), 303)
    return render_template("members/delete.html", form=form, pending_since=user.deletion_requested_at)


@bp.post("/profile/delete/cancel")
@login_required
def cancel_deletion():
    try:
        privacy.cancel_deletion(_me())
    except privacy.PrivacyError as error:
        flash(error.message, "error")
    else:
        flash("Your request is cancelled: your account stays as it is.", "success")
    return redirect(url_for("members.delete_account"), 303)
