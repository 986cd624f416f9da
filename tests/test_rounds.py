"""Pairing rounds (issue 8), the first part: coordinators create rounds and move them along, members opt in
(roles, capacity, topics, preferred mentors, "never pair me with"), and the round news.

The story: Cora coordinates; Mona mentors Leadership and Python; Mel seeks Leadership; Otto seeks Python;
Ida has not completed her profile and Dee is deactivated (neither hears round news).
"""
import datetime as dt
import re
from types import SimpleNamespace

import pytest

from portal.models import (
    AuditEvent,
    Mentorship,
    Notification,
    Round,
    RoundEntry,
    RoundEntryTopic,
    RoundExclusion,
    RoundPreference,
    RoundProposal,
    User,
    utcnow,
)
from portal.notifications import delivery, sweep
from portal.rounds import news, services
from portal.rounds.services import RoundError

from pagekit import log_in

TODAY = utcnow().date()


@pytest.fixture
def p(make_member, topics, db):
    t = topics
    c = SimpleNamespace(t=t)
    c.cora = make_member(name="Cora Coordinator", email="cora@example.org", role=User.COORDINATOR)
    c.mona = make_member(name="Mona Mentor", email="mona@example.org", offers=[t["Leadership"], t["Python"]],
                         capacity=3)
    c.mel = make_member(name="Mel Mentee", email="mel@example.org", seeks=[t["Leadership"]])
    c.otto = make_member(name="Otto Other", email="otto@example.org", seeks=[t["Python"]])
    c.ida = make_member(name="Ida Incomplete", email="ida@example.org", completed=False)
    c.dee = make_member(name="Dee Deactivated", email="dee@example.org", active=False)
    return c


def make_round(p, status=Round.DRAFT, name="Spring", opens=0, closes=14, starts=21, weeks=26):
    return Round.create(name=name, opens_on=TODAY + dt.timedelta(days=opens),
                        closes_on=TODAY + dt.timedelta(days=closes), starts_on=TODAY + dt.timedelta(days=starts), length_weeks=weeks, status=status,
                        created_by=p.cora)


def round_form(**changes):
    form = {"name": "Spring 2027", "opens_on": TODAY.isoformat(),
            "closes_on": (TODAY + dt.timedelta(days=14)).isoformat(),
            "starts_on": (TODAY + dt.timedelta(days=21)).isoformat(), "length_weeks": "26"}
    form.update(changes)
    return form


def join_as(p, user, r, mentor=False, mentee=False, capacity=1, offers=(), seeks=()):
    return services.join(user, r, mentor, capacity, [p.t[n].id for n in offers], mentee, [p.t[n].id for n in seeks],
                         True)


def text(response):
    return response.get_data(as_text=True)


def error_of(page, field):
    found = re.search(rf'<small id="{field}-error" class="error">([^<]*)</small>', page)
    return found.group(1) if found else None


# --- models and migration ---------------------------------------------------------------------------

def test_a_mentorship_remembers_its_round_and_outlives_it(p):
    r = make_round(p)
    pair = Mentorship.create(mentor=p.mona, mentee=p.mel, round=r)
    entry = join_as(p, p.mel, make_round(p, Round.OPEN, name="Open"), mentee=True, seeks=["Leadership"])
    assert Mentorship.get_by_id(pair.id).round_id == r.id
    r.delete_instance()
    assert Mentorship.get_by_id(pair.id).round_id is None  # the pair goes on without its round
    entry.round.delete_instance()
    assert not RoundEntry.select().exists() and not RoundEntryTopic.select().exists()


def test_one_entry_per_member_and_round_one_proposal_per_mentee(p, db):
    from peewee import IntegrityError

    r = make_round(p, Round.OPEN)
    RoundEntry.create(round=r, user=p.mel, as_mentee=True)
    with pytest.raises(IntegrityError), db.atomic():
        RoundEntry.create(round=r, user=p.mel, as_mentor=True, capacity=1)
    RoundProposal.create(round=r, mentee=p.mel, mentor=p.mona)
    with pytest.raises(IntegrityError), db.atomic():
        RoundProposal.create(round=r, mentee=p.mel, mentor=p.cora)


