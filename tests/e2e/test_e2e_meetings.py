"""Journey 4 (work together) in a real browser, with JavaScript on and off: the mentor schedules a
meeting in Berlin time, logs one held yesterday, rates it; the mentee in New York sees the meeting in
their own time, the shared notes and the shared rating, and never the mentor's private note."""
import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from portal.models import Feedback, Meeting, Mentorship, utcnow

try:
    from playwright.sync_api import expect
except ImportError:  # the site fixture skips (or fails under CI) with the reason
    expect = None

from test_e2e_journeys import log_in, log_out, submit

pytestmark = pytest.mark.csrf

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
PRIVATE = "Mel seems anxious about the reorganisation; ask gently next time."


def follow(site, name, within=None):
    """Follow a link (or a link styled as a button) by its name, and check the page it leads to."""
    scope = within or site.page
    link = scope.get_by_role("link", name=name).or_(scope.get_by_role("button", name=name)).first
    with site.page.expect_navigation():
        link.click()
    site.check()


def _at_ten(day, zone):
    return dt.datetime.combine(day, dt.time(10, 0), zone)


def test_schedule_log_and_rate_a_meeting(site, make_member, topics, js):
    mona = make_member(name="Mona Mentor", email="mona@example.org", offers=[topics["Leadership"]],
                       time_zone="Europe/Berlin")
    mel = make_member(name="Mel Mentee", email="mel@example.org", seeks=[topics["Leadership"]],
                      time_zone="America/New_York")
    pair = Mentorship.create(mentor=mona, mentee=mel, started_at=utcnow() - dt.timedelta(days=20))
    # A Wednesday a month ahead on which Berlin and New York are six hours apart (not in the weeks
    # between the two clock changes, when they are five).
    today = dt.date.today()
    day = today + dt.timedelta(days=30)
    while day.weekday() != 2 or _at_ten(day, BERLIN).astimezone(NEW_YORK).hour != 4:
        day += dt.timedelta(days=1)
    yesterday = today - dt.timedelta(days=1)
    page = site.page

    log_in(site, mona.email)
    site.goto("/mentorships")
    expect(page.get_by_role("main")).to_contain_text("Mel Mentee")
    follow(site, "Mel Mentee", within=page.get_by_role("main"))
    expect(page).to_have_url(re.compile(rf"/mentorships/{pair.id}$"))

    # Schedule: first without a time (the message names the field, the agenda typed stays), then right
    follow(site, "Schedule a meeting")
    page.get_by_label("Date").fill(day.isoformat())
    page.get_by_label("Duration").select_option("60")
    page.get_by_label("Video call").check()
    page.get_by_label("Video link").fill("https://meet.example.org/mona-mel")
    page.get_by_label("Agenda").fill("Your first month as a team lead")
    submit(site, "Schedule the meeting")
    expect(page.get_by_label("Agenda")).to_have_value("Your first month as a team lead")
    expect(page.locator("#time-error")).to_be_visible()
    page.get_by_label("Starts at").fill("10:00")
    submit(site, "Schedule the meeting")
    scheduled = Meeting.get(Meeting.mentorship == pair.id)
    assert scheduled.status == Meeting.SCHEDULED
    assert scheduled.starts_at.replace(tzinfo=None) == _at_ten(day, BERLIN).astimezone(dt.timezone.utc).replace(tzinfo=None)
    item = page.locator(f"#meeting-{scheduled.id}")
    expect(item).to_contain_text("10:00 for you · 04:00 for Mel, New York")
    expect(item).to_contain_text("Your first month as a team lead")

    # Log a meeting held yesterday, with a private note
    follow(site, "Log a meeting you held")
    page.get_by_label("Held on").fill(yesterday.isoformat())
    page.get_by_label("Duration").select_option("90")
    page.get_by_label("Leadership").check()
    page.get_by_label("Shared notes").fill("We mapped the **three** conversations Mel dreads.")
    page.get_by_label("Next steps").fill("Mel holds the first one-to-one on Monday.")
    page.get_by_label("Private note: only you will ever see this").fill(PRIVATE)
    submit(site, "Log the meeting")
    held = Meeting.get((Meeting.mentorship == pair.id) & (Meeting.status == Meeting.HELD))
    item = page.locator(f"#meeting-{held.id}")
    expect(item).to_contain_text("Held")
    expect(item.locator("strong", has_text="three")).to_be_visible()  # Markdown rendered
    expect(item).to_contain_text(PRIVATE)
    expect(item).to_contain_text("1 h 30 min")

    # Rate it: in place with JavaScript, on the meeting's page without
    feedback_link = item.get_by_role("link", name="Give feedback")
    if js:
        page.evaluate("window.__marker = 1")
        feedback_link.click()
        expect(page.locator(f"#meeting-{held.id} form.feedback-form")).to_be_visible()
        site.check()
    else:
        with page.expect_navigation():
            feedback_link.click()
        site.check()
    form = page.locator("form.feedback-form")
    form.get_by_label("4", exact=True).check()
    form.get_by_label("What was most useful?").fill("Practising the first sentence out loud.")
    form.get_by_label("Share with my partner").check()
    form.get_by_label("Yes", exact=True).check()
    if js:
        form.get_by_role("button", name="Save my feedback").click()
        expect(page.locator(f"#meeting-{held.id}")).to_contain_text("You rated it 4 of 5")
        site.check()
        assert page.evaluate("window.__marker") == 1, "the feedback should be saved in place"
    else:
        submit(site, "Save my feedback")
        expect(page.locator(f"#meeting-{held.id}")).to_contain_text("You rated it 4 of 5")
    given = Feedback.get((Feedback.meeting == held.id) & (Feedback.author == mona.id))
    assert (given.rating, given.visibility, given.good_fit) == (4, Feedback.PARTNER, True)
    log_out(site)

    # The mentee: the meeting in New York time, the shared notes and rating, no private note, no fit answer
    log_in(site, mel.email)
    site.goto(f"/mentorships/{pair.id}")
    expect(page.locator(f"#meeting-{scheduled.id}")).to_contain_text("04:00 for you · 10:00 for Mona, Berlin")
    item = page.locator(f"#meeting-{held.id}")
    expect(item).to_contain_text("Mel holds the first one-to-one on Monday.")
    expect(item).to_contain_text("Mona Mentor rated it 4 of 5")
    expect(item).to_contain_text("Practising the first sentence out loud.")
    expect(page.get_by_role("main")).not_to_contain_text(PRIVATE)
    expect(item).not_to_contain_text("A good fit?")
