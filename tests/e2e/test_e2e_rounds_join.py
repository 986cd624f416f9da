"""Journey 6 (pairing rounds), its first part in a real browser, with JavaScript on and off: a coordinator
creates a round (a mistake first) and opens it; a member finds it in the navigation, joins it as a mentee
(a mistake first), names a preferred mentor found by a search, and sees her entry."""
import datetime as dt
import re

import pytest

from portal.models import Notification, Round, RoundEntry, RoundPreference, User, utcnow
from portal.rounds import services as rounds

try:
    from playwright.sync_api import expect
except ImportError:  # the site fixture skips (or fails under CI) with the reason
    expect = None

from test_e2e_journeys import follow, log_in, log_out, submit

pytestmark = pytest.mark.csrf


def test_a_coordinator_opens_a_round_and_a_member_joins_it(site, make_member, topics, js):
    make_member(name="Cora Coordinator", email="cora@example.org", role=User.COORDINATOR)
    mel = make_member(name="Mel Mentee", email="mel@example.org", seeks=[topics["Leadership"]])
    mona = make_member(name="Mona Mentor", offers=[topics["Leadership"]])
    page = site.page
    day = utcnow().date()

    log_in(site, "cora@example.org")
    site.goto("/coordinator/rounds")
    submit(site, "New round")
    page.get_by_label("Name").fill("Spring 2027")
    page.get_by_label("Sign-ups open on").fill(day.isoformat())
    page.get_by_label("Sign-ups close on").fill((day + dt.timedelta(days=14)).isoformat())
    page.get_by_label("Mentorships start on").fill((day + dt.timedelta(days=7)).isoformat())
    submit(site, "Create the round")
    expect(page.locator("#starts_on-error")).to_contain_text("start on or after the closing day")
    expect(page.get_by_label("Name")).to_have_value("Spring 2027")
    page.get_by_label("Mentorships start on").fill((day + dt.timedelta(days=21)).isoformat())
    submit(site, "Create the round")
    r = Round.get(Round.name == "Spring 2027")
    expect(page.locator(f"#round-{r.id}")).to_contain_text("Draft")
    page.get_by_text("Open sign-ups of Spring 2027…").click()
    submit(site, "Yes: open sign-ups")
    expect(page.locator(".flashes")).to_contain_text("“Spring 2027” is open")
    expect(page.locator(f"#round-{r.id}")).to_contain_text("Open for sign-ups")
    assert Notification.select().where(Notification.kind == "round_opened").count() == 3
    rounds.join(mona, r, True, 1, [topics["Leadership"].id], False, [], True)
    log_out(site)

    log_in(site, "mel@example.org")
    with page.expect_navigation():
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Pairing round").click()
    site.check()
    follow(site, "Join Spring 2027")
    expect(page.get_by_label("Leadership").nth(1)).to_be_checked()  # sought on her profile
    submit(site, "Join the round")
    expect(page.locator("#confirmed-error")).to_contain_text("Confirm that your profile is up to date")
    page.get_by_label("My profile is up to date").check()
    submit(site, "Join the round")
    expect(page.locator(".flashes")).to_contain_text("You are in “Spring 2027”")
    entry = RoundEntry.get(RoundEntry.user == mel.id)
    assert (entry.as_mentor, entry.as_mentee) == (False, True)

    search = page.get_by_role("search", name="Find a mentor of this round")
    search.get_by_label("Find a mentor of this round by name").fill("mona")
    if js:
        expect(page.locator("#mentor_results")).to_contain_text("Mona Mentor")
        site.check()
    else:
        with page.expect_navigation():
            search.get_by_role("button", name="Search").click()
        site.check()
    submit(site, "Add Mona Mentor to my choices")
    expect(page.locator(".flashes")).to_contain_text("Mona Mentor is now one of your preferred mentors.")
    expect(page.locator("#preferences ol")).to_contain_text("Mona Mentor")
    assert [(p.rank, p.mentor_id) for p in RoundPreference.select()] == [(1, mona.id)]
    site.goto("/rounds")
    expect(page.locator(f"#round-{r.id}")).to_contain_text("Joined as mentee")
    expect(page).to_have_url(re.compile(r"/rounds$"))
