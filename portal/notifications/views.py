"""The member's notifications: the list with its unread badge, marking read, and the settings that decide
what comes by email and when."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block

from ..models import Notification
from ..templating import render_page
from . import inbox, preferences
from .forms import preferences_form

bp = Blueprint("notifications", __name__)
LIST = "notifications/list.html"

# What became of each item's email, in words.
EMAIL_STATUS = {
    Notification.PENDING: "Email on its way",
    Notification.SENDING: "Email on its way",
    Notification.SENT: "Emailed",
    Notification.FAILED: "The email could not be delivered",
    Notification.SKIPPED: "No email: nothing was left to tell",
    Notification.PORTAL_ONLY: "In the portal only",
    Notification.DIGEST: "Waiting for your daily digest",
}


def _me():
    return current_user._get_current_object()


@bp.app_context_processor
def unread_counter():
    """The navigation's unread count, as a function: only the layout of a logged-in page calls it (one COUNT)."""
    return {"unread_count": lambda: inbox.unread_count(_me())}


def _page_number():
    return max(1, request.values.get("page", 1, type=int))


def _list(status=None):
    return render_page(LIST, block="notifications", page=inbox.page_of(_me(), _page_number()),
                       email_status=EMAIL_STATUS, status=status)


@bp.get("/notifications")
@login_required
def index():
    return _list()


@bp.get("/notifications/badge")
def badge():
    """The unread badge alone, which the navigation polls. A poll after the session ended leaves the page
    as it is (the next click goes to the login page) rather than sending the member to log in for a badge."""
    if not current_user.is_authenticated:
        if request.htmx:
            return "", 204
        return current_app.login_manager.unauthorized()
    return render_template("notifications/_badge.html", unread=inbox.unread_count(_me()))


@bp.post("/notifications/<int:notification_id>/read")
@login_required
def read(notification_id):
    item = inbox.mark_read(_me(), notification_id)
    if item is None:
        abort(404)
    if request.htmx and not request.htmx.boosted and request.htmx.target == f"notification-{notification_id}":
        return render_block(LIST, "notification", item=item, email_status=EMAIL_STATUS, alone=True,
                            status=f"Marked as read: {item.row.subject}")
    return redirect(url_for("notifications.index", page=_page_number() if _page_number() > 1 else None,
                            _anchor=f"notification-{notification_id}"), 303)


@bp.post("/notifications/read")
@login_required
def read_all():
    count = inbox.mark_all_read(_me())
    status = f"{count} notification{'s' if count != 1 else ''} marked as read." if count else "Nothing was unread."
    if request.htmx and not request.htmx.boosted and request.htmx.target == "notifications":
        return _list(status)
    flash(status, "success")
    return redirect(url_for("notifications.index"), 303)


@bp.route("/notifications/preferences", methods=["GET", "POST"])
@login_required
def settings():
    me = _me()
    groups = preferences.groups_for(me)
    form = preferences_form(groups, preferences.settings_of(me))
    if form.validate_on_submit():
        try:
            preferences.save(me, form.settings([c.key for _, entries in groups for c, _ in entries]))
        except preferences.PreferenceError as error:
            for name, message in error.errors.items():
                form[name].errors = [*form[name].errors, message]
        else:
            flash("Your notification settings are saved.", "success")
            return redirect(url_for("notifications.settings"), 303)
    return render_template("notifications/preferences.html", form=form, groups=groups)
