# An Tâm: `make run` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
VENV := .venv
RASA_VENV := .venv-rasa
ANTAM := $(VENV)/bin/antam
PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: setup train run test lint bench eval clean browser

WEB_SOURCES := $(shell find web/src web/static -type f 2>/dev/null) web/build.mjs

setup: $(VENV)/.installed $(RASA_VENV)/.installed web/dist/.built browser

# App runtime, Python 3.11. Re-installs only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	@py=$$(scripts/find-python.sh 3.11 PYTHON311) && echo "app runtime: $$py" && \
	  { [ -x $(VENV)/bin/python ] || "$$py" -m venv $(VENV); }
	$(VENV)/bin/pip install $(PIP_QUIET) --upgrade pip
	$(VENV)/bin/pip install $(PIP_QUIET) -e '.[dev]'
	@touch $@

# Rasa runtime, Python 3.10 (~4 min and ~2.7 GB the first time).
$(RASA_VENV)/.installed: nlu/requirements-rasa.txt
	@py=$$(scripts/find-python.sh 3.10 PYTHON310) && echo "rasa runtime: $$py" && \
	  { [ -x $(RASA_VENV)/bin/python ] || "$$py" -m venv $(RASA_VENV); }
	$(RASA_VENV)/bin/pip install $(PIP_QUIET) --upgrade pip 'setuptools<70' wheel
	$(RASA_VENV)/bin/pip install $(PIP_QUIET) -r nlu/requirements-rasa.txt
	@touch $@

# The counselors' workspace: npm packages from the committed lockfile, bundled into
# web/dist (served by `antam up`; nothing is fetched from elsewhere at run time).
web/node_modules/.installed: web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

web/dist/.built: web/node_modules/.installed $(WEB_SOURCES)
	cd web && node build.mjs
	@touch $@

# Debian's Chromium for the browser tests, installed when absent.
browser:
	@scripts/install-chromium.sh

# Trains only when data, config, components or the lexicon changed.
train: setup
	$(ANTAM) train

# Starts everything and chats in this terminal; no token needed.
run: setup train
	$(ANTAM) up --chat

test: setup train
	$(ANTAM) content check
	@$(VENV)/bin/pytest; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; \
	  exit $$rc

lint: setup
	$(VENV)/bin/ruff check .

bench: setup train
	$(VENV)/bin/python bench/turn_latency.py
	$(VENV)/bin/python bench/crisis_first.py
	$(VENV)/bin/python bench/train_and_load.py
	$(VENV)/bin/python bench/telegram_load.py
	$(VENV)/bin/python bench/escalation.py
	$(VENV)/bin/python bench/workspace.py
	$(RASA_VENV)/bin/python bench/entry_matcher.py
	$(RASA_VENV)/bin/python bench/crisis_thresholds.py
	$(RASA_VENV)/bin/python bench/profile_turn.py
	$(VENV)/bin/python bench/scaling.py
	$(VENV)/bin/python bench/soak.py

clean:
	rm -rf $(VENV) $(RASA_VENV) nlu/models web/node_modules web/dist

# NLU figures: held-out set through the real stack, then 5-fold cross-validation.
eval: setup train
	$(ANTAM) eval --cross-validation
