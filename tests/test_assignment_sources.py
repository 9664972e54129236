"""The assignment sources: they run, their tests are well formed, and the mutant
catalogue covers every test cell (tests/test_pipeline.py grades each mutant with the real grader
and checks that it fails exactly its listed cells)."""

import ast
import importlib

import pytest

from instructor.cells import (
    grade_id,
    is_solution_cell,
    is_test_cell,
    nbgrader_meta,
    strip_hidden_tests,
)
from instructor.notebooks import errored_cells, execute, read
from instructor.paths import assignment_ids, source_path
from instructor.reference import api, load_reference
from tests.mutants import apply

ASSIGNMENTS = assignment_ids()


@pytest.fixture(autouse=True)
def one_blas_thread(monkeypatch):
    """Kernels use one BLAS thread, as in the grader: timing checks stay stable on shared cores."""
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def mutants(assignment_id):
    return importlib.import_module(f"tests.mutants.{assignment_id}").MUTANTS


def source(assignment_id):
    return read(source_path(assignment_id))


def graded_test_ids(nb):
    return [grade_id(c) for c in nb.cells if is_test_cell(c)]


def failed_tests(nb, assignment_id):
    """Execute nb in the assignment's folder; the grade_ids of the test cells that raised."""
    executed = execute(nb, cwd=source_path(assignment_id).parent)
    return set(errored_cells(executed)) & set(graded_test_ids(nb)), executed


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_source_with_reference_solutions_passes_every_cell(assignment_id):
    nb = source(assignment_id)
    executed = execute(nb, cwd=source_path(assignment_id).parent)
    assert errored_cells(executed) == {}, f"{assignment_id}: cells raised {errored_cells(executed)}"
    noisy = [
        grade_id(cell)
        for cell in executed.cells
        if cell.cell_type == "code"
        and any(out.get("name") == "stderr" for out in cell.get("outputs", []))
    ]
    assert not noisy, f"{assignment_id}: cells {noisy} write to stderr on the reference"


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_graded_cells_have_points_and_unique_ids(assignment_id):
    nb = source(assignment_id)
    ids = [grade_id(c) for c in nb.cells if nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), f"{assignment_id}: duplicate grade_ids in {ids}"
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if not meta:
            continue
        assert meta.get("schema_version") == 3, f"{grade_id(cell)}: schema_version must be 3"
        if meta.get("grade"):
            assert meta.get("points", 0) > 0, f"{grade_id(cell)} is graded but has no points"
        if is_test_cell(cell):
            assert meta.get("locked"), f"{grade_id(cell)}: test cells must be locked"
        if is_solution_cell(cell) and cell.cell_type == "code":
            assert "### BEGIN SOLUTION" in cell.source, f"{grade_id(cell)}: no solution region"
    assert graded_test_ids(nb), f"{assignment_id} has no test cells"
    manual = [c for c in nb.cells if is_solution_cell(c) and nbgrader_meta(c).get("grade")]
    assert all(c.cell_type == "markdown" for c in manual), "manually graded cells are markdown"


def _calls_a_judging_check(node) -> bool:
    """A call of one of the check_* helpers of instructor.judging or cost_checks (they assert)."""
    import instructor.cost_checks
    import instructor.judging

    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id.startswith("check_")
            and any(hasattr(m, node.func.id) for m in (instructor.judging, instructor.cost_checks)))


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_hidden_test_blocks_are_well_formed(assignment_id):
    for cell in source(assignment_id).cells:
        if not is_test_cell(cell):
            assert "HIDDEN TESTS" not in cell.source, f"hidden tests outside a test cell: {cell.id}"
            continue
        name = grade_id(cell)
        lines = cell.source.splitlines()
        begins = [i for i, line in enumerate(lines) if line.strip() == "### BEGIN HIDDEN TESTS"]
        ends = [i for i, line in enumerate(lines) if line.strip() == "### END HIDDEN TESTS"]
        assert len(begins) == len(ends) == 1, f"{name}: needs one BEGIN and one END marker"
        assert begins[0] < ends[0], f"{name}: END HIDDEN TESTS comes before BEGIN"
        visible = strip_hidden_tests(cell.source)
        assert "HIDDEN TESTS" not in visible, f"{name}: a marker survives stripping"
        assert "instructor" not in visible, f"{name}: visible tests must not use the reference"
        hidden = "\n".join(lines[begins[0] + 1 : ends[0]])
        for part, code in (("visible", visible), ("hidden", hidden)):
            checks = [n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Assert | ast.Raise)
                      or part == "hidden" and _calls_a_judging_check(n)]
            assert checks, f"{name}: the {part} part checks nothing"
        imported = {
            alias.asname or alias.name
            for node in ast.walk(ast.parse(visible))
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        if "np." in visible:
            assert "np" in imported, f"{name}: a test cell imports what it uses (numpy as np)"
        fixed = _fixed_seeds(hidden)
        assert not fixed, (
            f"{name}: hidden inputs come from instructor.judging.rng (the course secret and the "
            f"student), not from a seed a student can read in a resubmission: {fixed}"
        )
        assert not _params_drawn_by_hand(hidden), (
            f"{name}: a network's hidden params come from instructor.judging.live_network_draw, "
            "so that no ReLU unit is off for every example and hides the layers below it"
        )


def _fixed_seeds(code: str) -> list[str]:
    """Calls in code that seed a generator with a literal: default_rng(204), f(seed=110)."""
    found = []
    for node in ast.walk(ast.parse(code)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
            node.func, "id", "")
        literal = [a for a in node.args if isinstance(a, ast.Constant)]
        if func in ("default_rng", "RandomState", "seed") and literal:
            found.append(ast.unparse(node))
        found += [ast.unparse(node) for k in node.keywords
                  if k.arg == "seed" and isinstance(k.value, ast.Constant)]
    return found


def _params_drawn_by_hand(code: str) -> bool:
    """Whether code draws a network's params itself: params = {k: g.standard_normal(...)}."""
    draws = ("standard_normal", "normal", "uniform", "random")
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", getattr(t, "attr", "")) == "params" for t in node.targets
        ):
            calls = [n for n in ast.walk(node.value) if isinstance(n, ast.Call)]
            if any(getattr(c.func, "attr", "") in draws for c in calls):
                return True
    return False


