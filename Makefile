# The two commands a user needs: `make book` and `make test` (see README.md).
#
# Python: the active virtual or conda environment if there is one, else a
# project-local .venv that this Makefile creates.
ifdef VIRTUAL_ENV
PYTHON ?= python
else ifdef CONDA_PREFIX
PYTHON ?= python
else
PYTHON ?= .venv/bin/python
endif

# One torch thread per process: the book's numbers are computed that way, and the
# build executes two notebooks at a time (two one-thread GAN processes each keep
# about 60 steps/s on two cores; one process on two threads manages 52).
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export SYNTHBOOK_THREADS ?= 1
# Sleep, don't spin, while waiting for work: with OpenMP's default (spinning),
# two torch processes on two cores ran a GAN 13x slower than with PASSIVE
# (2.3 vs 31 steps/s, measured here).
export OMP_WAIT_POLICY ?= PASSIVE
export PYDEVD_DISABLE_FILE_VALIDATION = 1

STAMP := .make

.PHONY: help install lock assets book check test lint lint-chapters format-chapters \
	browser-deps clean clean-cache

help:
	@echo "make book    build the HTML book: shared models first, then the chapters"
	@echo "             two at a time (cached: only what changed runs again)"
	@echo "make check   lint (package and chapter code), fast unit tests (day to day)"
	@echo "make test    lint, book build, every test incl. exercises and browser (what CI runs)"
	@echo "make lint-chapters    check the code cells of chapters and exercise sources"
	@echo "make format-chapters  format them (ruff format and ruff check --fix)"
	@echo "make clean   remove the built book and its execution cache"
	@echo "make lock    refresh requirements.lock (and environment.yml) after editing pyproject.toml"

.venv/bin/python:
	python3 -m venv .venv

# Exactly the versions in requirements.lock (checked against their hashes), then the
# package itself without resolving anything again.
$(STAMP)/installed: pyproject.toml requirements.lock | $(if $(filter .venv/bin/python,$(PYTHON)),.venv/bin/python)
	$(PYTHON) -m pip install --upgrade pip
	$(PYTHON) -m pip install --require-hashes -r requirements.lock
	$(PYTHON) -m pip install --no-deps -e .
	@mkdir -p $(STAMP) && touch $@

install: $(STAMP)/installed

# Refresh requirements.lock after a dependency changes in pyproject.toml: every pin that
# still fits is kept, only what changed is resolved again (UPGRADE=1 moves every pin to
# the newest release; LOCK_FLAGS passes more options to `uv pip compile`). Then the same
# versions are written into environment.yml (Binder, conda).
LOCK_FLAGS ?=
lock:
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install "uv>=0.5"
	$(PYTHON) -m uv pip compile pyproject.toml --extra book --extra lab --extra test \
	  --universal --python-version 3.11 --generate-hashes \
	  --custom-compile-command "make lock" -o requirements.lock \
	  $(if $(UPGRADE),--upgrade) $(LOCK_FLAGS)
	$(PYTHON) deploy/pin_environment.py

# JavaScript the book serves itself instead of loading it from a CDN: require.js
# and the ipywidgets 8 HTML manager (widgets rendered from saved state),
# anywidget's front end (an AMD module the HTML manager loads for the generator
# panel, synthbook.widgets.GeneratorWidget), and MathJax 3 (its CHTML fonts
# load relative to the script), pinned in
# package.json / package-lock.json. Copied into _vendor/_static/vendor/, which
# _config.yml lists in html_extra_path, so they end up in _build/html/_static/vendor/.
# (Not in _static/: Jupyter Book adds every .js file under _static to every page.)
# node_modules/ also keeps axe-core for the browser tests.
VENDOR := _vendor/_static/vendor
WIDGETS_DIST := node_modules/@jupyter-widgets/html-manager/dist

node_modules/.package-lock.json: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "Install Node.js and npm first: sudo apt-get install -y nodejs npm"; exit 1; }
	npm ci --ignore-scripts --no-audit --no-fund

$(VENDOR)/VERSIONS.txt: node_modules/.package-lock.json
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/jupyter-widgets
	cp node_modules/requirejs/require.js $(VENDOR)/require.js
	cp $(WIDGETS_DIST)/embed-amd.js $(WIDGETS_DIST)/*.woff2 $(WIDGETS_DIST)/*.woff \
	   $(WIDGETS_DIST)/*.ttf $(WIDGETS_DIST)/*.eot $(WIDGETS_DIST)/*.svg $(VENDOR)/jupyter-widgets/
	mkdir -p $(VENDOR)/mathjax/output/chtml/fonts
	cp node_modules/mathjax/es5/tex-mml-chtml.js $(VENDOR)/mathjax/
	cp -r node_modules/mathjax/es5/output/chtml/fonts/woff-v2 $(VENDOR)/mathjax/output/chtml/fonts/
	mkdir -p $(VENDOR)/anywidget
	cp node_modules/anywidget/dist/index.js $(VENDOR)/anywidget/index.js
	for p in requirejs @jupyter-widgets/html-manager mathjax anywidget; do \
	  node -p "'$$p ' + require('./node_modules/$$p/package.json').version"; done > $@

assets: $(VENDOR)/VERSIONS.txt

# synthbook.tools.build: `prepare` (the models several chapters share), then every
# notebook without a valid cached run, two at a time, one thread each, then the HTML
# from the execution cache with `-W -n --keep-going --all`. It exits non-zero when
# any notebook fails (on every run until it is fixed) or a page shows a traceback.
book: install assets
	$(PYTHON) -m synthbook.tools.build
	@echo "The book is at: file://$(CURDIR)/_build/html/index.html"

# The package, the tests, the answer keys, and the code cells of the chapters and
# exercise sources (lint-chapters).
lint: install lint-chapters
	$(PYTHON) -m ruff format --check src tests exercises/exercise_keys
	$(PYTHON) -m ruff check src tests exercises/exercise_keys

# The code cells of the chapters and exercise sources (Markdown is not linted):
# ruff's format and checks, lines of 88 characters or fewer.
lint-chapters: install
	$(PYTHON) -m synthbook.tools.lint

# Formats in place and applies ruff's safe fixes, regenerates the exercise notebooks
# and pages from their sources, then lists what is left to fix by hand.
format-chapters: install
	$(PYTHON) -m synthbook.tools.lint --fix; status=$$?; \
	  $(PYTHON) -m synthbook exercises && exit $$status

# The fast tier for day-to-day work: no model training, no notebooks, no browser.
check: lint
	$(PYTHON) -m pytest -q -m "not slow and not browser"

# Debian's Chromium for the browser tests (Playwright never downloads its own).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "Install Chromium first: sudo apt-get install -y chromium"; exit 1; fi; }

# Exactly what CI runs (.ci/run). The exercise tests execute each exercise notebook
# once per role (solution, learner), two at a time, against the model cache that
# `make book` just filled.
test: lint browser-deps book
	$(PYTHON) -m pytest -q

clean:
	rm -rf _build

clean-cache:
	rm -rf "$${SYNTHBOOK_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/synthbook}"
