"""Browsing mentors over HTTP: /mentors with its filters, the htmx partial, pages and the query count."""
import datetime as dt
import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from argon2 import PasswordHasher

from portal.auth import services as accounts
from portal.models import Mentorship, User

CARD_NAME = re.compile(r'<h2><a href="/members/\d+">([^<]+)</a></h2>')
HTMX = {"HX-Request": "true", "HX-Target": "results"}

VISIBLE = ["Ada Lovelace", "Grace Hopper", "Hiro Tanaka", "Kofi Mensah", "Leilani Kahale"]


def names(response):
    """The names on the cards, in page order."""
    assert response.status_code == 200, response.status_code
    return [html.unescape(n) for n in CARD_NAME.findall(response.get_data(as_text=True))]


@pytest.fixture(autouse=True)
def quick_passwords(monkeypatch):
    """Logins here are a means, not the subject: a cheap hash keeps the many page tests fast."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def program(client, auth, make_member, topics):
    """A viewer in Berlin who seeks Python and Leadership, and members to find (or not)."""
    t = topics
    me = make_member(email="me@example.org", name="Me Myself", time_zone="Europe/Berlin", job_level="mid",
                     organization="Initech", seeks=[t["Python"], t["Leadership"]], offers=[t["Negotiation"]],
                     languages=["en"])
    mentors = {
        "Ada Lovelace": make_member(
            name="Ada Lovelace", offers=[t["Python"]], job_level="senior", industry="technology", country="DE",
            region="europe", time_zone="Europe/Berlin", languages=["en", "de"], organization="Analytical Engines",
            headline="Programs the difference machine", job_title="Mathematician", password=None),
        "Grace Hopper": make_member(
            name="Grace Hopper", offers=[t["Leadership"], t["Negotiation"]], job_level="executive",
            industry="government", country="US", region="north_america", time_zone="America/New_York",
            languages=["en", "es"], organization="Navy", headline="Compilers and courage", job_title="Admiral",
            password=None),
        "Kofi Mensah": make_member(
            name="Kofi Mensah", offers=[t["Public speaking"]], job_level="early", industry="nonprofit", country="GH",
            region="africa", time_zone="Africa/Accra", languages=["en", "fr"], organization="Helping Hands",
            headline="Speaks at conferences", job_title="Coordinator", password=None),
        "Hiro Tanaka": make_member(
            name="Hiro Tanaka", offers=[t["Career change"]], job_level="senior", industry="finance", country="JP",
            region="asia", time_zone="Asia/Tokyo", languages=["ja", "en"], organization="Woodgrove Bank",
            headline="Lead of many teams", job_title="Director", password=None),
        "Leilani Kahale": make_member(
            name="Leilani Kahale", offers=[t["Negotiation"], t["Python"]], job_level="mid", industry="health",
            country="NZ", region="oceania", time_zone="Pacific/Auckland", languages=["en"],
            organization=" initech", headline="Data for health", job_title="Analyst", password=None),
        # Shares no language with the viewer: left out of "best match", listed by name.
        "Pierre Dupont": make_member(
            name="Pierre Dupont", offers=[t["Leadership"]], job_level="senior", industry="consulting",
            country="FR", region="europe", time_zone="Europe/Paris", languages=["fr"], organization="Globex",
            headline="Conseil en stratégie", job_title="Partner", password=None),
        # Never listed, whatever the filters (Fiona only with show_full):
        "Fiona Full": make_member(
            name="Fiona Full", offers=[t["Python"]], job_level="senior", capacity=1, time_zone="Europe/Berlin",
            organization="Fullhouse", headline="Busy mentor", job_title="Architect", password=None),
        "Nina Seeker": make_member(name="Nina Seeker", seeks=[t["Python"]], headline="Only looking",
                                   job_title="Student", password=None),
        "Ian Inactive": make_member(name="Ian Inactive", offers=[t["Python"]], active=False, job_level="senior",
                                    headline="Gone", job_title="Retired", password=None),
        "Ivy Incomplete": make_member(name="Ivy Incomplete", offers=[t["Python"]], completed=False,
                                      job_level="senior", headline="Halfway", job_title="Writer", password=None),
    }
    Mentorship.create(mentor=mentors["Fiona Full"], mentee=mentors["Nina Seeker"])
    Mentorship.create(mentor=mentors["Ada Lovelace"], mentee=mentors["Nina Seeker"], status=Mentorship.ENDED)
    assert auth.login("me@example.org").status_code == 302
    return me, mentors


# --- who is listed -----------------------------------------------------------------

def test_best_match_lists_mentors_with_places_ranked_and_explained(client, program):
    response = client.get("/mentors")
    listed = names(response)
    assert sorted(listed) == VISIBLE
    assert listed[:2] == ["Ada Lovelace", "Grace Hopper"]  # 8 and 7 points; the others 3 or 4
    page = response.get_data(as_text=True)
    assert "5 mentors found" in page
    assert ("<strong>Why (score 8):</strong> 1 of your 2 topics: Python · 1 level more senior · "
            "10 h overlap in working hours · different organization") in page
    assert "1 of your 2 topics: Leadership · 2 levels more senior" in page
    assert "peer mentoring: same level, offers your topic" in page  # Leilani, same organization
    leilani = page[page.index("Leilani Kahale"):]
    leilani = leilani[:leilani.index("</article>")]
    assert "different organization" not in leilani and "no overlap in working hours" in leilani
    assert "2 places free" in page


def test_never_listed_whatever_the_filters(client, program):
    for query in ("", "?sort=name", "?show_full=y&sort=name", "?show_full=y&sort=recent", "?show_full=y&topic=",
                  "?q=Myself", "?q=Seeker", "?q=Inactive&show_full=y", "?q=Incomplete&show_full=y&sort=name"):
        listed = names(client.get("/mentors" + query))
        assert not {"Me Myself", "Nina Seeker", "Ian Inactive", "Ivy Incomplete"} & set(listed), query


def test_full_mentors_only_with_show_full(client, program):
    assert "Fiona Full" not in names(client.get("/mentors?sort=name"))
    response = client.get("/mentors?sort=name&show_full=y")
    assert names(response) == ["Ada Lovelace", "Fiona Full", "Grace Hopper", "Hiro Tanaka", "Kofi Mensah",
                               "Leilani Kahale", "Pierre Dupont"]
    page = response.get_data(as_text=True)
    fiona = page[page.index("Fiona Full"):]
    assert "No place free" in fiona[:fiona.index("</article>")]
    # Full because of an active mentorship: ending it frees the place again.
    Mentorship.update(status=Mentorship.ENDED).where(Mentorship.mentor == program[1]["Fiona Full"]).execute()
    assert "Fiona Full" in names(client.get("/mentors"))


def test_best_match_leaves_out_mentors_without_a_language_in_common(client, program):
    assert "Pierre Dupont" not in names(client.get("/mentors"))
    assert "Pierre Dupont" in names(client.get("/mentors?sort=name"))
    assert names(client.get("/mentors?sort=name&language=fr")) == ["Kofi Mensah", "Pierre Dupont"]
    assert names(client.get("/mentors?language=fr")) == ["Kofi Mensah"]


# --- each filter ---------------------------------------------------------------------

@pytest.mark.parametrize("query, expected", [
    ("q=lovelace", ["Ada Lovelace"]),               # name, any case
    ("q=difference", ["Ada Lovelace"]),             # headline
    ("q=navy", ["Grace Hopper"]),                   # organization
    ("q=speaking", ["Kofi Mensah"]),                # a topic they offer
    ("q=admiral", ["Grace Hopper"]),                # job title
    ("q=lead", ["Grace Hopper", "Hiro Tanaka", "Pierre Dupont"]),  # topic "Leadership", headline "Lead of…"
    ("q=grace+hopper", ["Grace Hopper"]),           # every word must match
    ("q=grace+tanaka", []),
    ("q=50%25", []),                                # LIKE wildcards are taken literally
    ("q=_", []),
    ("level=early", ["Kofi Mensah"]),
    ("level=senior", ["Ada Lovelace", "Hiro Tanaka", "Pierre Dupont"]),
    ("industry=government", ["Grace Hopper"]),
    ("region=asia", ["Hiro Tanaka"]),
    ("region=europe", ["Ada Lovelace", "Pierre Dupont"]),
    ("language=ja", ["Hiro Tanaka"]),
    ("language=de", ["Ada Lovelace"]),
    ("overlap=y", ["Ada Lovelace", "Grace Hopper", "Hiro Tanaka", "Kofi Mensah", "Pierre Dupont"]),  # not Auckland
    ("show_full=y", ["Ada Lovelace", "Fiona Full", "Grace Hopper", "Hiro Tanaka", "Kofi Mensah", "Leilani Kahale",
                     "Pierre Dupont"]),
])
def test_each_filter_alone(client, program, query, expected):
    assert names(client.get(f"/mentors?sort=name&{query}")) == expected


def test_topic_filter(client, program, topics):
    python = topics["Python"].id
    assert names(client.get(f"/mentors?sort=name&topic={python}")) == ["Ada Lovelace", "Leilani Kahale"]
    assert names(client.get(f"/mentors?topic={topics['Negotiation'].id}")) == ["Grace Hopper", "Leilani Kahale"]
    # The chosen topic stays selected in the form.
    page = client.get(f"/mentors?topic={python}").get_data(as_text=True)
    assert re.search(rf'<option selected value="{python}">Python</option>|<option value="{python}" selected>', page)


@pytest.mark.parametrize("query, expected", [
    ("q=lead&region=asia", ["Hiro Tanaka"]),
    ("level=executive&topic=Leadership", ["Grace Hopper"]),
    ("region=europe&level=senior&show_full=y", ["Ada Lovelace", "Fiona Full", "Pierre Dupont"]),
    ("overlap=y&language=en&level=senior", ["Ada Lovelace", "Hiro Tanaka"]),
    ("q=python&overlap=y", ["Ada Lovelace"]),  # Leilani offers Python but works while Berlin sleeps
    ("industry=finance&region=europe", []),
])
def test_filters_combined(client, program, topics, query, expected):
    query = query.replace("topic=Leadership", f"topic={topics['Leadership'].id}")
    assert names(client.get(f"/mentors?sort=name&{query}")) == expected
    # Best match applies the same filters (and leaves out Pierre, no language in common); the order may differ.
    assert sorted(names(client.get(f"/mentors?{query}"))) == [n for n in expected if n != "Pierre Dupont"]


def test_sort_by_recent_activity(client, program):
    _, mentors = program
    now = dt.datetime(2026, 1, 14, 12, 0)
    User.update(last_seen=now).where(User.id == mentors["Kofi Mensah"].id).execute()
    User.update(last_seen=now - dt.timedelta(days=1)).where(User.id == mentors["Hiro Tanaka"].id).execute()
    User.update(last_seen=None).where(User.id.not_in([mentors["Kofi Mensah"].id, mentors["Hiro Tanaka"].id])).execute()
    assert names(client.get("/mentors?sort=recent")) == ["Kofi Mensah", "Hiro Tanaka", "Ada Lovelace",
                                                         "Grace Hopper", "Leilani Kahale", "Pierre Dupont"]


@pytest.mark.parametrize("query", [
    "topic=abc", "topic=99999", "topic=1.5", "level=xyz", "sort=evil", "region=mars", "industry=%00",
    "language=klingon", "overlap=maybe", "show_full=", "q=" + "x" * 500, "q=%27%3B+DROP+TABLE+user%3B--",
    "page=", "page=abc", "page=1e9", "page=-3", "page=0", "page=99999999999999999999999999",
    "topic=abc&level=xyz&sort=evil&page=zz", "q=ada%00", "q=%F0%9F%A6%8A", "q=%ff%fe", "topic=%00",
])
def test_garbage_values_count_as_any_and_never_fail(client, program, query):
    response = client.get(f"/mentors?{query}")
    assert response.status_code == 200
    assert re.search(r"\d+ mentors? found", response.get_data(as_text=True))
    partial = client.get(f"/mentors?{query}", headers=HTMX)
    assert partial.status_code == 200 and "<html" not in partial.get_data(as_text=True)
    assert names(partial) == names(response)


def test_unknown_values_are_ignored_not_applied(client, program):
    expected = names(client.get("/mentors"))
    assert names(client.get("/mentors?topic=abc&level=xyz&sort=evil&region=mars&language=klingon")) == expected


def test_empty_state_suggests_loosening_a_filter(client, program):
    page = client.get("/mentors?q=zzzz").get_data(as_text=True)
    assert "0 mentors found" in page
    assert "No mentor matches all of these filters" in page
    assert "Try removing a filter, or include mentors with no free place." in page
    assert 'href="/mentors">Clear all filters</a>' in page
    page = client.get("/mentors?q=zzzz&show_full=y").get_data(as_text=True)
    assert "Try removing a filter." in page and "include mentors with no free place" not in page


# --- page or partial -------------------------------------------------------------------

def test_full_page_and_htmx_partial_show_the_same_cards(client, program):
    full = client.get("/mentors?sort=name&region=europe&show_full=y")
    partial = client.get("/mentors?sort=name&region=europe&show_full=y", headers=HTMX)
    full_page, fragment = full.get_data(as_text=True), partial.get_data(as_text=True)
    assert "<html" in full_page and "<form" in full_page and 'id="results"' in full_page
    assert "<html" not in fragment and "<form" not in fragment and 'id="results"' not in fragment
    assert "<h1>" not in fragment
    assert names(partial) == names(full) == ["Ada Lovelace", "Fiona Full", "Pierre Dupont"]
    assert "3 mentors found" in fragment
    for response in (full, partial):
        vary = {v.strip() for value in response.headers.get_all("Vary") for v in value.split(",")}
        assert "HX-Request" in vary


@pytest.mark.parametrize("headers", [
    {"HX-Request": "true"},                                             # no target
    {"HX-Request": "true", "HX-Target": "main"},                        # another target
    {"HX-Request": "true", "HX-Target": "results", "HX-Boosted": "true"},  # boosted navigation
    {"HX-Request": "true", "HX-History-Restore-Request": "true"},       # history restore
    {"HX-Target": "results"},                                           # not htmx at all
])
def test_other_htmx_requests_get_the_whole_page(client, program, headers):
    response = client.get("/mentors", headers=headers)
    page = response.get_data(as_text=True)
    assert "<html" in page and "<form" in page
    assert sorted(names(response)) == VISIBLE
    assert page.count('id="results-status"') == 1 and "hx-swap-oob" not in page


def test_the_new_count_is_announced_not_the_whole_list(client, program):
    """The list is no live region; the partial fills the page's status region out of band."""
    page = client.get("/mentors?sort=name&region=europe&show_full=y").get_data(as_text=True)
    assert re.search(r'<p id="results-status" class="visually-hidden" role="status"></p>', page)
    assert "aria-live" not in page
    fragment = client.get("/mentors?sort=name&region=europe&show_full=y", headers=HTMX).get_data(as_text=True)
    assert '<p id="results-status" hx-swap-oob="innerHTML">3 mentors found</p>' in fragment


