# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?= -n 2 --dist loadgroup

.PHONY: run run-debug test test-e2e venv migrate demo messages lint bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

migrate: venv
	$(PY) manage.py migrate --noinput

demo: migrate
	OTP_REQUIRED=0 $(PY) manage.py load_demo --if-empty

# The server and, beside it, a task worker (manage.py db_worker: the dashboard's recounts, large
# imports and exports); Ctrl-C stops both.
run: demo
	@echo "Serving on http://$(HOST):$(PORT)/ (Ctrl-C stops) with a task worker beside it (manage.py db_worker)"
	@echo "Local demo: plain HTTP, two-factor authentication OFF (OTP_REQUIRED=0), friendly error pages (DEBUG off). Production: deploy/README.md"
	DEBUG=0 HTTPS=0 OTP_REQUIRED=0 $(PY) manage.py db_worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	DEBUG=0 HTTPS=0 STATIC_FROM_SOURCE=1 OTP_REQUIRED=0 $(PY) manage.py runserver $(HOST):$(PORT)

# The same with Django's debug pages (tracebacks, every URL pattern on a 404): for developers only.
run-debug: demo
	DEBUG=1 OTP_REQUIRED=0 $(PY) manage.py db_worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	DEBUG=1 OTP_REQUIRED=0 $(PY) manage.py runserver $(HOST):$(PORT)

# The whole suite on SQLite, then on PostgreSQL as well when DATABASE_URL is set.
test: venv
	env -u DATABASE_URL $(PY) -m pytest -m "not e2e" $(PYTEST_ARGS)
	@if [ -n "$$DATABASE_URL" ]; then \
		echo "== again on $$DATABASE_URL =="; \
		$(PY) -m pytest -m "not e2e" $(PYTEST_ARGS); \
	fi

# Browser tests (Debian's Chromium at /usr/bin/chromium).
test-e2e: venv
	env -u DATABASE_URL $(PY) -m pytest -m e2e

# Rebuild the translation catalogs from the code; the compiled .mo files are committed.
messages: venv
	$(PY) manage.py makemessages -l vi -l en --no-obsolete --ignore=.venv --ignore=staticfiles --ignore=var --ignore=bench
	msgattrib --clear-fuzzy --empty -o locale/en/LC_MESSAGES/django.po locale/en/LC_MESSAGES/django.po
	msgen -o locale/en/LC_MESSAGES/django.po locale/en/LC_MESSAGES/django.po
	@echo "Translate the empty entries of locale/vi/LC_MESSAGES/django.po (locale/po_tools.py todo), then:"
	$(PY) manage.py compilemessages --ignore=.venv

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

bench: venv
	bench/run --quick

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache
