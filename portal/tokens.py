"""Signed, expiring tokens for links in emails (invitation, reset, verification, unsubscribe, email actions)."""
import datetime as dt

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer


class TokenError(Exception):
    """The link is broken, expired or already used; the message says which."""


def _serializer(purpose, now=None):
    signer = TimestampSigner
    if now is not None:  # signed at a given moment (naive UTC): a link sent earlier, in tests and in the sweep
        moment = int(now.replace(tzinfo=dt.timezone.utc).timestamp())
        signer = type("SignedAt", (TimestampSigner,), {"get_timestamp": lambda self: moment})
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"tandem-{purpose}", signer=signer)


def make(purpose, payload, now=None):
    return _serializer(purpose, now).dumps(payload)


def load(purpose, token, max_age, expired="This link has expired."):
    """The payload of a token we made for ``purpose``; ``expired`` says what to do when it is too old.
    ``max_age`` None: the token does not expire."""
    try:
        return _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise TokenError(expired) from exc
    except BadSignature as exc:
        raise TokenError("This link is not valid. Check that you copied all of it.") from exc
