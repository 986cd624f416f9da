"""Benchmark of /mentors and /mentees: server time of the page and of its htmx partial on 10,000 members.

Run ``make bench`` (or ``.venv/bin/python tests/bench/browse.py``). It builds a
temporary SQLite database, migrates it, seeds the demo program, logs in as a
member who seeks mentoring (for /mentors) and as one who mentors (for /mentees),
and prints JSON: per case the median and p95 in milliseconds of the time spent
in the app (around the test client call).
Not a test: pytest collects only ``test_*.py``.
"""
import json

from benchkit import bench_parser, login, measure, seeded

TARGET_P95_MS = 30
HTMX = {"HX-Request": "true", "HX-Target": "results"}


def cases(topic_id):
    return [
        ("best match (default)", "/mentors"),
        ("topic", f"/mentors?topic={topic_id}"),
        ("senior in Europe", "/mentors?level=senior&region=europe"),
        ("search 'lead'", "/mentors?q=lead"),
        ("overlaps my hours", "/mentors?overlap=y"),
        ("by name, page 3", "/mentors?sort=name&page=3"),
    ]


def mentee_cases(topic_id):
    return [
        ("mentees: best match (default)", "/mentees"),
        ("mentees: topic", f"/mentees?topic={topic_id}"),
        ("mentees: search 'lead'", "/mentees?q=lead"),
        ("mentees: by name, page 3", "/mentees?sort=name&page=3"),
    ]


def main(argv=None):
    args = bench_parser(__doc__, requests=200, warmup=5).parse_args(argv)
    with seeded(args) as (app, _, info):
        from portal import demo
        from portal.db import database
        from portal.models import ProfileTopic, User

        with app.app_context(), database.connection_context():  # no ANALYZE: plans as on a database nobody tuned
            logins = dict(demo.logins())
            scenarios = []
            for who, kind, scenario in (("member who seeks a mentor", ProfileTopic.SEEKS, cases),
                                        ("member who mentors", ProfileTopic.OFFERS, mentee_cases)):
                member = User.get(User.email == logins[who])
                topic = ProfileTopic.get((ProfileTopic.profile == member.id) & (ProfileTopic.kind == kind))
                scenarios.append((member.email, scenario(topic.topic_id)))

        results = {}
        for email, urls in scenarios:
            client = login(app, email)
            for label, url in urls:
                results[label] = {"url": url}
                for kind, headers in (("page", None), ("htmx partial", HTMX)):
                    results[label][kind] = measure(client, url, args.requests, args.warmup, headers,
                                                   digits=2, queries=False)
        worst = max(case[kind]["p95_ms"] for case in results.values() for kind in ("page", "htmx partial"))
        print(json.dumps({
            "database": "sqlite",
            "members": args.members,
            "seed_seconds": round(info["seed_seconds"], 1),
            "requests_per_case": args.requests,
            "cases": results,
            "worst_p95_ms": worst,
            "target_p95_ms": TARGET_P95_MS,
            "meets_target": worst < TARGET_P95_MS,
        }, indent=2))


if __name__ == "__main__":
    main()
