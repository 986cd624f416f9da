"""Journey 5 (moderate) in a real browser, with JavaScript on and off: a coordinator works the review
queue, declining one request (first without the note it needs) and approving the others at once."""
import re

import pytest

from portal.models import ConnectionRequest, ProgramSetting, User
from portal.requests import services as requests

try:
    from playwright.sync_api import expect
except ImportError:  # the site fixture skips (or fails under CI) with the reason
    expect = None

from test_e2e_journeys import log_in, submit

pytestmark = pytest.mark.csrf

R = ConnectionRequest
TEXT = "I lead a team of four for the first time and want to do it well."


def test_review_requests_in_place_or_by_plain_forms(site, make_member, topics, js):
    ProgramSetting.set_value(ProgramSetting.REQUESTS_NEED_REVIEW, True)
    make_member(name="Cora Coordinator", email="cora@example.org", role=User.COORDINATOR)
    mentor = make_member(name="Mona Mentor", offers=[topics["Leadership"]], capacity=3)
    waiting = [requests.send_request(make_member(name=name, seeks=[topics["Leadership"]]), mentor,
                                     [topics["Leadership"].id], TEXT, TEXT, "video")
               for name in ("Mel Mentee", "Otto Other", "Pia Plain")]
    page = site.page
    counter = page.locator("#review-count")

    log_in(site, "cora@example.org")
    expect(counter).to_contain_text("3 requests to review")
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile(r"^Coordinate")).click()
    site.check()
    expect(page).to_have_url(re.compile(r"/coordinator/requests$"))
    first = page.locator(f"#review-{waiting[0].id}")
    expect(first).to_contain_text("Mel Mentee asks Mona Mentor for mentoring")

    # Decline without a note: the message shows on the note field
    decline = first.get_by_role("button", name="Decline")
    if js:
        page.evaluate("window.__marker = 1")
        decline.click()
        site.check()
    else:
        with page.expect_navigation():
            decline.click()
        site.check()
    note = page.locator(f"#note-{waiting[0].id}")
    expect(note).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#note-{waiting[0].id}-error")).to_have_text(
        "Write a short note saying why: the member will read it.")

    # With a note it goes through, and the counter follows
    note.fill("Mel already has a mentor in this area.")
    if js:
        page.locator(f"#review-{waiting[0].id}").get_by_role("button", name="Decline").click()
        expect(page.locator(f"#review-{waiting[0].id}")).to_have_text(
            "Declined Mel Mentee’s request to Mona Mentor: your note tells them why.")
        expect(page.locator(f"#review-{waiting[0].id}")).to_have_attribute("role", "status")
        expect(counter).to_contain_text("2 requests to review")
        expect(page.locator("#queue-total")).to_have_text("2 requests waiting")
        site.check()
        assert page.evaluate("window.__marker") == 1, "the row should change in place"
    else:
        with page.expect_navigation():
            page.locator(f"#review-{waiting[0].id}").get_by_role("button", name="Decline").click()
        site.check()
        expect(page.locator(".flashes")).to_contain_text("Declined Mel Mentee’s request to Mona Mentor")
        expect(counter).to_contain_text("2 requests to review")
    assert R.get_by_id(waiting[0].id).status == R.REJECTED

    # Approve the other two at once
    for req in waiting[1:]:
        page.locator(f"#select-{req.id}").check()
    if js:
        page.get_by_role("button", name="Approve selected").click()
        expect(page.locator("#queue")).to_contain_text("Approved 2 requests.")
        expect(page.locator("article.review")).to_have_count(0)
        site.check()
    else:
        submit(site, "Approve selected")
        expect(page.locator(".flashes")).to_contain_text("Approved 2 requests.")
    expect(page.locator("#queue")).to_contain_text("Nothing to review")
    expect(counter).to_be_empty()
    assert [R.get_by_id(r.id).status for r in waiting[1:]] == [R.PENDING_MENTOR, R.PENDING_MENTOR]
