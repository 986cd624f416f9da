"""CSV exports (issue 7): each export's header and rows against a hand-built program, what never goes
out (private notes, passwords, tokens, feedback the coordinator may not read), formula neutralising,
the BOM option, streaming, and who may download."""
import codecs
import csv
import datetime as dt
import io
from types import SimpleNamespace

import pytest

from portal.coordinator import exports
from portal.mentorships import services as mentorships
from portal.models import ConnectionRequest, Feedback, Meeting, Mentorship, User, utcnow
from portal.requests import services as requests

CANARY = "CANARY-private-note-7f3a"
HELP = "=HYPERLINK(\"http://evil.example\") I lead a team for the first time."
SUCCESS = "My team runs its weekly meeting without me."
T0 = dt.datetime(2026, 3, 2, 9, 30)  # a Monday, UTC


@pytest.fixture
def program(make_member, topics, auth):
    t = topics
    cora = make_member(name="Cora Coordinator", email="cora@example.org", role=User.COORDINATOR, time_zone="UTC")
    mona = make_member(name="Mona Mentor", email="mona@example.org", offers=[t["Leadership"], t["Python"]],
                       capacity=2, headline="=1+2", organization="@SUM(A1)", job_title="-Head of Data",
                       job_level="senior", languages=("de", "en"))
    mel = make_member(name="Mel Mentee", email="mel@example.org", seeks=[t["Leadership"]], headline="\tTabbed",
                      organization="Initech", time_zone="America/New_York")
    User.update(created_at=T0, last_login=T0 + dt.timedelta(hours=1)).where(User.id == mona.id).execute()
    req = requests.send_request(mel, mona, [t["Leadership"].id], HELP, SUCCESS, "video", now=T0)
    requests.accept(mona, req, now=T0 + dt.timedelta(days=1))
    req = ConnectionRequest.get_by_id(req.id)
    pair = Mentorship.get_by_id(req.mentorship_id)
    day = (utcnow() - dt.timedelta(days=2)).date()
    meeting = mentorships.log_meeting(mona, pair, day, 45, [t["Leadership"].id], notes="+We planned the quarter.",
                                      next_steps="Delegate the stand-up", private_note=CANARY)
    Meeting.update(logged_at=T0 + dt.timedelta(days=3)).where(Meeting.id == meeting.id).execute()
    shared = Feedback.create(meeting=meeting, author=mona, rating=5, most_useful="-The checklist",
                             visibility=Feedback.PARTNER, created_at=T0, updated_at=T0)
    private = Feedback.create(meeting=meeting, author=mel, rating=2, most_useful="Hard to say", good_fit=False,
                              visibility=Feedback.COORDINATORS, created_at=T0, updated_at=T0)
    auth.login("cora@example.org")
    return SimpleNamespace(cora=cora, mona=mona, mel=mel, req=req, pair=pair, meeting=meeting, day=day,
                           shared=shared, private=private, topics=t)


def download(client, name, query=""):
    response = client.get(f"/coordinator/export/{name}.csv{query}")
    assert response.status_code == 200, response.status_code
    return response


def table(response):
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    return rows[0], rows[1:]


def by_id(rows):
    return {row[0]: row for row in rows}


def test_members(client, program):
    p = program
    header, rows = table(download(client, "members"))
    assert header == ["id", "name", "email", "role", "active", "verified", "time_zone", "joined_at", "last_login",
                      "headline", "organization", "job_title", "job_level", "industry", "country", "region",
                      "offers_mentoring", "seeks_mentoring", "capacity", "profile_completed", "offers_topics",
                      "seeks_topics", "languages"]
    assert [r[1] for r in rows] == ["Cora Coordinator", "Mona Mentor", "Mel Mentee"]
    assert by_id(rows)[str(p.mona.id)] == [
        str(p.mona.id), "Mona Mentor", "mona@example.org", "member", "yes", "yes", "Europe/Berlin",
        "2026-03-02T09:30:00Z", "2026-03-02T10:30:00Z", "'=1+2", "'@SUM(A1)", "'-Head of Data", "senior",
        "technology", "DE", "europe", "yes", "no", "2", "yes", "Leadership; Python", "", "de; en"]
    assert by_id(rows)[str(p.mel.id)][9] == "'\tTabbed"


def test_members_never_carries_passwords_tokens_or_private_settings(client, program):
    body = download(client, "members").get_data(as_text=True)
    for user in User.select():
        assert user.password_hash not in body and user.session_token not in body
    header = body.splitlines()[0]
    for private in ("password", "token", "quiet", "digest", "deletion"):
        assert private not in header


def test_requests(client, program):
    p = program
    header, rows = table(download(client, "requests"))
    assert header == ["id", "sent_at", "direction", "status", "mentor_id", "mentor", "mentee_id", "mentee",
                      "topics", "help_wanted", "success_looks_like", "meeting_format", "reviewed_at",
                      "reviewed_by_id", "review_note", "answered_at", "answer_note", "expires_at", "closed_at",
                      "mentorship_id"]
    assert rows == [[str(p.req.id), "2026-03-02T09:30:00Z", "request", "accepted", str(p.mona.id), "Mona Mentor",
                     str(p.mel.id), "Mel Mentee", "Leadership", "'" + HELP, SUCCESS, "video", "", "", "",
                     "2026-03-03T09:30:00Z", "", "2026-03-16T09:30:00Z", "2026-03-03T09:30:00Z", str(p.pair.id)]]


