"""The audit log page (issue 7): every event newest first, in the coordinator's zone, filtered by action,
actor, target and days of the coordinator's zone; paginated in a constant number of queries."""
import datetime as dt
import re
from types import SimpleNamespace

import pytest

from portal.coordinator import audit_log
from portal.models import AuditEvent, User

from pagekit import page_text

A = AuditEvent


def rows(response):
    """The log's rows as (when, who, action, what, detail)."""
    html = response.get_data(as_text=True)
    body = html.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in html else ""
    return [tuple(" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in re.findall(r"<td>(.*?)</td>", row, re.S))
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


@pytest.fixture
def log(make_member, auth):
    cora = make_member(name="Cora Coordinator", email="cora@example.org", role=User.COORDINATOR,
                       time_zone="Europe/Berlin")
    mona = make_member(name="Mona Mentor", email="mona@example.org")
    A.delete().execute()  # only the events of this story

    def at(when, actor, action, target, detail=""):
        return A.create(actor=actor, action=action, target=target, detail=detail, created_at=when)
    events = SimpleNamespace(
        topic=at(dt.datetime(2026, 3, 1, 10, 0), cora, "topic.added", "topic:1", "Leadership"),
        # 23:30 UTC on 1 March is 00:30 on 2 March in Berlin.
        late=at(dt.datetime(2026, 3, 1, 23, 30), mona, "mentorship.ended", "mentorship:7", "goals_met"),
        match=at(dt.datetime(2026, 3, 2, 9, 0), cora, "mentorship.matched", "mentorship:8", "mentor user:2"),
        system=at(dt.datetime(2026, 3, 3, 8, 0), None, "request.expired", "request:12"),
    )
    auth.login("cora@example.org")
    return SimpleNamespace(cora=cora, mona=mona, **vars(events))


def test_every_event_newest_first_in_the_viewers_zone(client, log):
    assert rows(client.get("/coordinator/audit")) == [
        ("2026-03-03 09:00", "The portal", "request.expired", "request:12", ""),
        ("2026-03-02 10:00", "Cora Coordinator", "mentorship.matched", "mentorship:8", "mentor user:2"),
        ("2026-03-02 00:30", "Mona Mentor", "mentorship.ended", "mentorship:7", "goals_met"),
        ("2026-03-01 11:00", "Cora Coordinator", "topic.added", "topic:1", "Leadership"),
    ]
    assert "4 events" in page_text(client.get("/coordinator/audit"))


def test_the_action_filter_offers_the_actions_that_exist(client, log):
    html = client.get("/coordinator/audit").get_data(as_text=True)
    assert re.findall(r'<option value="([^"]+)"', html) == [
        "mentorship.ended", "mentorship.matched", "request.expired", "topic.added"]
    assert [r[2] for r in rows(client.get("/coordinator/audit?action=topic.added"))] == ["topic.added"]
    # An action that does not exist is no filter at all.
    assert len(rows(client.get("/coordinator/audit?action=made.up"))) == 4


@pytest.mark.parametrize("query, expected", [
    ("actor=mona", ["mentorship.ended"]),
    ("actor=CORA@EXAMPLE", ["mentorship.matched", "topic.added"]),
    ("target=mentorship", ["mentorship.matched", "mentorship.ended"]),
    ("target=mentorship:7", ["mentorship.ended"]),
    ("target=mentor", []),  # a kind is a whole word: "mentor" is not "mentorship"
    ("actor=cora&target=mentorship", ["mentorship.matched"]),
])
def test_filters_by_actor_and_target(client, log, query, expected):
    assert [r[2] for r in rows(client.get(f"/coordinator/audit?{query}"))] == expected


def test_dates_are_days_of_the_coordinators_zone(client, log):
    # 2 March in Berlin runs from 23:00 UTC on 1 March: the late event is in it.
    assert [r[2] for r in rows(client.get("/coordinator/audit?from=2026-03-02&to=2026-03-02"))] == [
        "mentorship.matched", "mentorship.ended"]
    assert [r[2] for r in rows(client.get("/coordinator/audit?to=2026-03-01"))] == ["topic.added"]
    assert [r[2] for r in rows(client.get("/coordinator/audit?from=2026-03-03"))] == ["request.expired"]
    User.update(time_zone="UTC").where(User.id == log.cora.id).execute()
    assert [r[2] for r in rows(client.get("/coordinator/audit?from=2026-03-02&to=2026-03-02"))] == [
        "mentorship.matched"]


def test_a_bad_date_is_named_and_kept_and_the_log_still_shows(client, log):
    response = client.get("/coordinator/audit?from=2026-02-31&to=2026-03-01")
    assert response.status_code == 200
    text = page_text(response)
    assert "Enter the “From” date as year-month-day, for example 2026-03-01 (you wrote “2026-02-31”)." in text
    html = response.get_data(as_text=True)
    assert 'name="from" value="2026-02-31" aria-invalid="true" aria-describedby="audit-from-error"' in html
    assert [r[2] for r in rows(response)] == ["topic.added"]  # the "To" date still applies
    reversed_ = page_text(client.get("/coordinator/audit?from=2026-03-03&to=2026-03-01"))
    assert "The “To” date comes before the “From” date: choose a later one." in reversed_


def test_pages_in_a_constant_number_of_queries(client, log, count_queries):
    def add(n):
        A.insert_many([{"actor": log.mona.id, "action": "meeting.logged", "target": f"meeting:{i}",
                        "created_at": dt.datetime(2026, 2, 1) + dt.timedelta(minutes=i)} for i in range(n)]).execute()

    add(10)
    with count_queries() as few:
        client.get("/coordinator/audit")
    add(200)
    with count_queries() as many:
        response = client.get("/coordinator/audit?page=3&actor=mona")
    assert len(many) == len(few)
    text = page_text(response)
    assert "211 events · page 3 of 5" in text
    assert len(rows(response)) == audit_log.PAGE_SIZE
    assert 'href="/coordinator/audit?actor=mona&amp;page=4"' in response.get_data(as_text=True)


def test_htmx_answers_the_log_only(client, log):
    response = client.get("/coordinator/audit?actor=mona", headers={"HX-Request": "true", "HX-Target": "log"})
    html = response.get_data(as_text=True)
    assert "<h1>" not in html and "1 event" in html


def test_members_get_403(client, log, auth):
    auth.logout()
    auth.login("mona@example.org")
    assert client.get("/coordinator/audit").status_code == 403


# --- the changes that had no event (found by reading the services for writes without audit.record) ---

def test_a_members_notification_settings_change_is_logged_without_its_content(log):
    from portal.notifications import preferences

    settings = preferences.settings_of(log.mona)
    settings.digest_hour = 6
    preferences.save(log.mona, settings)
    event = A.get(A.action == "notifications.preferences_changed")
    assert (event.actor_id, event.target, event.detail) == (log.mona.id, f"user:{log.mona.id}", "")


def test_a_member_created_from_the_command_line_is_logged(app, runner, log):
    result = runner.invoke(args=["create-user", "--email", "new@example.org", "--name", "New Person",
                                 "--role", "coordinator", "--password", "a long enough passphrase 42"])
    assert result.exit_code == 0, result.output
    new = User.get(User.email == "new@example.org")
    event = A.get(A.action == "member.created")
    assert (event.actor_id, event.target) == (None, f"user:{new.id}")
    assert event.detail == "coordinator, from the command line"
