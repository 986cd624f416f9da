"""Inviting many members at once (issue 7, DESIGN journey 1): pasted addresses or a CSV file.

``read_pasted`` and ``read_csv`` turn the input into entries (line number, email, name, role as typed);
``check`` says of every entry whether it will be invited, is a duplicate (already a member, already
invited and not yet accepted, repeated in this list) or is invalid, with the reason, and writes
nothing; ``invite_all`` checks again under the write lock and creates every invitation in one
transaction, or none: when the list is not the one previewed (``expected``), or, ``strict`` (the
``import-members`` command), when any entry is invalid. Duplicates are left out, never errors.
The invitations' emails go out through the workers after the commit (``auth.invitations``).
Each invitation is audited as a single one is (``member.invited``), and the import once more with its count.
"""
import csv
import hashlib
import io
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email

from .. import audit
from ..auth import invitations
from ..auth import services as accounts
from ..db import write_lock
from ..forms import one_line
from ..models import Invitation, User
from .services import CoordinatorError

MAX_ROWS = 2000
MAX_BYTES = 1_000_000
NAME_MAX = 120  # as the single invitation form
COLUMNS = ("email", "name", "role")
TEMPLATE = "email,name,role\r\nada@example.org,Ada Lovelace,member\r\ngrace@example.org,Grace Hopper,coordinator\r\n"

INVITE, DUPLICATE, INVALID = "invite", "duplicate", "invalid"


@dataclass
class Entry:
    line: int
    email: str
    name: str = ""
    role: str = ""
    status: str = INVITE
    reason: str = ""
    malformed: str = ""  # what is wrong with the line itself (read_csv), whatever its values


@dataclass
class Preview:
    entries: list
    created: list = field(default_factory=list)  # the invitations written (``invite_all``)

    def _with(self, status):
        return [e for e in self.entries if e.status == status]

    @property
    def to_invite(self):
        return self._with(INVITE)

    @property
    def duplicates(self):
        return self._with(DUPLICATE)

    @property
    def invalid(self):
        return self._with(INVALID)

    @property
    def fingerprint(self):
        """What the confirmation will write, in a few characters: carried from the preview to the import."""
        rows = sorted(f"{e.email}\t{e.name}\t{e.role}" for e in self.to_invite)
        return hashlib.sha256("\n".join(rows).encode()).hexdigest()[:20]


class ImportRefused(CoordinatorError):
    """Nothing was written; ``preview`` says row by row why."""

    def __init__(self, message, preview):
        super().__init__(message)
        self.preview = preview


def _too_big(text, field_name):
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise CoordinatorError(f"The list is larger than {MAX_BYTES // 1_000_000} MB: split it into smaller ones "
                               f"(at most {MAX_ROWS:,} people each).", field_name)


def _at_most(entries, field_name):
    if len(entries) > MAX_ROWS:
        raise CoordinatorError(f"The list has {len(entries):,} people: invite at most {MAX_ROWS:,} at a time.",
                               field_name)
    if not entries:
        raise CoordinatorError("The list has nobody to invite: no email address found.", field_name)
    return entries


