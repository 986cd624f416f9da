"""Benchmark of the coordinators' members page and of inviting 2,000 people at once, on 10,000 members.

Run ``.venv/bin/python tests/bench/members.py`` (``make bench`` runs it too). It builds a temporary SQLite
database, seeds the demo program, logs in as its coordinator and prints JSON: for each members page case
the median and p95 in milliseconds of the time spent in the app, and for a pasted list of 2,000 new
addresses (a quarter of them already members) the time of the preview and of the import (one transaction;
the emails are only enqueued). Not a test: pytest collects only ``test_*.py``.
"""
import json
import re
import time

from benchkit import bench_parser, login, measure, seeded

CASES = [
    ("first page", "/coordinator/members"),
    ("page 100", "/coordinator/members?page=100"),
    ("search 'lee'", "/coordinator/members?q=lee"),
    ("active mentors", "/coordinator/members?status=active&mentoring=offers"),
    ("incomplete profiles, page 2", "/coordinator/members?status=incomplete&page=2"),
]


def main(argv=None):
    args = bench_parser(__doc__, requests=100, warmup=3).parse_args(argv)
    with seeded(args) as (app, _, info):
        import jobs
        from portal.db import database
        from portal.models import Invitation, User

        with app.app_context(), database.connection_context():
            known = [email for (email,) in User.select(User.email).limit(500).tuples()]
        client = login(app)
        results = {label: dict(url=url, **measure(client, url, args.requests, args.warmup, digits=2, queries=False))
                   for label, url in CASES}

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
            "seed_seconds": round(info["seed_seconds"], 1),
            "requests_per_case": args.requests,
            "members_page": results,
            "import_2000_rows": {"duplicates": len(known), "invited": invited,
                                 "preview_ms": round(preview_ms, 1), "import_ms": round(import_ms, 1)},
        }, indent=2))


if __name__ == "__main__":
    main()
