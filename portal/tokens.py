"""Signed, expiring tokens for links in emails (invitation, reset, verification)."""
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class TokenError(Exception):
    """The link is broken, expired or already used; the message says which."""


def _serializer(purpose):
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"tandem-{purpose}")


def make(purpose, payload):
    return _serializer(purpose).dumps(payload)


def load(purpose, token, max_age, expired="This link has expired."):
    """The payload of a token we made for ``purpose``; ``expired`` says what to do when it is too old."""
    try:
        return _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise TokenError(expired) from exc
    except BadSignature as exc:
        raise TokenError("This link is not valid. Check that you copied all of it.") from exc
