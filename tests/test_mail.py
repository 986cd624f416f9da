"""Mail: files by default, real SMTP when PORTAL_SMTP_URL is set."""
import socket

import pytest
from aiosmtpd.controller import Controller

import jobs
from portal import mail
from portal.models import Invitation


class Collect:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server():
    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, handler
    controller.stop()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_without_smtp_mail_is_written_as_files(app, client, auth, make_member, mailbox, embedded):
    make_member(email="coord@example.org", role="coordinator")
    auth.login("coord@example.org")
    client.post("/coordinator/members", data={"email": "new@example.org", "name": "New Person", "role": "member"})
    message = mailbox.last_to("new@example.org")
    assert "invited" in message["Subject"]
    assert message.get_body(preferencelist=("html",)) is not None  # text and HTML parts
    assert "/invite/" in mailbox.text(message)


def test_with_smtp_the_email_arrives_at_the_server(app, client, auth, make_member, smtp_server, mailbox, embedded):
    controller, handler = smtp_server
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{controller.port}"
    make_member(email="coord@example.org", role="coordinator")
    auth.login("coord@example.org")
    response = client.post("/coordinator/members", data={"email": "new@example.org", "name": "", "role": "member"})
    assert response.status_code == 302
    jobs.drain()  # the invitation's email goes out from the worker, after the request
    assert [e.rcpt_tos for e in handler.envelopes] == [["new@example.org"]]
    assert b"/invite/" in handler.envelopes[0].content
    assert mailbox.messages == []  # nothing written to files


def test_a_mail_server_that_is_down_loses_no_invitation(app, client, auth, make_member, embedded):
    """The email goes out of the request: the invitation is saved, and waits to be tried again."""
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{_free_port()}"
    app.config["SMTP_TIMEOUT"] = 2
    make_member(email="coord@example.org", role="coordinator")
    auth.login("coord@example.org")
    response = client.post("/coordinator/members", data={"email": "new@example.org", "name": "", "role": "member"})
    assert response.status_code == 302
    jobs.drain()
    with app.app_context():
        [invitation] = Invitation.select().where(Invitation.email == "new@example.org")
        assert invitation.send_status == Invitation.PENDING and invitation.send_attempts == 1
    assert "waiting to be sent (last try:" in client.get("/coordinator/members").get_data(as_text=True)


def test_dev_mail_page_lists_written_mail_only_in_dev_mode(app, client, auth, make_member, embedded):
    make_member(email="coord@example.org", role="coordinator")
    auth.login("coord@example.org")
    client.post("/coordinator/members", data={"email": "new@example.org", "name": "", "role": "member"})
    jobs.drain()
    assert client.get("/dev/mail").status_code == 404
    app.config["DEV"] = True
    page = client.get("/dev/mail").get_data(as_text=True)
    assert "new@example.org" in page and "/invite/" in page


def test_smtp_error_is_a_mail_error(app):
    with app.test_request_context():
        message = mail.build("x@example.org", "Hello", "verify", to_name="X", link="http://portal.test/verify/x")
        app.config["SMTP_URL"] = f"smtp://127.0.0.1:{_free_port()}"
        with pytest.raises(mail.MailError):
            mail.send(message)
