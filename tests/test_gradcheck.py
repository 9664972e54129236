"""helpers.gradcheck: numerical gradients, relative errors, layer checks, kink warnings."""

import warnings

import numpy as np
import pytest

from helpers.gradcheck import (
    GradCheckReport,
    GradientCheckError,
    KinkWarning,
    check_gradients,
    check_layer,
    numerical_gradient,
    numerical_gradient_array,
    rel_error,
    sampled_gradient_check,
)

# Small layers written for these tests only (the package itself ships no layers).


def linear_forward(x, w, b):
    out = x @ w + b  # (N, M)
    return out, (x, w)


def linear_backward(dout, cache):
    x, w = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def tanh_forward(x):
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    return dout * (1 - cache**2)


def relu_forward(x):
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    return dout * (cache > 0)


def scale_forward(x, param):
    return param["scale"] * x, param["scale"]


def scale_backward(dout, cache):
    return cache * dout


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def linear_inputs(rng):
    return {"x": rng.standard_normal((4, 5)), "w": rng.standard_normal((5, 3)),
            "b": rng.standard_normal(3)}


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_numerical_gradient_of_sum_of_squares(rng):
    x = rng.standard_normal((3, 4))
    assert rel_error(numerical_gradient(lambda x: np.sum(x**2), x), 2 * x) < 1e-8


def test_numerical_gradient_of_sin(rng):
    x = rng.uniform(-3, 3, size=(2, 3, 4))
    grad = numerical_gradient(lambda x: np.sum(np.sin(x)), x)
    assert grad.shape == x.shape and grad.dtype == np.float64
    assert rel_error(grad, np.cos(x)) < 1e-7


def test_numerical_gradient_of_matrix_product(rng):
    A, B = rng.standard_normal((3, 4)), rng.standard_normal((5, 2))
    W = rng.standard_normal((4, 5))
    grad = numerical_gradient(lambda W: np.sum(A @ W @ B), W)
    assert rel_error(grad, A.T @ np.ones((3, 2)) @ B.T) < 1e-8


def test_numerical_gradient_of_scalar_array(rng):
    x = np.array(0.7)
    assert rel_error(numerical_gradient(lambda x: float(x) ** 3, x), 3 * 0.7**2) < 1e-8


def test_numerical_gradient_array_matches_closed_forms(rng):
    x, W = rng.standard_normal((4, 5)), rng.standard_normal((5, 3))
    dout = rng.standard_normal((4, 3))
    assert rel_error(numerical_gradient_array(lambda x: x @ W, x, dout), dout @ W.T) < 1e-8
    dout2 = rng.standard_normal((4, 5))
    grad = numerical_gradient_array(np.tanh, x, dout2)
    assert rel_error(grad, dout2 * (1 - np.tanh(x) ** 2)) < 1e-7


def test_numerical_gradient_array_with_f_returning_x_itself(rng):
    x, dout = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    assert rel_error(numerical_gradient_array(lambda x: x, x, dout), dout) < 1e-8


def test_numerical_gradient_array_is_not_swamped_by_large_untouched_outputs(rng):
    x = rng.standard_normal(5)
    big = 1e8 * rng.standard_normal(200)  # outputs that x does not affect

    def f(x):
        return np.concatenate([np.sin(x), big])

    dout = rng.standard_normal(205)
    assert rel_error(numerical_gradient_array(f, x, dout), np.cos(x) * dout[:5]) < 1e-8


def test_closure_style_f_sees_the_perturbation(rng):
    params = {"W": rng.standard_normal((3, 2))}
    grad = numerical_gradient(lambda _: np.sum(params["W"] ** 2), params["W"])
    assert rel_error(grad, 2 * params["W"]) < 1e-8


def test_x_unchanged_after_numerical_gradient(rng):
    x = rng.standard_normal((3, 4))
    before = x.copy()
    numerical_gradient(lambda x: np.sum(np.exp(x)), x)
    numerical_gradient_array(np.sin, x, np.ones_like(x))
    sampled_gradient_check(lambda x: np.sum(x**3), x, 3 * x**2, num_checks=5)
    assert np.array_equal(x, before)


def test_x_restored_when_f_raises(rng):
    x = rng.standard_normal(6)
    before = x.copy()
    calls = []

    def f(x):
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("boom")
        return np.sum(x)

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(f, x)
    assert np.array_equal(x, before)


