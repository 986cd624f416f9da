"""Extensions created once, attached to each app in the factory."""
from flask import g
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx

csrf = CSRFProtect()
htmx = Htmx()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=False)


def failed_attempt(response):
    """Rate limits on credential forms count only the failed attempts."""
    return bool(g.get("failed_attempt"))
