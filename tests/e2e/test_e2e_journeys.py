"""The journeys of DESIGN.md section 2 in a real browser, with JavaScript on and off.

Each test runs twice (``js`` / ``nojs`` in its id). ``site.check()`` runs axe-core
after every navigation; the ``site`` fixture fails a test that skipped one.
"""
import re

import pytest

from portal.models import User

try:
    from playwright.sync_api import expect
except ImportError:  # the site fixture skips (or fails under CI) with the reason
    expect = None

# CSRF on, as in production: the browser sends the tokens the pages carry.
pytestmark = pytest.mark.csrf

PASSWORD = "correct horse battery"  # make_member's default


def log_in(site, email, password=PASSWORD):
    site.goto("/login")
    page = site.page
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    submit(site, "Log in")
    expect(page).not_to_have_url(re.compile(r"/login"))


def log_out(site):
    submit(site, "Log out")
    expect(site.page).to_have_url(re.compile(r"/login$"))


def submit(site, name):
    """Click a submit button, wait for the page it leads to, check it."""
    follow(site, name, role="button")


def follow(site, name, role="link"):
    """Click a link (or a button, with ``role``) by its name, wait for the page it leads to, check it."""
    with site.page.expect_navigation():
        site.page.get_by_role(role, name=name).click()
    site.check()


def test_join_by_invitation(site, make_member, topics, mailbox, js, embedded):
    """Journey 1 (join): a coordinator invites; the invitee follows the mailed link and fills the wizard."""
    coordinator = make_member(name="Cora Ordinator", email="cora@example.org", role=User.COORDINATOR,
                              offers=[topics["Leadership"]])
    make_member(name="Mina Mentor", offers=[topics["Python"]], job_level="senior")
    page = site.page

    log_in(site, coordinator.email)
    site.goto("/coordinator/members")
    page.get_by_label("Email").fill("Newbie@Example.org")
    page.get_by_label("Name (optional)").fill("Nia Newbie")
    page.get_by_label("Role").select_option("member")
    submit(site, "Send invitation")
    expect(page.locator(".flash")).to_contain_text("Invitation sent to newbie@example.org")
    expect(page.get_by_role("table").first).to_contain_text("newbie@example.org")
    log_out(site)

    link = mailbox.link("newbie@example.org", "/invite/")
    assert link.startswith(site.base_url + "/invite/"), link
    site.goto(link)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
    expect(page.get_by_label("Your name")).to_have_value("Nia Newbie")
    password = page.get_by_label("Choose a password")
    expect(password).to_have_accessible_description(re.compile("At least 10 characters"))
    password.fill("a long enough sentence")
    page.get_by_label("Password again").fill("a long enough sentence")
    if js:  # app.js fills the hidden zone from the browser
        expect(page.locator("input[name=time_zone]")).to_have_value(site.time_zone)
    submit(site, "Create my account")
    expect(page).to_have_url(re.compile(r"/profile/wizard/1$"))
    newbie = User.get(User.email == "newbie@example.org")
    assert newbie.time_zone == (site.time_zone if js else "UTC")

    # Step 1: about you
    expect(page.get_by_role("heading", level=2)).to_contain_text("Step 1 of 4")
    page.get_by_label("Headline").fill("Analyst learning to lead")
    page.get_by_label("Organization").fill("Acme Analytics")
    page.get_by_label("Job title").fill("Data analyst")
    page.get_by_label("Job level").select_option("early")
    page.get_by_label("Industry or practice area").select_option("technology")
    page.get_by_label("Country").select_option("JP")
    submit(site, "Save and continue")

    # Step 2: topics offered (this member only seeks, for now)
    expect(page).to_have_url(re.compile(r"/profile/wizard/2$"))
    expect(page.get_by_label("I offer mentoring")).not_to_be_checked()
    submit(site, "Save and continue")

    # Step 3: topics sought
    expect(page).to_have_url(re.compile(r"/profile/wizard/3$"))
    expect(page.get_by_label("I am looking for a mentor")).to_be_checked()
    page.get_by_label("Python").check()
    submit(site, "Save and continue")

    # Step 4: time zone (pre-filled from the browser with JS), languages, formats
    expect(page).to_have_url(re.compile(r"/profile/wizard/4$"))
    zone = page.get_by_label("Time zone")
    if js:
        expect(zone).to_have_value(site.time_zone)
    else:
        expect(zone).to_have_value("UTC")
        zone.select_option("Europe/Lisbon")
    page.get_by_label("English").check()
    page.get_by_label("Video call").check()
    submit(site, "Finish")

    expect(page).to_have_url(re.compile(r"/mentors$"))
    expect(page.locator(".flash")).to_contain_text("Your profile is ready")
    expect(page.locator("#results")).to_contain_text("Mina Mentor")
    newbie = User.get_by_id(newbie.id)
    assert newbie.time_zone == (site.time_zone if js else "Europe/Lisbon")
    assert newbie.profile.completed and newbie.profile.seeks_mentoring
    assert newbie.profile.organization == "Acme Analytics"


