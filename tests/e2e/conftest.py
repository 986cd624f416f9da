"""Browser tests: the real app in a live server, driven by Debian's Chromium through Playwright.

Every journey runs twice, with JavaScript on (htmx) and off (plain links and
forms). After each navigation a test calls ``site.check()``, which runs axe-core
on the page and fails on any "serious" or "critical" violation; a navigation
that was never checked fails the test too.

No browser is ever downloaded: the tests use ``/usr/bin/chromium`` (``make test``
installs it with apt-get). Without it they are skipped, except under CI (``CI``
set), where a missing browser is an error.
"""
import os
import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# axe.min.js of axe-core 4.14.1 from the npm registry (tarball sha1 14d8a6f3f085afd126b8b5ca1e42e50e17fb1d99),
# MPL-2.0: its licence is vendor/axe.LICENSE.
AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
STATIC = Path(__file__).parents[2] / "portal" / "static"
BLOCKING_IMPACTS = ("serious", "critical")
BROWSER_ZONE = "Asia/Tokyo"  # not the server's: the pre-filled time zone must come from the browser


def _in_ci():
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _missing_browser(reason):
    if _in_ci():
        pytest.fail(f"{reason}: CI must run the browser tests (install it with `apt-get install chromium`)",
                    pytrace=False)
    pytest.skip(f"{reason}: browser tests skipped (`apt-get install chromium`, or `make test`, installs it)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # Teardown checks (console errors, unchecked pages) only speak when the test itself passed.
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def playwright_driver():
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _missing_browser(f"Chromium is missing ({CHROMIUM} not found)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing_browser("Playwright for Python is not installed (pip install -e '.[dev]')")
    driver = sync_playwright().start()
    yield driver
    driver.stop()


@pytest.fixture(scope="session")
def browser(playwright_driver):
    """One headless Chromium for the whole session; each test gets its own context."""
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def axe_source():
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def auditor(browser):
    """A JavaScript-enabled page that audits snapshots of pages seen without JavaScript.

    With JavaScript off, Chromium runs no timers, so axe cannot run in that page
    itself. The auditor shows the very HTML the no-JS page has, without its
    scripts and with the portal's stylesheets inlined (no network, so it is
    quick): what axe sees is the page as a visitor without JavaScript gets it.
    """
    context = browser.new_context(java_script_enabled=True, reduced_motion="reduce")
    page = context.new_page()
    stylesheets = {}

    def stylesheet(match):
        name = match.group(1)
        if name not in stylesheets:
            stylesheets[name] = (STATIC / name).read_text(encoding="utf-8")
        return f"<style>{stylesheets[name]}</style>"

    def load(url, html):
        html = re.sub(r"<script\b[^>]*>.*?</script>", "", html, flags=re.S | re.I)
        html, found = re.subn(r'<link rel="stylesheet" href="/static/([^"?#]+)[^"]*">', stylesheet, html)
        assert found, f"no stylesheet found in the page at {url}"
        html = re.sub(r"(<head[^>]*>)", r"""\1<meta http-equiv="Content-Security-Policy" content="script-src 'none'">""",
                      html, count=1)
        page.set_content(html, wait_until="load")
        return page

    yield load
    context.close()


def _buffered(app):
    """Each response read whole before it is sent.

    A browser drops connections it no longer needs (a page left while its
    stylesheet loads); werkzeug's server then leaves the static file open, and
    the suite turns that ResourceWarning into an error.
    """
    def wsgi(environ, start_response):
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()
    return wsgi


@pytest.fixture
def live_server(app):
    """The app served over HTTP on a free local port, CSRF on as in production."""
    server = make_server("127.0.0.1", 0, _buffered(app), threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config.update(BASE_URL=url, WTF_CSRF_ENABLED=True)
    # shutdown() waits for the loop to look at its flag: every 0.5 s by default, 0.4 s lost per test.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-server",
                              daemon=True)
    thread.start()
    yield url
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture(params=[True, False], ids=["js", "nojs"])
def js(request):
    return request.param


class Site:
    """One browser context on the live server, and the checks every page gets."""

    def __init__(self, page, base_url, js, axe_source, auditor):
        self.page = page
        self.base_url = base_url
        self.js = js
        self._axe = axe_source
        self._auditor = auditor
        self.errors = []        # console errors, CSP refusals, uncaught exceptions
        self.unchecked = []     # navigations that no check() followed
        self._pending = None
        self._checked_url = None
        self.time_zone = BROWSER_ZONE  # the zone the browser reports to the page
        page.on("framenavigated", self._navigated)
        page.on("load", self._loaded)
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(f"console: {msg.text}"))
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))

    def _navigated(self, frame):
        if frame != self.page.main_frame:
            return
        if frame.url in (self._pending, self._checked_url):
            return  # history.replaceState of the page already seen, not a new page
        if self._pending is not None:
            self.unchecked.append(self._pending)
        self._pending = frame.url

    def _loaded(self, page):
        # A full load, even of the URL checked last (a form that redirects back to its page).
        if self._pending is None:
            self._pending = page.url

    def goto(self, path):
        response = self.page.goto(self.base_url + path if path.startswith("/") else path)
        self.check()
        return response

    def path(self):
        return self.page.url[len(self.base_url):]

    def check(self):
        """axe-core on the page as it is now: no serious or critical violation."""
        page = self.page
        page.wait_for_load_state("load")
        if self.js:
            target = page
        else:
            target = self._auditor(page.url, page.content())
        if not target.evaluate("() => typeof window.axe === 'object'"):
            # Not add_script_tag: the portal's CSP (script-src 'self') refuses inline scripts.
            target.evaluate(self._axe)
        violations = target.evaluate("""async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                                targets: v.nodes.map(n => n.target.join(" "))}));
        }""")
        blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
        self._pending = None
        self._checked_url = page.url
        assert not blocking, f"accessibility violations on {page.url} ({'js' if self.js else 'no js'}):\n" + "\n".join(
            f"- {v['id']} ({v['impact']}): {v['help']}; at {', '.join(v['targets'][:8])}" for v in blocking)


@pytest.fixture
def site(request, browser, live_server, js, axe_source, auditor):
    context = browser.new_context(base_url=live_server, java_script_enabled=js, timezone_id=BROWSER_ZONE,
                                  locale="en-GB", viewport={"width": 1280, "height": 900},
                                  # no colour transitions half-way when axe measures contrast
                                  reduced_motion="reduce")
    context.set_default_timeout(10_000)
    page = context.new_page()
    site = Site(page, live_server, js, axe_source, auditor)
    yield site
    passed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.passed
    try:
        if passed:
            if site._pending is not None:
                site.unchecked.append(site._pending)
            assert not site.unchecked, f"pages visited without an accessibility check: {site.unchecked}"
            assert not site.errors, "errors in the browser console:\n" + "\n".join(site.errors)
    finally:
        context.close()
