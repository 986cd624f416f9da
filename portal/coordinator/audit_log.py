"""The audit log for coordinators (issue 7): every AuditEvent, newest first, filtered, a page at a time."""
import datetime as dt

from peewee import JOIN

from ..db import paginate
from ..models import AuditEvent, User
from ..templating import zone

PAGE_SIZE = 50
A = AuditEvent


def actions():
    """The actions that occur in the log, for the filter's select (one query)."""
    return [action for (action,) in A.select(A.action).distinct().order_by(A.action).tuples()]


def utc_bounds(date_from, date_to, time_zone):
    """The UTC moments (naive, as stored) that begin ``date_from`` and end ``date_to`` in the viewer's zone."""
    tz = zone(time_zone)

    def start_of(day):
        return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.timezone.utc).replace(tzinfo=None)
    return (start_of(date_from) if date_from else None,
            start_of(date_to + dt.timedelta(days=1)) if date_to else None)


def events(action="", actor="", target="", date_from=None, date_to=None, time_zone="UTC", page=1,
           page_size=PAGE_SIZE):
    """One page of the log, newest first, in two queries. ``actor`` matches a name or an email;
    ``target`` is a thing ("mentorship:12") or a kind of thing ("mentorship"); the dates are days in
    ``time_zone``, both included."""
    query = A.select(A, User).join(User, JOIN.LEFT_OUTER, on=(A.actor == User.id), attr="actor")
    if action:
        query = query.where(A.action == action)
    if actor:
        query = query.where(User.name.contains(actor) | User.email.contains(actor))
    if target:
        query = query.where((A.target == target) if ":" in target else A.target.startswith(f"{target}:"))
    start, end = utc_bounds(date_from, date_to, time_zone)
    if start:
        query = query.where(A.created_at >= start)
    if end:
        query = query.where(A.created_at < end)
    # rows: AuditEvent with .actor (None when the actor is gone, or for the system)
    return paginate(query.order_by(A.created_at.desc(), A.id.desc()), page, page_size)
