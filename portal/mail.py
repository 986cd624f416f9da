"""Building and sending email.

With ``PORTAL_SMTP_URL`` (``smtp://user:pass@host:587``; ``smtps://`` for
implicit TLS) messages go over SMTP with STARTTLS when the server offers it;
without it they are written as ``.eml`` files under the mail folder.
Callers send after their transaction has committed.
"""
import os
import smtplib
import ssl
import uuid
from email import message_from_binary_file, message_from_bytes, policy
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlparse

from flask import current_app, render_template

from . import ics, vocab
from .mentorships import times
from .models import Meeting, Mentorship, User, utcnow


class MailError(Exception):
    """The message could not be handed to the mail server."""


def build(to, subject, template, **context):
    """A multipart message from ``mail/<template>.txt`` and ``.html``."""
    app = current_app
    context.setdefault("base_url", app.config["BASE_URL"].rstrip("/"))
    message = EmailMessage()
    message["From"] = app.config["MAIL_FROM"]
    message["To"] = _recipient(context.get("to_name"), to)
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=urlparse(context["base_url"]).hostname or "localhost")
    message.set_content(render_template(f"mail/{template}.txt", **context))
    message.add_alternative(render_template(f"mail/{template}.html", **context), subtype="html")
    return message


def meeting_message(meeting, recipient, now=None):
    """The invitation, update or cancellation of a scheduled meeting for one partner, the .ics attached.

    The delivery of a meeting notification calls this after its transaction. The message is built
    from the meeting as it is now, so that one sent late carries the latest time and SEQUENCE, and
    a calendar never steps back to an older version of the meeting.
    """
    pair = Mentorship.get_by_id(meeting.mentorship_id)
    mentor, mentee = User.get_by_id(pair.mentor_id), User.get_by_id(pair.mentee_id)
    partner = mentee if recipient.id == mentor.id else mentor
    calendar = ics.meeting_calendar(meeting, mentor, mentee, recipient, current_app.config["MAIL_FROM"],
                                    current_app.config["BASE_URL"], now=now)
    method = ics.CANCEL if meeting.status == Meeting.CANCELLED else ics.REQUEST
    change = "cancelled" if method == ics.CANCEL else ("updated" if meeting.sequence else "new")
    day = times.when(meeting.starts_at, recipient.time_zone, "%a %d %b %Y")
    subject = {"new": f"Mentoring meeting with {partner.name} on {day}",
               "updated": f"Changed: mentoring meeting with {partner.name} on {day}",
               "cancelled": f"Cancelled: mentoring meeting with {partner.name} on {day}"}[change]
    message = build(recipient.email, subject, "meeting", to_name=recipient.name, meeting=meeting, partner=partner,
                    change=change, day=day, times=times.times_for(meeting.starts_at, recipient, [partner]),
                    duration=times.duration(meeting.duration_minutes),
                    format_label=vocab.FORMAT_LABEL.get(meeting.format, ""))
    message.add_attachment(calendar, maintype="text", subtype="calendar", filename="meeting.ics",
                           params={"method": method, "charset": "utf-8"})
    return message


def _recipient(name, address):
    """``Name <address>`` for the To header, or the address alone when the name would not
    come back whole from the wire.

    A header is one line, so line breaks go; and Python's email package may drop the quotes
    of a long name when it folds the line, so that ``Mallory <m@evil.example> …`` would read
    as another recipient.
    """
    name = " ".join(str(name or "").split())
    if not name:
        return address
    probe = EmailMessage()
    probe["To"] = formataddr((name, address))
    parsed = message_from_bytes(bytes(probe), policy=policy.default)["To"].addresses
    if [(a.display_name, a.addr_spec) for a in parsed] != [(name, address)]:
        return address
    return probe["To"]


def send(message):
    url = current_app.config.get("SMTP_URL")
    if url:
        _send_smtp(message, url, current_app.config["SMTP_TIMEOUT"])
    else:
        _write_file(message, current_app.config["MAIL_DIR"])
    current_app.logger.info("mail %r sent to %s", message["Subject"], message["To"])


def _send_smtp(message, url, timeout):
    parts = urlparse(url)
    host = parts.hostname or "localhost"
    try:
        if parts.scheme == "smtps":
            client = smtplib.SMTP_SSL(host, parts.port or 465, timeout=timeout,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(host, parts.port or 587, timeout=timeout)
        with client:
            client.ehlo()
            if parts.scheme == "smtp" and client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(str(exc)) from exc


def _write_file(message, folder):
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    name = f"{utcnow():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
    tmp = path / (name + ".tmp")
    tmp.write_bytes(bytes(message))
    os.replace(tmp, path / name)


def written(folder=None):
    """The ``.eml`` files of the embedded mail folder, newest first."""
    path = Path(folder or current_app.config["MAIL_DIR"])
    if not path.is_dir():
        return []
    messages = []
    for file in sorted(path.glob("*.eml"), reverse=True):
        with file.open("rb") as fh:
            msg = message_from_binary_file(fh, policy=policy.default)
        messages.append((file.name, msg))
    return messages



def server_answer(error):
    """``(code, text)`` of the mail server's answer behind a MailError ("451 4.7.1 Try again later"),
    or ``(None, text)`` when no answer came: connection refused or lost, timeout."""
    cause = error.__cause__
    if isinstance(cause, smtplib.SMTPRecipientsRefused) and cause.recipients:
        code, text = max(cause.recipients.values())
    elif isinstance(cause, smtplib.SMTPResponseException):
        code, text = cause.smtp_code, cause.smtp_error
    else:
        return None, str(cause or error)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return code, f"{code} {text}"


def is_permanent(error):
    """Whether the server refused the message for good (5xx): sending it again would fail again.

    A 4xx answer, or no answer at all, may go away by itself. Refused credentials (535) do not
    count as permanent: they are our configuration, and once it is fixed every message can go.
    """
    code, _ = server_answer(error)
    return (code is not None and 500 <= code < 600
            and not isinstance(error.__cause__, smtplib.SMTPAuthenticationError))
