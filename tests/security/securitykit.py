"""What the security suite shares: the routes of the app, how to read an answer, and a cast.

``world`` gives, on a fresh database, a coordinator, a member (the owner of
whatever the tests name by id), another member, a deactivated member, topics,
a pending and a used invitation, tokens taken from real mails, and the member's mentorships
(an active one as mentor, with a milestone and a held and a scheduled meeting, and an ended one
as mentee). ``world.client(role)``
is a test client logged in as that role (``anonymous`` is not logged in).

The url_map of the app is read once at collection time, so that tests can be
parametrized with every route: a route added to the portal shows up here by itself.
"""
import datetime as dt
import itertools
import re
from urllib.parse import parse_qs, urlsplit

from portal import create_app
from portal.auth import services as accounts
from portal.mentorships import services as mentorships
from portal.mentorships import times
from portal.models import Mentorship, ProfileTopic, Topic, User, utcnow
from portal.requests import services as requests

PASSWORD = "correct horse battery"  # the password tests/conftest.py gives every member
NEW_PASSWORD = "a brand new sentence to log in with"
ROLES = ("anonymous", "member", "other", "coordinator")
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
MISSING_ID = 999_999
REQUEST_TEXT = "Some words that are long enough for a request prompt."


def _collection_app():
    # Nothing is connected or written: the app is only asked for its routes.
    return create_app({"TESTING": True, "SECRET_KEY": "collection only", "DATABASE_URL": "sqlite:///:memory:"})


def route_keys(app):
    """Every (endpoint, method) the app answers, but static files and HEAD/OPTIONS."""
    keys = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            keys.add((rule.endpoint, method))
    return keys


def rules_by_endpoint(app):
    return {rule.endpoint: rule for rule in app.url_map.iter_rules()}


COLLECTION_APP = _collection_app()
ROUTE_KEYS = route_keys(COLLECTION_APP)
RULES = rules_by_endpoint(COLLECTION_APP)


# --- answers ---------------------------------------------------------------------

OK, LOGIN = "ok", "login"


def outcome(response):
    """"ok" (2xx, or a redirect that is not the login page's), "login", or the status code."""
    if 200 <= response.status_code < 300:
        return OK
    if response.status_code in (301, 302, 303, 307, 308):
        location = urlsplit(response.headers["Location"])
        assert not location.netloc or location.netloc == "portal.test", \
            f"redirect off the portal: {response.headers['Location']}"
        if location.path == "/login" and "next" in parse_qs(location.query):
            return LOGIN
        return OK
    return response.status_code


def header_problems(response, https=False):
    """What the response's security headers lack (an empty list when all is well)."""
    problems = []
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    if "script-src" not in directives or directives["script-src"] != ["'self'"]:
        problems.append(f"CSP script-src must be exactly 'self': {csp!r}")
    if "unsafe-inline" in csp or "unsafe-eval" in csp:
        problems.append(f"CSP allows unsafe-inline or unsafe-eval: {csp!r}")
    if directives.get("default-src") != ["'self'"]:
        problems.append(f"CSP default-src must be 'self': {csp!r}")
    if directives.get("object-src") != ["'none'"]:
        problems.append(f"CSP object-src must be 'none': {csp!r}")
    if directives.get("frame-ancestors") != ["'none'"]:
        problems.append(f"CSP frame-ancestors must be 'none': {csp!r}")
    if headers.get("X-Frame-Options") != "DENY":
        problems.append(f"X-Frame-Options: {headers.get('X-Frame-Options')!r}")
    if headers.get("X-Content-Type-Options") != "nosniff":
        problems.append(f"X-Content-Type-Options: {headers.get('X-Content-Type-Options')!r}")
    if headers.get("Referrer-Policy") not in ("same-origin", "no-referrer", "strict-origin-when-cross-origin",
                                              "strict-origin"):
        problems.append(f"Referrer-Policy: {headers.get('Referrer-Policy')!r}")
    if response.mimetype == "text/html" and "no-store" not in headers.get("Cache-Control", ""):
        problems.append(f"an HTML page without Cache-Control: no-store: {headers.get('Cache-Control')!r}")
    for cookie in headers.getlist("Set-Cookie"):
        flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        if "httponly" not in flags or "samesite" not in flags:
            problems.append(f"cookie without HttpOnly or SameSite: {cookie}")
        if https and "secure" not in flags:
            problems.append(f"cookie without Secure over HTTPS: {cookie}")
    return problems


