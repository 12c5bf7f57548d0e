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

# Two busy cores oversubscribe easily; every chapter is timed with two threads.
export OMP_NUM_THREADS ?= 2
export MKL_NUM_THREADS ?= 2
export SYNTHBOOK_THREADS ?= 2
# Sleep, don't spin, while waiting for work: with OpenMP's default (spinning),
# two torch processes on two cores ran a GAN 13x slower than with PASSIVE
# (2.3 vs 31 steps/s, measured here).
export OMP_WAIT_POLICY ?= PASSIVE
export PYDEVD_DISABLE_FILE_VALIDATION = 1

STAMP := .make
BOOK_FLAGS := -W -n --keep-going
# jupyter-book 1.x has no `python -m jupyter_book`; call its CLI through this interpreter.
JUPYTER_BOOK = $(PYTHON) -c "import sys; from jupyter_book.cli.main import main; sys.exit(main())"

.PHONY: help install lock assets book test lint unit browser-deps clean clean-cache

help:
	@echo "make book   build the HTML book (executes every chapter, cached)"
	@echo "make test   lint, unit tests, book build, exercises and browser checks (what CI runs)"
	@echo "make clean  remove the built book and its execution cache"
	@echo "make lock   refresh requirements.lock (and environment.yml) after editing pyproject.toml"

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
# and the ipywidgets 8 HTML manager (widgets rendered from saved state), and
# MathJax 3 (its CHTML fonts load relative to the script), pinned in
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
	for p in requirejs @jupyter-widgets/html-manager mathjax; do \
	  node -p "'$$p ' + require('./node_modules/$$p/package.json').version"; done > $@

assets: $(VENDOR)/VERSIONS.txt

# `prepare` trains the models several chapters share (the book's GAN, the judge) once,
# up front, so that no chapter's execution time depends on the build order.
book: install assets
	$(PYTHON) -m synthbook prepare --quiet
	$(JUPYTER_BOOK) build . $(BOOK_FLAGS)
	@echo "The book is at: file://$(CURDIR)/_build/html/index.html"

lint: install
	$(PYTHON) -m ruff check src tests

unit: install
	$(PYTHON) -m pytest -m "not browser" -q

# Debian's Chromium for the browser tests (Playwright never downloads its own).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "Install Chromium first: sudo apt-get install -y chromium"; exit 1; fi; }

test: lint browser-deps book
	$(PYTHON) -m pytest -q
	$(PYTHON) -m pytest -q --nbval-lax exercises/solutions exercises/learner

clean:
	rm -rf _build

clean-cache:
	rm -rf "$${SYNTHBOOK_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/synthbook}"
