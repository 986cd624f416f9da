"""Profiles and browsing: saving a profile, finding mentors and mentees, places left, being away."""
import datetime as dt
import math
from dataclasses import dataclass
from typing import NamedTuple

from peewee import JOIN, SQL, Case, Select, fn

from .. import audit, matching, vocab
from ..db import locked, write_lock
from ..mentorships import times
from ..models import (
    ConnectionRequest,
    Mentorship,
    Notification,
    Profile,
    ProfileLanguage,
    ProfileTopic,
    Topic,
    User,
    utcnow,
)
from ..notifications import services as notifications

WIZARD_STEPS = {
    1: "About you",
    2: "Topics you offer",
    3: "Topics you seek",
    4: "Time zone, languages and availability",
}


class ProfileError(Exception):
    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


# --- reading -------------------------------------------------------------------

def approved_topics():
    return list(Topic.select().where(Topic.approved == True).order_by(fn.LOWER(Topic.name)))  # noqa: E712


def topic_choices(user):
    """The topics a member may pick: approved ones, and their own suggestions still waiting for approval."""
    own = ProfileTopic.select(ProfileTopic.topic).where(ProfileTopic.profile == user.id)
    return list(Topic.select().where((Topic.approved == True) | (Topic.suggested_by == user.id)  # noqa: E712
                                     | Topic.id.in_(own)).order_by(fn.LOWER(Topic.name)))


def topic_ids(profile, kind):
    return [link.topic_id for link in ProfileTopic.select(ProfileTopic.topic)
            .where((ProfileTopic.profile == profile) & (ProfileTopic.kind == kind))]


def language_codes(profile):
    return [link.code for link in ProfileLanguage.select(ProfileLanguage.code)
            .where(ProfileLanguage.profile == profile).order_by(ProfileLanguage.code)]


def active_mentee_count(user):
    return Mentorship.select().where((Mentorship.mentor == user) & (Mentorship.status == Mentorship.ACTIVE)).count()


def places_left(profile):
    if not profile.offers_mentoring:
        return 0
    return max(0, profile.capacity - active_mentee_count(profile.user_id))


def visible_member(member_id, viewer):
    """A member whose profile the viewer may open (active ones; coordinators see all), or None."""
    query = Profile.select(Profile, User).join(User).where(Profile.user == member_id)
    if not viewer.is_coordinator:
        query = query.where(User.active == True)  # noqa: E712
    profile = query.first()
    if profile is None:
        return None
    profile.user.__dict__["_profile"] = profile
    return profile.user


def topics_by_kind(profile, viewer=None):
    """{'offers': [Topic…], 'seeks': [Topic…]} for one profile, in one query.

    Suggestions waiting for approval show only to the member and to coordinators.
    """
    result = {ProfileTopic.OFFERS: [], ProfileTopic.SEEKS: []}
    query = (ProfileTopic.select(ProfileTopic.kind, Topic).join(Topic)
             .where(ProfileTopic.profile == profile).order_by(fn.LOWER(Topic.name)))
    if viewer is None or (viewer.id != profile.user_id and not viewer.is_coordinator):
        query = query.where(Topic.approved == True)  # noqa: E712
    for link in query:
        result[link.kind].append(link.topic)
    return result


# --- writing -------------------------------------------------------------------

PROFILE_FIELDS = (
    "headline", "bio", "organization", "job_title", "job_level", "industry", "country",
    "offers_mentoring", "seeks_mentoring", "capacity", "availability_note",
)


