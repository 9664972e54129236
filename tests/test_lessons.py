"""Lessons: Run All reaches the end, checks say "not yet" until solved, solutions fit."""

import ast
import re

import nbformat
import pytest

from helpers.checks import NOT_YET
from instructor.lessons import (
    LESSONS,
    exercise_ids,
    lesson_paths,
    solutions_path,
    tagged,
    tags,
    with_solutions,
)
from instructor.notebooks import execute, read
from instructor.paths import ROOT

LESSON_PATHS = lesson_paths()
IDS = [p.stem for p in LESSON_PATHS]

# Functions and classes the assignments ask students to write (plan: "Assignment APIs").
ASSIGNMENT_NAMES = {
    "affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss",
    "TwoLayerNet", "conv_output_size", "conv_forward_naive", "conv_backward_naive",
    "max_pool_forward_naive", "max_pool_backward_naive", "conv_forward_fast",
    "conv_backward_fast", "ConvNet", "receptive_field",
}  # fmt: skip

LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_there_are_lessons():
    assert len(LESSON_PATHS) >= 2, f"expected the course's lessons in {LESSONS}; found {IDS}"


def _errors(nb):
    """(cell index, ename, evalue) of every error output, in order."""
    return [
        (i, out.get("ename", ""), out.get("evalue", ""))
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]


def _stderr(nb):
    """(cell id, text) of every stderr stream output (warnings, mostly)."""
    return [
        (cell.get("id"), out.get("text", "")[:300])
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "stream" and out.get("name") == "stderr"
    ]


def _stdout(cell):
    """Everything a code cell printed to stdout."""
    return "".join(out.get("text", "") for out in cell.get("outputs", [])
                   if out.get("output_type") == "stream" and out.get("name") == "stdout")


def _verdicts(nb):
    """{check cell id: the hint after "Not yet:", or None when the check passed}."""
    found = {}
    for cell in nb.cells:
        if "check" in tags(cell):
            lines = [line for line in _stdout(cell).splitlines() if line.startswith(NOT_YET)]
            found[cell.get("id")] = lines[0][len(NOT_YET):].strip() if lines else None
    return found


@pytest.mark.parametrize("path", LESSON_PATHS, ids=IDS)
def test_lesson_runs_all_unsolved_and_every_check_says_not_yet_with_a_hint(path):
    nb = execute(read(path), cwd=LESSONS)
    errors = [(nb.cells[i].get("id"), name, value[:300]) for i, name, value in _errors(nb)]
    assert not errors, f"{path.name} unsolved: Run All must reach the end; cells raised {errors}"
    verdicts = _verdicts(nb)
    silent = [cell_id for cell_id, hint in verdicts.items() if hint is None]
    assert not silent, f"{path.name}: check cells {silent} do not say '{NOT_YET}' unsolved"
    vague = [cell_id for cell_id, hint in verdicts.items() if hint is not None and len(hint) < 20]
    assert not vague, f"{path.name}: check cells {vague} say '{NOT_YET}' without a helpful hint"
    stray = [cell.get("id") for cell in nb.cells
             if "check" not in tags(cell) and NOT_YET in _stdout(cell)]  # fmt: skip
    assert not stray, f"{path.name}: cells {stray} that are not checks print '{NOT_YET}'"
    assert not _stderr(nb), f"{path.name}: cells wrote to stderr: {_stderr(nb)}"


@pytest.mark.parametrize("path", LESSON_PATHS, ids=IDS)
def test_lesson_with_its_solutions_runs_without_error_and_every_check_passes(path):
    merged = with_solutions(read(path), read(solutions_path(path)))
    nb = execute(merged, cwd=LESSONS)
    errors = [(nb.cells[i].get("id"), name, value[:300]) for i, name, value in _errors(nb)]
    assert not errors, f"{path.name} with solutions: cells raised {errors}"
    failed = {cell_id: hint for cell_id, hint in _verdicts(nb).items() if hint is not None}
    assert not failed, f"{path.name} with solutions: checks say not yet: {failed}"
    assert not _stderr(nb), f"{path.name} with solutions: cells wrote to stderr: {_stderr(nb)}"


def _headings(nb):
    """(cell index, heading text) of every markdown heading."""
    return [
        (i, line.lstrip("#").strip())
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if line.startswith("#")
    ]


