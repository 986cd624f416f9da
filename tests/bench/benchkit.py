"""What the benchmarks of this folder share: their flags, a seeded app on a throwaway SQLite database, page timing.

Not a test: pytest collects only ``test_*.py``.
"""
import argparse
import datetime as dt
import logging
import os
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # portal and jobs, whichever folder the script runs from

HELP = {"requests": "requests of each case measured", "renders": "renders of each page measured",
        "emails": "emails sent in each throughput run"}


def bench_parser(doc, program=False, **counts):
    """Flags described by ``doc``: --members; with ``program`` --pairs, --meetings and --requests (open
    requests) for ``seeded``; then an integer flag per ``counts`` item, its default the value."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    if program:
        parser.add_argument("--pairs", type=int, default=2_000)
        parser.add_argument("--meetings", type=int, default=20_000)
        parser.add_argument("--requests", type=int, default=1_000, help="open requests in the program")
    for name, default in counts.items():
        parser.add_argument(f"--{name}", type=int, default=default, help=HELP.get(name))
    return parser


@contextmanager
def embedded_app(**config):
    """Yields (app, folder): the app on a migrated SQLite database in a temporary instance folder, CSRF and the
    background reminder sweep off, ``config`` on top. Every PORTAL_* variable goes: never a configured database."""
    for name in [n for n in os.environ if n.startswith("PORTAL_")]:
        del os.environ[name]
    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as folder:
        os.environ["PORTAL_INSTANCE_PATH"] = folder
        from portal import create_app
        from portal.db import database, migrate

        app = create_app({"DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3", "SECRET_KEY": "bench",
                          "MAIL_DIR": f"{folder}/mail", "WTF_CSRF_ENABLED": False, "SWEEP_EVERY": 0, **config})
        app.logger.disabled = True
        with app.app_context():
            migrate()
        try:
            yield app, folder
        finally:
            database.close()


@contextmanager
def seeded(args, **config):
    """``embedded_app`` with the demo program of ``args.members``, and when ``args`` has pairs, ``build_program``'s
    pairs, meetings and open requests. Yields (app, folder, info); info has seed_seconds and build_program's now."""
    from portal import demo
    from portal.db import database

    with embedded_app(**config) as (app, folder):
        with app.app_context():  # not around the requests: each must get its own app context
            started = time.perf_counter()
            demo.seed(members=args.members, echo=lambda *_: None)
            info = {"seed_seconds": time.perf_counter() - started, "now": None}
            if hasattr(args, "pairs"):
                with database.connection_context():
                    info["now"] = build_program(random.Random(2026), args.pairs, args.meetings // args.pairs,
                                                args.requests)
        yield app, folder, info


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


def login(app, email=None):
    """A test client logged in as ``email``, by default the demo coordinator."""
    from portal import demo

    client, email = app.test_client(), email or demo.COORDINATOR_EMAIL
    response = client.post("/login", data={"email": email, "password": demo.DEMO_PASSWORD})
    assert response.status_code == 302, f"could not log in as the demo member {email}"
    return client


def percentile(values, fraction):
    """The value below which ``fraction`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


class _Counter(logging.Handler):
    """The statements run by this thread (the test client's request), not by a background one."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.count = 0
        self.thread = threading.get_ident()

    def emit(self, record):
        self.count += record.thread == self.thread


def measure(client, url, renders, warmup, headers=None, digits=1, queries=True):
    """Median and p95 in ms (rounded to ``digits``) of ``renders`` GETs of ``url`` after ``warmup`` unmeasured
    ones, each answering 200; with ``queries``, the SQL statements of one more."""
    for _ in range(warmup):
        assert client.get(url, headers=headers).status_code == 200
    timings = []
    for _ in range(renders):
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    result = {"median_ms": round(statistics.median(timings), digits),
              "p95_ms": round(percentile(timings, 0.95), digits)}
    if queries:
        logger, counter = logging.getLogger("peewee"), _Counter()
        logger.setLevel(logging.DEBUG)
        logger.addHandler(counter)
        try:
            client.get(url, headers=headers)
        finally:
            logger.removeHandler(counter)
            logger.setLevel(logging.WARNING)
        result["queries"] = counter.count
    return result


def free_port(host="127.0.0.1"):
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
