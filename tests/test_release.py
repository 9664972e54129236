"""The release and the student edition leak nothing and are complete.

The release (nbgrader generate_assignment) and the edition are regenerated into temporary
folders from the real sources, then searched for anything instructor-only: hidden test code,
solution code, instructor files, gradebooks, worked solutions.
"""

import ast
import json
import re
import shutil
import subprocess
import tomllib
import zipfile
from pathlib import Path

import nbformat
import pytest

from instructor.cells import is_test_cell, strip_hidden_tests
from instructor.grading.release import EDITION, ZIP_FOLDER, ZIP_NAME, build_edition
from instructor.paths import ROOT
from tests.support.course import (
    SOURCE,
    available_assignments,
    make_course,
    secret_lines,
    squash,
)

ASSIGNMENTS = available_assignments()
INSTRUCTOR_ONLY = {"source", "solutions", "instructor", "tests", "mutants", "autograded",
                   "submitted", "feedback", "benchmarks", ".grading"}


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    """(course root, edition folder, zip path), built from the real sources."""
    tmp = tmp_path_factory.mktemp("release")
    root = make_course(tmp, ASSIGNMENTS)
    archive = build_edition(root, tmp / "dist", ROOT, out=lambda *_: None)
    return root, tmp / "dist" / "student", archive


def edition_files(stage):
    return sorted(p for p in stage.rglob("*") if p.is_file())


def text_of(path):
    """A file's searchable text: notebooks as their cell sources and outputs, others as text."""
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text())
        parts = []
        for cell in nb["cells"]:
            parts.append("".join(cell["source"]) if isinstance(cell["source"], list)
                         else cell["source"])
            parts.append(json.dumps(cell.get("outputs", [])))
        parts.append(json.dumps(nb.get("metadata", {})))
        return "\n".join(parts)
    return path.read_bytes().decode("utf-8", errors="replace")


def squashed_lines(text):
    return {squash(line) for line in text.splitlines()}


def test_every_assignment_is_released_with_its_visible_tests(edition):
    root, stage, _ = edition
    assert ASSIGNMENTS, "no assignments in assignments/source"
    for assignment in ASSIGNMENTS:
        source = nbformat.read(str(SOURCE / assignment / f"{assignment}.ipynb"), 4)
        for where in (root / "release" / assignment, stage / "assignments" / assignment):
            released = nbformat.read(str(where / f"{assignment}.ipynb"), 4)
            by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in released.cells}
            for cell in source.cells:
                if not is_test_cell(cell):
                    continue
                name = cell.metadata["nbgrader"]["grade_id"]
                assert name in by_id, f"{where}: test cell {name} missing"
                visible = [squash(x) for x in strip_hidden_tests(cell.source).splitlines()]
                got = [squash(x) for x in by_id[name].source.splitlines()]
                assert [x for x in got if x] == [x for x in visible if x], f"{name} changed"
                assert "HIDDEN TESTS" not in by_id[name].source
            assert "### BEGIN SOLUTION" not in json.dumps(released)


def leaks(stage):
    """{file: secret lines found in it} over the edition's text files."""
    hidden, solution = secret_lines(ASSIGNMENTS)
    assert hidden and solution
    found = {}
    for path in edition_files(stage):
        if path.suffix in {".npz", ".png", ".zip"}:
            continue
        lines = sorted((hidden | solution) & squashed_lines(text_of(path)))
        if lines:
            found[str(path.relative_to(stage))] = lines
    return found


def test_edition_has_no_hidden_tests_and_no_solution_code(edition):
    _, stage, _ = edition
    assert not leaks(stage), f"instructor-only code in the student edition: {leaks(stage)}"


def test_the_leak_check_finds_planted_code(edition, tmp_path):
    _, stage, _ = edition
    copy = tmp_path / "student"
    shutil.copytree(stage, copy)
    hidden, solution = secret_lines(ASSIGNMENTS)
    planted = [sorted(hidden)[0], sorted(solution)[-1]]
    with (copy / "helpers" / "plots.py").open("a") as fh:
        fh.write("\nif False:\n" + "\n".join("    " + line for line in planted) + "\n")
    assert leaks(copy) == {"helpers/plots.py": sorted(planted)}


