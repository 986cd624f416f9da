"""Pairing rounds (DESIGN journey 6): members opt in at /rounds, coordinators run rounds at /coordinator/rounds."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from jinja2_fragments.flask import render_block

from ..coordinator.views import _me, coordinator_required
from ..forms import refuse_on_field
from ..members import services as members
from ..models import Round
from ..templating import render_page
from . import review, services
from .forms import JoinForm, RoundForm, WeightsForm

bp = Blueprint("rounds", __name__)


# --- members: open rounds, opting in and out ----------------------------------------

JOIN = "rounds/join.html"


@bp.app_context_processor
def round_link():
    """The navigation's "Pairing round" link, as a function: only the layout of a logged-in page calls it."""
    return {"round_open": services.any_open}


def _open_round(round_id):
    """The round, if members may join it now; else 404 (a draft, a closed round, or none)."""
    found = services.open_round_or_none(round_id)
    if found is None:
        abort(404)
    return found


@bp.get("/rounds")
@login_required
def index():
    return render_template("rounds/index.html", rounds=services.my_rounds(_me()),
                           status_label=services.STATUS_LABEL)


@bp.route("/rounds/<int:round_id>/join", methods=["GET", "POST"])
@login_required
def join(round_id):
    """Opt in (or change my entry): roles, capacity, topics, the profile confirmation; below, once joined,
    my preferred mentors and whom never to pair me with."""
    round_ = _open_round(round_id)
    entry = services.entry_of(_me(), round_)
    form = _join_form(entry)
    if form.validate_on_submit():
        try:
            services.join(_me(), round_, form.as_mentor.data, form.capacity.data, form.offers.data,
                          form.as_mentee.data, form.seeks.data, form.confirmed.data)
        except services.RoundError as error:
            refuse_on_field(form, error)
        else:
            flash(f"You are {'in' if entry is None else 'still in'} “{round_.name}”: "
                  f"{'your entry is saved' if entry is None else 'your changes are saved'}.", "success")
            return redirect(url_for("rounds.join", round_id=round_.id), 303)
    return _join_page(round_, entry, form)


def _join_form(entry):
    """The join form as my entry left it (a place offered shows 1 when I do not mentor yet), or from my profile."""
    if entry is None:
        start = services.profile_defaults(_me())
    else:
        topics = services.entry_topics(entry)
        start = dict(as_mentor=entry.as_mentor, capacity=entry.capacity or 1, offers=topics["offers"],
                     as_mentee=entry.as_mentee, seeks=topics["seeks"], confirmed=False)
    form = JoinForm(data=start)
    form.offers.choices = form.seeks.choices = [(t.id, t.name) for t in members.topic_choices(_me())]
    return form


def _join_page(round_, entry, form=None, errors=None, typed=None):
    """The join page; ``errors``/``typed``: the message and the text of a search field (mentor_q, other_q)."""
    me = _me()
    typed = typed or {}
    mentor_q = typed.get("mentor_q", request.args.get("mentor_q", ""))[:100]
    other_q = typed.get("other_q", request.args.get("other_q", ""))[:100]
    form = form or _join_form(entry)
    block = request.htmx.target if request.htmx and request.htmx.target in ("mentor_results", "other_results") \
        else None
    return render_page(JOIN, block=block, round=round_, entry=entry, form=form, errors=errors or {},
                       mentor_q=mentor_q, other_q=other_q,
                       preferences=services.preferences(entry), exclusions=services.exclusions(entry),
                       found_mentors=services.find_mentors(round_, me, mentor_q) if entry else [],
                       found_members=services.find_members(me, other_q) if entry else [],
                       max_preferences=services.MAX_PREFERENCES, days_left=services.days_left(round_))


@bp.post("/rounds/<int:round_id>/leave")
@login_required
def leave(round_id):
    round_ = _open_round(round_id)
    try:
        services.leave(_me(), round_)
    except services.RoundError as error:
        flash(error.message, "error")
    else:
        flash(f"You have left “{round_.name}”: you can join again while it is open.", "success")
    return redirect(url_for("rounds.index"), 303)


@bp.post("/rounds/<int:round_id>/preferences")
@login_required
def preference(round_id):
    """Add (``mentor``) or remove (``remove``) a preferred mentor."""
    return _entry_change(round_id, "mentor_q", services.add_preference, services.remove_preference,
                         "mentor", lambda u: f"{u.name} is now one of your preferred mentors.",
                         "Removed from your preferred mentors.")


@bp.post("/rounds/<int:round_id>/exclusions")
@login_required
def exclusion(round_id):
    """Add (``other``) or remove (``remove``) someone I must never be paired with."""
    return _entry_change(round_id, "other_q", services.add_exclusion, services.remove_exclusion,
                         "other", lambda u: f"You will not be paired with {u.name} in this round.",
                         "Removed from your list.")