def save_profile(user, data, step=None):
    """Save the fields present in ``data`` (a wizard step or the whole edit form).

    ``data`` may hold: the PROFILE_FIELDS, ``name``, ``time_zone``,
    ``languages`` (codes), ``meeting_formats`` (codes), ``offered_topics`` and
    ``sought_topics`` (topic ids), ``suggested_offer`` and ``suggested_seek``
    (a new topic's name: kept on the profile, shown to others once approved).
    Raises ProfileError when the member would neither offer nor seek mentoring.
    """
    profile = user.profile
    _check_roles(profile, data, step)
    now = utcnow()
    zone = data.get("time_zone", user.time_zone)
    new_day = "away_until" in data and data["away_until"] != profile.away_until
    if new_day:
        check_away(data["away_until"], zone, now)
    # The moment of a return depends on the zone: a member who moves while away is back at their new midnight.
    away_moves = new_day or (profile.away_until is not None and zone != user.time_zone)
    with write_lock():
        if "name" in data:
            user.name = data["name"].strip()
        if "time_zone" in data:
            user.time_zone = data["time_zone"]
        user.save()
        for name in PROFILE_FIELDS:
            if name in data:
                value = data[name]
                setattr(profile, name, value.strip() if isinstance(value, str) else value)
        if "country" in data:
            profile.region = vocab.region_of(profile.country) or ""
        if "meeting_formats" in data:
            profile.meeting_formats = " ".join(c for c, _ in vocab.MEETING_FORMATS if c in data["meeting_formats"])
        if not profile.offers_mentoring:
            profile.capacity = 0
        if "offered_topics" in data:
            ids = (set(data["offered_topics"]) | _suggest_topic(user, data.get("suggested_offer"))
                   if profile.offers_mentoring else set())
            _replace_topics(profile, ProfileTopic.OFFERS, ids)
        if "sought_topics" in data:
            ids = (set(data["sought_topics"]) | _suggest_topic(user, data.get("suggested_seek"))
                   if profile.seeks_mentoring else set())
            _replace_topics(profile, ProfileTopic.SEEKS, ids)
        if "languages" in data:
            ProfileLanguage.delete().where(ProfileLanguage.profile == profile).execute()
            rows = [{"profile": profile.user_id, "code": code} for code in sorted(set(data["languages"]))]
            if rows:
                ProfileLanguage.insert_many(rows).execute()
        if away_moves:
            _set_away(user, profile, data.get("away_until", profile.away_until), now)
        if step is not None:
            profile.wizard_step = max(profile.wizard_step, step + 1)
            if step == max(WIZARD_STEPS):
                profile.completed = True
        elif not profile.completed:
            profile.completed = True
        profile.updated_at = utcnow()
        profile.save()
        audit.record(user, "profile.updated", f"user:{user.id}", f"step {step}" if step else "edit")
    return profile


def _check_roles(profile, data, step):
    """A profile offers mentoring, seeks it, or both, once the wizard has asked both (steps 2 and 3)."""
    if step in (1, 4) or (step == 2 and profile.wizard_step <= 3):
        return
    if data.get("offers_mentoring", profile.offers_mentoring) or data.get("seeks_mentoring", profile.seeks_mentoring):
        return
    if step == 3:
        raise ProfileError("Offer mentoring (step 2), look for a mentor, or both.", "seeks_mentoring")
    if step == 2:
        raise ProfileError("Offer mentoring, look for a mentor (step 3), or both.", "offers_mentoring")
    raise ProfileError("Offer mentoring, look for a mentor, or both.", "offers_mentoring")


def _replace_topics(profile, kind, ids):
    valid = {t.id for t in Topic.select(Topic.id).where(Topic.id.in_(sorted(ids)))} if ids else set()
    ProfileTopic.delete().where((ProfileTopic.profile == profile) & (ProfileTopic.kind == kind)).execute()
    if valid:
        ProfileTopic.insert_many([{"profile": profile.user_id, "topic": t, "kind": kind} for t in sorted(valid)]).execute()


def _suggest_topic(user, name):
    """A topic a member proposes: kept on their profile, listed for others once approved."""
    name = " ".join((name or "").split())
    if not name:
        return set()
    existing = Topic.get_or_none(fn.LOWER(Topic.name) == name.lower())
    if existing:
        return {existing.id}
    topic = Topic.create(name=name, approved=False, suggested_by=user)
    audit.record(user, "topic.suggested", f"topic:{topic.id}", name)
    return {topic.id}


# --- away (DESIGN journey 7) ---------------------------------------------------

