"""The instructor package: one source for paths and cell facts, an engine free of nbgrader."""

import subprocess
import sys

import pytest

from instructor.cells import (
    grade_id,
    hidden_code_lines,
    hidden_line_numbers,
    is_solution_cell,
    is_test_cell,
    strip_hidden_tests,
)
from instructor.paths import COURSE, ROOT, assignment_ids, source_path

TEST_CELL = """assert f(1) == 2, "f(1) should be 2"
### BEGIN HIDDEN TESTS
x = secret_input()
assert f(x) == 7
### END HIDDEN TESTS
print("done")
"""


def test_hidden_markers_are_parsed_one_way():
    assert hidden_line_numbers(TEST_CELL) == {2, 3, 4, 5}
    assert hidden_code_lines(TEST_CELL) == {"x = secret_input()", "assert f(x) == 7"}
    visible = strip_hidden_tests(TEST_CELL)
    assert "secret_input" not in visible and 'print("done")' in visible
    assert hidden_line_numbers("assert True\n") == set()


def test_cell_predicates_read_nbgrader_metadata():
    test = {"cell_type": "code", "metadata": {"nbgrader": {"grade": True, "grade_id": "t1"}}}
    solution = {"cell_type": "code", "metadata": {"nbgrader": {"solution": True, "grade_id": "s"}}}
    plain = {"cell_type": "code", "metadata": {"nbgrader": "not a dict"}}
    assert is_test_cell(test) and not is_solution_cell(test) and grade_id(test) == "t1"
    assert is_solution_cell(solution) and not is_test_cell(solution)
    assert grade_id(plain) is None and not is_test_cell(plain)
    assert grade_id({"metadata": {"nbgrader": {"grade_id": 3}}}) is None


def test_assignment_ids_come_from_the_sources():
    ids = assignment_ids()
    assert ids == sorted(p.parent.name for p in (COURSE / "source").glob("*/*.ipynb")
                         if p.stem == p.parent.name)
    assert all(source_path(i) == COURSE / "source" / i / f"{i}.ipynb" for i in ids)
    with pytest.raises(FileNotFoundError, match="no assignment 'a9_missing'"):
        source_path("a9_missing")
    with pytest.raises(FileNotFoundError, match="source/"):
        assignment_ids(ROOT / "notebooks")


def test_the_engine_imports_no_nbgrader():
    code = (
        "import sys; import instructor.engine.driver, instructor.engine.cache; "
        "import instructor.engine.worker, instructor.engine.judge; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'nbgrader'); "
        "sys.exit(f'engine imported {bad}' if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr or done.stdout
