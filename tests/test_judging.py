"""The judge-side helpers of hidden tests (instructor/judging.py, instructor/cost_checks.py),
on plain functions."""

import time

import numpy as np
import pytest

from instructor import cost_checks, judging
from instructor.reference import load_reference

A2 = load_reference("a2_convolution")


def test_rng_follows_the_judge_seed_and_the_tag(monkeypatch):
    monkeypatch.delenv("JUDGE_SEED", raising=False)
    unset = judging.rng("case").standard_normal(3)
    monkeypatch.setenv("JUDGE_SEED", "")
    assert np.array_equal(judging.rng("case").standard_normal(3), unset)
    monkeypatch.setenv("JUDGE_SEED", "secret-1")
    first = judging.rng("case").standard_normal(3)
    assert np.array_equal(judging.rng("case").standard_normal(3), first)  # reproducible
    assert not np.array_equal(judging.rng("other").standard_normal(3), first)
    monkeypatch.setenv("JUDGE_SEED", "secret-2")
    assert not np.array_equal(judging.rng("case").standard_normal(3), first)


def test_copy_is_deep_for_plain_data_namedtuples_included():
    from collections import namedtuple

    Cache = namedtuple("Cache", "x pool_param")
    value = {"a": [np.zeros(2), (np.ones(1), Cache(np.arange(3.0), {"stride": 2}))]}
    got = judging.copy(value)
    got["a"][0][0] = 5.0
    got["a"][1][1].x[0] = 5.0
    assert value["a"][0][0] == 0.0 and value["a"][1][1].x[0] == 0.0
    assert type(got["a"][1][1]) is Cache and got["a"][1][1].pool_param == {"stride": 2}


def test_call_hands_out_copies_and_names_an_argument_modified_in_place():
    x = np.arange(4.0)

    def doubles_in_place(a):
        a *= 2
        return a.sum()

    with pytest.raises(AssertionError, match="modified its argument x in place"):
        judging.call(doubles_in_place, "f", {"x": x})
    assert np.array_equal(x, np.arange(4.0)), "the judge's own array stays pristine"
    assert judging.call(lambda a: a.sum(), "f", {"x": x}) == 6.0


def test_call_checks_how_many_values_come_back():
    with pytest.raises(AssertionError, match="returned 2 values; it must return 3"):
        judging.call(lambda: (1, 2), "f", {}, returns=3)
    with pytest.raises(AssertionError, match="returned one value"):
        judging.call(lambda: np.zeros(3), "f", {}, returns=3)
    assert judging.call(lambda: (1, 2, 3), "f", {}, returns=3) == (1, 2, 3)


def test_check_call_compares_against_the_reference_on_pristine_inputs():
    args = {"x": np.arange(6.0).reshape(2, 3)}
    judging.check_call("f", lambda x: (x * 2, None), lambda x: (x * 2, 0), args,
                       outputs=("out", None))
    with pytest.raises(AssertionError, match="f: out has wrong values"):
        judging.check_call("f", lambda x: (x * 3, None), lambda x: (x * 2, 0), args,
                           outputs=("out", None))
    with pytest.raises(AssertionError, match=r"f: out has shape \(3, 2\), expected \(2, 3\)"):
        judging.check_call("f", lambda x: (x.T, None), lambda x: (x, 0), args,
                           outputs=("out", None))
    with pytest.raises(AssertionError, match="grads must be a dict"):
        judging.check_close([1.0], {"W": np.ones(1)}, "grads")


def test_check_backward_draws_dout_from_the_reference_forward():
    """A forward of the wrong shape does not change the backward test's dout."""
    g = judging.rng("backward")
    args = {"x": g.standard_normal((1, 1, 4, 4)),
            "pool_param": {"pool_height": 2, "pool_width": 2, "stride": 2}}

    def wrong_forward(x, pool_param):
        return np.zeros((1, 1, 2, 3)), (x, pool_param)

    judging.check_backward("max_pool_backward_naive", wrong_forward, A2.max_pool_backward_naive,
                           A2.max_pool_forward_naive, A2.max_pool_backward_naive, args,
                           outputs="dx", generator=g, forward_name="max_pool_forward_naive")


@pytest.mark.parametrize("split", ["first", "last", "even"])
def test_pool_subgradient_accepts_every_valid_split_of_a_tie(split):
    x = np.zeros((1, 1, 2, 4))
    x[0, 0, 1, 3] = -1.0
    dout = np.array([[[[5.0, -7.0]]]])
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    dx = np.zeros_like(x)
    if split == "first":
        dx[0, 0, 0, 0], dx[0, 0, 0, 2] = 5.0, -7.0
    elif split == "last":
        dx[0, 0, 1, 1], dx[0, 0, 1, 2] = 5.0, -7.0
    else:
        dx[0, 0, :, :2] = 5.0 / 4
        dx[0, 0, 0, 2:], dx[0, 0, 1, 2] = -7.0 / 3, -7.0 / 3
    judging.check_pool_subgradient(dx, x, dout, pool_param, "dx")


