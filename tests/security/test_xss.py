"""Hostile text stays text: a corpus of XSS payloads typed into every free-text field.

Each payload goes, through the real forms, into every field a person can type
free text into (profile: name, headline, bio, organization, job title,
availability note, suggested topics; coordinator: invite name, topic name;
self-registration: name). Then every page and mail that shows those fields is
read with an HTML parser, which must find no script of ours missing a ``src``,
no event-handler attribute, no ``javascript:`` URL, and no template evaluated;
and the text must come out as typed (not interpreted as markup).

A new free-text field belongs in ``fill_profile`` (or a flow of its own below),
and a new page that shows it in ``test_payloads_stay_inert_everywhere``.
"""
import datetime as dt
import re
from html.parser import HTMLParser

from portal import mail
from portal.mentorships import times
from portal.models import ConnectionRequest, Invitation, Meeting, Mentorship, Topic, User, utcnow
from portal.requests import services as requests
from pagekit import log_in
from securitykit import NEW_PASSWORD, PASSWORD

# Short enough for every field (a topic takes 60 characters; a prefix of up to 4 is added to keep them apart).
PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<script/src=data:,alert(1)>",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<img src=`x`onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><script>alert(1)</script>",
    "<body onload=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<iframe srcdoc='<script>alert(1)</script>'>",
    "<object data=javascript:alert(1)>",
    "<embed src=javascript:alert(1)>",
    "<a href=\"javascript:alert(1)\">click</a>",
    "<details open ontoggle=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    "<base href=//evil.example/>",
    "<meta http-equiv=refresh content='0;url=//evil.example'>",
    "<div hx-get=/logout hx-trigger=load>x</div>",
    "<a hx-on:click=alert(1)>x</a>",
    "\" onmouseover=\"alert(1)",
    "' onfocus='alert(1)' autofocus='",
    "\"><script>alert(1)</script>",
    "'><img src=x onerror=alert(1)>",
    "` onmouseover=alert(1) x=`",
    "\"autofocus onfocus=\"alert(1)",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "</option></select><svg onload=alert(1)>",
    "--><script>alert(1)</script><!--",
    "<![CDATA[<script>alert(1)</script>]]>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](java&#09;script:alert(1))",
    "[x](&#x6A;avascript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
    "[x](vbscript:msgbox(1))",
    "<javascript:alert(1)>",
    "![x](javascript:alert(1))",
    "[x]( javascript:alert(1) \"t\")",
    "{{7*7}}",
    "{{ 7*191 }}",
    "{{config.SECRET_KEY}}",
    "{{''.__class__.__mro__}}",
    "{% for x in range(3) %}49{% endfor %}",
    "${7*191} #{7*191} <%= 7*191 %>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "&#x3C;img src=x onerror=alert(1)&#x3E;",
    "&amp;lt;b&amp;gt;",
    "＜script＞alert(1)＜/script＞",
    "<scr\u200bipt>alert(1)</scr\u200bipt>",
    "\u202e<script>alert(1)</script>",
    "Ωμέγα «ταυ» <b>中文</b> 🙂",
    "<scr\x00ipt>alert(1)</script>",
    "line\r\nBcc: victim@example.org",
    "%3Cscript%3Ealert(1)%3C/script%3E",
    "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
    "<style>*{display:none}</style>",
    "<form action=//evil.example><button>go</button></form>",
    "<a href=\"&#106;avascript:alert(1)\">x</a>",
    "\"Mallory\" <mallory@evil.example>, Eve <eve@evil.example>",
]

# Longer Markdown only the bio takes.
BIO_EXTRA = """
<script>alert(1)</script>

<div onclick="alert(1)">raw html block</div>

[ref link][1] and <a href="javascript:alert(1)">inline html</a>

[1]: javascript:alert(1)

![image](x" onerror="alert(1))

```html
<script>alert(1)</script>
```

> [quoted](javascript:alert(1))
"""

