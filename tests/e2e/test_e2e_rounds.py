"""Journey 6 (pairing rounds) in a real browser, with JavaScript on and off: a coordinator creates and opens a
round, a mentor and a mentee opt in through the join page, the coordinator closes sign-ups, runs the matcher,
locks the pair and publishes; the mentee finds the pair among their mentorships."""
import datetime as dt
import re

import pytest

from portal.models import Mentorship, Round, User

try:
    from playwright.sync_api import expect
except ImportError:  # the site fixture skips (or fails under CI) with the reason
    expect = None

from test_e2e_journeys import follow, log_in, log_out, submit

pytestmark = pytest.mark.csrf


def opt_in(site, email, round_id, side, topic):
    """A member joins the round as mentor ("offers") or mentee ("seeks") on ``topic``."""
    page = site.page
    log_in(site, email)
    site.goto("/rounds")
    follow(site, re.compile("^Join"))
    expect(page).to_have_url(re.compile(f"/rounds/{round_id}/join$"))
    if side == "offers":
        page.get_by_label("I mentor in this round").check()
        page.get_by_label("How many mentees I take in this round").fill("1")
        page.get_by_role("group", name="Topics I offer as a mentor").get_by_label(topic).check()
    else:
        page.get_by_label("I want to be mentored in this round").check()
        page.get_by_role("group", name="Topics I want to be mentored on").get_by_label(topic).check()
    page.get_by_label("My profile is up to date").check()
    submit(site, "Join the round")
    log_out(site)


def move(site, summary, button):
    """One of the round list's confirmed moves: open its <details>, confirm."""
    site.page.locator("summary", has_text=summary).click()
    submit(site, button)


def test_a_round_from_opening_to_published_pairs(site, make_member, topics, js):
    make_member(name="Cora Coordinator", email="cora@example.org", role=User.COORDINATOR)
    make_member(name="Mona Mentor", email="mona@example.org", offers=[topics["Python"]], job_level="senior")
    make_member(name="Mel Mentee", email="mel@example.org", seeks=[topics["Python"]], job_level="junior")
    page = site.page
    today = dt.date.today()

    # The coordinator creates the round and opens sign-ups.
    log_in(site, "cora@example.org")
    site.goto("/coordinator/rounds")
    follow(site, "New round", role="button")
    page.get_by_label("Name").fill("Spring 2027")
    page.get_by_label("Sign-ups open on").fill(today.isoformat())
    page.get_by_label("Sign-ups close on").fill((today + dt.timedelta(days=7)).isoformat())
    page.get_by_label("Mentorships start on").fill((today + dt.timedelta(days=14)).isoformat())
    page.get_by_label("Planned length of the mentorships, in weeks").fill("12")
    submit(site, "Create the round")
    r = Round.get(Round.name == "Spring 2027")
    move(site, "Open sign-ups", "Yes: open sign-ups")
    assert Round.get_by_id(r.id).status == Round.OPEN
    log_out(site)

    # Two members opt in: one mentor, one mentee.
    opt_in(site, "mona@example.org", r.id, "offers", "Python")
    opt_in(site, "mel@example.org", r.id, "seeks", "Python")

    # The coordinator closes sign-ups, runs the matcher, locks the pair and publishes.
    log_in(site, "cora@example.org")
    site.goto("/coordinator/rounds")
    move(site, "Close sign-ups and start matching", "Yes: close sign-ups and start matching")
    follow(site, "Proposals of Spring 2027")
    expect(page.locator(".notice")).to_have_count(0)
    submit(site, "Run the matcher")
    expect(page.locator(".flashes")).to_contain_text("The matcher proposed 1 pair; 0 mentees left unmatched.")
    row = page.locator("#proposals tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Mona Mentor")
    expect(row).to_contain_text("Mel Mentee")
    expect(row).to_contain_text("1 of your 1 topics: Python")
    expect(page.locator("#fairness")).to_contain_text("Pairs proposed")

    lock = page.get_by_role("button", name="Lock the pair of Mona Mentor and Mel Mentee")
    if js:
        lock.click()  # in place: the row alone is replaced
        expect(row).to_contain_text("Locked: this pair stays when the matcher runs again.")
        site.check()
    else:
        submit(site, "Lock the pair of Mona Mentor and Mel Mentee")
        expect(page.locator(".flashes")).to_contain_text("Locked: this pair stays")
    expect(page.get_by_role("button", name="Unlock the pair of Mona Mentor and Mel Mentee")).to_be_visible()

    page.locator("summary", has_text="Publish 1 pair…").click()
    submit(site, "Publish the round")
    expect(page.locator(".flashes")).to_contain_text("Published: 1 pair starts on")
    expect(page.get_by_role("button", name="Publish the round")).to_have_count(0)
    pair = Mentorship.get(Mentorship.round == r.id)
    log_out(site)

    # The mentee sees the pair.
    log_in(site, "mel@example.org")
    site.goto("/mentorships")
    expect(page.locator("main")).to_contain_text("Mona Mentor")
    expect(page.locator(f"a[href='/mentorships/{pair.id}']").first).to_be_visible()
