"""Benchmark of the pairing-round matcher (portal/matching.py) on seeded random cohorts.

Run ``.venv/bin/python tests/bench/matching.py`` (``make bench`` runs it too). For 200×100, 1,000×500 and
3,000×1,500 mentees × mentors (capacity 1–3; topics, levels, places, languages and organizations drawn from
the demo's vocabularies) it prints JSON: the optimiser's time in seconds (median of 3 runs for the two smaller
cohorts, one run for the largest), its total score and matched count, the greedy baseline's, and the ratio of
the two totals. No database. Not a test: pytest collects only ``test_*.py``.
"""
import argparse
import datetime as dt
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from portal import demo, vocab  # noqa: E402
from portal.matching import Candidate, MenteeEntry, MentorEntry, Seeker, greedy, propose  # noqa: E402

CASES = [(200, 100, 3), (1_000, 500, 3), (3_000, 1_500, 1)]  # mentees, mentors, runs
ON = dt.date(2026, 1, 14)  # a Wednesday


def cohort(mentees, mentors, seed=8):
    """Random entries; ids 1..mentees are mentees, the next ``mentors`` ids mentors; some avoid and prefer."""
    rng = random.Random(seed)
    topics = range(1, len(demo.TOPICS) + 1)
    levels = [code for code, _ in vocab.JOB_LEVELS]

    def person():  # English for most, and some of the languages spoken where they live
        _, zone, local = rng.choice(demo.PLACES)
        languages = {"en"} if rng.random() < 0.85 else set()
        languages |= set(rng.sample(local, rng.randint(0, len(local)))) or {"en"}
        return dict(level=rng.choice(levels), organization=rng.choice(demo.ORGANIZATIONS), time_zone=zone,
                    topic_ids=frozenset(rng.sample(topics, rng.randint(1, 4))), languages=frozenset(languages))

    def sometimes(ids):  # one in twenty asks not to be paired with someone
        return frozenset(rng.sample(ids, 1) if rng.random() < 0.05 else ())

    mentor_ids = range(mentees + 1, mentees + mentors + 1)
    mentor_entries = [MentorEntry(id=i, candidate=Candidate(**person()), capacity=rng.randint(1, 3),
                                  avoid=sometimes(range(1, mentees + 1))) for i in mentor_ids]
    mentee_entries = [MenteeEntry(id=i, seeker=Seeker(**person(), on=ON),
                                  preferred=tuple(rng.sample(mentor_ids, rng.choice([0, 0, 1, 2, 3]))),
                                  avoid=sometimes(mentor_ids)) for i in range(1, mentees + 1)]
    return mentee_entries, mentor_entries


def timed(function, *args, runs):
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function(*args)
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args(argv)
    report = []
    for mentees, mentors, runs in CASES:
        entries = cohort(mentees, mentors, args.seed)
        seconds, best = timed(propose, *entries, runs=runs)
        greedy_seconds, base = timed(greedy, *entries, runs=1)
        report.append({
            "mentees": mentees, "mentors": mentors, "places": sum(m.capacity for m in entries[1]),
            "seconds": round(seconds, 3), "runs": runs, "total": round(best.total, 2), "matched": len(best.proposals),
            "greedy": {"seconds": round(greedy_seconds, 3), "total": round(base.total, 2),
                       "matched": len(base.proposals)},
            "ratio_to_greedy": round(best.total / base.total, 4) if base.total else None,
        })
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
