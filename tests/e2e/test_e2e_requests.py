"""Journey 3, the mentor's answer, in a real browser with JavaScript on and off: decline with an
offered note, accept, and the mentee's history of it. With JavaScript the answers swap the
request's article in place; without, the forms post and the page comes back with a flash."""
import re

import pytest

from portal.models import ConnectionRequest, Mentorship, ProgramSetting, User
from portal.requests import services as svc

try:
    from playwright.sync_api import expect
except ImportError:  # the site fixture skips (or fails under CI) with the reason
    expect = None

from test_e2e_journeys import log_in, log_out, submit

pytestmark = pytest.mark.csrf

R = ConnectionRequest

HELP = "I lead a team of four for the first time and want to do it well."
SUCCESS = "Our weekly meeting runs itself and I delegate without worrying."


def answer(site, article, button):
    """Click ``button`` of the request's article: in place with JavaScript, by a page load without."""
    page = site.page
    if site.js:
        with page.expect_response(lambda r: r.request.method == "POST" and "/requests/" in r.url) as sent:
            article.get_by_role("button", name=button, exact=True).click()
        assert sent.value.request.headers.get("hx-request") == "true"
        assert "<html" not in sent.value.text()
        site.check()
    else:
        with page.expect_navigation():
            article.get_by_role("button", name=button, exact=True).click()
        site.check()


def test_a_mentor_declines_one_request_kindly_and_accepts_another(site, make_member, topics, js):
    mentor = make_member(name="Mona Mentor", email="mona@example.org", offers=[topics["Leadership"]], capacity=2)
    mel = make_member(name="Mel Mentee", email="mel@example.org", seeks=[topics["Leadership"]],
                      headline="New team lead in logistics")
    otto = make_member(name="Otto Other", email="otto@example.org", seeks=[topics["Leadership"]])
    accepted = svc.send_request(mel, mentor, [topics["Leadership"].id], HELP, SUCCESS, "video")
    declined = svc.send_request(otto, mentor, [topics["Leadership"].id], HELP, SUCCESS, "video")
    note = svc.DECLINE_NOTES["no_time"][1]
    page = site.page

    log_in(site, mentor.email)
    site.goto("/requests")
    if js:
        page.evaluate("window.__marker = 1")
    mels, ottos = page.locator(f"#request-{accepted.id}"), page.locator(f"#request-{declined.id}")
    expect(mels).to_contain_text("New team lead in logistics")
    expect(mels).to_contain_text("This is Mel Mentee’s only open request.")

    ottos.get_by_text("Decline…").click()
    ottos.get_by_label("No time this quarter").check()
    box = ottos.get_by_label("Your note")
    if js:
        expect(box).to_have_value(note)  # filled in, to edit before sending
    else:
        expect(box).to_have_value("")  # the server sends the chosen note
    answer(site, ottos, "Decline")
    ottos = page.locator(f"#request-{declined.id}")
    expect(ottos).to_contain_text("Declined: " + note)  # <q> adds the quotation marks
    if js:
        expect(page.get_by_role("status")).to_have_text("You declined the request of Otto Other.")
    else:
        expect(page.locator(".flash")).to_contain_text("You declined the request of Otto Other.")

    answer(site, mels, "Accept")
    mels = page.locator(f"#request-{accepted.id}")
    expect(mels.get_by_role("button", name="Accept")).to_have_count(0)
    message = "You accepted. Your mentorship with Mel Mentee has started."
    expect(page.get_by_role("status") if js else page.locator(".flash")).to_have_text(message)
    if js:
        assert page.evaluate("window.__marker") == 1, "the page was reloaded: the answers should swap in place"
    log_out(site)

    log_in(site, mel.email)
    site.goto("/requests")
    past = page.locator(f"#request-{accepted.id}")
    expect(past).to_contain_text("Accepted")
    expect(past.locator("ol.history li")).to_have_count(2)
    expect(past.locator("ol.history li").first).to_contain_text(re.compile(r"\d{2}:\d{2}\s+Sent"))