def test_rel_error_formula():
    a, b = np.array([1.0, 2.0, 0.0]), np.array([1.0, 3.0, 1e-10])
    expected = max(0.0, 1.0 / 5.0, 1e-10 / 1e-8)
    assert rel_error(a, b) == pytest.approx(expected)
    assert rel_error(2.0, 2.0) == 0.0
    assert isinstance(rel_error(a, b), float)


def test_rel_error_is_symmetric_and_scale_free(rng):
    a, b = rng.standard_normal(10), rng.standard_normal(10)
    assert rel_error(a, b) == pytest.approx(rel_error(b, a))
    assert rel_error(1e3 * a, 1e3 * b) == pytest.approx(rel_error(a, b))


def test_rel_error_shape_mismatch_names_both():
    with pytest.raises(ValueError, match=r"a and b must have the same shape.*\(3,\).*\(2,\)"):
        rel_error(np.zeros(3), np.zeros(2))


def test_sampled_gradient_check_small_for_right_and_large_for_wrong(rng):
    x = rng.standard_normal((50, 40))

    def f(x):
        return np.sum(np.sin(x) * x)

    right = np.cos(x) * x + np.sin(x)
    assert sampled_gradient_check(f, x, right, num_checks=20) < 1e-5  # f sums 2000 terms
    assert sampled_gradient_check(f, x, right + 1.0, num_checks=20) > 1e-2


def test_sampled_gradient_check_is_deterministic_and_handles_small_arrays(rng):
    x = rng.standard_normal(3)
    analytic = 2 * x
    analytic[1] += 0.1  # only one entry wrong
    f = lambda x: np.sum(x**2)  # noqa: E731
    first = sampled_gradient_check(f, x, analytic, num_checks=10, seed=3)
    assert first == sampled_gradient_check(f, x, analytic, num_checks=10, seed=3)
    assert first == pytest.approx(rel_error(numerical_gradient(f, x), analytic), rel=1e-6)


def test_check_layer_passes_a_correct_layer(linear_inputs, no_warnings):
    before = {k: v.copy() for k, v in linear_inputs.items()}
    report = check_layer(linear_forward, linear_backward, linear_inputs)
    assert isinstance(report, GradCheckReport)
    assert report.passed
    assert list(report.errors) == ["dx", "dw", "db"]
    assert report.max_error < 1e-7
    assert all(np.array_equal(linear_inputs[k], before[k]) for k in before)


def test_check_layer_report_text_and_html(linear_inputs):
    report = check_layer(linear_forward, linear_backward, linear_inputs)
    text, page = str(report), report._repr_html_()
    for label in ("dx", "dw", "db"):
        assert label in text and f"<td>{label}</td>" in page
    assert "passed" in text and "<table" in page and "</table>" in page
    assert f"{report.errors['dw']:.2e}" in text


def test_check_layer_names_the_wrong_gradient_and_where(linear_inputs):
    def wrong_backward(dout, cache):
        dx, dw, db = linear_backward(dout, cache)
        dw = dw.copy()
        dw[3, 1] += 1.0
        return dx, dw, db

    with pytest.raises(GradientCheckError) as info:
        check_layer(linear_forward, wrong_backward, linear_inputs)
    message = str(info.value)
    assert isinstance(info.value, AssertionError)
    assert "dw is wrong" in message and "(3, 1)" in message
    assert "dx is wrong" not in message and "db is wrong" not in message
    row = [r for r in info.value.report.rows if r.label == "dw"][0]
    assert row.index == (3, 1) and not row.passed
    assert f"{row.numeric:.6g}" in message and f"{row.analytic:.6g}" in message
    assert f"{row.error:.2e}" in message and "1e-07" in message
    assert row.analytic - row.numeric == pytest.approx(1.0, rel=1e-6)


@pytest.mark.parametrize(
    "change, hint",
    [
        (lambda dw: 2 * dw, "dw is 2 times the numerical gradient everywhere"),
        (lambda dw: -dw, "dw is -1 times the numerical gradient everywhere"),
        (lambda dw: np.zeros_like(dw), "dw is all zeros"),
        (lambda dw: np.where(np.arange(dw.size).reshape(dw.shape) == 4, np.nan, dw),
         r"dw contains nan or inf \(first at index \(1, 1\)\)"),
    ],
)
def test_check_layer_hints_at_likely_causes(linear_inputs, change, hint):
    def backward(dout, cache):
        dx, dw, db = linear_backward(dout, cache)
        return dx, change(dw), db

    with pytest.raises(GradientCheckError, match=hint):
        check_layer(linear_forward, backward, linear_inputs)