AWAY_MAX_DAYS = 365
AWAY_LINK_DAYS = 14  # "away for two weeks", from an email


def back_at(day, zone_name):
    """The moment (naive UTC) ``day`` begins in the zone: when a member away until ``day`` is back."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=times.zone(zone_name))
    return start.astimezone(dt.timezone.utc).replace(tzinfo=None)


def is_away(profile, now=None):
    return profile.away_ends_at is not None and profile.away_ends_at > (now or utcnow())


def check_away(day, zone_name, now):
    """A return day a member may choose: after today in their calendar, within a year; None is "not away"."""
    if day is None:
        return
    today = times.today(zone_name, now)
    if day <= today:
        raise ProfileError("Choose a day after today for your return, or leave “Away until” empty.", "away_until")
    latest = today + dt.timedelta(days=AWAY_MAX_DAYS)
    if day > latest:
        raise ProfileError(f"Choose a return within a year, by {latest.day} {latest:%B %Y} at the latest.",
                           "away_until")


def _set_away(user, profile, day, now):
    """Record the return day (None: back now) on ``profile``, saved by the caller, in its write transaction.

    Requests sent while the member was away wait for their return (``requests.services``): their
    announcement is due then, and their 14 days start then. A new return day, earlier or later, moves both.
    """
    from ..requests.services import EXPIRY  # requests.services imports this module

    profile.away_until = day
    profile.away_ends_at = back_at(day, user.time_zone) if day else None
    back = max(profile.away_ends_at or now, now)
    R, N = ConnectionRequest, Notification
    held = waiting_for(user.id).where(R.expires_at > now + EXPIRY)  # their clock has not started yet
    R.update(expires_at=back + EXPIRY).where(R.id.in_(held.select(R.id))).execute()
    N.update(due_at=back).where((N.recipient == user.id) & (N.kind == notifications.REQUEST_RECEIVED)
                                & (N.status == N.PENDING) & (N.due_at > now)).execute()
    audit.record(user, "profile.away", f"user:{user.id}", f"until {day.isoformat()}" if day else "back")


def away_day(user, days=AWAY_LINK_DAYS, now=None):
    """The return day of "away for two weeks": ``days`` from today in the member's calendar."""
    return times.today(user.time_zone, now or utcnow()) + dt.timedelta(days=days)


def go_away(user, days=AWAY_LINK_DAYS, now=None):
    """"Away for two weeks" from an email (``away_day``); a later return already chosen stays."""
    now = now or utcnow()
    with write_lock():
        user = User.get_by_id(user.id)
        profile = locked(Profile.select().where(Profile.user == user.id)).get()
        day = away_day(user, days, now)
        if is_away(profile, now) and profile.away_until >= day:
            return profile
        _set_away(user, profile, day, now)
        profile.save(only=[Profile.away_until, Profile.away_ends_at])
    return profile


def waiting_for(user_id):
    """The open requests (and offers) waiting for this member's answer."""
    R = ConnectionRequest
    asked = (((R.direction == R.REQUEST) & (R.mentor == user_id)) | ((R.direction == R.OFFER) & (R.mentee == user_id)))
    return R.select().where(asked & (R.status == R.PENDING_MENTOR))


def bring_back(now=None):
    """The sweep's part: members whose return day has begun in their zone are back (listed again, their
    date cleared) and get one notification saying what waited for them. Returns how many came back.

    Each is re-read under the lock and keyed by their return day, so two sweeps bring a member back once.
    """
    now = now or utcnow()
    due = [user_id for (user_id,) in Profile.select(Profile.user).where(Profile.away_ends_at <= now)
           .order_by(Profile.away_ends_at).tuples()]
    back = 0
    for user_id in due:
        with write_lock():
            profile = locked(Profile.select().where(Profile.user == user_id)).first()
            if profile is None or profile.away_ends_at is None or profile.away_ends_at > now:
                continue
            day = profile.away_until
            Profile.update(away_until=None, away_ends_at=None).where(Profile.user == user_id).execute()
            waiting = waiting_for(user_id).count()
            audit.record(None, "profile.back", f"user:{user_id}", f"away until {day.isoformat()}")
            subject = (f"Welcome back: {waiting} request{'s' if waiting != 1 else ''} wait{'s' if waiting == 1 else ''}"
                       " for your answer" if waiting else "Welcome back: you are listed again")
            notifications.notify(user_id, notifications.BACK_FROM_AWAY, subject,
                                 f"profile:{user_id}:back:{day.isoformat()}",
                                 context={"away_until": day.isoformat(), "waiting": waiting}, now=now)
        back += 1
    return back


