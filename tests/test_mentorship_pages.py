"""The pair's space in the browser, the pair-level pages (journey 4): my mentorships, the pair's page
(partner card, goals edited in place, milestones ticked in place, the timeline, the overlap helper, the
flag notice for coordinators), ending the mentorship, closing reflections and staying in touch; who may
open what, every message on its field, and a pair page that runs as many queries with 200 meetings as with 1."""
import datetime as dt
import re
from types import SimpleNamespace

import pytest
from markupsafe import escape

from portal.mentorships import services as svc
from portal.mentorships import times
from portal.models import AuditEvent, Feedback, Meeting, Mentorship, Milestone, Notification, User, utcnow
from portal.requests import services as requests

HELP = "I lead a team of four for the first time and want to do it well."
SUCCESS = "Our weekly meeting runs itself and I delegate without worrying."
IN_PLACE = {"HX-Request": "true"}


def start_pair(mentor, mentee, topic):
    req = requests.send_request(mentee, mentor, [topic.id], HELP, SUCCESS, "video")
    return Mentorship.get_by_id(requests.accept(mentor, req).mentorship_id)


@pytest.fixture
def p(make_member, topics):
    """Ana (Berlin) mentors Mel (New York), her only place; Cora coordinates; Otto is another member."""
    t = topics
    mentor = make_member(name="Ana Berger", email="ana@example.org", time_zone="Europe/Berlin",
                         offers=[t["Leadership"]], capacity=1, headline="Engineering manager who likes first-timers",
                         languages=("de", "en"), availability_note="Weekdays 16:00–20:00")
    mentee = make_member(name="Mel Mentee", email="mel@example.org", time_zone="America/New_York",
                         seeks=[t["Leadership"]], headline="New team lead", languages=("en", "es"),
                         availability_note="Mornings 08:00–12:00")
    coordinator = make_member(name="Cora Coordinator", email="cora@example.org", role=User.COORDINATOR)
    other = make_member(name="Otto Other", email="otto@example.org", seeks=[t["Leadership"]])
    pair = start_pair(mentor, mentee, t["Leadership"])
    return SimpleNamespace(mentor=mentor, mentee=mentee, coordinator=coordinator, other=other, pair=pair, topics=t)


def page(response):
    return response.get_data(as_text=True)


def textarea(text):
    """How a text box shows what was typed."""
    return f">\r\n{escape(text)}</textarea>"


def fresh(row):
    return type(row).get_by_id(row.id)


def today(user):
    return times.today(user.time_zone, utcnow())


def schedule(p, days=10, at=dt.time(10, 0), actor=None):
    actor = actor or p.mentor
    return svc.schedule_meeting(actor, p.pair, today(actor) + dt.timedelta(days=days), at, 60, "video",
                                "https://meet.example.org/ana-mel", "", "Your first month as a lead")


def log(p, duration=60, actor=None):
    actor = actor or p.mentor
    return svc.log_meeting(actor, p.pair, today(actor), duration, [p.topics["Leadership"].id], "We talked.", "", "")


def section(html, element_id):
    """The element with that id (a section, form or article) as text, up to its closing tag."""
    match = re.search(rf'<(section|article|form|li) [^>]*id="{element_id}"', html)
    assert match, f"no element with id {element_id}"
    tag = match.group(1)
    depth, position = 0, match.start()
    for found in re.finditer(rf"<{tag}[\s>]|</{tag}>", html[match.start():]):
        depth += -1 if found.group(0).startswith("</") else 1
        if depth == 0:
            return html[position:match.start() + found.end()]
    raise AssertionError(f"element {element_id} is not closed")


def actions():
    return [(e.actor_id, e.action) for e in AuditEvent.select().order_by(AuditEvent.id)]


# --- my mentorships -------------------------------------------------------------------------------

