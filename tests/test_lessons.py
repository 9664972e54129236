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
from instructor.notebooks import bounded_client, execute, kernel_environment, read
from instructor.paths import ROOT, SOURCE, assignment_ids
from instructor.reference import api

LESSON_PATHS = lesson_paths()
IDS = [p.stem for p in LESSON_PATHS]

# Functions and classes the assignments ask students to write, read from their solution cells.
ASSIGNMENT_NAMES = {name for assignment in assignment_ids() for name in api(assignment)}

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


# Each check against answers it must reject (with a fragment its hint must contain, or None) and
# other right answers it must accept. The answer replaces the exercise cell before the check, run
# in the kernel of the lesson with its solutions.
ANSWERS = {
    "01_fully_connected": {
        "check-param-count": (
            [("n_params = 3 * 64 * 48 * 200", "add one bias"),
             ("n_params = 64 * 48 * 200 + 200", "M * D + M"),
             ("n_params = 3 * 64 * 48 + 200", "M * D + M")],
            ["n_params = 200 * (3 * 64 * 48 + 1)", "n_params = np.int64(1843400)"],
        ),
        "check-unshuffle": (
            [("unshuffle = perm_photo", "perm_photo[k] == i"),
             ("unshuffle = np.argsort(perm_photo).astype(float)", "integer"),
             ("unshuffle = np.argsort(perm_photo)[:100]", "shape")],
            ["unshuffle = np.argsort(perm_photo)",
             "unshuffle = np.empty(D, dtype=int)\nunshuffle[perm_photo] = np.arange(D)"],
        ),
        "check-shift": (
            [("X_test_shifted = np.roll(X_test, 1)\n"
              "acc_shifted = np.mean(predict(flat(X_test_shifted), w_orig, b_orig) == y_test)",
              "axis=-1"),
             ("X_test_shifted = np.roll(X_test, 1, axis=-2)\n"
              "acc_shifted = np.mean(predict(flat(X_test_shifted), w_orig, b_orig) == y_test)",
              "down"),
             ("X_test_shifted = np.roll(X_test, -1, axis=-1)\n"
              "acc_shifted = np.mean(predict(flat(X_test_shifted), w_orig, b_orig) == y_test)",
              "left"),
             ("X_test_shifted = np.roll(X_test, 1, axis=-1)\nacc_shifted = acc_orig",
              "acc_shifted"),
             ("X_test_shifted = np.roll(X_test, 1, axis=-1)\nacc_shifted = None", "acc_shifted")],
            ["X_test_shifted = np.roll(X_test, 1, axis=3)\n"
             "acc_shifted = float(np.mean(predict(flat(X_test_shifted), w_orig, b_orig) == y_test"
             "))",
             "X_test_shifted = np.concatenate([X_test[..., -1:], X_test[..., :-1]], axis=-1)\n"
             "acc_shifted = np.mean(predict(flat(X_test_shifted), w_orig, b_orig) == y_test)"],
        ),
    },
    "02_convolution": {
        "check-output-shape": (
            [("out_shape = (10, 64 - 7, 48 - 7)", "H - HH + 1"),
             ("out_shape = (3, 58, 42)", "one map per filter"),
             ("out_shape = (58, 42, 10)", "(F, H', W')"),
             ("out_shape = (10, 58)", "three numbers")],
            ["out_shape = (10, 58, 42)", "out_shape = np.array([10, 58, 42])"],
        ),
        "check-edge-filter": (
            [("w_edge = -np.stack([np.array([[1.0] * 3, [0.0] * 3, [-1.0] * 3])] * 3) / 9",
              "positively"),
             ("w_edge = np.stack([np.array([[1.0] * 3, [-2.0] * 3, [1.0] * 3])] * 3) / 9",
              "opposite edge"),
             ("w_edge = np.stack([np.array([[-1.0, 0.0, 1.0]] * 3)] * 3) / 9", "positively"),
             ("p = np.array([[1.0] * 3, [0.0] * 3, [-1.0] * 3])\n"
              "w_edge = np.stack([p + 0.1, p, p - 0.1])", "each channel"),
             ("w_edge = np.stack([np.array([[1.0] * 3, [0.0] * 3, [0.0] * 3])] * 3)", "flat grey"),
             ("p = np.array([[1.0] * 3, [0.0] * 3, [-1.0] * 3])\n"
              "w_edge = np.stack([p + np.array([[-1.0, 0.0, 1.0]] * 3)] * 3)", "vertical edges"),
             ("w_edge = np.ones((3, 3))", "shape")],
            ["w_edge = np.stack([np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]])] * 3) / 12.0",
             "w_edge = np.zeros((3, 3, 3))\nw_edge[1] = [[1, 1, 1], [0, 0, 0], [-1, -1, -1]]",
             "w_edge = [[[1, 1, 1], [-1, -1, -1], [0, 0, 0]]] * 3"],
        ),
        "check-flip": (
            [("k_dl = k_sp[::-1]", "left to right"), ("k_dl = k_sp[:, ::-1]", "upside down"),
             ("k_dl = k_sp", "flips"), ("k_dl = k_sp.T", "shape")],
            ["k_dl = np.flip(k_sp)", "k_dl = np.rot90(k_sp, 2)"],
        ),
    },
    "03_stride_and_padding": {
        "check-output-sizes": (
            [("size_a = round((32 - 5 + 4) / 1 + 1)\nsize_b = round((8 - 3 + 2) / 2 + 1)\n"
              "size_c = round((28 - 5 + 0) / 3 + 1)", "round"),
             ("size_a, size_b, size_c = [int(np.ceil((N - F + 2 * P) / S)) + 1 for N, F, S, P in "
              "[(32, 5, 1, 2), (8, 3, 2, 1), (28, 5, 3, 0)]]", "rounded down"),
             ("size_a = (32 - 5 + 4) / 1 + 1\nsize_b = (8 - 3 + 2) // 2 + 1\n"
              "size_c = (28 - 5) // 3 + 1", "int"),
             ("size_a = (32 - 5) // 1 + 1\nsize_b = (8 - 3) // 2 + 1\nsize_c = (28 - 5) // 3 + 1",
              "size_a"),
             ("size_a = 32\nsize_b = 4\nsize_c = None", "size_c")],
            ["size_a, size_b, size_c = [int(np.floor((N - F + 2 * P) / S)) + 1 for N, F, S, P in "
             "[(32, 5, 1, 2), (8, 3, 2, 1), (28, 5, 3, 0)]]",
             "size_a, size_b, size_c = np.int64(32), 4, 8"],
        ),
        "check-same-padding": (
            [("same_pads = [(F - 1) / 2 for F in filter_sizes]", "(F - 1) // 2"),
             ("same_pads = [F // 2 + 1 for F in filter_sizes]", "solve"),
             ("same_pads = [F - 1 for F in filter_sizes]", "solve"),
             ("same_pads = [0, 1, 2, 3]", "5 paddings"),
             ("same_pads = [0, 1, 2, 3, -4]", "negative")],
            ["same_pads = [int((F - 1) / 2) for F in filter_sizes]",
             "same_pads = list(np.arange(5))"],
        ),
        "check-ignored-pixels": (
            [("n_ignored = 11\npad_to_cover = 1", "n_ignored"),
             ("n_ignored = 22\npad_to_cover = 1", "n_ignored"),
             ("n_ignored = 21\npad_to_cover = 2", "smaller padding"),
             ("n_ignored = 21\npad_to_cover = 0", "still never visited"),
             ("n_ignored = 21\npad_to_cover = 1.0", "int")],
            ["n_ignored = 121 - 10 * 10\npad_to_cover = 1"],
        ),
    },
}