def test_edition_has_no_instructor_files(edition):
    _, stage, archive = edition
    names = [p.relative_to(stage) for p in edition_files(stage)]
    for name in names:
        assert not INSTRUCTOR_ONLY & set(name.parts), name
        assert name.name not in {"gradebook.db", "grades.csv"}, name
        if name.name == "nbgrader_config.py":  # only the edition's own: the grader's limits
            assert name == Path("nbgrader_config.py")
            assert (stage / name).read_text() == (EDITION / "nbgrader_config.py").read_text()
        assert name.suffix not in {".db", ".sqlite"}, name
    solutions = {p.name for p in (ROOT / "solutions").glob("*.ipynb")}
    worked = {
        squash(c.source)
        for p in (ROOT / "solutions").glob("*.ipynb")
        for c in nbformat.read(str(p), 4).cells
        if c.cell_type == "code" and "solution" in c.metadata.get("tags", [])
        and len(squash(c.source)) > 20
    }
    for path in edition_files(stage):
        text = text_of(path)
        assert not re.search(r"^\s*(from|import)\s+instructor\b", text, re.M), path
        if path.suffix == ".ipynb":
            cells = {squash("".join(c["source"]) if isinstance(c["source"], list) else c["source"])
                     for c in json.loads(path.read_text())["cells"]}
            assert not worked & cells, f"{path.name} holds worked lesson solutions"
            if path.parent.name == "notebooks":
                assert path.name in {p.name for p in (ROOT / "notebooks").glob("*.ipynb")}
    with zipfile.ZipFile(archive) as zf:
        zipped = sorted(zf.namelist())
    assert archive.name == ZIP_NAME
    assert zipped == sorted(f"{ZIP_FOLDER}/{n.as_posix()}" for n in names)
    assert solutions and worked  # the checks above had worked solutions to look for


def test_helpers_define_no_assignment_api(edition):
    _, stage, _ = edition
    api = set()
    for assignment in ASSIGNMENTS:
        nb = nbformat.read(str(SOURCE / assignment / f"{assignment}.ipynb"), 4)
        for cell in nb.cells:
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
                tree = ast.parse(cell.source)
                api |= {n.name for n in tree.body
                        if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    assert api, "no functions or classes in the assignments' solution cells"
    for path in (stage / "helpers").rglob("*.py"):
        tree = ast.parse(path.read_text())
        defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)}
        defined |= {t.id for n in ast.walk(tree) if isinstance(n, ast.Assign)
                    for t in n.targets if isinstance(t, ast.Name)}
        assert not defined & api, f"helpers/{path.name} defines {sorted(defined & api)}"


def test_edition_installs_and_has_make_lab(edition):
    _, stage, _ = edition
    main = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = tomllib.loads((stage / "pyproject.toml").read_text())
    assert project["build-system"] == main["build-system"]
    assert project["project"]["dependencies"] == main["project"]["dependencies"]
    assert project["project"]["requires-python"] == main["project"]["requires-python"]
    assert project["tool"]["setuptools"]["packages"] == ["helpers"]
    assert (stage / project["project"]["readme"]).is_file()
    assert (stage / "helpers" / "__init__.py").is_file()

    env = (stage / "environment.yml").read_text()
    for dep in main["project"]["dependencies"]:
        assert f"  - {dep}\n" in env, dep
    assert "- -e ." in env

    makefile = (stage / "Makefile").read_text()
    for target in ("lab", "validate"):
        assert re.search(rf"^{target}:", makefile, re.M), target
    dry = subprocess.run(["make", "-n", "-C", str(stage), "lab"], capture_output=True, text=True)
    assert dry.returncode == 0 and "jupyter lab" in dry.stdout, dry.stderr
    dry = subprocess.run(["make", "-n", "-C", str(stage), "validate", "A=a1_fully_connected"],
                         capture_output=True, text=True)
    assert dry.returncode == 0 and "validate.py" in dry.stdout, dry.stderr
    assert ".venv/" in (stage / ".gitignore").read_text()


def test_student_readme_lists_the_course_and_how_to_submit(edition):
    _, stage, _ = edition
    readme = (stage / "README.md").read_text()
    assert "{{" not in readme
    for lesson in (stage / "notebooks").glob("*.ipynb"):
        assert f"notebooks/{lesson.name}" in readme
    for assignment in ASSIGNMENTS:
        assert f"assignments/{assignment}/{assignment}.ipynb" in readme
    for phrase in ("make lab", "make validate", "Restart", "Upload"):
        assert phrase in readme, phrase


def test_edition_carries_the_graders_limits(edition):
    root, stage, _ = edition
    from instructor.grading.config import config_limits, course_config

    limits = config_limits(course_config(root))
    carried = json.loads((stage / "grader.json").read_text())
    assert carried == {"cell_timeout": limits.cell_timeout, "total_timeout": limits.total_timeout,
                       "memory_mb": limits.memory_mb, "threads": 1}
    from traitlets.config import PyFileConfigLoader

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(stage)).load_config()
    assert cfg.Execute.timeout == limits.cell_timeout  # JupyterLab's Validate button


def test_edition_lab_hides_instructor_tools(edition):
    _, stage, _ = edition
    page = json.loads((stage / "jupyter" / "labconfig" / "page_config.json").read_text())
    hidden = {k for k, v in page["disabledExtensions"].items() if v}
    assert {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
            "@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:course-list"} <= hidden
    assert "@jupyter/nbgrader:validate-assignment" not in hidden
    server = json.loads((stage / "jupyter" / "jupyter_server_config.json").read_text())
    extensions = server["ServerApp"]["jpserver_extensions"]
    assert extensions["nbgrader.server_extensions.formgrader"] is False
    assert extensions["nbgrader.server_extensions.validate_assignment"] is True
    dry = subprocess.run(["make", "-n", "-C", str(stage), "lab"], capture_output=True, text=True)
    assert "JUPYTER_CONFIG_PATH=" in dry.stdout


