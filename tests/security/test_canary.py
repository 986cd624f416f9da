"""Private data stays private: a canary in every private field, looked for everywhere.

A unique string (a canary) is put into each private field that exists. Then
every GET route of the url_map is crawled with real ids (every value
``World.values`` knows for each URL parameter), plus the htmx partials, as each
role; and every mail the portal wrote is read. A canary may turn up only for
the roles, and in the mail of the addresses, that may see it.

Adding a private field (later issues: request prompts, feedback kept for
coordinators, meeting notes, ...): write a function ``plant_…(world)`` that puts a
fresh canary into the field the way the portal stores it, and returns a
``Private`` naming the canary strings, the roles that may see them
(``member`` is the owner of the data, ``coordinator`` any coordinator; the other
member and anonymous visitors never may), the addresses whose mail may carry
them, and the roles that must see it somewhere (so the test knows the canary is
where it thinks). Append the function to ``PLANTERS``. A new GET route is crawled
by itself; if it takes a new URL parameter, give ``World.values`` real values for it.
"""
import itertools
import secrets
from dataclasses import dataclass, field

import pytest

from portal.models import Invitation, ProfileTopic, Topic, User
from portal.requests import services as requests
from securitykit import NEW_PASSWORD, ROLES, RULES, fill


@dataclass
class Private:
    what: str
    values: list
    may_see: set = field(default_factory=set)    # roles: "member" (the owner), "coordinator"
    mail_to: set = field(default_factory=set)    # addresses whose mail may carry it
    shown_to: set = field(default_factory=set)   # roles that must find it somewhere


def canary(kind):
    return f"canary{kind}{secrets.token_hex(6)}"


def plant_email(w):
    email = f"{canary('mail')}@example.org"
    User.update(email=email).where(User.id == w.member.id).execute()
    w.member = User.get_by_id(w.member.id)
    return Private("the member's email address", [email], {"member", "coordinator"}, {email}, {"coordinator"})


def plant_password_hash(w):
    user = User.get_by_id(w.member.id)
    digest = user.password_hash.rsplit("$", 1)[-1]
    salt = user.password_hash.split("$")[-2]
    return Private("the member's password hash", [user.password_hash, digest, salt])


def plant_session_token(w):
    token = canary("session")
    User.update(session_token=token).where(User.id == w.member.id).execute()
    return Private("the member's session token", [token])


def plant_suggested_topic(w):
    name = f"Canary topic {canary('topic')}"
    topic = Topic.create(name=name, approved=False, suggested_by=w.member)
    for kind in (ProfileTopic.OFFERS, ProfileTopic.SEEKS):
        ProfileTopic.create(profile=w.member.id, topic=topic, kind=kind)
    return Private("a topic the member suggested, not yet approved", [name], {"member", "coordinator"},
                   set(), {"member", "coordinator"})


def plant_pending_invitation(w):
    email = f"{canary('invitee')}@example.org"
    invitation, token = w.invite(email, name="Ivy Invited")
    assert Invitation.get_by_id(invitation.id).accepted_at is None
    return Private("a pending invitation's address and token", [email, token], {"coordinator"}, {email},
                   {"coordinator"})


def plant_reset_token(w):
    token = w.fresh_reset_token(User.get_by_id(w.member.id))
    return Private("the member's password reset link", [token], set(), {User.get_by_id(w.member.id).email})


def plant_request_texts(w):
    """The prompts of two requests the member sent to the mentor, the mentor's note declining the
    first and a coordinator's note rejecting the second: theirs, and the coordinators'."""
    token = {name: canary(name.replace("_", "")) for name in ("help_wanted", "success_looks_like", "answer_note",
                                                               "review_note", "help_again", "success_again")}
    requests.withdraw(w.member, w.outgoing)  # one open request per pair: make room for these
    first = requests.send_request(w.member, w.mentor, [w.topic.id], f"I would like help: {token['help_wanted']}",
                                  f"Success would be {token['success_looks_like']}", "video")
    requests.decline(w.mentor, first, f"Sorry: {token['answer_note']}")
    requests.set_requests_need_review(w.coordinator, True)
    second = requests.send_request(w.member, w.mentor, [w.topic.id], f"I would like help: {token['help_again']}",
                                   f"Success would be {token['success_again']}", "video")
    requests.reject(w.coordinator, second, f"Not this way: {token['review_note']}")
    requests.set_requests_need_review(w.coordinator, False)
    return Private("a request's prompts and the notes answering it", list(token.values()), {"member", "coordinator"},
                   {User.get_by_id(w.member.id).email, w.mentor.email, w.coordinator.email}, {"member"})


def plant_request_waiting_for_review(w):
    """The prompts of the member's request while it waits in the coordinators' review queue."""
    from portal.models import ConnectionRequest

    help_wanted, success = f"Help me with {canary('waitinghelp')}", f"Success is {canary('waitingsuccess')}"
    ConnectionRequest.create(requester=w.member, mentee=w.member, mentor=w.mentor, help_wanted=help_wanted,
                             success_looks_like=success, status=ConnectionRequest.PENDING_REVIEW)
    return Private("the prompts of a request waiting for review", [help_wanted, success], {"member", "coordinator"},
                   {User.get_by_id(w.member.id).email, w.mentor.email}, {"member", "coordinator"})


