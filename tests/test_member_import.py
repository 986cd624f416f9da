"""Inviting many members (issue 7): pasted lists and CSV files, the dry-run preview, the all-or-nothing
import, the ``import-members`` command, and invitation emails sent by the workers, out of the request."""
import datetime as dt
import html
import io
import re

import pytest

import jobs
from portal.auth import invitations
from portal.coordinator import imports
from portal.coordinator.services import CoordinatorError
from portal.models import AuditEvent, Invitation, User, utcnow
from portal.notifications import sweep

from pagekit import page_text

I = Invitation  # noqa: E741


@pytest.fixture
def known(make_member, coordinator):
    """A member and a pending invitation, for duplicates."""
    make_member(name="Mia Member", email="mia@example.org")
    I.create(email="ivy@example.org", name="Ivy", invited_by=coordinator)


def results(preview):
    return [(e.line, e.email, e.status, e.reason) for e in preview.entries]


def csv_upload(as_coordinator, content, name="members.csv", role="member"):
    data = content.encode("utf-8") if isinstance(content, str) else content
    return as_coordinator.post("/coordinator/members/import", data={"file": (io.BytesIO(data), name), "role": role},
                        content_type="multipart/form-data")


def hidden(response, name):
    """The value of a hidden input (or the hidden textarea) of the confirmation form."""
    page = response.get_data(as_text=True)
    found = re.search(rf'<textarea[^>]*name="{name}"[^>]*>\r?\n?(.*?)</textarea>', page, re.S)
    if found:
        return html.unescape(found.group(1))
    return html.unescape(re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page).group(1))


def confirm_form(response):
    return {name: hidden(response, name) for name in ("source", "kind", "role", "expected")}


# --- reading pasted lists and files -------------------------------------------

def test_pasted_addresses_one_per_line_or_separated_with_names(db):
    entries = imports.read_pasted('ada@example.org\n\n"Hopper, Grace" <grace@example.org>, alan@example.org;'
                                  ' Linus <linus@example.org>\n  \n')
    assert [(e.line, e.email, e.name) for e in entries] == [
        (1, "ada@example.org", ""), (3, "grace@example.org", "Hopper, Grace"), (3, "alan@example.org", ""),
        (3, "linus@example.org", "Linus")]


def test_good_duplicate_and_malformed_rows_each_get_their_reason_and_line(db, known):
    source = ("email,name,role\n"
              "ada@example.org,Ada Lovelace,member\n"
              "MIA@example.org,Mia Again,member\n"
              "ivy@example.org,Ivy Again,\n"
              "Ada@Example.org,Ada Twice,member\n"
              "not-an-email,Nobody,member\n"
              "bob@example.org,Bob,admin\n"
              f"long@example.org,{'x' * 121},member\n"
              ",No Email,member\n"
              "eve@example.org,Eve,member,extra\n"
              "grace@example.org,,coordinator\n")
    preview = imports.check(imports.read_csv(source), User.MEMBER)
    got = {line: (email, status, reason) for line, email, status, reason in results(preview)}
    assert got[2] == ("ada@example.org", "invite", "")
    assert got[3] == ("mia@example.org", "duplicate", "Already a member.")
    assert got[4][1:] == ("duplicate", "Already invited, not yet accepted: use “Resend” on the members page.")
    assert got[5] == ("ada@example.org", "duplicate", "Repeated in this list: already on line 2.")
    assert got[6][1] == "invalid" and got[6][2].startswith("Email: “not-an-email” is not an email address")
    assert got[7] == ("bob@example.org", "invalid", "Role: “admin” is not a role; use member or coordinator.")
    assert got[8] == ("long@example.org", "invalid", "Name: 121 characters; at most 120.")
    assert got[9] == ("", "invalid", "Email: missing.")
    assert got[10][1] == "invalid" and got[10][2].startswith("4 values on this line, for 3 columns")
    assert got[11] == ("grace@example.org", "invite", "")
    assert [e.role for e in preview.to_invite] == ["member", "coordinator"]
    assert I.select().count() == 1 and AuditEvent.select().count() == 0  # the check writes nothing


def test_a_file_with_bom_semicolons_crlf_and_empty_lines(db):
    data = "\ufeffEmail;Name;Role\r\n\r\nada@example.org;Lovelace, Ada;member\r\n;;\r\ngrace@example.org;Grace;\r\n"
    entries = imports.read_csv(imports.decode(data.encode("utf-8")))
    preview = imports.check(entries, User.COORDINATOR)
    assert results(preview) == [(3, "ada@example.org", "invite", ""), (5, "grace@example.org", "invite", "")]
    assert [(e.name, e.role) for e in preview.entries] == [("Lovelace, Ada", "member"), ("Grace", "coordinator")]


