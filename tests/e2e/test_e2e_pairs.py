"""Journey 5 (steer) in a real browser, with JavaScript on and off: a coordinator finds a pair on the pairs
page, matches two members directly (over the mentor's capacity, on purpose), ends a pair, and reads the
audit log and the exports page."""
import re

import pytest

from portal.models import AuditEvent, Mentorship, User

try:
    from playwright.sync_api import expect
except ImportError:  # the site fixture skips (or fails under CI) with the reason
    expect = None

from test_e2e_journeys import follow, log_in, submit

pytestmark = pytest.mark.csrf


def test_a_coordinator_matches_ends_and_reads_the_log(site, make_member, topics, js):
    make_member(name="Cora Coordinator", email="cora@example.org", role=User.COORDINATOR)
    mona = make_member(name="Mona Mentor", offers=[topics["Leadership"]], capacity=1)
    otto = make_member(name="Otto Other", seeks=[topics["Leadership"]])
    mel = make_member(name="Mel Mentee", seeks=[topics["Leadership"]])
    first = Mentorship.create(mentor=mona, mentee=otto)
    page = site.page

    log_in(site, "cora@example.org")
    site.goto("/coordinator/pairs")
    expect(page.locator(f"#pair-{first.id}")).to_contain_text("Mona Mentor")
    page.get_by_label("Partner’s name or email").fill("nobody")
    if js:
        expect(page.locator("#pairs")).to_contain_text("No pair matches these filters.")
        site.check()
    else:
        submit(site, "Show")
        expect(page.locator("#pairs")).to_contain_text("No pair matches these filters.")
    expect(page).to_have_url(re.compile(r"/coordinator/pairs\?.*q=nobody"))

    # Admin match: search each side, choose, see the reasons, confirm over capacity.
    follow(site, "Match a pair", role="button")  # a link that looks like a button
    page.get_by_label("Find a mentor by name or email").fill("mona")
    submit(site, "Search")
    follow(site, "Choose Mona Mentor")
    page.get_by_label("Find a mentee by name or email").fill("mel")
    submit(site, "Search")
    follow(site, "Choose Mel Mentee")
    expect(page.get_by_role("heading", name="Mona Mentor mentors Mel Mentee")).to_be_visible()
    expect(page.get_by_role("list", name="Worth checking")).to_contain_text("Mona Mentor is at capacity")
    submit(site, "Match Mona Mentor with Mel Mentee")
    expect(page.locator("#over_capacity-error")).to_contain_text("Tick “Match anyway” to go over it.")
    page.get_by_label(re.compile("Match anyway")).check()
    submit(site, "Match Mona Mentor with Mel Mentee")
    new = Mentorship.get(Mentorship.mentee == mel.id)
    expect(page).to_have_url(re.compile(f"/mentorships/{new.id}$"))
    expect(page.locator(".flashes")).to_contain_text("Mona Mentor now mentors Mel Mentee: both are told.")

    # End the first pair, with a note.
    site.goto("/coordinator/pairs")
    follow(site, "End the pair of Mona Mentor and Otto Other")
    page.get_by_label("No longer able to continue").check()
    submit(site, "End the pair")
    expect(page.get_by_text("Say in a few words why you end this pair")).to_be_visible()
    page.get_by_label("Your note to both partners").fill("Mona steps back for a while.")
    submit(site, "End the pair")
    expect(page.locator(".flashes")).to_contain_text("The pair of Mona Mentor and Otto Other has ended")
    assert Mentorship.get_by_id(first.id).status == Mentorship.ENDED

    # The audit log has both, filtered by action.
    follow(site, "Audit log")
    page.get_by_label("Action").select_option("mentorship.ended")
    submit(site, "Show")
    expect(page.locator("#log tbody tr")).to_have_count(1)
    expect(page.locator("#log")).to_contain_text("Mona steps back for a while.")
    assert AuditEvent.select().where(AuditEvent.action == "mentorship.matched").count() == 1

    follow(site, "Exports")
    expect(page.get_by_role("button", name="Download feedback.csv")).to_be_visible()