def test_request_review_and_accept_end_to_end(site, make_member, topics, js):
    """Journey 3 and the moderation of journey 5, all in the browser: the mentee asks from the mentor's
    profile, a coordinator approves it in the queue, the mentor accepts, and both see the mentorship."""
    ProgramSetting.set_value(ProgramSetting.REQUESTS_NEED_REVIEW, True)
    make_member(name="Cora Coordinator", email="cora@example.org", role=User.COORDINATOR)
    mentor = make_member(name="Mona Mentor", email="mona@example.org", offers=[topics["Leadership"]],
                         capacity=1, meeting_formats="video phone")
    mel = make_member(name="Mel Mentee", email="mel@example.org", seeks=[topics["Leadership"]])
    page = site.page

    # The mentee asks, first forgetting the second prompt: the message names it, nothing typed is lost
    log_in(site, mel.email)
    site.goto(f"/members/{mentor.id}")
    with page.expect_navigation():
        page.get_by_role("button", name="Request mentoring").click()
    site.check()
    page.get_by_label("Leadership").check()
    page.get_by_label("What would you like help with?").fill(HELP)
    page.get_by_label("How would you like to meet?").select_option("video")
    submit(site, "Send the request")
    expect(page.get_by_label("What would you like help with?")).to_have_value(HELP)
    expect(page.get_by_text("Please answer “What would success look like in three months?”")).to_be_visible()
    page.get_by_label("What would success look like in three months?").fill(SUCCESS)
    submit(site, "Send the request")
    expect(page).to_have_url(re.compile(r"/requests$"))
    expect(page.locator(".flash")).to_contain_text("A coordinator looks at it first")
    req = R.get(R.mentee == mel.id)
    expect(page.locator(f"#request-{req.id}")).to_contain_text("Waiting for a coordinator's review")
    log_out(site)

    # The mentor does not see it before the review
    log_in(site, mentor.email)
    site.goto("/requests")
    expect(page.locator(f"#request-{req.id}")).to_have_count(0)
    log_out(site)

    # The coordinator approves it in the queue
    log_in(site, "cora@example.org")
    site.goto("/coordinator/requests")
    row = page.locator(f"#review-{req.id}")
    expect(row).to_contain_text("Mel Mentee asks Mona Mentor for mentoring")
    expect(row).to_contain_text(HELP)
    if js:
        row.get_by_role("button", name="Approve").click()
        expect(page.locator(f"#review-{req.id}")).to_contain_text("Approved")
        expect(page.locator("#review-count")).to_be_empty()
        site.check()
    else:
        with page.expect_navigation():
            row.get_by_role("button", name="Approve").click()
        site.check()
        expect(page.locator(".flashes")).to_contain_text("Approved")
    assert R.get_by_id(req.id).status == R.PENDING_MENTOR
    log_out(site)

    # The mentor accepts
    log_in(site, mentor.email)
    site.goto("/requests")
    article = page.locator(f"#request-{req.id}")
    expect(article).to_contain_text(HELP)
    answer(site, article, "Accept")
    expect(page.get_by_role("status") if js else page.locator(".flash")).to_have_text(
        "You accepted. Your mentorship with Mel Mentee has started.")
    assert Mentorship.select().where((Mentorship.mentor == mentor.id) & (Mentorship.mentee == mel.id)
                                     & (Mentorship.status == Mentorship.ACTIVE)).count() == 1
    log_out(site)

    # The mentee sees it accepted, with its history
    log_in(site, mel.email)
    site.goto("/requests")
    history = page.locator(f"#request-{req.id} ol.history li")
    expect(history).to_have_count(3)
    expect(history.nth(1)).to_contain_text("Approved")
    expect(history.nth(2)).to_contain_text("Accepted")