@pytest.mark.parametrize("data, message", [
    (b"name,role\nAda,member\n", "The first line must be the header “email,name,role”"),
    (b"email\tname\trole\nada@example.org\tAda\tmember\n", "The first line must be the header “email,name,role”"),
    (b"email,name,team\nada@example.org,Ada,x\n", "Unknown column “team” in the header"),
    (b"", "The first line must be the header"),
    (b"email,name,role\n\n\n", "The list has nobody to invite"),
    ("email\nzoë@example.org\n".encode("latin-1"), "The file is not UTF-8 text"),
    (b'email,name\nada@example.org,"Ada\n', "Line 2 cannot be read as CSV (unexpected end of data)"),
])
def test_files_that_cannot_be_read_say_why_on_the_file_field(db, data, message):
    with pytest.raises(CoordinatorError) as error:
        imports.read_csv(imports.decode(data))
    assert str(error.value).startswith(message) and error.value.field == "file"


def test_lists_over_the_limits_are_refused_with_the_limit(db):
    many = "email\n" + "".join(f"p{n}@example.org\n" for n in range(imports.MAX_ROWS + 1))
    with pytest.raises(CoordinatorError, match="The list has 2,001 people: invite at most 2,000 at a time."):
        imports.read_csv(many)
    with pytest.raises(CoordinatorError, match="larger than 1 MB"):
        imports.read_pasted("a" * (imports.MAX_BYTES + 1))


# --- the pages: preview, then confirm -----------------------------------------

def test_upload_previews_every_row_and_writes_nothing(as_coordinator, known, db):
    response = csv_upload(as_coordinator, "email,name,role\nada@example.org,Ada,member\nmia@example.org,Mia,member\n"
                                   "bad@,Bad,member\n")
    page = page_text(response)
    assert response.status_code == 200 and "Nothing has been written yet." in page
    assert "2 ada@example.org Ada member will be invited" in page
    assert "3 mia@example.org Mia member duplicate : Already a member." in page
    assert "4 bad@ Bad member invalid : Email: “bad@” is not an email address" in page
    assert "Invite 1 person" in page
    assert I.select().count() == 1 and AuditEvent.select().where(AuditEvent.action == "member.invited").count() == 0


def test_confirm_invites_the_good_rows_at_once_and_their_emails_arrive(as_coordinator, known, db, embedded, mailbox):
    preview = csv_upload(as_coordinator, "email,name,role\nada@example.org,Ada,member\nmia@example.org,Mia,member\n"
                                  "grace@example.org,Grace,coordinator\nbad@,Bad,member\n")
    response = as_coordinator.post("/coordinator/members/import/confirm", data=confirm_form(preview))
    assert response.status_code == 303 and response.headers["Location"] == "/coordinator/members"
    page = page_text(as_coordinator.get("/coordinator/members"))
    assert "Invited 2 people: their invitations go out in a moment; 2 rows left out." in page
    created = {i.email: i for i in I.select().where(I.email.in_(["ada@example.org", "grace@example.org"]))}
    assert created["grace@example.org"].role == "coordinator" and created["ada@example.org"].name == "Ada"
    assert mailbox.link("ada@example.org", "/invite/") and mailbox.link("grace@example.org", "/invite/")
    assert mailbox.to("mia@example.org") == [] and mailbox.to("bad@") == []
    assert all(i.send_status == I.SENT for i in I.select().where(I.id.in_([c.id for c in created.values()])))
    assert "ada@example.org" in page and "sent" in page
    invited = AuditEvent.select().where(AuditEvent.action == "member.invited").count()
    [imported] = AuditEvent.select().where(AuditEvent.action == "members.imported")
    assert invited == 2 and imported.detail == "2 invited, 1 duplicates, 1 invalid"


def test_a_row_made_a_duplicate_after_the_preview_stops_the_whole_import(as_coordinator, make_member, db):
    preview = csv_upload(as_coordinator, "email,name\nada@example.org,Ada\nalan@example.org,Alan\n")
    make_member(name="Alan Already", email="alan@example.org")  # joined meanwhile
    response = as_coordinator.post("/coordinator/members/import/confirm", data=confirm_form(preview))
    page = page_text(response)
    assert response.status_code == 200
    assert "Nothing was imported: the list changed since the preview" in page
    assert "3 alan@example.org Alan member duplicate : Already a member." in page
    assert I.select().count() == 0 and AuditEvent.select().where(AuditEvent.action == "member.invited").count() == 0
    # The preview shown again is the new one: confirming it invites the rest.
    assert as_coordinator.post("/coordinator/members/import/confirm", data=confirm_form(response)).status_code == 303
    assert [i.email for i in I.select()] == ["ada@example.org"]