def tiny_notebook(solution: str, answer: str, test: str = "assert f() == 1, 'f() must be 1'"):
    """A student notebook with one solution cell, one visible test and one written answer."""
    nb = nbformat.v4.new_notebook()
    meta = lambda **kw: {"nbgrader": {"schema_version": 3, "locked": False, **kw}}  # noqa: E731
    nb.cells = [
        nbformat.v4.new_code_cell(solution, metadata=meta(grade=False, solution=True,
                                                          grade_id="f_impl")),
        nbformat.v4.new_code_cell(test, metadata=meta(grade=True, solution=False, points=1,
                                                      grade_id="test_f", locked=True)),
        nbformat.v4.new_markdown_cell(answer, metadata=meta(grade=True, solution=True, points=1,
                                                            grade_id="q_why")),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def run_validate(stage, tmp_path, nb, limits=None):
    copy = tmp_path / "edition"
    if not copy.exists():
        shutil.copytree(stage, copy, ignore=shutil.ignore_patterns("notebooks"))
    if limits:
        carried = json.loads((copy / "grader.json").read_text())
        (copy / "grader.json").write_text(json.dumps({**carried, **limits}))
    path = copy / "assignments" / "tiny" / "tiny.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    import sys

    done = subprocess.run([sys.executable, "validate.py", str(path)], cwd=copy,
                          capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout + done.stderr


def test_validate_passes_exactly_when_visible_tests_pass_and_answers_are_there(edition, tmp_path):
    _, stage, _ = edition
    code, said = run_validate(stage, tmp_path, tiny_notebook("def f():\n    return 1", "Because."))
    assert code == 0, said
    assert "passed" in said and "cannot be converted to a float" not in said
    code, said = run_validate(stage, tmp_path, tiny_notebook("def f():\n    return 2", "Because."))
    assert code == 1 and "cell 2 (test_f) failed: AssertionError: f() must be 1" in said, said
    code, said = run_validate(stage, tmp_path, tiny_notebook("def f():\n    return 1",
                                                             "YOUR ANSWER HERE"))
    assert code == 1 and "cell 3 (q_why): written answer missing" in said, said


def test_validate_names_the_cell_that_ran_out_of_time_and_uses_one_blas_thread(edition, tmp_path):
    _, stage, _ = edition
    slow = "import os, time\nprint(os.environ['OMP_NUM_THREADS'])\ndef f():\n    return 1\n"
    code, said = run_validate(stage, tmp_path, tiny_notebook(slow, "Because.",
                                                             test="time.sleep(30)"),
                              limits={"cell_timeout": 3})
    assert code == 1, said
    assert "cell 2 (test_f): time limit of 3 s exceeded" in said, said
    nb = tiny_notebook("import os\nassert os.environ['OMP_NUM_THREADS'] == '1'\n"
                       "import resource\nassert resource.getrlimit(resource.RLIMIT_AS)[0] == "
                       "512 * 1024 * 1024\ndef f():\n    return 1", "Because.")
    code, said = run_validate(stage, tmp_path, nb, limits={"memory_mb": 512, "cell_timeout": 60})
    assert code == 0, said


IN_PLACE = """
import numpy as np

class Scaler:
    def scale(self, x):
        x *= 2  # changes the caller's array
        return x

def double(x):
    x *= 2
    return x

def twice(x):
    return double(x.copy())  # its own call to its own function: allowed
"""


@pytest.mark.parametrize("test, verdict", [
    ("x = np.ones(3)\nassert double(x)[0] == 2", "double modified its input x in place"),
    ("x = np.ones(3)\nassert Scaler().scale(x)[0] == 2", "scale modified its input x in place"),
    ("x = np.ones(3)\nassert twice(x)[0] == 2 and x[0] == 1", None),
    ("x = np.ones(3)\ndouble(x)\nassert x[0] == 1, 'x is untouched, as in the grader'",
     "double modified its input x in place"),
], ids=["function", "method", "own-call", "copies"])
def test_validate_calls_functions_on_copies_and_names_an_input_changed_in_place(
        edition, tmp_path, test, verdict):
    """As the grader does: the function gets copies, and a change to one fails the test."""
    _, stage, _ = edition
    code, said = run_validate(stage, tmp_path, tiny_notebook(IN_PLACE + "\ndef f():\n    return 1",
                                                             "Because.", test=test))
    if verdict is None:
        assert code == 0, said
    else:
        assert code == 1 and f"cell 2 (test_f) failed: AssertionError: {verdict}; work on a new " \
                             "array instead" in said, said
