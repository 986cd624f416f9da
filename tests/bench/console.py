"""Benchmark of the coordinators' pairs page, admin match search, audit log and CSV exports on a large program.

Run ``.venv/bin/python tests/bench/console.py``. It builds the same temporary SQLite program as
``dashboard.py`` (the demo's 10,000 members, 2,000 pairs with 20,000 meetings, 1,000 open requests),
logs in as the demo coordinator and prints JSON: for each page the median and p95 in milliseconds
and its number of SQL statements; for each export the time to stream it whole, its rows and size.

Not a test: pytest collects only ``test_*.py``.
"""
import json
import random
import time

from benchkit import bench_parser, login, measure, seeded

PAGES = ["/coordinator/pairs", "/coordinator/pairs?status=all&page=20", "/coordinator/pairs?status=all&q=an",
         "/coordinator/pairs?flagged=1", "/coordinator/pairs/new?mentor_q=an&mentee_q=el",
         "/coordinator/audit", "/coordinator/audit?page=10&target=mentorship"]


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
    parser = bench_parser(__doc__, program=True, renders=20, warmup=2)
    parser.add_argument("--audit", type=int, default=50_000, help="audit events added to the log")
    args = parser.parse_args(argv)
    with seeded(args) as (app, _, _):
        from portal.coordinator import exports
        from portal.db import database
        from portal.models import AuditEvent, Mentorship, User

        with app.app_context(), database.connection_context():
            add_audit_events(args.audit, AuditEvent, User)
            rows = {"pairs": Mentorship.select().count(), "audit_events": AuditEvent.select().count()}
        client = login(app)
        pages = {url: measure(client, url, args.renders, args.warmup) for url in PAGES}
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


if __name__ == "__main__":
    main()
