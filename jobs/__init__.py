"""Background jobs (DESIGN §3): the broker, the delivery actor, and the scheduler.

``dramatiq jobs`` imports this package in each worker process: the broker comes from
``PORTAL_REDIS_URL`` (or ``REDIS_URL`` in instance/config.py), without which the workers refuse to
start, and the actors build the portal app once per process from the same settings. The web app
calls ``init_app``, which sets the broker from the app's own configuration and, in the embedded
default (no Redis), sweeps in a thread of the web process (``jobs.scheduler``).
"""
import sys
import threading

from . import broker

NO_BROKER = ("dramatiq jobs needs a Redis broker: set PORTAL_REDIS_URL (or REDIS_URL in instance/config.py). "
             "Without one, the web process delivers the reminders itself, and a worker would wait on an "
             "in-memory queue that nothing feeds.")

if "dramatiq.cli" in sys.modules and broker.redis_url() is None:
    # Only dramatiq's command line imports its own ``cli`` module: in each worker process it starts, before
    # it imports this package. SystemExit stops that process with the message, and the command with it.
    raise SystemExit(NO_BROKER)

broker.configure(broker.redis_url())

from . import actors  # noqa: E402  (declared on that broker)

_app = {"app": None}
_app_lock = threading.Lock()


def init_app(app):
    from . import scheduler

    _app["app"] = app
    broker.configure(app.config.get("REDIS_URL") or None)
    if broker.is_embedded() and not app.testing and app.config["SWEEP_EVERY"]:
        # The first request starts it, so that commands such as ``migrate`` never sweep.
        @app.before_request
        def start_sweeping():
            scheduler.start_in_process(app)


def portal_app():
    """The app the actors run in: the web app itself in the embedded default; in a worker process,
    one built at the first message."""
    with _app_lock:
        if _app["app"] is None:
            from portal import create_app

            create_app()  # calls init_app, which keeps it
    return _app["app"]


def enqueue_delivery(notification_id):
    """Hand one notification to the workers (the sweep calls this after its transaction)."""
    if broker.is_embedded():
        broker.start_embedded_worker()
    actors.deliver.send(notification_id)


def enqueue_invitation(invitation_id):
    """Hand one invitation's email to the workers (after the transaction that wrote it)."""
    if broker.is_embedded():
        broker.start_embedded_worker()
    actors.send_invitation.send(invitation_id)


def drain():
    """Embedded only: wait until every delivery enqueued in this process has run."""
    broker.drain()
