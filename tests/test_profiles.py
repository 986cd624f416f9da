"""The profile wizard, the edit page, suggested topics and the profile page, as a member sees them."""
import datetime as dt
import html
import re
from collections import defaultdict
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from peewee import fn

from portal.models import AuditEvent, Mentorship, Profile, ProfileLanguage, ProfileTopic, Topic, User

# --- reading pages ---------------------------------------------------------------


class Page(HTMLParser):
    """What a browser would show of a page's forms: values, checked boxes, labels, attributes, errors."""

    CAPTURE = ("small", "label", "option", "textarea", "script", "legend")

    def __init__(self, markup):
        super().__init__(convert_charrefs=True)
        self.tags = []                      # (tag, attrs) of every element, in order
        self.values = {}                    # field name -> value (inputs, textareas, selects)
        self.checked = defaultdict(list)    # field name -> values of checked boxes
        self.boxes = defaultdict(dict)      # field name -> {value: input id} of its checkboxes
        self.options = defaultdict(dict)    # select name -> {value: label}
        self.fields = {}                    # field name -> attrs of its (first) element
        self.ids = {}                       # id -> attrs
        self.texts = {}                     # "tag#id", "label@for" or "option" -> text
        self._select = None
        self._capture = None
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = {name: (value if value is not None else "") for name, value in attrs}
        self.tags.append((tag, attrs))
        if "id" in attrs:
            self.ids.setdefault(attrs["id"], attrs)
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                self.boxes[name][attrs.get("value", "on")] = attrs.get("id")
                if "checked" in attrs:
                    self.checked[name].append(attrs.get("value", "on"))
            elif kind not in ("hidden", "submit", "button"):
                self.values[name] = attrs.get("value", "")
            self.fields.setdefault(name, attrs)
        elif tag in ("textarea", "select") and name:
            self.fields.setdefault(name, attrs)
            if tag == "select":
                self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self.values[self._select] = attrs.get("value", "")
        if tag in self.CAPTURE and self._capture is None:
            key = {"label": f"label@{attrs.get('for')}", "textarea": f"textarea:{name}",
                   "option": "option"}.get(tag, f"{tag}#{attrs.get('id')}")
            self._capture = (tag, key, attrs, [])

    def handle_data(self, data):
        if self._capture:
            self._capture[3].append(data)

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        if self._capture and self._capture[0] == tag:
            _, key, attrs, parts = self._capture
            text = "".join(parts)
            self._capture = None
            if tag == "textarea":
                # Browsers drop the newline right after <textarea>.
                self.values[key.split(":", 1)[1]] = text[2:] if text.startswith("\r\n") else text.removeprefix("\n")
            elif tag == "option":
                self.options[self._select][attrs.get("value", "")] = " ".join(text.split())
            else:
                self.texts[key] = " ".join(text.split())

    def error(self, field):
        """The error message shown under a field, or None."""
        return self.texts.get(f"small#{field}-error")

    def box_labels(self, field):
        """{value: label text} of a checkbox list."""
        return {value: self.texts.get(f"label@{box_id}", "") for value, box_id in self.boxes[field].items()}


def text_of(markup):
    """The page as a person reads it: no tags, one space between words."""
    markup = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def get(client, path):
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.headers.get("Location"))
    return response.get_data(as_text=True)


# --- data ------------------------------------------------------------------------

ABOUT = ["name", "headline", "bio", "organization", "job_title", "job_level", "industry", "country"]
OFFERS = ["offers_mentoring", "offered_topics", "suggested_offer", "capacity"]
SEEKS = ["seeks_mentoring", "sought_topics", "suggested_seek"]
PRACTICAL = ["time_zone", "languages", "meeting_formats", "availability_note"]
STEP_FIELDS = {1: ABOUT, 2: OFFERS, 3: SEEKS, 4: PRACTICAL}
STEP_OF = {name: step for step, names in STEP_FIELDS.items() for name in names}
SELECTS = {"job_level", "industry", "country", "time_zone"}
SWITCHES = {"offers_mentoring", "seeks_mentoring"}
LISTS = {"offered_topics", "sought_topics", "languages", "meeting_formats"}


def profile_data(topics, **changes):
    """A whole valid profile as the edit form posts it; a change to None leaves the field out (an unticked box)."""
    data = {
        "name": "Ada Lovelace",
        "headline": "Analytical engines, explained",
        "bio": "I like **engines** and\n\n- notes\n- tables",
        "organization": "Babbage & Daughters",
        "job_title": "Analyst <senior>",
        "job_level": "senior",
        "industry": "engineering",
        "country": "JP",
        "offers_mentoring": "y",
        "offered_topics": [str(topics["Python"].id), str(topics["Leadership"].id)],
        "suggested_offer": "",
        "capacity": "3",
        "seeks_mentoring": "y",
        "sought_topics": [str(topics["Negotiation"].id)],
        "suggested_seek": "",
        "time_zone": "Asia/Tokyo",
        "languages": ["en", "ja"],
        "meeting_formats": ["video", "in_person"],
        "availability_note": "Tuesday evenings, \"twice\" a month",
    }
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def step_data(data, step):
    return {name: value for name, value in data.items() if name in STEP_FIELDS[step]}