def test_anonymous_is_sent_to_login(client, program):
    client.post("/logout")
    response = client.get("/mentors?topic=1")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == ["/mentors?topic=1"]

    response = client.get("/mentors", headers=HTMX)
    assert response.status_code == 204
    assert urlsplit(response.headers["HX-Redirect"]).path == "/login"
    assert response.get_data() == b""


# --- pages -------------------------------------------------------------------------------

def _links(page, rel):
    found = re.findall(rf'<a href="([^"]+)" hx-get="([^"]+)"[^>]*rel="{rel}"', page)
    return [(html.unescape(href), html.unescape(hx)) for href, hx in found]


def test_pages_keep_the_filters(app, client, program):
    app.config["BROWSE_PAGE_SIZE"] = 3
    first = client.get("/mentors?sort=name&language=en&overlap=&q=")
    page = first.get_data(as_text=True)
    assert names(first) == ["Ada Lovelace", "Grace Hopper", "Hiro Tanaka"]
    assert "5 mentors found · page 1 of 2" in page
    assert not _links(page, "prev")
    [(href, hx_get)] = _links(page, "next")
    assert href == hx_get
    url = urlsplit(href)
    assert url.path == "/mentors"
    assert parse_qs(url.query) == {"page": ["2"], "sort": ["name"], "language": ["en"]}

    second = client.get(href, headers=HTMX)
    fragment = second.get_data(as_text=True)
    assert names(second) == ["Kofi Mensah", "Leilani Kahale"]
    assert "page 2 of 2" in fragment
    assert not _links(fragment, "next")
    [(previous, _)] = _links(fragment, "prev")
    assert parse_qs(urlsplit(previous).query) == {"page": ["1"], "sort": ["name"], "language": ["en"]}


