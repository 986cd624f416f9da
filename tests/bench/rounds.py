"""Benchmark of pairing-round sign-ups on a large program: opening a round, the closing-soon sweep, the pages.

Run ``.venv/bin/python tests/bench/rounds.py``. It builds a temporary SQLite database with the demo program
of 10,000 members, creates a round, opens it (one "round open" notification per member with a completed
profile, written in bulk in the transaction that opens it), signs up a share of the members (``--entries``),
then prints JSON: the time to open the round and how many were told, the first "closes soon" sweep (everyone
not signed up is told) and a second one (nothing new), in milliseconds; and for the coordinators' list of
rounds, the members' list and the join page with a mentor search, the median and p95 in milliseconds and the
number of SQL statements.

Not a test: pytest collects only ``test_*.py``.
"""
import datetime as dt
import json
import time

from benchkit import bench_parser, login, measure, seeded


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, round((time.perf_counter() - started) * 1000, 1)


def main(argv=None):
    parser = bench_parser(__doc__, renders=20, warmup=2, entries=3_000)
    args = parser.parse_args(argv)
    with seeded(args) as (app, _, _):
        from portal import demo
        from portal.db import database
        from portal.models import Notification, ProfileTopic, Round, RoundEntry, RoundEntryTopic, User, utcnow
        from portal.rounds import news, services

        with app.app_context(), database.connection_context():
            coordinator = User.get(User.email == demo.COORDINATOR_EMAIL)
            today = utcnow().date()
            r = services.create_round(coordinator, "Bench round", today, today + dt.timedelta(days=10),
                                      today + dt.timedelta(days=14), 26)
            opened, open_ms = timed(lambda: services.move(coordinator, r, Round.OPEN))
            told = Notification.select().where(Notification.kind == "round_opened").count()
            # Sign-ups in bulk: members as mentees on a topic they seek, every third also as a mentor.
            seekers = list(ProfileTopic.select(ProfileTopic.profile, ProfileTopic.topic)
                           .where(ProfileTopic.kind == ProfileTopic.SEEKS).limit(args.entries * 3).tuples())
            chosen = list(dict(seekers).items())[:args.entries]
            RoundEntry.insert_many([dict(round=r.id, user=uid, as_mentee=True, as_mentor=n % 3 == 0,
                                         capacity=2 if n % 3 == 0 else 0, confirmed_at=utcnow(), created_at=utcnow(),
                                         updated_at=utcnow()) for n, (uid, _) in enumerate(chosen)]).execute()
            entries = dict(RoundEntry.select(RoundEntry.user, RoundEntry.id).tuples())
            RoundEntryTopic.insert_many([dict(entry=entries[uid], topic=topic, kind=ProfileTopic.SEEKS)
                                         for uid, topic in chosen]).execute()
            moment = dt.datetime.combine(r.closes_on - news.CLOSING_BEFORE, dt.time())
            first, first_ms = timed(lambda: news.write_closing(moment))
            again, again_ms = timed(lambda: news.write_closing(moment + dt.timedelta(minutes=1)))
            member = User.get_by_id(chosen[-1][0])
            member_email, round_id = member.email, r.id
        coordinator_client, member_client = login(app), login(app, member_email)
        pages = {url: measure(coordinator_client, url, args.renders, args.warmup) for url in ["/coordinator/rounds"]}
        pages.update({url: measure(member_client, url, args.renders, args.warmup)
                      for url in ["/rounds", f"/rounds/{round_id}/join", f"/rounds/{round_id}/join?mentor_q=an"]})
        print(json.dumps({
            "database": "sqlite", "members": args.members, "entries": len(chosen),
            "open_round": {"ms": open_ms, "members_told": told, "status": opened.status},
            "closing_soon_sweep": {"first_ms": first_ms, "written": first, "again_ms": again_ms, "written_again": again},
            "renders_per_page": args.renders, "pages": pages,
        }, indent=2))


if __name__ == "__main__":
    main()