def test_a_list_changed_in_the_form_is_checked_again(as_coordinator, db):
    preview = csv_upload(as_coordinator, "email,name\nada@example.org,Ada\n")
    form = dict(confirm_form(preview), source="email,name\nada@example.org,Ada\nmallory@example.org,Mal\n")
    response = as_coordinator.post("/coordinator/members/import/confirm", data=form)
    assert "the list changed since the preview" in page_text(response) and I.select().count() == 0


def test_pasted_list_previews_with_the_chosen_role_and_keeps_the_text_on_errors(as_coordinator, db):
    response = as_coordinator.post("/coordinator/members/import", data={"emails": "", "role": "member"})
    assert "Paste email addresses, or choose a CSV file." in page_text(response) and I.select().count() == 0
    typed = "a" * (imports.MAX_BYTES + 1)
    response = as_coordinator.post("/coordinator/members/import", data={"emails": typed, "role": "member"})
    assert "larger than 1 MB" in page_text(response) and typed in response.get_data(as_text=True)
    response = as_coordinator.post("/coordinator/members/import",
                            data={"emails": "Ada <ada@example.org>\ngrace@example.org", "role": "coordinator"})
    page = page_text(response)
    assert "1 ada@example.org Ada coordinator will be invited" in page and "Invite 2 people" in page
    assert as_coordinator.post("/coordinator/members/import/confirm", data=confirm_form(response)).status_code == 303
    assert sorted((i.email, i.role) for i in I.select()) == [("ada@example.org", "coordinator"),
                                                             ("grace@example.org", "coordinator")]


