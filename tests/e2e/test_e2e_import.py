"""Journey 1, many at once (issue 7): a coordinator uploads a CSV file, reads the preview, confirms, and the
invitations wait on the members page. With JavaScript on and off; axe checks every page."""
import re

import pytest

from portal.models import Invitation, User

try:
    from playwright.sync_api import expect
except ImportError:  # the site fixture skips (or fails under CI) with the reason
    expect = None

from test_e2e_journeys import follow, log_in, submit

pytestmark = pytest.mark.csrf

CSV = ("email,name,role\n"
       "ada@example.org,Ada Lovelace,member\n"
       "mia@example.org,Mia Again,member\n"
       "not-an-email,Nobody,member\n").encode("utf-8")


def test_csv_import_with_preview_then_confirm(site, make_member, mailbox, embedded):
    make_member(name="Cora Coordinator", email="cora@example.org", role=User.COORDINATOR)
    make_member(name="Mia Member", email="mia@example.org")
    page = site.page
    log_in(site, "cora@example.org")

    site.goto("/coordinator/members")
    follow(site, "Invite many at once")
    page.get_by_label("Or upload a CSV file").set_input_files(
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": CSV}])
    submit(site, "Preview")

    expect(page.get_by_role("status").filter(has_text="Nothing has been written yet")).to_be_visible()
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows.filter(has_text="ada@example.org")).to_contain_text("will be invited")
    expect(rows.filter(has_text="mia@example.org")).to_contain_text("duplicate: Already a member.")
    expect(rows.filter(has_text="not-an-email")).to_contain_text(re.compile(r"invalid: Email: .* not an email"))
    assert Invitation.select().count() == 0  # a dry run

    submit(site, "Invite 1 person")
    expect(page).to_have_url(re.compile(r"/coordinator/members$"))
    expect(page.locator(".flash")).to_contain_text("Invited 1 person")
    expect(page.get_by_role("row").filter(has_text="ada@example.org")).to_be_visible()
    assert [i.email for i in Invitation.select()] == ["ada@example.org"]
    assert mailbox.link("ada@example.org", "/invite/")
    site.goto("/coordinator/members")  # the worker has sent it by now
    expect(page.get_by_role("row").filter(has_text="ada@example.org")).to_contain_text("sent")


def test_members_filters_follow_the_url(site, make_member, js):
    """The filters are a GET form: with JavaScript htmx swaps the list and pushes the URL; without, the page reloads."""
    make_member(name="Cora Coordinator", email="cora@example.org", role=User.COORDINATOR)
    make_member(name="Dee Deactivated", active=False)
    make_member(name="Ann Active")
    page = site.page
    log_in(site, "cora@example.org")
    site.goto("/coordinator/members")
    table = page.get_by_role("table").filter(has_text=re.compile(r"members? found"))
    expect(table).to_contain_text("Ann Active")
    if js:
        page.get_by_label("Status").select_option("deactivated")
        expect(page).to_have_url(re.compile(r"status=deactivated"))
    else:
        page.get_by_label("Status").select_option("deactivated")
        submit(site, "Show members")
    expect(table).to_contain_text("1 member found")
    expect(table).to_contain_text("Dee Deactivated")
    expect(table).not_to_contain_text("Ann Active")
    site.goto(site.path())  # the URL alone gives the same list
    expect(page.get_by_label("Status")).to_have_value("deactivated")
    expect(page.get_by_role("table").filter(has_text=re.compile(r"members? found"))).to_contain_text("Dee Deactivated")
