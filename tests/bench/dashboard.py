"""Benchmark of the coordinators' health dashboard (/coordinator) on a large program.

Run ``.venv/bin/python tests/bench/dashboard.py`` (``make bench`` runs it). It builds a temporary SQLite
database with the demo program of 10,000 members, adds 2,000 pairs with 20,000 meetings and 1,000 open
requests (``benchkit.build_program``), logs in as the demo coordinator and renders the dashboard
through the test client, then prints JSON: per period the median and p95 in milliseconds of the time
spent in the app, and the number of SQL statements one page runs.

Not a test: pytest collects only ``test_*.py``.
"""
import json

from benchkit import bench_parser, login, measure, seeded

TARGET_MS = 100
PAGES = ["/coordinator", "/coordinator?period=30", "/coordinator?period=365", "/coordinator/at-risk"]


def main(argv=None):
    args = bench_parser(__doc__, program=True, renders=30, warmup=3).parse_args(argv)
    with seeded(args) as (app, _, _):
        from portal.db import database
        from portal.models import Feedback, Mentorship

        with app.app_context(), database.connection_context():
            rows = {"pairs": Mentorship.select().count(), "feedback": Feedback.select().count()}
        client = login(app)
        pages = {url: measure(client, url, args.renders, args.warmup) for url in PAGES}
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


if __name__ == "__main__":
    main()
