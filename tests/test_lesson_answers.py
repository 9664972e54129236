"""Lessons 04 and 05: every check says "not yet" to the wrong answers learners give, with a hint
that points at the mistake, and accepts right answers written another way."""

import pytest

from instructor.lessons import LESSONS, tagged
from instructor.notebooks import read
from tests.test_lessons import _run_answers

PAD = "x_pad = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))\n"
DX_RIGHT = ("dx_pad = np.zeros_like(x_pad)\ndx_pad[0, :, 2:5, 0:3] = 2.0 * w[0]\n"
            "dx_one = dx_pad[:, :, 1:-1, 1:-1]\n")  # fmt: skip
DW_RIGHT = "dw_one = 2.0 * x_pad[:, :, 2:5, 0:3]\n"
ROUTE = "dx_pool = np.zeros_like(x)\ndx_pool[0, 0, 3, 0] = 0.5\ndx_pool[0, 0, 2, 2] = 3.0\n"
SHAPES = "shapes = [(2, 6, 24, 24), (2, 6, 12, 12), (2, 16, 12, 12), (2, 16, 4, 4)]\n"

# check id -> ([(wrong answer, words its hint must contain)], [right answers])
ANSWERS = {
    "04_backward_and_pooling": {
        "check-one-position": (
            [(PAD + DW_RIGHT + "dx_one = np.zeros((1, 1, 7, 7))\ndx_one[0, :, 2:5, 0:3] = 2 * w[0]",
              "cut the padding off"),
             (PAD + "dw_one = 2.0 * x_pad[:, :, 1:4, 0:3]\n" + DX_RIGHT, "i * stride"),
             (PAD + "dw_one = x_pad[:, :, 2:5, 0:3]\n" + DX_RIGHT, "times the 3x3 window"),
             (PAD + DW_RIGHT + DX_RIGHT.replace("2.0 * w[0]", "2.0 * w[0, :, ::-1, ::-1]"),
              "dx_one is not right"),
             ("dw_one = None\ndx_one = None", "shape of w")],
            [PAD + DW_RIGHT + DX_RIGHT,
             "dw_one = numerical_gradient_array(lambda v: conv_scipy(x, v, b, conv_param), "
             "w.copy(), dout)\n"
             "dx_one = numerical_gradient_array(lambda v: conv_scipy(v, w, b, conv_param), "
             "x.copy(), dout)"],
        ),
        "check-pool-route": (
            [(ROUTE + "dx_pool[0, 0, 0, 1] = 2.0\ndx_pool[0, 0, 0, 2:4] = -1.0", "add up to one"),
             (ROUTE + "dx_pool[0, 0, 0, 1] = 2.0\ndx_pool[0, 0, 1, 2] = -1.0", "not the maximum"),
             (ROUTE + "dx_pool[0, 0, 0, 1] = 2.0\ndx_pool[0, 0, 0, 2] = -1.5\n"
              "dx_pool[0, 0, 0, 3] = 0.5", "non-negative"),
             (ROUTE + "dx_pool[0, 0, 1, 1] = 2.0\ndx_pool[0, 0, 0, 2] = -1.0", "not the maximum"),
             ("dx_pool = np.zeros((1, 1, 2, 2))", "shape of x")],
            [ROUTE + "dx_pool[0, 0, 0, 1] = 2.0\ndx_pool[0, 0, 0, 3] = -1.0",
             ROUTE + "dx_pool[0, 0, 0, 1] = 2.0\ndx_pool[0, 0, 0, 2:4] = -0.5",
             (ROUTE + "dx_pool[0, 0, 0, 1] = 2.0\ndx_pool[0, 0, 0, 2] = -1.0").replace(
                 "np.zeros_like(x)", "np.zeros((1, 1, 4, 4))")],
        ),
        "check-sizes": (
            [(SHAPES.replace("(2, 16, 4, 4)", "(2, 16, 3, 3)") + "n_params = 1336", "layer 4"),
             (SHAPES.replace("(2, 6, 24, 24)", "(2, 3, 24, 24)") + "n_params = 1336", "layer 1"),
             (SHAPES.replace("(2, 6, 12, 12), (2, 16", "(2, 6, 12, 12), (2, 16, 10, 10), (2, 16")
              + "n_params = 1336", "four tuples"),
             (SHAPES + "n_params = 6 * 3 * 25 + 16 * 6 * 9", "n_params"),
             ("shapes = None\nn_params = None", "four tuples")],
            [SHAPES + "n_params = 1336",
             SHAPES.replace("(", "[").replace(")", "]") + "n_params = np.int64(1336)"],
        ),
    },
    "05_feature_hierarchies": {
        "check-deeper-stack": (
            [("rf_last, jump_last = 11, 4", "rf_last"), ("rf_last, jump_last = 15, 2", "jump_last"),
             ("rf_last, jump_last = None, None", "rf_last")],
            ["rf_last, jump_last = 15, 4", "rf_last, jump_last = np.int64(15), 4.0"],
        ),
        "check-layers-needed": (
            [("n_convs, n_convs_with_pool = 3, 2", "n_convs = 3"),
             ("n_convs, n_convs_with_pool = 5, 2", "n_convs = 5"),
             ("n_convs, n_convs_with_pool = 4, 3", "n_convs_with_pool = 3"),
             ("n_convs, n_convs_with_pool = 4.0, 2", "positive int")],
            ["n_convs, n_convs_with_pool = 4, 2", "n_convs, n_convs_with_pool = np.int64(4), 2"],
        ),
        "check-corner-influence": (
            [("influence = np.zeros((8, 8), dtype=bool)", "influence marks 0"),
             ("influence = np.zeros((8, 8), dtype=bool)\ninfluence[0:5, 3:8] = True",
              "cut off where it leaves"),
             ("influence = influence_map(probe, base, 'depth 2', (0, 0, 0))", "row 0, column 7"),
             ("influence = None", "(8, 8) boolean")],
            ["influence = np.zeros((8, 8), dtype=bool)\ninfluence[:3, 5:] = True",
             "influence = influence_map(probe, base, 'depth 2', (0, 0, 7)).astype(int)"],
        ),
    },
}