# What the template payloads would give if a template ran them (no page shows these by itself;
# "test secret" is the tests' SECRET_KEY).
EVALUATED = ("1337", "494949", "test secret", "class 'object'")

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "background", "poster", "srcdoc",
                  "hx-get", "hx-post", "hx-put", "hx-patch", "hx-delete"}
# Elements no template writes today (a template that starts to use one narrows this set).
FOREIGN_ELEMENTS = {"iframe", "object", "embed", "base", "frame", "frameset", "applet", "math", "svg", "img",
                    "marquee", "xss", "style", "body"}


class Inspector(HTMLParser):
    """Reads a page as a browser would and lists anything that could run or was not ours."""

    def __init__(self, markup, where):
        super().__init__(convert_charrefs=True)
        self.where = where
        self.problems = []
        self.text = []
        self.attribute_values = []
        self.bodies = 0
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            value = value or ""
            self.attribute_values.append(value)
            if name.startswith(("on", "hx-on", "data-hx-on")):
                self.problems.append(f"{self.where}: <{tag}> has an event handler {name}={value!r}")
            if name in URL_ATTRIBUTES and _runs(value):
                self.problems.append(f"{self.where}: <{tag} {name}={value!r}>")
            if name == "http-equiv" and value.lower() == "refresh":
                self.problems.append(f"{self.where}: a meta refresh")
        if tag == "script":
            src = dict(attrs).get("src") or ""
            if not src.startswith("/static/"):
                self.problems.append(f"{self.where}: a <script> that is not one of ours: {attrs!r}")
        if tag == "body":
            self.bodies += 1
        if tag in FOREIGN_ELEMENTS and not (tag == "body" and self.bodies == 1):
            self.problems.append(f"{self.where}: an element the portal never writes: <{tag} {attrs!r}>")

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)

    @property
    def all_text(self):
        return squash(" ".join(self.text + self.attribute_values))


def _runs(url):
    squashed = re.sub(r"[\x00-\x20]+", "", url).lower()
    return squashed.startswith(("javascript:", "vbscript:", "data:text/html", "livescript:"))


def squash(text):
    return " ".join(text.replace("\x00", "").split())


def evaluated_in(text):
    """The results of template payloads in ``text``; tokens (CSRF, links), where any digits may occur, are left out."""
    text = re.sub(r"[A-Za-z0-9_.\-]{16,}", " ", text)
    return [result for result in EVALUATED if result in text]


def inspect(markup, where, shows=()):
    """Problems of one page: what could run, templates evaluated, and typed text that did not come out as typed."""
    page = Inspector(markup, where)
    problems = list(page.problems)
    text = page.all_text
    problems += [f"{where}: a template was evaluated ({result!r} is on the page)" for result in evaluated_in(text)]
    for typed in shows:
        if squash(typed) not in text:
            problems.append(f"{where}: {typed!r} does not show as typed")
    return problems


def topic_name(prefix, payload):
    return squash(f"{prefix}{payload}".replace("\x00", ""))


def shown(text):
    """What a field keeps of typed text (NUL dropped, white space squashed)."""
    return squash(text.replace("\x00", ""))


def pairs():
    """The payloads two by two (one member types two: half the members, every field still gets each)."""
    padded = PAYLOADS + PAYLOADS[:len(PAYLOADS) % 2]
    return [(n, padded[n:n + 2]) for n in range(0, len(padded), 2)]


class Checker:
    def __init__(self):
        self.problems = []

    def __call__(self, response, where, shows=()):
        assert response.status_code in (200, 302), f"{where} answered {response.status_code}"
        if response.status_code == 200:
            self.problems.extend(inspect(response.get_data(as_text=True), where, shows))

    def mails(self, mailbox, names):
        """Every mail written: the HTML part read like a page, the text part keeps the name as typed."""
        messages = mailbox.messages
        assert messages
        for message in messages:
            where = f"mail {message['Subject']!r} to {message['To']}"
            html_part = message.get_body(preferencelist=("html",)).get_content()
            text_part = message.get_body(preferencelist=("plain",)).get_content()
            addresses = message["To"].addresses
            # The name may not turn into another recipient when the header is folded onto two lines.
            if len(addresses) != 1 or addresses[0].addr_spec not in names:
                self.problems.append(f"{where}: the To header reads as {addresses!r}")
                continue
            name = names[addresses[0].addr_spec]
            self.problems.extend(inspect(html_part, where + " (HTML)", [name]))
            self.problems += [f"{where} (text): a template was evaluated ({result!r})"
                              for result in evaluated_in(text_part)]
            if name not in squash(text_part):
                self.problems.append(f"{where} (text): the name {name!r} does not show as typed")
            if addresses[0].display_name not in ("", name):
                self.problems.append(f"{where}: the To header has the name {addresses[0].display_name!r}")

    def assert_none(self):
        assert not self.problems, f"{len(self.problems)} problems:\n" + "\n".join(self.problems[:40])


