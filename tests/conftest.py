"""Fixtures: a fresh app and database per test, a logged-in client, members, mail.

The suite runs on SQLite by default (a migrated template file copied per test)
and on PostgreSQL and Redis when ``PORTAL_TEST_DATABASE_URL`` and
``PORTAL_TEST_REDIS_URL`` are set (``make test-services``): there the schema is
migrated once and the tables are emptied before each test.
"""
import logging
import os
import shutil
from email import message_from_bytes, policy
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import g, request_started

# The suite decides its own settings: nothing from the shell leaks in.
for _name in [n for n in os.environ if n.startswith("PORTAL_") and not n.startswith("PORTAL_TEST_")]:
    del os.environ[_name]

from portal import create_app  # noqa: E402
from portal.auth import services as accounts  # noqa: E402
from portal.db import bind, database, make_database, migrate  # noqa: E402
from portal.extensions import limiter  # noqa: E402
from portal.models import Profile, ProfileLanguage, ProfileTopic, Topic, User  # noqa: E402
from pagekit import PASSWORD  # noqa: E402

PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL")


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing():
    """Argon2 with small costs: still argon2, a hundred times faster to create members with."""
    from argon2 import PasswordHasher

    real = accounts._hasher
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    accounts._DUMMY_HASH = accounts._hasher.hash("not a real password")
    yield
    accounts._hasher = real
REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL")


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    if PG_URL:
        bind(PG_URL)
        with database.connection_context():
            database.execute_sql("DROP SCHEMA public CASCADE")
            database.execute_sql("CREATE SCHEMA public")
        migrate()
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "tandem.sqlite3"
    bind(f"sqlite:///{path}")
    migrate()
    database.close()
    return path


class EmptyTables:
    """Empties every table of the PostgreSQL schema but the migrations' history and restarts its ids, as
    ``TRUNCATE … RESTART IDENTITY CASCADE`` did, in about 1 ms instead of 45: TRUNCATE gives each table
    and index a new file, while DELETE only removes the few rows a test wrote.

    One batch, children first, then ``setval`` on every sequence the tables own; the tables and their
    order come from the catalog once, after the migrations; the connection is its own, kept for the session.
    """

    VACUUM_EVERY = 100  # DELETE leaves dead rows: VACUUM keeps the tables as small as TRUNCATE left them

    def __init__(self, url, history_table):
        from graphlib import TopologicalSorter

        self.db = make_database(url)
        self.db.connect()
        parents = {table: set(refs) for table, refs in self.db.execute_sql("""
            SELECT c.relname, array_remove(array_agg(DISTINCT p.relname), NULL) FROM pg_class c
            LEFT JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'f'
            LEFT JOIN pg_class p ON p.oid = k.confrelid AND p.oid <> c.oid  -- a row may point to its own table
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relname <> %s
            GROUP BY c.relname""", (history_table,))}
        self.tables = list(TopologicalSorter(parents).static_order())[::-1]  # children first
        sequences = self.db.execute_sql("""
            SELECT quote_ident(s.relname), q.seqstart FROM pg_class s JOIN pg_sequence q ON q.seqrelid = s.oid
            JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i') JOIN pg_class t ON t.oid = d.refobjid
            WHERE s.relnamespace = 'public'::regnamespace AND t.relname <> %s""", (history_table,)).fetchall()
        quoted = ", ".join(f'"{table}"' for table in self.tables)
        self.vacuum = f"VACUUM {quoted}"
        restarts = ", ".join(f"setval('{name}', {start}, false)" for name, start in sequences)
        self.sql = "; ".join([f'DELETE FROM "{table}"' for table in self.tables] + [f"SELECT {restarts}"])
        self.runs = 0

    def __call__(self):
        self.db.execute_sql(self.sql)  # several statements in one string: one transaction
        self.runs += 1
        if self.runs % self.VACUUM_EVERY == 0:
            self.db.execute_sql(self.vacuum)


@pytest.fixture(scope="session")
def empty_tables(database_template):
    """PostgreSQL only: the ``EmptyTables`` the ``app`` fixture calls before each test (None on SQLite)."""
    if not PG_URL:
        yield None
        return
    from portal.db import runner

    cleaner = EmptyTables(PG_URL, runner().table_name)
    yield cleaner
    cleaner.db.close()


@pytest.fixture
def app(request, tmp_path, database_template, empty_tables, monkeypatch):
    """A fresh app on an empty, migrated database.

    CSRF checks are off unless the test is marked ``@pytest.mark.csrf``: the
    security tests check that every state change refuses a missing token.
    """
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "instance"))
    if PG_URL:
        url = PG_URL
        empty_tables()
    else:
        path = tmp_path / "tandem.sqlite3"
        shutil.copy(database_template, path)
        url = f"sqlite:///{path}"
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test secret",
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "MAIL_DIR": str(tmp_path / "mail"),
        "BASE_URL": "http://portal.test",
        "WTF_CSRF_ENABLED": request.node.get_closest_marker("csrf") is not None,
    })
    with app.app_context():
        limiter.reset()
    request_started.connect(_fresh_g, app)
    yield app
    import jobs

    jobs.drain()  # nothing a test enqueued runs later, against the next test's app
    if not database.is_closed():
        database.close()


def _fresh_g(sender, **extra):
    """Each request starts with an empty ``g``, as in production.

    A test's requests share the app context that ``db`` pushes, so without this
    the user Flask-Login caches in ``g`` (and the CSRF token, and any flag a
    view sets) would carry over to the next request, even from another client.
    """
    g.__dict__.clear()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def db(app):
    """An open connection for tests that read or write rows directly."""
    with app.app_context():
        database.connect(reuse_if_open=True)
        yield database
        database.close()


