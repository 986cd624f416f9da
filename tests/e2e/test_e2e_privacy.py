"""Privacy (issue 7) in a real browser, with JavaScript on and off: a member finds "Your data" on their
profile, asks to delete their account (first with a wrong password), and a coordinator confirms it
through the <details> step of the deletions page."""
import re

import pytest

from portal.models import Mentorship, User
from portal.requests import services as requests

try:
    from playwright.sync_api import expect
except ImportError:  # the site fixture skips (or fails under CI) with the reason
    expect = None

from test_e2e_journeys import follow, log_in, log_out, submit

pytestmark = pytest.mark.csrf
TEXT = "I lead a team of four for the first time and want to do it well."


def test_a_member_asks_to_leave_and_a_coordinator_confirms(site, make_member, topics):
    make_member(name="Cora Coordinator", email="cora@example.org", role=User.COORDINATOR)
    mentor = make_member(name="Pia Partner", email="pia@example.org", offers=[topics["Leadership"]])
    mia = make_member(name="Mia Member", email="mia@example.org", seeks=[topics["Leadership"]])
    req = requests.send_request(mia, mentor, [topics["Leadership"].id], TEXT, TEXT, "video")
    pair = requests.accept(mentor, req).mentorship_id
    page = site.page

    log_in(site, "mia@example.org")
    site.goto("/profile/edit")
    expect(page.get_by_role("link", name="Download my data")).to_have_attribute("href", "/profile/data.json")
    follow(site, "Delete my account")
    page.get_by_label("Your password").fill("not my password at all")
    submit(site, "Ask to delete my account")
    expect(page.get_by_label("Your password")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#password-error")).to_contain_text("That is not your password")
    page.get_by_label("Your password").fill("correct horse battery")
    submit(site, "Ask to delete my account")
    expect(page.get_by_role("status").first).to_contain_text("Your request is recorded")
    log_out(site)

    log_in(site, "cora@example.org")
    site.goto("/coordinator/deletions")
    row = page.locator(f"#deletion-{mia.id}")
    expect(row).to_contain_text("Mia Member")
    confirm = row.get_by_role("button", name="Yes, delete Mia Member’s account")
    expect(confirm).to_be_hidden()  # behind the <details> step, with or without JavaScript
    row.locator("summary").click()
    submit(site, "Yes, delete Mia Member’s account")
    expect(page.get_by_role("status").first).to_contain_text("Mia Member’s account is deleted")
    expect(page.get_by_role("heading", name="No deletion waiting")).to_be_visible()
    assert Mentorship.get_by_id(pair).end_reason == "left_program"
    log_out(site)

    site.goto("/login")
    page.get_by_label("Email").fill("mia@example.org")
    page.get_by_label("Password").fill("correct horse battery")
    submit(site, "Log in")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("alert")).to_contain_text("do not match an active account")