# --- the cast --------------------------------------------------------------------

class World:
    def __init__(self, app, make_member, mailbox):
        self.app = app
        self.mailbox = mailbox
        self._n = itertools.count(1)
        self._clients = {}
        self.topic = Topic.create(name="Leadership")
        self.coordinator = make_member(name="Cora Coordinator", email="coordinator@example.org", role=User.COORDINATOR,
                                       seeks=[self.topic])
        self.member = make_member(name="Mia Member", email="member@example.org", offers=[self.topic],
                                  seeks=[self.topic])
        self.other = make_member(name="Otto Other", email="other@example.org", seeks=[self.topic])
        self.deactivated = make_member(name="Dee Deactivated", email="gone@example.org", offers=[self.topic],
                                       active=False)
        self.resetter = make_member(name="Rita Reset", email="reset@example.org")
        self.unverified = make_member(name="Una Unverified", email="unverified@example.org")
        User.update(verified=False).where(User.id == self.unverified.id).execute()
        self.suggestion = Topic.create(name="Underwater basket weaving", approved=False, suggested_by=self.member)
        ProfileTopic.create(profile=self.member.id, topic=self.suggestion, kind=ProfileTopic.OFFERS)
        # A request the member was sent (the member answers it) and one the member sent (and may withdraw).
        self.mentor = make_member(name="Max Mentor", email="mentor@example.org", offers=[self.topic])
        self.incoming = requests.send_request(self.other, self.member, [self.topic.id], REQUEST_TEXT,
                                              REQUEST_TEXT, "video")
        self.outgoing = requests.send_request(self.member, self.mentor, [self.topic.id], REQUEST_TEXT,
                                              REQUEST_TEXT, "video")
        # The member mentors Pia (an active pair with a milestone), and was mentored by Fay (an ended pair).
        self.partner = make_member(name="Pia Partner", email="partner@example.org", seeks=[self.topic])
        self.pair = self.start_pair(self.member, self.partner)
        self.milestone = mentorships.add_milestone(self.member, self.pair, "Run a retrospective")
        # Its meetings: one held (logged by the member today), one scheduled a week ahead.
        day = times.today(self.member.time_zone, utcnow())
        self.held = mentorships.log_meeting(self.member, self.pair, day, 60, [self.topic.id], "We talked.")
        self.scheduled = mentorships.schedule_meeting(self.member, self.pair, day + dt.timedelta(days=7),
                                                      dt.time(10, 0), 60, "video", "https://meet.example.org/a")
        self.former = make_member(name="Fay Former", email="former@example.org", offers=[self.topic])
        self.ended_pair = self.start_pair(self.former, self.member)
        mentorships.end_mentorship(self.former, self.ended_pair, "goals_met")
        self.invitation, self.invite_token = self.invite()
        self.accepted_invitation, self.used_invite_token = self.invite()
        with app.test_request_context():
            accounts.accept_invitation(self.used_invite_token, "Uma Used", PASSWORD)
        self.reset_token = self.fresh_reset_token()
        self.verify_token = self.fresh_verify_token()

    # values for URLs and forms
    def fresh_email(self, domain="example.org"):
        return f"new{next(self._n)}@{domain}"

    def invite(self, email=None, name="Ivy Invitee"):
        """A real invitation; returns it and the token of the link in its mail."""
        email = email or self.fresh_email()
        with self.app.test_request_context():
            invitation = accounts.invite(self.coordinator, email, name)
        return invitation, self.token_in_mail(email, "/invite/")

    def fresh_reset_token(self, user=None):
        user = user or self.resetter
        with self.app.test_request_context():
            accounts.request_password_reset(user.email)
        return self.token_in_mail(user.email, "/password/reset/")

    def fresh_verify_token(self, user=None):
        user = User.get_by_id((user or self.unverified).id)
        with self.app.test_request_context():
            accounts.send_verification(user)
        return self.token_in_mail(user.email, "/verify/")

    def start_pair(self, mentor, mentee):
        req = requests.send_request(mentee, mentor, [self.topic.id], REQUEST_TEXT, REQUEST_TEXT, "video")
        return Mentorship.get_by_id(requests.accept(mentor, req).mentorship_id)

    def token_in_mail(self, email, prefix):
        return self.mailbox.link(email, prefix).split(prefix, 1)[1]

    def values(self, param):
        """Real values for a URL parameter, for crawling every route that takes it."""
        known = {
            "member_id": [self.member.id, self.other.id, self.coordinator.id, self.deactivated.id, MISSING_ID],
            "invitation_id": [self.invitation.id, self.accepted_invitation.id, MISSING_ID],
            "topic_id": [self.topic.id, self.suggestion.id, MISSING_ID],
            "request_id": [self.incoming.id, self.outgoing.id, MISSING_ID],
            "mentorship_id": [self.pair.id, self.ended_pair.id, MISSING_ID],
            "milestone_id": [self.milestone.id, MISSING_ID],
            "meeting_id": [self.held.id, self.scheduled.id, MISSING_ID],
            "round_id": self.round_ids(),
            "step": [1, 2, 3, 4, 9],
            "name": ["members", "requests", "pairs", "meetings", "feedback", "secrets"],  # the CSV exports
            "token": [self.invite_token, self.used_invite_token, self.reset_token, self.verify_token, "not-a-token"],
        }
        if param not in known:
            raise AssertionError(f"the security suite has no values for the URL parameter {param!r}: "
                                 "add real ones to World.values in tests/security/conftest.py")
        return known[param]

    def round_ids(self):
        """Pairing rounds, made once: one open for sign-ups (the member joined it, preferring the mentor and
        never to be paired with the other member), a draft, one in matching, and none."""
        if not hasattr(self, "_round_ids"):
            from portal.models import Round
            from portal.rounds import services as rounds

            day = utcnow().date()
            made = [Round.create(name=f"Round {status}", opens_on=day, closes_on=day, starts_on=day, length_weeks=8,
                                 status=status) for status in (Round.OPEN, Round.DRAFT, Round.MATCHING)]
            rounds.join(self.mentor, made[0], True, 1, [self.topic.id], False, [], True)
            rounds.join(self.member, made[0], False, 0, [], True, [self.topic.id], True)
            rounds.add_preference(self.member, made[0], self.mentor.id)
            rounds.add_exclusion(self.member, made[0], self.other.id)
            self._round_ids = [r.id for r in made] + [MISSING_ID]
        return self._round_ids

    # clients
    def user(self, role):
        return {"member": self.member, "other": self.other, "coordinator": self.coordinator}[role]

    def client(self, role):
        if role not in self._clients:
            client = self.app.test_client()
            if role != "anonymous":
                response = client.post("/login", data={"email": self.user(role).email, "password": PASSWORD})
                assert response.status_code == 302, f"{role} could not log in"
            self._clients[role] = client
        return self._clients[role]


def fill(rule, values):
    """The path of ``rule`` with ``values`` for its parameters."""
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(r"<(?:[^:<>]+:)?" + re.escape(name) + r">", str(values[name]), path)
    return path


def any_values(rule):
    """Values of the right type for every parameter of ``rule``, for checks made before the view runs."""
    samples = {"int": 1, "float": 1.0, "uuid": "00000000-0000-0000-0000-000000000001"}
    converters = dict((name, conv) for conv, name in re.findall(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", rule.rule))
    return {name: samples.get(converters.get(name) or "", "x") for name in rule.arguments}
