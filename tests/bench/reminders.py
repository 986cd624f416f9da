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
import argparse
import datetime as dt
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


def build_program(rng, pairs, meetings_per_pair, requests):
    """Pairs, meetings and requests, written in bulk beside the demo program."""
    from portal.models import ConnectionRequest, Feedback, Meeting, Mentorship, Profile, User, utcnow, new_ics_uid

    now = utcnow().replace(second=0, microsecond=0)
    offering = Profile.offers_mentoring == True  # noqa: E712
    mentors = [uid for (uid,) in Profile.select(Profile.user).where(offering).tuples()]
    members = [uid for (uid,) in User.select(User.id).where(User.role == User.MEMBER).tuples()]
    mentees = [uid for uid in members if uid not in set(mentors)] or members
    pair_rows = []
    for i in range(pairs):
        mentor, mentee = mentors[i % len(mentors)], mentees[(i * 7) % len(mentees)]
        pair_rows.append(dict(mentor=mentor, mentee=mentee, started_at=now - dt.timedelta(days=rng.randint(20, 400))))
    Mentorship.insert_many(pair_rows).execute()
    pair_ids = [pid for (pid,) in Mentorship.select(Mentorship.id).order_by(Mentorship.id.desc()).limit(pairs).tuples()]
    meeting_rows = []
    for pid in pair_ids:
        for _ in range(meetings_per_pair):
            kind = rng.random()
            arranged = now - dt.timedelta(days=30)
            row = dict(mentorship=pid, duration_minutes=rng.choice([30, 45, 60, 90]), format="video",
                       ics_uid=new_ics_uid(), created_at=arranged, updated_at=arranged)
            if kind < 0.80:  # held, logged on the day
                day = (now - dt.timedelta(days=rng.randint(1, 90))).date()
                row.update(status=Meeting.HELD, held_on=day, logged_at=dt.datetime.combine(day, dt.time(18)))
            elif kind < 0.85:  # held and ended a few hours ago, nobody logged it
                row.update(status=Meeting.SCHEDULED, starts_at=now - dt.timedelta(hours=rng.randint(3, 100)))
            elif kind < 0.90:  # tomorrow
                row.update(status=Meeting.SCHEDULED, starts_at=now + dt.timedelta(hours=rng.randint(1, 23)))
            else:  # planned later
                row.update(status=Meeting.SCHEDULED, starts_at=now + dt.timedelta(days=rng.randint(2, 60)))
            meeting_rows.append(row)
    for start in range(0, len(meeting_rows), 500):
        Meeting.insert_many(meeting_rows[start:start + 500]).execute()
    held = Meeting.select(Meeting.id, Mentorship.mentor, Mentorship.mentee).join(Mentorship).where(
        (Meeting.status == Meeting.HELD) & Meeting.mentorship.in_(pair_ids))
    feedback = [dict(meeting=m.id, author=author, rating=4, created_at=now, updated_at=now)
                for m in held for author in (m.mentorship.mentor_id, m.mentorship.mentee_id) if rng.random() < 0.7]
    for start in range(0, len(feedback), 500):
        Feedback.insert_many(feedback[start:start + 500]).execute()
    request_rows = []
    for i in range(requests):
        created = now - dt.timedelta(hours=rng.randint(1, 20 * 24))
        mentee, mentor = mentees[(i * 13) % len(mentees)], mentors[(i * 11) % len(mentors)]
        request_rows.append(dict(requester=mentee, mentor=mentor, mentee=mentee, help_wanted="Help me lead a team.",
                                 success_looks_like="A team that runs itself.", status=ConnectionRequest.PENDING_MENTOR,
                                 created_at=created, expires_at=created + dt.timedelta(days=14)))
    ConnectionRequest.insert_many(request_rows).execute()
    return now


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--pairs", type=int, default=2_000)
    parser.add_argument("--meetings", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=1_000)
    parser.add_argument("--emails", type=int, default=500, help="emails sent in each throughput run")
    parser.add_argument("--redis", default=os.environ.get("PORTAL_TEST_REDIS_URL"))
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    for name in [n for n in os.environ if n.startswith("PORTAL_")]:
        del os.environ[name]  # always the embedded SQLite, never a configured database

    from aiosmtpd.controller import Controller

    sink = Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as folder:
        os.environ["PORTAL_INSTANCE_PATH"] = folder
        import jobs
        from portal import create_app, demo
        from portal.db import database, migrate
        from portal.models import Notification as N
        from peewee import fn

        from portal.notifications.sweep import REQUEUE_AFTER, sweep

        settings = {"DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3", "SECRET_KEY": "bench",
                    "SMTP_URL": f"smtp://127.0.0.1:{smtp.port}", "BASE_URL": "http://portal.test",
                    "REDIS_URL": None}
        app = create_app(settings)
        app.logger.disabled = True
        with app.app_context():
            migrate()
            demo.seed(members=args.members, echo=lambda *_: None)
            with database.connection_context():
                now = build_program(random.Random(2026), args.pairs, args.meetings // args.pairs, args.requests)
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
                f"DATABASE_URL = {settings['DATABASE_URL']!r}\nSECRET_KEY = 'bench'\n"
                f"SMTP_URL = {settings['SMTP_URL']!r}\nBASE_URL = 'http://portal.test'\n")
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
        database.close()
    smtp.stop()


if __name__ == "__main__":
    main()