def test_page_links_keep_every_filter(app, client, program, topics):
    app.config["BROWSE_PAGE_SIZE"] = 1
    query = f"q=a&topic={topics['Python'].id}&level=senior&region=europe&language=en&overlap=y&show_full=y&sort=name"
    page = client.get(f"/mentors?{query}").get_data(as_text=True)
    assert "2 mentors found · page 1 of 2" in page
    [(href, _)] = _links(page, "next")
    assert parse_qs(urlsplit(href).query) == {
        "page": ["2"], "q": ["a"], "topic": [str(topics["Python"].id)], "level": ["senior"],
        "region": ["europe"], "language": ["en"], "overlap": ["y"], "show_full": ["y"], "sort": ["name"]}
    assert names(client.get(href)) == ["Fiona Full"]


@pytest.mark.parametrize("value, shown_page", [
    ("99", 2), ("99999999999999999999999999", 2), ("2", 2), ("0", 1), ("-4", 1), ("abc", 1), ("", 1), ("1.5", 1),
])
def test_page_numbers_are_clamped(app, client, program, value, shown_page):
    app.config["BROWSE_PAGE_SIZE"] = 3
    for headers in ({}, HTMX):
        response = client.get(f"/mentors?sort=name&page={value}", headers=headers)
        assert f"page {shown_page} of 2" in response.get_data(as_text=True)
        assert names(response) == (VISIBLE[:3] if shown_page == 1 else VISIBLE[3:] + ["Pierre Dupont"])