def test_check_layer_gives_no_factor_hint_for_scattered_errors(linear_inputs):
    def backward(dout, cache):
        dx, dw, db = linear_backward(dout, cache)
        return dx, dw + 0.3, db

    with pytest.raises(GradientCheckError) as info:
        check_layer(linear_forward, backward, linear_inputs)
    assert "times the numerical gradient" not in str(info.value)


def test_check_layer_reports_shape_mismatch(linear_inputs):
    def transposed(dout, cache):
        dx, dw, db = linear_backward(dout, cache)
        return dx, dw.T, db

    with pytest.raises(GradientCheckError, match=r"dw has shape \(3, 5\), expected \(5, 3\)"):
        check_layer(linear_forward, transposed, linear_inputs)


def test_check_layer_reports_missing_gradients(linear_inputs):
    with pytest.raises(GradientCheckError, match="returned 2 gradient.*expected 3.*dx, dw, db"):
        check_layer(linear_forward, lambda d, c: linear_backward(d, c)[:2], linear_inputs)


def test_check_layer_single_input_and_param(rng, no_warnings):
    x = rng.standard_normal((2, 3, 4))
    assert check_layer(tanh_forward, tanh_backward, {"x": x}).passed
    report = check_layer(scale_forward, scale_backward, {"x": x}, {"scale": 2.5})
    assert report.passed and list(report.errors) == ["dx"]
    with pytest.raises(GradientCheckError, match="dx is wrong"):
        check_layer(scale_forward, lambda d, c: d, {"x": x}, {"scale": 2.5})


def test_check_layer_works_in_float64_on_float32_inputs(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    seen = []

    def forward(x):
        seen.append(x.dtype)
        return tanh_forward(x)

    assert check_layer(forward, tanh_backward, {"x": x}).passed
    assert x.dtype == np.float32 and set(seen) == {np.dtype(np.float64)}


def test_check_layer_threshold_is_respected(linear_inputs):
    def slightly_off(dout, cache):
        dx, dw, db = linear_backward(dout, cache)
        return dx * (1 + 1e-5), dw, db

    with pytest.raises(GradientCheckError, match="dx is wrong"):
        check_layer(linear_forward, slightly_off, linear_inputs)
    assert check_layer(linear_forward, slightly_off, linear_inputs, threshold=1e-4).passed


def two_layer(rng):
    X = rng.standard_normal((6, 4))
    params = {"W1": rng.standard_normal((4, 5)), "b1": rng.standard_normal(5),
              "W2": rng.standard_normal((5, 2))}

    def loss():
        h = np.tanh(X @ params["W1"] + params["b1"])  # (6, 5)
        return float(np.sum((h @ params["W2"]) ** 2)) / 2

    h = np.tanh(X @ params["W1"] + params["b1"])
    s = h @ params["W2"]  # (6, 2)
    dh = s @ params["W2"].T * (1 - h**2)
    grads = {"W1": X.T @ dh, "b1": dh.sum(axis=0), "W2": h.T @ s}
    return loss, params, grads


def test_check_gradients_passes_and_restores_params(rng, no_warnings):
    loss, params, grads = two_layer(rng)
    before = {k: v.copy() for k, v in params.items()}
    report = check_gradients(loss, params, grads)
    assert report.passed and list(report.errors) == ["W1", "b1", "W2"]
    assert "grads['b1']" in str(report)
    assert all(np.array_equal(params[k], before[k]) for k in params)


def test_check_gradients_names_the_wrong_one(rng):
    loss, params, grads = two_layer(rng)
    grads["b1"] = grads["b1"] * 0.5
    with pytest.raises(GradientCheckError, match=r"grads\['b1'\] is wrong at index|grads\['b1'\]"):
        check_gradients(loss, params, grads)
    try:
        check_gradients(loss, params, grads)
    except GradientCheckError as e:
        assert "grads['b1'] is wrong" in str(e) and "grads['W1'] is wrong" not in str(e)


def test_check_gradients_restores_params_when_f_raises(rng):
    loss, params, grads = two_layer(rng)
    before = {k: v.copy() for k, v in params.items()}
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) > 5:
            raise RuntimeError("boom")
        return loss()

    with pytest.raises(RuntimeError):
        check_gradients(flaky, params, grads)
    assert all(np.array_equal(params[k], before[k]) for k in params)


