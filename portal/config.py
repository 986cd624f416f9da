"""Settings and their defaults.

Every setting comes from a ``PORTAL_*`` environment variable, then from
``instance/config.py``; unset means the embedded default of DESIGN §3.
"""
import os
import secrets
from pathlib import Path

ENV_SETTINGS = {
    # environment variable: Flask config key
    "PORTAL_DATABASE_URL": "DATABASE_URL",
    "PORTAL_SECRET_KEY": "SECRET_KEY",
    "PORTAL_REDIS_URL": "REDIS_URL",
    "PORTAL_SMTP_URL": "SMTP_URL",
    "PORTAL_MAIL_DIR": "MAIL_DIR",
    "PORTAL_BASE_URL": "BASE_URL",
    "PORTAL_ALLOWED_EMAIL_DOMAINS": "ALLOWED_EMAIL_DOMAINS",
    "PORTAL_MAIL_FROM": "MAIL_FROM",
    "PORTAL_DEV": "DEV",
}

DEFAULTS = {
    "DATABASE_URL": None,          # SQLite file in the instance folder
    "REDIS_URL": None,             # jobs in-process, rate limits in memory
    "SMTP_URL": None,              # mail written as .eml files
    "MAIL_DIR": None,              # <instance>/mail
    "BASE_URL": "http://127.0.0.1:5000",
    "ALLOWED_EMAIL_DOMAINS": "",   # self-registration off
    "MAIL_FROM": "Tandem <tandem@localhost>",
    "DEV": False,                  # dev conveniences such as the mail page
    "PROGRAM_NAME": "Tandem",
    "INVITATION_MAX_AGE": 14 * 24 * 3600,
    "RESET_MAX_AGE": 3600,
    "VERIFY_MAX_AGE": 7 * 24 * 3600,
    "LOGIN_LIMITS": "5 per minute;20 per hour",
    "BROWSE_PAGE_SIZE": 20,
    "SMTP_TIMEOUT": 10,
    "DELIVERY_LEASE": 300,         # seconds a worker holds a notification it sends; then another may take it
    "SWEEP_EVERY": 60,             # seconds between two reminder sweeps of the in-process scheduler
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,   # the token lives as long as the session
}

TRUE_WORDS = {"1", "true", "yes", "on"}


def instance_path():
    return os.path.abspath(os.environ.get("PORTAL_INSTANCE_PATH", "instance"))


def load(app, overrides=None):
    """Fill ``app.config``: defaults, instance file, environment, overrides."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    for env_name, key in ENV_SETTINGS.items():
        if os.environ.get(env_name):
            app.config[key] = os.environ[env_name]
    if overrides:
        app.config.update(overrides)

    app.config["DEV"] = str(app.config["DEV"]).lower() in TRUE_WORDS
    app.config["ALLOWED_EMAIL_DOMAINS"] = parse_domains(app.config["ALLOWED_EMAIL_DOMAINS"])
    instance = Path(app.instance_path)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = "sqlite:///" + str(instance / "tandem.sqlite3")
    if not app.config["MAIL_DIR"]:
        app.config["MAIL_DIR"] = str(instance / "mail")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance)
    if app.config["BASE_URL"].startswith("https://"):
        # Served over HTTPS: cookies never travel in clear text.
        app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = True
    app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"] or "memory://"
    # Redis down must not take logins down: the limits hold in each process's memory until it is back.
    app.config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] = True


def parse_domains(value):
    if isinstance(value, (list, tuple, set, frozenset)):
        items = value
    else:
        items = str(value or "").replace(";", ",").split(",")
    return frozenset(d.strip().lower().lstrip("@") for d in items if d.strip())


def _instance_secret(instance):
    """A key generated once into the instance folder, so sessions survive restarts."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