def _run_answers(path, answers):
    """Run the lesson with its solutions, then each (check id, answer source) in the same kernel.

    Returns (executed notebook, [the check's hint after "Not yet:", or None, per answer]).
    """
    nb = nbformat.from_dict(with_solutions(read(path), read(solutions_path(path))))
    by_id = {cell.get("id"): i for i, cell in enumerate(nb.cells)}
    client = bounded_client(nb, LESSONS)  # 120 s a cell, 300 s in all, each failing loudly
    found = []
    with client.setup_kernel(env=kernel_environment()):
        for i, cell in enumerate(nb.cells):
            client.execute_cell(cell, i)
        for check_id, source in answers:
            answer = nbformat.v4.new_code_cell(source)
            probe = nbformat.v4.new_code_cell(nb.cells[by_id[check_id]].source)
            probe.metadata["tags"] = ["check"]
            nb.cells += [answer, probe]
            client.execute_cell(answer, len(nb.cells) - 2)
            client.execute_cell(probe, len(nb.cells) - 1)
            raised = [o for o in answer.outputs + probe.outputs if o.output_type == "error"]
            assert not raised, f"{check_id}, answer {source!r}: raised {raised[0].get('evalue')!r}"
            probe.id = check_id
            found.append(_verdicts(nbformat.v4.new_notebook(cells=[probe]))[check_id])
    return nb, found


