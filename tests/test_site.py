"""Health check, error pages, security headers and the strict CSP the pages keep."""
import re

import pytest

from portal import create_app


def test_healthz_is_ok_with_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok", "database": "ok",
        "broker": "ok" if client.application.config["REDIS_URL"] else "in-process",
    }


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    app = create_app({"TESTING": True, "SECRET_KEY": "x",
                      "DATABASE_URL": "postgresql://postgres@127.0.0.1:9/nowhere?connect_timeout=2"})
    client = app.test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"
    # Any other page says so in words, without a stack trace.
    page = client.get("/login")
    assert page.status_code == 503
    assert "cannot reach its database" in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True)


def test_healthz_reports_an_unreachable_broker(app):
    app.config["REDIS_URL"] = "redis://127.0.0.1:9/0"
    body = app.test_client().get("/healthz").get_json()
    assert body["broker"] == "unreachable" and body["database"] == "ok"


@pytest.mark.parametrize("method, path, code, words", [
    ("get", "/no-such-page", 404, "Page not found"),
    ("get", "/members/999999", 302, None),  # anonymous: to the login page first
    ("get", "/logout", 405, "does not accept"),
])
def test_error_pages_use_the_layout(client, method, path, code, words):
    response = getattr(client, method)(path)
    assert response.status_code == code
    if words:
        body = response.get_data(as_text=True)
        assert words in body and "<nav" in body and "Traceback" not in body


def test_405_names_the_allowed_methods(client):
    assert "POST" in client.get("/logout").headers["Allow"]


def test_unexpected_error_shows_the_500_page_not_a_trace(app):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body
    assert "secret internals" not in body and "Traceback" not in body


def test_every_page_carries_security_headers(client, auth, make_member):
    make_member(email="me@example.org", seeks=[])
    auth.login("me@example.org")
    for path in ("/", "/login", "/mentors", "/profile/edit", "/no-such-page"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
        assert "HX-Request" in headers["Vary"]


def test_pages_have_no_inline_script_or_style(client, auth, make_member, topics):
    """The CSP forbids them, so a page that used them would break in the browser."""
    make_member(email="mentor@example.org", offers=[topics["Python"]])
    me = make_member(email="me@example.org", seeks=[topics["Python"]])
    auth.login("me@example.org")
    for path in ("/mentors", "/profile/edit", "/profile/wizard/1", "/profile/wizard/4", f"/members/{me.id}"):
        body = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body), path
        assert not re.search(r"\sstyle=", body), path
        assert not re.search(r"\son[a-z]+=", body), path


def test_htmx_is_configured_for_the_strict_csp(client):
    body = client.get("/login").get_data(as_text=True)
    config = re.search(r'name="htmx-config" content=\'([^\']+)\'', body).group(1)
    for setting in ('"allowEval": false', '"allowScriptTags": false', '"includeIndicatorStyles": false',
                    '"historyCacheSize": 0'):
        assert setting in config
    assert "/static/vendor/htmx-2." in body


def test_static_files_are_served_from_the_portal(client):
    for path in ("/static/vendor/htmx-2.0.11.min.js", "/static/app.css", "/static/app.js"):
        with client.get(path) as response:
            assert response.status_code == 200, path


def test_session_cookie_is_httponly_and_secure_over_https(tmp_path, monkeypatch, database_template):
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "BASE_URL": "https://mentoring.example.org",
                      "DATABASE_URL": "sqlite:///" + str(tmp_path / "db.sqlite3")})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert app.config["SESSION_COOKIE_HTTPONLY"]
