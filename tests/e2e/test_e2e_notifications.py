"""Journey 8 (be reminded) in a real browser, with JavaScript on and off: a mentor reads her notifications
from the badge in the navigation, marks them read (in place, or by plain forms), and chooses what comes
by email, first with a digest hour inside her quiet hours, which the page refuses on that field."""
import re

import pytest

from portal.models import Notification, NotificationPreference, User
from portal.requests import services as requests

try:
    from playwright.sync_api import expect
except ImportError:  # the site fixture skips (or fails under CI) with the reason
    expect = None

from test_e2e_journeys import log_in, submit

pytestmark = pytest.mark.csrf

TEXT = "I lead a team of four for the first time and want to do it well."


def test_read_notifications_and_choose_what_comes_by_email(site, make_member, topics, js):
    mona = make_member(name="Mona Mentor", email="mona@example.org", offers=[topics["Leadership"]], capacity=3)
    for name in ("Mel Mentee", "Otto Other"):
        requests.send_request(make_member(name=name, seeks=[topics["Leadership"]]), mona,
                              [topics["Leadership"].id], TEXT, TEXT, "video")
    otto = Notification.get(Notification.subject == "Otto Other asks you for mentoring")
    page = site.page
    badge = page.locator("#notification-badge")

    log_in(site, "mona@example.org")
    expect(badge).to_contain_text("2 unread")
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile(r"^Notifications")).click()
    site.check()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    items = page.locator("li.notification")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("Otto Other asks you for mentoring")
    expect(items.first.get_by_role("link", name="Otto Other asks you for mentoring")).to_have_attribute(
        "href", re.compile(r"^/requests#request-\d+$"))

    # Mark one read
    mark = page.get_by_role("button", name="Mark as read (Otto Other asks you for mentoring)")
    if js:
        page.evaluate("window.__marker = 1")
        mark.click()
        expect(page.locator(f"#notification-{otto.id}")).not_to_contain_text("New")
        expect(page.locator("#notifications-status")).to_have_text("Marked as read: Otto Other asks you for mentoring")
        expect(badge).to_contain_text("1 unread")
        site.check()
        assert page.evaluate("window.__marker") == 1, "the item should change in place"
    else:
        submit(site, "Mark as read (Otto Other asks you for mentoring)")
        expect(page).to_have_url(re.compile(rf"/notifications#notification-{otto.id}$"))
        expect(badge).to_contain_text("1 unread")
    assert Notification.get_by_id(otto.id).read_at is not None

    # Mark all read
    if js:
        page.get_by_role("button", name="Mark all as read").click()
        expect(page.locator("#notifications-status")).to_have_text("1 notification marked as read.")
        site.check()
    else:
        submit(site, "Mark all as read")
        expect(page.locator(".flashes")).to_contain_text("1 notification marked as read.")
    expect(badge).to_have_text("")
    expect(page.get_by_role("button", name="Mark all as read")).to_have_count(0)

    # Settings: a digest at an hour inside the quiet hours is refused on that field, what was chosen kept
    with page.expect_navigation():
        page.get_by_role("link", name="Choose what comes by email, and when").click()
    site.check()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notification settings")
    page.get_by_role("group", name="A member asks you for mentoring, or offers to mentor you").get_by_label(
        "In my daily digest email").check()
    page.get_by_role("group", name="A request has waited 3 days for your answer").get_by_label(
        "In the portal only").check()
    page.get_by_label("From").fill("07:00")
    page.get_by_label("Until").fill("09:00")
    page.get_by_label("Send my daily digest at").select_option("8")
    submit(site, "Save my settings")
    hour = page.get_by_label("Send my daily digest at")
    expect(hour).to_have_attribute("aria-invalid", "true")
    expect(hour).to_have_accessible_description(re.compile("Your digest would come during your quiet hours"))
    expect(page.get_by_role("group", name="A member asks you for mentoring, or offers to mentor you").get_by_label(
        "In my daily digest email")).to_be_checked()
    expect(page.get_by_label("Until")).to_have_value("09:00")
    assert not NotificationPreference.select().exists()

    hour.select_option("18")
    submit(site, "Save my settings")
    expect(page.locator(".flashes")).to_contain_text("Your notification settings are saved.")
    assert dict(NotificationPreference.select(NotificationPreference.kind, NotificationPreference.mode).tuples()) == {
        "request_received": "digest", "request_waiting": "portal"}
    saved = User.get_by_id(mona.id)
    assert (f"{saved.quiet_from:%H:%M}", f"{saved.quiet_until:%H:%M}", saved.digest_hour) == ("07:00", "09:00", 18)