def test_profile_fields_stay_inert_everywhere(app, make_member, mailbox, db):
    assert len(PAYLOADS) >= 50
    app.config.update(BROWSE_PAGE_SIZE=500)
    check = Checker()
    make_member(name="Cora Coordinator", email="coordinator@example.org", role="coordinator")
    make_member(name="Vic Viewer", email="viewer@example.org", seeks=[])
    coord, other = log_in(app, "coordinator@example.org"), log_in(app, "viewer@example.org")

    authors = []
    for number, (first, second) in pairs():
        author = make_member(email=f"xss{number}@example.org")
        client = log_in(app, author.email)
        both = f"{first} {second}"
        offer, seek = topic_name(f"o{number} ", first), topic_name(f"s{number} ", second)
        # Every free-text field of the profile, through the edit form.
        response = client.post("/profile/edit", data={
            "name": both, "headline": both, "bio": "\n\n".join([first, second, BIO_EXTRA if number == 0 else ""]),
            "organization": both, "job_title": both, "job_level": "mid", "industry": "technology", "country": "DE",
            "offers_mentoring": "y", "offered_topics": [], "suggested_offer": offer, "capacity": "3",
            "seeks_mentoring": "y", "sought_topics": [], "suggested_seek": seek, "time_zone": "Europe/Berlin",
            "languages": ["en"], "meeting_formats": ["video"], "availability_note": both,
        })
        assert response.status_code == 302, f"the profile with {both!r} was not saved: " + " ".join(
            re.findall(r'class="error">([^<]*)<', response.get_data(as_text=True)))
        authors.append((author, both, offer, seek))
        # The owner's pages: the profile, the edit form, each wizard step.
        check(client.get(f"/members/{author.id}"), f"own profile [{number}]", [shown(both), offer, seek])
        check(client.get("/profile/edit"), f"edit page [{number}]", [shown(both), offer, seek])
        for step, shows in ((1, [shown(both)]), (2, [offer]), (3, [seek]), (4, [shown(both)])):
            check(client.get(f"/profile/wizard/{step}"), f"wizard step {step} [{number}]", shows)
        # Search boxes give the words back.
        check(other.get("/mentors", query_string={"q": first}), f"/mentors?q= [{number}]", [shown(first)])
        check(coord.get("/coordinator/members", query_string={"q": second}), f"coordinator search [{number}]",
              [shown(second)])
        # A mail with the name in it (the password reset link).
        app.test_client().post("/password/reset", data={"email": author.email},
                               environ_base={"REMOTE_ADDR": f"198.51.100.{number + 1}"})

    # Coordinators see the suggestions, and approve the offered ones: then they show on cards.
    check(coord.get("/coordinator/topics"), "coordinator topics", [t for _, _, o, s in authors for t in (o, s)])
    for number, (author, both, offer, seek) in enumerate(authors):
        check(coord.post(f"/coordinator/topics/{Topic.get(Topic.name == offer).id}/approve"), "approve")
        if number % 10 == 9:  # the flash messages name the topics
            check(coord.get("/coordinator/topics"), f"topics approved [..{number}]")
    for author, both, offer, seek in authors:
        check(other.get(f"/members/{author.id}"), f"profile seen by another member [{author.email}]",
              [shown(both), offer])
    names = [shown(both) for _, both, _, _ in authors]
    offers = [offer for _, _, offer, _ in authors]
    check(other.get("/mentors", query_string={"show_full": "y", "sort": "name"}), "/mentors", names + offers)
    partial = {"HX-Request": "true", "HX-Target": "results"}
    check(other.get("/mentors", query_string={"show_full": "y"}, headers=partial), "/mentors (htmx)", names + offers)
    check(other.get("/mentees", query_string={"sort": "name"}), "/mentees", names)
    check(other.get("/mentees", headers=partial), "/mentees (htmx)", names)
    # The last author mentors too: the offer form names the member offered to in its questions.
    for author, both, _, _ in authors[:-1]:
        check(client.get(f"/members/{author.id}/offer"), f"offer form [{author.email}]", [shown(both)])
    check(coord.get("/coordinator/members"), "coordinator members", names)
    # Each author asks to delete their account: the coordinators' list of pending deletions names them.
    from portal.members import privacy
    for author, _, _, _ in authors:
        privacy.request_deletion(author, PASSWORD)
    check(coord.get("/coordinator/deletions"), "pending deletions", names)
    check.mails(mailbox, {a.email: shown(both) for a, both, _, _ in authors})
    check.assert_none()