def assert_form_keeps(page, data, fields, skip=()):
    """Every field shows what was posted (selects and lists whose value is not an option can't)."""
    for name in fields:
        if name in skip:
            continue
        posted = data.get(name)
        if name in SWITCHES:
            assert page.checked.get(name, []) == (["y"] if posted else []), name
        elif name in LISTS:
            assert sorted(page.checked.get(name, [])) == sorted(posted or []), name
        else:
            assert page.values.get(name) == (posted or ""), name


def snapshot(user_id):
    """Everything a profile save could change."""
    user = User.get_by_id(user_id)
    profile = Profile.get_by_id(user_id)
    return (
        (user.name, user.time_zone),
        {name: getattr(profile, name) for name in Profile._meta.fields if name != "user"},
        sorted((link.kind, link.topic_id) for link in ProfileTopic.select().where(ProfileTopic.profile == user_id)),
        sorted(link.code for link in ProfileLanguage.select().where(ProfileLanguage.profile == user_id)),
        sorted((t.name, t.approved) for t in Topic.select()),
        AuditEvent.select().count(),
    )


def offered(user_id, kind=ProfileTopic.OFFERS):
    return sorted(link.topic.name for link in ProfileTopic.select().where(
        (ProfileTopic.profile == user_id) & (ProfileTopic.kind == kind)))


def languages_of(user_id):
    return sorted(link.code for link in ProfileLanguage.select().where(ProfileLanguage.profile == user_id))


@pytest.fixture
def newcomer(make_member, auth):
    """A member who has just accepted an invitation: an empty profile, logged in."""
    member = make_member(email="new@example.org", name="Nova Newcomer", completed=False, time_zone="UTC",
                         languages=(), headline="", organization="", job_title="", job_level="", industry="",
                         country="", region="", meeting_formats="")
    response = auth.login("new@example.org")
    assert response.headers["Location"] == "/profile/wizard/1"
    return member


@pytest.fixture
def member(make_member, auth, topics):
    """A member with a finished profile, logged in."""
    user = make_member(email="me@example.org", name="Mo Member", offers=[topics["Python"]], seeks=[topics["Leadership"]],
                       capacity=2, languages=("en", "de"))
    assert auth.login("me@example.org").status_code == 302
    return user


# --- the wizard ------------------------------------------------------------------

def test_the_wizard_saves_each_step_and_finishes_on_the_mentor_list(client, newcomer, topics):
    page = Page(get(client, "/profile/wizard/1"))
    assert page.values["name"] == "Nova Newcomer"

    data = profile_data(topics)
    response = client.post("/profile/wizard/1", data=step_data(data, 1))
    assert response.status_code == 302 and response.headers["Location"] == "/profile/wizard/2"
    user, profile = User.get_by_id(newcomer.id), Profile.get_by_id(newcomer.id)
    assert user.name == "Ada Lovelace"
    assert (profile.headline, profile.organization, profile.job_title) == (
        "Analytical engines, explained", "Babbage & Daughters", "Analyst <senior>")
    assert profile.bio.startswith("I like **engines**")
    assert (profile.job_level, profile.industry, profile.country) == ("senior", "engineering", "JP")
    assert profile.region == "asia"  # from the country
    assert profile.wizard_step == 2 and not profile.completed

    # A new member who does not offer mentoring yet is offered one place as the starting number.
    page = Page(get(client, "/profile/wizard/2"))
    assert page.values["capacity"] == "1"
    response = client.post("/profile/wizard/2", data=step_data(data, 2))
    assert response.headers["Location"] == "/profile/wizard/3"
    profile = Profile.get_by_id(newcomer.id)
    assert profile.offers_mentoring and profile.capacity == 3 and profile.wizard_step == 3
    assert offered(newcomer.id) == ["Leadership", "Python"]

    response = client.post("/profile/wizard/3", data=step_data(data, 3))
    assert response.headers["Location"] == "/profile/wizard/4"
    assert Profile.get_by_id(newcomer.id).seeks_mentoring
    assert offered(newcomer.id, ProfileTopic.SEEKS) == ["Negotiation"]

    # The last step offers to detect the time zone in the browser.
    page = Page(get(client, "/profile/wizard/4"))
    assert "data-detect-zone" in page.fields["time_zone"]
    response = client.post("/profile/wizard/4", data=step_data(data, 4))
    assert response.status_code == 302 and response.headers["Location"] == "/mentors"
    user, profile = User.get_by_id(newcomer.id), Profile.get_by_id(newcomer.id)
    assert user.time_zone == "Asia/Tokyo"
    assert languages_of(newcomer.id) == ["en", "ja"]
    assert profile.formats == ["video", "in_person"]
    assert profile.availability_note == "Tuesday evenings, \"twice\" a month"
    assert profile.completed and profile.wizard_step == 5

    page = get(client, "/mentors")
    assert "Your profile is ready. Here are the mentors who fit you best." in text_of(page)
    assert "Finish your profile" not in text_of(page)


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("step", [2, 3, 4])
def test_skipping_ahead_in_the_wizard_leads_back_to_the_current_step(client, newcomer, topics, db, method, step):
    before = snapshot(newcomer.id)
    response = getattr(client, method)(f"/profile/wizard/{step}", data=step_data(profile_data(topics), step))
    assert response.status_code == 302 and response.headers["Location"] == "/profile/wizard/1"
    assert snapshot(newcomer.id) == before

    client.post("/profile/wizard/1", data=step_data(profile_data(topics), 1))
    response = getattr(client, method)("/profile/wizard/4", data=step_data(profile_data(topics), 4))
    assert response.headers["Location"] == "/profile/wizard/2"
    assert Profile.get_by_id(newcomer.id).wizard_step == 2
    assert languages_of(newcomer.id) == []