PLANTERS = [plant_email, plant_password_hash, plant_session_token, plant_suggested_topic, plant_pending_invitation,
            plant_reset_token, plant_request_texts, plant_request_waiting_for_review]


def paths(world):
    """Every GET route with every combination of real values for its parameters."""
    for endpoint, rule in sorted(RULES.items()):
        if endpoint == "static" or "GET" not in rule.methods:
            continue
        names = sorted(rule.arguments)
        for combination in itertools.product(*(world.values(name) for name in names)):
            yield fill(rule, dict(zip(names, combination))), {}


def htmx_variants(world):
    """The partials htmx asks for: the result lists of /mentors and /mentees, with each sort and filter."""
    partial = {"HX-Request": "true", "HX-Target": "results"}
    for query in ("", "?sort=name", "?sort=recent", "?show_full=y", f"?topic={world.topic.id}",
                  f"?q={world.member.name.split()[0]}", "?q=Leadership&show_full=y&sort=name"):
        for path in ("/mentors", "/mentees"):
            yield f"{path}{query}", partial
            yield f"{path}{query}", {}


def crawl(world, role):
    """(where, text) of every page the role can reach: bodies and headers."""
    client = world.client(role)
    for path, headers in itertools.chain(paths(world), htmx_variants(world)):
        response = client.get(path, headers=headers)
        text = response.get_data(as_text=True) + "\n" + str(response.headers)
        yield f"{role} GET {path}{' (htmx)' if headers else ''} -> {response.status_code}", text


def trigger_mail_to_others(world):
    """Mail the portal writes to people other than the owner: resets, invitations, registrations."""
    world.app.config["ALLOWED_EMAIL_DOMAINS"] = frozenset({"example.org"})
    client = world.app.test_client()
    client.post("/password/reset", data={"email": world.other.email})
    client.post("/register", data={"name": "Otto Again", "email": world.other.email, "password": NEW_PASSWORD,
                                   "confirm": NEW_PASSWORD})
    client.post("/register", data={"name": "Nora New", "email": "nora@example.org", "password": NEW_PASSWORD,
                                   "confirm": NEW_PASSWORD})
    world.client("coordinator").post("/coordinator/members", data={"email": "newbie@example.org", "name": "Newbie",
                                                                   "role": "member"})
    world.client("coordinator").post(f"/coordinator/invitations/{world.invitation.id}/resend")


def test_private_data_shows_only_to_who_may_see_it(world, mailbox):
    secrets_ = [plant(world) for plant in PLANTERS]
    leaks, found = [], set()
    reached_owner = False
    for role in ROLES:
        for where, text in crawl(world, role):
            reached_owner |= role == "other" and world.member.name in text
            for private in secrets_:
                for value in private.values:
                    if value in text:
                        found.add((private.what, role))
                        if role not in private.may_see:
                            leaks.append(f"{private.what} ({value[:24]}…) shows to {where}")
    assert reached_owner, "the crawl as another member never saw the owner's profile: it proves nothing"

    trigger_mail_to_others(world)
    messages = mailbox.messages
    assert any(m["To"].addresses[0].addr_spec == world.other.email for m in messages)
    for message in messages:
        recipient = message["To"].addresses[0].addr_spec
        text = "\n".join([str(message.items())] + [part.get_content() for part in message.walk()
                                                    if part.get_content_maintype() == "text"])
        for private in secrets_:
            if recipient in private.mail_to:
                continue
            for value in private.values:
                if value in text:
                    leaks.append(f"{private.what} is in the mail {message['Subject']!r} to {recipient}")
    assert not leaks, "\n".join(leaks)
    for private in secrets_:
        for role in private.shown_to:
            assert (private.what, role) in found, f"{private.what} never showed to {role}: is the canary in place?"


def test_a_private_topic_does_not_find_the_member_who_suggested_it(world):
    private = plant_suggested_topic(world)
    word = private.values[0].split()[-1]
    for role in ("other", "coordinator"):
        page = world.client(role).get("/mentors", query_string={"q": word, "show_full": "y"}).get_data(as_text=True)
        assert "0 mentors found" in page and world.member.name not in page, role
    # ...while an approved topic does (the search itself works).
    page = world.client("other").get("/mentors", query_string={"q": "Leadership"}).get_data(as_text=True)
    assert world.member.name in page


@pytest.mark.parametrize("role", ["other", "anonymous"])
def test_the_deactivated_member_is_not_shown(world, role):
    """A deactivated member's profile is gone for members (coordinators still see it)."""
    assert world.deactivated.name not in "".join(text for _, text in crawl(world, role))
    assert world.deactivated.name in world.client("coordinator").get(f"/members/{world.deactivated.id}").get_data(
        as_text=True)