class Mailbox:
    """The mail the portal wrote (the embedded default), oldest first."""

    def __init__(self, folder):
        self.folder = Path(folder)

    @property
    def messages(self):
        import jobs

        jobs.drain()  # emails the in-process worker still has to send (invitations) are written first
        if not self.folder.is_dir():
            return []
        return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(self.folder.glob("*.eml"))]

    def to(self, email):
        return [m for m in self.messages if email in m["To"]]

    def last_to(self, email):
        found = self.to(email)
        assert found, f"no mail to {email}; mail written: {[m['To'] for m in self.messages]}"
        return found[-1]

    @staticmethod
    def text(message):
        return message.get_body(preferencelist=("plain",)).get_content()

    def link(self, email, path_part):
        """The first link in the last mail to ``email`` whose path contains ``path_part``, as a local path."""
        import re

        for url in re.findall(r"https?://\S+", self.text(self.last_to(email))):
            if path_part in url:
                return url.replace("http://portal.test", "")
        raise AssertionError(f"no link with {path_part!r} in the mail to {email}")


@pytest.fixture
def mailbox(app):
    return Mailbox(app.config["MAIL_DIR"])


@pytest.fixture
def smtp(app):
    """A real SMTP server (tests/mailkit.py) that the app sends to; the test scripts its answers."""
    from mailkit import serve

    server, controller = serve(app)
    yield server
    controller.stop()


@pytest.fixture
def topics(db):
    names = ["Leadership", "Negotiation", "Python", "Public speaking", "Career change"]
    return {name: Topic.create(name=name) for name in names}


@pytest.fixture
def make_member(db):
    """Create a member with a completed profile; keyword arguments set the fields."""
    counter = {"n": 0}

    def make(name=None, email=None, role=User.MEMBER, password=PASSWORD, time_zone="Europe/Berlin",
             offers=(), seeks=(), languages=("en",), capacity=None, completed=True, active=True, **profile):
        counter["n"] += 1
        n = counter["n"]
        user = accounts.create_user(email or f"member{n}@example.org", name or f"Member {n}", role=role,
                                    password=password, time_zone=time_zone)
        if not active:
            user.active = False
            user.save()
        fields = dict(headline=f"Headline {n}", organization=f"Org {n}", job_title="Engineer", job_level="mid",
                      industry="technology", country="DE", region="europe", meeting_formats="video",
                      offers_mentoring=bool(offers), seeks_mentoring=bool(seeks),
                      capacity=capacity if capacity is not None else (2 if offers else 0),
                      completed=completed, wizard_step=5 if completed else 1)
        fields.update(profile)
        Profile.update(**fields).where(Profile.user == user).execute()
        for kind, items in ((ProfileTopic.OFFERS, offers), (ProfileTopic.SEEKS, seeks)):
            for topic in items:
                ProfileTopic.create(profile=user.id, topic=topic, kind=kind)
        for code in languages:
            ProfileLanguage.create(profile=user.id, code=code)
        return User.get_by_id(user.id)

    return make


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, email, password=PASSWORD, remember=False):
        data = {"email": email, "password": password}
        if remember:
            data["remember"] = "y"
        return self.client.post("/login", data=data)

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def coordinator(make_member):
    return make_member(name="Cora Coordinator", email="cora@example.org", role=User.COORDINATOR)


@pytest.fixture
def as_coordinator(coordinator, auth):
    """The ``client``, logged in as ``coordinator``."""
    assert auth.login(coordinator.email).status_code == 302
    return auth.client


class QueryCounter(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.queries = []

    def emit(self, record):
        self.queries.append(record.getMessage())


@pytest.fixture
def count_queries():
    """Counts the SQL statements peewee runs inside the ``with`` block."""
    from contextlib import contextmanager

    @contextmanager
    def counting():
        logger = logging.getLogger("peewee")
        handler = QueryCounter()
        old_level = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
        try:
            yield handler.queries
        finally:
            logger.removeHandler(handler)
            logger.setLevel(old_level)

    return counting


@pytest.fixture
def cast(make_member, topics):
    """The people of a request story, in three zones: ``cast(capacity=3)`` gives a mentor in Berlin
    (Leadership, Python), a mentee in New York (Leadership), another member in Tokyo (Python), a
    coordinator, and the topics."""
    def make(capacity=2):
        t = topics
        return SimpleNamespace(
            mentor=make_member(name="Mona Mentor", email="mona@example.org", offers=[t["Leadership"], t["Python"]],
                               capacity=capacity, time_zone="Europe/Berlin"),
            mentee=make_member(name="Mel Mentee", email="mel@example.org", seeks=[t["Leadership"]],
                               time_zone="America/New_York"),
            other=make_member(name="Otto Other", email="otto@example.org", seeks=[t["Python"]],
                              time_zone="Asia/Tokyo"),
            coordinator=make_member(name="Cora Coordinator", email="cora@example.org", role=User.COORDINATOR),
            topics=t,
        )
    return make


@pytest.fixture
def embedded(app):
    """Jobs in the embedded default (in-process worker), also under make test-services, where the app
    is given Redis; every delivery enqueued by the test has run when it ends."""
    import jobs

    app.config["REDIS_URL"] = None
    jobs.init_app(app)
    yield
    jobs.drain()
