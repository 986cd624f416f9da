"""Mentors browsing members who seek mentoring: /mentees with the filters, ranking and reasons of /mentors,
seen from the mentor's side; what already links me with a member; the htmx partial and the query count."""
import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from portal.models import ConnectionRequest, Mentorship, User
from portal.requests import services as requests

CARD_NAME = re.compile(r'<h2><a href="/members/\d+">([^<]+)</a></h2>')
HTMX = {"HX-Request": "true", "HX-Target": "results"}
HELP = "I can help you lead your first team with confidence."
SUCCESS = "You run your weekly meeting and give feedback that lands."

VISIBLE = ["Ada Apprentice", "Bo Beginner", "Cy Senior", "Dee Peer"]


def names(response):
    """The names on the cards, in page order."""
    assert response.status_code == 200, response.status_code
    return [html.unescape(n) for n in CARD_NAME.findall(response.get_data(as_text=True))]


def card(page, name):
    """The HTML of one member's card."""
    start = page.index(f">{name}</a></h2>")
    return page[start:page.index("</article>", start)]


@pytest.fixture
def program(client, auth, make_member, topics):
    """A senior mentor in Berlin who offers Python and Leadership, and members to find (or not)."""
    t = topics
    me = make_member(email="me@example.org", name="Mona Mentor", time_zone="Europe/Berlin", job_level="senior",
                     organization="Initech", offers=[t["Python"], t["Leadership"]], seeks=[t["Negotiation"]],
                     capacity=3, languages=["en"])
    people = {
        "Ada Apprentice": make_member(
            name="Ada Apprentice", seeks=[t["Python"], t["Leadership"]], job_level="mid", time_zone="Europe/Berlin",
            organization="Analytical Engines", industry="technology", region="europe", country="DE",
            headline="Wants to write better code", languages=["en", "de"], password=None),
        "Bo Beginner": make_member(
            name="Bo Beginner", email="bo@example.org", seeks=[t["Python"]], job_level="early",
            time_zone="America/New_York", organization="Globex", industry="finance", region="north_america",
            country="US", headline="First job in data", languages=["en", "es"]),
        # More senior than me, and in a zone where I sleep: reverse mentoring, same organization.
        "Cy Senior": make_member(
            name="Cy Senior", email="cy@example.org", seeks=[t["Leadership"]], offers=[t["Negotiation"]],
            job_level="executive", time_zone="Pacific/Auckland", organization=" initech", industry="health",
            region="oceania", country="NZ", headline="Runs a hospital", languages=["en"]),
        "Dee Peer": make_member(
            name="Dee Peer", seeks=[t["Public speaking"]], job_level="senior", time_zone="Europe/Paris",
            organization="Other Co", industry="consulting", region="europe", country="FR",
            headline="Shy on stage", languages=["en", "fr"], password=None),
        # Shares no language with me: left out of "best match", listed by name.
        "Fran Francophone": make_member(
            name="Fran Francophone", seeks=[t["Python"]], job_level="mid", time_zone="Europe/Paris",
            organization="Globex", region="europe", country="FR", languages=["fr"], password=None),
        # Never listed:
        "Nina Mentor": make_member(name="Nina Mentor", offers=[t["Python"]], headline="Only mentors", password=None),
        "Ian Inactive": make_member(name="Ian Inactive", seeks=[t["Python"]], active=False, password=None),
        "Ivy Incomplete": make_member(name="Ivy Incomplete", seeks=[t["Python"]], completed=False, password=None),
    }
    assert auth.login("me@example.org").status_code == 302
    return me, people


# --- who is listed, ranked and explained from the mentor's side -------------------------------

