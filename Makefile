# The two commands: `make run` serves the demo, `make test` passes the tests.
# Both set everything up first (virtualenv, install); nothing needs installing by hand.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app portal
HOST ?= 127.0.0.1
PORT ?= 5000
PORTAL_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
PORTAL_TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: install chromium run migrate seed send-reminders test test-services bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

migrate: install
	$(FLASK) migrate

seed: migrate
	$(FLASK) seed-demo

# Embedded defaults: SQLite in instance/, mail written to instance/mail/ and listed at /dev/mail,
# jobs in-process: the first request starts a thread that sweeps for reminders every minute
# (SWEEP_EVERY), and a dramatiq worker thread of the same process delivers them.
# In production: PORTAL_REDIS_URL, then the Procfile's web, worker (`dramatiq jobs`) and one
# scheduler (`python -m jobs.scheduler`), e.g. with `$(BIN)/honcho start`.
run: seed
	PORTAL_DEV=1 $(FLASK) run --host $(HOST) --port $(PORT)

# One reminder sweep now (what the scheduler does every minute); embedded, it also delivers.
send-reminders: migrate
	$(FLASK) send-reminders

# The browser tests (tests/e2e) drive Debian's Chromium: installed here when missing, never
# downloaded by Playwright. Without it they are skipped, except under CI, where they fail.
chromium:
	@command -v chromium >/dev/null 2>&1 || test -x /usr/bin/chromium \
		|| (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
		|| echo "Chromium could not be installed: the browser tests will be skipped"

test: install chromium
	$(BIN)/python -m pytest

# The same suite against the real PostgreSQL and Redis.
test-services: install chromium
	PORTAL_TEST_DATABASE_URL=$(PORTAL_TEST_DATABASE_URL) PORTAL_TEST_REDIS_URL=$(PORTAL_TEST_REDIS_URL) \
		$(BIN)/python -m pytest

bench: install
	$(BIN)/python tests/bench/browse.py
	$(BIN)/python tests/bench/load.py
	$(BIN)/python tests/bench/reminders.py
	$(BIN)/python tests/bench/dashboard.py
	$(BIN)/python tests/bench/members.py
	$(BIN)/python tests/bench/console.py
	$(BIN)/python tests/bench/matching.py
	$(BIN)/python tests/bench/rounds.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