# --- browsing ------------------------------------------------------------------

@dataclass
class BrowseFilters:
    q: str = ""
    topic: int | None = None
    level: str = ""
    industry: str = ""
    region: str = ""
    language: str = ""
    overlap: bool = False
    show_full: bool = False
    sort: str = "match"
    page: int = 1


class TopicTag(NamedTuple):
    """A topic as a card shows it."""

    id: int
    name: str


class Connection(NamedTuple):
    """What already links the viewer with a listed member: an active mentorship, or an open request or offer."""

    kind: str  # "mentorship", or the direction of the open request: "request" or "offer"
    request_id: int | None
    i_sent: bool  # the viewer sent the request or offer
    i_mentor: bool  # the viewer is (or would be) the mentor


@dataclass
class Card:
    user: User
    profile: Profile
    places_left: int | None  # None when the listed members are mentees
    topics: list  # the topics they offer (mentors) or seek (mentees)
    languages: list
    match: matching.Match | None
    connection: Connection | None = None


@dataclass
class BrowseResult:
    cards: list
    total: int
    page: int
    pages: int
    filters: BrowseFilters


def seeker_for(user, on=None, looks_for=matching.MENTORS):
    """What matching needs of the member who browses (three small queries).

    Their topics are the ones they seek when they look for mentors, the ones
    they offer when they look for mentees. Only approved topics count (a
    suggestion waiting for approval is shown to no one else); working hours
    are compared on ``on``, by default the next weekday.
    """
    profile = user.profile
    seeker = matching.Seeker(
        level=profile.job_level, organization=profile.organization, time_zone=user.time_zone,
        languages=frozenset(language_codes(user.id)), on=on or matching.next_weekday(), looks_for=looks_for,
    )
    # By id: comparing with the profile itself would load its user (the primary key) once more.
    own = (Topic.select(Topic.id, Topic.name).join(ProfileTopic)
           .where((ProfileTopic.profile == user.id) & (ProfileTopic.kind == seeker.own_kind)
                  & (Topic.approved == True)))  # noqa: E712
    seeker.topic_names = {t.id: t.name for t in own}
    seeker.topic_ids = frozenset(seeker.topic_names)
    return seeker


MAX_PAGE = 100_000  # beyond any real list; a larger number is read as "the last page"


def browse_mentors(viewer, filters, page_size=20):
    """Members who offer mentoring and have a free place (or all of them, with ``show_full``)."""
    return browse(viewer, filters, page_size, matching.MENTORS)


def browse_mentees(viewer, filters, page_size=20):
    """Members who seek mentoring, ranked from the side of ``viewer`` as their mentor."""
    return browse(viewer, filters, page_size, matching.MENTEES)


