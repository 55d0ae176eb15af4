# Two commands: `make run` and `make test`. Nothing here downloads a browser or a toolchain.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The app's tests on Django 4.2 LTS (test-django42): a second virtualenv from requirements-django42.txt.
VENV42 ?= .venv-django42
PY42 := $(VENV42)/bin/python
PORT ?= 8000
SANDBOX_PORT ?= 8100
# honcho gives each process of Procfile.dev its own PORT (web $(PORT), sandbox $(PORT)+100, ...), so the sandbox
# is told the site's data action URL explicitly.
SANDBOX_DATA_ACTION_URL ?= http://127.0.0.1:$(PORT)/messaging/genesys/verify
# ...and where the site's OpenID Connect provider is, for authenticated messaging's code exchange.
SANDBOX_OIDC_DISCOVERY_URL ?= http://127.0.0.1:$(PORT)/o/.well-known/openid-configuration
export PORT SANDBOX_PORT SANDBOX_DATA_ACTION_URL SANDBOX_OIDC_DISCOVERY_URL

.PHONY: run test test-django42 install install-sandbox install-dev install-load chromium lint migrate seed loadtest package-check clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: $(PY) requirements.txt
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-sandbox: $(VENV)/.installed requirements-sandbox.txt
	$(PY) -m pip install -q -r requirements-sandbox.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-sandbox requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

$(VENV)/.installed-load: $(VENV)/.installed-dev requirements-load.txt
	$(PY) -m pip install -q -r requirements-load.txt
	touch $@

install: $(VENV)/.installed
install-sandbox: $(VENV)/.installed-sandbox
install-dev: $(VENV)/.installed-dev
install-load: $(VENV)/.installed-load

# Debian's chromium for the browser tests (Playwright drives /usr/bin/chromium; no browser download).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

migrate: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable

seed: migrate
	$(PY) manage.py seed_demo
	$(PY) manage.py genesys_oidc_client

run: seed install-sandbox
	VENV_PY=$(PY) $(VENV)/bin/honcho -f Procfile.dev start

test: install-dev chromium
	$(PY) -m pytest $(PYTEST_ARGS)

# The messaging app's tests (marker app) on Django 4.2 LTS, which the app supports beside 5.2. No browser test is
# an app test, so no chromium. DATABASE_URL / REDIS_URL as for `make test` (embedded defaults when unset).
$(VENV42)/.installed: requirements-django42.txt
	$(PYTHON) -m venv $(VENV42)
	$(PY42) -m pip install -q --upgrade pip
	$(PY42) -m pip install -q -r requirements-django42.txt
	touch $@

test-django42: $(VENV42)/.installed
	$(PY42) -m pytest -m 'app and not browser' $(PYTEST_ARGS)

# The production profile (gunicorn, worker, PostgreSQL, Redis) under locust for LOADTEST_ARGS (default 60 s).
# DATABASE_URL (PostgreSQL) and REDIS_URL default to 127.0.0.1, as on CI.
loadtest: install-load
	$(PY) bench/loadtest.py $(LOADTEST_ARGS)

# The distribution as a Django developer installs it: wheel + sdist, a new virtualenv (dependencies from the
# package index), a fresh startproject with only messaging/README.md's blocks, both identity modes verified.
package-check: install-dev
	$(PY) packaging/check_install.py $(PACKAGE_CHECK_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) $(VENV42) .pytest_cache .ruff_cache staticfiles