def test_the_csv_template_downloads_and_imports_cleanly(as_coordinator, db):
    response = as_coordinator.get("/coordinator/members/template.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    preview = imports.check(imports.read_csv(response.get_data(as_text=True)))
    assert len(preview.to_invite) == 2 and not preview.invalid


# --- the import-members command -----------------------------------------------

def test_command_dry_run_reports_every_row_and_writes_nothing(app, runner, tmp_path, known, db):
    path = tmp_path / "people.csv"
    path.write_text("email,name,role\nada@example.org,Ada,\nmia@example.org,Mia,member\n", encoding="utf-8")
    result = runner.invoke(args=["import-members", str(path), "--dry-run", "--role", "coordinator"])
    assert result.exit_code == 0, result.output
    assert "line 2: ada@example.org: will be invited" in result.output
    assert "line 3: mia@example.org: duplicate: Already a member." in result.output
    assert "Dry run: 1 would be invited, 1 duplicate, 0 invalid. Nothing was written." in result.output
    assert I.select().count() == 1


def test_command_imports_and_sends(app, runner, tmp_path, db, embedded, mailbox):
    path = tmp_path / "people.csv"
    path.write_bytes("\ufeffemail;name;role\nada@example.org;Ada;\n".encode("utf-8"))
    result = runner.invoke(args=["import-members", str(path), "--role", "coordinator"])
    assert result.exit_code == 0, result.output
    assert "line 2: ada@example.org: invited" in result.output
    assert "Invited 1, 0 duplicates, 0 invalid." in result.output
    [invitation] = I.select()
    assert invitation.role == "coordinator" and invitation.invited_by is None
    assert mailbox.link("ada@example.org", "/invite/")


def test_command_with_an_invalid_row_writes_nothing_and_fails(app, runner, tmp_path, db):
    path = tmp_path / "people.csv"
    path.write_text("email,name,role\nada@example.org,Ada,member\nbob@example.org,Bob,boss\n", encoding="utf-8")
    result = runner.invoke(args=["import-members", str(path)])
    assert result.exit_code == 1 and "Nothing was imported: 1 row is invalid." in result.output
    assert "line 3: bob@example.org: invalid: Role: “boss” is not a role" in result.output
    dry = runner.invoke(args=["import-members", str(path), "--dry-run"])
    assert dry.exit_code == 1 and "Dry run: 1 would be invited, 0 duplicates, 1 invalid." in dry.output
    assert I.select().count() == 0


def test_command_refuses_an_unreadable_file(app, runner, tmp_path, db):
    path = tmp_path / "people.csv"
    path.write_text("name\nAda\n", encoding="utf-8")
    result = runner.invoke(args=["import-members", str(path)])
    assert result.exit_code == 1 and "The first line must be the header" in result.output


# --- invitation emails, out of the request ------------------------------------

def invite_one(as_coordinator, email="nina@example.org"):
    return as_coordinator.post("/coordinator/members", data={"email": email, "name": "Nina", "role": "member"})


def test_single_invitation_goes_through_the_worker_and_the_page_says_sent(as_coordinator, db, embedded, smtp):
    assert invite_one(as_coordinator).status_code == 302
    jobs.drain()  # the request only enqueued it
    [message] = [m for m in smtp.messages() if "nina@example.org" in m["To"]]
    assert "/invite/" in message.get_body(preferencelist=("plain",)).get_content()
    invitation = I.get(I.email == "nina@example.org")
    assert invitation.send_status == I.SENT and invitation.sent_at is not None
    assert re.search(r"nina@example.org .* sent ", page_text(as_coordinator.get("/coordinator/members")))


def test_a_refused_invitation_shows_the_server_answer_and_resend_sends_it(as_coordinator, db, embedded, smtp):
    smtp.rcpt = ["550 5.1.1 <nina@example.org>: mailbox unavailable"]
    invite_one(as_coordinator)
    invitation = I.get(I.email == "nina@example.org")
    jobs.drain()
    invitation = I.get_by_id(invitation.id)
    assert invitation.send_status == I.FAILED and "550 5.1.1" in invitation.send_error
    page = page_text(as_coordinator.get("/coordinator/members"))
    assert "failed : 550 5.1.1 <nina@example.org>: mailbox unavailable" in page
    assert as_coordinator.post(f"/coordinator/invitations/{invitation.id}/resend").status_code == 302
    jobs.drain()
    assert I.get_by_id(invitation.id).send_status == I.SENT and len(smtp.received) == 1
    assert AuditEvent.select().where(AuditEvent.action == "invitation.resent").count() == 1


def test_try_later_keeps_it_waiting_and_a_later_sweep_sends_it(app, as_coordinator, db, smtp):
    smtp.data = ["451 4.7.1 Greylisted, try again later"]
    sent = []
    with app.test_request_context():
        invitation = invitations_invite(cora_of(), "nina@example.org", [])
    now = utcnow()
    assert invitations.deliver(invitation.id, now) == I.PENDING
    row = I.get_by_id(invitation.id)
    assert row.send_attempts == 1 and "451 4.7.1" in row.send_error and row.send_due_at > now
    assert "waiting to be sent (last try: 451 4.7.1" in page_text(as_coordinator.get("/coordinator/members"))
    assert sweep.sweep(now, enqueue=lambda i: None, enqueue_invitation=sent.append).invitations == 0
    later = now + dt.timedelta(minutes=2)
    assert sweep.sweep(later, enqueue=lambda i: None, enqueue_invitation=sent.append).invitations == 1
    assert sent == [invitation.id]
    with app.app_context():
        assert invitations.deliver(invitation.id, later) == I.SENT
    assert len(smtp.received) == 1 and invitations.deliver(invitation.id, later) is None  # never twice


def test_a_broker_that_is_down_loses_no_invitation(app, coordinator, db):
    def down(invitation_id):
        raise ConnectionError("broker unreachable")

    with app.test_request_context():
        invitation = I.create(email="nina@example.org", invited_by=coordinator)
        assert invitations.hand_over([invitation.id], enqueue=down) == 0
    assert I.get_by_id(invitation.id).claimed_until is None
    sent = []
    done = sweep.sweep(enqueue=lambda i: None, enqueue_invitation=sent.append)
    assert done.invitations == 1 and sent == [invitation.id]
    # Leased: the next sweep does not enqueue it again while the job may still run.
    assert sweep.sweep(enqueue=lambda i: None, enqueue_invitation=sent.append).invitations == 0


def cora_of():
    return User.get(User.email == "cora@example.org")


def invitations_invite(actor, email, sent):
    """An invitation written as the page writes one, its job caught in ``sent`` instead of run."""
    invitation = I.create(email=email, invited_by=actor)
    invitations.hand_over([invitation.id], enqueue=sent.append)
    return invitation


def test_an_invitation_whose_worker_died_mid_send_is_sent_again(app, coordinator, db, smtp):
    now = utcnow()
    invitation = I.create(email="nina@example.org", invited_by=coordinator, send_status=I.SENDING, send_attempts=1,
                          claimed_until=now - dt.timedelta(seconds=1))
    sent = []
    assert sweep.sweep(now, enqueue=lambda i: None, enqueue_invitation=sent.append).invitations == 1
    assert sent == [invitation.id] and I.get_by_id(invitation.id).send_status == I.PENDING
    with app.app_context():
        assert invitations.deliver(invitation.id, now) == I.SENT
    assert [e.rcpt_tos for e in smtp.received] == [["nina@example.org"]]
    assert I.get_by_id(invitation.id).send_attempts == 2


def test_an_accepted_invitation_is_not_sent(app, coordinator, db, smtp):
    invitation = I.create(email="nina@example.org", invited_by=coordinator, accepted_at=utcnow())
    with app.app_context():
        assert invitations.deliver(invitation.id) is None
    assert smtp.received == []
