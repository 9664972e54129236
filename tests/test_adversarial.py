"""Adversarial submissions, graded by the real pipeline: no unearned points, a clear status each.

Every submission is built from the reference solution of a2_convolution with a small edit: a
known wrong solution (the mutant `conv_backward_dx_overwritten`, which must lose exactly the
test cells it fails) plus an attempt to fool the grader, code that kills or floods the worker,
tampered test cells and metadata, or a broken submission folder. Each class is graded in one run
(short limits), the way a real batch is: one bad submission must not stop the others.
"""

import copy
import json
import os
import re
import sqlite3
import time
from pathlib import Path

import nbformat
import pytest

from instructor.engine.limits import Limits
from instructor.grading.jobs import run_job as REAL_RUN_JOB
from tests.mutants import apply, reference_submission
from tests.support.course import (
    MARKER,
    SOURCE,
    available_assignments,
    cell_scores,
    executable_markup,
    failed_tests,
    make_course,
    read_csv,
    run,
    submit,
)

A = "a2_convolution"
pytestmark = pytest.mark.skipif(A not in available_assignments(), reason=f"{A} not written yet")
LIMITS = Limits(cell_timeout=10, total_timeout=150, memory_mb=512, output_bytes=20_000)
BACKWARD_TESTS = {"test_conv_backward_dx", "test_conv_backward_dw", "test_conv_backward_db"}


def mutant(name):
    from tests.mutants.a2_convolution import MUTANTS

    return next(m for m in MUTANTS if m.name == name)


WRONG = "conv_backward_dx_overwritten"  # a plausible mistake: loses exactly its `fails` set