def test_check_gradients_shape_mismatch(rng):
    loss, params, grads = two_layer(rng)
    grads["W2"] = grads["W2"].T
    with pytest.raises(GradientCheckError, match=r"grads\['W2'\] has shape \(2, 5\), expected"):
        check_gradients(loss, params, grads)


def test_kink_warning_is_a_user_warning():
    assert issubclass(KinkWarning, UserWarning)
    assert issubclass(GradientCheckError, AssertionError)


def test_kink_warning_fires_for_relu_at_zero():
    x = np.array([-1.0, 0.0, 2.0])
    with pytest.warns(KinkWarning, match=r"not to be trusted at index \(1,\)"):
        grad = numerical_gradient(lambda x: np.sum(np.maximum(x, 0)), x)
    assert grad[1] == pytest.approx(0.5)  # the average of the two one-sided slopes


def test_kink_warning_fires_close_to_a_kink():
    x = np.array([3e-6, 1.0])  # closer to 0 than h = 1e-5
    with pytest.warns(KinkWarning, match=r"index \(0,\)"):
        numerical_gradient(lambda x: np.sum(np.maximum(x, 0)), x)


def test_kink_warning_fires_for_max_ties():
    x = np.array([[1.0, 3.0], [3.0, 0.5]])
    with pytest.warns(KinkWarning):
        numerical_gradient(np.max, x)


def test_check_layer_explains_relu_failure_at_kink(rng):
    x = rng.standard_normal((3, 4))
    x[1, 2] = 0.0
    with pytest.warns(KinkWarning, match="dx"):
        with pytest.raises(GradientCheckError, match=r"dx is wrong.*\(1, 2\).*kink"):
            check_layer(relu_forward, relu_backward, {"x": x})


SMOOTH_POINTS = np.array([0.0, 1e-7, -0.3, 1.7, 4.0, -2.5])


@pytest.mark.parametrize(
    "f, x",
    [
        (lambda x: np.sum(x**2), SMOOTH_POINTS),
        (lambda x: np.sum(np.sin(3 * x)), SMOOTH_POINTS),
        (lambda x: np.sum(np.exp(2 * x)), SMOOTH_POINTS),
        (lambda x: np.sum(x**3), SMOOTH_POINTS),
        (lambda x: 1e6 * np.sum(x**2), SMOOTH_POINTS),
        (lambda x: 1e-9 * np.sum(np.tanh(x)), SMOOTH_POINTS),
        (lambda x: 7.0, SMOOTH_POINTS),
        (lambda x: np.sum(np.maximum(x, 0)), SMOOTH_POINTS[2:]),  # ReLU away from its kink
        (lambda x: np.max(x), SMOOTH_POINTS),  # max without ties
    ],
)
def test_no_kink_warning_for_smooth_functions(f, x, no_warnings):
    x = x.copy()
    numerical_gradient(f, x)
    numerical_gradient_array(lambda x: x * f(x), x, np.ones_like(x))


def test_no_kink_warning_for_correct_smooth_layer(linear_inputs, no_warnings):
    check_layer(linear_forward, linear_backward, linear_inputs)


def test_smooth_layers_pass_without_warnings_over_many_seeds(no_warnings):
    def forward(x, w, b):
        out = np.tanh(x @ w + b)
        return out, (x, w, out)

    def backward(dout, cache):
        x, w, out = cache
        da = dout * (1 - out**2)
        return da @ w.T, x.T @ da, da.sum(axis=0)

    for seed in range(20):
        rng = np.random.default_rng(seed)
        inputs = {"x": rng.standard_normal((3, 4)), "w": rng.standard_normal((4, 5)),
                  "b": rng.standard_normal(5)}
        assert check_layer(forward, backward, inputs, seed=seed, threshold=1e-6).passed


