"""Load test: 50 members browsing at once, against gunicorn with 2 workers on 10,000 members.

Run ``make bench`` (or ``.venv/bin/python tests/bench/load.py``). It builds a
temporary instance folder with a SQLite database, migrates it and seeds the
demo program, starts gunicorn on 127.0.0.1 (production settings: CSRF and
rate limits on), then drives simulated members with Locust (headless, as a
library): each logs in as a distinct demo member, then browses /mentors with
random filters, as a page and as the htmx partial, opens profiles seen on the
page and now and then opens (and sometimes saves, unchanged) its own profile.
It prints JSON: totals, requests per second and, per page, count, failures,
median and p95 latency in ms. Exits non-zero when any request failed.
Not a test: pytest collects only ``test_*.py``.
"""
# Locust monkey-patches the standard library with gevent when imported: first, before the rest.
from locust import HttpUser, between, task  # noqa: I001
from locust.env import Environment
from locust.exception import StopUser

import itertools
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path

import gevent

from benchkit import ROOT, bench_parser, free_port, percentile

HOST = "127.0.0.1"
DEMO_DOMAIN = "demo.tandem.example"      # as portal/demo.py: the Flask app stays out of this process
DEMO_PASSWORD = "mentoring-demo-2026"
SECRET_KEY = "tandem-load-test-not-secret"  # the same for both workers, so either reads any session
WORDS = ["lead", "data", "python", "research", "manager", "career", "engineer", "health", "Ana",
         "Schmidt", "Initech", "public speaking", "zzz"]
SORTS = ["match", "name", "recent"]
HTMX = {"HX-Request": "true", "HX-Target": "results", "HX-Current-URL": "/mentors"}


class FormReader(HTMLParser):
    """The fields of each ``<form method="post">`` as a browser would send them, and every select's options."""

    def __init__(self):
        super().__init__()
        self.forms, self.options = [], defaultdict(list)
        self._in_form = False
        self._select = self._multiple = self._textarea = None
        self._text = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select:
            value = a.get("value", "")
            self.options[self._select].append(value)
            if self._in_form and "selected" in a:
                self.forms[-1].append((self._select, value))
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self._in_form = True
            self.forms.append([])
        elif not self._in_form or not a.get("name") or "disabled" in a:
            return
        elif tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.forms[-1].append((a["name"], a.get("value", "on")))
            elif kind not in ("submit", "button", "image", "file", "reset"):
                self.forms[-1].append((a["name"], a.get("value", "")))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], []

    def handle_data(self, data):
        if self._textarea:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            text = "".join(self._text)
            # A browser drops the newline right after <textarea>.
            self.forms[-1].append((self._textarea, text[2:] if text.startswith("\r\n") else text.removeprefix("\n")))
            self._textarea = None
        elif tag == "form":
            self._in_form = False


def read_form(html):
    reader = FormReader()
    reader.feed(html)
    return reader


def form_with(html, field):
    """The fields of the post form that has ``field`` (the page header has a logout form too)."""
    return next((fields for fields in read_form(html).forms if any(name == field for name, _ in fields)), [])


class Member(HttpUser):
    """A demo member: logs in once, then browses mentors and profiles."""

    wait_time = between(0.5, 2.0)
    numbers = itertools.count(1)  # greenlets switch only on I/O: next() hands out distinct members

    def on_start(self):
        self.number = next(Member.numbers)
        self.email = f"member{self.number:03d}@{DEMO_DOMAIN}"
        self.seen = []
        self.choices = {}
        form = self.client.get("/login", name="/login").text
        token = dict(form_with(form, "email")).get("csrf_token")
        with self.client.post("/login", name="/login", allow_redirects=False, catch_response=True,
                              data={"csrf_token": token, "email": self.email, "password": DEMO_PASSWORD}) as r:
            if r.status_code != 302 or not r.headers.get("Location", "").endswith("/mentors"):
                r.failure(f"login as {self.email}: {r.status_code} to {r.headers.get('Location')!r}")
                logged_in = False
            else:
                logged_in = True
        if not logged_in:
            raise StopUser()  # no point browsing logged out
        self._page("/mentors", "/mentors", {})

    def _page(self, url, name, headers, params=None):
        """GET a page that must answer 200 (a redirect means the session was lost); remember member ids."""
        with self.client.get(url, params=params, name=name, headers=headers, allow_redirects=False,
                             catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code} {r.headers.get('Location') or r.headers.get('HX-Redirect') or ''}")
                return None
            html = r.text
            if headers.get("HX-Request") and "<html" in html:
                r.failure("htmx partial answered a whole page")
                return None
            if name.startswith("/mentors"):
                if " found" not in html and "No mentor matches" not in html:
                    r.failure("no result count on the mentors page")
                    return None
                ids = re.findall(r'href="/members/(\d+)"', html)
                if ids:
                    self.seen = ids
                if not headers.get("HX-Request") and not self.choices:
                    options = read_form(html).options
                    self.choices = {k: [v for v in options.get(k, []) if v]
                                    for k in ("topic", "level", "industry", "region", "language")}
            return html

    def _filters(self):
        params = {}
        for name, chance in (("topic", 0.4), ("level", 0.3), ("industry", 0.15), ("region", 0.3), ("language", 0.2)):
            if self.choices.get(name) and random.random() < chance:
                params[name] = random.choice(self.choices[name])
        if random.random() < 0.25:
            params["q"] = random.choice(WORDS)
        if random.random() < 0.15:
            params["overlap"] = "y"
        if random.random() < 0.1:
            params["show_full"] = "y"
        params["sort"] = random.choice(SORTS)
        if random.random() < 0.3:
            params["page"] = random.randint(2, 6)
        return params

    @task(4)
    def browse(self):
        self._page("/mentors", "/mentors", {}, self._filters())

    @task(4)
    def browse_htmx(self):
        self._page("/mentors", "/mentors (htmx)", HTMX, self._filters())

    @task(3)
    def open_profile(self):
        if self.seen:
            self._page(f"/members/{random.choice(self.seen)}", "/members/[id]", {})

    @task(1)
    def edit_profile(self):
        html = self._page("/profile/edit", "/profile/edit", {})
        if html is None or random.random() >= 0.3:
            return
        # Save the form unchanged, as a member who presses "Save profile" would.
        with self.client.post("/profile/edit", name="/profile/edit (save)", data=form_with(html, "name"),
                              allow_redirects=False, catch_response=True) as r:
            if r.status_code != 302 or "/members/" not in r.headers.get("Location", ""):
                errors = re.findall(r'<small[^>]*class="[^"]*error[^"]*"[^>]*>(.*?)</small>', r.text or "")
                r.failure(f"save: {r.status_code} {r.headers.get('Location', '')} {errors[:3]}")


