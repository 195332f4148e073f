# Two commands: `make run` serves the catalog, `make test` runs the whole suite.
# Everything they need is installed from here, on a fresh machine with Python 3.11.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
CHROMIUM := /usr/bin/chromium

.PHONY: run test bench bench-growth load lint format install install-dev browser system clean

run: install
	$(FLASK) seed
	$(FLASK) run --host $(HOST) --port $(PORT)

# The suite in TEST_WORKERS processes (pytest-xdist), a test file each at a time: on the 2 cores
# here the serial run had grown past the 30 minutes CI allows. TEST_WORKERS=0 runs it serially.
# The slowest files go first (tests/conftest.py, SLOWEST_FILES), in that order: xdist's own
# reordering (the files with the most tests first) is turned off. --durations=30 ends the output
# with the slowest tests: where the time goes (21-33 min on this machine on 2026-12-06).
TEST_WORKERS ?= 2

test: install-dev browser system
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=30

# The app as users meet it at 300,000 handling items (override with BENCH_HANDLING_ITEMS=…), on
# SQLite and PostgreSQL: distinct searches against Datasette and the app's in-process floor, the
# first report and search after a change, snapshots, pages, memory (docs/benchmark.md). The data
# is generated once into bench/data/ and catalog_bench_* and reused. Last, the 双公示 decision
# search at about 1,000,000 decisions (a catalog of its own, 65,000 handling items);
# BENCH_DECISIONS_ONLY=1 runs that stage alone, BENCH_SKIP_DECISIONS=1 leaves it out. Exits
# non-zero when a target is missed; bench/results/ gets every target either way.
bench: install-dev system
	$(BIN)/python bench/run.py

# The same, and the growth run: the distinct searches again at 30,000 and 100,000.
bench-growth: install-dev system
	BENCH_GROWTH=1 $(BIN)/python bench/run.py

# A bounded load run on loopback (about two minutes): gunicorn on a throw-away PostgreSQL
# database, 50 public readers and 5 racing editors for 60 s, then checks against the database.
load: install-dev
	$(BIN)/python load/run.py

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

# The browser tests drive Debian's Chromium (browser downloads are not possible here), with a
# CJK font so that screenshots show Chinese text.
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc

browser: $(CHROMIUM) $(CJK_FONT)

$(CHROMIUM) $(CJK_FONT):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei

# pg_dump / pg_restore / psql for `flask backup` and `restore` on PostgreSQL (and their tests).
PG_DUMP := /usr/bin/pg_dump

system: $(PG_DUMP)

$(PG_DUMP):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