# --- coordinators: creating and editing ---------------------------------------------------------------

def test_a_coordinator_creates_a_round_that_stays_a_draft(app, p):
    cora = log_in(app, p.cora)
    response = cora.post("/coordinator/rounds/new", data=round_form())
    assert response.status_code == 303
    r = Round.get(Round.name == "Spring 2027")
    assert (r.status, r.length_weeks, r.created_by_id) == (Round.DRAFT, 26, p.cora.id)
    page = text(cora.get("/coordinator/rounds"))
    assert "Spring 2027" in page and "Draft" in page and "Open sign-ups" in page
    assert AuditEvent.get(AuditEvent.action == "round.created").target == f"round:{r.id}"
    # Members do not see a draft.
    assert "Spring 2027" not in text(log_in(app, p.mel).get("/rounds"))


@pytest.mark.parametrize("changes, field, message", [
    ({"name": " "}, "name", "Give the round a name"),
    ({"name": "x" * 81}, "name", "under 80 characters"),
    ({"name": "spring 2026"}, "name", "Another round is already called"),
    ({"opens_on": "tomorrow"}, "opens_on", "Enter the day sign-ups open as year-month-day"),
    ({"closes_on": ""}, "closes_on", "Enter the day the round closes"),
    ({"closes_on": (TODAY - dt.timedelta(days=1)).isoformat()}, "closes_on", "closes before it opens"),
    ({"starts_on": (TODAY + dt.timedelta(days=13)).isoformat()}, "starts_on", "start on or after the closing day"),
    ({"length_weeks": "3"}, "length_weeks", "4 to 104 weeks"),
    ({"length_weeks": "105"}, "length_weeks", "4 to 104 weeks"),
    ({"length_weeks": "six"}, "length_weeks", "whole number of weeks"),
])
def test_a_round_with_a_mistake_says_which_field_and_keeps_what_was_typed(app, p, changes, field, message):
    make_round(p, name="Spring 2026")
    response = log_in(app, p.cora).post("/coordinator/rounds/new", data=round_form(**changes))
    page = text(response)
    assert response.status_code == 200 and message in error_of(page, field)
    assert Round.select().count() == 1
    typed = changes[field]
    if typed.strip():
        assert f'value="{typed}"' in page


def test_a_round_is_edited_while_draft_or_open_only(app, p):
    r = make_round(p, Round.OPEN)
    cora = log_in(app, p.cora)
    assert cora.post(f"/coordinator/rounds/{r.id}/edit", data=round_form(name="Spring renamed")).status_code == 303
    assert Round.get_by_id(r.id).name == "Spring renamed"
    Round.update(status=Round.MATCHING).where(Round.id == r.id).execute()
    page = text(cora.post(f"/coordinator/rounds/{r.id}/edit", data=round_form(name="Too late")))
    assert "its details can no longer change" in page and Round.get_by_id(r.id).name == "Spring renamed"
    with pytest.raises(RoundError, match="can no longer change"):
        services.update_round(p.cora, r, "Too late", r.opens_on, r.closes_on, r.starts_on, 26)
    assert cora.get("/coordinator/rounds/999999/edit").status_code == 404


# --- coordinators: moving a round along ----------------------------------------------------------------

def move(app, p, r, to):
    response = log_in(app, p.cora).post(f"/coordinator/rounds/{r.id}/status", data={"to": to}, follow_redirects=True)
    return Round.get_by_id(r.id), text(response)


