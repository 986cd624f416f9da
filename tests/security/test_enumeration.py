"""No page tells a visitor whether an email address has an account.

Each pair of answers below is compared byte for byte, once the parts that
differ by design are replaced: the CSRF token (one per session) and the address
the visitor typed (shown back to them).
"""
import re

import pytest

from securitykit import NEW_PASSWORD, PASSWORD

pytestmark = pytest.mark.csrf  # as in production: the forms carry tokens

TOKEN = re.compile(r'(name="csrf_token" (?:type="hidden" )?value="|"X-CSRFToken": ")[^"]+')


def token_of(page):
    return TOKEN.search(page).group(0).split('"')[-1]


def answer(client, path, data, typed=(), **kw):
    """Status, and the page with its token and the typed addresses replaced."""
    form = client.get(path)
    assert form.status_code == 200, path
    response = client.post(path, data=dict(data, csrf_token=token_of(form.get_data(as_text=True))), **kw)
    page = TOKEN.sub(r"\1TOKEN", response.get_data(as_text=True))
    for text in typed:
        page = page.replace(text, "TYPED")
    cookies = sorted(c.split("=")[0] for c in response.headers.getlist("Set-Cookie"))
    return response.status_code, response.headers.get("Location"), cookies, page


def test_login_says_the_same_for_an_unknown_address_a_wrong_password_and_a_deactivated_account(app, make_member):
    make_member(email="known@example.org")
    make_member(email="gone@example.org", active=False)
    unknown = answer(app.test_client(), "/login", {"email": "nobody@example.org", "password": "wrong password 1"},
                     ["nobody@example.org"])
    wrong = answer(app.test_client(), "/login", {"email": "known@example.org", "password": "wrong password 1"},
                   ["known@example.org"])
    deactivated = answer(app.test_client(), "/login", {"email": "gone@example.org", "password": PASSWORD},
                         ["gone@example.org"])
    assert unknown[0] == 200 and "do not match an active account" in unknown[3]
    assert unknown == wrong == deactivated


def test_password_reset_says_the_same_for_known_and_unknown_addresses(app, make_member, mailbox):
    make_member(email="known@example.org")
    make_member(email="gone@example.org", active=False)
    known = answer(app.test_client(), "/password/reset", {"email": "known@example.org"}, ["known@example.org"])
    unknown = answer(app.test_client(), "/password/reset", {"email": "nobody@example.org"}, ["nobody@example.org"])
    deactivated = answer(app.test_client(), "/password/reset", {"email": "gone@example.org"}, ["gone@example.org"])
    assert known[0] == 200 and "Check your email" in known[3]
    assert known == unknown == deactivated
    # Only the real, active account got a mail.
    assert [m["To"].addresses[0].addr_spec for m in mailbox.messages] == ["known@example.org"]


def test_registration_says_the_same_for_existing_and_new_addresses(app, make_member, mailbox):
    app.config["ALLOWED_EMAIL_DOMAINS"] = frozenset({"example.org"})
    make_member(email="known@example.org", name="Known Member")
    form = {"name": "Someone", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "time_zone": "UTC"}
    existing = answer(app.test_client(), "/register", dict(form, email="known@example.org"), ["known@example.org"])
    new = answer(app.test_client(), "/register", dict(form, email="new@example.org"), ["new@example.org"])
    assert existing[0] == 200 and "Check your email" in existing[3]
    assert existing == new
    # The owner of the address learns about the attempt; the visitor learns nothing.
    assert mailbox.last_to("known@example.org")["Subject"] == "You already have an account"
    assert mailbox.last_to("new@example.org")["Subject"] == "Confirm your email address"


def test_a_used_invitation_reveals_no_account(app, make_member, mailbox, embedded):  # the worker sends it
    coordinator = make_member(email="coordinator@example.org", name="Cora Coordinator", role="coordinator")
    from portal.auth import services as accounts

    with app.test_request_context():
        accounts.invite(coordinator, "invitee@example.org", "Ivy Invitee")
    link = mailbox.link("invitee@example.org", "/invite/")
    with app.test_request_context():
        accounts.accept_invitation(link.rsplit("/", 1)[1], "Ivy Chosen-Name", PASSWORD)
    for client in (app.test_client(), app.test_client()):
        response = client.get(link)
        page = response.get_data(as_text=True)
        assert response.status_code == 404
        assert "already been used" in page
        for private in ("invitee@example.org", "Ivy", "Chosen-Name", "Cora", "coordinator@example.org"):
            assert private not in page, private
    # A forged link and a used one look alike but for the sentence that says which.
    forged = app.test_client().get("/invite/not-a-token")
    assert forged.status_code == 404
