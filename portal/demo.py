"""A realistic demo program: members on five continents, topics, a few pairs.

Deterministic (a seeded random generator) and repeatable: running it again
adds nothing. Every demo account has the same password, printed by the command.
"""
import datetime as dt
import random

from . import vocab
from .auth.services import hash_password
from .db import database
from .models import (
    Feedback,
    Meeting,
    Mentorship,
    Milestone,
    Profile,
    ProfileLanguage,
    ProfileTopic,
    Topic,
    User,
    new_token,
    utcnow,
)

DEMO_DOMAIN = "demo.tandem.example"
DEMO_PASSWORD = "mentoring-demo-2026"
COORDINATOR_EMAIL = f"coordinator@{DEMO_DOMAIN}"

TOPICS = [
    "Career change", "Leadership", "First-time management", "Negotiation", "Public speaking",
    "Data analysis", "Python", "Machine learning", "Product management", "Project management",
    "Finance for non-finance people", "Fundraising", "Regulatory affairs", "Research methods",
    "Writing and publishing", "Networking", "Work-life balance", "Working across cultures",
    "Starting a business", "Diversity and inclusion", "Sustainability", "Digital marketing",
    "Social media", "Job search and interviews",
]

# (country, time zone, languages spoken there besides English)
PLACES = [
    ("DE", "Europe/Berlin", ["de"]), ("FR", "Europe/Paris", ["fr"]), ("GB", "Europe/London", []),
    ("ES", "Europe/Madrid", ["es"]), ("PL", "Europe/Warsaw", ["pl"]), ("NL", "Europe/Amsterdam", ["nl"]),
    ("SE", "Europe/Stockholm", ["sv"]), ("IT", "Europe/Rome", ["it"]),
    ("US", "America/New_York", ["es"]), ("US", "America/Chicago", []), ("US", "America/Los_Angeles", ["es"]),
    ("CA", "America/Toronto", ["fr"]), ("MX", "America/Mexico_City", ["es"]),
    ("BR", "America/Sao_Paulo", ["pt"]), ("AR", "America/Argentina/Buenos_Aires", ["es"]),
    ("CO", "America/Bogota", ["es"]), ("CL", "America/Santiago", ["es"]),
    ("NG", "Africa/Lagos", ["yo"]), ("KE", "Africa/Nairobi", ["sw"]), ("ZA", "Africa/Johannesburg", []),
    ("EG", "Africa/Cairo", ["ar"]), ("GH", "Africa/Accra", []),
    ("IN", "Asia/Kolkata", ["hi"]), ("JP", "Asia/Tokyo", ["ja"]), ("SG", "Asia/Singapore", ["zh", "ms"]),
    ("CN", "Asia/Shanghai", ["zh"]), ("AE", "Asia/Dubai", ["ar"]), ("ID", "Asia/Jakarta", ["id"]),
    ("KR", "Asia/Seoul", ["ko"]), ("PH", "Asia/Manila", ["tl"]),
    ("AU", "Australia/Sydney", []), ("NZ", "Pacific/Auckland", []),
]

FIRST = ("Ana Ben Chen Dara Elif Femi Grace Hiro Ines Jonas Kemi Lena Mateo Nadia Omar Priya Quinn Rosa "
         "Sami Tomas Uma Viktor Wanjiru Xin Yusuf Zofia Aiko Bruno Carmen Diego Emma Farah Gabriel Hana "
         "Ivan Julia Kofi Lucia Marek Nora Olu Paulo Rania Sofia Tariq Valentina Wei Yara Zainab Arjun").split()
LAST = ("Adeyemi Becker Castro Dubois Eriksen Fernandes Garcia Haddad Ito Jansen Kowalski Lopez Mensah "
        "Nakamura Okafor Patel Quispe Rossi Schmidt Tanaka Ueda Varga Wang Xu Yilmaz Zhang Alvarez Brown "
        "Chua Diallo Evans Fischer Gomez Hughes Iyer Kim Lindqvist Moreau Novak Ortiz Park Reyes Silva "
        "Thompson Van Dijk Walker Yamamoto Ziegler Mwangi Sato").split()
ORGANIZATIONS = [
    "Northwind Health", "Contoso Energy", "Fabrikam Labs", "Globex Consulting", "Initech", "Umbrella Research",
    "Acme Manufacturing", "Blue Yonder Airlines", "Wide World Importers", "Tailspin Toys", "Litware",
    "Adventure Works", "City of Riverside", "Open Data Institute", "Helping Hands NGO", "Margie's Travel",
    "Proseware", "Lucerne Publishing", "Woodgrove Bank", "Trey Research", "Alpine Ski House",
    "Coho Vineyard", "Southridge Video", "Humongous Insurance", "Independent",
]
TITLES = {
    "student": ["MSc student", "PhD candidate", "Graduate intern"],
    "early": ["Analyst", "Associate", "Junior engineer", "Research assistant", "Coordinator"],
    "mid": ["Project manager", "Senior analyst", "Engineer", "Product owner", "Consultant"],
    "senior": ["Head of research", "Principal engineer", "Director", "Senior manager", "Partner"],
    "executive": ["Chief executive", "Vice president", "Chief operating officer", "Managing director"],
}
LEVEL_WEIGHTS = [8, 30, 30, 22, 10]
AVAILABILITY = [
    "Weekday evenings, two calls a month.", "Tuesday and Thursday mornings.", "Flexible; Fridays are best.",
    "Lunchtime calls, about once a month.", "Early mornings before 9:00 my time.",
]


