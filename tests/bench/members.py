"""Benchmark of the coordinators' members page and of inviting 2,000 people at once, on 10,000 members.

Run ``.venv/bin/python tests/bench/members.py`` (``make bench`` runs it too). It builds a temporary SQLite
database, seeds the demo program, logs in as its coordinator and prints JSON: for each members page case
the median and p95 in milliseconds of the time spent in the app, and for a pasted list of 2,000 new
addresses (a quarter of them already members) the time of the preview and of the import (one transaction;
the emails are only enqueued). Not a test: pytest collects only ``test_*.py``.
"""
import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from browse import measure  # noqa: E402

CASES = [
    ("first page", "/coordinator/members"),
    ("page 100", "/coordinator/members?page=100"),
    ("search 'lee'", "/coordinator/members?q=lee"),
    ("active mentors", "/coordinator/members?status=active&mentoring=offers"),
    ("incomplete profiles, page 2", "/coordinator/members?status=incomplete&page=2"),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    for name in [n for n in os.environ if n.startswith("PORTAL_")]:
        del os.environ[name]  # always the embedded SQLite, never a configured database

    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as folder:
        os.environ["PORTAL_INSTANCE_PATH"] = folder
        import jobs
        from portal import create_app, demo
        from portal.db import database, migrate
        from portal.models import Invitation, User

        app = create_app({"DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3", "SECRET_KEY": "bench",
                          "MAIL_DIR": f"{folder}/mail", "WTF_CSRF_ENABLED": False})
        app.logger.disabled = True
        with app.app_context():
            migrate()
            started = time.perf_counter()
            demo.seed(members=args.members, echo=lambda *_: None)
            seed_seconds = time.perf_counter() - started
            with database.connection_context():
                coordinator = dict(demo.logins())["coordinator"]
                known = [email for (email,) in User.select(User.email).limit(500).tuples()]

        client = app.test_client()
        assert client.post("/login", data={"email": coordinator, "password": demo.DEMO_PASSWORD}).status_code == 302
        results = {label: dict(url=url, **measure(client, url, {}, args.requests, args.warmup)) for label, url in CASES}

        pasted = "\n".join(known + [f"new{n}@example.org" for n in range(2000 - len(known))])
        started = time.perf_counter()
        preview = client.post("/coordinator/members/import", data={"emails": pasted, "role": "member"})
        preview_ms = (time.perf_counter() - started) * 1000
        assert preview.status_code == 200 and b"Invite 1500 people" in preview.data
        expected = re.search(r'name="expected"[^>]*value="([^"]*)"', preview.get_data(as_text=True)).group(1)
        started = time.perf_counter()
        done = client.post("/coordinator/members/import/confirm",
                           data={"source": pasted, "kind": "paste", "role": "member", "expected": expected})
        import_ms = (time.perf_counter() - started) * 1000
        assert done.status_code == 303, done.status_code
        with app.app_context(), database.connection_context():
            invited = Invitation.select().count()
        jobs.drain()
        print(json.dumps({
            "database": "sqlite",
            "members": args.members,
            "seed_seconds": round(seed_seconds, 1),
            "requests_per_case": args.requests,
            "members_page": results,
            "import_2000_rows": {"duplicates": len(known), "invited": invited,
                                 "preview_ms": round(preview_ms, 1), "import_ms": round(import_ms, 1)},
        }, indent=2))
        database.close()


if __name__ == "__main__":
    main()
