"""Assignment 3 (fast convolution, ConvNet): its reference agrees with a2's naive layers, and the
notebook a student submits is self-contained (tests/test_assignment_sources.py checks the source
like the others')."""

import ast

import numpy as np

from instructor.cells import grade_id
from instructor.notebooks import errored_cells, execute
from instructor.paths import assignment_ids, source_path
from instructor.reference import api, definitions, load_reference, solution_names
from tests.mutants import reference_submission

ID = "a3_convnet"
EARLIER = [name for name in solution_names(ID) if name not in api(ID)]  # a1's and a2's layers


def test_reference_matches_the_naive_convolution():
    ref = load_reference(ID)
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


def _functions(source: str) -> dict[str, str]:
    """Top-level function definitions of source, as AST dumps, by name."""
    return {n.name: ast.dump(n) for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}


def test_earlier_layers_are_the_earlier_references():
    """a3's earlier_layers cell holds a1's and a2's reference layers, unchanged."""
    assert set(EARLIER) >= {"affine_forward", "softmax_loss", "conv_forward_naive"}, EARLIER
    mine = _functions(definitions(ID))
    earlier = {}
    for other in assignment_ids():
        if other != ID:
            earlier.update(_functions(definitions(other)))
    differ = [name for name in EARLIER if mine[name] != earlier.get(name)]
    assert not differ, f"a3's earlier_layers differ from the earlier references: {differ}"