def test_coordinator_fields_stay_inert_everywhere(app, make_member, mailbox, db, embedded):
    check = Checker()
    make_member(name="Cora Coordinator", email="coordinator@example.org", role="coordinator")
    make_member(name="Vic Viewer", email="viewer@example.org", seeks=[])
    coord, member = log_in(app, "coordinator@example.org"), log_in(app, "viewer@example.org")
    names = {}
    for number, payload in enumerate(PAYLOADS):
        # A topic of the coordinator's: on the topics page, in every member's choices and filters.
        check(coord.post("/coordinator/topics", data={"name": topic_name(f"c{number} ", payload)}),
              f"topic added [{number}]")
        # The name of an invitation: in the mail, and on the page its link opens.
        email = f"invitee{number}@example.org"
        check(coord.post("/coordinator/members", data={"email": email, "name": payload, "role": "member"}),
              f"invitation sent [{number}]")
        names[email] = shown(Invitation.get(Invitation.email == email).name)
        assert names[email] == shown(payload) or payload != payload.strip(), payload
        check(app.test_client().get(mailbox.link(email, "/invite/")), f"invitation page [{number}]", [names[email]])
        if number % 10 == 9:  # the flash messages name them
            check(coord.get("/coordinator/members"), f"coordinator members [..{number}]")
            check(coord.get("/coordinator/topics"), f"coordinator topics [..{number}]")
    topics = [topic_name(f"c{n} ", p) for n, p in enumerate(PAYLOADS)]
    check(coord.get("/coordinator/topics"), "coordinator topics", topics)
    for path in ("/profile/edit", "/profile/wizard/2", "/profile/wizard/3", "/mentors"):
        check(member.get(path), path, topics)
    check.mails(mailbox, names)
    check.assert_none()


def test_imported_names_and_renamed_topics_stay_inert(app, make_member, mailbox, db, embedded):
    """Names of a CSV import: in the preview (before anything is written), on the members page and in the
    invitation mails; topic names a coordinator renames: on the topics page and the members' forms."""
    import csv
    import io

    check = Checker()
    make_member(name="Cora Coordinator", email="coordinator@example.org", role="coordinator")
    viewer = make_member(name="Vic Viewer", email="viewer@example.org")
    coord, member = log_in(app, "coordinator@example.org"), log_in(app, viewer.email)
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["email", "name", "role"])
    names = {f"imported{n}@example.org": payload for n, payload in enumerate(PAYLOADS)}
    writer.writerows([email, name, "member"] for email, name in names.items())
    preview = coord.post("/coordinator/members/import", content_type="multipart/form-data",
                         data={"file": (io.BytesIO(rows.getvalue().encode()), "people.csv"), "role": "member"})
    shown_names = {email: shown(name) for email, name in names.items()}
    check(preview, "import preview", list(shown_names.values()))
    page = preview.get_data(as_text=True)
    form = {name: re.search(rf'name="{name}"[^>]*value="([^"]*)"', page).group(1) for name in ("kind", "role",
                                                                                               "expected")}
    form["source"] = rows.getvalue()
    assert coord.post("/coordinator/members/import/confirm", data=form).status_code == 303
    assert Invitation.select().count() == len(PAYLOADS)
    check(coord.get("/coordinator/members"), "coordinator members (invitations)")
    check.mails(mailbox, shown_names)
    topic = Topic.create(name="Leadership")
    for number, payload in enumerate(PAYLOADS):
        name = topic_name(f"r{number} ", payload)
        assert coord.post(f"/coordinator/topics/{topic.id}/rename", data={"new_name": name}).status_code == 303, name
        check(coord.get("/coordinator/topics"), f"topics [{number}]", [name])
        check(member.get("/profile/edit"), f"profile form [{number}]", [name])
    check.assert_none()