def test_log_in_and_out(site, make_member, js):
    """Accounts: log in with the form (a wrong password first), log out, and the pages are closed again."""
    make_member(name="Lou Login", email="lou@example.org", seeks=())
    page = site.page

    site.goto("/mentors")  # not logged in: sent to the login page
    expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)mentors$"))
    page.get_by_label("Email").fill("lou@example.org")
    page.get_by_label("Password").fill("not the password")
    submit(site, "Log in")
    expect(page.get_by_role("alert")).to_contain_text("do not match an active account")
    expect(page.get_by_label("Email")).to_have_value("lou@example.org")

    page.get_by_label("Password").fill(PASSWORD)
    submit(site, "Log in")
    expect(page).to_have_url(re.compile(r"/mentors$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Find a mentor")
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("My profile")

    log_out(site)
    expect(page.locator(".flash")).to_contain_text("logged out")
    site.goto("/mentors")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_browse_filter_and_open_profile(site, make_member, topics, js):
    """Journey 2 (browse): filters update the list and the URL, in place with JS and by a plain GET without.

    Then a card opens the mentor's profile.
    """
    me = make_member(name="Sam Seeker", email="sam@example.org", seeks=[topics["Python"], topics["Leadership"]])
    make_member(name="Ada Lovelace", offers=[topics["Python"]], job_level="senior", headline="Analytical engines")
    make_member(name="Grace Hopper", offers=[topics["Python"], topics["Public speaking"]], job_level="executive")
    make_member(name="Linus Leader", offers=[topics["Leadership"]], job_level="senior")
    make_member(name="Nora Negotiator", offers=[topics["Negotiation"]], job_level="senior")
    page = site.page
    results = page.locator("#results")
    cards = results.locator("article.card h2")
    python_id = str(topics["Python"].id)

    log_in(site, me.email)
    site.goto("/mentors")
    expect(cards).to_have_count(4)
    filter_button = page.get_by_role("button", name="Show mentors")
    if js:
        expect(filter_button).to_be_hidden()  # htmx filters as one types and chooses
        page.evaluate("window.__marker = 1")
    else:
        expect(filter_button).to_be_visible()

    # Filter by topic
    if js:
        with page.expect_response(lambda r: "/mentors?" in r.url) as answer:
            page.get_by_label("Topic", exact=True).select_option(label="Python")
        response = answer.value
        assert response.request.headers.get("hx-request") == "true"
        assert "<html" not in response.text()  # only the results block came back
        expect(page).to_have_url(re.compile(rf"/mentors\?(.*&)?topic={python_id}(&|$)"))
        expect(cards).to_have_count(2)
        # screen readers hear the new count from the status region, not the whole list again
        expect(page.get_by_role("status")).to_have_text("2 mentors found")
        site.check()
    else:
        page.get_by_label("Topic", exact=True).select_option(label="Python")
        submit(site, "Show mentors")
        expect(page).to_have_url(re.compile(rf"/mentors\?(.*&)?topic={python_id}(&|$)"))
        expect(cards).to_have_count(2)
    names = sorted(cards.all_inner_texts())
    assert names == ["Ada Lovelace", "Grace Hopper"]

    # Filter by text, on top of the topic
    search = page.locator("#q")
    if js:
        search.press_sequentially("grace", delay=20)  # keyup, then htmx waits 300 ms
        expect(page).to_have_url(re.compile(r"[?&]q=grace(&|$)"))
        expect(cards).to_have_count(1)
        site.check()
        assert page.evaluate("window.__marker") == 1, "the page was reloaded: the list should change in place"
    else:
        search.fill("grace")
        submit(site, "Show mentors")
        expect(page).to_have_url(re.compile(r"[?&]q=grace(&|$)"))
        expect(cards).to_have_count(1)
    assert f"topic={python_id}" in page.url
    expect(cards.first).to_have_text("Grace Hopper")
    expect(page.get_by_label("Topic", exact=True)).to_have_value(python_id)
    expect(search).to_have_value("grace")

    # The filtered URL is shareable: opened afresh, it shows the same list
    site.goto(site.path())
    expect(cards).to_have_count(1)
    expect(search).to_have_value("grace")

    # Open the profile from the card
    with page.expect_navigation():
        results.get_by_role("link", name="Grace Hopper").click()
    site.check()
    expect(page).to_have_url(re.compile(r"/members/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Grace Hopper")
    expect(page.locator("section[aria-labelledby=offers]")).to_contain_text("Public speaking")
