"""Time for a pair: UTC inside, each partner's own zone at the edges (DESIGN §3).

A meeting is entered as a local date and time in the zone of the member who
enters it, stored in UTC, and shown to each person in their own zone:
"10:00 for you · 18:00 for Ana, Berlin". Daylight-saving changes are the
zones' business (``zoneinfo``): a local time that does not exist (the hour the
clocks skip) is refused, and one that happens twice (the hour they repeat) is
taken the first time, and the caller is told so.
"""
import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ..matching import WORK_END, WORK_START

UTC = dt.timezone.utc
# A working day, when the profile names no hours: the same one the match score counts on.
WORK_DAY = (f"{WORK_START:02d}:00", f"{WORK_END:02d}:00")


class LocalTimeError(ValueError):
    """A local time that does not exist in the zone."""


def zone(name):
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def place(zone_name):
    """The city of a zone, for people: "America/New_York" → "New York"."""
    return (zone_name or "UTC").rsplit("/", 1)[-1].replace("_", " ")


def first_name(user):
    words = (user.name or "").split()
    return words[0] if words else ""


def aware(value):
    """A naive-UTC datetime from the database as an aware UTC one."""
    return value.replace(tzinfo=UTC)


def local(value, zone_name):
    """A naive-UTC datetime in a zone (aware)."""
    return aware(value).astimezone(zone(zone_name))


def today(zone_name, now):
    """The date it is in a zone at the naive-UTC moment ``now``."""
    return local(now, zone_name).date()


def _long_date(day):
    return f"{day.day} {day:%B %Y}"


def to_utc(day, time, zone_name):
    """A local date and time in a zone as naive UTC, with a notice for the person ("" when none).

    Raises LocalTimeError for a time the clocks skip; a time that happens twice
    is taken the first time, and the notice says so.
    """
    tz = zone(zone_name)
    wall = dt.datetime.combine(day, time)
    first = wall.replace(tzinfo=tz, fold=0)
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall:
        raise LocalTimeError(f"{time:%H:%M} does not exist on {_long_date(day)} in your time zone "
                             f"({zone_name}): the clocks go forward that night. Choose another time.")
    second = wall.replace(tzinfo=tz, fold=1)
    notice = ""
    if first.utcoffset() != second.utcoffset():
        notice = (f"{time:%H:%M} happens twice on {_long_date(day)} in your time zone ({zone_name}), "
                  f"as the clocks go back: the meeting is at the first one, {time:%H:%M} {first.tzname()} "
                  f"(UTC{_offset(first)}).")
    return first.astimezone(UTC).replace(tzinfo=None), notice


def _offset(moment):
    minutes = int(moment.utcoffset().total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def when(value, zone_name, fmt="%a %d %b %Y, %H:%M"):
    """A naive-UTC moment written in a zone: "Mon 16 Mar 2026, 10:00"."""
    return local(value, zone_name).strftime(fmt) if value else ""


def duration(minutes):
    """A meeting's length for people: "45 min", "1 h", "1 h 30 min"."""
    hours, rest = divmod(int(minutes or 0), 60)
    return " ".join(part for part in (f"{hours} h" if hours else "", f"{rest} min" if rest else "") if part)


def times_for(start, viewer, others, end=None):
    """One moment (or span, with ``end``) in the viewer's zone, then in each other person's.

    "10:00 for you · 18:00 for Ana, Berlin". A time on another day than the
    viewer's names the weekday ("08:00 Tue for Hiro, Tokyo"); someone whose
    clock reads the same is named with the viewer ("10:00 for you and Ana").
    Without a viewer (a coordinator looking at a pair) each person is named.
    """
    base_zone = viewer.time_zone if viewer is not None else others[0].time_zone
    base_day = local(start, base_zone).date()

    def clock(user):
        start_local = local(start, user.time_zone)
        text = start_local.strftime("%H:%M")
        if end is not None:
            text += "–" + local(end, user.time_zone).strftime("%H:%M")
        if start_local.date() != base_day:
            text += start_local.strftime(" %a")
        return text

    parts = []
    if viewer is not None:
        mine = clock(viewer)
        same = [first_name(o) for o in others if clock(o) == mine]
        parts.append(f"{mine} for you" + "".join(f" and {name}" for name in same))
        others = [o for o in others if clock(o) != mine]
    parts += [f"{clock(o)} for {first_name(o)}, {place(o.time_zone)}" for o in others]
    return " · ".join(parts)


# --- when both partners can meet ---------------------------------------------------

_RANGE = re.compile(r"(?<![\d:])([01]?\d|2[0-4]):([0-5]\d)\s*(?:-|–|—|to|until)\s*([01]?\d|2[0-4]):([0-5]\d)(?![\d:])")


@dataclass(frozen=True)
class Window:
    """A span of time (aware UTC) in which both partners are available."""
    start: dt.datetime
    end: dt.datetime

    @property
    def hours(self):
        return (self.end - self.start).total_seconds() / 3600


def day_ranges(availability_note):
    """The hours of a member's day as (start, end) minutes after midnight.

    The ranges their availability note names ("Tuesdays 18:00–21:00"), or a
    working day of 08:00–18:00 (``WORK_DAY``) when it names none. A range past midnight
    ("22:00–01:00") runs into the next day.
    """
    found = []
    for h1, m1, h2, m2 in _RANGE.findall(availability_note or ""):
        start, end = int(h1) * 60 + int(m1), int(h2) * 60 + int(m2)
        if start >= 24 * 60 or end == start:
            continue
        found.append((start, end if end > start else end + 24 * 60))
    if found:
        return found
    (h1, m1), (h2, m2) = (part.split(":") for part in WORK_DAY)
    return [(int(h1) * 60 + int(m1), int(h2) * 60 + int(m2))]


def _spans(day, zone_name, ranges):
    tz = zone(zone_name)
    midnight = dt.datetime.combine(day, dt.time(0))
    for start, end in ranges:
        # Wall-clock minutes through zoneinfo, so that a day of 23 or 25 hours is counted right.
        yield ((midnight + dt.timedelta(minutes=start)).replace(tzinfo=tz).astimezone(UTC),
               (midnight + dt.timedelta(minutes=end)).replace(tzinfo=tz).astimezone(UTC))


def overlap(day, zone_a, ranges_a, zone_b, ranges_b):
    """The windows on ``day`` (a date in zone A) in which A and B are both available, earliest first.

    B's day may be A's yesterday or tomorrow (Sydney and New York), so all three are compared.
    """
    windows = []
    for start_a, end_a in _spans(day, zone_a, ranges_a):
        for shift in (-1, 0, 1):
            for start_b, end_b in _spans(day + dt.timedelta(days=shift), zone_b, ranges_b):
                start, end = max(start_a, start_b), min(end_a, end_b)
                if end > start:
                    windows.append((start, end))
    merged = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return [Window(start, end) for start, end in merged]