def test_registration_name_stays_inert_everywhere(app, make_member, mailbox, db):
    app.config.update(ALLOWED_EMAIL_DOMAINS=frozenset({"example.org"}))
    check = Checker()
    make_member(name="Cora Coordinator", email="coordinator@example.org", role="coordinator")
    coord = log_in(app, "coordinator@example.org")
    names = {}
    for number, payload in enumerate(PAYLOADS):
        email = f"joiner{number}@example.org"
        client = app.test_client()
        check(client.post("/register", data={"name": payload, "email": email, "password": NEW_PASSWORD,
                                             "confirm": NEW_PASSWORD},
                          environ_base={"REMOTE_ADDR": f"192.0.2.{number + 1}"}), f"registration [{number}]")
        joiner = User.get_or_none(User.email == email)
        assert joiner, f"the registration with {payload!r} made no account"
        names[email] = shown(joiner.name)
        if number % 10 == 0:  # their own pages, with the notice to confirm the address
            client.post("/login", data={"email": email, "password": NEW_PASSWORD})
            check(client.get(f"/members/{joiner.id}"), f"own profile [{number}]", [names[email]])
            check(client.get("/profile/wizard/1"), f"wizard [{number}]", [names[email]])
    for email, name in names.items():  # the list shows 50 a page: each joiner found by their address
        check(coord.get("/coordinator/members", query_string={"q": email}), f"coordinator members [{email}]", [name])
    check.mails(mailbox, names)
    check.assert_none()


def test_request_texts_stay_inert_everywhere(app, make_member, db):
    """The prompts of a request, the note declining it (typed again after an over-long try, and in
    place through htmx) and a coordinator's note rejecting one, on /requests for both sides."""
    check = Checker()
    topic = Topic.create(name="Leadership")
    coordinator = make_member(name="Cora Coordinator", email="coordinator@example.org", role="coordinator")
    mentor = make_member(name="Mona Mentor", email="mentor@example.org", offers=[topic])
    as_mentor = log_in(app, mentor.email)
    seen_by_mentor = []
    for number, (first, second) in pairs():
        mentee = make_member(email=f"asker{number}@example.org", seeks=[topic])
        client = log_in(app, mentee.email)
        rejected = number % 3 == 2
        requests.set_requests_need_review(coordinator, rejected)
        prompts = [f"{number} help with {first} and more", f"{number} success is {second} and more"]
        response = client.post(f"/members/{mentor.id}/request", data={
            "topics": [str(topic.id)], "help_wanted": prompts[0], "success_looks_like": prompts[1],
            "meeting_format": "video"})
        assert response.status_code == 303, f"the request with {prompts!r} was not sent"
        req = ConnectionRequest.get(ConnectionRequest.requester == mentee.id)
        note = f"{number} note {first}"
        if rejected:
            requests.reject(coordinator, req, note)
        else:
            seen_by_mentor += [shown(p) for p in prompts]
            check(as_mentor.post(f"/requests/{req.id}/decline", data={"note": note + "x" * 1000}),
                  f"over-long note kept [{number}]", [shown(note)])
            if number % 2:
                check(as_mentor.post(f"/requests/{req.id}/decline", data={"note": note},
                                     headers={"HX-Request": "true", "HX-Target": f"request-{req.id}"}),
                      f"declined in place [{number}]", [shown(note)])
            else:
                assert as_mentor.post(f"/requests/{req.id}/decline", data={"note": note}).status_code == 303
            seen_by_mentor.append(shown(note))
        check(client.get("/requests"), f"the mentee's requests [{number}]", [shown(p) for p in prompts] + [shown(note)])
    check(as_mentor.get("/requests"), "the mentor's requests", seen_by_mentor)
    check.assert_none()