def test_pairs(client, program):
    p = program
    header, rows = table(download(client, "pairs"))
    assert header == ["id", "mentor_id", "mentor", "mentee_id", "mentee", "status", "origin", "started_at",
                      "ended_at", "end_reason", "ended_by_id", "meetings_held", "minutes_held", "last_meeting",
                      "average_rating", "ratings", "flagged_at"]
    assert rows == [[str(p.pair.id), str(p.mona.id), "Mona Mentor", str(p.mel.id), "Mel Mentee", "active",
                     "request", "2026-03-03T09:30:00Z", "", "", "", "1", "45", p.day.isoformat(), "3.5", "2", ""]]


def test_meetings_without_private_notes(client, program):
    p = program
    header, rows = table(download(client, "meetings"))
    assert header == ["id", "mentorship_id", "mentor", "mentee", "status", "starts_at", "held_on",
                      "duration_minutes", "format", "topics", "logged_at", "cancelled_at", "notes", "next_steps"]
    assert rows == [[str(p.meeting.id), str(p.pair.id), "Mona Mentor", "Mel Mentee", "held", "", p.day.isoformat(),
                     "45", "", "Leadership", "2026-03-05T09:30:00Z", "", "'+We planned the quarter.",
                     "Delegate the stand-up"]]


def test_no_export_ever_holds_a_private_note(client, program):
    for name in exports.EXPORTS:
        assert CANARY not in download(client, name).get_data(as_text=True), name


def test_feedback_a_coordinator_reads_all_of_it(client, program):
    p = program
    header, rows = table(download(client, "feedback"))
    assert header == ["id", "meeting_id", "mentorship_id", "author_id", "author", "author_role", "rating",
                      "most_useful", "visibility", "good_fit", "given_at", "updated_at"]
    assert rows == [
        [str(p.shared.id), str(p.meeting.id), str(p.pair.id), str(p.mona.id), "Mona Mentor", "mentor", "5",
         "'-The checklist", "partner", "", "2026-03-02T09:30:00Z", "2026-03-02T09:30:00Z"],
        [str(p.private.id), str(p.meeting.id), str(p.pair.id), str(p.mel.id), "Mel Mentee", "mentee", "2",
         "Hard to say", "coordinators", "no", "2026-03-02T09:30:00Z", "2026-03-02T09:30:00Z"],
    ]


def test_a_coordinator_in_a_pair_exports_it_as_its_partner(client, program, auth):
    """The mentor becomes a coordinator: the mentee's coordinators-only feedback, its good-fit answer and the
    pair's flag stay out of their exports, as on their pair's page."""
    p = program
    User.update(role=User.COORDINATOR).where(User.id == p.mona.id).execute()
    Mentorship.update(flagged_at=T0).where(Mentorship.id == p.pair.id).execute()
    assert table(download(client, "pairs"))[1][0][-1] == "2026-03-02T09:30:00Z"  # Cora sees the flag
    auth.logout()
    auth.login("mona@example.org")
    _, rows = table(download(client, "feedback"))
    assert [r[0] for r in rows] == [str(p.shared.id)]
    pair_row = table(download(client, "pairs"))[1][0]
    assert pair_row[-3:] == ["5.0", "1", ""]  # her own rating only, and no flag
    assert "Hard to say" not in download(client, "feedback").get_data(as_text=True)


def test_user_text_is_neutralised_and_the_portals_own_values_are_not():
    assert [exports.user_text(v) for v in ("=1+2", "+1", "-1", "@x", "\tx", "\rx", "a=b", "", None)] == [
        "'=1+2", "'+1", "'-1", "'@x", "'\tx", "'\rx", "a=b", "", ""]


def test_bom_on_request_and_utf8(client, program):
    User.update(name="Zoë Ångström").where(User.id == program.mel.id).execute()
    plain = download(client, "members").get_data()
    assert not plain.startswith(codecs.BOM_UTF8) and "Zoë Ångström".encode() in plain
    with_bom = download(client, "members", "?bom=1").get_data()
    assert with_bom.startswith(codecs.BOM_UTF8) and with_bom[3:] == plain


def test_streamed_row_by_row_with_a_dated_filename(client, program):
    response = client.get("/coordinator/export/members.csv", buffered=False)
    assert response.is_streamed
    chunks = list(response.response)  # one piece per row as the database gives them (the header with the first)
    assert len(chunks) == 3 and chunks[0].startswith(b"id,name,email,")
    assert chunks[2].startswith(b"%d," % program.mel.id)
    response.close()
    response = download(client, "pairs")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    today = utcnow().strftime("%Y-%m-%d")
    assert response.headers["Content-Disposition"] == f'attachment; filename="tandem-pairs-{today}.csv"'


def test_an_export_with_no_rows_is_its_header(client, program):
    Feedback.delete().execute()
    assert download(client, "feedback").get_data(as_text=True).count("\r\n") == 1


def test_members_get_403_and_unknown_exports_404(client, program, auth):
    assert client.get("/coordinator/export/secrets.csv").status_code == 404
    assert client.get("/coordinator/export/members.txt").status_code == 404
    auth.logout()
    auth.login("mel@example.org")
    for name in exports.EXPORTS:
        assert client.get(f"/coordinator/export/{name}.csv").status_code == 403
    assert client.get("/coordinator/export").status_code == 403


def test_the_exports_page_offers_each_with_a_bom_checkbox(client, program):
    html = client.get("/coordinator/export").get_data(as_text=True)
    for name in exports.EXPORTS:
        assert f'action="/coordinator/export/{name}.csv"' in html and f'id="bom-{name}" name="bom" value="1"' in html


def test_each_download_is_audited(client, program):
    from portal.models import AuditEvent

    download(client, "meetings")
    client.get("/coordinator/export/secrets.csv")
    events = list(AuditEvent.select().where(AuditEvent.action == "export.downloaded"))
    assert [(e.actor_id, e.target) for e in events] == [(program.cora.id, "export:meetings")]
