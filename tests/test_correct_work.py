"""The correct-work catalogue (tests/correct/) through the real grader and the student's validate.

Every variant is right, written another way; the grader must give it every autograded point,
with status graded (or needs manual grading). In the student edition (carrying the same limits)
both ways a student validates must pass it: `make validate` (validate.py, whose verdicts must
agree with the grader's visible tests) and the notebook's Validate button (nbgrader validate
with the edition's config).
"""

import importlib
import subprocess
import sys

import pytest

from tests.correct import apply
from tests.mutants import reference_submission
from tests.support.course import (
    TEST_LIMITS,
    available_assignments,
    cell_scores,
    make_course,
    run,
    submit,
)
from tests.support.validation import (
    disagreements,
    grader_visible_failures,
    ordered_test_cells,
    place,
    student_edition,
    validate_all,
)

ASSIGNMENTS = available_assignments()


def catalogue(assignment):
    try:
        return importlib.import_module(f"tests.correct.{assignment}").VARIANTS
    except ModuleNotFoundError:
        return []


def test_the_catalogue_has_at_least_twenty_variants():
    names = [v.name for a in ASSIGNMENTS for v in catalogue(a)]
    assert len(names) >= 20, f"only {len(names)} correct variants"
    for assignment in ASSIGNMENTS:
        own = [v.name for v in catalogue(assignment)]
        assert len(own) == len(set(own)), f"duplicate variant names in {assignment}"
        for variant in catalogue(assignment):
            apply(reference_submission(assignment), variant)  # every edit still applies


SUCCESS = "Success! Your notebook passes all the tests."


def validate_button(stage, paths: dict) -> dict[str, str]:
    """nbgrader validate in the edition (the Validate button's settings) on every notebook, in
    one process: {name: what it printed} for those it refuses."""
    command = [sys.executable, "-m", "nbgrader", "validate"]
    done = subprocess.run([*command, *map(str, paths.values())], cwd=stage,
                          capture_output=True, text=True, timeout=1800)
    if done.stdout.count(SUCCESS) == len(paths):
        return {}
    refused = {}
    for name, path in paths.items():  # which one: each alone
        alone = subprocess.run([*command, str(path)], cwd=stage, capture_output=True,
                               text=True, timeout=900)
        if SUCCESS not in alone.stdout:
            refused[name] = (alone.stdout + alone.stderr)[-600:]
    return refused or {"(all)": (done.stdout + done.stderr)[-600:]}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_correct_work_gets_full_marks_and_passes_validate(assignment, tmp_path):
    variants = catalogue(assignment)
    assert variants, f"tests/correct/{assignment}.py has no VARIANTS"
    root = make_course(tmp_path, [assignment])
    reference = reference_submission(assignment)
    for variant in variants:
        submit(root, variant.name, assignment, apply(reference, variant))
    results = run(root, jobs=2, feedback=False)  # grades: test_pipeline checks feedback

    lost = {}
    for variant in variants:
        scores = cell_scores(root, variant.name, assignment)
        short = {name: f"{score:g}/{top:g}" for name, (score, top) in scores.items()
                 if score < top}
        status = results[(variant.name, assignment)].status
        if short or status.startswith("failed"):
            lost[variant.name] = {"cells": short, "status": status, "needs": variant.needs,
                                  "detail": results[(variant.name, assignment)].detail[:300]}

    stage = student_edition(root, tmp_path, TEST_LIMITS)
    paths = place(stage, assignment, {v.name: apply(reference, v) for v in variants})
    verdicts = validate_all(stage, paths)
    order = ordered_test_cells(assignment)
    refused = {}
    for variant in variants:
        graded = root / "autograded" / variant.name / assignment / f"{assignment}.ipynb"
        found = disagreements(verdicts[variant.name], grader_visible_failures(graded), order)
        if found or verdicts[variant.name].failed:
            refused[variant.name] = found or verdicts[variant.name].failed
    button = validate_button(stage, paths)
    assert not lost and not refused and not button, (
        f"correct work that lost points in the grader: {lost}; "
        f"correct work make validate refuses: {refused}; "
        f"correct work the Validate button refuses: {button}"
    )