def test_meeting_texts_stay_inert_everywhere(app, make_member, db):
    """A meeting's agenda and place (and a refused link kept in its box), a log's Markdown notes and next steps,
    a private note and a feedback comment (given in place through htmx), on the meeting's page, the timeline
    of both partners and the coordinator, and in the invitation email."""
    topic = Topic.create(name="Leadership")
    make_member(name="Cora Coordinator", email="coordinator@example.org", role="coordinator")
    mentor = make_member(name="Ana Berger", email="ana@example.org", offers=[topic])
    mentee = make_member(name="Mel Mentee", email="mel@example.org", seeks=[topic])
    text = "Some words that are long enough for a request prompt."
    req = requests.send_request(mentee, mentor, [topic.id], text, text, "video")
    pair = Mentorship.get_by_id(requests.accept(mentor, req).mentorship_id)
    ana, mel, cora = (log_in(app, email) for email in ("ana@example.org", "mel@example.org", "coordinator@example.org"))
    day = times.today(mentor.time_zone, utcnow()) + dt.timedelta(days=3)
    problems, shared = [], []

    def check(response, where, shows=()):
        assert response.status_code == 200, f"{where} answered {response.status_code}"
        problems.extend(inspect(response.get_data(as_text=True), where, shows))

    for number, (first, second) in pairs():
        agenda, place = f"{number} agenda {first}", f"{number} at {second}"
        plan = {"date": day.isoformat(), "time": "10:00", "duration": "60", "format": "in_person", "place": place,
                "agenda": agenda}
        check(ana.post(f"/mentorships/{pair.id}/meetings/new", data=plan | {"link": f"https://x/ {first}"}),
              f"a refused link kept [{number}]", [shown(agenda), shown(place), shown(f"https://x/ {first}")])
        assert ana.post(f"/mentorships/{pair.id}/meetings/new", data=plan).status_code == 303, plan
        scheduled = Meeting.select().order_by(Meeting.id.desc()).get()
        log = {"held_on": times.today(mentee.time_zone, utcnow()).isoformat(), "duration": "60",
               "notes": f"{number} notes {first}", "next_steps": f"{number} then {second}",
               "private_note": f"{number} mine {first}"}
        assert mel.post(f"/meetings/{scheduled.id}/log", data=log).status_code == 303, log
        comment = f"{number} useful {second}"
        in_place = {"HX-Request": "true", "HX-Target": f"meeting-{scheduled.id}"}
        check(mel.post(f"/meetings/{scheduled.id}/feedback", headers=in_place, data={
            f"meeting-{scheduled.id}-rating": "4", f"meeting-{scheduled.id}-most_useful": comment,
            f"meeting-{scheduled.id}-visibility": "partner"}), f"feedback in place [{number}]", [shown(comment)])
        check(mel.get(f"/meetings/{scheduled.id}"), f"the meeting's page [{number}]",
              [shown(agenda), shown(place), shown(log["private_note"]), shown(comment)])
        shared += [shown(agenda), shown(place), shown(comment)]
    for client, where in ((ana, "the mentor's timeline"), (mel, "the mentee's timeline"), (cora, "the coordinator's")):
        check(client.get(f"/mentorships/{pair.id}"), where, shared)
    another = dict(plan, format="video", place="", agenda=" ".join(p for _, pair_ in pairs() for p in pair_)[:2000])
    assert ana.post(f"/mentorships/{pair.id}/meetings/new", data=another).status_code == 303
    with app.test_request_context():
        message = mail.meeting_message(Meeting.select().order_by(Meeting.id.desc()).get(), mentee)
    problems.extend(inspect(message.get_body(preferencelist=("html",)).get_content(), "the invitation email"))
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])