def seed(members=200, seed_value=2026, echo=print):
    """Create the demo program unless it exists. Returns True when it created it."""
    with database.connection_context():
        if User.select().where(User.email == COORDINATOR_EMAIL).exists():
            echo("Demo data is already loaded.")
            return False
        rng = random.Random(seed_value)
        password_hash = hash_password(DEMO_PASSWORD)
        with database.atomic():
            topic_ids = _topics()
            users = _members(rng, members, password_hash)
            roles = _profiles(rng, users, topic_ids)
            _pairs(rng, users, roles)
        echo(f"Created a demo program of {members} members and a coordinator.")
        return True


def _topics():
    existing = {t.name: t.id for t in Topic.select()}
    for name in TOPICS:
        if name not in existing:
            existing[name] = Topic.create(name=name, approved=True).id
    return [existing[name] for name in TOPICS]


def _members(rng, count, password_hash):
    now = utcnow()
    rows = [dict(email=COORDINATOR_EMAIL, name="Casey Coordinator", role=User.COORDINATOR, verified=True,
                 time_zone="Europe/Berlin", password_hash=password_hash, session_token=new_token(),
                 created_at=now, last_seen=now)]
    for i in range(1, count + 1):
        place = PLACES[rng.randrange(len(PLACES))]
        rows.append(dict(
            email=f"member{i:03d}@{DEMO_DOMAIN}", name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            role=User.MEMBER, verified=True, time_zone=place[1], password_hash=password_hash,
            session_token=new_token(), created_at=now, last_seen=now,
        ))
    with database.atomic():
        _insert_all(User, rows)
    emails = [row["email"] for row in rows]
    by_email = {u.email: u for u in User.select().where(User.email.in_(emails))}
    return [by_email[e] for e in emails]


def _profiles(rng, users, topic_ids):
    """Insert every profile, its topics and languages; returns {user id: (offers, seeks)}."""
    place_of = {tz: (country, langs) for country, tz, langs in PLACES}
    profiles, topics, languages, roles = [], [], [], {}
    levels = [code for code, _ in vocab.JOB_LEVELS]
    for index, user in enumerate(users):
        coordinator = index == 0
        level = "senior" if coordinator else rng.choices(levels, LEVEL_WEIGHTS)[0]
        rank = vocab.LEVEL_RANK[level]
        country, local_langs = place_of[user.time_zone]
        offers = coordinator or rank >= 2 and rng.random() < 0.75 or rank == 1 and rng.random() < 0.25
        seeks = not coordinator and (rank <= 2 and rng.random() < 0.85 or rng.random() < 0.2)
        if not offers and not seeks:
            seeks = True
        roles[user.id] = (offers, seeks)
        profiles.append(dict(
            user=user.id, headline=_headline(rng, level), bio=_bio(rng, user.name, level),
            organization=rng.choice(ORGANIZATIONS), job_title=rng.choice(TITLES[level]), job_level=level,
            industry=rng.choice(vocab.INDUSTRIES[:-1])[0], country=country, region=vocab.region_of(country),
            offers_mentoring=offers, seeks_mentoring=seeks, capacity=rng.randint(1, 3) if offers else 0,
            availability_note=rng.choice(AVAILABILITY), wizard_step=5, completed=True, updated_at=utcnow(),
            meeting_formats=" ".join(sorted(rng.sample(["video", "phone", "in_person", "chat"], rng.randint(1, 3)))),
        ))
        offered = set(rng.sample(topic_ids, rng.randint(2, 4))) if offers else set()
        sought = set(rng.sample([t for t in topic_ids if t not in offered], rng.randint(1, 3))) if seeks else set()
        topics += [dict(profile=user.id, topic=t, kind=ProfileTopic.OFFERS) for t in sorted(offered)]
        topics += [dict(profile=user.id, topic=t, kind=ProfileTopic.SEEKS) for t in sorted(sought)]
        spoken = {"en"} | set(local_langs[: rng.randint(0, len(local_langs))])
        if rng.random() < 0.2:
            spoken.add(rng.choice(["es", "fr", "de", "pt", "zh", "ar"]))
        languages += [dict(profile=user.id, code=c) for c in sorted(spoken)]
    for model, rows in ((Profile, profiles), (ProfileTopic, topics), (ProfileLanguage, languages)):
        _insert_all(model, rows)
    return roles


