"""The grading pipeline end to end on a temporary copy of the course, with the real assignments.

For each assignment one synthetic class is released, submitted and graded by the real pipeline
(sandboxed execution in parallel, then nbgrader autograde): the reference solution, the untouched
release, and every mutant of the assignment's catalogue, each of which must lose exactly the
points of the test cells it is listed to fail. The student edition's validate then runs on every
one of them and must fail exactly the test cells whose visible part the grader failed.
"""

import copy
import importlib
import re

import nbformat
import pytest

from instructor.cells import is_test_cell
from instructor.grading.grade import main
from instructor.grading.report import CSV_COLUMNS
from instructor.notebooks import read
from instructor.paths import source_path
from tests.mutants import apply, reference_submission
from tests.support.course import (
    TEST_LIMITS,
    available_assignments,
    cell_scores,
    failed_tests,
    html_lines,
    make_course,
    read_csv,
    released,
    run,
    secret_lines,
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
    results = run(root, jobs=2, feedback=False)  # feedback for a few, below: 2 s a submission
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
        if failed - mutant.may_fail != set(mutant.fails):
            wrong[mutant.name] = {
                "unexpectedly failed": sorted(failed - mutant.fails - mutant.may_fail),
                "unexpectedly passed": sorted(mutant.fails - failed),
                "status": results[(mutant.name, assignment)].status,
            }
    assert not wrong, f"mutants whose grade differs from their `fails` set: {wrong}"

    # validate (the edition's validate.py, under the same limits) agrees with the grader
    stage = student_edition(root, tmp_path, TEST_LIMITS)
    notebooks = {"reference": reference, "untouched": released(root, assignment)}
    notebooks |= {mutant.name: apply(reference, mutant) for mutant in mutants}
    verdicts = validate_all(stage, place(stage, assignment, notebooks))
    may_fail = {mutant.name: mutant.may_fail | mutant.may_stop for mutant in mutants}
    order = ordered_test_cells(assignment)
    differ = {}
    for name in notebooks:
        graded = root / "autograded" / name / assignment / f"{assignment}.ipynb"
        found = disagreements(verdicts[name], grader_visible_failures(graded), order,
                              may_fail.get(name, frozenset()))
        if found:
            differ[name] = found
    assert not differ, f"validate and the grader disagree on visible tests: {differ}"
    assert verdicts["reference"].failed == {}, verdicts["reference"].lines

    rows = read_csv(root)
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 2 + len(mutants)
    for row in rows:
        assert STATUS.fullmatch(row["status"]), row
        sub = results[(row["student_id"], row["assignment"])]
        assert float(row["score"]) == pytest.approx(sub.score)
        assert float(row["max_score"]) > 0

    # Feedback for the reference, the untouched release and the mutants that fail the most
    # hidden tests (their pages hold the most failure messages): from the cache, same grades.
    before = (root / "grades.csv").read_text()
    worst = sorted(mutants, key=lambda m: -len(failed_tests(root, m.name, assignment)))[:3]
    shown = ["reference", "untouched", *(m.name for m in worst)]
    again = run(root, jobs=2, students=shown)
    assert (root / "grades.csv").read_text() == before
    missed = [key for key, sub in again.items() if sub.autograded and not sub.from_cache]
    assert not missed, f"graded again although nothing changed (cache misses): {missed}"
    hidden, solution = secret_lines([assignment])  # a student's own code may repeat a line
    code = {line for line in hidden - solution if not STRING_ONLY.match(line)}
    assert code, "the assignment has no hidden test code to look for"
    for student in shown:
        page = root / "feedback" / student / assignment / f"{assignment}.html"
        assert page.is_file(), f"no feedback for {student}"
        leaked = sorted(code & html_lines(page))
        assert not leaked, f"feedback of {student} shows hidden test code: {leaked[:3]}"


def test_grades_do_not_depend_on_the_number_of_jobs(tmp_path):
    assignment = ASSIGNMENTS[0]
    mutants = catalogue(assignment)[:1]
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


def manual_cells(assignment):
    return [c.metadata["nbgrader"]["grade_id"] for c in read(source_path(assignment)).cells
            if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")]


def test_command_line_grades_reports_and_keeps_manual_grades(tmp_path, capsys):
    assignment = next(a for a in ASSIGNMENTS if manual_cells(a))
    root = make_course(tmp_path, [assignment])
    submit(root, "reference", assignment, reference_submission(assignment))
    submit(root, "nobody", assignment)  # an empty submission folder
    limits = [f"--{name.replace('_', '-')}={getattr(TEST_LIMITS, name)}"
              for name in ("cell_timeout", "total_timeout", "memory_mb", "output_bytes")]
    assert main(["--root", str(root), "--jobs", "2", *limits]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert re.search(rf"^reference +{assignment} +\d+/\d+ +needs manual grading +\d+\.\ds$",
                     lines["reference"]), lines["reference"]
    assert "failed: no notebook" in lines["nobody"]
    assert re.search(rf"^{assignment} +2 +0 +1 +1 ", lines[assignment]), out
    assert "1 executed, 0 from the cache" in out, out
    rows = {row["student_id"]: row for row in read_csv(root)}
    assert rows["nobody"]["status"] == f"failed: no notebook {assignment}.ipynb in the submission"
    assert rows["nobody"]["score"] == "0"
    auto = float(rows["reference"]["score"])
    top = float(rows["reference"]["max_score"])
    assert rows["reference"]["status"] == "needs manual grading" and 0 < auto < top

    # The instructor grades the written answers in formgrader (here: through the gradebook).
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for name in manual_cells(assignment):
            grade = gb.find_grade(name, assignment, assignment, "reference")
            grade.manual_score = grade.max_score
            grade.needs_manual_grade = False
        gb.db.commit()

    # make feedback: feedback and grades.csv from the gradebook, nothing executed.
    (root / "feedback").rename(root / "old-feedback")
    assert main(["--root", str(root), "--feedback-only"]) == 0
    assert (root / "feedback" / "reference" / assignment / f"{assignment}.html").is_file()
    rows = {row["student_id"]: row for row in read_csv(root)}
    assert (rows["reference"]["status"], float(rows["reference"]["score"])) == ("graded", top)
    assert rows["nobody"]["status"].startswith("failed: no notebook")

    # Grading again keeps the manual grades, and executes nothing: the cache has every result.
    before = (root / "grades.csv").read_text()
    capsys.readouterr()
    assert main(["--root", str(root), "--jobs", "1", *limits]) == 0
    assert (root / "grades.csv").read_text() == before
    assert "0 executed, 1 from the cache" in capsys.readouterr().out


def test_feedback_preprocessors_remove_hidden_code_from_source_and_tracebacks():
    from nbconvert.exporters import NotebookExporter
    from nbgrader.preprocessors import ClearHiddenTests

    from instructor.grading.feedback import HIDDEN_NOTE, ScrubHiddenTests

    source = ("x = 1\nassert x == 1, 'visible'\n### BEGIN HIDDEN TESTS\n"
              "assert secret_function(41) == 42, 'case 41 wrong'\n### END HIDDEN TESTS\n")
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 1, "locked": True,
                                 "solution": False, "schema_version": 3}
    quoting = {"output_type": "error", "ename": "AssertionError", "evalue": "case 41 wrong",
               "traceback": ["Traceback (most recent call last):", '  File "<test cell 3>"',
                             "    assert secret_function(41) == 42, 'case 41 wrong'",
                             "AssertionError: case 41 wrong"]}
    visible = {"output_type": "error", "ename": "AssertionError", "evalue": "visible",
               "traceback": ["    assert x == 1, 'visible'", "AssertionError: visible"]}
    cell.outputs = [nbformat.from_dict(quoting)]
    other = copy.deepcopy(cell)
    other.id = nbformat.v4.new_code_cell().id  # a cell of its own (copies share an id)
    other.outputs = [nbformat.from_dict(visible)]
    nb = nbformat.v4.new_notebook(cells=[cell, other])
    exporter = NotebookExporter()
    exporter.register_preprocessor(ScrubHiddenTests(), enabled=True)
    exporter.register_preprocessor(ClearHiddenTests(), enabled=True)
    text, _ = exporter.from_notebook_node(nb)
    assert "secret_function" not in text
    assert "case 41 wrong" in text and HIDDEN_NOTE in text
    assert "assert x == 1, 'visible'" in text