def test_best_match_ranks_members_who_seek_mentoring_from_my_side(client, program):
    response = client.get("/mentees")
    assert names(response) == VISIBLE  # 11, 7, 4 and 3 points
    page = response.get_data(as_text=True)
    assert "<h1>Find a mentee</h1>" in page and "4 mentees found" in page
    assert ("<strong>Why (score 11):</strong> seeks 2 of your 2 topics: Leadership, Python · 1 level more junior · "
            "10 h overlap in working hours · different organization") in card(page, "Ada Apprentice")
    assert ("<strong>Why (score 7):</strong> seeks 1 of your 2 topics: Python · 2 levels more junior · "
            "4 h overlap in working hours · different organization") in card(page, "Bo Beginner")
    cy = card(page, "Cy Senior")
    assert ("seeks 1 of your 2 topics: Leadership · reverse mentoring: senior to you, and seeks your topic · "
            "no overlap in working hours") in cy
    assert "different organization" not in cy
    assert "seeks none of the topics you offer" in card(page, "Dee Peer")
    # Cards show what they seek, not what they offer.
    assert '<ul class="tags" aria-label="Wants to learn about"><li>Leadership</li></ul>' in cy
    assert "Negotiation" not in cy


def test_the_pair_scores_the_same_from_both_sides(client, auth, program):
    page = client.get("/mentees").get_data(as_text=True)
    assert "Why (score 7)" in card(page, "Bo Beginner")
    client.post("/logout")
    auth.login("bo@example.org")
    page = client.get("/mentors").get_data(as_text=True)
    assert ("<strong>Why (score 7):</strong> 1 of your 1 topics: Python · 2 levels more senior · "
            "4 h overlap in working hours · different organization") in card(page, "Mona Mentor")


def test_never_listed_whatever_the_filters(client, program):
    for query in ("", "?sort=name", "?sort=recent", "?q=Mentor", "?q=Inactive&sort=name", "?q=Incomplete",
                  "?show_full=y&sort=name"):
        listed = names(client.get("/mentees" + query))
        assert not {"Mona Mentor", "Nina Mentor", "Ian Inactive", "Ivy Incomplete"} & set(listed), query
    assert names(client.get("/mentees?sort=name")) == VISIBLE[:2] + ["Cy Senior", "Dee Peer", "Fran Francophone"]


@pytest.mark.parametrize("query, expected", [
    ("q=apprentice", ["Ada Apprentice"]),            # name
    ("q=hospital", ["Cy Senior"]),                   # headline
    ("q=globex", ["Bo Beginner", "Fran Francophone"]),  # organization
    ("q=speaking", ["Dee Peer"]),                    # a topic they seek
    ("q=negotiation", []),                           # Cy offers it, nobody seeks it
    ("level=early", ["Bo Beginner"]),
    ("industry=health", ["Cy Senior"]),
    ("region=europe", ["Ada Apprentice", "Dee Peer", "Fran Francophone"]),
    ("language=es", ["Bo Beginner"]),
    ("overlap=y", ["Ada Apprentice", "Bo Beginner", "Dee Peer", "Fran Francophone"]),  # not Auckland
    ("overlap=y&region=europe&language=fr", ["Dee Peer", "Fran Francophone"]),
])
def test_each_filter(client, program, query, expected):
    assert names(client.get(f"/mentees?sort=name&{query}")) == expected


def test_the_topic_filter_finds_who_seeks_it(client, program, topics):
    assert names(client.get(f"/mentees?sort=name&topic={topics['Python'].id}")) == [
        "Ada Apprentice", "Bo Beginner", "Fran Francophone"]
    assert names(client.get(f"/mentees?topic={topics['Python'].id}")) == ["Ada Apprentice", "Bo Beginner"]
    assert names(client.get(f"/mentees?topic={topics['Negotiation'].id}")) == []


def test_the_form_has_no_capacity_switch_and_an_empty_state_of_its_own(client, program):
    page = client.get("/mentees?q=zzzz").get_data(as_text=True)
    assert 'name="show_full"' not in page and ">Show mentees</button>" in page
    assert "0 mentees found" in page and "No mentee matches all of these filters" in page
    assert "Try removing a filter." in page and "no free place" not in page
    assert 'href="/mentees">Clear all filters</a>' in page