def test_opening_a_round_tells_every_active_member_with_a_profile_once(app, p):
    r = make_round(p, opens=5)
    r, page = move(app, p, r, "open")
    assert r.status == Round.OPEN and "is open: members are told" in page
    assert r.opens_on == TODAY  # opened early: today is its first day
    told = {n.recipient_id for n in Notification.select().where(Notification.kind == "round_opened")}
    assert told == {p.cora.id, p.mona.id, p.mel.id, p.otto.id}  # not Ida (no profile) nor Dee (deactivated)
    assert AuditEvent.get(AuditEvent.action == "round.open").detail.endswith("4 member(s) told")
    # Reopened after matching: nobody is told twice.
    move(app, p, r, "matching")
    r, _ = move(app, p, r, "open")
    assert r.status == Round.OPEN
    assert Notification.select().where(Notification.kind == "round_opened").count() == 4


@pytest.mark.parametrize("start, target, message", [
    (Round.DRAFT, Round.MATCHING, "cannot be moved to matching from there"),
    (Round.DRAFT, Round.CLOSED, "cannot be moved to closed from there"),
    (Round.OPEN, Round.OPEN, "is already open for sign-ups"),
    (Round.OPEN, Round.CLOSED, "cannot be moved to closed from there"),
    (Round.MATCHING, Round.CLOSED, "cannot be moved to closed from there"),
    (Round.PUBLISHED, Round.OPEN, "cannot be moved to open for sign-ups from there"),
    (Round.CLOSED, Round.OPEN, "cannot be moved to open for sign-ups from there"),
    (Round.OPEN, "published", "Choose one of the moves the page offers"),
])
def test_a_move_the_round_does_not_allow_is_refused_with_its_reason(app, p, start, target, message):
    r = make_round(p, start)
    r, page = move(app, p, r, target)
    assert r.status == start and message in page.replace("&#34;", '"')
    assert not AuditEvent.select().where(AuditEvent.action.startswith("round.")).exists()


@pytest.mark.parametrize("start, target", [
    (Round.DRAFT, Round.OPEN), (Round.OPEN, Round.MATCHING), (Round.MATCHING, Round.OPEN),
    (Round.PUBLISHED, Round.CLOSED),
])
def test_every_allowed_move_is_made_and_audited(app, p, start, target):
    r = make_round(p, start)
    r, page = move(app, p, r, target)
    assert r.status == target and services.MOVES[target][2] in page
    assert AuditEvent.get(AuditEvent.action == f"round.{target}").detail.startswith(f"Spring: {start} → {target}")


def test_a_draft_whose_closing_day_has_passed_is_not_opened_but_sign_ups_can_reopen(app, p):
    r = make_round(p, opens=-10, closes=-1, starts=3)
    r, page = move(app, p, r, "open")
    assert r.status == Round.DRAFT and "move its closing day to today or later first" in page
    assert not Notification.select().exists()
    late = make_round(p, Round.MATCHING, name="Late", opens=-10, closes=-1, starts=3)
    assert move(app, p, late, "open")[0].status == Round.OPEN  # for late entries, after matching began


def test_members_cannot_run_rounds(app, p):
    r = make_round(p)
    mel = log_in(app, p.mel)
    for path in ("/coordinator/rounds", "/coordinator/rounds/new", f"/coordinator/rounds/{r.id}/edit"):
        assert mel.get(path).status_code == 403
    assert mel.post(f"/coordinator/rounds/{r.id}/status", data={"to": "open"}).status_code == 403
    assert Round.get_by_id(r.id).status == Round.DRAFT
    assert log_in(app, p.cora).post("/coordinator/rounds/999999/status", data={"to": "open"}).status_code == 404


def test_the_rounds_list_counts_mentors_places_and_mentees_in_constant_queries(app, p, make_member, topics,
                                                                                count_queries):
    cora = log_in(app, p.cora)
    r = make_round(p, Round.OPEN)
    join_as(p, p.mona, r, mentor=True, capacity=3, offers=["Leadership"], mentee=True, seeks=["Python"])
    join_as(p, p.mel, r, mentee=True, seeks=["Leadership"])
    cora.get("/coordinator/rounds")
    with count_queries() as few:
        page = text(cora.get("/coordinator/rounds"))
    row = re.search(rf'<tr id="round-{r.id}">(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r"<td>(\d+)</td>", row) == ["1", "3", "2"]  # mentors, places, mentees
    for n in range(6):
        more = make_round(p, Round.OPEN, name=f"Round {n}")
        member = make_member(offers=[topics["Python"]], seeks=[topics["Leadership"]])
        join_as(p, member, more, mentor=True, offers=["Python"], mentee=True, seeks=["Leadership"])
    with count_queries() as many:
        cora.get("/coordinator/rounds")
    assert len(many) == len(few)


# --- members: opting in ----------------------------------------------------------------------------------

def test_only_an_open_round_can_be_joined(app, p):
    mel = log_in(app, p.mel)
    for status in (Round.DRAFT, Round.MATCHING, Round.PUBLISHED, Round.CLOSED):
        r = make_round(p, status, name=status)
        assert mel.get(f"/rounds/{r.id}/join").status_code == 404
        assert mel.post(f"/rounds/{r.id}/leave").status_code == 404
    assert mel.get("/rounds/999999/join").status_code == 404


def test_the_join_page_starts_from_my_profile_and_the_navigation_shows_the_round(app, p):
    mona = log_in(app, p.mona)
    assert "Pairing round" not in text(mona.get("/mentors"))
    r = make_round(p, Round.OPEN)
    assert 'href="/rounds"' in text(mona.get("/mentors"))
    page = text(mona.get(f"/rounds/{r.id}/join"))
    checked = set(re.findall(r'<input checked id="(offers-\d)"', page)) | set(
        re.findall(r'id="(offers-\d)"[^>]*checked', page))
    assert len(checked) == 2  # Leadership and Python, as on her profile
    assert re.search(r'id="as_mentor"[^>]*checked|checked[^>]*id="as_mentor"', page)
    assert 'href="/profile/edit"' in page


def test_a_member_joins_as_mentor_and_mentee_on_different_topics(app, p):
    r = make_round(p, Round.OPEN)
    mona = log_in(app, p.mona)
    response = mona.post(f"/rounds/{r.id}/join", data={
        "as_mentor": "y", "capacity": "2", "offers": [str(p.t["Leadership"].id)], "as_mentee": "y",
        "seeks": [str(p.t["Python"].id)], "confirmed": "y"})
    assert response.status_code == 303
    entry = RoundEntry.get((RoundEntry.round == r.id) & (RoundEntry.user == p.mona.id))
    assert (entry.as_mentor, entry.capacity, entry.as_mentee) == (True, 2, True) and entry.confirmed_at
    assert services.entry_topics(entry) == {"offers": [p.t["Leadership"].id], "seeks": [p.t["Python"].id]}
    assert AuditEvent.get(AuditEvent.action == "round.joined").detail == "as mentor and mentee, capacity 2"
    page = text(mona.get("/rounds"))
    assert "Joined as mentor and mentee" in page and "See or change your entry" in page


@pytest.mark.parametrize("form, field, message", [
    ({}, "as_mentor", "Choose how you take part"),
    ({"as_mentor": "y", "capacity": "0", "offers": ["Leadership"]}, "capacity", "1 to 5"),
    ({"as_mentor": "y", "capacity": "6", "offers": ["Leadership"]}, "capacity", "1 to 5"),
    ({"as_mentor": "y", "capacity": "two", "offers": ["Leadership"]}, "capacity", "whole number from 1 to 5"),
    ({"as_mentor": "y", "capacity": "2"}, "offers", "at least one topic you offer"),
    ({"as_mentee": "y"}, "seeks", "at least one topic you want to be mentored on"),
    ({"as_mentor": "y", "capacity": "2", "offers": ["Leadership", "Python"], "as_mentee": "y",
      "seeks": ["Python"]}, "seeks", "You chose Python both to offer and to seek"),
    ({"as_mentee": "y", "seeks": ["Python"], "confirmed": None}, "confirmed",
     "Confirm that your profile is up to date"),
])
def test_an_entry_with_a_mistake_says_which_field_and_keeps_what_was_typed(app, p, form, field, message):
    r = make_round(p, Round.OPEN)
    data = {"confirmed": "y", **form}
    for key in ("offers", "seeks"):
        if key in data:
            data[key] = [str(p.t[name].id) for name in data[key]]
    data = {k: v for k, v in data.items() if v is not None}
    response = log_in(app, p.mona).post(f"/rounds/{r.id}/join", data=data)
    page = text(response)
    assert response.status_code == 200 and message in error_of(page, field)
    assert not RoundEntry.select().exists()
    if "capacity" in form:
        assert f'value="{form["capacity"]}"' in page


def test_a_member_without_a_completed_profile_is_told_to_complete_it(p):
    r = make_round(p, Round.OPEN)
    with pytest.raises(RoundError, match="Complete your profile first"):
        join_as(p, p.ida, r, mentee=True, seeks=["Python"])


def test_a_member_changes_and_withdraws_their_entry_while_the_round_is_open(app, p):
    r = make_round(p, Round.OPEN)
    join_as(p, p.mona, r, mentor=True, capacity=2, offers=["Leadership"])
    join_as(p, p.mel, r, mentee=True, seeks=["Leadership"])
    services.add_preference(p.mel, r, p.mona.id)
    # Mel becomes a mentor only: her preferred mentors go with her mentee side.
    join_as(p, p.mel, r, mentor=True, capacity=1, offers=["Python"])
    assert RoundEntry.select().where(RoundEntry.user == p.mel.id).count() == 1
    assert not RoundPreference.select().exists()
    assert AuditEvent.get(AuditEvent.action == "round.entry_changed").detail == "as mentor, capacity 1"
    mel = log_in(app, p.mel)
    response = mel.post(f"/rounds/{r.id}/leave", follow_redirects=True)
    assert "You have left “Spring”" in text(response)
    assert not RoundEntry.select().where(RoundEntry.user == p.mel.id).exists()
    assert "You have not joined" in text(mel.post(f"/rounds/{r.id}/leave", follow_redirects=True))
    Round.update(status=Round.MATCHING).where(Round.id == r.id).execute()
    with pytest.raises(RoundError, match="no longer open"):
        join_as(p, p.mona, r, mentor=True, capacity=3, offers=["Leadership"])
    with pytest.raises(RoundError, match="no longer open"):
        services.leave(p.mona, r)


# --- members: preferred mentors and "never pair me with" ---------------------------------------------------

@pytest.fixture
def cohort(p, make_member, topics):
    r = make_round(p, Round.OPEN)
    mentors = [make_member(name=f"Mentor {n}", offers=[topics["Leadership"]]) for n in range(4)]
    for mentor in mentors:
        join_as(p, mentor, r, mentor=True, capacity=1, offers=["Leadership"])
    join_as(p, p.mel, r, mentee=True, seeks=["Leadership"])
    return SimpleNamespace(r=r, mentors=mentors)


def ranked(p):
    entry = services.entry_of(p.mel, Round.get())
    return [(rank, u.name) for rank, u in services.preferences(entry)]


def test_a_mentee_names_up_to_three_mentors_in_order(app, p, cohort):
    mel = log_in(app, p.mel)
    page = text(mel.get(f"/rounds/{cohort.r.id}/join", query_string={"mentor_q": "mentor"}))
    assert all(f"Mentor {n}" in page for n in range(4))
    for mentor in cohort.mentors[:3]:
        assert mel.post(f"/rounds/{cohort.r.id}/preferences", data={"mentor": mentor.id}).status_code == 303
    assert ranked(p) == [(1, "Mentor 0"), (2, "Mentor 1"), (3, "Mentor 2")]
    page = text(mel.post(f"/rounds/{cohort.r.id}/preferences",
                         data={"mentor": cohort.mentors[3].id, "mentor_q": "Mentor 3"}))
    assert "You have named 3 mentors already" in error_of(page, "mentor_q")
    assert 'value="Mentor 3"' in page  # the search as typed
    mel.post(f"/rounds/{cohort.r.id}/preferences", data={"remove": cohort.mentors[0].id})
    assert ranked(p) == [(1, "Mentor 1"), (2, "Mentor 2")]


@pytest.mark.parametrize("who, message", [
    ("mel", "You cannot prefer yourself"),
    ("twice", "is already your choice number 1"),
    ("mona", "Choose a mentor of this round"),  # a mentor, but not in this round
    ("excluded", "You asked never to be paired with Mentor 1"),
])
def test_a_preference_the_rules_refuse_says_why(app, p, cohort, who, message):
    services.add_preference(p.mel, cohort.r, cohort.mentors[0].id)
    services.add_exclusion(p.mel, cohort.r, cohort.mentors[1].id)
    target = {"mel": p.mel, "twice": cohort.mentors[0], "mona": p.mona, "excluded": cohort.mentors[1]}[who]
    page = text(log_in(app, p.mel).post(f"/rounds/{cohort.r.id}/preferences", data={"mentor": target.id}))
    assert message in error_of(page, "mentor_q").replace("&#39;", "'")
    assert ranked(p) == [(1, "Mentor 0")]


def test_only_a_mentee_names_preferred_mentors(p, cohort):
    with pytest.raises(RoundError, match="Preferred mentors are for mentees"):
        services.add_preference(cohort.mentors[0], cohort.r, cohort.mentors[1].id)


def test_a_member_lists_people_never_to_be_paired_with(app, p, cohort):
    mel = log_in(app, p.mel)
    page = text(mel.get(f"/rounds/{cohort.r.id}/join", query_string={"other_q": "otto"}))
    assert "Otto Other" in page and "Dee Deactivated" not in text(
        mel.get(f"/rounds/{cohort.r.id}/join", query_string={"other_q": "dee"}))
    assert mel.post(f"/rounds/{cohort.r.id}/exclusions", data={"other": p.otto.id}).status_code == 303
    assert [x.other_id for x in RoundExclusion.select()] == [p.otto.id]
    assert "already on your list" in error_of(text(mel.post(f"/rounds/{cohort.r.id}/exclusions",
                                                            data={"other": p.otto.id})), "other_q")
    assert "never paired with yourself" in error_of(text(mel.post(f"/rounds/{cohort.r.id}/exclusions",
                                                                  data={"other": p.mel.id})), "other_q")
    assert "Choose a member from the search" in error_of(text(mel.post(f"/rounds/{cohort.r.id}/exclusions",
                                                                       data={"other": p.dee.id})), "other_q")
    services.add_preference(p.mel, cohort.r, cohort.mentors[0].id)
    with pytest.raises(RoundError, match="one of your preferred mentors"):
        services.add_exclusion(p.mel, cohort.r, cohort.mentors[0].id)
    mel.post(f"/rounds/{cohort.r.id}/exclusions", data={"remove": p.otto.id})
    assert not RoundExclusion.select().exists()
    # Whom she listed stays out of the audit trail.
    assert all(str(p.otto.id) not in e.detail for e in AuditEvent.select().where(AuditEvent.action.contains("excl")))


def test_the_member_search_answers_htmx_with_its_results_only(app, p, cohort):
    page = text(log_in(app, p.mel).get(f"/rounds/{cohort.r.id}/join", query_string={"mentor_q": "Mentor 2"},
                                      headers={"HX-Request": "true", "HX-Target": "mentor_results"}))
    assert "Mentor 2" in page and "<h1>" not in page and "Mentor 1" not in page


def test_a_member_who_has_not_joined_cannot_name_anyone(app, p, cohort):
    response = log_in(app, p.otto).post(f"/rounds/{cohort.r.id}/preferences", data={"mentor": cohort.mentors[0].id},
                                       follow_redirects=True)
    assert "Join the round first" in text(response) and not RoundPreference.select().exists()


# --- round news ------------------------------------------------------------------------------------------------

def closing_rows():
    return sorted(n.recipient_id for n in Notification.select().where(Notification.kind == "round_closing"))


def test_closing_soon_goes_3_days_before_to_those_who_have_not_joined(p):
    r = make_round(p, Round.OPEN, closes=10)
    join_as(p, p.mel, r, mentee=True, seeks=["Leadership"])
    first_moment = dt.datetime.combine(r.closes_on - dt.timedelta(days=3), dt.time())
    assert news.write_closing(first_moment - dt.timedelta(microseconds=1)) == 0
    assert news.write_closing(first_moment) == 3
    # Not Mel (she joined), Ida (no profile) nor Dee (deactivated).
    assert closing_rows() == sorted([p.cora.id, p.mona.id, p.otto.id])
    assert news.write_closing(first_moment + dt.timedelta(hours=5)) == 0  # once per member
    last = dt.datetime.combine(r.closes_on, dt.time(23, 59))
    assert news.write_closing(last) == 0


def test_closing_soon_is_written_by_the_sweep_and_not_after_the_closing_day(p):
    r = make_round(p, Round.OPEN, closes=2)
    after = dt.datetime.combine(r.closes_on + dt.timedelta(days=1), dt.time())
    assert news.write_closing(after) == 0
    sweep.sweep(now=utcnow(), enqueue=lambda _id: None)
    assert set(closing_rows()) == {p.cora.id, p.mona.id, p.mel.id, p.otto.id}


def test_a_closed_round_sends_no_reminder(p):
    make_round(p, Round.MATCHING, closes=1)
    assert news.write_closing(utcnow()) == 0


def deliver_all(kind, now=None):
    rows = list(Notification.select().where(Notification.kind == kind))
    return {row.recipient_id: delivery.deliver(row.id, now) for row in rows}


def test_round_emails_arrive_while_they_still_hold(app, p, mailbox):
    r = make_round(p, Round.DRAFT, closes=2)
    services.move(p.cora, r, Round.OPEN)
    news.write_closing()
    join_as(p, p.otto, r, mentee=True, seeks=["Python"])  # joined since: no "closes soon" for him
    with app.test_request_context():
        deliver_all("round_opened")
        statuses = deliver_all("round_closing")
    assert statuses[p.otto.id] == Notification.SKIPPED and statuses[p.mel.id] == Notification.SENT
    message = mailbox.last_to("mel@example.org")
    assert "closes on" in message["Subject"] and "Spring" in message["Subject"]
    assert f"/rounds/{r.id}/join" in mailbox.text(message)
    opened = [m for m in mailbox.to("mona@example.org") if "Sign up for the pairing round" in m["Subject"]]
    assert len(opened) == 1 and "26 weeks" in mailbox.text(opened[0])


def test_round_open_news_is_skipped_once_sign_ups_closed(app, p):
    r = make_round(p)
    services.move(p.cora, r, Round.OPEN)
    services.move(p.cora, r, Round.MATCHING)
    with app.test_request_context():
        assert set(deliver_all("round_opened").values()) == {Notification.SKIPPED}


def test_published_news_names_the_partners(app, p, mailbox):
    r = make_round(p, Round.PUBLISHED)
    pair = Mentorship.create(mentor=p.mona, mentee=p.mel, round=r)
    news.published(r, p.mel.id, [pair.id])
    news.published(r, p.mona.id, [pair.id])
    news.published(r, p.otto.id, [], reason="no mentor in this round shares a language with you")
    assert not news.published(r, p.otto.id, [])  # once per member and round
    with app.test_request_context():
        assert set(deliver_all("round_published").values()) == {Notification.SENT}
    assert "You are mentored by Mona Mentor" in mailbox.text(mailbox.last_to("mel@example.org"))
    assert "You mentor Mel Mentee" in mailbox.text(mailbox.last_to("mona@example.org"))
    to_otto = mailbox.last_to("otto@example.org")
    assert "no partner for you this time" in to_otto["Subject"]
    assert "partner this time: no mentor in this round shares a language with you" in mailbox.text(to_otto)


def test_round_news_has_its_own_choices_on_the_settings_page(app, p):
    page = text(log_in(app, p.mel).get("/notifications/preferences"))
    assert "A pairing round opens for sign-ups" in page and "The pairs of a round you joined are out" in page
