# ConvNets from Scratch: every target sets up .venv first, so each works on a fresh clone.
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

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; set PYTHON=/path/to/python3.11")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -e '.[test]'
	@touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=. $(AS_ROOT) $(LAB_ARGS)

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
	$(PY) -m instructor.grading.grade $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT)) $(if $(JOBS),--jobs $(JOBS))

feedback: $(STAMP)
	$(PY) -m instructor.grading.grade --feedback-only
	$(PY) -m instructor.grading.export --feedback-zip

export: $(STAMP)
	$(PY) -m instructor.grading.export --nbgrader $(foreach id,$(LMS_IDS),--lms-id $(id)) $(if $(ROSTER),--roster "$(ROSTER)")

bench: $(STAMP)
	$(PY) -m benchmarks.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) dist .pytest_cache .ruff_cache