# Exercises whose cell sets their data first: the answers run after the whole lesson, where later
# cells have reused the names x, w, dout, so the exercise cell (data, then None) runs first.
GIVEN = {"check-one-position": "ex-one-position", "check-pool-route": "ex-pool-route"}


@pytest.mark.parametrize("stem", sorted(ANSWERS))
def test_checks_reject_wrong_answers_with_their_hint_and_accept_right_ones(stem):
    path = LESSONS / f"{stem}.ipynb"
    nb = read(path)
    source_of = {cell.get("id"): cell.source for cell in nb.cells}
    checks = {cell.get("id") for cell in tagged(nb, "check")}
    assert set(ANSWERS[stem]) == checks, f"{stem}: catalogue {sorted(ANSWERS[stem])} != {checks}"
    cases = [(check_id, source, hint, wrong)
             for check_id, (wrongs, rights) in ANSWERS[stem].items()
             for (source, hint), wrong in [*((w, True) for w in wrongs),
                                           *(((r, None), False) for r in rights)]]  # fmt: skip
    runs = [(check_id, source_of[GIVEN[check_id]] + "\n" + source if check_id in GIVEN else source)
            for check_id, source, _, _ in cases]
    _, verdicts = _run_answers(path, runs)
    for (check_id, source, hint, wrong), verdict in zip(cases, verdicts, strict=True):
        if wrong:
            assert verdict is not None, f"{check_id} accepts the wrong answer {source!r}"
            assert hint in verdict, (
                f"{check_id} rejects {source!r}, but its hint {verdict!r} does not say {hint!r}"
            )
        else:
            assert verdict is None, f"{check_id} rejects the right answer {source!r}: {verdict}"