def test_the_wizard_lets_a_member_go_back_without_losing_their_place(client, newcomer, topics):
    data = profile_data(topics)
    for step in (1, 2, 3):
        client.post(f"/profile/wizard/{step}", data=step_data(data, step))
    page = Page(get(client, "/profile/wizard/1"))
    assert page.values["organization"] == "Babbage & Daughters"
    response = client.post("/profile/wizard/1", data=step_data(profile_data(topics, organization="Independent"), 1))
    assert response.headers["Location"] == "/profile/wizard/2"
    profile = Profile.get_by_id(newcomer.id)
    assert profile.organization == "Independent" and profile.wizard_step == 4
    assert client.get("/profile/wizard/4").status_code == 200


@pytest.mark.parametrize("step", [0, 5, 99])
def test_a_step_that_does_not_exist_is_not_found(client, newcomer, step):
    assert client.get(f"/profile/wizard/{step}").status_code == 404


def test_the_wizard_needs_a_login(client):
    response = client.get("/profile/wizard/1")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_step_three_refuses_a_member_who_neither_offers_nor_seeks(client, newcomer, topics):
    data = profile_data(topics, offers_mentoring=None, seeks_mentoring=None, sought_topics=[])
    client.post("/profile/wizard/1", data=step_data(data, 1))
    response = client.post("/profile/wizard/2", data=step_data(data, 2))
    assert response.headers["Location"] == "/profile/wizard/3"
    profile = Profile.get_by_id(newcomer.id)
    assert not profile.offers_mentoring and profile.capacity == 0 and offered(newcomer.id) == []

    # A new member who does not mentor finds "I am looking for a mentor" ticked already.
    assert Page(get(client, "/profile/wizard/3")).checked["seeks_mentoring"] == ["y"]
    before = snapshot(newcomer.id)
    response = client.post("/profile/wizard/3", data=step_data(data, 3))
    assert response.status_code == 200
    page = Page(response.get_data(as_text=True))
    assert page.error("seeks_mentoring") == "Offer mentoring (step 2), look for a mentor, or both."
    assert page.fields["seeks_mentoring"]["aria-invalid"] == "true"
    assert "Please correct the field marked below." in text_of(response.get_data(as_text=True))
    assert snapshot(newcomer.id) == before
    assert Profile.get_by_id(newcomer.id).wizard_step == 3

    # Looking for a mentor is enough.
    data = profile_data(topics, offers_mentoring=None)
    response = client.post("/profile/wizard/3", data=step_data(data, 3))
    assert response.headers["Location"] == "/profile/wizard/4"


def test_a_member_who_only_mentors_may_leave_step_three_empty(client, newcomer, topics):
    data = profile_data(topics, seeks_mentoring=None, sought_topics=[])
    for step in (1, 2):
        client.post(f"/profile/wizard/{step}", data=step_data(data, step))
    response = client.post("/profile/wizard/3", data=step_data(data, 3))
    assert response.headers["Location"] == "/profile/wizard/4"
    profile = Profile.get_by_id(newcomer.id)
    assert profile.offers_mentoring and not profile.seeks_mentoring
    assert offered(newcomer.id, ProfileTopic.SEEKS) == []


def test_going_back_to_step_two_cannot_leave_a_member_with_no_role(client, newcomer, topics):
    data = profile_data(topics, seeks_mentoring=None, sought_topics=[])
    for step in (1, 2, 3, 4):
        client.post(f"/profile/wizard/{step}", data=step_data(data, step))
    assert Profile.get_by_id(newcomer.id).completed
    before = snapshot(newcomer.id)
    response = client.post("/profile/wizard/2", data=step_data(profile_data(topics, offers_mentoring=None), 2))
    assert response.status_code == 200
    page = Page(response.get_data(as_text=True))
    assert page.error("offers_mentoring") == "Offer mentoring, look for a mentor (step 3), or both."
    assert page.fields["offers_mentoring"]["aria-invalid"] == "true"
    assert snapshot(newcomer.id) == before


def test_a_member_who_stops_mentoring_loses_topics_and_places(client, member, topics):
    response = client.post("/profile/wizard/2", data={"capacity": "4", "offered_topics": [str(topics["Python"].id)]})
    assert response.headers["Location"] == "/profile/wizard/3"
    profile = Profile.get_by_id(member.id)
    assert not profile.offers_mentoring and profile.capacity == 0
    assert offered(member.id) == []


# --- every field's validation --------------------------------------------------

