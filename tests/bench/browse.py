"""Benchmark of /mentors and /mentees: server time of the page and of its htmx partial on 10,000 members.

Run ``make bench`` (or ``.venv/bin/python tests/bench/browse.py``). It builds a
temporary SQLite database, migrates it, seeds the demo program, logs in as a
member who seeks mentoring (for /mentors) and as one who mentors (for /mentees),
and prints JSON: per case the median and p95 in milliseconds of the time spent
in the app (around the test client call).
Not a test: pytest collects only ``test_*.py``.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET_P95_MS = 30


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


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


def measure(client, url, headers, requests, warmup):
    for _ in range(warmup):
        assert client.get(url, headers=headers).status_code == 200
    timings = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return {"median_ms": round(statistics.median(timings), 2), "p95_ms": round(percentile(timings, 0.95), 2)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    for name in [n for n in os.environ if n.startswith("PORTAL_")]:
        del os.environ[name]  # always the embedded SQLite, never a configured database

    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as folder:
        os.environ["PORTAL_INSTANCE_PATH"] = folder
        from portal import create_app, demo
        from portal.db import database, migrate
        from portal.models import ProfileTopic, User

        app = create_app({"DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3", "SECRET_KEY": "bench",
                          "MAIL_DIR": f"{folder}/mail", "WTF_CSRF_ENABLED": False})
        app.logger.disabled = True
        with app.app_context():
            migrate()
            started = time.perf_counter()
            demo.seed(members=args.members, echo=lambda *_: None)
            seed_seconds = time.perf_counter() - started
            with database.connection_context():  # no ANALYZE: plans as on a database nobody tuned
                logins = dict(demo.logins())
                scenarios = []
                for who, kind, scenario in (("member who seeks a mentor", ProfileTopic.SEEKS, cases),
                                            ("member who mentors", ProfileTopic.OFFERS, mentee_cases)):
                    member = User.get(User.email == logins[who])
                    topic = ProfileTopic.get((ProfileTopic.profile == member.id) & (ProfileTopic.kind == kind))
                    scenarios.append((member.email, scenario(topic.topic_id)))

        results = {}
        for email, urls in scenarios:
            client = app.test_client()
            response = client.post("/login", data={"email": email, "password": demo.DEMO_PASSWORD})
            assert response.status_code == 302, f"could not log in as the demo member {email}"
            for label, url in urls:
                results[label] = {
                    "url": url,
                    "page": measure(client, url, {}, args.requests, args.warmup),
                    "htmx partial": measure(client, url, {"HX-Request": "true", "HX-Target": "results"},
                                            args.requests, args.warmup),
                }
        worst = max(case[kind]["p95_ms"] for case in results.values() for kind in ("page", "htmx partial"))
        print(json.dumps({
            "database": "sqlite",
            "members": args.members,
            "seed_seconds": round(seed_seconds, 1),
            "requests_per_case": args.requests,
            "cases": results,
            "worst_p95_ms": worst,
            "target_p95_ms": TARGET_P95_MS,
            "meets_target": worst < TARGET_P95_MS,
        }, indent=2))
        database.close()


if __name__ == "__main__":
    main()
