"""Journey 5 (steer) in a real browser, with JavaScript on and off: a coordinator opens the health
dashboard, changes the period, reads a chart's numbers in its table and nudges a pair at risk."""
import datetime as dt
import re

import pytest

from portal.models import Feedback, Meeting, Mentorship, Notification, Round, User, utcnow
from portal.notifications import services as kinds

try:
    from playwright.sync_api import expect
except ImportError:  # the site fixture skips (or fails under CI) with the reason
    expect = None

from test_e2e_journeys import log_in, submit

pytestmark = pytest.mark.csrf
DAY = dt.timedelta(days=1)


def test_a_coordinator_reads_the_dashboard_and_nudges_a_quiet_pair(site, make_member, topics, js):
    now = utcnow()
    make_member(name="Cora Coordinator", email="cora@example.org", role=User.COORDINATOR)
    mona = make_member(name="Mona Mentor", offers=[topics["Leadership"]], capacity=3)
    quiet = Mentorship.create(mentor=mona, mentee=make_member(name="Otto Other"), started_at=now - 40 * DAY)
    busy = Mentorship.create(mentor=mona, mentee=make_member(name="Mel Mentee"), started_at=now - 200 * DAY)
    meeting = Meeting.create(mentorship=busy, status=Meeting.HELD, held_on=(now - 2 * DAY).date(), duration_minutes=60)
    Feedback.create(meeting=meeting, author=busy.mentee_id, rating=4, created_at=now - DAY)
    old = Meeting.create(mentorship=busy, status=Meeting.HELD, held_on=(now - 120 * DAY).date(), duration_minutes=60)
    Feedback.create(meeting=old, author=busy.mentee_id, rating=3, created_at=now - 119 * DAY)
    page = site.page

    log_in(site, "cora@example.org")
    site.goto("/coordinator")
    expect(page.get_by_role("heading", level=1)).to_have_text("Program health")
    expect(page.locator("#figure-active-pairs")).to_have_text("2")
    expect(page.locator("#figure-rating")).to_have_text("4.0")
    ratings = page.get_by_role("img", name=re.compile(r"^Meeting ratings given in the last 90 days: .*4 of 5 1"))
    expect(ratings).to_be_visible()

    # A year: the older rating counts too, and the URL says so
    page.get_by_label("Period").select_option("365")
    if js:
        expect(page.locator("#figures-title")).to_have_text("The last 365 days")
        site.check()
    else:
        submit(site, "Show")
        expect(page.locator("#figures-title")).to_have_text("The last 365 days")
    expect(page).to_have_url(re.compile(r"/coordinator\?period=365$"))
    expect(page.locator("#figure-rating")).to_have_text("3.5")

    # The ratings chart's numbers, as a table
    table = page.locator("#table-ratings")
    expect(table).to_be_hidden()
    page.get_by_text("The ratings as a table").click()
    expect(table).to_be_visible()
    expect(table.get_by_role("row", name="3 of 5 1")).to_be_visible()
    expect(table.get_by_role("row", name="4 of 5 1")).to_be_visible()
    site.check()

    # The quiet pair is at risk: nudge it
    cell = page.locator(f"#nudge-{quiet.id}-quiet")
    expect(page.locator("#risk-quiet")).to_contain_text("Mona Mentor (mentor) and Otto Other (mentee)")
    button = cell.get_by_role("button", name="Nudge now (Mona Mentor and Otto Other)")
    if js:
        button.click()
        expect(page.locator(f"#nudge-{quiet.id}-quiet")).to_have_text("Nudge sent to Mona Mentor and Otto Other.")
        expect(page.locator(f"#nudge-{quiet.id}-quiet [role=status]")).to_be_visible()
        site.check()
    else:
        with page.expect_navigation():
            button.click()
        site.check()
        expect(page.locator(".flashes")).to_contain_text("Nudge sent to Mona Mentor and Otto Other.")
        expect(page).to_have_url(re.compile(r"/coordinator\?period=365$"))
        expect(page.locator(f"#nudge-{quiet.id}-quiet")).to_contain_text("Nudged today")
    assert Notification.select().where(Notification.kind == kinds.PAIR_NUDGE).count() == 2


def test_a_coordinator_reads_the_figures_of_this_round(site, make_member, topics, js):
    now = utcnow()
    make_member(name="Cora Coordinator", email="cora@example.org", role=User.COORDINATOR)
    starts = (now - 14 * DAY).date()
    spring = Round.create(name="Spring 2027", opens_on=starts - 30 * DAY, closes_on=starts - 10 * DAY, starts_on=starts,
                          length_weeks=12, status=Round.PUBLISHED, published_at=now - 20 * DAY)
    mona = make_member(name="Mona Mentor", offers=[topics["Leadership"]], capacity=3)
    pair = Mentorship.create(mentor=mona, mentee=make_member(name="Mel Mentee"), started_at=now - 14 * DAY,
                             round=spring)
    Meeting.create(mentorship=pair, status=Meeting.HELD, held_on=(now - 2 * DAY).date(), duration_minutes=60)
    Meeting.create(mentorship=pair, status=Meeting.HELD, held_on=(now - 20 * DAY).date(), duration_minutes=60)
    page = site.page

    log_in(site, "cora@example.org")
    site.goto("/coordinator")
    page.get_by_label("Period").select_option("round")
    if not js:
        submit(site, "Show")
    expect(page.locator("#figures-title")).to_have_text("Spring 2027 round")
    expect(page).to_have_url(re.compile(r"/coordinator\?period=round$"))
    expect(page.locator("#figure-round-pairs")).to_have_text("1")
    expect(page.locator("#figures")).to_contain_text("1 meeting held")  # the one before the round's start is out
    site.check()