def test_one_page_needs_no_pagination(app, client, program):
    page = client.get("/mentors?sort=name&page=7").get_data(as_text=True)
    assert "6 mentors found" in page and " · page" not in page and 'aria-label="Pages"' not in page


# --- a fixed number of queries --------------------------------------------------------------

def _mentors(make_member, topics, count):
    for n in range(count):
        make_member(name=f"Mentor {n:02d}", email=f"mentor{n}@example.org", password=None, job_level="senior",
                    offers=[topics["Python"], topics["Leadership"]] if n % 2 else [topics["Python"]],
                    languages=["en", "de"], time_zone=["Europe/Paris", "America/New_York", "Africa/Lagos"][n % 3],
                    organization=f"Org {n % 4}")
        if n % 5 == 0:
            Mentorship.create(mentor=User.get(User.email == f"mentor{n}@example.org"),
                              mentee=User.get(User.email == "me@example.org"))


def _count(app, client, auth, count_queries, make_member, topics, mentors, page_size):
    make_member(email="me@example.org", name="Me", seeks=[topics["Python"], topics["Negotiation"]],
                languages=["en"], organization="Initech", job_level="mid")
    _mentors(make_member, topics, mentors)
    assert auth.login("me@example.org").status_code == 302
    app.config["BROWSE_PAGE_SIZE"] = page_size
    counts = {}
    for name, query in [
        ("match", f"/mentors?sort=match&topic={topics['Python'].id}&language=en&overlap=y&q=mentor&level=senior"),
        ("match, no filter", "/mentors"),
        ("name", "/mentors?sort=name&show_full=y&region=europe"),
        ("partial", "/mentors?page=2"),
    ]:
        headers = HTMX if name == "partial" else {}
        with count_queries() as queries:
            response = client.get(query, headers=headers)
        assert response.status_code == 200
        assert len(names(response)) >= 1, name
        counts[name] = len(queries)
    return counts


def test_the_number_of_queries_does_not_grow_with_members_or_page_size(app, client, auth, count_queries,
                                                                       make_member, topics):
    small = _count(app, client, auth, count_queries, make_member, topics, mentors=3, page_size=2)
    User.delete().execute()  # start again with many mentors and a big page
    client.post("/logout")
    large = _count(app, client, auth, count_queries, make_member, topics, mentors=30, page_size=25)
    assert small == large
    # Measured: the user, the topics for the form, the viewer's profile, sought topics and languages,
    # the zones and organizations in use (best match only), the page with the total, its topics and languages,
    # and what already links me with its mentors (requests and mentorships); the navigation's unread count and
    # whether a pairing round is open (full pages only).
    bounds = {"match": 13, "match, no filter": 13, "name": 11, "partial": 12}
    assert all(small[case] <= bound for case, bound in bounds.items()), small