TOO_MANY = "Choose a number from 0 to 10."
CASES = [
    ("name-empty", "name", "", "Enter your name."),
    ("name-blank", "name", "   ", "Enter your name."),
    ("name-too-long", "name", "N" * 121, "Keep your name under 120 characters."),
    ("headline-too-long", "headline", "h" * 141, "Keep the headline under 140 characters."),
    ("bio-too-long", "bio", "b" * 5001, "Keep this under 5,000 characters."),
    ("organization-empty", "organization", "", "Enter your organization, or “Independent”."),
    ("organization-too-long", "organization", "o" * 121, "Keep the organization under 120 characters."),
    ("job-title-too-long", "job_title", "j" * 121, "Keep the job title under 120 characters."),
    ("job-level-missing", "job_level", "", "Choose your job level."),
    ("job-level-unknown", "job_level", "boss", "Choose a job level from the list."),
    ("industry-missing", "industry", "", "Choose your industry or practice area."),
    ("industry-unknown", "industry", "piracy", "Choose an industry or practice area from the list."),
    ("country-missing", "country", "", "Choose the country you work in."),
    ("country-unknown", "country", "XX", "Choose a country from the list."),
    ("offers-without-topic", "offered_topics", [], "Choose at least one topic you can mentor on, or suggest one."),
    ("capacity-zero", "capacity", "0", "Say how many mentees you can take at once (at least 1)."),
    ("capacity-empty", "capacity", "", "Say how many mentees you can take at once (at least 1)."),
    ("capacity-eleven", "capacity", "11", TOO_MANY),
    ("capacity-negative", "capacity", "-1", TOO_MANY),
    ("capacity-not-a-number", "capacity", "abc", "Enter a whole number from 0 to 10."),
    ("seeks-without-topic", "sought_topics", [], "Choose at least one topic you want to learn about, or suggest one."),
    ("offered-topic-unknown", "offered_topics", ["999999"], "Choose topics from the list."),
    ("sought-topic-unknown", "sought_topics", ["999999"], "Choose topics from the list."),
    ("time-zone-unknown", "time_zone", "Mars/Base", "Choose a time zone from the list, such as Europe/Berlin."),
    ("no-language", "languages", [], "Choose at least one language."),
    ("language-unknown", "languages", ["en", "xx"], "Choose languages from the list."),
    ("no-meeting-format", "meeting_formats", [], "Choose at least one way to meet."),
    ("meeting-format-unknown", "meeting_formats", ["telepathy"], "Choose ways to meet from the list."),
    ("availability-too-long", "availability_note", "a" * 501, "Keep this under 500 characters."),
    ("suggested-offer-too-long", "suggested_offer", "s" * 61, "Keep a topic under 60 characters."),
    ("suggested-seek-too-long", "suggested_seek", "s" * 61, "Keep a topic under 60 characters."),
]


def assert_shows_error(response, field, message):
    assert response.status_code == 200
    markup = response.get_data(as_text=True)
    page = Page(markup)
    assert page.error(field) == message
    target = page.ids[field] if field in LISTS else page.fields[field]
    assert f"{field}-error" in target["aria-describedby"].split()
    if field not in LISTS:
        assert target["aria-invalid"] == "true"
    assert "Please correct the field marked below." in text_of(markup)
    return page


