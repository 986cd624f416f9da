"""Coordinator rules: the topic vocabulary (members and invitations live in auth)."""
from peewee import fn

from .. import audit
from ..models import Topic


class CoordinatorError(Exception):
    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


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
