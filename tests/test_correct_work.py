"""The correct-work catalogue (tests/correct/) through the real grader and nbgrader validate.

Every variant is right, written another way; the grader must give it every autograded point,
with status graded (or needs manual grading), and nbgrader validate on the notebook must pass it.
"""

import importlib
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest

from tests.correct import apply
from tests.mutants import reference_submission
from tests.support.course import available_assignments, cell_scores, make_course, run, submit

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


def validate(path) -> str:
    """nbgrader validate's verdict on one notebook: "" when it passes, else what it printed."""
    done = subprocess.run([sys.executable, "-m", "nbgrader", "validate", path.name],
                          cwd=path.parent, capture_output=True, text=True, timeout=900)
    if "Success! Your notebook passes all the tests." in done.stdout:
        return ""
    return (done.stdout + done.stderr)[-600:]


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

    folder = tmp_path / "validate"
    folder.mkdir()
    paths = []
    for variant in variants:
        path = folder / variant.name / f"{assignment}.ipynb"
        path.parent.mkdir()
        nbformat.write(apply(reference, variant), str(path))
        paths.append(path)
    with ThreadPoolExecutor(2) as pool:
        verdicts = dict(zip([v.name for v in variants], pool.map(validate, paths), strict=True))
    refused = {name: verdict for name, verdict in verdicts.items() if verdict}
    assert not lost and not refused, (
        f"correct work that lost points in the grader: {lost}; "
        f"correct work nbgrader validate refuses: {refused}"
    )