@pytest.mark.parametrize(("field", "value", "message"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_the_edit_page_refuses_a_bad_field_and_keeps_what_was_typed(client, member, topics, db, field, value, message):
    data = profile_data(topics, **{field: value})
    before = snapshot(member.id)
    page = assert_shows_error(client.post("/profile/edit", data=data), field, message)
    unshowable = {field} if field in SELECTS | LISTS else set()
    assert_form_keeps(page, data, ABOUT + OFFERS + SEEKS + PRACTICAL, skip=unshowable)
    assert len([name for name in page.fields if page.fields[name].get("aria-invalid")]) == (0 if field in LISTS else 1)
    assert snapshot(member.id) == before


@pytest.mark.parametrize(("field", "value", "message"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_each_wizard_step_refuses_a_bad_field_and_keeps_what_was_typed(client, member, topics, db, field, value, message):
    step = STEP_OF[field]
    data = step_data(profile_data(topics, **{field: value}), step)
    before = snapshot(member.id)
    page = assert_shows_error(client.post(f"/profile/wizard/{step}", data=data), field, message)
    assert_form_keeps(page, data, STEP_FIELDS[step], skip={field} if field in SELECTS | LISTS else set())
    assert snapshot(member.id) == before


def test_the_edit_page_refuses_a_member_who_neither_offers_nor_seeks(client, member, topics, db):
    data = profile_data(topics, offers_mentoring=None, seeks_mentoring=None)
    before = snapshot(member.id)
    page = assert_shows_error(client.post("/profile/edit", data=data), "offers_mentoring",
                              "Offer mentoring, look for a mentor, or both.")
    assert_form_keeps(page, data, ABOUT + OFFERS + SEEKS + PRACTICAL)
    assert snapshot(member.id) == before


def test_a_member_cannot_pick_another_members_topic_waiting_for_approval(client, member, make_member, topics, db):
    other = make_member(email="other@example.org")
    pending = Topic.create(name="Secret project", approved=False, suggested_by=other)
    ProfileTopic.create(profile=other.id, topic=pending, kind=ProfileTopic.OFFERS)
    before = snapshot(member.id)
    data = profile_data(topics, offered_topics=[str(topics["Python"].id), str(pending.id)])
    page = assert_shows_error(client.post("/profile/edit", data=data), "offered_topics", "Choose topics from the list.")
    assert "Secret project" not in page.box_labels("offered_topics").values()
    assert snapshot(member.id) == before


# --- suggested topics ------------------------------------------------------------

def mentor_filter_topics(client):
    return set(Page(get(client, "/mentors")).options["topic"].values())


def test_a_suggested_topic_waits_for_a_coordinator(client, auth, member, make_member, topics, db):
    data = step_data(profile_data(topics, suggested_offer="  Rust   for beginners ", suggested_seek="Board games"), 2)
    assert client.post("/profile/wizard/2", data=data).headers["Location"] == "/profile/wizard/3"
    rust = Topic.get(Topic.name == "Rust for beginners")
    assert not rust.approved and rust.suggested_by_id == member.id
    assert offered(member.id) == ["Leadership", "Python", "Rust for beginners"]
    assert Topic.get_or_none(Topic.name == "Board games") is None  # step 3 was not posted
    assert AuditEvent.get(AuditEvent.action == "topic.suggested").detail == "Rust for beginners"

    # The member sees it on their forms and profile, marked as waiting.
    for path in ("/profile/wizard/2", "/profile/edit"):
        page = Page(get(client, path))
        labels = page.box_labels("offered_topics")
        assert labels[str(rust.id)] == "Rust for beginners (waiting for approval)"
        assert str(rust.id) in page.checked["offered_topics"]
    assert "Rust for beginners (waiting for approval)" in text_of(get(client, f"/members/{member.id}"))
    assert "Rust for beginners" not in mentor_filter_topics(client)

    # Saving the step again keeps the suggestion.
    data = step_data(profile_data(topics, offered_topics=[str(topics["Python"].id), str(rust.id)]), 2)
    assert client.post("/profile/wizard/2", data=data).status_code == 302
    assert offered(member.id) == ["Python", "Rust for beginners"]

    # Other members do not see it anywhere yet.
    auth.logout()
    make_member(email="other@example.org", seeks=[topics["Python"]])
    coordinator = make_member(email="coord@example.org", name="Cora Coordinator", role=User.COORDINATOR)
    auth.login("other@example.org")
    assert "Rust for beginners" not in mentor_filter_topics(client)
    assert "Rust for beginners" not in text_of(get(client, f"/members/{member.id}"))
    assert "Rust for beginners" not in text_of(get(client, "/profile/edit"))

    # A coordinator approves it; then everyone can choose it.
    auth.logout()
    auth.login("coord@example.org")
    page = text_of(get(client, "/coordinator/topics"))
    assert "Rust for beginners suggested by Mo Member Approve Rust for beginners" in page
    response = client.post(f"/coordinator/topics/{rust.id}/approve")
    assert response.headers["Location"] == "/coordinator/topics"
    assert "“Rust for beginners” is now a topic everyone can choose." in text_of(get(client, "/coordinator/topics"))
    assert Topic.get_by_id(rust.id).approved
    assert AuditEvent.get(AuditEvent.action == "topic.approved").actor_id == coordinator.id

    auth.logout()
    auth.login("other@example.org")
    assert "Rust for beginners" in mentor_filter_topics(client)
    assert "Rust for beginners" in Page(get(client, "/profile/edit")).box_labels("offered_topics").values()
    profile_page = text_of(get(client, f"/members/{member.id}"))
    assert "Rust for beginners" in profile_page and "waiting for approval" not in profile_page


def test_a_topic_sought_can_be_suggested_on_the_edit_page(client, member, topics, db):
    data = profile_data(topics, suggested_seek="Board games")
    assert client.post("/profile/edit", data=data).status_code == 302
    games = Topic.get(Topic.name == "Board games")
    assert not games.approved and games.suggested_by_id == member.id
    assert offered(member.id, ProfileTopic.SEEKS) == ["Board games", "Negotiation"]
    labels = Page(get(client, "/profile/edit")).box_labels("sought_topics")
    assert labels[str(games.id)] == "Board games (waiting for approval)"


def test_suggesting_a_topic_that_exists_picks_it(client, member, topics, db):
    count = Topic.select().count()
    data = step_data(profile_data(topics, offered_topics=[], suggested_offer="public SPEAKING"), 2)
    assert client.post("/profile/wizard/2", data=data).status_code == 302
    assert Topic.select().count() == count
    assert offered(member.id) == ["Public speaking"]


def test_a_suggestion_without_offering_mentoring_creates_no_topic(client, member, topics, db):
    count = Topic.select().count()
    data = {"suggested_offer": "Knitting", "capacity": "1"}
    assert client.post("/profile/wizard/2", data=data).status_code == 302
    assert Topic.select().count() == count and offered(member.id) == []


def test_a_coordinator_adds_topics_and_duplicates_are_refused(client, auth, make_member, topics, db):
    make_member(email="coord@example.org", role=User.COORDINATOR)
    auth.login("coord@example.org")
    response = client.post("/coordinator/topics", data={"name": "  Design   thinking "})
    assert response.headers["Location"] == "/coordinator/topics"
    assert Topic.get(Topic.name == "Design thinking").approved
    assert "“Design thinking” is now a topic." in text_of(get(client, "/coordinator/topics"))

    count = Topic.select().count()
    for name in ("design THINKING", "Python"):
        response = client.post("/coordinator/topics", data={"name": name})
        assert response.status_code == 200
        page = Page(response.get_data(as_text=True))
        assert page.error("name").endswith("is already a topic.")
        assert page.fields["name"]["aria-invalid"] == "true"
        assert page.values["name"] == name
    assert Topic.select().count() == count

    response = client.post("/coordinator/topics", data={"name": ""})
    assert Page(response.get_data(as_text=True)).error("name") == "Enter the topic's name."
    response = client.post("/coordinator/topics", data={"name": "t" * 61})
    assert Page(response.get_data(as_text=True)).error("name") == "Keep a topic under 60 characters."
    assert Topic.select().count() == count


def test_a_topic_name_of_nothing_but_a_nul_is_refused(client, auth, make_member, db):
    make_member(email="coord@example.org", role=User.COORDINATOR)
    auth.login("coord@example.org")
    count = Topic.select().count()
    response = client.post("/coordinator/topics", data={"name": "\x00"})
    assert Page(response.get_data(as_text=True)).error("name") == "Enter the topic's name."
    assert client.post("/coordinator/topics", data={"name": "Ka\x00izen"}).status_code == 302
    assert Topic.select().count() == count + 1 and Topic.get_or_none(Topic.name == "Kaizen").approved


def test_adding_a_topic_a_member_suggested_approves_it(client, auth, make_member, db):
    suggester = make_member(email="s@example.org")
    waiting = Topic.create(name="Mentoring remotely", approved=False, suggested_by=suggester)
    make_member(email="coord@example.org", role=User.COORDINATOR)
    auth.login("coord@example.org")
    assert client.post("/coordinator/topics", data={"name": "mentoring remotely"}).status_code == 302
    assert Topic.get_by_id(waiting.id).approved
    assert Topic.select().where(fn.LOWER(Topic.name) == "mentoring remotely").count() == 1


def test_only_coordinators_manage_topics(client, member, db):
    waiting = Topic.create(name="Unapproved", approved=False, suggested_by=member)
    assert client.get("/coordinator/topics").status_code == 403
    assert client.post("/coordinator/topics", data={"name": "Mine"}).status_code == 403
    assert client.post(f"/coordinator/topics/{waiting.id}/approve").status_code == 403
    assert not Topic.get_by_id(waiting.id).approved
    assert Topic.get_or_none(Topic.name == "Mine") is None


def test_approving_a_topic_that_does_not_exist_is_not_found(client, auth, make_member, db):
    make_member(email="coord@example.org", role=User.COORDINATOR)
    auth.login("coord@example.org")
    assert client.post("/coordinator/topics/999999/approve").status_code == 404


# --- the edit page -------------------------------------------------------------

def test_the_edit_page_shows_the_whole_profile_filled_in(client, make_member, auth, topics):
    user = make_member(email="ed@example.org", name="Edda Editor", time_zone="America/Sao_Paulo",
                       offers=[topics["Python"], topics["Negotiation"]], seeks=[topics["Career change"]], capacity=4,
                       languages=("pt", "en"), headline="Line", bio="Some *bio*", organization="Org & Co",
                       job_title="CTO", job_level="executive", industry="finance", country="BR", region="south_america",
                       meeting_formats="phone chat", availability_note="Mornings")
    auth.login("ed@example.org")
    markup = get(client, "/profile/edit")
    page = Page(markup)
    for section in ("About you", "Mentoring I offer", "Mentoring I seek", "Time zone, languages and availability"):
        assert section in text_of(markup)
    assert page.values["name"] == "Edda Editor"
    assert (page.values["headline"], page.values["bio"], page.values["organization"], page.values["job_title"]) == (
        "Line", "Some *bio*", "Org & Co", "CTO")
    assert (page.values["job_level"], page.values["industry"], page.values["country"]) == ("executive", "finance", "BR")
    assert page.checked["offers_mentoring"] == ["y"] and page.checked["seeks_mentoring"] == ["y"]
    assert sorted(page.checked["offered_topics"]) == sorted([str(topics["Python"].id), str(topics["Negotiation"].id)])
    assert page.checked["sought_topics"] == [str(topics["Career change"].id)]
    assert page.values["capacity"] == "4"
    assert page.values["time_zone"] == "America/Sao_Paulo"
    assert sorted(page.checked["languages"]) == ["en", "pt"]
    assert sorted(page.checked["meeting_formats"]) == ["chat", "phone"]
    assert page.values["availability_note"] == "Mornings"
    assert "data-detect-zone" not in page.fields["time_zone"]
    assert "Edit your profile" in text_of(markup) and f'href="/members/{user.id}"' in markup


def test_the_edit_page_saves_everything(client, member, topics, db):
    data = profile_data(topics)
    response = client.post("/profile/edit", data=data)
    assert response.status_code == 302 and response.headers["Location"] == f"/members/{member.id}"
    user, profile = User.get_by_id(member.id), Profile.get_by_id(member.id)
    assert (user.name, user.time_zone) == ("Ada Lovelace", "Asia/Tokyo")
    assert (profile.headline, profile.organization, profile.job_title, profile.job_level, profile.industry) == (
        "Analytical engines, explained", "Babbage & Daughters", "Analyst <senior>", "senior", "engineering")
    assert (profile.country, profile.region, profile.capacity) == ("JP", "asia", 3)
    assert offered(member.id) == ["Leadership", "Python"]
    assert offered(member.id, ProfileTopic.SEEKS) == ["Negotiation"]
    assert languages_of(member.id) == ["en", "ja"]
    assert profile.formats == ["video", "in_person"]
    assert profile.availability_note == "Tuesday evenings, \"twice\" a month"
    assert profile.completed

    markup = get(client, f"/members/{member.id}")
    assert "Your profile is saved." in text_of(markup)
    page = Page(get(client, "/profile/edit"))
    assert_form_keeps(page, data, ABOUT + OFFERS + SEEKS + PRACTICAL)


def test_the_edit_page_takes_leading_and_trailing_spaces_off(client, member, topics, db):
    data = profile_data(topics, name="  Ada  ", organization=" Acme ", headline=" Hi ")
    assert client.post("/profile/edit", data=data).status_code == 302
    profile = Profile.get_by_id(member.id)
    assert (User.get_by_id(member.id).name, profile.organization, profile.headline) == ("Ada", "Acme", "Hi")


def test_nul_characters_are_dropped_from_profile_text(client, member, topics, db):
    # Nobody types one, and PostgreSQL cannot store one: never a server error.
    data = profile_data(topics, name="Ada\x00 L", headline="Hi\x00", bio="B\x00io", organization="\x00Acme",
                        availability_note="Eve\x00nings", suggested_offer="Ru\x00st")
    assert client.post("/profile/edit", data=data).status_code == 302
    profile = Profile.get_by_id(member.id)
    assert (User.get_by_id(member.id).name, profile.headline, profile.bio, profile.organization,
            profile.availability_note) == ("Ada L", "Hi", "Bio", "Acme", "Evenings")
    assert Topic.get(Topic.name == "Rust").suggested_by_id == member.id

    before = snapshot(member.id)
    assert_shows_error(client.post("/profile/wizard/1", data=step_data(profile_data(topics, name="\x00"), 1)),
                       "name", "Enter your name.")
    assert snapshot(member.id) == before


def test_a_member_can_stop_looking_for_a_mentor(client, member, topics, db):
    data = profile_data(topics, seeks_mentoring=None)
    assert client.post("/profile/edit", data=data).status_code == 302
    profile = Profile.get_by_id(member.id)
    assert not profile.seeks_mentoring and offered(member.id, ProfileTopic.SEEKS) == []
    assert "Wants to learn about" not in text_of(get(client, f"/members/{member.id}"))


def test_the_edit_page_needs_a_login(client):
    response = client.get("/profile/edit")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.csrf
def test_the_edit_page_refuses_a_post_without_its_token(client, make_member, topics, db):
    member = make_member(email="me@example.org")
    token = Page(get(client, "/login")).ids["csrf_token"]["value"]
    assert client.post("/login", data={"email": "me@example.org", "password": "correct horse battery",
                                       "csrf_token": token}).status_code == 302
    before = snapshot(member.id)
    assert client.post("/profile/edit", data=profile_data(topics)).status_code == 400
    assert snapshot(member.id) == before
    token = Page(get(client, "/profile/edit")).ids["csrf_token"]["value"]
    response = client.post("/profile/edit", data=profile_data(topics, csrf_token=token))
    assert response.status_code == 302
    assert User.get_by_id(member.id).name == "Ada Lovelace"


# --- the profile page ----------------------------------------------------------

def local_now(zone):
    return dt.datetime.now(ZoneInfo(zone)).strftime("%H:%M")


def test_the_profile_page_shows_the_member(client, auth, make_member, topics, db):
    mentor = make_member(email="mia@example.org", name="Mia Mentor", time_zone="Asia/Tokyo",
                         offers=[topics["Python"], topics["Leadership"]], seeks=[topics["Negotiation"]], capacity=3,
                         languages=("ja", "en"), headline="Python for grown-ups", bio="I like **bold** moves.\n\n# Big",
                         organization="Kaisha", job_title="Staff engineer", job_level="senior", country="JP",
                         region="asia", meeting_formats="video phone", availability_note="Weekday mornings")
    mentees = [make_member(email=f"mentee{i}@example.org") for i in range(3)]
    Mentorship.create(mentor=mentor, mentee=mentees[0])
    Mentorship.create(mentor=mentor, mentee=mentees[1], status=Mentorship.ENDED, ended_at=dt.datetime(2024, 1, 1))
    Mentorship.create(mentor=mentees[2], mentee=mentor)  # Mia is a mentee there: not one of her places
    auth.login("mentee0@example.org")

    times = {local_now("Asia/Tokyo")}
    markup = get(client, f"/members/{mentor.id}")
    times.add(local_now("Asia/Tokyo"))
    text = text_of(markup)
    assert "Mia Mentor" in text and "Python for grown-ups" in text
    assert "<strong>bold</strong>" in markup
    assert "<h3>Big</h3>" in markup and "<h1>Big</h1>" not in markup
    assert "Staff engineer at Kaisha · Senior · Technology and software" in text
    assert "Japan (Asia)" in text
    assert "Mentors on Leadership Python" in text
    assert "Wants to learn about Negotiation" in text
    assert "2 of 3 mentee places free." in text
    assert "Languages English, Japanese" in text
    assert "Meets by Video call, Phone call" in text
    assert "Availability Weekday mornings" in text
    assert any(f"Local time now: {t} (Asia/Tokyo)" in text for t in times)
    assert "yours is" in text
    assert "Edit my profile" not in text


def test_the_profile_page_counts_places_as_mentees_fill_them(client, auth, make_member, topics, db):
    mentor = make_member(email="mia@example.org", offers=[topics["Python"]], capacity=2)
    viewer = make_member(email="viewer@example.org")
    auth.login("viewer@example.org")
    assert "2 of 2 mentee places free." in text_of(get(client, f"/members/{mentor.id}"))
    Mentorship.create(mentor=mentor, mentee=viewer)
    assert "1 of 2 mentee places free." in text_of(get(client, f"/members/{mentor.id}"))
    Mentorship.create(mentor=mentor, mentee=make_member())
    text = text_of(get(client, f"/members/{mentor.id}"))
    assert "No mentee place free at the moment (2 taken)." in text and "of 2 mentee places free" not in text


def test_one_place_reads_in_the_singular(client, auth, make_member, topics, db):
    mentor = make_member(email="mia@example.org", offers=[topics["Python"]], capacity=1)
    make_member(email="viewer@example.org")
    auth.login("viewer@example.org")
    assert "1 of 1 mentee place free." in text_of(get(client, f"/members/{mentor.id}"))


def test_my_own_profile_shows_my_local_time_and_an_edit_link(client, member):
    times = {local_now("Europe/Berlin")}
    markup = get(client, f"/members/{member.id}")
    times.add(local_now("Europe/Berlin"))
    text = text_of(markup)
    assert any(f"Local time now: {t} (Europe/Berlin)" in text for t in times)
    assert "yours is" not in text
    assert 'href="/profile/edit"' in markup and "Edit my profile" in text


XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "<a href=\"javascript:alert(1)\">click</a>",
    "<svg onload=alert(1)>",
    "\"><script>alert(1)</script>",
    "[x](JaVaScRiPt:alert(1)) <javascript:alert(1)>",
    "![x](x\" onerror=\"alert(1))",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
]


def assert_nothing_executable(markup):
    """No script but the page's own, no event handler attribute, no javascript: link."""
    page = Page(markup)
    for tag, attrs in page.tags:
        assert tag not in ("iframe", "img", "svg", "object", "embed"), (tag, attrs)
        if tag == "script":
            assert attrs.get("src", "").startswith("/static/"), attrs
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, attrs)
            assert not re.sub(r"\s", "", value).lower().startswith("javascript:"), (tag, attrs)
    assert all(not text.strip() for key, text in page.texts.items() if key.startswith("script#"))


@pytest.mark.parametrize("payload", XSS)
def test_member_text_never_runs_as_code(client, auth, make_member, topics, db, payload):
    plain = ("name", "headline", "organization", "job_title", "availability_note")
    writer = make_member(email="writer@example.org", offers=[topics["Python"]], bio=payload,
                         **{field: payload for field in plain})
    make_member(email="reader@example.org", role=User.COORDINATOR)
    auth.login("reader@example.org")
    markup = get(client, f"/members/{writer.id}")
    assert_nothing_executable(markup)
    assert text_of(markup).count(payload) >= len(plain)  # shown as the text it is
    for path in ("/mentors", "/coordinator/members"):
        assert_nothing_executable(get(client, path))

    auth.logout()
    auth.login("writer@example.org")
    assert_nothing_executable(get(client, "/profile/edit"))
    assert_nothing_executable(get(client, "/profile/wizard/1"))
    assert_nothing_executable(get(client, "/profile/wizard/4"))
    assert_nothing_executable(get(client, f"/members/{writer.id}"))


def test_markdown_links_stay_links_but_safe(client, member, db):
    Profile.update(bio="See [my site](https://example.org/a) and <b>raw</b>").where(Profile.user == member.id).execute()
    markup = get(client, f"/members/{member.id}")
    assert '<a href="https://example.org/a" rel="nofollow noopener noreferrer">my site</a>' in markup
    assert "<b>raw</b>" not in markup and "&lt;b&gt;raw&lt;/b&gt;" in markup


def test_an_unknown_member_is_not_found(client, member):
    assert client.get("/members/999999").status_code == 404


def test_a_deactivated_member_is_hidden_from_members_but_not_from_coordinators(client, auth, make_member, db):
    gone = make_member(email="gone@example.org", name="Gone Member", active=False)
    make_member(email="me@example.org")
    make_member(email="coord@example.org", role=User.COORDINATOR)
    auth.login("me@example.org")
    response = client.get(f"/members/{gone.id}")
    assert response.status_code == 404 and "Gone Member" not in response.get_data(as_text=True)
    auth.logout()
    auth.login("coord@example.org")
    text = text_of(get(client, f"/members/{gone.id}"))
    assert "Gone Member" in text and "This account is deactivated." in text


def test_an_anonymous_visitor_is_sent_to_log_in(client, make_member):
    someone = make_member()
    response = client.get(f"/members/{someone.id}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert f"/members/{someone.id}" in response.headers["Location"].replace("%2F", "/")
