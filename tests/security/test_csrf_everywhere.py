"""Every state-changing route of the url_map refuses a request without a valid CSRF token.

The routes come from the url_map (every rule that takes POST, PUT, PATCH or
DELETE), so a route added later is checked without anyone listing it. The
requests come from a logged-in coordinator, who may do everything: the refusal
is the token's doing, not a 403. A request with the token the page gave passes
the check (so the refusals are not a broken form).
"""
import re

import pytest

from securitykit import PASSWORD, RULES, any_values, fill

pytestmark = pytest.mark.csrf

REFUSED = "This form had expired or came from elsewhere."

# State changes that cannot carry our form token, each with what protects it instead; the test below
# checks that protection in place of the token.
EXEMPT = {
    # RFC 8058 one-click unsubscribe: a mail client POSTs to the List-Unsubscribe URL with no cookie and
    # no token of ours. The URL's token, signed with the secret key, names the member and the kind: a
    # forged or altered one is refused (404), and a real one can only turn one kind of email off.
    ("links.unsubscribe", "POST"): 404,
}


def page_token(page):
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)


def log_in_coordinator(client, make_member):
    make_member(email="coordinator@example.org", role="coordinator")
    token = page_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": "coordinator@example.org", "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302
    page = client.get("/coordinator/members").get_data(as_text=True)
    return re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)


def test_a_state_change_without_a_valid_token_is_refused(unsafe_route, client, make_member):
    endpoint, method = unsafe_route
    token = log_in_coordinator(client, make_member)
    rule = RULES[endpoint]
    # The token is checked before the view runs: any value of the right type will do.
    path = fill(rule, any_values(rule))
    data = {"email": "coordinator@example.org", "password": PASSWORD, "name": "Changed"}
    if unsafe_route in EXEMPT:
        for headers in ({}, {"HX-Request": "true"}):
            response = client.open(path, method=method, data=data, headers=headers)
            assert response.status_code == EXEMPT[unsafe_route], f"{method} {path} answered {response.status_code}"
        return
    attempts = {
        "plain form, no token": client.open(path, method=method, data=data),
        "plain form, a forged token": client.open(path, method=method, data=dict(data, csrf_token="forged.token")),
        "htmx, no X-CSRFToken": client.open(path, method=method, data=data, headers={"HX-Request": "true"}),
        "htmx, a forged X-CSRFToken": client.open(path, method=method, data=data,
                                                  headers={"HX-Request": "true", "X-CSRFToken": "forged.token"}),
    }
    for what, response in attempts.items():
        assert response.status_code == 400, f"{method} {path} ({what}) answered {response.status_code}"
        assert REFUSED in response.get_data(as_text=True), what
    # Nothing happened: still logged in.
    assert client.get("/coordinator/members").status_code == 200
    # The same request with the page's token passes the check.
    passed = client.open(path, method=method, data=data, headers={"HX-Request": "true", "X-CSRFToken": token})
    assert passed.status_code != 400 or REFUSED not in passed.get_data(as_text=True)


def test_state_changes_are_found_in_the_url_map():
    """The parametrization above is not empty, and knows today's state changes."""
    from securitykit import ROUTE_KEYS, UNSAFE_METHODS

    unsafe = {key for key in ROUTE_KEYS if key[1] in UNSAFE_METHODS}
    assert {("auth.logout", "POST"), ("members.edit_profile", "POST"), ("coordinator.deactivate", "POST")} <= unsafe