# --- cards: offer, or what already links us --------------------------------------------------

def test_cards_link_to_the_profile_and_to_an_offer(client, program):
    _, people = program
    ada = card(client.get("/mentees").get_data(as_text=True), "Ada Apprentice")
    assert f'href="/members/{people["Ada Apprentice"].id}/offer"' in ada and "Offer mentoring" in ada


def test_a_card_says_what_already_links_us_instead_of_offering(client, program, topics):
    me, people = program
    sent = requests.send_offer(me, people["Bo Beginner"], [topics["Python"].id], HELP, SUCCESS, "video")
    asked = requests.send_request(people["Cy Senior"], me, [topics["Leadership"].id], HELP, SUCCESS, "video")
    Mentorship.create(mentor=me, mentee=people["Dee Peer"])
    Mentorship.create(mentor=me, mentee=people["Ada Apprentice"], status=Mentorship.ENDED)  # over: no link
    page = client.get("/mentees").get_data(as_text=True)
    bo, cy, dee, ada = (card(page, n) for n in ("Bo Beginner", "Cy Senior", "Dee Peer", "Ada Apprentice"))
    assert "You offered to mentor Bo Beginner: your offer is open." in bo
    assert f'href="/requests#request-{sent.id}">See it on your requests page' in bo
    assert "Cy Senior asks you for mentoring." in cy
    assert f'href="/requests#request-{asked.id}">Answer on your requests page' in cy
    assert "You mentor Dee Peer." in dee
    for linked in (bo, cy, dee):
        assert "/offer" not in linked
    assert "/offer" in ada and 'class="connection"' not in ada
    # Once the offer is withdrawn, Bo can be asked again.
    requests.withdraw(me, sent)
    assert "/offer" in card(client.get("/mentees").get_data(as_text=True), "Bo Beginner")


def test_mentors_cards_say_it_too(client, auth, program, topics):
    me, people = program
    requests.send_offer(me, people["Bo Beginner"], [topics["Python"].id], HELP, SUCCESS, "video")
    client.post("/logout")
    auth.login("bo@example.org")
    page = client.get("/mentors").get_data(as_text=True)
    assert "Mona Mentor offers to mentor you." in card(page, "Mona Mentor")


# --- who browses ---------------------------------------------------------------------------

def test_the_navigation_offers_it_to_mentors_only(client, auth, program):
    page = client.get("/mentees").get_data(as_text=True)
    assert '<a href="/mentees" aria-current="page">Find a mentee</a>' in page
    assert '<a href="/mentees" >Find a mentee</a>' in client.get("/mentors").get_data(as_text=True)
    client.post("/logout")
    auth.login("bo@example.org")
    assert "Find a mentee" not in client.get("/mentors").get_data(as_text=True)


def test_a_member_who_does_not_mentor_is_told_how_to_start_and_still_sees_who_is_looking(client, auth, program):
    client.post("/logout")
    auth.login("bo@example.org")
    response = client.get("/mentees?sort=name")
    page = response.get_data(as_text=True)
    assert "You do not offer mentoring, so you cannot offer to mentor these members yet." in page
    assert 'href="/profile/edit#offers_mentoring">your profile</a>' in page
    # Mona mentors and seeks mentoring too; Bo is not listed to himself.
    assert names(response) == ["Ada Apprentice", "Cy Senior", "Dee Peer", "Fran Francophone", "Mona Mentor"]
    assert "Offer mentoring" not in page and "/offer" not in page


# --- page or partial, pages ----------------------------------------------------------------

def test_the_htmx_partial_is_the_list_alone_and_announces_its_count(client, program):
    full = client.get("/mentees?region=europe&sort=name")
    partial = client.get("/mentees?region=europe&sort=name", headers=HTMX)
    fragment = partial.get_data(as_text=True)
    assert "<html" in full.get_data(as_text=True) and "<html" not in fragment and "<form" not in fragment
    assert names(partial) == names(full) == ["Ada Apprentice", "Dee Peer", "Fran Francophone"]
    assert '<p id="results-status" hx-swap-oob="innerHTML">3 mentees found</p>' in fragment
    assert "Offer mentoring" in fragment
    vary = {v.strip() for value in partial.headers.get_all("Vary") for v in value.split(",")}
    assert "HX-Request" in vary