@pytest.mark.parametrize("wrong, message", [
    ("every", "sum to 10"),
    ("negative", "opposite signs"),
    ("not a maximum", "not the maximum"),
])
def test_pool_subgradient_rejects_invalid_splits(wrong, message):
    x = np.zeros((1, 1, 2, 2))
    x[0, 0, 1, 1] = -1.0
    dout = np.array([[[[5.0]]]])
    dx = np.zeros_like(x)
    if wrong == "every":
        dx[0, 0, 0, 0] = dx[0, 0, 0, 1] = 5.0
    elif wrong == "negative":
        dx[0, 0, 0, 0], dx[0, 0, 0, 1] = 10.0, -5.0
    else:
        dx[0, 0, 0, 0], dx[0, 0, 1, 1] = 4.0, 1.0
    with pytest.raises(AssertionError, match=message):
        judging.check_pool_subgradient(dx, x, dout, {"pool_height": 2, "pool_width": 2,
                                                     "stride": 2}, "dx")


def test_analytic_check_accepts_loops_and_rejects_finite_differences():
    def numerical(dout, cache):
        x, w, b, conv_param = cache
        grads = []
        for value in (x, w, b):
            grad = np.zeros(value.shape)
            for index in np.ndindex(value.shape):
                old = value[index]
                value[index] = old + 1e-5
                plus = A2.conv_forward_naive(x, w, b, conv_param)[0]
                value[index] = old - 1e-5
                minus = A2.conv_forward_naive(x, w, b, conv_param)[0]
                value[index] = old
                grad[index] = np.sum((plus - minus) * dout) / 2e-5
            grads.append(grad)
        return tuple(grads)

    def small(generator):  # few entries, so finite differences stay quick here
        return (generator.standard_normal((2, 4, 4, 4)), generator.standard_normal((1, 4, 2, 2)),
                generator.standard_normal(1), {"stride": 2, "pad": 0})

    cost_checks._ANALYTIC.clear()
    cost_checks.check_analytic_backward("loops", A2.conv_forward_naive, A2.conv_backward_naive,
                                        A2.conv_forward_naive, A2.conv_backward_naive,
                                        small, slack=0.0)
    start = time.perf_counter()
    with pytest.raises(AssertionError, match="numerical gradient"):
        cost_checks.check_analytic_backward("numerical", A2.conv_forward_naive, numerical,
                                            A2.conv_forward_naive, A2.conv_backward_naive,
                                            small, slack=0.0)
    spent = time.perf_counter() - start
    with pytest.raises(AssertionError, match="numerical gradient"):  # the verdict is kept
        cost_checks.check_analytic_backward("numerical", A2.conv_forward_naive, numerical,
                                            A2.conv_forward_naive, A2.conv_backward_naive,
                                            small, slack=0.0)
    assert time.perf_counter() - start < 1.5 * spent + 0.1


def test_a_backward_that_answers_the_timed_input_cheaply_fails_the_analytic_check():
    def spotter(dout, cache):  # right (here: the reference) except on inputs it takes for timing
        x, w, b, _ = cache[:4] if isinstance(cache, tuple) else cache
        if np.shape(x)[0] >= 7:
            return np.zeros(np.shape(x)), np.zeros(np.shape(w)), np.zeros(np.shape(b))
        return A2.conv_backward_naive(dout, cache)

    cost_checks._ANALYTIC.clear()
    with pytest.raises(AssertionError, match="wrong gradients on the input it was timed on"):
        cost_checks.check_analytic_backward("spotter", A2.conv_forward_naive, spotter,
                                            A2.conv_forward_naive, A2.conv_backward_naive,
                                            cost_checks.few_outputs_conv_args)
    g = judging.rng("sizes")
    draw = cost_checks.few_outputs_conv_args
    shapes = {tuple(np.shape(a) for a in draw(g)[:2]) for _ in range(8)}
    assert len(shapes) > 4, f"the timed inputs' shapes do not vary: {shapes}"


def test_the_analytic_check_leaves_plain_bugs_to_the_value_tests():
    def db_mean(dout, cache):  # wrong on every batch of two or more: not a spotter
        dx, dw, db = A2.conv_backward_naive(dout, cache)
        return dx, dw, db / len(dout)

    def width_from_height(x, w, b, conv_param):  # raises or is wrong on non-square images
        out, cache = A2.conv_forward_naive(x, w, b, conv_param)
        if np.shape(x)[2] != np.shape(x)[3]:
            raise ValueError("broadcast")
        return out, cache

    cost_checks._ANALYTIC.clear()
    cost_checks.check_analytic_backward("db_mean", A2.conv_forward_naive, db_mean,
                                        A2.conv_forward_naive, A2.conv_backward_naive,
                                        cost_checks.few_outputs_conv_args)
    cost_checks.check_analytic_backward("square", width_from_height, A2.conv_backward_naive,
                                        A2.conv_forward_naive, A2.conv_backward_naive,
                                        cost_checks.few_outputs_conv_args)


