"""Accounts: passwords, sessions, invitations, registration, resets, verification.

Functions take plain arguments, enforce the rules, and raise ``AccountError``
with a sentence a person can read. Mail goes out after the transaction commits.
"""
import hashlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, url_for
from peewee import IntegrityError

from .. import audit, mail, tokens
from . import invitations
from ..db import database, locked, write_lock
from ..models import Invitation, Profile, User, new_token, utcnow

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both answers take as long.
_DUMMY_HASH = _hasher.hash("not a real password")

MIN_PASSWORD_LENGTH = 10
COMMON_PASSWORDS = {
    "password123", "1234567890", "qwertyuiop", "password1234", "iloveyou12", "letmein123",
    "welcome123", "administrator", "passw0rd123", "abcdefghij", "0123456789", "1q2w3e4r5t",
}


class AccountError(Exception):
    """A rule forbids this; ``str(error)`` says why, ``field`` names the form field."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


def normalize_email(email):
    return (email or "").strip().lower()


def hash_password(password):
    return _hasher.hash(password)


def password_problem(password, email=""):
    """Why a new password is not good enough, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(set(password)) < 4 or password.lower() in COMMON_PASSWORDS:
        return "This password is too easy to guess. Try a short sentence."
    local_part = normalize_email(email).split("@")[0]
    if local_part and len(local_part) >= 4 and local_part in password.lower():
        return "Do not use your email address in your password."
    return None