@pytest.mark.parametrize("path", LESSON_PATHS, ids=IDS)
def test_lesson_opens_with_objectives_and_closes_with_summary_and_exercises(path):
    nb = read(path)
    nbformat.validate(nb)
    heads = _headings(nb)
    first_code = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code")
    assert any(i < first_code and "what you will be able to do" in h.lower() for i, h in heads), (
        f"{path.name} must open (before any code) with a 'What you will be able to do' section"
    )
    summary = [i for i, h in heads if h.lower().startswith("summary")]
    assert summary, f"{path.name} needs a '## Summary' section"
    exercises = [i for i, cell in enumerate(nb.cells) if "exercise" in tags(cell)]
    assert 2 <= len(exercises) <= 4, f"{path.name} has {len(exercises)} exercises; expected 2-4"
    assert min(exercises) > summary[-1], f"{path.name}: exercises must come after the Summary"
    assert any(i >= summary[-1] and "try it" in h.lower() for i, h in heads), (
        f"{path.name}: after the Summary, a 'Try it' heading should introduce the exercises"
    )


@pytest.mark.parametrize("path", LESSON_PATHS, ids=IDS)
def test_every_exercise_has_a_check_right_after_and_a_solution_with_its_id(path):
    nb = read(path)
    for i, cell in enumerate(nb.cells):
        if "exercise" not in tags(cell):
            continue
        assert cell.cell_type == "code", f"{path.name}: exercise {cell.get('id')} is not code"
        after = nb.cells[i + 1] if i + 1 < len(nb.cells) else None
        assert after is not None and "check" in tags(after) and after.cell_type == "code", (
            f"{path.name}: exercise {cell.get('id')} must be followed by a code cell tagged 'check'"
        )
        assert "assert" in after.source, f"{path.name}: check after {cell.get('id')} never asserts"
        assert f'with check("{after.get("id")}")' in after.source, (
            f"{path.name}: check {after.get('id')} must run its asserts inside "
            f'`with check("{after.get("id")}"):` (helpers.checks), so that Run All goes on'
        )
    assert len(tagged(nb, "check")) == len(tagged(nb, "exercise")), (
        f"{path.name}: {len(tagged(nb, 'check'))} check cells for "
        f"{len(tagged(nb, 'exercise'))} exercises; expected one each"
    )
    solutions = read(solutions_path(path))
    nbformat.validate(solutions)
    answers = [cell.get("id") for cell in tagged(solutions, "solution")]
    assert answers == exercise_ids(nb), (
        f"solutions/{path.name} solution ids {answers} must match the exercises {exercise_ids(nb)}"
    )
    stray = [
        c.get("id") for c in solutions.cells if c.cell_type == "code" and "solution" not in tags(c)
    ]
    assert not stray, (
        f"solutions/{path.name}: code cells {stray} are not tagged 'solution', so they never reach "
        "the lesson; merge them into a solution cell or make them markdown"
    )
    unexplained = [cell.get("id") for i, cell in enumerate(solutions.cells)
                   if "solution" in tags(cell)
                   and (i == 0 or solutions.cells[i - 1].cell_type != "markdown")]  # fmt: skip
    assert not unexplained, (
        f"solutions/{path.name}: solutions {unexplained} need a markdown explanation before them"
    )


@pytest.mark.parametrize("path", LESSON_PATHS, ids=IDS)
def test_lesson_links_to_the_next_one_and_its_links_resolve(path):
    nb = read(path)
    links = [link for cell in nb.cells if cell.cell_type == "markdown"
             for link in LINK.findall(cell.source)]  # fmt: skip
    index = LESSON_PATHS.index(path)
    if index + 1 < len(LESSON_PATHS):
        wanted = LESSON_PATHS[index + 1].name
        assert wanted in links, f"{path.name} must link to the next lesson, {wanted}"
    else:
        assert any(link.endswith("README.md") or "a1_fully_connected" in link for link in links), (
            f"{path.name} is the last lesson: it must link back to the course README "
            "or to the first assignment"
        )
    local = [link.split("#")[0] for link in links if not re.match(r"^[a-z]+:|^#", link)]
    broken = [link for link in local if link and not (path.parent / link).exists()]
    assert not broken, f"{path.name} links to files that do not exist: {broken}"


def _definitions(source):
    """Names a cell defines at any depth: functions, classes and assigned names."""
    code = "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
    )
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
    return names


@pytest.mark.parametrize("path", LESSON_PATHS, ids=IDS)
def test_lesson_does_not_give_away_the_assignments(path):
    merged = with_solutions(read(path), read(solutions_path(path)))
    found = {}
    for cell in merged.cells:
        if cell.cell_type == "code":
            for name in _definitions(cell.source) & ASSIGNMENT_NAMES:
                found.setdefault(name, []).append(cell.get("id"))
    assert not found, f"{path.name} (with solutions) defines assignment functions: {found}"


