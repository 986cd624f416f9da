"""Every state change refuses a request without a valid CSRF token, htmx included."""
import re

import pytest

pytestmark = pytest.mark.csrf


def token_from(page):
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)


def header_token_from(page):
    return re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)


def test_login_without_a_token_is_refused_in_words(client, make_member):
    make_member(email="me@example.org")
    response = client.post("/login", data={"email": "me@example.org", "password": "correct horse battery"})
    assert response.status_code == 400
    assert "expired or came from elsewhere" in response.get_data(as_text=True)


def test_login_with_the_token_of_the_form_works(client, make_member):
    make_member(email="me@example.org")
    token = token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": "me@example.org", "password": "correct horse battery",
                                           "csrf_token": token})
    assert response.status_code == 302


def login(client):
    token = token_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": "me@example.org", "password": "correct horse battery", "csrf_token": token})


@pytest.mark.parametrize("path", ["/logout", "/profile/edit", "/profile/wizard/1", "/password/change",
                                  "/verify/resend"])
def test_member_state_changes_need_a_token(client, make_member, path):
    make_member(email="me@example.org")
    login(client)
    assert client.post(path, data={"name": "Changed"}).status_code == 400
    # A token from another session is no better than none.
    assert client.post(path, data={"name": "Changed", "csrf_token": "forged.token"}).status_code == 400


def test_htmx_request_without_the_header_is_refused(client, make_member):
    make_member(email="me@example.org")
    login(client)
    response = client.post("/logout", headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert client.get("/profile/edit").status_code == 200  # still logged in


def test_htmx_request_with_the_header_from_the_layout_passes(client, make_member):
    make_member(email="me@example.org")
    login(client)
    page = client.get("/profile/edit").get_data(as_text=True)
    response = client.post("/logout", headers={"HX-Request": "true", "X-CSRFToken": header_token_from(page)})
    assert response.status_code == 302
    assert client.get("/profile/edit").status_code == 302  # logged out


@pytest.mark.parametrize("path", ["/coordinator/members", "/coordinator/topics", "/coordinator/members/1/deactivate",
                                  "/coordinator/members/1/reactivate", "/coordinator/invitations/1/resend",
                                  "/coordinator/topics/1/approve"])
def test_coordinator_state_changes_need_a_token(client, make_member, path):
    make_member(email="me@example.org", role="coordinator")
    login(client)
    assert client.post(path, data={"email": "new@example.org", "name": "x"}).status_code == 400