def test_pages_keep_the_filters(app, client, program):
    app.config["BROWSE_PAGE_SIZE"] = 2
    page = client.get("/mentees?sort=name&language=en").get_data(as_text=True)
    assert "4 mentees found · page 1 of 2" in page
    [href] = re.findall(r'<a href="([^"]+)" hx-get="[^"]+"[^>]*rel="next"', page)
    url = urlsplit(html.unescape(href))
    assert url.path == "/mentees" and parse_qs(url.query) == {"page": ["2"], "sort": ["name"], "language": ["en"]}
    assert names(client.get(html.unescape(href), headers=HTMX)) == ["Cy Senior", "Dee Peer"]


@pytest.mark.parametrize("query", ["topic=abc", "level=xyz", "sort=evil", "page=-3", "page=1e9", "q=%00",
                                   "q=" + "x" * 500])
def test_garbage_values_never_fail(client, program, query):
    for headers in ({}, HTMX):
        response = client.get(f"/mentees?{query}", headers=headers)
        assert response.status_code == 200
        assert re.search(r"\d+ mentees? found", response.get_data(as_text=True))


def test_anonymous_is_sent_to_login(client, program):
    client.post("/logout")
    response = client.get("/mentees")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


# --- a fixed number of queries ------------------------------------------------------------------

def _count(app, client, auth, count_queries, make_member, topics, mentees, page_size):
    me = make_member(email="me@example.org", name="Me", offers=[topics["Python"], topics["Leadership"]],
                     capacity=9, languages=["en"], organization="Initech", job_level="senior")
    for n in range(mentees):
        mentee = make_member(name=f"Mentee {n:02d}", email=f"mentee{n}@example.org", job_level="early",
                             seeks=[topics["Python"], topics["Leadership"]] if n % 2 else [topics["Python"]],
                             languages=["en", "de"], time_zone=["Europe/Paris", "America/New_York"][n % 2],
                             organization=f"Org {n % 4}", password=None)
        if n % 5 == 0:
            Mentorship.create(mentor=me, mentee=mentee)
        elif n % 5 == 1:
            ConnectionRequest.create(requester=mentee, mentor=me, mentee=mentee, help_wanted=HELP,
                                     success_looks_like=SUCCESS)
    assert auth.login("me@example.org").status_code == 302
    app.config["BROWSE_PAGE_SIZE"] = page_size

    def queries(url, headers=None):
        with count_queries() as seen:
            response = client.get(url, headers=headers or {})
        assert names(response), url
        return len(seen)

    return {"match": queries(f"/mentees?topic={topics['Python'].id}&language=en&overlap=y&q=mentee&level=early"),
            "match, no filter": queries("/mentees"),
            "name": queries("/mentees?sort=name&region=europe"),
            "partial": queries("/mentees?page=2", HTMX)}


def test_the_number_of_queries_does_not_grow_with_members_or_page_size(app, client, auth, count_queries,
                                                                       make_member, topics):
    small = _count(app, client, auth, count_queries, make_member, topics, mentees=3, page_size=2)
    User.delete().execute()
    client.post("/logout")
    large = _count(app, client, auth, count_queries, make_member, topics, mentees=30, page_size=25)
    assert small == large
    # The user, the topics for the form, my profile, offered topics and languages, the zones and
    # organizations in use (best match only), the page with the total, its topics and languages, and
    # what already links me with its members; the navigation's unread count.
    bounds = {"match": 13, "match, no filter": 13, "name": 11, "partial": 12}  # + "is a round open?"
    assert all(small[case] <= bound for case, bound in bounds.items()), small
