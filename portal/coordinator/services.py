"""Coordinator rules: the topic vocabulary (members and invitations live in auth)."""
from peewee import JOIN, fn

from .. import audit
from ..models import Invitation, Profile, Topic, User


class CoordinatorError(Exception):
    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


def find_members(q="", limit=200):
    """Members by name, email or organization, with their profiles (one query)."""
    query = User.select(User, Profile).join(Profile).order_by(fn.LOWER(User.name))
    if q:
        query = query.where(User.name.contains(q) | User.email.contains(q) | Profile.organization.contains(q))
    return list(query.limit(limit))


def pending_invitations(limit=50):
    return list(Invitation.select().where(Invitation.accepted_at.is_null())
                .order_by(Invitation.created_at.desc()).limit(limit))


def all_topics():
    """Every topic, suggestions waiting for approval first, with who suggested them."""
    return list(Topic.select(Topic, User).join(User, on=(Topic.suggested_by == User.id), join_type=JOIN.LEFT_OUTER)
                .order_by(Topic.approved, fn.LOWER(Topic.name)))


def _require(actor):
    if not actor.is_coordinator:
        raise CoordinatorError("Only coordinators can do this.")


def add_topic(actor, name):
    _require(actor)
    name = " ".join(name.split())
    existing = Topic.get_or_none(fn.LOWER(Topic.name) == name.lower())
    if existing and existing.approved:
        raise CoordinatorError(f"“{existing.name}” is already a topic.", "name")
    if existing:
        return approve_topic(actor, existing)
    topic = Topic.create(name=name, approved=True)
    audit.record(actor, "topic.added", f"topic:{topic.id}", name)
    return topic


def approve_topic(actor, topic):
    _require(actor)
    topic.approved = True
    topic.save()
    audit.record(actor, "topic.approved", f"topic:{topic.id}", topic.name)
    return topic
