"""Meeting invitations as iCalendar (RFC 5545 objects, RFC 5546 methods), beside mail.py.

A scheduled meeting is a ``METHOD:REQUEST``; each change sends it again with the
same UID and a higher SEQUENCE, so calendars update the event instead of adding
one; a cancelled meeting is a ``METHOD:CANCEL``. The start is written in the
organiser's zone with its VTIMEZONE, so a calendar keeps the meeting at that
local time across daylight-saving changes.

The portal is the ORGANIZER (its mail address) and the recipient the only
ATTENDEE: partners' email addresses are shared only when both agree to stay in
touch, never through an invitation.
"""
import datetime as dt
from email.utils import parseaddr

from icalendar import Calendar, Event, vCalAddress, vText

from .mentorships.times import zone
from .models import Meeting, utcnow

PRODID = "-//Tandem//Mentoring portal//EN"
REQUEST, CANCEL = "REQUEST", "CANCEL"


def _address(email, name, **params):
    address = vCalAddress(f"mailto:{email}")
    address.params["CN"] = vText(name)
    for key, value in params.items():
        address.params[key.upper()] = vText(value)
    return address


def meeting_calendar(meeting, mentor, mentee, recipient, organiser_address, base_url, now=None):
    """The invitation (or cancellation) of a scheduled meeting for ``recipient``, as bytes.

    ``organiser_address`` is the portal's sender ("Tandem <tandem@example.org>"),
    ``base_url`` the portal's address for the link back to the meeting page.
    """
    if meeting.starts_at is None:
        raise ValueError("a meeting logged without being scheduled has no invitation")
    method = CANCEL if meeting.status == Meeting.CANCELLED else REQUEST
    tz = zone(meeting.time_zone)
    start = meeting.starts_at.replace(tzinfo=dt.timezone.utc).astimezone(tz)
    page = f"{base_url.rstrip('/')}/meetings/{meeting.id}"

    event = Event()
    event.add("uid", meeting.ics_uid)
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", (now or utcnow()).replace(tzinfo=dt.timezone.utc))
    event.add("dtstart", start)
    event.add("dtend", start + dt.timedelta(minutes=meeting.duration_minutes))
    event.add("summary", f"Mentoring: {mentor.name} and {mentee.name}")
    event.add("status", "CANCELLED" if method == CANCEL else "CONFIRMED")
    name, email = parseaddr(organiser_address)
    event.add("organizer", _address(email, name or "Tandem"))
    event.add("attendee", _address(recipient.email, recipient.name, role="REQ-PARTICIPANT",
                                   partstat="NEEDS-ACTION", rsvp="FALSE"))
    if meeting.place or meeting.link:
        event.add("location", meeting.place or meeting.link)
    if meeting.link:
        event.add("url", meeting.link)
    description = [meeting.agenda] if meeting.agenda else []
    if meeting.link:
        description.append(f"Video link: {meeting.link}")
    description.append(f"Meeting page: {page}")
    event.add("description", "\n\n".join(description))

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