def decode(data, field_name="file"):
    """An uploaded file's bytes as text: UTF-8, with or without a byte order mark."""
    if len(data) > MAX_BYTES:
        _too_big(data.decode("utf-8", "replace"), field_name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CoordinatorError("The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again.",
                               field_name) from error


def read_pasted(text, field_name="emails"):
    """Addresses one per line, or several on a line separated by commas or semicolons, each either
    ``email`` or ``Name <email>``."""
    _too_big(text, field_name)
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        for piece in _split(line):
            name, _, email = piece.rpartition("<")
            if email.endswith(">"):  # Name <email>
                entries.append(Entry(number, email[:-1].strip(), name.strip().strip('"').strip()))
            else:
                entries.append(Entry(number, piece))
    return _at_most(entries, field_name)


def _split(line):
    """The comma- or semicolon-separated pieces of a line, the ones inside ``<…>`` or quotes kept whole."""
    pieces, current, inside = [], [], None
    for char in line:
        if inside:
            inside = None if char == inside else inside
        elif char in "<\"":
            inside = ">" if char == "<" else '"'
        elif char in ",;":
            pieces.append("".join(current))
            current = []
            continue
        current.append(char)
    pieces.append("".join(current))
    return [p.strip() for p in pieces if p.strip()]


def read_csv(text, field_name="file"):
    """The rows of a CSV file with the header ``email,name,role`` (``name`` and ``role`` may be left
    out), separated by commas or semicolons; empty lines are skipped."""
    _too_big(text, field_name)
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise CoordinatorError(f"The header line cannot be read as CSV ({error}).", field_name) from error
    columns = [c.strip().lower() for c in header or []]
    if "email" not in columns:
        raise CoordinatorError("The first line must be the header “email,name,role” (columns separated by commas "
                               f"or semicolons); this file’s first line is “{first.strip()[:80]}”.", field_name)
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise CoordinatorError(f"Unknown column “{unknown[0]}” in the header: the columns are email, name and role.",
                               field_name)
    entries = []
    line = reader.line_num
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as error:  # a quote never closed, for one
            raise CoordinatorError(f"Line {reader.line_num} cannot be read as CSV ({error}).", field_name) from error
        start, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(columns):
            entries.append(Entry(start, row[0].strip(),
                                 malformed=f"{len(row)} values on this line, for {len(columns)} columns "
                                        f"({', '.join(columns)}): is a value with a “{delimiter}” missing its quotes?"))
            continue
        values = dict(zip(columns, (cell.strip() for cell in row)))
        entries.append(Entry(start, values.get("email", ""), values.get("name", ""), values.get("role", "")))
    return _at_most(entries, field_name)


def check(entries, default_role=User.MEMBER):
    """Each entry's fate (status and reason), in three queries however long the list; writes nothing."""
    seen = {}
    for entry in entries:
        entry.status, entry.reason = (INVALID, entry.malformed) if entry.malformed else (INVITE, "")
        if entry.malformed:
            continue
        entry.name = one_line(entry.name)
        entry.role = (entry.role or default_role).strip().lower()
        problem = _problem(entry)
        if problem:
            entry.status, entry.reason = INVALID, problem
        elif entry.email in seen:
            entry.status, entry.reason = DUPLICATE, f"Repeated in this list: already on line {seen[entry.email]}."
        else:
            seen[entry.email] = entry.line
    emails = sorted(seen)
    members = {e for (e,) in User.select(User.email).where(User.email.in_(emails)).tuples()} if emails else set()
    invited = set()
    if emails:
        invited = {e for (e,) in Invitation.select(Invitation.email)
                   .where(Invitation.email.in_(emails) & Invitation.accepted_at.is_null()).tuples()}
    for entry in entries:
        if entry.status != INVITE:
            continue
        if entry.email in members:
            entry.status, entry.reason = DUPLICATE, "Already a member."
        elif entry.email in invited:
            entry.status = DUPLICATE
            entry.reason = "Already invited, not yet accepted: use “Resend” on the members page."
    return Preview(entries)


def _problem(entry):
    """Why an entry cannot be invited, naming the column, or None; normalises its email."""
    typed = entry.email.strip()
    if not typed:
        return "Email: missing."
    try:
        entry.email = validate_email(typed, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        entry.email = typed
        return f"Email: “{typed}” is not an email address ({error})"
    if entry.role not in User.ROLES:
        return f"Role: “{entry.role}” is not a role; use {' or '.join(User.ROLES)}."
    if len(entry.name) > NAME_MAX:
        return f"Name: {len(entry.name)} characters; at most {NAME_MAX}."
    return None


def invite_all(actor, entries, default_role=User.MEMBER, expected=None, strict=False):
    """Invite every entry that ``check`` lets through, all in one transaction, or nobody (``ImportRefused``).
    Returns the preview, with the invitations written in ``created``; their emails are then enqueued.
    ``actor`` None is the operator of the ``import-members`` command."""
    if actor is not None and not actor.is_coordinator:
        raise CoordinatorError("Only coordinators can invite members.")
    with write_lock():
        preview = check(entries, default_role)
        if strict and preview.invalid:
            count = len(preview.invalid)
            raise ImportRefused(f"Nothing was imported: {count} row{'s are' if count != 1 else ' is'} invalid.",
                                preview)
        if expected is not None and preview.fingerprint != expected:
            raise ImportRefused("Nothing was imported: the list changed since the preview (someone joined or was "
                                "invited meanwhile). Check the preview below and confirm again.", preview)
        preview.created = [accounts.create_invitation(actor, e.email, e.name, e.role) for e in preview.to_invite]
        if preview.created:
            audit.record(actor, "members.imported", "invitations",
                         f"{len(preview.created)} invited, {len(preview.duplicates)} duplicates, "
                         f"{len(preview.invalid)} invalid")
    invitations.hand_over([i.id for i in preview.created])
    return preview