def browse(viewer, filters, page_size, looks_for):
    """Members who offer mentoring (``looks_for`` MENTORS) or seek it (MENTEES), filtered and ranked for ``viewer``.

    Topics (the filter, the search, the cards and the score) are the ones the
    listed members offer, or seek. Runs a fixed number of queries whatever the
    page size or member count: the viewer's topics and languages, the zones
    and organizations in use, the page with the total, the page's topics and
    languages, and what already links the viewer with the members shown. (A
    page number past the last page costs two more: the count, then the last page.)
    """
    seeker = seeker_for(viewer, looks_for=looks_for)
    theirs = seeker.their_kind
    mentors = looks_for == matching.MENTORS
    conditions = [
        User.active == True,  # noqa: E712
        Profile.completed == True,  # noqa: E712
        (Profile.offers_mentoring if mentors else Profile.seeks_mentoring) == True,  # noqa: E712
        User.id != viewer.id,
        Profile.away_ends_at.is_null() | (Profile.away_ends_at <= utcnow()),  # away members are not listed
    ]
    places = None
    if mentors:
        mentees = (Mentorship.select(fn.COUNT(Mentorship.id))
                   .where((Mentorship.mentor == Profile.user) & (Mentorship.status == Mentorship.ACTIVE)))
        places = Profile.capacity - mentees
        if not filters.show_full:
            conditions.append(places > 0)
    for word in filters.q.split()[:8]:
        # Uncorrelated: who offers (or seeks) a topic of that name is looked up once, not once per member.
        named = Topic.select(Topic.id).where((Topic.approved == True) & Topic.name.contains(word))  # noqa: E712
        has_topic = ProfileTopic.select(ProfileTopic.profile).where(
            ProfileTopic.topic.in_(named) & (ProfileTopic.kind == theirs))
        conditions.append(User.name.contains(word) | Profile.headline.contains(word)
                          | Profile.organization.contains(word) | Profile.job_title.contains(word)
                          | Profile.bio.contains(word) | Profile.user.in_(has_topic))
    if filters.topic:  # IN, not EXISTS: the few who offer (or seek) the topic, found through its index
        conditions.append(Profile.user.in_(ProfileTopic.select(ProfileTopic.profile).where(
            (ProfileTopic.topic == filters.topic) & (ProfileTopic.kind == theirs))))
    if filters.level:
        conditions.append(Profile.job_level == filters.level)
    if filters.industry:
        conditions.append(Profile.industry == filters.industry)
    if filters.region:
        conditions.append(Profile.region == filters.region)
    if filters.language:
        conditions.append(fn.EXISTS(ProfileLanguage.select(ProfileLanguage.id).where(
            (ProfileLanguage.profile == Profile.user) & (ProfileLanguage.code == filters.language))))
    ranked = filters.sort == "match"
    zones = []
    if ranked or filters.overlap:
        zones = [row.time_zone for row in User.select(User.time_zone).distinct()]
    if filters.overlap:
        near = matching.overlapping_zones(seeker.time_zone, zones, on=seeker.on)
        conditions.append(User.time_zone.in_(near or [""]))
    if ranked and seeker.languages:
        conditions.append(fn.EXISTS(ProfileLanguage.select(ProfileLanguage.id).where(
            (ProfileLanguage.profile == Profile.user) & ProfileLanguage.code.in_(sorted(seeker.languages)))))
    where = _all(conditions)

    # One pass over the candidates computes their sort keys into a CTE (used
    # twice, so the database materializes it): the page and the count read it.
    candidates = Profile.select(Profile.user.alias("id"), fn.LOWER(User.name).alias("sort_name")).join(User)
    if ranked:
        organizations = []
        if (seeker.organization or "").strip():
            organizations = [row.organization for row in Profile.select(Profile.organization).distinct()]
        matches = matching.topic_matches(seeker, ProfileTopic)
        if matches is not None:
            matches = matches.alias("matches")
            candidates = candidates.join_from(Profile, matches, JOIN.LEFT_OUTER,
                                              on=(matches.c.profile_id == Profile.user))
            matches = matches.c.matches
        score = matching.score_expression(seeker, Profile, User, matches, zones, organizations)
        candidates = candidates.select_extend(score.alias("score"))
    elif filters.sort == "recent":
        candidates = candidates.select_extend(User.last_seen.alias("last_seen"))
    candidates = candidates.where(where).cte("candidates")

    def sort_keys(source):
        if ranked:
            return [source.c.score.desc(), source.c.sort_name, source.c.id]
        if filters.sort == "recent":
            return [source.c.last_seen.desc(nulls="last"), source.c.id]
        return [source.c.sort_name, source.c.id]

    def page_of(number):
        # Plain Selects (not select_from, which would repeat the WITH in each subquery).
        shown = (Select([candidates], [SQL("*")]).order_by(*sort_keys(candidates))
                 .limit(page_size).offset((number - 1) * page_size).alias("shown"))
        total = Select([candidates], [fn.COUNT(SQL("*"))])
        query = (Profile.select(Profile, User, total.alias("total"))
                 .join(User).join_from(Profile, shown, on=(shown.c.id == Profile.user))
                 .order_by(*sort_keys(shown)).with_cte(candidates))
        if places is not None:
            query = query.select_extend(places.alias("places"))
        if ranked:
            query = query.select_extend(shown.c.score.alias("score").bind_to(Profile))  # row.score
        return list(query)

    page = min(max(1, filters.page), MAX_PAGE)
    rows = page_of(page)
    if rows:
        total = rows[0].total
    elif page > 1:  # past the last page: show the last one
        total = Profile.select().join(User).where(where).count()
        page = max(1, math.ceil(total / page_size))
        rows = page_of(page) if total else []
    else:
        total = 0
    pages = max(1, math.ceil(total / page_size))

    ids = [row.user_id for row in rows]
    topics, languages = _topics_and_languages(ids, theirs)
    connections = _connections(viewer, ids)
    cards = []
    for row in rows:
        listed = topics.get(row.user_id, [])
        spoken = languages.get(row.user_id, [])
        candidate = matching.Candidate(
            level=row.job_level, organization=row.organization, time_zone=row.user.time_zone,
            topic_ids=frozenset(t.id for t in listed), languages=frozenset(spoken),
        )
        row.user.__dict__["_profile"] = row
        cards.append(Card(user=row.user, profile=row, places_left=max(0, row.places) if mentors else None,
                          topics=listed, languages=spoken, match=matching.explain(seeker, candidate),
                          connection=connections.get(row.user_id)))
    return BrowseResult(cards=cards, total=total, page=page, pages=pages, filters=filters)


