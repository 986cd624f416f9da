"""Site-wide pages: landing, health check, the dev mail page, error pages."""
from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
import peewee
from werkzeug.exceptions import HTTPException

from . import mail
from .db import database

bp = Blueprint("site", __name__)


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("members.mentors"))
    return render_template("site/index.html")


@bp.get("/healthz")
def healthz():
    status = {"status": "ok", "database": "ok", "broker": _broker_status()}
    code = 200
    try:
        database.execute_sql("SELECT 1")
    except Exception as exc:  # any driver error means "unreachable"
        current_app.logger.warning("health check: database unreachable: %s", exc)
        status.update(status="error", database="unreachable")
        code = 503
    return jsonify(status), code


def _broker_status():
    url = current_app.config.get("REDIS_URL")
    if not url:
        return "in-process"
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping()
        return "ok"
    except redis.RedisError:
        return "unreachable"


@bp.get("/dev/mail")
def dev_mail():
    """Mail written by the embedded default, for trying the portal out (dev only)."""
    if not current_app.config["DEV"] or current_app.config.get("SMTP_URL"):
        abort(404)
    return render_template("site/dev_mail.html", messages=mail.written())


ERROR_TEXT = {
    400: ("Bad request", "The request could not be understood. Go back and try again."),
    403: ("Not allowed", "Your account may not open this page."),
    404: ("Page not found", "There is nothing here, or it is not yours to see."),
    405: ("Not allowed", "This address does not accept that kind of request."),
    429: ("Too many attempts", "Please wait a minute and try again."),
    500: ("Something went wrong", "We could not finish this. Nothing you sent was lost; try again in a moment."),
}


def render_error(code, description=None):
    title, text = ERROR_TEXT.get(code, ERROR_TEXT[500])
    return render_template("site/error.html", code=code, title=title, text=description or text), code


def register_error_handlers(app):
    from .auth.views import too_many_attempts

    @app.errorhandler(429)
    def rate_limited(exc):
        if request.endpoint == "auth.login":
            return too_many_attempts(exc)
        return render_error(429)

    @app.errorhandler(HTTPException)
    def http_error(exc):
        if exc.code in ERROR_TEXT:
            # The CSRF error says what happened in words a person understands.
            description = exc.description if exc.code == 400 and "CSRF" in (exc.description or "") else None
            if description:
                description = "This form had expired or came from elsewhere. Reload the page and send it again."
            body, code = render_error(exc.code, description)
            headers = {"Allow": ", ".join(exc.valid_methods)} if getattr(exc, "valid_methods", None) else {}
            return body, code, headers
        return exc

    @app.errorhandler(peewee.OperationalError)
    @app.errorhandler(peewee.InterfaceError)
    def database_unavailable(exc):
        # The layout needs the database (who is logged in), so this page stands alone.
        app.logger.error("database unavailable: %s", exc)
        return render_template("site/unavailable.html"), 503, {"Retry-After": "30"}

    @app.errorhandler(Exception)
    def server_error(exc):
        if database.obj is not None and not database.is_closed() and database.in_transaction():
            database.rollback()
        app.logger.exception("unhandled error")
        return render_error(500)