def _check(hash_, password):
    try:
        return _hasher.verify(hash_ or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(email, password):
    """The active member with these credentials, or AccountError (same words either way)."""
    user = User.get_or_none(User.email == normalize_email(email))
    ok = _check(user.password_hash if user else _DUMMY_HASH, password)
    if not ok or user is None or not user.active or not user.password_hash:
        raise AccountError("That email and password do not match an active account.")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login = user.last_seen = utcnow()
    user.save()
    return user


def password_matches(user, password):
    """Whether ``password`` is the member's own: for confirming a grave step while logged in."""
    return _check(user.password_hash, password)


def end_sessions(user):
    """Every session and remember-me cookie of this member stops working."""
    user.session_token = new_token()
    user.save(only=[User.session_token])


def create_user(email, name, role=User.MEMBER, password=None, verified=True, time_zone="UTC"):
    email = normalize_email(email)
    if role not in User.ROLES:
        raise AccountError(f"Role must be one of {', '.join(User.ROLES)}.", "role")
    if User.select().where(User.email == email).exists():
        raise AccountError("A member with this email already exists.", "email")
    with write_lock():
        user = User.create(
            email=email, name=name.strip(), role=role, verified=verified, time_zone=time_zone,
            password_hash=hash_password(password) if password else "",
        )
        Profile.create(user=user)
    return user


def change_password(user, current, new):
    if not _check(user.password_hash, current):
        raise AccountError("Your current password is not correct.", "current_password")
    _set_password(user, new)
    audit.record(user, "password.changed", f"user:{user.id}")


def _set_password(user, password):
    problem = password_problem(password, user.email)
    if problem:
        raise AccountError(problem, "password")
    user.password_hash = hash_password(password)
    user.session_token = new_token()
    user.save()


# --- invitations -------------------------------------------------------------

def invite(coordinator, email, name="", role=User.MEMBER):
    """Record an invitation; its email goes out through the workers once the row is committed
    (``invitations``). Returns the invitation."""
    if not coordinator.is_coordinator:
        raise AccountError("Only coordinators can invite members.")
    if role not in User.ROLES:
        raise AccountError(f"Role must be one of {', '.join(User.ROLES)}.", "role")
    email = normalize_email(email)
    if User.select().where(User.email == email).exists():
        raise AccountError(f"{email} is already a member.", "email")
    with write_lock():
        invitation = create_invitation(coordinator, email, name, role)
    invitations.hand_over([invitation.id])
    return invitation


def create_invitation(coordinator, email, name, role):
    """One invitation row and its audit event, inside the caller's transaction (single or bulk)."""
    invitation = Invitation.create(email=email, name=name.strip(), role=role, invited_by=coordinator)
    audit.record(coordinator, "member.invited", f"invitation:{invitation.id}", email)
    return invitation


def resend_invitation(coordinator, invitation):
    """Send a not yet accepted invitation's email again, with a fresh link: waiting to be sent, tried afresh."""
    if not coordinator.is_coordinator:
        raise AccountError("Only coordinators can invite members.")
    with write_lock():
        Invitation.update(send_status=Invitation.PENDING, send_attempts=0, send_due_at=utcnow(), send_error="",
                          claimed_until=None).where(Invitation.id == invitation.id).execute()
        audit.record(coordinator, "invitation.resent", f"invitation:{invitation.id}", invitation.email)
    invitations.hand_over([invitation.id])


def invitation_for(token, lock=False):
    data = tokens.load("invite", token, current_app.config["INVITATION_MAX_AGE"],
                       expired="This invitation has expired. Ask your coordinator to send it again.")
    query = Invitation.select().where(Invitation.id == data.get("id"))
    invitation = (locked(query) if lock else query).first()
    if invitation is None or invitation.email != data.get("email"):
        raise tokens.TokenError("This invitation is not valid. Ask your coordinator for a new one.")
    if invitation.accepted_at is not None:
        raise tokens.TokenError("This invitation has already been used. Log in with your email and password.")
    return invitation


def accept_invitation(token, name, password, time_zone="UTC"):
    """Create the invitee's account; the link works once, even when two tabs send it at once."""
    invitation = invitation_for(token)
    problem = password_problem(password, invitation.email)
    if problem:
        raise AccountError(problem, "password")
    password_hash = hash_password(password)  # slow on purpose: before the lock, not inside it
    try:
        with write_lock():
            invitation = invitation_for(token, lock=True)
            if User.select().where(User.email == invitation.email).exists():
                raise tokens.TokenError("An account with this email already exists. Log in instead.")
            user = User.create(
                email=invitation.email, name=name.strip(), role=invitation.role, verified=True,
                password_hash=password_hash, time_zone=time_zone or "UTC",
                last_login=utcnow(), last_seen=utcnow(),
            )
            Profile.create(user=user)
            invitation.accepted_at = utcnow()
            invitation.accepted_user = user
            invitation.save()
            audit.record(user, "invitation.accepted", f"invitation:{invitation.id}")
    except IntegrityError as exc:  # the same email won a race through another invitation
        raise tokens.TokenError("An account with this email already exists. Log in instead.") from exc
    return user


# --- self-registration and verification --------------------------------------

def registration_open():
    return bool(current_app.config["ALLOWED_EMAIL_DOMAINS"])


def register(name, email, password, time_zone="UTC"):
    """Create an unverified account and send the verification link.

    An email that already has an account gets a note instead, and the caller
    shows the same page either way, so the form reveals nothing.
    """
    email = normalize_email(email)
    domain = email.rpartition("@")[2]
    allowed = current_app.config["ALLOWED_EMAIL_DOMAINS"]
    if domain not in allowed:
        raise AccountError(
            "Self-registration is open to addresses at " + ", ".join(sorted(allowed))
            + ". Ask a coordinator for an invitation.", "email")
    problem = password_problem(password, email)
    if problem:
        raise AccountError(problem, "password")
    existing = User.get_or_none(User.email == email)
    if existing is not None:
        hash_password(password)  # as long as creating the account would take
        _send_quietly(mail.build(email, "You already have an account", "already_registered",
                                 to_name=existing.name, link=_external("auth.reset_request")))
        return None
    user = create_user(email, name, password=password, verified=False, time_zone=time_zone)
    audit.record(user, "member.registered", f"user:{user.id}")
    try:
        send_verification(user)
    except mail.MailError:
        # The account exists; after logging in, the member can ask for the link again.
        current_app.logger.exception("verification mail to %s not sent", user.email)
    return user


def _send_quietly(message):
    try:
        mail.send(message)
    except mail.MailError:
        current_app.logger.exception("mail %r not sent", message["Subject"])


def send_verification(user):
    token = tokens.make("verify", {"id": user.id, "email": user.email})
    mail.send(mail.build(user.email, "Confirm your email address", "verify",
                         to_name=user.name, link=_external("auth.verify", token=token)))


def verify(token):
    data = tokens.load("verify", token, current_app.config["VERIFY_MAX_AGE"],
                       expired="This link has expired. Log in and ask for a new one.")
    user = User.get_or_none(User.id == data.get("id"))
    if user is None or user.email != data.get("email"):
        raise tokens.TokenError("This link is not valid. Check that you copied all of it.")
    if not user.verified:
        user.verified = True
        user.save(only=[User.verified])
        audit.record(user, "email.verified", f"user:{user.id}")
    return user


# --- password reset ------------------------------------------------------------

def _password_fingerprint(user):
    # Changes with the password, so a reset link works once.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def request_password_reset(email):
    """Email a reset link when the address belongs to an active member; silent otherwise."""
    user = User.get_or_none(User.email == normalize_email(email))
    if user is None or not user.active:
        return
    token = tokens.make("reset", {"id": user.id, "pw": _password_fingerprint(user)})
    # An error here would tell the asker that the address has an account; they can ask again.
    _send_quietly(mail.build(user.email, "Reset your password", "reset", to_name=user.name,
                             link=_external("auth.reset_password", token=token),
                             minutes=current_app.config["RESET_MAX_AGE"] // 60))


def user_for_reset(token):
    data = tokens.load("reset", token, current_app.config["RESET_MAX_AGE"],
                       expired="This link has expired. Ask for a new one.")
    user = User.get_or_none(User.id == data.get("id"))
    if user is None or not user.active or data.get("pw") != _password_fingerprint(user):
        raise tokens.TokenError("This link has already been used or is no longer valid. Ask for a new one.")
    return user


def reset_password(token, password):
    with write_lock():
        user = user_for_reset(token)
        _set_password(user, password)
        if not user.verified:  # the link reached their inbox
            user.verified = True
            user.save(only=[User.verified])
        audit.record(user, "password.reset", f"user:{user.id}")
    return user


def set_active(actor, user, active):
    """Coordinators deactivate and reactivate members; deactivation ends their sessions."""
    if not actor.is_coordinator:
        raise AccountError("Only coordinators can do this.")
    if user.id == actor.id:
        raise AccountError("You cannot deactivate your own account.")
    if user.deleted_at is not None:
        raise AccountError("This account has been deleted: it cannot be reactivated. Invite the person again.")
    with database.atomic():
        user.active = active
        if not active:
            user.session_token = new_token()
        user.save()
        audit.record(actor, "member.activated" if active else "member.deactivated", f"user:{user.id}")


def _external(endpoint, **values):
    return current_app.config["BASE_URL"].rstrip("/") + url_for(endpoint, **values)
