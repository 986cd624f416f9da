"""Benchmark of the coordinators' health dashboard (/coordinator) on a large program.

Run ``.venv/bin/python tests/bench/dashboard.py`` (``make bench`` runs it). It builds a temporary SQLite
database with the demo program of 10,000 members, adds 2,000 pairs with 20,000 meetings and 1,000 open
requests (the builder of ``reminders.py``), logs in as the demo coordinator and renders the dashboard
through the test client, then prints JSON: per period the median and p95 in milliseconds of the time
spent in the app, and the number of SQL statements one page runs.

Not a test: pytest collects only ``test_*.py``.
"""
import argparse
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET_MS = 100


class Counter(logging.Handler):
    """The statements run by this thread (the test client's request), not by a background one."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.count = 0
        self.thread = threading.get_ident()

    def emit(self, record):
        self.count += record.thread == self.thread


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def measure(client, url, requests, warmup):
    for _ in range(warmup):
        assert client.get(url).status_code == 200
    timings = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    logger, counter = logging.getLogger("peewee"), Counter()
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        client.get(url)
    finally:
        logger.removeHandler(counter)
        logger.setLevel(logging.WARNING)
    return {"median_ms": round(statistics.median(timings), 1), "p95_ms": round(percentile(timings, 0.95), 1),
            "queries": counter.count}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--pairs", type=int, default=2_000)
    parser.add_argument("--meetings", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=1_000, help="open requests in the program")
    parser.add_argument("--renders", type=int, default=30, help="renders of each page measured")
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(Path(__file__).parent))
    for name in [n for n in os.environ if n.startswith("PORTAL_")]:
        del os.environ[name]  # always the embedded SQLite, never a configured database

    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as folder:
        os.environ["PORTAL_INSTANCE_PATH"] = folder
        from reminders import build_program

        from portal import create_app, demo
        from portal.db import database, migrate
        from portal.models import Feedback, Mentorship

        app = create_app({"DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3", "SECRET_KEY": "bench",
                          "MAIL_DIR": f"{folder}/mail", "WTF_CSRF_ENABLED": False,
                          "SWEEP_EVERY": 0})  # no reminder sweep in the background while measuring
        app.logger.disabled = True
        with app.app_context():
            migrate()
            demo.seed(members=args.members, echo=lambda *_: None)
            with database.connection_context():
                build_program(random.Random(2026), args.pairs, args.meetings // args.pairs, args.requests)
                rows = {"pairs": Mentorship.select().count(), "feedback": Feedback.select().count()}

        client = app.test_client()
        response = client.post("/login", data={"email": demo.COORDINATOR_EMAIL, "password": demo.DEMO_PASSWORD})
        assert response.status_code == 302, "could not log in as the demo coordinator"
        pages = {}
        for url in ("/coordinator", "/coordinator?period=30", "/coordinator?period=365", "/coordinator/at-risk"):
            pages[url] = measure(client, url, args.renders, args.warmup)
        # The target is the dashboard's; the whole at-risk list grows with the program and is shown for reference.
        worst = max(page["p95_ms"] for url, page in pages.items() if not url.endswith("/at-risk"))
        print(json.dumps({
            "database": "sqlite",
            "members": args.members, "pairs": args.pairs, "meetings": args.meetings, "open_requests": args.requests,
            "rows": rows,
            "renders_per_page": args.renders,
            "pages": pages,
            "dashboard_worst_p95_ms": worst,
            "target_ms": TARGET_MS,
            "meets_target": worst < TARGET_MS,
        }, indent=2))
        database.close()


if __name__ == "__main__":
    main()