def test_my_mentorships_lists_each_pair_with_its_meetings_and_the_next_one_in_both_zones(client, auth, p,
                                                                                         make_member):
    log(p, duration=45)
    log(p, duration=60)
    coming = schedule(p, days=10, at=dt.time(10, 0))
    earlier_mentor = make_member(name="Eve Earlier", email="eve@example.org", offers=[p.topics["Leadership"]])
    svc.end_mentorship(p.mentee, start_pair(earlier_mentor, p.mentee, p.topics["Leadership"]), "goals_met")

    auth.login("mel@example.org")
    html = page(client.get("/mentorships"))
    assert '<h1>My mentorships</h1>' in html and 'aria-current="page">My mentorships</a>' in html
    active, past = section(html, f"mentorship-{p.pair.id}"), html.split('<h2 id="past">Past</h2>', 1)[1]
    assert html.index('<h2 id="active">Active</h2>') < html.index('<h2 id="past">Past</h2>')
    assert f'href="/mentorships/{p.pair.id}">Mentorship with Ana Berger</a>' in active
    assert f'<a href="/members/{p.mentor.id}">Ana Berger</a>' in active and "is your mentor" in active
    assert f"since {times.when(p.pair.started_at, 'America/New_York', '%d %b %Y')}" in active
    assert "<dd>2 · 1.75 hours</dd>" in active
    mentee_time = times.when(coming.starts_at, "America/New_York", "%H:%M")
    assert (f"<dd>{times.when(coming.starts_at, 'America/New_York', '%a %d %b %Y')}, "
            f"{mentee_time} for you · 10:00 for Ana, Berlin</dd>") in active
    assert "Schedule a meeting" not in active
    assert "Mentorship with Eve Earlier" in past and "ended" in past and "<dd>0 · 0 hours</dd>" in past
    assert "Schedule a meeting" not in past


def test_a_pair_with_nothing_scheduled_is_prompted_to_schedule(client, auth, p):
    auth.login("ana@example.org")
    active = section(page(client.get("/mentorships")), f"mentorship-{p.pair.id}")
    assert "Nothing is scheduled with Mel Mentee." in active
    assert f'<a href="/mentorships/{p.pair.id}/meetings/new">Schedule a meeting</a>' in active
    assert "is your mentee" in active


def test_a_member_without_a_pair_is_pointed_to_the_mentors(client, auth, p):
    auth.login("otto@example.org")
    html = page(client.get("/mentorships"))
    assert "You have no mentorship yet." in html and 'href="/mentors" role="button">Find a mentor</a>' in html
    assert "Ana Berger" not in html and "Mel Mentee" not in html


# --- the pair's page ----------------------------------------------------------------------------------

def test_the_pair_page_shows_the_partner_goals_milestones_timeline_and_overlap(client, auth, p):
    svc.update_goals(p.mentor, p.pair, "Run **one-to-ones** well <script>alert(1)</script>")
    svc.add_milestone(p.mentee, p.pair, "First one-to-one with each report", today(p.mentee) + dt.timedelta(days=20))
    held = log(p)
    coming = schedule(p)
    auth.login("mel@example.org")
    html = page(client.get(f"/mentorships/{p.pair.id}"))
    assert "<h1>Mentorship with Ana Berger</h1>" in html and "Ana Berger mentors you" in html
    assert "1 meeting held, 1 hour." in html
    card = html.split('<h2 id="people-title">Your partner</h2>', 1)[1].split("</section>", 1)[0]
    assert "Engineering manager who likes first-timers" in card and "speaks German, English" in card
    assert "Local time now: <strong>" in card and "(Europe/Berlin); yours is" in card
    assert "ana@example.org" not in html  # contact details only when both agree to stay in touch
    goals = section(html, "goals")
    assert "Run <strong>one-to-ones</strong> well &lt;script&gt;" in goals and "<script>" not in goals
    assert "Last changed by Ana Berger on" in goals and f'href="/mentorships/{p.pair.id}/goals"' in goals
    milestones = section(html, "milestones")
    assert "To do:</span> First one-to-one with each report" in milestones and ">Mark done</button>" in milestones
    # The timeline: newest first, each meeting through the meetings' partial.
    assert html.index(f'id="meeting-{coming.id}"') < html.index(f'id="meeting-{held.id}"')
    assert f"Next meeting: {times.when(coming.starts_at, 'America/New_York', '%a %d %b %Y')}" in html
    # The helper for scheduling: the hours both profiles name overlap (one hour less in the weeks when
    # Europe and America change their clocks on different dates).
    overlap = html.split('<p class="overlap">', 1)[1].split("</p>", 1)[0]
    assert overlap.startswith(("Your days overlap 10:00–12:00 for you · 16:00–18:00 for Ana, Berlin.",
                               "Your days overlap 11:00–12:00 for you · 16:00–17:00 for Ana, Berlin.")), overlap
    assert f'href="/mentorships/{p.pair.id}/meetings/log">Log a meeting you held</a>' in overlap
    assert f'href="/mentorships/{p.pair.id}/end"' in html and "Clear the flag" not in html