def test_a_forward_that_refuses_the_timed_input_fails_the_analytic_check():
    def dodger(x, w, b, conv_param):  # right, except on inputs it takes for timing
        if np.shape(x)[0] >= 7:
            raise ValueError("too large")
        return A2.conv_forward_naive(x, w, b, conv_param)

    cost_checks._ANALYTIC.clear()
    with pytest.raises(AssertionError, match="forward pass was wrong on the input"):
        cost_checks.check_analytic_backward("dodged", dodger, A2.conv_backward_naive,
                                            A2.conv_forward_naive, A2.conv_backward_naive,
                                            cost_checks.few_outputs_conv_args)


def test_rounded_down_reference_convolution_matches_the_naive_one_where_windows_tile():
    g = judging.rng("floor")
    x, w, b = g.standard_normal((2, 3, 7, 5)), g.standard_normal((4, 3, 3, 3)), np.ones(4)
    conv_param = {"stride": 2, "pad": 1}
    out, cache = judging.conv_forward_floor(x, w, b, conv_param)
    expected, naive_cache = A2.conv_forward_naive(x, w, b, conv_param)
    np.testing.assert_allclose(out, expected)
    dout = g.standard_normal(out.shape)
    for got, want in zip(judging.conv_backward_floor(dout, cache),
                         A2.conv_backward_naive(dout, naive_cache), strict=True):
        np.testing.assert_allclose(got, want)
    out, _ = judging.conv_forward_floor(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), np.zeros(1),
                                        {"stride": 2, "pad": 1})
    np.testing.assert_allclose(out[0, 0], [[4.0, 6.0], [6.0, 9.0]])  # rounded down to 2x2


SEEN = "hidden_x_0_4417"  # what a student function could write into what it returns


@pytest.mark.parametrize("got", [
    {SEEN: np.zeros(2)},  # the right count of keys, named after what it saw
    {"W1": np.zeros(2), SEEN: np.zeros(2)},
    SEEN,
    [SEEN],
    proxy_of := None,  # filled in below: an object of a class named after what it saw
], ids=["dict keys", "extra key", "str", "list of str", "object"])
def test_messages_never_quote_text_a_student_returned(got):
    from instructor.engine.proxy import Link, Proxy

    got = Proxy(Link(None), 1, SEEN, SEEN) if got is proxy_of else got
    with pytest.raises(AssertionError) as failure:
        judging.check_close(got, {"W1": np.zeros(2)}, "grads")
    assert SEEN not in str(failure.value) and "grads" in str(failure.value)
    with pytest.raises(AssertionError) as failure:
        judging.as_array(got, "dx")
    assert SEEN not in str(failure.value)
    assert SEEN not in judging.describe(got)


def test_describe_says_what_a_value_is():
    assert judging.describe(np.int64(3)) == "3"
    assert judging.describe(np.zeros((2, 0))) == "an array of dtype <f8, shape (2, 0)"
    assert judging.describe("abc") == "a str of length 3"
    assert judging.describe(None) == "None"


def test_live_network_draw_redraws_until_every_unit_gets_gradient():
    net = load_reference("a1_fully_connected").TwoLayerNet(input_dim=3, hidden_dim=6,
                                                           num_classes=2)
    plain_dead = 0
    for seed in range(40):
        params, X, y = judging.live_network_draw(np.random.default_rng(seed), net, 1.0, (2, 3), 2)
        assert all(params[k].shape == v.shape for k, v in net.params.items())
        assert X.shape == (2, 3) and y.shape == (2,) and set(y) <= {0, 1}
        net.params = judging.copy(params)
        _, grads = net.loss(X, y)
        assert np.all(grads["b1"] != 0) and np.all(grads["b2"] != 0)
        again = judging.live_network_draw(np.random.default_rng(seed), net, 1.0, (2, 3), 2)
        assert np.array_equal(again[1], X) and np.array_equal(again[2], y)  # reproducible
        g = np.random.default_rng(seed)  # the first draw, as a plain draw would take it
        net.params = {k: 1.0 * g.standard_normal(v.shape) for k, v in params.items()}
        _, first = net.loss(g.standard_normal((2, 3)), g.integers(0, 2, size=2))
        plain_dead += not np.all(first["b1"] != 0)
    assert plain_dead >= 10  # two examples leave some of six units off in most plain draws


def test_live_network_draw_gives_up_with_a_message_when_no_draw_is_live():
    net = load_reference("a1_fully_connected").TwoLayerNet(input_dim=3, hidden_dim=60,
                                                           num_classes=2)
    with pytest.raises(RuntimeError, match=r"no draw in 5 .*scale 1.0, X \(1, 3\)"):
        judging.live_network_draw(np.random.default_rng(0), net, 1.0, (1, 3), 2, tries=5)