def test_pairs_pages_and_the_audit_log_stay_inert(app, make_member, mailbox, db):
    """Members' names on the pairs list, the admin match search and preview and the end page; a coordinator's
    end note on the partners' page and in their email; the audit log's details and its echoed filters."""
    from portal.models import Notification
    from portal.notifications import delivery

    topic = Topic.create(name="Leadership")
    make_member(name="Cora Coordinator", email="coordinator@example.org", role="coordinator")
    cora = log_in(app, "coordinator@example.org")
    check, names = Checker(), {}
    pairs_made = []
    for number, (first, second) in pairs():
        mentor = make_member(name=shown(first) or f"m{number}", email=f"mentor{number}@example.org", offers=[topic])
        mentee = make_member(name=shown(second) or f"e{number}", email=f"mentee{number}@example.org", seeks=[topic])
        names[mentor.email], names[mentee.email] = mentor.name, mentee.name
        both = [mentor.name, mentee.name]
        check(cora.get("/coordinator/pairs/new", query_string={"mentor_q": first[:50], "mentee_q": second[:50]}),
              f"match search [{number}]", [shown(first[:50]).strip(), shown(second[:50]).strip()])
        check(cora.get("/coordinator/pairs/new", query_string={"mentor": mentor.id, "mentee": mentee.id}),
              f"match preview [{number}]", both)
        response = cora.post("/coordinator/pairs/new", data={"mentor": mentor.id, "mentee": mentee.id})
        assert response.status_code == 303, f"no pair for {both!r}"
        pair = Mentorship.get(Mentorship.mentor == mentor.id)
        check(cora.get(f"/coordinator/pairs/{pair.id}/end"), f"end page [{number}]", both)
        note = f"{number} ends {first}"
        ended = cora.post(f"/coordinator/pairs/{pair.id}/end", data={"reason": "other", "note": note})
        assert ended.status_code == 303, f"not ended with the note {note!r}"
        pairs_made.append((pair, mentee, both, note))
        check(cora.get("/coordinator/audit", query_string={"actor": first[:50], "target": second[:50]}),
              f"audit filters echoed [{number}]", [shown(first[:50]).strip(), shown(second[:50]).strip()])
    listed = [name for _, _, both, _ in pairs_made for name in both]
    check(cora.get("/coordinator/pairs", query_string={"status": "all"}), "the pairs list", listed)
    check(cora.get("/coordinator/audit", query_string={"action": "mentorship.ended"}), "the audit log",
          [shown(note) for *_, note in pairs_made])
    for pair, mentee, both, note in pairs_made[:5]:
        check(log_in(app, mentee.email).get(f"/mentorships/{pair.id}"), f"the partner's page [{pair.id}]",
              [shown(note)])
    for row in Notification.select().where(Notification.kind.in_(["pair_matched", "mentorship_ended"])):
        delivery.deliver(row.id)
    check.mails(mailbox, names)
    check.assert_none()


