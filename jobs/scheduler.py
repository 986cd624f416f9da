"""The scheduler: one reminder sweep a minute (DESIGN §6).

In production it is one process of its own, ``python -m jobs.scheduler`` (the Procfile's
``scheduler``), never a thread of the gunicorn workers: APScheduler's BlockingScheduler with one
interval job, at most one run at a time, and missed runs folded into one. We chose it over
periodiq, which routes each tick through the broker (no sweep at all while Redis is down, though
expiring requests and writing reminders need only the database) and is a small one-maintainer
project, and over a cron line, which needs a cron daemon beside the Procfile and starts Python
anew every minute. Any of them would be safe to run twice: the sweep is idempotent, so two
schedulers by mistake cost queries, not duplicate emails.

In the embedded default (no ``PORTAL_REDIS_URL``), ``start_in_process`` runs the same sweep every
``SWEEP_EVERY`` seconds in a thread of the web process, started by its first request, and the
deliveries run in the in-process worker: ``make run`` sends reminders with nothing else running.
"""
import datetime as dt
import threading

from portal.db import database
from portal.notifications import sweep

_thread = {"thread": None, "stop": threading.Event()}
_lock = threading.Lock()


def run_sweep(app):
    """One sweep in ``app``'s context; logs what it did."""
    with app.app_context(), database.connection_context():
        done = sweep.sweep()
    if done.expired or done.reminded or done.enqueued or done.not_enqueued or done.invitations:
        app.logger.info("reminder sweep: %d requests expired, %d reminders written, %d deliveries and %d invitation "
                        "emails enqueued%s", done.expired, done.reminded, len(done.enqueued), done.invitations,
                        f", {done.not_enqueued} left for the next sweep" if done.not_enqueued else "")
    return done


def start_in_process(app):
    """Once per process: a daemon thread that sweeps now, then every ``SWEEP_EVERY`` seconds."""
    if _thread["thread"] is not None:  # every request asks: answer without the lock
        return
    with _lock:
        if _thread["thread"] is not None:
            return
        _thread["stop"].clear()
        _thread["thread"] = threading.Thread(target=_loop, args=(app, app.config["SWEEP_EVERY"], _thread["stop"]),
                                             name="tandem-reminder-sweep", daemon=True)
        _thread["thread"].start()
    app.logger.info("jobs run in this process (no PORTAL_REDIS_URL): a reminder sweep every %s s",
                    app.config["SWEEP_EVERY"])


def stop_in_process():
    """End the sweep thread after its current sweep (tests; the process may also just exit)."""
    with _lock:
        thread, _thread["thread"] = _thread["thread"], None
    if thread is not None:
        _thread["stop"].set()
        thread.join()


def _loop(app, every, stop):
    while not stop.is_set():
        try:
            run_sweep(app)
        except Exception:  # a database hiccup: the next sweep tries again
            app.logger.exception("reminder sweep failed; trying again in %s s", every)
        stop.wait(every)


def main():
    from apscheduler.schedulers.blocking import BlockingScheduler

    from portal import create_app

    app = create_app()
    every = app.config["SWEEP_EVERY"] or 60
    scheduler = BlockingScheduler(timezone=dt.timezone.utc)
    scheduler.add_job(run_sweep, "interval", args=[app], seconds=every, id="sweep",
                      next_run_time=dt.datetime.now(dt.timezone.utc), max_instances=1, coalesce=True,
                      misfire_grace_time=every)
    app.logger.info("scheduler: a reminder sweep every %s s", every)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass


if __name__ == "__main__":
    main()