def _entry_change(round_id, field, add, remove, param, added, removed):
    round_ = _open_round(round_id)
    me = _me()
    removing = request.form.get("remove", type=int)
    try:
        if removing:
            remove(me, round_, removing)
            message = removed
        else:
            message = added(add(me, round_, request.form.get(param, type=int)))
    except services.RoundError as error:
        entry = services.entry_of(me, round_)
        if entry is None:
            flash(error.message, "error")
            return redirect(url_for("rounds.join", round_id=round_.id), 303)
        return _join_page(round_, entry, errors={error.field or field: error.message},
                          typed={field: request.form.get(field, "")})
    flash(message, "success")
    anchor = "preferences" if field == "mentor_q" else "exclusions"
    return redirect(url_for("rounds.join", round_id=round_.id, _anchor=anchor), 303)


# --- coordinators: creating rounds and moving them along --------------------------

ROUND_FORM = "rounds/round_form.html"


@bp.get("/coordinator/rounds")
@coordinator_required
def manage():
    return render_template("rounds/manage.html", rows=services.round_list(), status_label=services.STATUS_LABEL,
                           moves=services.MOVES, editable=services.EDITABLE, today=services.today())


@bp.route("/coordinator/rounds/new", methods=["GET", "POST"])
@coordinator_required
def new():
    form = RoundForm()
    if form.validate_on_submit() and _save_round(form, None):
        return redirect(url_for("rounds.manage"), 303)
    return render_template(ROUND_FORM, form=form, round=None)


@bp.route("/coordinator/rounds/<int:round_id>/edit", methods=["GET", "POST"])
@coordinator_required
def edit(round_id):
    round_ = _round(round_id)
    form = RoundForm(obj=round_)
    if round_.status in services.EDITABLE and form.validate_on_submit() and _save_round(form, round_):
        return redirect(url_for("rounds.manage"), 303)
    return render_template(ROUND_FORM, form=form, round=round_, editable=round_.status in services.EDITABLE,
                           status_label=services.STATUS_LABEL)


def _save_round(form, round_):
    values = dict(name=form.name.data, opens_on=form.opens_on.data, closes_on=form.closes_on.data,
                  starts_on=form.starts_on.data, length_weeks=form.length_weeks.data)
    try:
        if round_ is None:
            round_ = services.create_round(_me(), **values)
        else:
            services.update_round(_me(), round_, **values)
    except services.RoundError as error:
        refuse_on_field(form, error)
        return False
    flash(f"“{round_.name}” is saved.", "success")
    return True


@bp.post("/coordinator/rounds/<int:round_id>/status")
@coordinator_required
def set_status(round_id):
    """One move of the round (``to``: open, matching, closed); the page's <details> is the step that confirms it."""
    round_ = _round(round_id)
    target = request.form.get("to", "")
    try:
        services.move(_me(), round_, target)
    except services.RoundError as error:
        flash(error.message, "error")
    else:
        flash(f"“{round_.name}” {services.MOVES[target][2]}.", "success")
    return redirect(url_for("rounds.manage", _anchor=f"round-{round_.id}"), 303)


# --- coordinators: matching, reviewing and publishing the proposals ----------------

PROPOSALS = "rounds/proposals.html"
WEIGHT_NAMES = tuple(review.matching.Weights().as_dict())  # the fields of WeightsForm


def _round(round_id):
    found = Round.get_or_none(Round.id == round_id)
    if found is None:
        abort(404)
    return found


def _proposal(round_, proposal_id):
    found = review.proposal_in(round_, proposal_id)
    if found is None:
        abort(404)
    return found


def _back(round_):
    return redirect(url_for("rounds.proposals", round_id=round_.id), 303)


@bp.get("/coordinator/rounds/<int:round_id>/proposals")
@coordinator_required
def proposals(round_id):
    round_ = _round(round_id)
    return _proposals_page(round_, WeightsForm(data=review.weights_of(round_).as_dict()))


def _proposals_page(round_, form, preview=None):
    """The review page: a fixed number of queries however many entrants and proposals."""
    reviewing = round_.status not in (Round.DRAFT, Round.OPEN)
    c = review.cohort(round_) if reviewing else None
    rows = review.proposals(round_) if reviewing else []
    unmatched = {}
    if reviewing:
        found = review.why_unmatched(c, [(r.proposal.mentee_id, r.proposal.mentor_id) for r in rows])
        unmatched = sorted(((c.users[uid], why) for uid, why in found.items()), key=lambda u: u[0].name.lower())
    return render_page(PROPOSALS, round=round_, rows=rows, unmatched=unmatched, form=form, preview=preview,
                       fairness=review.fairness(round_, c, rows) if reviewing else None,
                       editable=round_.status == Round.MATCHING, refusal=review.STATUS_REFUSAL.get(round_.status))


