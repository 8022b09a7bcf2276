# Packbench: `make run` starts the whole embedded station, `make test` runs the full suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export SANDBOX_ADDR ?= 127.0.0.1:8001
export SANDBOX_SEED ?= 40
export WEB_ADDR ?= 127.0.0.1:8000
export PRINTER_ADDR ?= 127.0.0.1:9100
export SCALE_ADDR ?= 127.0.0.1:4001
export DOCUMENT_PRINTER_ADDR ?= 127.0.0.1:8631
export PACKBENCH_VAR_DIR ?= $(CURDIR)/var
# The station talks to its own sandbox wherever SANDBOX_ADDR puts it.
run: export AMAZON_ENDPOINT ?= http://$(SANDBOX_ADDR)
run: export AMAZON_LWA_TOKEN_URL ?= http://$(SANDBOX_ADDR)/auth/o2/token

.PHONY: run test install install-test system-packages check-deploy bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"

run: install
	mkdir -p "$(PACKBENCH_VAR_DIR)/printed" "$(PACKBENCH_VAR_DIR)/documents-printed"
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable
	$(BIN)/python manage.py seed_station
	@echo "Demo users (embedded station only):"
	$(BIN)/python manage.py seed_demo_users
	@echo "Open http://$(WEB_ADDR) and sign in as one of the users above."
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/supervisord -n -c supervisord.conf

# Tests run on the real PostgreSQL and Redis of the machine (127.0.0.1, see README).
TEST_ENV := PACKBENCH_ENV=test \
	DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/packbench} \
	REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/1}

test: system-packages install-test
	$(BIN)/ruff check --quiet fulfillment tests bench
	$(TEST_ENV) $(BIN)/python -m pytest $(PYTEST_ARGS)

# What the suite needs from Debian: Chromium for the browser tests (Playwright drives Debian's, its own
# downloads are blocked), Pango and a font for WeasyPrint. As root they are installed; anyone else is
# told the one command to run, before anything else happens.
CHROMIUM ?= /usr/bin/chromium
# cups-ipp-utils: ippeveprinter, the real IPP printer the document-printer tests print to (its DNS-SD
# wants a D-Bus: the tests start a private session bus, dbus-daemon with its session config).
DEBIAN_LIBRARIES := libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core cups-ipp-utils dbus-daemon dbus-session-bus-common

system-packages:
	@missing=""; \
	[ -x "$(CHROMIUM)" ] || missing=" chromium"; \
	for package in $(DEBIAN_LIBRARIES); do dpkg -s $$package >/dev/null 2>&1 || missing="$$missing $$package"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing what the tests need from Debian:$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq$$missing >/dev/null || exit 1; \
	    [ -x "$(CHROMIUM)" ] || { echo "Debian's chromium did not install $(CHROMIUM)." >&2; exit 1; }; \
	  else \
	    echo "make test needs Debian packages that are not installed:$$missing" >&2; \
	    echo "Run this once, then make test again:  sudo apt-get install -y$$missing" >&2; \
	    exit 1; \
	  fi; \
	fi

check-deploy: install
	PACKBENCH_ENV=production DJANGO_SECRET_KEY=$$(python3 -c 'import secrets;print(secrets.token_urlsafe(50))') \
	DJANGO_ALLOWED_HOSTS=packbench.example PACKBENCH_ENCRYPTION_SALT=check-deploy-salt DATABASE_URL=postgres://postgres@127.0.0.1:5432/packbench \
	REDIS_URL=redis://127.0.0.1:6379/0 AMAZON_ENDPOINT=eu AMAZON_LWA_TOKEN_URL=https://api.amazon.com/auth/o2/token \
	$(BIN)/python manage.py check --deploy --fail-level WARNING

# Benchmarks print their figures (bench/RESULTS.md records them); PostgreSQL and Redis on 127.0.0.1.
# Every script runs; make fails at the end if any of them missed a target.
bench: install-test
	@status=0; for name in documents pages sync throughput; do \
	  echo "== bench/bench_$$name.py"; $(BIN)/python bench/bench_$$name.py || status=1; \
	done; exit $$status

clean:
	rm -rf var