def test_the_coordinator_reads_the_pair_without_controls(client, auth, p):
    svc.update_goals(p.mentor, p.pair, "Delegate more")
    svc.add_milestone(p.mentor, p.pair, "Delegate the weekly report")
    auth.login("cora@example.org")
    html = page(client.get(f"/mentorships/{p.pair.id}"))
    assert "<h1>Ana Berger mentors Mel Mentee</h1>" in html and '<h2 id="people-title">The partners</h2>' in html
    assert "New team lead" in html and "Engineering manager" in html
    assert "Delegate more" in html and "Delegate the weekly report" in html
    for control in ("Edit goals", "Mark done", "Add the milestone", "Schedule a meeting", "End the mentorship",
                    'class="overlap"'):
        assert control not in html, control


def partner_only_requests(p, milestone):
    base = f"/mentorships/{p.pair.id}"
    return [("GET", f"{base}/goals", {}), ("POST", f"{base}/goals", {"goals": "Changed"}),
            ("POST", f"{base}/milestones", {"title": "Changed"}),
            ("POST", f"{base}/milestones/{milestone.id}/done", {"done": "yes"}),
            ("POST", f"{base}/milestones/{milestone.id}/delete", {}),
            ("GET", f"{base}/end", {}), ("POST", f"{base}/end", {"reason": "goals_met"}),
            ("POST", f"{base}/reflection", {"reflection": "Changed"}),
            ("POST", f"{base}/stay-in-touch", {"consent": "yes"})]


def test_another_member_finds_nothing_and_a_coordinator_changes_nothing(client, auth, p):
    milestone = svc.add_milestone(p.mentor, p.pair, "Delegate the weekly report")
    svc.update_goals(p.mentor, p.pair, "Delegate more")
    before = actions()
    auth.login("otto@example.org")
    assert client.get(f"/mentorships/{p.pair.id}").status_code == 404
    assert client.post(f"/mentorships/{p.pair.id}/flag/clear").status_code == 404
    assert "Ana Berger" not in page(client.get("/mentorships"))
    for method, path, data in partner_only_requests(p, milestone):
        assert client.open(path, method=method, data=data).status_code == 404, path
        assert client.open(path, method=method, data=data, headers=dict(IN_PLACE, **{"HX-Target": "goals"})
                           ).status_code == 404, path
    auth.logout()
    auth.login("cora@example.org")
    for method, path, data in partner_only_requests(p, milestone):
        assert client.open(path, method=method, data=data).status_code == 403, path
    assert client.get("/mentorships/999999").status_code == 404
    assert actions() == before
    assert fresh(p.pair).goals == "Delegate more" and fresh(milestone).done_at is None
    assert fresh(p.pair).status == Mentorship.ACTIVE


# --- goals, in place and without JavaScript --------------------------------------------------------------

def test_goals_are_edited_in_place(client, auth, p):
    svc.update_goals(p.mentee, p.pair, "Delegate more")
    auth.login("ana@example.org")
    html = page(client.get(f"/mentorships/{p.pair.id}/goals", headers=dict(IN_PLACE, **{"HX-Target": "goals"})))
    assert html.lstrip().startswith('<section id="goals"') and "<h1>" not in html
    assert '<label for="goals-text">Our goals</label>' in html and textarea("Delegate more") in html
    assert f'hx-post="/mentorships/{p.pair.id}/goals" hx-target="#goals" hx-swap="outerHTML"' in html
    cancelled = page(client.get(f"/mentorships/{p.pair.id}", headers=dict(IN_PLACE, **{"HX-Target": "goals"})))
    assert cancelled.lstrip().startswith('<section id="goals"') and "<textarea" not in cancelled

    response = client.post(f"/mentorships/{p.pair.id}/goals", data={"goals": "- Delegate *more*\n- Say no"},
                           headers=dict(IN_PLACE, **{"HX-Target": "goals"}))
    html = page(response)
    assert response.status_code == 200 and html.lstrip().startswith('<section id="goals"')
    assert "<li>Delegate <em>more</em></li>" in html and "<textarea" not in html
    assert "Last changed by you on" in html
    assert '<p id="pair-status" hx-swap-oob="innerHTML">Your goals are saved.</p>' in html
    assert fresh(p.pair).goals == "- Delegate *more*\n- Say no"
    assert actions()[-1] == (p.mentor.id, "mentorship.goals_updated")