def gid(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def index_of(nb, grade_id):
    return next(i for i, c in enumerate(nb.cells) if gid(c) == grade_id)


def with_cell_after(nb, grade_id, source):
    """A copy of nb with a plain student code cell inserted after the cell grade_id."""
    nb = copy.deepcopy(nb)
    cell = nbformat.v4.new_code_cell(source)
    cell["id"] = f"student-{abs(hash(source)) % 10**8}"
    nb.cells.insert(index_of(nb, grade_id) + 1, cell)
    return nb


def with_function_prefix(nb, grade_id, code):
    """A copy of nb whose solution function (cell grade_id) runs `code` before its solution."""
    nb = copy.deepcopy(nb)
    cell = nb.cells[index_of(nb, grade_id)]
    lines = cell.source.split("\n")
    at = next(i for i, line in enumerate(lines) if "### BEGIN SOLUTION" in line)
    lines[at:at] = ["    " + line for line in code.strip().split("\n")]
    cell.source = "\n".join(lines)
    return nb


def wrong():
    return apply(reference_submission(A), mutant(WRONG))


TAMPER = {
    "tamper_numpy": """
import numpy as np
import numpy.testing
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.isclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
""",
    "tamper_builtins": """
import builtins
builtins.all = lambda *a, **k: True
builtins.any = lambda *a, **k: True
builtins.AssertionError = type("Harmless", (Exception,), {})
""",
    "tamper_gradcheck": """
import helpers.gradcheck as gc
gc.rel_error = lambda a, b: 0.0
gc.numerical_gradient_array = lambda f, x, dout, h=1e-5: conv_backward_naive(
    dout, conv_forward_naive(x, w, b, {"stride": 1, "pad": 1})[1])[0]
""",
    "tamper_excepthook": """
import sys
sys.excepthook = lambda *a: None
try:
    get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)
except NameError:
    pass
import atexit
atexit.register(lambda: print("all tests passed"))
""",
}

HARD_CODED_FORWARD = '''
def conv_forward_naive(x, w, b, conv_param):
    """Returns the visible tests' expected outputs; zeros of the right shape otherwise."""
    x, w = np.asarray(x), np.asarray(w)
    if x.shape == (1, 1, 3, 3):
        out = np.array([[[[28.0, 38.0], [58.0, 68.0]]]])
    elif x.shape == (2, 3, 4, 5) and w.shape == (2, 3, 2, 2):
        out = np.stack([np.full((2, 3, 4), 12.0), np.full((2, 3, 4), 34.0)], axis=1)
    else:
        S, P = conv_param["stride"], conv_param["pad"]
        H = conv_output_size(x.shape[2], w.shape[2], S, P)
        W = conv_output_size(x.shape[3], w.shape[3], S, P)
        out = np.zeros((x.shape[0], w.shape[0], H, W))
    return out, (x, w, b, conv_param)
'''

NUMERICAL_BACKWARD = '''
def conv_backward_naive(dout, cache):
    """Gradients by central differences: correct, and hundreds of forward passes slow."""
    from helpers.gradcheck import numerical_gradient_array

    x, w, b, conv_param = cache
    dx = numerical_gradient_array(lambda v: conv_forward_naive(v, w, b, conv_param)[0], x, dout)
    dw = numerical_gradient_array(lambda v: conv_forward_naive(x, v, b, conv_param)[0], w, dout)
    db = numerical_gradient_array(lambda v: conv_forward_naive(x, w, v, conv_param)[0], b, dout)
    return dx, dw, db
'''


def snoop(paths):
    return f'''
import os
import numpy as np
found = []
for path in {paths!r}:
    try:
        with open(path, "rb") as fh:
            found.append((path, len(fh.read())))
    except OSError:
        pass
try:
    import sqlite3
    for path in {paths!r}:
        if path.endswith(".db") and os.path.exists(path):
            db = sqlite3.connect(path)
            db.execute("UPDATE grade SET manual_score = 100, needs_manual_grade = 0")
            db.commit()
except Exception:
    pass
try:
    from instructor.reference import load_reference
    conv_backward_naive = load_reference("a2_convolution").conv_backward_naive
except Exception:
    def conv_backward_naive(dout, cache):
        x, w, b, conv_param = cache
        return np.zeros(np.shape(x)), np.zeros(np.shape(w)), np.zeros(np.shape(b))
'''


def test_tampering_with_the_checks_earns_nothing(tmp_path):
    root = make_course(tmp_path, [A])
    submit(root, "baseline", A, wrong())
    for name, code in TAMPER.items():
        submit(root, name, A, with_cell_after(wrong(), "conv_backward_naive", code))
    ref = reference_submission(A)
    submit(root, "hard_coded", A, with_cell_after(ref, "conv_forward_naive", HARD_CODED_FORWARD))
    submit(root, "numerical_backward", A,
           with_cell_after(ref, "conv_backward_naive", NUMERICAL_BACKWARD))
    secret_paths = [
        str(SOURCE / A / f"{A}.ipynb"),
        str(root / "source" / A / f"{A}.ipynb"),
        str(root / "gradebook.db"),
        str(SOURCE.parent / "gradebook.db"),
    ]
    submit(root, "snooper", A, with_cell_after(ref, "conv_backward_naive", snoop(secret_paths)))
    db_before = gradebook_snapshot(root)
    results = run(root, jobs=2, limits=LIMITS)

    expected = set(mutant(WRONG).fails)
    assert failed_tests(root, "baseline", A) == expected
    for name in TAMPER:  # the checks run elsewhere: tampering can only break one's own code
        assert failed_tests(root, name, A) >= expected, name
        assert results[(name, A)].score <= results[("baseline", A)].score, name
    for name in ("tamper_numpy", "tamper_gradcheck", "tamper_excepthook"):
        assert failed_tests(root, name, A) == expected, name
        assert results[(name, A)].status == "needs manual grading", results[(name, A)].status

    hard = cell_scores(root, "hard_coded", A)
    assert hard["test_conv_forward_values"][0] == 0, "hard-coded outputs kept the hidden points"
    assert hard["test_conv_forward_stride_pad"][0] == 0

    numerical = failed_tests(root, "numerical_backward", A)  # none of the backward's points
    assert numerical == {"test_conv_backward_timing", "test_conv_backward_shapes", *BACKWARD_TESTS}
    status = results[("numerical_backward", A)].status
    assert status == "needs manual grading" or re.fullmatch(
        r"failed: .*test_conv_backward_\w+.*time limit.*\(partial score kept\)", status
    ), status

    assert BACKWARD_TESTS <= failed_tests(root, "snooper", A)
    snapshot = gradebook_snapshot(root)
    assert no_manual_scores(root), "a student cell wrote to the gradebook"
    assert set(db_before) <= set(snapshot)

    before = (root / "grades.csv").read_text()
    run(root, jobs=2, limits=LIMITS, feedback=False)
    assert (root / "grades.csv").read_text() == before


def gradebook_snapshot(root):
    with sqlite3.connect(root / "gradebook.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return [row[0] for row in db.execute("SELECT name FROM sqlite_master")]


def no_manual_scores(root):
    with sqlite3.connect(root / "gradebook.db") as db:
        return db.execute("SELECT COUNT(*) FROM grade WHERE manual_score IS NOT NULL").fetchone()[
            0] == 0


def test_code_that_kills_hangs_or_floods_the_worker_is_contained(tmp_path):
    root = make_course(tmp_path, [A])
    ref = reference_submission(A)
    cases = {
        "sys_exit": "import sys\nsys.exit(0)",
        "os_exit": "import os\nos._exit(3)",
        "segfault": "import ctypes\nctypes.string_at(0)",
        "infinite_loop": "while True:\n    pass",
        "memory_bomb": "hog = [bytearray(2**20) for _ in range(4096)]",
    }
    for name, code in cases.items():
        submit(root, name, A, with_function_prefix(ref, "conv_backward_naive", code))
    flooded_nb = copy.deepcopy(ref)  # the answer cell itself prints far too much
    answer = flooded_nb.cells[index_of(flooded_nb, "conv_forward_naive")]
    answer.source += "\n\nfor i in range(200000):\n    print('spam' * 20)\n"
    submit(root, "enormous_output", A, flooded_nb)
    submit(root, "reference", A, ref)
    results = run(root, jobs=2, limits=LIMITS)

    full = results[("reference", A)]
    assert failed_tests(root, "reference", A) == set(), full.detail
    backward = {"test_conv_backward_shapes", "test_conv_backward_timing", *BACKWARD_TESTS}
    for name in cases:
        sub = results[(name, A)]
        assert failed_tests(root, name, A) == backward, (name, sub.status, sub.detail)
        assert 0 < sub.score < full.score, name
    for name, pattern in {
        "sys_exit": r"needs manual grading",
        "os_exit": r"failed: .*(died|exit|crash).*\(partial score kept\)",
        "segfault": r"failed: .*(died|crash|segmentation|signal).*\(partial score kept\)",
        "infinite_loop": r"failed: .*time limit.*\(partial score kept\)",
        "memory_bomb": r"needs manual grading|failed: .*memory.*\(partial score kept\)",
    }.items():
        assert re.fullmatch(pattern, results[(name, A)].status), (name, results[(name, A)].status)

    flooded = results[("enormous_output", A)]  # graded in full: the cut output is a note
    assert failed_tests(root, "enormous_output", A) == set()
    assert flooded.status == full.status == "needs manual grading", flooded.status
    assert re.search(r"output of conv_forward_naive truncated at \d+ bytes", flooded.detail), (
        flooded.detail)
    assert flooded.score == full.score
    autograded = root / "autograded" / "enormous_output" / A / f"{A}.ipynb"
    assert autograded.stat().st_size < 2_000_000


def test_broken_folders_and_tampered_test_cells(tmp_path):
    root = make_course(tmp_path, [A])
    ref = reference_submission(A)
    bad = wrong()
    failing = sorted(mutant(WRONG).fails)[0]  # a test cell the wrong solution fails
    tests = [gid(c) for c in ref.cells if (gid(c) or "").startswith("test_")]

    submit(root, "invalid_json", A, text='{"cells": [')
    submit(root, "not_a_notebook", A, text='{"hello": "world"}')
    submit(root, "missing", A, name="notes.txt", text="I could not finish.")
    submit(root, "misnamed", A, ref, name="my_submission.ipynb")
    submit(root, "extra_files", A, ref, extra={
        "numpy.py": "raise SystemExit('shadowed numpy')",
        "helpers/__init__.py": "raise SystemExit('shadowed helpers')",
        "instructor/reference.py": "raise SystemExit('shadowed reference')",
    })

    deleted = copy.deepcopy(ref)
    deleted.cells = [c for c in deleted.cells if gid(c) not in tests]
    submit(root, "deleted_tests", A, deleted)

    edited = copy.deepcopy(bad)
    for cell in edited.cells:
        if gid(cell) in tests:
            cell.source = "pass"
    submit(root, "edited_tests", A, edited)

    duplicated = copy.deepcopy(bad)
    at = index_of(duplicated, failing)
    copies = [copy.deepcopy(duplicated.cells[at]) for _ in range(2)]
    for n, cell in enumerate(copies):
        cell["id"] = f"copy-{n}"
        cell.source = "pass"
    duplicated.cells[at + 1:at + 1] = copies
    plain = copy.deepcopy(duplicated.cells[at])
    plain["id"] = "plain-copy"
    plain.metadata = {}
    duplicated.cells.insert(0, plain)
    submit(root, "duplicated_tests", A, duplicated)

    reordered = copy.deepcopy(bad)
    moved = [c for c in reordered.cells if gid(c) in tests]
    reordered.cells = moved + [c for c in reordered.cells if gid(c) not in tests]
    submit(root, "reordered_tests", A, reordered)

    retyped = copy.deepcopy(bad)
    cell = retyped.cells[index_of(retyped, failing)]
    cell.cell_type = "markdown"
    del cell["outputs"], cell["execution_count"]
    submit(root, "retyped_test", A, retyped)

    points = copy.deepcopy(bad)
    for cell in points.cells:
        if gid(cell) in tests:
            cell.metadata["nbgrader"]["points"] = 0 if gid(cell) == failing else 100
    submit(root, "changed_points", A, points)

    ungraded = copy.deepcopy(bad)
    for cell in ungraded.cells:
        if gid(cell) == failing:
            cell.metadata["nbgrader"]["grade"] = False
            cell.source = "pass"
    submit(root, "grade_flag_removed", A, ungraded)

    forged = copy.deepcopy(bad)
    fake = nbformat.v4.new_code_cell("print('free points')")
    fake["id"] = "forged"
    fake.metadata["nbgrader"] = {"grade": True, "grade_id": "bonus", "points": 50,
                                 "locked": True, "solution": False, "schema_version": 3}
    forged.cells.append(fake)
    submit(root, "forged_cell", A, forged)
    submit(root, "baseline", A, bad)
    submit(root, "reference", A, ref)

    results = run(root, jobs=2, limits=LIMITS)
    rows = {row["student_id"]: row for row in read_csv(root)}
    full, base = results[("reference", A)], results[("baseline", A)]
    expected = set(mutant(WRONG).fails)

    assert rows["invalid_json"]["status"].startswith("failed: notebook is not valid JSON (")
    assert rows["not_a_notebook"]["status"] == (
        "failed: file is not a Jupyter notebook (no list of cells)")
    assert rows["missing"]["status"] == f"failed: no notebook {A}.ipynb in the submission"
    for name in ("invalid_json", "not_a_notebook", "missing"):
        assert rows[name]["score"] == "0" and float(rows[name]["max_score"]) == full.max_score

    for name, note in {"misnamed": "notebook was named my_submission.ipynb",
                       "extra_files": "ignored extra files: helpers/__init__.py"}.items():
        assert failed_tests(root, name, A) == set(), name
        assert results[(name, A)].score == full.score, name
        assert results[(name, A)].status == full.status == "needs manual grading"
        assert note in rows[name]["detail"], rows[name]["detail"]

    assert failed_tests(root, "deleted_tests", A) == set()
    assert results[("deleted_tests", A)].score == full.score
    assert "was missing: restored" in rows["deleted_tests"]["detail"]
    assert set(cell_scores(root, "deleted_tests", A)) == set(tests)

    for name in ("edited_tests", "duplicated_tests", "reordered_tests", "retyped_test",
                 "changed_points", "grade_flag_removed", "forged_cell", "baseline"):
        sub = results[(name, A)]
        assert failed_tests(root, name, A) == expected, name
        assert (sub.score, sub.max_score) == (base.score, full.max_score), name
        assert sub.status == "needs manual grading", (name, sub.status)
        assert set(cell_scores(root, name, A)) == set(tests), name
    assert "edited: restored" in rows["edited_tests"]["detail"]
    assert "turned into markdown: restored" in rows["retyped_test"]["detail"]

    before = (root / "grades.csv").read_text()
    run(root, jobs=2, limits=LIMITS, feedback=False)
    assert (root / "grades.csv").read_text() == before


PAYLOADS = "\n\n".join([
    f"<img src=x onerror=\"alert('{MARKER}1')\">",
    f"<script>alert('{MARKER}2')</script>",
    f"<svg onload=\"alert('{MARKER}3')\"><circle r=5 /></svg>",
    f"[a link](javascript:alert('{MARKER}4'))",
    f"[encoded](&#106;avascript:alert('{MARKER}5'))",
    f"<a href=\"javascript:alert('{MARKER}6')\">another link</a>",
    f"<iframe src=\"javascript:alert('{MARKER}7')\"></iframe>",
    f"<details open ontoggle=\"alert('{MARKER}8')\">x</details>",
    f"<a href=\"data:text/html,<script>alert('{MARKER}9')</script>\">data</a>",
    f"<style>body {{ background: url('javascript:alert({MARKER}10)') }}</style>",
    f"<form action=\"javascript:alert('{MARKER}11')\"><button>go</button></form>",
])
RICH_OUTPUTS = [
    nbformat.v4.new_output("display_data", data={
        "application/javascript": f"alert('{MARKER}20')", "text/plain": "<js>"}),
    nbformat.v4.new_output("display_data", data={
        "text/html": f"<b>bold</b><img src=x onerror=\"alert('{MARKER}21')\">"}),
    nbformat.v4.new_output("display_data", data={
        "image/svg+xml": f"<svg onload=\"alert('{MARKER}22')\"></svg>"}),
    nbformat.v4.new_output("execute_result", execution_count=1, data={
        "text/markdown": f"<script>alert('{MARKER}23')</script>"}),
]


def with_payloads(nb):
    """A copy of nb whose written answer, a new markdown cell, a raw HTML cell and a code
    cell's outputs all carry script payloads."""
    nb = copy.deepcopy(nb)
    nb.cells[index_of(nb, "q_border_gradients")].source += "\n\n" + PAYLOADS
    at = index_of(nb, "q_pool_ties")
    markdown = nbformat.v4.new_markdown_cell("A note of mine.\n\n" + PAYLOADS)
    markdown["id"] = "student-markdown"
    raw = nbformat.v4.new_raw_cell(PAYLOADS, metadata={"raw_mimetype": "text/html",
                                                       "format": "text/html"})
    raw["id"] = "student-raw"
    code = nbformat.v4.new_code_cell("print('plots')")
    code["id"] = "student-outputs"
    code.outputs = copy.deepcopy(RICH_OUTPUTS)
    nb.cells[at + 1:at + 1] = [markdown, raw, code]
    return nb


def feedback_page(root, student):
    return (root / "feedback" / student / A / f"{A}.html").read_text()


def autograded_nb(root, student):
    return nbformat.read(str(root / "autograded" / student / A / f"{A}.ipynb"), 4)


def rendered_bare(nb):
    """The notebook as any nbconvert HTML export renders it, without its own sanitising."""
    from nbconvert.exporters import HTMLExporter

    return HTMLExporter().from_notebook_node(nb)[0]


def test_script_in_answers_raw_cells_and_outputs_is_inert(tmp_path):
    from instructor.grading.feedback import CSP
    from instructor.grading.pipeline import refresh

    root = make_course(tmp_path, [A])
    ref = reference_submission(A)
    submit(root, "scripter", A, with_payloads(ref))
    submit(root, "reference", A, ref)
    results = run(root, jobs=2, limits=LIMITS)

    full, attack = results[("reference", A)], results[("scripter", A)]
    assert failed_tests(root, "scripter", A) == failed_tests(root, "reference", A) == set()
    assert (attack.score, attack.status) == (full.score, full.status) == (
        full.score, "needs manual grading")
    assert no_manual_scores(root)

    page = feedback_page(root, "scripter")
    assert executable_markup(page) == []
    head = page[: page.index("</head>")]
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in head
    assert head.index("Content-Security-Policy") < head.index("<script")
    assert "default-src 'none'" in CSP and "script-src" not in CSP
    assert "A note of mine." in page and f"{MARKER}1" in page  # shown as text, not run

    graded = autograded_nb(root, "scripter")  # what formgrader renders
    assert executable_markup(rendered_bare(graded)) == []
    for cell in graded.cells:
        for output in cell.get("outputs", []):
            assert set(output.get("data", {})) <= {"text/plain", "text/html", "image/png"}
    assert executable_markup(feedback_page(root, "reference")) == []

    # Rich outputs in an autograded notebook (a display, an HTML table, a plot) are cleaned when
    # the page is rendered, too: put the payload outputs in and regenerate feedback.
    path = root / "autograded" / "scripter" / A / f"{A}.ipynb"
    graded.cells[index_of(graded, "conv_forward_naive")].outputs = copy.deepcopy(RICH_OUTPUTS)
    nbformat.write(graded, str(path))
    refresh(root, [A], out=lambda *_: None)
    page = feedback_page(root, "scripter")
    assert executable_markup(page) == [] and "bold" in page
    assert "Content-Security-Policy" in page[: page.index("</head>")]


def surrogate_notebook(nb, where):
    """The notebook's JSON text with a lone surrogate (valid JSON, not valid Unicode)."""
    nb = copy.deepcopy(nb)
    if where == "cell":
        nb.cells[index_of(nb, "q_pool_ties")].source += " SURROGATE"
    else:
        nb.metadata["SURROGATE"] = 1
    return nbformat.writes(nb).replace("SURROGATE", "\\ud800")


def broken_job(course, gradebook, assignment, student, *args):
    """A grading job that breaks for one student (as a bug met by one notebook would)."""
    if student == "breaks_job":
        raise RecursionError("maximum recursion depth exceeded")
    return REAL_RUN_JOB(course, gradebook, assignment, student, *args)


def test_one_malformed_notebook_fails_alone_and_the_class_is_graded(tmp_path, monkeypatch):
    from instructor.grading import jobs, pipeline
    from instructor.grading.grade import main

    root = make_course(tmp_path, [A])
    ref = reference_submission(A)
    submit(root, "surrogate_cell", A, text=surrogate_notebook(ref, "cell"))
    submit(root, "surrogate_key", A, text=surrogate_notebook(ref, "metadata"))
    submit(root, "breaks_job", A, ref)
    submit(root, "breaks_finish", A, ref)
    submit(root, "reference", A, ref)
    json.loads(surrogate_notebook(ref, "cell"))  # valid JSON: the problem is the character

    real_finish = pipeline.finish

    def finish(api, root_, sub, *args):
        if sub.student_id == "breaks_finish":
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
        return real_finish(api, root_, sub, *args)

    monkeypatch.setattr(jobs, "run_job", broken_job)
    monkeypatch.setattr(pipeline, "finish", finish)
    results = run(root, jobs=2, limits=LIMITS)

    full = results[("reference", A)]
    assert failed_tests(root, "reference", A) == set() and full.status == "needs manual grading"
    assert results[("surrogate_cell", A)].status == (
        "failed: cell 34 (q_pool_ties) holds a lone surrogate character (\\ud800), which is not "
        "valid Unicode: remove it and submit again")
    assert results[("surrogate_key", A)].status.startswith(
        "failed: the notebook's metadata holds a lone surrogate character (\\ud800)")
    assert results[("breaks_job", A)].status == (
        "failed: grading stopped: RecursionError: maximum recursion depth exceeded")
    assert results[("breaks_finish", A)].status == (
        "failed: autograde failed (UnicodeEncodeError: 'utf-8' codec can't encode character "
        "'\\ud800' in position 0: surrogates not allowed)")
    rows = {row["student_id"]: row for row in read_csv(root)}
    assert set(rows) == {"surrogate_cell", "surrogate_key", "breaks_job", "breaks_finish",
                         "reference"}

    monkeypatch.undo()  # the command lines, as `make feedback` and `make grade` run them
    assert main(["--root", str(root), "--feedback-only"]) == 0
    assert main(["--root", str(root), "--cell-timeout", "10", "--memory-mb", "512",
                 "--total-timeout", "150", "--output-bytes", "20000", "--jobs", "2"]) == 0
    rows = {row["student_id"]: row for row in read_csv(root)}
    assert rows["surrogate_cell"]["status"] == results[("surrogate_cell", A)].status
    for name in ("reference", "breaks_job", "breaks_finish"):
        assert rows[name]["status"] == "needs manual grading", (name, rows[name])
        assert float(rows[name]["score"]) == full.score, name


def wedged_job(course, gradebook, assignment, student, *args):
    """A grading job that never ends (as on a frozen worker); it leaves its pid in PID_FILE."""
    with open(os.environ["PID_FILE"], "w") as file:
        file.write(str(os.getpid()))
    time.sleep(600)


def test_a_job_that_never_ends_is_stopped_and_named_and_grading_again_recovers(
        tmp_path, monkeypatch):
    from instructor.grading import jobs
    from instructor.grading.pipeline import grade

    root = make_course(tmp_path, [A])
    submit(root, "wedged", A, reference_submission(A))
    monkeypatch.setenv("PID_FILE", str(tmp_path / "job.pid"))
    monkeypatch.setattr(jobs, "run_job", wedged_job)
    monkeypatch.setattr(jobs, "JOB_SLACK", 3.0)
    lines = []
    started = time.perf_counter()
    subs = grade(root, jobs=1, limits=Limits(cell_timeout=5, total_timeout=5), out=lines.append)
    waited = time.perf_counter() - started
    assert 8 <= waited < 60, f"the stalled batch ended after {waited:.0f}s, not 5 + 3 s"
    (sub,) = subs
    assert sub.status == ("failed: grading stopped: no job finished in 8 s (the notebook time "
                          "limit and slack): a worker was lost or froze; grade again")
    assert any("wedged" in line and "no job finished in 8 s" in line for line in lines), lines
    pid = int((tmp_path / "job.pid").read_text())
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text(
        ).split()[2], "the frozen job's process was left running"

    monkeypatch.undo()
    (regraded,) = grade(root, jobs=1, limits=LIMITS, out=lambda *_: None)
    assert regraded.status == "needs manual grading" and failed_tests(root, "wedged", A) == set()


def test_huge_markdown_is_cut_for_display_with_a_note(tmp_path):
    from instructor.grading.sanitize import MAX_SOURCE_CHARS, MAX_SOURCES_CHARS

    root = make_course(tmp_path, [A])
    ref = reference_submission(A)
    verbose = copy.deepcopy(ref)
    answer = verbose.cells[index_of(verbose, "q_border_gradients")]
    answer.source += "\n\n" + "word *emphasis* `code` $x_i$ and more\n" * 150_000  # 5.7 MB
    at = index_of(verbose, "q_pool_ties")
    for n in range(40):
        cell = nbformat.v4.new_markdown_cell(f"Part {n}: " + "padding *text* here\n" * 6_000)
        cell["id"] = f"pad-{n}"
        verbose.cells.insert(at + 1, cell)
    submit(root, "verbose", A, verbose)
    submit(root, "reference", A, ref)
    started = time.perf_counter()
    results = run(root, jobs=2, limits=LIMITS)
    print(f"graded a 10 MB notebook and its neighbour in {time.perf_counter() - started:.0f}s")

    full, big = results[("reference", A)], results[("verbose", A)]
    assert failed_tests(root, "verbose", A) == set()
    assert (big.score, big.status) == (full.score, full.status) == (full.score,
                                                                     "needs manual grading")
    assert "text cut for display (too long to show in full): q_border_gradients, " in big.detail
    assert "a markdown cell after q_pool_ties" in big.detail
    assert "cut" not in full.detail

    graded = autograded_nb(root, "verbose")
    assert max(len(c.source) for c in graded.cells) <= MAX_SOURCE_CHARS
    assert sum(len(c.source) for c in graded.cells if gid(c) is None) <= MAX_SOURCES_CHARS + 4000
    cut = graded.cells[index_of(graded, "q_border_gradients")].source
    assert cut.startswith(ref.cells[index_of(ref, "q_border_gradients")].source)
    assert "[... cut for display:" in cut
    assert len(feedback_page(root, "verbose")) < 1_500_000


def test_submitted_metadata_is_an_allow_list_and_csv_starts_no_formula(tmp_path):
    from instructor.grading.report import FORMULA_START

    root = make_course(tmp_path, [A])
    ref = reference_submission(A)
    forged = copy.deepcopy(ref)
    forged.metadata["nbgrader_course"] = {
        "normalized": ['=HYPERLINK("http://evil.example","full marks")'], "sanitized": ["+1"]}
    forged.metadata["hardened_grading"] = {"problems": ["@SUM(1)"], "cells": [], "notes": []}
    forged.metadata["convnets"] = {"detail": "=1+1"}
    forged.cells[index_of(forged, "q_pool_ties")].metadata.update(
        {"jupyter": {"source_hidden": True}, "grader": {"points": 99}})
    hidden = with_cell_after(forged, "conv_backward_naive", "CHEAT_MARKER = 42")
    cheat = hidden.cells[index_of(hidden, "conv_backward_naive") + 1]
    cheat.metadata = {"transient": {"remove_source": True}, "jupyter": {"source_hidden": True},
                      "tags": ["remove_input"], "nbgrader_course": {"normalized": ["-2"]}}
    submit(root, "=1+1", A, hidden, extra={"=HYPERLINK(1).py": "x = 1"})
    submit(root, "reference", A, ref)
    results = run(root, jobs=2, limits=LIMITS)

    full, attack = results[("reference", A)], results[("=1+1", A)]
    assert failed_tests(root, "=1+1", A) == set()
    assert (attack.score, attack.status) == (full.score, full.status) == (
        full.score, "needs manual grading")
    for text in ("HYPERLINK(\"http", "full marks", "@SUM", "=1+1", "+1", "-2"):
        assert text not in attack.detail, attack.detail
    assert attack.detail == "ignored extra files: =HYPERLINK(1).py"

    graded = autograded_nb(root, "=1+1")
    assert set(graded.metadata) <= {"kernelspec", "language_info", "nbgrader",
                                    "hardened_grading", "nbgrader_course"}
    assert "@SUM(1)" not in json.dumps(graded.metadata)
    for cell in graded.cells:
        extra = {"deletable", "editable"} if "test_" in (gid(cell) or "") else set()
        assert set(cell.metadata) <= {"nbgrader", "tags"} | extra, cell.metadata
    cheat = graded.cells[index_of(graded, "conv_backward_naive") + 1]
    assert cheat.source == "CHEAT_MARKER = 42" and cheat.metadata == {"tags": ["remove_input"]}
    assert "CHEAT_MARKER" in feedback_page(root, "=1+1")  # the grader's page shows the code

    text = (root / "grades.csv").read_text()
    fields = [field for row in csv_rows(text) for field in row]
    assert "'=1+1" in fields
    assert not [f for f in fields if f.startswith(FORMULA_START)], fields


def csv_rows(text):
    import csv
    import io

    return list(csv.reader(io.StringIO(text)))
