"""Benchmark of the coordinators' pairs page, admin match search, audit log and CSV exports on a large program.

Run ``.venv/bin/python tests/bench/console.py``. It builds the same temporary SQLite program as
``dashboard.py`` (the demo's 10,000 members, 2,000 pairs with 20,000 meetings, 1,000 open requests),
logs in as the demo coordinator and prints JSON: for each page the median and p95 in milliseconds
and its number of SQL statements; for each export the time to stream it whole, its rows and size.

Not a test: pytest collects only ``test_*.py``.
"""
import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def add_audit_events(count, AuditEvent, User):
    """``count`` events over the last year, by members at random, of a few kinds of action."""
    import datetime as dt

    from peewee import chunked

    rng, people = random.Random(7), [uid for (uid,) in User.select(User.id).tuples()]
    start = dt.datetime.utcnow() - dt.timedelta(days=365)
    actions = ["meeting.logged", "feedback.given", "request.sent", "profile.updated", "mentorship.started"]
    rows = [{"actor": rng.choice(people), "action": rng.choice(actions), "target": f"mentorship:{rng.randint(1, 2000)}",
             "detail": "", "created_at": start + dt.timedelta(minutes=rng.randint(0, 525_600))} for _ in range(count)]
    for batch in chunked(rows, 500):
        AuditEvent.insert_many(batch).execute()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--pairs", type=int, default=2_000)
    parser.add_argument("--meetings", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=1_000, help="open requests in the program")
    parser.add_argument("--audit", type=int, default=50_000, help="audit events added to the log")
    parser.add_argument("--renders", type=int, default=20, help="renders of each page measured")
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(Path(__file__).parent))
    for name in [n for n in os.environ if n.startswith("PORTAL_")]:
        del os.environ[name]  # always the embedded SQLite, never a configured database

    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as folder:
        os.environ["PORTAL_INSTANCE_PATH"] = folder
        from dashboard import measure
        from reminders import build_program

        from portal import create_app, demo
        from portal.coordinator import exports
        from portal.db import database, migrate
        from portal.models import AuditEvent, Mentorship, User

        app = create_app({"DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3", "SECRET_KEY": "bench",
                          "MAIL_DIR": f"{folder}/mail", "WTF_CSRF_ENABLED": False, "SWEEP_EVERY": 0})
        app.logger.disabled = True
        with app.app_context():
            migrate()
            demo.seed(members=args.members, echo=lambda *_: None)
            with database.connection_context():
                build_program(random.Random(2026), args.pairs, args.meetings // args.pairs, args.requests)
                add_audit_events(args.audit, AuditEvent, User)
                rows = {"pairs": Mentorship.select().count(), "audit_events": AuditEvent.select().count()}

        client = app.test_client()
        response = client.post("/login", data={"email": demo.COORDINATOR_EMAIL, "password": demo.DEMO_PASSWORD})
        assert response.status_code == 302, "could not log in as the demo coordinator"
        pages = {url: measure(client, url, args.renders, args.warmup) for url in (
            "/coordinator/pairs", "/coordinator/pairs?status=all&page=20", "/coordinator/pairs?status=all&q=an",
            "/coordinator/pairs?flagged=1", "/coordinator/pairs/new?mentor_q=an&mentee_q=el",
            "/coordinator/audit", "/coordinator/audit?page=10&target=mentorship")}
        streamed = {}
        for name in exports.EXPORTS:
            start = time.perf_counter()
            body = client.get(f"/coordinator/export/{name}.csv").get_data()
            streamed[name] = {"ms": round((time.perf_counter() - start) * 1000, 1),
                              "rows": body.count(b"\r\n") - 1, "bytes": len(body)}
        print(json.dumps({
            "database": "sqlite",
            "members": args.members, "pairs": args.pairs, "meetings": args.meetings, "open_requests": args.requests,
            "rows": rows, "renders_per_page": args.renders, "pages": pages, "exports": streamed,
        }, indent=2))
        database.close()


if __name__ == "__main__":
    main()
