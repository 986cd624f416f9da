from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import COOKIE_NAME, current_user, login_required, login_user, logout_user

from .. import tokens
from ..extensions import failed_attempt, limiter
from ..models import User
from . import services
from .forms import AcceptInvitationForm, ChangePasswordForm, LoginForm, RegisterForm, ResetPasswordForm, ResetRequestForm

bp = Blueprint("auth", __name__)


def init_login(manager):
    manager.login_view = "auth.login"
    manager.login_message = "Please log in to see this page."
    manager.login_message_category = "info"

    @manager.user_loader
    def load_user(token):
        return User.get_or_none((User.session_token == token) & (User.active == True))  # noqa: E712

    @manager.unauthorized_handler
    def unauthorized():
        target = url_for("auth.login", next=request.full_path.rstrip("?"))
        if request.htmx:
            # A redirect would be swapped into the box; tell htmx to go there instead.
            return "", 204, {"HX-Redirect": target}
        flash(manager.login_message, "info")
        return redirect(target)


def _email_key():
    return "login:" + services.normalize_email(request.form.get("email", ""))


def _login_limits():
    return current_app.config["LOGIN_LIMITS"]


def _safe_next(target):
    """Only local paths, so a crafted link cannot send a member elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limits, methods=["POST"], deduct_when=failed_attempt)
@limiter.limit(_login_limits, methods=["POST"], key_func=_email_key, deduct_when=failed_attempt)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("members.mentors"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except services.AccountError as error:
            g.failed_attempt = True
            form.form_errors.append(str(error))
        else:
            login_user(user, remember=form.remember.data)
            target = _safe_next(request.args.get("next"))
            if not user.profile.completed:
                return redirect(url_for("members.wizard", step=1))
            return redirect(target or url_for("members.mentors"))
    return render_template("auth/login.html", form=form, registration_open=services.registration_open())


def too_many_attempts(exc):
    """The login form again, with what was typed and the reason it waits."""
    form = LoginForm()
    form.form_errors.append(f"Too many failed attempts. Please wait {_wait_words(exc)}, then try again "
                            "or reset your password.")
    return render_template("auth/login.html", form=form, registration_open=services.registration_open()), 429


def _wait_words(exc):
    """How long the limit that was hit lasts: "a minute", "an hour", "10 minutes"."""
    item = getattr(getattr(exc, "limit", None), "limit", None)
    if item is None:
        return "a minute"
    unit = item.GRANULARITY.name
    if item.multiples > 1:
        return f"{item.multiples} {unit}s"
    return ("an " if unit == "hour" else "a ") + unit


@bp.post("/logout")
@login_required
def logout():
    services.end_sessions(current_user._get_current_object())
    logout_user()
    flash("You are logged out on every device.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invitation(token):
    try:
        invitation = services.invitation_for(token)
    except tokens.TokenError as error:
        return render_template("auth/link_problem.html", message=str(error)), 404
    form = AcceptInvitationForm(name=invitation.name)
    if form.validate_on_submit():
        try:
            user = services.accept_invitation(token, form.name.data, form.password.data, form.time_zone.data)
        except services.AccountError as error:
            getattr(form, error.field or "password").errors.append(str(error))
        except tokens.TokenError as error:
            return render_template("auth/link_problem.html", message=str(error)), 404
        else:
            if current_user.is_authenticated:
                logout_user()
            login_user(user)
            flash("Welcome! Tell the program about yourself in four short steps.", "success")
            return redirect(url_for("members.wizard", step=1))
    return render_template("auth/accept_invitation.html", form=form, invitation=invitation)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_login_limits, methods=["POST"])
def register():
    if not services.registration_open():
        abort(404)
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            services.register(form.name.data, form.email.data, form.password.data, form.time_zone.data)
        except services.AccountError as error:
            getattr(form, error.field or "email").errors.append(str(error))
        else:
            return render_template("auth/check_email.html", email=services.normalize_email(form.email.data))
    domains = sorted(current_app.config["ALLOWED_EMAIL_DOMAINS"])
    return render_template("auth/register.html", form=form, domains=domains)


@bp.get("/verify/<token>")
def verify(token):
    try:
        services.verify(token)
    except tokens.TokenError as error:
        return render_template("auth/link_problem.html", message=str(error)), 404
    flash("Thank you: your email address is confirmed.", "success")
    return redirect(url_for("members.mentors") if current_user.is_authenticated else url_for("auth.login"))


@bp.post("/verify/resend")
@login_required
def resend_verification():
    if current_user.verified:
        flash("Your email address is already confirmed.", "info")
    else:
        services.send_verification(current_user._get_current_object())
        flash(f"We sent a new confirmation link to {current_user.email}.", "info")
    # Back to the page the member was on: its path only, never another host.
    back = urlsplit(request.referrer or "")
    target = _safe_next(back.path + (f"?{back.query}" if back.query else ""))
    return redirect(target or url_for("members.mentors"))


@bp.route("/password/reset", methods=["GET", "POST"])
@limiter.limit(_login_limits, methods=["POST"])
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        return render_template("auth/check_email.html", email=services.normalize_email(form.email.data), reset=True,
                               minutes=current_app.config["RESET_MAX_AGE"] // 60)
    return render_template("auth/reset_request.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token):
    try:
        services.user_for_reset(token)
    except tokens.TokenError as error:
        return render_template("auth/link_problem.html", message=str(error), reset=True), 404
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except services.AccountError as error:
            form.password.errors.append(str(error))
        except tokens.TokenError as error:
            return render_template("auth/link_problem.html", message=str(error), reset=True), 404
        else:
            logout_user()
            flash("Your password is changed, and every other session is logged out. Log in with the new password.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)


@bp.route("/password/change", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            services.change_password(user, form.current_password.data, form.password.data)
        except services.AccountError as error:
            getattr(form, error.field or "password").errors.append(str(error))
        else:
            # This session goes on with the new token (and a remembered device stays
            # remembered); all others end.
            login_user(user, remember=current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME) in request.cookies)
            flash("Your password is changed. Other devices have been logged out.", "success")
            return redirect(url_for("members.edit_profile"))
    return render_template("auth/change_password.html", form=form)
