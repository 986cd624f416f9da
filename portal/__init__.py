"""Tandem: the mentoring program portal. ``create_app`` builds the Flask app."""
import logging

from flask import Flask

from . import config


def create_app(test_config=None):
    app = Flask(__name__, instance_path=config.instance_path(), instance_relative_config=True)
    config.load(app, test_config)
    _configure_logging(app)

    from . import db, security, site, templating
    from .extensions import csrf, htmx, limiter, login_manager

    db.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    security.init_app(app)
    templating.init_app(app)

    from .auth import views as auth_views
    from .coordinator import views as coordinator_views
    from .links import views as links_views
    from .members import views as members_views
    from .mentorships import views as mentorships_views
    from .notifications import views as notifications_views
    from .requests import views as requests_views
    from .rounds import views as rounds_views

    login_manager.init_app(app)
    auth_views.init_login(login_manager)
    app.register_blueprint(site.bp)
    app.register_blueprint(auth_views.bp)
    app.register_blueprint(members_views.bp)
    app.register_blueprint(coordinator_views.bp)
    app.register_blueprint(mentorships_views.bp)
    app.register_blueprint(notifications_views.bp)
    app.register_blueprint(links_views.bp)
    app.register_blueprint(rounds_views.bp)
    requests_views.init_app(app)
    site.register_error_handlers(app)

    from . import commands

    commands.init_app(app)

    import jobs

    jobs.init_app(app)
    return app


def _configure_logging(app):
    """The app's INFO lines (mail sent, sweeps) on stderr, each once. Flask gives the app its own handler
    only in a process without one on the root logger; where there is one (``dramatiq jobs`` workers set
    it up, with the process and thread in each line), the lines go through it, and a handler of ours
    would print each of them twice."""
    app.logger.setLevel(logging.INFO)