def _act(round_, action, done):
    """Run one review action; its outcome as a flash, then back to the page (303)."""
    try:
        result = action()
    except review.ReviewError as error:
        flash(error.message, "error")
    else:
        flash(done(result) if callable(done) else done, "success")
    return _back(round_)


@bp.post("/coordinator/rounds/<int:round_id>/run")
@coordinator_required
def run(round_id):
    round_ = _round(round_id)
    return _act(round_, lambda: review.run(_me(), round_),
                lambda result: f"The matcher proposed {len(result.proposals)} pair"
                               f"{'s' if len(result.proposals) != 1 else ''}; {len(result.unmatched)} mentee"
                               f"{'s' if len(result.unmatched) != 1 else ''} left unmatched.")


@bp.post("/coordinator/rounds/<int:round_id>/proposals/<int:proposal_id>/lock")
@coordinator_required
def lock(round_id, proposal_id):
    return _set_locked(round_id, proposal_id, True)


@bp.post("/coordinator/rounds/<int:round_id>/proposals/<int:proposal_id>/unlock")
@coordinator_required
def unlock(round_id, proposal_id):
    return _set_locked(round_id, proposal_id, False)


def _set_locked(round_id, proposal_id, locked):
    """Lock or unlock a pair: in place for htmx (the row again, with a word on what happened), else back."""
    round_ = _round(round_id)
    proposal = _proposal(round_, proposal_id)
    in_place = request.htmx and request.htmx.target == f"proposal-{proposal_id}"
    try:
        review.set_locked(_me(), round_, proposal, locked)
    except review.ReviewError as error:
        message, category = error.message, "error"
    else:
        message, category = ("Locked: this pair stays when the matcher runs again." if locked
                             else "Unlocked: the matcher may change this pair."), "success"
    if in_place:
        row = next(r for r in review.proposals(round_) if r.proposal.id == proposal_id)
        return render_block(PROPOSALS, "row", row=row, round=round_, editable=round_.status == Round.MATCHING,
                            message=message, category=category)
    flash(message, category)
    return _back(round_)


@bp.post("/coordinator/rounds/<int:round_id>/proposals/<int:proposal_id>/forbid")
@coordinator_required
def forbid(round_id, proposal_id):
    round_ = _round(round_id)
    proposal = _proposal(round_, proposal_id)
    return _act(round_, lambda: review.forbid(_me(), round_, proposal),
                "The pair is ruled out for this round. Run the matcher again to propose a mentor for the mentee.")


@bp.post("/coordinator/rounds/<int:round_id>/swap")
@coordinator_required
def swap(round_id):
    round_ = _round(round_id)
    chosen = request.form.getlist("swap", type=int)
    if len(set(chosen)) != 2:
        flash("Select exactly two pairs to swap their mentees.", "error")
        return _back(round_)
    a, b = (_proposal(round_, pid) for pid in sorted(set(chosen)))
    return _act(round_, lambda: review.swap(_me(), round_, a, b),
                lambda names: f"Swapped: {names[b.mentor_id]} now mentors {names[a.mentee_id]}, "
                              f"{names[a.mentor_id]} mentors {names[b.mentee_id]}.")


@bp.post("/coordinator/rounds/<int:round_id>/weights")
@coordinator_required
def weights(round_id):
    """"Preview" shows how the proposals would change and saves nothing; "Save and re-run" keeps the weights."""
    round_ = _round(round_id)
    form = WeightsForm()
    if not form.validate_on_submit():
        return _proposals_page(round_, form)
    chosen = review.matching.Weights(**{name: float(form[name].data) for name in WEIGHT_NAMES})
    if request.form.get("action") == "save":
        return _act(round_, lambda: review.save_weights(_me(), round_, chosen),
                    lambda result: f"Weights saved; the matcher proposed {len(result.proposals)} pair"
                                   f"{'s' if len(result.proposals) != 1 else ''} with them.")
    try:
        preview = review.preview_weights(round_, chosen)
    except review.ReviewError as error:
        form.form_errors.append(error.message)
        preview = None
    return _proposals_page(round_, form, preview)


@bp.post("/coordinator/rounds/<int:round_id>/publish")
@coordinator_required
def publish(round_id):
    round_ = _round(round_id)
    return _act(round_, lambda: review.publish(_me(), round_),
                lambda count: f"Published: {count} pair{'s' if count != 1 else ''} start"
                              f"{'s' if count == 1 else ''} on {round_.starts_on:%d %b %Y}; everyone is told.")