@pytest.mark.parametrize("stem", sorted(ANSWERS))
def test_checks_reject_wrong_answers_with_their_hint_and_accept_right_ones(stem):
    path = LESSONS / f"{stem}.ipynb"
    nb = read(path)
    checks = {cell.get("id") for cell in tagged(nb, "check")}
    assert set(ANSWERS[stem]) == checks, f"{stem}: catalogue {sorted(ANSWERS[stem])} != {checks}"
    cases = [(check_id, source, hint, wrong)
             for check_id, (wrongs, rights) in ANSWERS[stem].items()
             for (source, hint), wrong in [*((w, True) for w in wrongs),
                                           *(((r, None), False) for r in rights)]]  # fmt: skip
    _, verdicts = _run_answers(path, [(check_id, source) for check_id, source, _, _ in cases])
    for (check_id, source, hint, wrong), verdict in zip(cases, verdicts, strict=True):
        if wrong:
            assert verdict is not None, f"{check_id} accepts the wrong answer {source!r}"
            assert hint is None or hint in verdict, (
                f"{check_id} rejects {source!r}, but its hint {verdict!r} does not say {hint!r}"
            )
        else:
            assert verdict is None, f"{check_id} rejects the right answer {source!r}: {verdict}"


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


def _functions(source):
    """{name: signature} of the functions a cell defines outside any function or class."""
    code = "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
    )
    found = {}

    def visit(nodes):
        for node in nodes:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found[node.name] = ast.unparse(node.args)
            elif not isinstance(node, ast.ClassDef):
                for field in ("body", "orelse", "finalbody", "handlers"):
                    visit(getattr(node, field, None) or [])

    visit(ast.parse(code).body)
    return found


def _signatures():
    """{function name: {signature: [where defined]}} over the lessons (solved) and assignments."""
    sources = [(p.stem, with_solutions(read(p), read(solutions_path(p)))) for p in LESSON_PATHS]
    sources += [(p.parent.name, read(p)) for p in sorted(SOURCE.glob("*/*.ipynb"))]
    found = {}
    for where, nb in sources:
        for cell in nb.cells:
            if cell.cell_type == "code":
                for name, signature in _functions(cell.source).items():
                    found.setdefault(name, {}).setdefault(signature, []).append(where)
    return found


def test_a_name_defined_twice_in_the_course_keeps_its_signature():
    found = _signatures()
    assert "slide_window" in found and "conv_forward_naive" in found, "no functions found"
    differ = {name: sigs for name, sigs in found.items() if len(sigs) > 1}
    assert not differ, f"functions defined with different signatures across the course: {differ}"


# A lesson function on images x, filters w and biases b takes its geometry as the assignments'
# layers do, conv_param = {"stride": ..., "pad": ...}.


@pytest.mark.parametrize("path", LESSON_PATHS, ids=IDS)
def test_lesson_layers_use_the_assignments_argument_names(path):
    nb = read(path)
    wrong = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for name, signature in _functions(cell.source).items():
            args = [a.split("=")[0].strip() for a in signature.split(",")]
            if args[:3] == ["x", "w", "b"] and args[3:] not in ([], ["conv_param"]):
                wrong[name] = signature
            for old, new in (("kernel", "w"), ("image", "x"), ("weights", "w")):
                if old in args and {"x", "w", "b"} & set(args):
                    wrong[name] = f"{signature} (name {old!r} as {new!r})"
    assert not wrong, (
        f"{path.name}: functions on x, w, b must take (x, w, b) or (x, w, b, conv_param), "
        f"conv_param = {{'stride': S, 'pad': P}}, like the assignments' layers: {wrong}"
    )


@pytest.mark.parametrize("path", LESSON_PATHS, ids=IDS)
def test_lesson_imports_at_the_top(path):
    nb = read(path)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    late = [
        cell.get("id")
        for cell in code[1:]
        for node in ast.walk(ast.parse(cell.source))
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    assert not late, f"{path.name}: cells {sorted(set(late))} import; import in the first code cell"


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
