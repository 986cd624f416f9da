"""What the tests share to read a page and to log in (tests/ is on sys.path, as for mailkit):
``page_text`` for a response as a person reads it, ``PASSWORD`` that make_member gives every member,
and ``log_in`` for a second, separately logged-in client."""
import html
import re

PASSWORD = "correct horse battery"  # make_member's default (tests/conftest.py)


def page_text(response):
    """The page as a person reads it: no tags, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def log_in(app, who, password=PASSWORD):
    """A new test client logged in as ``who`` (a user or an email address)."""
    client = app.test_client()
    email = getattr(who, "email", who)
    assert client.post("/login", data={"email": email, "password": password}).status_code == 302
    return client
