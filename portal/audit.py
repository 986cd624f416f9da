"""The audit trail: who did what to what, and when."""
from .models import AuditEvent


def record(actor, action, target="", detail=""):
    return AuditEvent.create(actor=actor, action=action, target=str(target), detail=detail)