def _topics_and_languages(profile_ids, kind):
    topics, languages = {}, {}
    if not profile_ids:
        return topics, languages
    # Plain tuples: building a model object per row cost more than the queries themselves.
    for profile_id, topic_id, name in (
            ProfileTopic.select(ProfileTopic.profile, Topic.id, Topic.name).join(Topic)
            .where(ProfileTopic.profile.in_(profile_ids) & (ProfileTopic.kind == kind)
                   & (Topic.approved == True))  # noqa: E712
            .order_by(fn.LOWER(Topic.name)).tuples()):
        topics.setdefault(profile_id, []).append(TopicTag(topic_id, name))
    for profile_id, code in (ProfileLanguage.select(ProfileLanguage.profile, ProfileLanguage.code)
                             .where(ProfileLanguage.profile.in_(profile_ids))
                             .order_by(ProfileLanguage.code).tuples()):
        languages.setdefault(profile_id, []).append(code)
    return topics, languages


def _connections(viewer, member_ids):
    """{member id: Connection} for the members the viewer has an active mentorship, or an open request
    or offer, with (one query; a mentorship wins over a request)."""
    if not member_ids:
        return {}
    R, M = ConnectionRequest, Mentorship

    def with_them(model, *columns):
        other = Case(None, [(model.mentor == viewer.id, model.mentee)], model.mentor)
        return model.select(other, *columns, model.mentor).where(
            ((model.mentor == viewer.id) & model.mentee.in_(member_ids))
            | ((model.mentee == viewer.id) & model.mentor.in_(member_ids)))

    requests = with_them(R, R.direction, R.id, R.requester).where(R.status.in_(R.OPEN))
    mentorships = with_them(M, SQL("'mentorship'"), SQL("NULL"), SQL("NULL")).where(M.status == M.ACTIVE)
    found = {}
    for member_id, kind, request_id, requester_id, mentor_id in requests.union_all(mentorships).tuples():
        if kind == "mentorship" or member_id not in found:
            found[member_id] = Connection(kind, request_id, requester_id == viewer.id, mentor_id == viewer.id)
    return found


def _all(conditions):
    expression = conditions[0]
    for condition in conditions[1:]:
        expression &= condition
    return expression