def run_checked(command, env, timeout):
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode:
        raise SystemExit(f"{' '.join(command[2:])} failed:\n{done.stdout}{done.stderr}")


def wait_healthy(url, server, deadline):
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /healthz in time")


def stop(server):
    if server.poll() is None:
        server.terminate()  # SIGTERM: gunicorn stops its workers gracefully
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)


def load(base_url, users, spawn_rate, seconds):
    """Run the simulated members; returns (Environment, {name: [ms]}, wall seconds)."""
    timings = defaultdict(list)
    env = Environment(user_classes=[Member], host=base_url)

    def record(name, response_time, exception, **_):
        if exception is None:
            timings[name].append(response_time)

    env.events.request.add_listener(record)
    runner = env.create_local_runner()
    started = time.monotonic()
    runner.start(users, spawn_rate=spawn_rate)
    gevent.sleep(seconds)
    runner.quit()
    runner.greenlet.join(timeout=30)
    return env, timings, time.monotonic() - started


def report(env, timings, wall_seconds, args):
    pages = {}
    for name in sorted({entry.name for entry in env.stats.entries.values()}):
        entries = [e for e in env.stats.entries.values() if e.name == name]
        values = timings.get(name) or [0]
        pages[name] = {
            "count": sum(e.num_requests for e in entries),
            "failures": sum(e.num_failures for e in entries),
            "median_ms": round(statistics.median(values), 1),
            "p95_ms": round(percentile(values, 0.95), 1),
        }
    total = env.stats.total
    result = {
        "server": "gunicorn, 2 workers", "database": "sqlite", "members": args.members,
        "users": args.users, "spawn_rate": args.spawn_rate, "seconds": round(wall_seconds, 1),
        "requests": total.num_requests, "failures": total.num_failures,
        "requests_per_second": round(total.num_requests / wall_seconds, 1),
        "pages": pages,
    }
    errors = [{"name": e.name, "method": e.method, "error": str(e.error), "occurrences": e.occurrences}
              for e in env.stats.errors.values()]
    exceptions = [{"message": e["msg"], "count": len(e["nodes"])} for e in env.runner.exceptions.values()]
    if errors:
        result["errors"] = errors
    if exceptions:
        result["exceptions"] = exceptions  # bugs in this script's tasks
    return result, bool(total.num_failures or exceptions)


def main(argv=None):
    parser = bench_parser(__doc__, users=50)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args(argv)
    if args.users > args.members:
        parser.error("--users must not exceed --members: each logs in as a distinct member")

    env = {name: value for name, value in os.environ.items() if not name.startswith("PORTAL_")}
    with tempfile.TemporaryDirectory(prefix="tandem-load-") as folder:
        env.update(PORTAL_INSTANCE_PATH=folder, PORTAL_DATABASE_URL=f"sqlite:///{folder}/load.sqlite3",
                   PORTAL_SECRET_KEY=SECRET_KEY, PORTAL_MAIL_DIR=f"{folder}/mail")
        flask = [sys.executable, "-m", "flask", "--app", "portal"]
        started = time.monotonic()
        run_checked(flask + ["migrate"], env, timeout=120)
        run_checked(flask + ["seed-demo", "--members", str(args.members)], env, timeout=600)
        seed_seconds = time.monotonic() - started

        port = free_port(HOST)
        base_url = f"http://{HOST}:{port}"
        with open(Path(folder) / "gunicorn.log", "w+") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"{HOST}:{port}", "--no-control-socket",
                 "wsgi:app"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_healthy(f"{base_url}/healthz", server, time.monotonic() + 60)
                stats, timings, wall_seconds = load(base_url, args.users, args.spawn_rate, args.seconds)
            finally:
                stop(server)
            result, failed = report(stats, timings, wall_seconds, args)
            result["seed_seconds"] = round(seed_seconds, 1)
            if failed:
                log.seek(0)
                result["gunicorn_log_tail"] = log.read().splitlines()[-20:]
            print(json.dumps(result, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
