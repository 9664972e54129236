# ConvNets from Scratch: every target sets up .venv first, so each works on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
LAB_ARGS ?=
# Jupyter refuses to run as root unless told to (containers and CI machines often run as root).
AS_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)
PYTEST_ARGS ?=

.PHONY: lab test test-fast lint release grade feedback collect export bench clean

# The install prints what it does. It uses uv (fast; found on PATH or installed into the venv)
# with pip's own index settings (tools/uv_options.py), and plain pip when uv cannot be had or
# cannot resolve. Nothing is downloaded after the install.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; set PYTHON=/path/to/python3.11")'
	@test -x $(PY) || { echo "==> creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@echo "==> installing the course and its packages into $(VENV)"
	@UV=$$(command -v uv || true); \
	if [ -z "$$UV" ]; then \
	  echo "==> getting the uv installer (pip install uv)"; \
	  $(PY) -m pip install --disable-pip-version-check --progress-bar on uv >/dev/null 2>&1 \
	    && UV=$(BIN)/uv || echo "==> uv is not available: installing with pip"; \
	fi; \
	if [ -n "$$UV" ] && $$UV pip install --python $(PY) $$($(PY) tools/uv_options.py) -e '.[test]'; then \
	  :; \
	else \
	  [ -z "$$UV" ] || echo "==> uv could not install: installing with pip"; \
	  $(PY) -m pip install --disable-pip-version-check --progress-bar on -e '.[test]' 2>&1 \
	    | grep -v "is ignored: it is neither a file nor a directory"; \
	  test $${PIPESTATUS[0]} -eq 0; \
	fi
	@# jsonschema imports rfc3987-syntax when it is there (an optional format checker pulled in
	@# by jupyter-events), and that import builds a grammar: 2-3 s in every process that reads a
	@# notebook. Nothing here checks IRI formats, so it goes.
	@$(PY) -m pip uninstall --disable-pip-version-check -y -q rfc3987-syntax >/dev/null 2>&1 || true
	@touch $(STAMP)
	@echo "==> $(VENV) is ready"

# Kernels get one BLAS thread each, as the grader's worker does (helpers/threads.py says why).
# jupyter_server_config.py: the course's server extension (a Content-Security-Policy on every page,
# the formgrader with mark schemes and locked autograded scores).
lab: $(STAMP)
	@echo "==> starting JupyterLab (Ctrl-C twice to stop)"
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/jupyter lab --config=jupyter_server_config.py --ServerApp.root_dir=. $(AS_ROOT) $(LAB_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP) lint
	$(BIN)/pytest -n auto $(PYTEST_ARGS)

test-fast: $(STAMP) lint
	$(BIN)/pytest -m unit -q $(PYTEST_ARGS)

release: $(STAMP)
	$(PY) -m instructor.grading.release

collect: $(STAMP)
	@test -n "$(ZIP)" && test -n "$(ASSIGNMENT)" || { echo "usage: make collect ZIP=path/to/lms_download.zip ASSIGNMENT=a2_convolution"; exit 2; }
	$(PY) -m instructor.grading.collect --assignment "$(ASSIGNMENT)" "$(ZIP)" $(if $(ROSTER),--roster "$(ROSTER)")

grade: $(STAMP)
	$(PY) -m instructor.grading.grade $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT)) $(if $(JOBS),--jobs $(JOBS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER))

feedback: $(STAMP)
	$(PY) -m instructor.grading.grade --feedback-only
	$(PY) -m instructor.grading.export --feedback-zip

export: $(STAMP)
	$(PY) -m instructor.grading.export --nbgrader $(foreach id,$(LMS_IDS),--lms-id $(id)) $(if $(ROSTER),--roster "$(ROSTER)")

bench: $(STAMP)
	$(PY) -m benchmarks.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) dist .pytest_cache .ruff_cache