def test_a_rounds_review_page_stays_inert(app, make_member, db):
    """Members' names and topic names on a round's proposals (the page, a row swapped in place, the weights'
    preview) and among the unmatched mentees."""
    from portal.models import Round, RoundEntry, RoundEntryTopic, RoundProposal
    from portal.rounds import review

    make_member(name="Cora Coordinator", email="coordinator@example.org", role="coordinator")
    cora = log_in(app, "coordinator@example.org")
    day = dt.date.today()
    r = Round.create(name="Spring", opens_on=day, closes_on=day, starts_on=day, length_weeks=8, status=Round.MATCHING)
    check, names = Checker(), []
    for number, (first, second) in pairs():
        topic = Topic.create(name=f"{number} {shown(first)}"[:60])
        mentor = make_member(name=shown(first) or f"m{number}", offers=[topic])
        mentee = make_member(name=shown(second) or f"e{number}", seeks=[topic])
        loner = make_member(name=f"{number} {shown(second)}", seeks=[topic], languages=("fi",))
        for user, kind in ((mentor, "offers"), (mentee, "seeks"), (loner, "seeks")):
            entry = RoundEntry.create(round=r, user=user, as_mentor=kind == "offers", capacity=1,
                                      as_mentee=kind == "seeks")
            RoundEntryTopic.create(entry=entry, topic=topic, kind=kind)
        names += [mentor.name, mentee.name, loner.name, topic.name]
    review.run(User.get(User.email == "coordinator@example.org"), r)
    check(cora.get(f"/coordinator/rounds/{r.id}/proposals"), "the proposals page", names)
    p = RoundProposal.select().first()
    check(cora.post(f"/coordinator/rounds/{r.id}/proposals/{p.id}/lock",
                    headers={"HX-Request": "true", "HX-Target": f"proposal-{p.id}"}), "a locked row",
          [p.mentor.name, p.mentee.name])
    weights = {"topics": "0", "seniority": "1", "overlap": "1", "organization": "1", "preference": "1"}
    check(cora.post(f"/coordinator/rounds/{r.id}/weights", data={**weights, "action": "preview"}),
          "the weights' preview")
    check.assert_none()


def test_round_names_and_the_member_search_stay_inert(app, make_member, mailbox, db):
    """Round names on the coordinators' list and form, the members' list and join page, and in the round's
    emails; members' names and the typed search echoed on the join page, whole and as htmx asks for it."""
    from portal.models import Notification, Round
    from portal.notifications import delivery
    from portal.rounds import services as rounds

    topic = Topic.create(name="Leadership")
    cora_user = make_member(name="Cora Coordinator", email="coordinator@example.org", role="coordinator")
    mia = make_member(name="Mia Member", email="member@example.org", seeks=[topic])
    cora, member = log_in(app, "coordinator@example.org"), log_in(app, "member@example.org")
    check = Checker()
    day = utcnow().date()
    made = []
    for number, payload in enumerate(PAYLOADS):
        name = f"{number} {payload}"[:80]
        response = cora.post("/coordinator/rounds/new", data={
            "name": name, "opens_on": day.isoformat(), "closes_on": (day + dt.timedelta(days=7)).isoformat(),
            "starts_on": (day + dt.timedelta(days=14)).isoformat(), "length_weeks": "12"})
        assert response.status_code == 303, f"no round called {name!r}"
        r = Round.select().order_by(Round.id.desc()).first()
        made.append((r, shown(" ".join(name.split()))))
        check(cora.get(f"/coordinator/rounds/{r.id}/edit"), f"round form [{number}]", [made[-1][1]])
    check(cora.get("/coordinator/rounds"), "the rounds list", [n for _, n in made])
    for r, _ in made[:10]:
        rounds.move(cora_user, r, Round.OPEN)
    check(member.get("/rounds"), "the members' rounds", [n for _, n in made[:10]])
    for r, name in made[:10]:
        check(member.get(f"/rounds/{r.id}/join"), f"join page {r.id}", [name])
    # Mentors with hostile names, found by a hostile search.
    r = made[0][0]
    rounds.join(mia, r, False, 0, [], True, [topic.id], True)
    for number, (first, second) in pairs():
        mentor = make_member(name=shown(first) or f"m{number}", email=f"mentor{number}@example.org", offers=[topic])
        rounds.join(mentor, r, True, 1, [topic.id], False, [], True)
        for query in (first[:50], mentor.name[:50]):
            for headers in ({}, {"HX-Request": "true", "HX-Target": "mentor_results"},
                            {"HX-Request": "true", "HX-Target": "other_results"}):
                check(member.get(f"/rounds/{r.id}/join", query_string={"mentor_q": query, "other_q": query},
                                 headers=headers), f"member search [{number}] {headers}", [shown(query).strip()])
    for row in Notification.select().where(Notification.kind == "round_opened").limit(20):
        with app.test_request_context():
            delivery.deliver(row.id)
    check.mails(mailbox, {u.email: u.name for u in User.select()})
    check.assert_none()
