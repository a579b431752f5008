# The README's commands. People and CI run the same targets.
#   make demo   set up everything, load demo data and serve on http://127.0.0.1:8000
#   make test   set up everything and run the whole test suite (on DATABASE_URL / REDIS_URL if set)

PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 4
MANAGE := $(BIN)/python manage.py

.PHONY: demo test serve lint format setup migrate check-migrations clean bench-editor

# A stamp per requirements file, so an unchanged environment installs nothing.
$(BIN)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# Browser libraries (wavesurfer.js) exactly as package-lock.json pins them. They are served from
# node_modules/<pkg>/dist through STATICFILES_DIRS and never committed.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Adds any key a newer version needs to an existing var/secrets.env; never replaces one.
setup: $(BIN)/.installed node_modules/.installed
	@$(BIN)/python -m reviewportal.keys

migrate: setup
	$(MANAGE) migrate --noinput

demo: migrate
	$(MANAGE) collectstatic --noinput --verbosity 0
	$(MANAGE) load_demo
	@echo
	@echo "Serving on http://$(HOST):$(PORT)/ (Ctrl+C stops). Sign in with a login above."
	SECURE_COOKIES=0 RUN_TIMERS_IN_PROCESS=1 $(BIN)/uvicorn reviewportal.asgi:application --host $(HOST) --port $(PORT) --no-access-log

# Production-style serving: one uvicorn process per core, each with its own socket on the port
# (reviewportal/serve.py); put nginx with TLS in front (docs/operations.md).
serve: migrate
	$(MANAGE) collectstatic --noinput --verbosity 0
	$(BIN)/python -m reviewportal.serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

check-migrations: setup
	$(MANAGE) makemigrations --check --dry-run

test: check-migrations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Submit & next in a real browser, 50 clips; results go in docs/benchmarks.md by hand.
bench-editor: migrate
	$(BIN)/python bench/editor.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var/static node_modules
