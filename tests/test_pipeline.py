"""The grading pipeline end to end on a temporary copy of the course, with the real assignments.

For each assignment one synthetic class is released, submitted and graded by the real pipeline
(sandboxed execution in parallel, then nbgrader autograde): the reference solution, the untouched
release, and every mutant of the assignment's catalogue, each of which must lose exactly the
points of the test cells it is listed to fail.
"""

import csv
import importlib
import re

import pytest

from instructor.grade import CSV_COLUMNS, main
from instructor.notebooks import is_test_cell, read, source_path
from tests.adversarial import (
    TEST_LIMITS,
    available_assignments,
    cell_scores,
    failed_tests,
    html_text,
    make_course,
    read_csv,
    released,
    run,
    secret_lines,
    submit,
)
from tests.mutants import apply, reference_submission

ASSIGNMENTS = available_assignments()
STATUS = re.compile(r"graded|needs manual grading|failed: .+")
STRING_ONLY = re.compile(r"""^[rbfuRBFU]*(['"]).*\1[,)]*$""")


def catalogue(assignment):
    try:
        return importlib.import_module(f"tests.mutants.{assignment}").MUTANTS
    except ModuleNotFoundError:
        return []


def autograded_cells(assignment):
    return {c.metadata["nbgrader"]["grade_id"] for c in read(source_path(assignment)).cells
            if is_test_cell(c)}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_class_is_graded_exactly(assignment, tmp_path):
    mutants = catalogue(assignment)
    assert mutants, f"tests/mutants/{assignment}.py has no MUTANTS"
    root = make_course(tmp_path, [assignment])
    reference = reference_submission(assignment)
    submit(root, "reference", assignment, reference)
    submit(root, "untouched", assignment, released(root, assignment))
    for mutant in mutants:
        submit(root, mutant.name, assignment, apply(reference, mutant))
    results = run(root, jobs=2)
    tests = autograded_cells(assignment)

    assert set(cell_scores(root, "reference", assignment)) == tests
    assert failed_tests(root, "reference", assignment) == set(), results[
        ("reference", assignment)].detail
    assert not results[("reference", assignment)].status.startswith("failed")

    untouched = cell_scores(root, "untouched", assignment)
    assert {name: score for name, (score, _) in untouched.items() if score} == {}
    assert results[("untouched", assignment)].status == "graded"

    wrong = {}
    for mutant in mutants:
        failed = failed_tests(root, mutant.name, assignment)
        if failed != set(mutant.fails):
            wrong[mutant.name] = {
                "unexpectedly failed": sorted(failed - mutant.fails),
                "unexpectedly passed": sorted(mutant.fails - failed),
                "status": results[(mutant.name, assignment)].status,
            }
    assert not wrong, f"mutants whose grade differs from their `fails` set: {wrong}"

    rows = read_csv(root)
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 2 + len(mutants)
    for row in rows:
        assert STATUS.fullmatch(row["status"]), row
        sub = results[(row["student_id"], row["assignment"])]
        assert float(row["score"]) == pytest.approx(sub.score)
        assert float(row["max_score"]) > 0

    hidden, _ = secret_lines([assignment])
    code = {line for line in hidden if not STRING_ONLY.match(line)}
    assert code, "the assignment has no hidden test code to look for"
    for student, _ in results:
        page = root / "feedback" / student / assignment / f"{assignment}.html"
        assert page.is_file(), f"no feedback for {student}"
        text = html_text(page)
        leaked = sorted(line for line in code if line in text)
        assert not leaked, f"feedback of {student} shows hidden test code: {leaked[:3]}"

    before = (root / "grades.csv").read_text()
    run(root, jobs=2)
    assert (root / "grades.csv").read_text() == before


def test_grades_do_not_depend_on_the_number_of_jobs(tmp_path):
    assignment = ASSIGNMENTS[0]
    mutants = catalogue(assignment)[:2]
    results = []
    for jobs in (1, 2):
        root = make_course(tmp_path / f"jobs{jobs}", [assignment])
        reference = reference_submission(assignment)
        submit(root, "reference", assignment, reference)
        submit(root, "untouched", assignment, released(root, assignment))
        for mutant in mutants:
            submit(root, mutant.name, assignment, apply(reference, mutant))
        run(root, jobs=jobs)
        scores = {s: cell_scores(root, s, assignment) for s in
                  ["reference", "untouched", *(m.name for m in mutants)]}
        results.append((read_csv(root), scores))
    assert results[0] == results[1]


def test_command_line_grades_and_reports(tmp_path, capsys):
    assignment = ASSIGNMENTS[0]
    root = make_course(tmp_path, [assignment])
    submit(root, "reference", assignment, reference_submission(assignment))
    submit(root, "nobody", assignment)  # an empty submission folder
    limits = [f"--{name.replace('_', '-')}={getattr(TEST_LIMITS, name)}"
              for name in ("cell_timeout", "total_timeout", "memory_mb", "output_bytes")]
    assert main(["--root", str(root), "--jobs", "2", *limits]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "reference" in lines and re.search(r"\d+(\.\d+)?s$", lines["reference"])
    assert "failed: no notebook" in lines["nobody"]
    assert "assignment" in lines and assignment in out.split("assignment", 1)[1]
    with (root / "grades.csv").open(newline="") as fh:
        rows = {row["student_id"]: row for row in csv.DictReader(fh)}
    assert rows["nobody"]["status"] == f"failed: no notebook {assignment}.ipynb in the submission"
    assert rows["nobody"]["score"] == "0"
    assert float(rows["reference"]["score"]) > 0

    # After manual grading: --feedback-only refreshes feedback and grades.csv without executing.
    (root / "feedback").rename(root / "old-feedback")
    assert main(["--root", str(root), "--feedback-only"]) == 0
    assert (root / "feedback" / "reference" / assignment / f"{assignment}.html").is_file()
    with (root / "grades.csv").open(newline="") as fh:
        again = {row["student_id"]: row for row in csv.DictReader(fh)}
    assert again == rows