def _insert_all(model, rows):
    """Insert rows (dicts with the same keys) with one statement prepared once and run for each row.

    peewee's insert_many writes every value into one big statement, which for
    ten thousand members cost far more time in Python than in the database.
    Fields a row leaves out get the model's default, as with insert_many.
    """
    if not rows:
        return
    fields = [f for f in model._meta.sorted_fields if f.name in rows[0] or f.default is not None]
    sql, _ = model.insert_many([tuple(None for _ in fields)], fields=fields).sql()
    values = []
    for row in rows:
        values.append(tuple(
            f.db_value(row[f.name] if f.name in row else f.default() if callable(f.default) else f.default)
            for f in fields))
    database.cursor().executemany(sql, values)


def _headline(rng, level):
    return rng.choice({
        "student": ["Curious about research careers", "Finishing my degree, planning what comes next"],
        "early": ["Early in my career and eager to learn", "Analyst moving toward product work"],
        "mid": ["Leading projects across three countries", "Building teams and better processes"],
        "senior": ["Happy to share what twenty years taught me", "I mentor first-time managers"],
        "executive": ["Executive who still loves hands-on problems", "Board member and long-time mentor"],
    }[level])


def _bio(rng, name, level):
    first = name.split()[0]
    stage = {"student": "I am still studying", "early": "I am early in my career",
             "mid": "I am in the middle of my career", "senior": "I have been in my field for many years",
             "executive": "I lead an organization"}[level]
    return (f"Hi, I'm {first}. {stage} and care about "
            f"**{rng.choice(['learning', 'inclusion', 'good teams', 'clear writing'])}**.\n\n"
            "- I prefer short, regular calls\n- I answer messages within a few days")


def _pairs(rng, users, roles):
    # From what _profiles wrote: loading each member's profile would be a query per member.
    mentors = [u for u in users[1:] if roles[u.id][0]]
    mentees = [u for u in users[1:] if roles[u.id][1] and not roles[u.id][0]]
    rng.shuffle(mentees)
    now = utcnow().replace(second=0, microsecond=0)
    for mentor, mentee in list(zip(rng.sample(mentors, min(8, len(mentors))), mentees))[:8]:
        pair = Mentorship.create(mentor=mentor, mentee=mentee, goals="Find a direction for the next two years.",
                                 started_at=now - dt.timedelta(days=rng.randint(20, 120)))
        _history(rng, pair, mentor, mentee, now)


MEETING_NOTES = ["Talked through the options and what matters most.", "Practised the difficult conversation.",
                 "Reviewed the plan; the first step is done.", "Shared contacts worth meeting."]
MOST_USEFUL = ["The honest questions.", "A concrete next step.", "Hearing how others did it.", ""]


def _history(rng, pair, mentor, mentee, now):
    """A few held meetings with feedback (some for coordinators only), a milestone, perhaps a next meeting."""
    day = pair.started_at.date() + dt.timedelta(days=rng.randint(3, 10))
    first = True
    while day < now.date() - dt.timedelta(days=2):
        logged = dt.datetime.combine(day, dt.time(18))
        meeting = Meeting.create(mentorship=pair, status=Meeting.HELD, held_on=day,
                                 duration_minutes=rng.choice([30, 45, 60, 90]), time_zone=mentor.time_zone,
                                 logged_by=rng.choice([mentor, mentee]), logged_at=logged, created_at=logged,
                                 updated_at=logged, notes=rng.choice(MEETING_NOTES),
                                 next_steps="Try it and report back.")
        for author in (mentor, mentee):
            if rng.random() < 0.8:
                Feedback.create(meeting=meeting, author=author, rating=rng.randint(3, 5),
                                most_useful=rng.choice(MOST_USEFUL), good_fit=True if first else None,
                                visibility=Feedback.COORDINATORS if rng.random() < 0.3 else Feedback.PARTNER,
                                created_at=logged, updated_at=logged)
        first = False
        day += dt.timedelta(days=rng.randint(12, 21))
    done = rng.random() < 0.5
    Milestone.create(mentorship=pair, title="Agree on three goals", created_by=mentee, created_at=now,
                     done_at=now if done else None, done_by=mentor if done else None)
    if rng.random() < 0.6:
        Meeting.create(mentorship=pair, status=Meeting.SCHEDULED, organiser=mentor, time_zone=mentor.time_zone,
                       starts_at=(now + dt.timedelta(days=rng.randint(1, 14))).replace(hour=14, minute=0),
                       duration_minutes=60, format=Meeting.VIDEO, link=f"https://meet.example.org/tandem-{pair.id}",
                       agenda="How the last weeks went, and what next.", created_at=now, updated_at=now)


def logins():
    members = list(User.select().join(Profile).where(User.email.startswith("member"), User.email.endswith(DEMO_DOMAIN))
                   .order_by(User.id).limit(40))
    mentee = next((u for u in members if u.profile.seeks_mentoring), None)
    mentor = next((u for u in members if u.profile.offers_mentoring), None)
    return [("coordinator", COORDINATOR_EMAIL), ("member who seeks a mentor", mentee.email if mentee else "-"),
            ("member who mentors", mentor.email if mentor else "-")]