# with_solutions, on small hand-made notebooks


def _cell(kind, source, cell_id, tag=None):
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    cell.id = cell_id
    if tag:
        cell.metadata["tags"] = [tag]
    return cell


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def _lesson():
    return _nb(
        _cell("markdown", "# Lesson", "title"),
        _cell("code", "n = None  # your code", "ex-n", "exercise"),
        _cell("code", "assert n == 3, 'n should be 3'", "check-n", "check"),
        _cell("code", "m = None  # your code", "ex-m", "exercise"),
        _cell("code", "assert m == 4, 'm should be 4'", "check-m", "check"),
    )


def test_with_solutions_replaces_each_exercise_by_its_solution_and_nothing_else():
    lesson = _lesson()
    solutions = _nb(
        _cell("markdown", "Four.", "why-m"),
        _cell("code", "m = 4", "ex-m", "solution"),
        _cell("markdown", "Three.", "why-n"),
        _cell("code", "n = 3", "ex-n", "solution"),
    )
    merged = with_solutions(lesson, solutions)
    assert [c.source for c in merged.cells] == [
        "# Lesson", "n = 3", "assert n == 3, 'n should be 3'", "m = 4",
        "assert m == 4, 'm should be 4'",
    ]  # fmt: skip
    assert [c.id for c in merged.cells] == [c.id for c in lesson.cells]
    assert lesson.cells[1].source == "n = None  # your code", "the lesson itself must not change"


def test_with_solutions_reads_paths(tmp_path):
    nbformat.write(_lesson(), tmp_path / "01_x.ipynb")
    solutions = _nb(
        _cell("code", "n = 3", "ex-n", "solution"), _cell("code", "m = 4", "ex-m", "solution")
    )
    nbformat.write(solutions, tmp_path / "sol.ipynb")
    merged = with_solutions(tmp_path / "01_x.ipynb", str(tmp_path / "sol.ipynb"))
    assert merged.cells[3].source == "m = 4"


@pytest.mark.parametrize(
    "answers, message",
    [
        ([("n = 3", "ex-n")], r"without a solution: \['ex-m'\]"),
        (
            [("n = 3", "ex-n"), ("m = 4", "ex-m"), ("k = 5", "ex-k")],
            r"without an exercise: \['ex-k'\]",
        ),
        ([("n = 3", "ex-n"), ("m = 4", "ex-M")], r"\['ex-m'\].*\['ex-M'\]"),
        ([("n = 3", "ex-n"), ("n = 3", "ex-n"), ("m = 4", "ex-m")], r"unique.*\['ex-n'\]"),
    ],
)
def test_with_solutions_rejects_ids_that_do_not_match(answers, message):
    solutions = _nb(*[_cell("code", src, cell_id, "solution") for src, cell_id in answers])
    with pytest.raises(ValueError, match=message):
        with_solutions(_lesson(), solutions)


def test_with_solutions_rejects_a_solution_in_markdown():
    solutions = _nb(
        _cell("code", "n = 3", "ex-n", "solution"), _cell("markdown", "m = 4", "ex-m", "solution")
    )
    with pytest.raises(ValueError, match=r"code cells.*\['ex-m'\]"):
        with_solutions(_lesson(), solutions)


def test_with_solutions_rejects_what_is_not_a_notebook():
    with pytest.raises(TypeError, match="solutions_nb must be a notebook"):
        with_solutions(_lesson(), 42)
    with pytest.raises(TypeError, match="lesson_nb must be a notebook"):
        with_solutions({"cells": "none"}, _lesson())


def test_lesson_paths_names_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        lesson_paths(tmp_path / "nowhere")
    (tmp_path / "02_b.ipynb").write_text("{}")
    (tmp_path / "01_a.ipynb").write_text("{}")
    (tmp_path / "notes.ipynb").write_text("{}")
    assert [p.name for p in lesson_paths(tmp_path)] == ["01_a.ipynb", "02_b.ipynb"]


def test_lesson_paths_are_in_course_order_and_each_has_solutions():
    names = [p.name for p in LESSON_PATHS]
    assert names == sorted(names)
    numbers = [int(name[:2]) for name in names]
    assert numbers == list(range(1, len(names) + 1)), (
        f"lessons must be numbered 01, 02, ...: {names}"
    )
    missing = [n for n in names if not (ROOT / "solutions" / n).is_file()]
    assert not missing, f"lessons without a solutions/ notebook: {missing}"
    with pytest.raises(ValueError, match="lesson_path must name a lesson"):
        solutions_path("notes.ipynb")