def test_params_drawn_by_hand_are_found():
    by_hand = "params = {k: 0.7 * g.standard_normal(s) for k, s in shapes.items()}"
    assert _params_drawn_by_hand(by_hand) and _params_drawn_by_hand("net." + by_hand)
    live = "params, X, y = live_network_draw(g, net, 0.7, (9, 8), 5)\nmodel.params = params"
    assert not _params_drawn_by_hand(live)
    assert not _params_drawn_by_hand("net.params = {k: np.asarray(v) for k, v in got.items()}")
    assert not _params_drawn_by_hand("out = check_call('f', f, ref.f, {'x': x}, outputs='out')")


def test_a_hidden_seed_is_found():
    code = "g = np.random.default_rng(204)\nm = Net(seed=110)\nh = rng('tag')\nNet(seed=s)"
    assert _fixed_seeds(code) == ["np.random.default_rng(204)", "Net(seed=110)"]


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_reference_exposes_the_assignment_api(assignment_id):
    ref = load_reference(assignment_id)
    names = api(assignment_id)
    assert names, f"{assignment_id} asks for no functions or classes"
    missing = [name for name in names if not callable(getattr(ref, name, None))]
    assert not missing, f"load_reference({assignment_id!r}) lacks {missing}"


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_mutant_catalogue_covers_every_test_cell(assignment_id):
    nb = source(assignment_id)
    tests = set(graded_test_ids(nb))
    solutions = {grade_id(c) for c in nb.cells if is_solution_cell(c) and c.cell_type == "code"}
    catalogue = mutants(assignment_id)
    names = [m.name for m in catalogue]
    assert len(names) == len(set(names)), f"duplicate mutant names in {names}"
    for m in catalogue:
        assert m.cell in solutions, f"{m.name}: {m.cell!r} is not a solution code cell"
        assert m.fails, f"{m.name} fails nothing: a mutant must be caught"
        assert m.fails <= tests, f"{m.name}: unknown test cells {sorted(m.fails - tests)}"
        assert m.may_fail <= tests - m.fails, f"{m.name}: may_fail must name other test cells"
        assert m.may_stop <= solutions | m.fails, (
            f"{m.name}: may_stop must name solution code cells or cells the mutant fails")
        apply(nb, m)  # every edit still applies to the reference
    covered = set().union(*(m.fails for m in catalogue))
    assert covered == tests, f"test cells no mutant fails: {sorted(tests - covered)}"


def test_a2_border_question_mark_scheme_states_the_computed_coverage():
    """The numbers in the mark scheme of a2's Question 1 are those the reference layer gives."""
    import numpy as np

    ref = load_reference("a2_convolution")
    x, w = np.zeros((1, 1, 7, 7)), np.ones((1, 1, 5, 5))
    out, cache = ref.conv_forward_naive(x, w, np.zeros(1), {"stride": 2, "pad": 1})
    # With w and dout all ones, dx counts the windows that cover each pixel.
    counts = ref.conv_backward_naive(np.ones(out.shape), cache)[0][0, 0].astype(int)
    fewest = {(int(r), int(c)) for r, c in np.argwhere(counts == counts.min())}
    most = [(int(r), int(c)) for r, c in np.argwhere(counts == counts.max())]
    rows = counts[:, 0] // counts[0, 0]  # windows per row (column 0 lies in one window column)
    interior = sorted({int(v) for v in counts[1:-1, 1:-1].ravel()})
    assert counts.min() == 1 and fewest == {(0, 0), (0, 6), (6, 0), (6, 6)} and most == [(3, 3)]
    scheme = next(c for c in source("a2_convolution").cells if grade_id(c) == "q_border_gradients")
    text = " ".join(scheme.source.split())
    stated = [
        f"the output is `1 + (9 - 5) // 2 = {out.shape[2]}` by {out.shape[3]}",
        "rows 0 to 6 lie in " + ", ".join(str(r) for r in rows) + " windows",
        "The four corner pixels receive the fewest contributions: one each",
        f"The centre pixel `x[3, 3]` receives the most, {counts.max()}",
        "(" + ", ".join(map(str, interior[:-1])) + f" or {interior[-1]})",
    ]
    missing = [s for s in stated if s not in text]
    assert not missing, f"the mark scheme of q_border_gradients does not state {missing}"