def test_errors_name_the_argument(rng):
    x = rng.standard_normal(3)
    f = lambda x: np.sum(x)  # noqa: E731
    cases = [
        (lambda: numerical_gradient("f", x), TypeError, "f must be a callable"),
        (lambda: numerical_gradient(f, [1.0, 2.0]), TypeError, "x must be a numpy array"),
        (lambda: numerical_gradient(f, np.arange(3)), TypeError, "x must be a floating-point"),
        (lambda: numerical_gradient(f, x.astype(np.float32)), TypeError, "x must have dtype"),
        (lambda: numerical_gradient(f, np.array([1.0, np.nan])), ValueError, "x must contain"),
        (lambda: numerical_gradient(f, x, h=0), ValueError, "h must be a positive"),
        (lambda: numerical_gradient(f, np.broadcast_to(x, (2, 3))), ValueError,
         "x must be writeable"),
        (lambda: numerical_gradient(f, x, h="1"), TypeError, "h must be a positive"),
        (lambda: numerical_gradient(lambda x: x, x), TypeError, "must return a single number"),
        (lambda: numerical_gradient(lambda x: np.nan, x), ValueError, "returned nan"),
        (lambda: numerical_gradient_array(np.sin, x, np.ones(4)), ValueError, "dout has shape"),
        (lambda: numerical_gradient_array(np.sin, x, [1.0]), TypeError, "dout must be"),
        (lambda: rel_error("a", 1.0), TypeError, "a must be"),
        (lambda: rel_error(1.0, None), TypeError, "b must be"),
        (lambda: sampled_gradient_check(f, x, np.ones(4)), ValueError, "analytic has shape"),
        (lambda: sampled_gradient_check(f, x, x, num_checks=0), ValueError, "num_checks"),
        (lambda: sampled_gradient_check(f, x, x, seed=-1), TypeError, "seed"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()


def test_check_layer_errors_name_the_argument(linear_inputs):
    fw, bw = linear_forward, linear_backward
    cases = [
        (lambda: check_layer(None, bw, linear_inputs), TypeError, "forward must be a callable"),
        (lambda: check_layer(fw, 3, linear_inputs), TypeError, "backward must be a callable"),
        (lambda: check_layer(fw, bw, [1.0]), TypeError, "inputs must be a dict"),
        (lambda: check_layer(fw, bw, {}), ValueError, "inputs must contain"),
        (lambda: check_layer(fw, bw, {"x": [1.0]}), TypeError, r"inputs\['x'\] must be a numpy"),
        (lambda: check_layer(fw, bw, {"x": np.arange(3)}), TypeError, r"inputs\['x'\]"),
        (lambda: check_layer(fw, bw, {"x": np.array([np.inf])}), ValueError, r"inputs\['x'\]"),
        (lambda: check_layer(fw, bw, linear_inputs, threshold=-1), ValueError, "threshold"),
        (lambda: check_layer(fw, bw, linear_inputs, seed=1.5), TypeError, "seed"),
        (lambda: check_layer(fw, bw, linear_inputs, h=0.0), ValueError, "h must"),
        (lambda: check_layer(lambda x, w, b: x, bw, linear_inputs), TypeError,
         r"forward must return a pair \(out, cache\)"),
        (lambda: check_layer(fw, lambda d, c: 1.0, linear_inputs), TypeError,
         "backward must return a tuple"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()


def test_check_gradients_errors_name_the_argument(rng):
    loss, params, grads = two_layer(rng)
    cases = [
        (lambda: check_gradients(1, params, grads), TypeError, "f must be a callable"),
        (lambda: check_gradients(loss, [1], grads), TypeError, "params must be a dict"),
        (lambda: check_gradients(loss, params, [1]), TypeError, "grads must be a dict"),
        (lambda: check_gradients(loss, params, {"W1": grads["W1"]}), ValueError,
         r"grads must have the same keys.*b1"),
        (lambda: check_gradients(loss, {"W": np.ones(2, np.float32)}, {"W": np.ones(2)}),
         TypeError, r"params\['W'\] must have dtype float64"),
        (lambda: check_gradients(loss, params, {**grads, "W1": "x"}), TypeError,
         r"grads\['W1'\] must be"),
        (lambda: check_gradients(loss, params, grads, threshold=0), ValueError, "threshold"),
        (lambda: check_gradients(lambda: np.ones(2), params, grads), TypeError,
         r"f\(\) must return a single number"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()
