"""Assignment 3 (fast convolution, ConvNet): the source runs cleanly, its test cells are well
formed, its reference works, the student's view is self-contained, and the mutant catalogue
covers every test cell (tests/test_pipeline.py grades each mutant with the real grader and checks
that it fails exactly its listed cells)."""

import ast
import functools

import numpy as np
import pytest

from instructor.notebooks import (
    errored_cells,
    execute,
    grade_id,
    is_solution_cell,
    is_test_cell,
    nbgrader_meta,
    read,
    source_path,
    strip_hidden_tests,
)
from instructor.reference import load_reference
from tests.mutants import apply, reference_submission
from tests.mutants.a3_convnet import MUTANTS

ID = "a3_convnet"
API = [
    "conv_forward_fast",
    "conv_backward_fast",
    "max_pool_forward_fast",
    "max_pool_backward_fast",
    "ConvNet",
    "receptive_field",
]
EARLIER = [
    "affine_forward",
    "affine_backward",
    "relu_forward",
    "relu_backward",
    "softmax_loss",
    "conv_output_size",
    "conv_forward_naive",
    "conv_backward_naive",
]


@pytest.fixture(autouse=True)
def one_blas_thread(monkeypatch):
    """Kernels use one BLAS thread: timing checks stay stable when test workers share cores."""
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def source():
    return read(source_path(ID))


def graded_test_ids(nb):
    return [grade_id(c) for c in nb.cells if is_test_cell(c)]


def run(nb):
    """Execute nb in the assignment's folder: (grade_ids of test cells that raised, executed nb)."""
    executed = execute(nb, cwd=source_path(ID).parent)
    return set(errored_cells(executed)) & set(graded_test_ids(nb)), executed


@functools.cache
def reference_run():
    return run(source())


def test_source_runs_without_errors_or_stderr():
    _, executed = reference_run()
    assert errored_cells(executed) == {}, f"cells raised: {errored_cells(executed)}"
    noisy = [
        grade_id(cell) or cell.get("id")
        for cell in executed.cells
        if cell.cell_type == "code"
        and any(out.get("name") == "stderr" for out in cell.get("outputs", []))
    ]
    assert not noisy, f"cells {noisy} write to stderr on the reference (nbgrader gives 0 points)"


def test_graded_cells_are_well_formed():
    nb = source()
    ids = [grade_id(c) for c in nb.cells if nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), f"duplicate grade_ids in {ids}"
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
    manual = [c for c in nb.cells if is_solution_cell(c) and nbgrader_meta(c).get("grade")]
    assert [c.cell_type for c in manual] == ["markdown"], "one manually graded written answer"
    assert "YOUR ANSWER HERE" in manual[0].source


def test_hidden_test_blocks_are_well_formed():
    for cell in source().cells:
        if not is_test_cell(cell):
            assert "HIDDEN TESTS" not in cell.source, f"hidden tests outside a test cell: {cell.id}"
            continue
        name = grade_id(cell)
        lines = [line.strip() for line in cell.source.splitlines()]
        assert lines.count("### BEGIN HIDDEN TESTS") == lines.count("### END HIDDEN TESTS") == 1
        begin, end = lines.index("### BEGIN HIDDEN TESTS"), lines.index("### END HIDDEN TESTS")
        assert begin < end, f"{name}: END HIDDEN TESTS comes before BEGIN"
        visible = strip_hidden_tests(cell.source)
        assert "assert" in visible, f"{name}: no visible check"
        assert "instructor" not in visible, f"{name}: visible tests must not use the reference"
        assert "assert" in "\n".join(lines[begin + 1 : end]), f"{name}: empty hidden block"
        tree = ast.parse(visible)
        imported = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        assert "np" in imported, f"{name}: a test cell imports what it uses (numpy as np)"


def test_reference_exposes_the_api_and_matches_the_naive_convolution():
    ref = load_reference(ID)
    missing = [name for name in API if not callable(getattr(ref, name, None))]
    assert not missing, f"load_reference({ID!r}) lacks {missing}"
    naive = load_reference("a2_convolution")
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((3, 2, 7, 5)), rng.standard_normal((4, 2, 3, 3)), np.ones(4)
    conv_param = {"stride": 2, "pad": 1}
    out, cache = ref.conv_forward_fast(x, w, b, conv_param)
    expected, naive_cache = naive.conv_forward_naive(x, w, b, conv_param)
    np.testing.assert_allclose(out, expected, atol=1e-12)
    dout = rng.standard_normal(out.shape)
    for got, want in zip(
        ref.conv_backward_fast(dout, cache),
        naive.conv_backward_naive(dout, naive_cache),
        strict=True,
    ):
        np.testing.assert_allclose(got, want, atol=1e-12)
    x32, w32, b32 = (a.astype(np.float32) for a in (x, w, b))
    out32, cache32 = ref.conv_forward_fast(x32, w32, b32, conv_param)
    grads32 = ref.conv_backward_fast(dout.astype(np.float32), cache32)
    assert {a.dtype for a in (out32, *grads32)} == {np.dtype(np.float32)}


def test_reference_submission_is_self_contained_and_passes():
    nb = reference_submission(ID)
    text = "\n".join(cell.source for cell in nb.cells)
    assert "instructor" not in text, "the student's notebook must not use instructor/"
    assert "HIDDEN TESTS" not in text
    earlier = next(c for c in nb.cells if grade_id(c) == "earlier_layers")
    tree = ast.parse(earlier.source)
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert set(EARLIER) <= defined, f"earlier_layers lacks {sorted(set(EARLIER) - defined)}"
    executed = execute(nb, cwd=source_path(ID).parent)
    assert errored_cells(executed) == {}, f"cells raised: {errored_cells(executed)}"


def test_mutant_catalogue_covers_every_test_cell():
    nb = source()
    tests = set(graded_test_ids(nb))
    solutions = {grade_id(c) for c in nb.cells if is_solution_cell(c) and c.cell_type == "code"}
    names = [m.name for m in MUTANTS]
    assert len(names) == len(set(names)), f"duplicate mutant names in {names}"
    for m in MUTANTS:
        assert m.cell in solutions, f"{m.name}: {m.cell!r} is not a solution code cell"
        assert m.fails, f"{m.name} fails nothing: a mutant must be caught"
        assert m.fails <= tests, f"{m.name}: unknown test cells {sorted(m.fails - tests)}"
        apply(nb, m)  # every edit still applies to the reference
    covered = set().union(*(m.fails for m in MUTANTS))
    assert covered == tests, f"test cells no mutant fails: {sorted(tests - covered)}"
