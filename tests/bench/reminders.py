"""Benchmark of the reminders: sweep time on a large program, and delivery throughput.

Run ``.venv/bin/python tests/bench/reminders.py`` (``make bench`` runs it). It builds a temporary
SQLite database with the demo program of 10,000 members, adds 2,000 active pairs with 20,000
meetings (held with feedback, due for a log or for feedback, tomorrow, planned) and 1,000 open
requests of every age, then prints JSON:

- the first sweep (expiring requests, writing every reminder due, leasing a batch of emails), a
  sweep with nothing new (the cost the scheduler pays every minute), and one that enqueues a batch
  again after the leases ran out (the messages were lost), in milliseconds;
- delivery throughput to a local SMTP sink (aiosmtpd in this process): with ``--redis URL`` (or
  ``PORTAL_TEST_REDIS_URL``), real ``dramatiq jobs`` workers with one and with two processes;
  without, the embedded default (the in-process worker).

Not a test: pytest collects only ``test_*.py``.
"""
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchkit import ROOT, bench_parser, free_port, seeded


class Sink:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, round((time.perf_counter() - started) * 1000, 1)


def deliveries(app, ids, run):
    """Sends ``ids`` afresh with ``run(ids)`` and returns emails per second."""
    from portal.db import database
    from portal.models import Notification as N

    with app.app_context(), database.connection_context():
        N.update(status=N.PENDING, claimed_until=None, attempts=0, sent_at=None).where(N.id.in_(ids)).execute()
    started = time.perf_counter()
    run(ids)
    with app.app_context(), database.connection_context():
        while N.select().where(N.id.in_(ids) & N.status.in_([N.PENDING, N.SENDING])).exists():
            assert time.perf_counter() - started < 600, "the deliveries did not finish in 10 minutes"
            time.sleep(0.1)
    seconds = time.perf_counter() - started
    return {"emails": len(ids), "seconds": round(seconds, 2), "emails_per_second": round(len(ids) / seconds, 1)}


def main(argv=None):
    parser = bench_parser(__doc__, program=True, emails=500)
    parser.add_argument("--redis", default=os.environ.get("PORTAL_TEST_REDIS_URL"))
    args = parser.parse_args(argv)

    from aiosmtpd.controller import Controller

    sink = Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    with seeded(args, SMTP_URL=f"smtp://127.0.0.1:{smtp.port}", BASE_URL="http://portal.test",
                REDIS_URL=None) as (app, folder, info):
        import jobs
        from peewee import fn

        from portal.db import database
        from portal.models import Notification as N
        from portal.notifications.sweep import REQUEUE_AFTER, sweep

        now = info["now"]
        with app.app_context(), database.connection_context():
            taken = []
            first, first_ms = timed(lambda: sweep(now, enqueue=taken.append))
            while sweep(now, enqueue=taken.append).enqueued:  # the batches after the first
                pass
            idle, idle_ms = timed(lambda: sweep(now + dt.timedelta(minutes=1), enqueue=taken.append))
            assert not idle.enqueued and not idle.reminded
            again, requeue_ms = timed(lambda: sweep(now + REQUEUE_AFTER + dt.timedelta(minutes=1),
                                                    enqueue=lambda _: None))
            by_kind = dict(N.select(N.kind, fn.COUNT(N.id)).group_by(N.kind).order_by(N.kind).tuples())
        ids = taken[:args.emails]

        throughput = {}
        if args.redis:
            (Path(folder) / "config.py").write_text(
                f"DATABASE_URL = {app.config['DATABASE_URL']!r}\nSECRET_KEY = 'bench'\n"
                f"SMTP_URL = {app.config['SMTP_URL']!r}\nBASE_URL = 'http://portal.test'\n")
            app.config["REDIS_URL"] = args.redis
            jobs.init_app(app)
            jobs.broker.current().flush_all()
            env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
            env.update(PORTAL_INSTANCE_PATH=folder, PORTAL_REDIS_URL=args.redis)
            for processes in (1, 2):
                workers = subprocess.Popen([sys.executable, "-m", "dramatiq", "jobs", "--processes", str(processes),
                                            "--threads", "4"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL, start_new_session=True)
                try:
                    time.sleep(3)  # boot
                    throughput[f"redis, {processes} worker process{'es' if processes > 1 else ''} x 4 threads"] = \
                        deliveries(app, ids, lambda batch: [jobs.enqueue_delivery(i) for i in batch])
                finally:
                    os.killpg(workers.pid, 15)
                    workers.wait(timeout=30)
        else:
            def embedded(batch):
                for i in batch:
                    jobs.enqueue_delivery(i)
                jobs.drain()

            throughput["embedded (in-process worker, 2 threads)"] = deliveries(app, ids, embedded)

        print(json.dumps({
            "database": "sqlite",
            "members": args.members, "pairs": args.pairs, "meetings": args.meetings, "requests": args.requests,
            "first_sweep": {"ms": first_ms, "requests_expired": first.expired, "reminders_written": first.reminded,
                            "deliveries_enqueued": len(first.enqueued)},
            "sweep_with_nothing_new_ms": idle_ms,
            "sweep_enqueueing_a_batch_again_ms": {"ms": requeue_ms, "deliveries_enqueued": len(again.enqueued)},
            "notifications_by_kind": by_kind,
            "delivery_throughput": throughput,
            "smtp_sink_received": sink.count,
        }, indent=2))
    smtp.stop()


if __name__ == "__main__":
    main()