def test_goals_are_edited_without_javascript(client, auth, p):
    auth.login("mel@example.org")
    html = page(client.get(f"/mentorships/{p.pair.id}/goals"))
    assert "<h1>Mentorship with Ana Berger</h1>" in html and 'id="goals-text"' in html and "Save the goals" in html
    response = client.post(f"/mentorships/{p.pair.id}/goals", data={"goals": "Speak up in meetings"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/mentorships/{p.pair.id}#goals")
    html = page(client.get(f"/mentorships/{p.pair.id}"))
    assert "Your goals are saved." in html and "<p>Speak up in meetings</p>" in html


@pytest.mark.parametrize("headers", [None, "htmx"])
def test_too_long_goals_are_refused_on_the_field_with_the_text_kept(client, auth, p, headers):
    svc.update_goals(p.mentor, p.pair, "Before")
    auth.login("ana@example.org")
    typed = "Typed & kept. " + "x" * 5000
    response = client.post(f"/mentorships/{p.pair.id}/goals", data={"goals": typed},
                           headers=dict(IN_PLACE, **{"HX-Target": "goals"}) if headers else None)
    html = page(response)
    assert response.status_code == 200
    goals = section(html, "goals")
    assert ('<small id="goals-text-error" class="error">Keep the goals under 5000 characters (you wrote 5014).'
            '</small>') in goals
    assert 'aria-invalid="true"' in goals and textarea(typed) in goals
    assert html.lstrip().startswith('<section id="goals"') == bool(headers)
    assert fresh(p.pair).goals == "Before"


def test_an_ended_pairs_goals_cannot_be_edited(client, auth, p):
    svc.update_goals(p.mentor, p.pair, "Before")
    svc.end_mentorship(p.mentee, p.pair, "goals_met")
    auth.login("ana@example.org")
    response = client.get(f"/mentorships/{p.pair.id}/goals")
    assert response.status_code == 303
    assert svc.ENDED in page(client.get(response.headers["Location"]))
    assert client.post(f"/mentorships/{p.pair.id}/goals", data={"goals": "After"}).status_code == 303
    # A page left open: the goals part says why, instead of the whole page swapped into it.
    html = page(client.post(f"/mentorships/{p.pair.id}/goals", data={"goals": "After"},
                            headers=dict(IN_PLACE, **{"HX-Target": "goals"})))
    assert html.lstrip().startswith('<section id="goals"') and svc.ENDED in html and "<textarea" not in html
    assert fresh(p.pair).goals == "Before"


# --- milestones ------------------------------------------------------------------------------------------

def test_milestones_are_added_ticked_by_either_partner_and_deleted_without_javascript(client, auth, p):
    due = today(p.mentee) + dt.timedelta(days=14)
    auth.login("mel@example.org")
    response = client.post(f"/mentorships/{p.pair.id}/milestones",
                           data={"title": "Run a retrospective", "due_on": due.isoformat()})
    assert response.status_code == 303 and response.headers["Location"].endswith("#milestones")
    milestone = Milestone.get()
    assert (milestone.title, milestone.due_on, milestone.created_by_id) == ("Run a retrospective", due, p.mentee.id)
    html = page(client.get(f"/mentorships/{p.pair.id}"))
    assert "Milestone “Run a retrospective” added." in html
    assert re.search(rf"To do:</span> Run a retrospective</span>\s*<small>due {due:%d %b %Y}</small>", html)
    auth.logout()

    auth.login("ana@example.org")
    client.post(f"/mentorships/{p.pair.id}/milestones/{milestone.id}/done", data={"done": "yes"})
    assert fresh(milestone).done_by_id == p.mentor.id
    item = section(page(client.get(f"/mentorships/{p.pair.id}")), f"milestone-{milestone.id}")
    assert "Done:</span>" in item and "done by you on" in item and ">Mark not done</button>" in item
    client.post(f"/mentorships/{p.pair.id}/milestones/{milestone.id}/done", data={"done": "no"})
    assert fresh(milestone).done_at is None
    response = client.post(f"/mentorships/{p.pair.id}/milestones/{milestone.id}/delete")
    assert response.status_code == 303 and Milestone.select().count() == 0
    assert "The milestone is deleted." in page(client.get(f"/mentorships/{p.pair.id}"))
    assert [a for _, a in actions() if a.startswith("milestone.")] == [
        "milestone.added", "milestone.done", "milestone.undone", "milestone.deleted"]


def test_a_milestone_is_ticked_and_unticked_in_place(client, auth, p):
    milestone = svc.add_milestone(p.mentee, p.pair, "Run a retrospective")
    auth.login("ana@example.org")
    target = dict(IN_PLACE, **{"HX-Target": "milestones"})
    html = page(client.post(f"/mentorships/{p.pair.id}/milestones/{milestone.id}/done", data={"done": "yes"},
                            headers=target))
    assert html.lstrip().startswith('<section id="milestones"') and "<h1>" not in html
    assert "Done:</span> Run a retrospective" in html and ">Mark not done</button>" in html
    assert '<p id="pair-status" hx-swap-oob="innerHTML">“Run a retrospective” is done.</p>' in html
    assert fresh(milestone).done_by_id == p.mentor.id
    html = page(client.post(f"/mentorships/{p.pair.id}/milestones/{milestone.id}/done", data={"done": "no"},
                            headers=target))
    assert "To do:</span> Run a retrospective" in html and "“Run a retrospective” is not done yet." in html
    assert fresh(milestone).done_at is None


def test_a_milestone_the_partner_deleted_meanwhile_is_explained_in_place(client, auth, p):
    milestone = svc.add_milestone(p.mentee, p.pair, "Run a retrospective")
    svc.delete_milestone(p.mentee, p.pair, milestone)
    auth.login("ana@example.org")
    response = client.post(f"/mentorships/{p.pair.id}/milestones/{milestone.id}/done", data={"done": "yes"},
                           headers=dict(IN_PLACE, **{"HX-Target": "milestones"}))
    assert response.status_code == 200
    assert '<p class="flash flash-error" role="alert">This milestone no longer exists.</p>' in page(response)
    response = client.post(f"/mentorships/{p.pair.id}/milestones/{milestone.id}/done", data={"done": "yes"})
    assert response.status_code == 303
    assert "This milestone no longer exists." in page(client.get(response.headers["Location"]))


@pytest.mark.parametrize("headers", [None, "htmx"])
@pytest.mark.parametrize("title, due_on, field, message", [
    ("", "", "title", "Give the milestone a title."),
    ("x" * 201, "", "title", "Keep the title under 200 characters (you wrote 201)."),
    ("Typed & kept", "yesterday", "due_on", "Enter the due date as a date, such as 2026-04-30, or leave it empty."),
    ("Typed & kept", "PAST", "due_on", "Choose a due date from today on, or leave it empty."),
])
def test_a_bad_milestone_is_explained_on_its_field_with_what_was_typed_kept(client, auth, p, headers, title, due_on,
                                                                           field, message):
    if due_on == "PAST":
        due_on = (today(p.mentor) - dt.timedelta(days=1)).isoformat()
    auth.login("ana@example.org")
    response = client.post(f"/mentorships/{p.pair.id}/milestones", data={"title": title, "due_on": due_on},
                           headers=dict(IN_PLACE, **{"HX-Target": "milestones"}) if headers else None)
    html = page(response)
    assert response.status_code == 200
    milestones = section(html, "milestones")
    assert f'<small id="{field}-error" class="error">{message}</small>' in milestones
    assert f'name="title" type="text" value="{title.replace("&", "&amp;")}"' in milestones
    assert f'value="{due_on}"' in milestones
    assert html.lstrip().startswith('<section id="milestones"') == bool(headers)
    assert Milestone.select().count() == 0


def test_a_pair_keeps_at_most_50_milestones(client, auth, p):
    Milestone.insert_many([{"mentorship": p.pair.id, "title": f"Step {i}"} for i in range(svc.MAX_MILESTONES)]
                          ).execute()
    auth.login("ana@example.org")
    html = page(client.post(f"/mentorships/{p.pair.id}/milestones", data={"title": "One more"},
                            headers=dict(IN_PLACE, **{"HX-Target": "milestones"})))
    assert "A pair keeps at most 50 milestones: delete one you no longer need first." in html
    response = client.post(f"/mentorships/{p.pair.id}/milestones", data={"title": "One more"})
    assert response.status_code == 303
    assert "A pair keeps at most 50 milestones" in page(client.get(response.headers["Location"]))
    assert Milestone.select().count() == svc.MAX_MILESTONES


@pytest.mark.csrf
def test_changes_in_place_carry_the_csrf_header_of_the_layout(client, p):
    milestone = svc.add_milestone(p.mentee, p.pair, "Run a retrospective")
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page(client.get("/login"))).group(1)
    client.post("/login", data={"email": "ana@example.org", "password": "correct horse battery", "csrf_token": token})
    html = page(client.get(f"/mentorships/{p.pair.id}"))
    header = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', html).group(1)
    # The goals block and the milestones block sit inside <main>, which carries the header.
    main = html.split('<main id="main"', 1)[1]
    assert 'id="goals"' in main and 'id="milestones"' in main
    tick, goals = f"/mentorships/{p.pair.id}/milestones/{milestone.id}/done", f"/mentorships/{p.pair.id}/goals"
    assert client.post(tick, data={"done": "yes"}, headers=dict(IN_PLACE, **{"HX-Target": "milestones"})
                       ).status_code == 400
    assert client.post(goals, data={"goals": "New"}, headers=dict(IN_PLACE, **{"HX-Target": "goals"})
                       ).status_code == 400
    assert fresh(milestone).done_at is None and fresh(p.pair).goals == ""
    with_header = dict(IN_PLACE, **{"X-CSRFToken": header})
    assert client.post(tick, data={"done": "yes"}, headers=dict(with_header, **{"HX-Target": "milestones"})
                       ).status_code == 200
    assert client.post(goals, data={"goals": "New"}, headers=dict(with_header, **{"HX-Target": "goals"})
                       ).status_code == 200
    assert fresh(milestone).done_by_id == p.mentor.id and fresh(p.pair).goals == "New"


# --- the flag, for coordinators ------------------------------------------------------------------------------

def test_a_coordinator_sees_the_flag_and_clears_it_while_the_partners_never_see_it(client, auth, p):
    held = log(p)
    svc.give_feedback(p.mentee, held, 2, "Hard to talk", Feedback.COORDINATORS, "no")
    auth.login("ana@example.org")
    html = page(client.get(f"/mentorships/{p.pair.id}"))
    assert "not a good fit" not in html.lower() and "Hard to talk" not in html and "Clear the flag" not in html
    assert client.post(f"/mentorships/{p.pair.id}/flag/clear").status_code == 403
    auth.logout()
    auth.login("cora@example.org")
    html = page(client.get(f"/mentorships/{p.pair.id}"))
    flag = html.split('<aside class="notice flagged"', 1)[1].split("</aside>", 1)[0]
    assert "Mel Mentee answered “no” to “Is this a good fit?”" in flag and "Clear the flag</button>" in flag
    response = client.post(f"/mentorships/{p.pair.id}/flag/clear")
    assert response.status_code == 303
    html = page(client.get(response.headers["Location"]))
    assert "The flag is cleared." in html and 'class="notice flagged"' not in html
    assert fresh(p.pair).flagged_at is None and actions()[-1] == (p.coordinator.id, "mentorship.flag_cleared")
    response = client.post(f"/mentorships/{p.pair.id}/flag/clear")
    assert "This pair is not flagged." in page(client.get(response.headers["Location"]))


# --- ending well ---------------------------------------------------------------------------------------------

def test_the_end_page_says_what_ending_means_and_offers_the_reasons(client, auth, p):
    auth.login("mel@example.org")
    html = page(client.get(f"/mentorships/{p.pair.id}/end"))
    assert "<h1>End the mentorship with Ana Berger</h1>" in html
    assert "meetings still to come are cancelled" in html and "stay readable to both of you" in html
    assert "<legend>Why does the mentorship end?</legend>" in html
    for code, label in svc.END_REASONS:
        assert re.search(rf'<input id="reason-\d" name="reason" type="radio" value="{code}"> {label}</label>', html)
    assert '<label for="reflection">Your closing reflection</label>' in html
    assert 'id="stay_in_touch"' in html and "I would like to stay in touch" in html


def test_ending_frees_the_place_keeps_the_history_and_tells_the_partner(client, auth, p):
    svc.update_goals(p.mentor, p.pair, "Delegate more")
    svc.add_milestone(p.mentor, p.pair, "Delegate the weekly report")
    held = log(p)
    coming = schedule(p)
    auth.login("otto@example.org")
    assert "Ana Berger" not in page(client.get("/mentors"))  # her only place is taken
    auth.logout()

    auth.login("mel@example.org")
    response = client.post(f"/mentorships/{p.pair.id}/end", data={
        "reason": "goals_met", "reflection": "I run my team's meetings now. Thank you!", "stay_in_touch": "y"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/mentorships/{p.pair.id}")
    m = fresh(p.pair)
    assert (m.status, m.end_reason, m.ended_by_id, m.mentee_stays_in_touch) == ("ended", "goals_met", p.mentee.id,
                                                                                  True)
    assert Meeting.get_by_id(coming.id).status == Meeting.CANCELLED
    assert Notification.select().where((Notification.kind == "mentorship_ended")
                                       & (Notification.recipient == p.mentor.id)).count() == 1
    html = page(client.get(response.headers["Location"]))
    assert "Your mentorship with Ana Berger has ended." in html
    ending = section(html, "ending")
    assert "Mel Mentee ended it on" in ending and "Reason: <strong>Goals met</strong>" in ending
    assert "I run my team&#39;s meetings now. Thank you!" in ending and "Your reflection" in ending
    assert "once Ana Berger agrees too" in ending
    # The history stays readable; nothing can be changed.
    assert "Delegate more" in html and "Delegate the weekly report" in html and f'id="meeting-{held.id}"' in html
    for control in ("Edit goals", "Mark done", "Add the milestone", "Schedule a meeting", "End the mentorship"):
        assert control not in html, control
    again = page(client.get(f"/mentorships/{p.pair.id}/end"))
    assert "This mentorship has already ended (Goals met)." in again and "<form" not in again.split("<main", 1)[1]
    past = page(client.get("/mentorships"))
    assert '<h2 id="past">Past</h2>' in past and "Nothing is scheduled" not in past
    auth.logout()

    auth.login("otto@example.org")
    assert "Ana Berger" in page(client.get("/mentors"))  # her place is free again


@pytest.mark.parametrize("data, field, message", [
    ({"reflection": "Typed & kept"}, "reason", "Choose why the mentorship ends."),
    ({"reason": "sulking", "reflection": "Typed & kept"}, "reason", "Choose why the mentorship ends."),
    ({"reason": "other", "reflection": "   "}, "reflection", "Say in a few words why the mentorship ends."),
    ({"reason": "goals_met", "reflection": "Typed & kept " + "x" * 3000}, "reflection",
     "Keep your reflection under 3000 characters (you wrote 3013)."),
])
def test_a_bad_ending_is_explained_on_its_field_with_what_was_typed_kept(client, auth, p, data, field, message):
    auth.login("ana@example.org")
    response = client.post(f"/mentorships/{p.pair.id}/end", data=dict(data, stay_in_touch="y"))
    html = page(response)
    assert response.status_code == 200
    assert f'<small id="{field}-error" class="error">{message}</small>' in html
    assert textarea(data["reflection"]) in html
    assert '<input checked id="stay_in_touch" name="stay_in_touch" role="switch" type="checkbox" value="y">' in html
    if data.get("reason") == "other":
        assert '<input checked id="reason-3" name="reason" type="radio" value="other">' in html
    assert fresh(p.pair).status == Mentorship.ACTIVE


def test_the_other_partner_adds_a_reflection_and_both_choose_to_stay_in_touch(client, auth, p):
    svc.end_mentorship(p.mentee, p.pair, "no_longer_able", "New job, no time.", stay_in_touch=True)
    auth.login("ana@example.org")
    html = page(client.get(f"/mentorships/{p.pair.id}"))
    ending = section(html, "ending")
    assert "Mel Mentee ended it on" in ending and "Reason: <strong>No longer able to continue</strong>" in ending
    assert "New job, no time." in ending and "Mel Mentee’s reflection" in ending
    assert "Mel Mentee would like to stay in touch." in ending and "mel@example.org" not in html

    response = client.post(f"/mentorships/{p.pair.id}/reflection", data={"reflection": "  Proud of Mel.  "})
    assert response.status_code == 303 and fresh(p.pair).mentor_reflection == "Proud of Mel."
    html = page(client.get(response.headers["Location"]))
    assert "Your reflection is saved." in html and "Proud of Mel.</blockquote>" in html
    assert textarea("Proud of Mel.") in html

    response = client.post(f"/mentorships/{p.pair.id}/stay-in-touch", data={"consent": "yes"})
    html = page(client.get(response.headers["Location"]))
    assert "You both want to stay in touch" in html
    assert '<a href="mailto:mel@example.org">mel@example.org</a>' in html
    auth.logout()
    auth.login("mel@example.org")
    assert '<a href="mailto:ana@example.org">ana@example.org</a>' in page(client.get(f"/mentorships/{p.pair.id}"))
    response = client.post(f"/mentorships/{p.pair.id}/stay-in-touch", data={"consent": "no"})
    html = page(client.get(response.headers["Location"]))
    assert "You no longer share your contact details with Ana Berger." in html and "ana@example.org" not in html
    assert fresh(p.pair).mentee_stays_in_touch is False
    auth.logout()
    auth.login("ana@example.org")
    assert "mel@example.org" not in page(client.get(f"/mentorships/{p.pair.id}"))
    auth.logout()
    auth.login("cora@example.org")
    html = page(client.get(f"/mentorships/{p.pair.id}"))
    assert "Proud of Mel." in html and "New job, no time." in html and "Save my reflection" not in html


def test_a_too_long_reflection_is_refused_on_its_field_and_none_before_the_end(client, auth, p):
    auth.login("ana@example.org")
    response = client.post(f"/mentorships/{p.pair.id}/reflection", data={"reflection": "Too early"})
    assert response.status_code == 303
    assert "A closing reflection is written when the mentorship ends." in page(
        client.get(response.headers["Location"]))
    svc.end_mentorship(p.mentee, p.pair, "goals_met")
    typed = "Typed & kept " + "x" * 3000
    html = page(client.post(f"/mentorships/{p.pair.id}/reflection", data={"reflection": typed}))
    ending = section(html, "ending")
    assert ('<small id="reflection-error" class="error">Keep your reflection under 3000 characters '
            '(you wrote 3013).</small>') in ending
    assert textarea(typed) in ending
    assert fresh(p.pair).mentor_reflection == ""


# --- a fixed number of queries --------------------------------------------------------------------------

def fill(p, count):
    """``count`` held meetings with a topic and both partners' feedback, and milestones, in a few statements."""
    now = utcnow()
    rows = [dict(mentorship=p.pair.id, status=Meeting.HELD, held_on=today(p.mentor), duration_minutes=60,
                 logged_by=p.mentor.id, logged_at=now, ics_uid=f"fill-{p.pair.id}-{i}@test", created_at=now,
                 updated_at=now, notes=f"Meeting {i}") for i in range(count)]
    Meeting.insert_many(rows).execute()
    ids = [m.id for m in Meeting.select(Meeting.id).where(Meeting.ics_uid.startswith("fill-"))]
    from portal.models import MeetingTopic, PrivateNote

    MeetingTopic.insert_many([dict(meeting=i, topic=p.topics["Leadership"].id) for i in ids]).execute()
    Feedback.insert_many([dict(meeting=i, author=a.id, rating=4, visibility=v, created_at=now, updated_at=now)
                          for i in ids for a, v in ((p.mentor, "partner"), (p.mentee, "coordinators"))]).execute()
    PrivateNote.insert_many([dict(meeting=i, author=p.mentor.id, text="mine", created_at=now, updated_at=now)
                             for i in ids]).execute()
    Milestone.insert_many([dict(mentorship=p.pair.id, title=f"M{i}", done_by=p.mentee.id, done_at=now,
                                created_at=now) for i in range(count // 10)]).execute()
    return ids


def pair_page_queries(client, p, count_queries):
    with count_queries() as queries:
        response = client.get(f"/mentorships/{p.pair.id}")
    assert response.status_code == 200
    return len(queries), page(response)


@pytest.mark.parametrize("who", ["ana@example.org", "cora@example.org"])
def test_the_pair_page_runs_as_many_queries_with_200_meetings_as_with_1(client, auth, p, count_queries, who):
    coming = schedule(p)
    svc.update_goals(p.mentor, p.pair, "Delegate more")
    auth.login(who)
    fill(p, 1)
    few, html = pair_page_queries(client, p, count_queries)
    Meeting.delete().where(Meeting.ics_uid.startswith("fill-")).execute()
    ids = fill(p, 200)
    many, html = pair_page_queries(client, p, count_queries)
    assert many == few, (few, many)
    assert all(f'id="meeting-{i}"' in html for i in ids) and f'id="meeting-{coming.id}"' in html
    assert html.count("<li id=\"milestone-") == 20


def test_my_mentorships_runs_a_fixed_number_of_queries(client, auth, p, count_queries):
    auth.login("ana@example.org")
    with count_queries() as queries:
        client.get("/mentorships")
    few = len(queries)
    fill(p, 200)
    schedule(p)
    with count_queries() as queries:
        html = page(client.get("/mentorships"))
    assert len(queries) == few and "<dd>200 · 200 hours</dd>" in html
