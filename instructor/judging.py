"""Judge-side helpers for hidden tests: unpredictable inputs, pristine copies, clear verdicts.

Hidden test cells run in the judge, where the student's functions are proxies. These helpers
keep every expected value independent of the student's code: inputs come from rng(tag), the
student gets copies, and expected values are computed from the judge's own untouched arrays.
Checks of how the code runs (loops, analytic gradients) are in instructor/cost_checks.py.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np


def rng(tag: str) -> np.random.Generator:
    """A generator seeded from sha256(JUDGE_SEED + tag): unpredictable, reproducible."""
    digest = hashlib.sha256((os.environ.get("JUDGE_SEED", "") + tag).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def copy(value):
    """A deep copy of plain data (arrays, tuples, lists, dicts); anything else is shared."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if type(value) in (tuple, list):
        return type(value)(copy(v) for v in value)
    if isinstance(value, tuple) and hasattr(type(value), "_make"):  # a namedtuple
        return type(value)._make(copy(v) for v in value)
    if isinstance(value, dict):
        return {k: copy(v) for k, v in value.items()}
    return value


def describe(value) -> str:
    """What student code gave, in words it cannot fill with text: a number, else its kind.

    A test message reaches feedback, and a student's function may have seen the hidden inputs
    of its cell: strings, dict keys and class names it returns are never quoted.
    """
    if isinstance(value, bool | int | float | np.bool_ | np.number):
        return repr(value.item() if isinstance(value, np.generic) else value)
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype.str}, shape {value.shape}"
    if value is None:
        return "None"
    kind = type(value).__name__
    if isinstance(value, str | bytes | tuple | list | dict | set):
        return f"a {kind} of length {len(value)}"
    return repr(value) if kind == "Proxy" else f"a {kind}"  # a proxy quotes only safe words


def _dict_words(got: dict, expected: dict) -> str:
    """How got's keys differ from expected's, naming only expected's (the judge's own)."""
    missing, extra = sorted(set(expected) - set(got)), len(set(got) - set(expected))
    others = f"with {extra} other key{'s' * (extra != 1)}"
    parts = [f"without {missing}"] * bool(missing) + [others] * bool(extra)
    return "a dict " + " and ".join(parts)


def same(a, b) -> bool:
    """a and b hold the same data: equal shapes, dtypes and values (NaNs equal)."""
    if isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype
                and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(b, tuple | list):
        return (type(a) is type(b) and len(a) == len(b)
                and all(same(x, y) for x, y in zip(a, b, strict=True)))
    if isinstance(b, dict):
        return (isinstance(a, dict) and a.keys() == b.keys()
                and all(same(a[k], b[k]) for k in b))
    return a is b or a == b


def call(fn, name: str, args: dict, *, returns: int | None = None, case: str = ""):
    """fn(*copies of args); fails if it modifies an argument or returns another count of values.

    args: {argument name: value}, in call order; the judge's values are never handed out.
    returns: how many values fn must return (a tuple or list of that length), None for one.
    """
    given = {k: copy(v) for k, v in args.items()}
    result = fn(*given.values())
    where = f" ({case})" if case else ""
    for arg, value in args.items():
        assert same(given[arg], value), (
            f"{name} modified its argument {arg} in place{where}: leave the inputs as they are "
            "and write into new arrays (copy first if you need to change one)"
        )
    if returns is not None:
        count = len(result) if isinstance(result, tuple | list) else None
        assert count == returns, (
            f"{name} returned {'one value' if count is None else f'{count} values'}{where}; "
            f"it must return {returns}"
        )
    return result


def as_array(value, what: str, case: str = "") -> np.ndarray:
    """value as a float64 array, or a failure naming `what` if it is not an array of numbers."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        array = None
    where = f" ({case})" if case else ""
    assert array is not None and array.dtype != object, (
        f"{what} is not an array of numbers{where}: got {describe(value)}"
    )
    return array


def check_close(got, expected, what: str, case: str = "", rtol=1e-7, atol=1e-10) -> None:
    """got has expected's shape and values (within rtol/atol), else a failure naming `what`."""
    where = f" ({case})" if case else ""
    if isinstance(expected, dict):
        assert isinstance(got, dict) and set(got) == set(expected), (
            f"{what} must be a dict with the keys {sorted(expected)}{where}; got "
            + (_dict_words(got, expected) if isinstance(got, dict) else describe(got))
        )
        for key, value in expected.items():
            check_close(got[key], value, f"{what}[{key!r}]", case, rtol, atol)
        return
    expected = np.asarray(expected)
    assert np.shape(got) == expected.shape, (
        f"{what} has shape {np.shape(got)}, expected {expected.shape}{where}"
    )
    array = as_array(got, what, case)
    assert np.allclose(array, expected, rtol=rtol, atol=atol), f"{what} has wrong values{where}"


def check_shapes(got, expected, names, what: str, case: str = "") -> None:
    """Each of got's values has the shape of the matching expected value."""
    where = f" ({case})" if case else ""
    for name, g, e in zip(names, got, expected, strict=True):
        assert np.shape(g) == np.shape(e), (
            f"{what}: {name} has shape {np.shape(g)}, expected {np.shape(e)}{where}"
        )


def pool_windows(shape, pool_param):
    """(i, j, top, left) of every pooling window of an (H, W) input."""
    PH, PW, S = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    H, W = shape
    for i in range(1 + (H - PH) // S):
        for j in range(1 + (W - PW) // S):
            yield i, j, i * S, j * S


def check_pool_subgradient(dx, x, dout, pool_param, what: str, case: str = "",
                           atol=1e-9) -> None:
    """dx is a valid max-pool subgradient: each window's dout split over its tied maxima.

    Valid: non-negative weights on the entries equal to the window's maximum, summing to one
    (the first maximum alone is one such split; dout to every tied maximum is not). Windows
    must not overlap, so that each entry of dx belongs to at most one window.
    """
    PH, PW, S = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    if S < PH or S < PW:
        raise ValueError("check_pool_subgradient needs windows that do not overlap")
    x, dout = np.asarray(x, dtype=np.float64), np.asarray(dout, dtype=np.float64)
    where = f" ({case})" if case else ""
    assert np.shape(dx) == x.shape, f"{what} has shape {np.shape(dx)}, expected {x.shape}{where}"
    dx = as_array(dx, what, case)
    covered = np.zeros(x.shape, dtype=bool)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i, j, top, left in pool_windows(x.shape[2:], pool_param):
                window = x[n, c, top:top + PH, left:left + PW]
                grad = dx[n, c, top:top + PH, left:left + PW]
                covered[n, c, top:top + PH, left:left + PW] = True
                tied = window == window.max()
                g = dout[n, c, i, j]
                tol = atol + 1e-7 * abs(g)
                at = f"window ({n}, {c}, {i}, {j})"
                assert np.all(np.abs(grad[~tied]) <= tol), (
                    f"{what}: an entry that is not the maximum of its window gets gradient, "
                    f"{at}{where}"
                )
                assert abs(grad[tied].sum() - g) <= tol * tied.sum(), (
                    f"{what}: the gradients of the maxima of {at} sum to {grad[tied].sum():.6g}, "
                    f"not to that window's dout {g:.6g}{where}: split dout among tied maxima "
                    "with weights that sum to one (e.g. all of it to the first maximum)"
                )
                assert np.all(grad[tied] * np.sign(g) >= -tol), (
                    f"{what}: tied maxima of {at} get gradients of opposite signs{where}: "
                    "the weights of the split must not be negative"
                )
    assert np.all(dx[~covered] == 0), f"{what}: an entry in no window gets gradient{where}"


def check_call(name: str, fn, ref_fn, args: dict, *, outputs, case: str = "", rtol=1e-7,
               atol=1e-10, shapes_only: bool = False):
    """fn against ref_fn on copies of args: the same number of values, each one named in
    outputs (a tuple of names, None for a value not compared; one name for a single value)
    with the reference's shape and values. Returns what fn returned."""
    single = isinstance(outputs, str)
    got = call(fn, name, args, returns=None if single else len(outputs), case=case)
    expected = ref_fn(*copy(list(args.values())))
    pairs = [(outputs, got, expected)] if single else zip(outputs, got, expected, strict=True)
    for what, g, e in pairs:
        if what is None:
            continue
        if shapes_only:
            assert np.shape(g) == np.shape(e), (
                f"{name}: {what} has shape {np.shape(g)}, expected {np.shape(e)}"
                + (f" ({case})" if case else "")
            )
        else:
            check_close(g, e, f"{name}: {what}", case, rtol, atol)
    return got


def check_backward(name: str, forward, backward, ref_forward, ref_backward, args: dict, *,
                   outputs, generator, forward_name: str, case: str = "", rtol=1e-7,
                   atol=1e-10, shapes_only: bool = False):
    """backward(dout, cache of the student's forward) against the reference's gradients.

    dout is drawn with the shape of the reference forward's output, so a bug in the student's
    forward never changes the backward test's input. Returns what backward returned.
    """
    ref_out, ref_cache = ref_forward(*copy(list(args.values())))
    dout = generator.standard_normal(np.shape(ref_out))
    _, cache = call(forward, forward_name, args, returns=2, case=case)
    return check_call(name, backward, lambda d, _c: ref_backward(d, ref_cache),
                      {"dout": dout, "cache": cache}, outputs=outputs, case=case, rtol=rtol,
                      atol=atol, shapes_only=shapes_only)


def live_network_draw(g: np.random.Generator, net, scale: float, x_shape: tuple,
                      num_classes: int, tries: int = 1000):
    """(params, X, y) drawn from g, params shaped like net.params, with every unit of net live.

    In a draw where some ReLU unit is off for every example, the gradient of all below it is
    multiplied by zero, and a wrong layer there can match the reference. net (the reference,
    whose params are set to the draw) must give every bias a non-zero gradient on (X, y).
    """
    shapes = {k: np.shape(v) for k, v in net.params.items()}
    for _ in range(tries):
        params = {k: scale * g.standard_normal(shape) for k, shape in shapes.items()}
        X = g.standard_normal(x_shape)
        y = g.integers(0, num_classes, size=x_shape[0])
        net.params = copy(params)
        _, grads = net.loss(copy(X), copy(y))
        if all(np.all(np.abs(grads[k]) > 1e-8) for k in shapes if k.startswith("b")):
            return params, X, y
    raise RuntimeError(f"no draw in {tries} left every unit live (scale {scale}, X {x_shape})")


def conv_forward_floor(x, w, b, conv_param):
    """The naive reference convolution, with the output size rounded down when the windows do
    not tile the padded input (the rows and columns no window reaches are left out)."""
    from instructor.reference import load_reference

    naive = load_reference("a2_convolution")
    S, P = conv_param["stride"], conv_param["pad"]
    HH, WW = np.shape(w)[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))
    H_out = 1 + (x_pad.shape[2] - HH) // S
    W_out = 1 + (x_pad.shape[3] - WW) // S
    used = x_pad[:, :, : (H_out - 1) * S + HH, : (W_out - 1) * S + WW]
    out, cache = naive.conv_forward_naive(used, w, b, {"stride": S, "pad": 0})
    return out, (np.shape(x), P, cache)


def conv_backward_floor(dout, cache):
    """Backward pass of conv_forward_floor: the rows and columns no window reached get 0."""
    from instructor.reference import load_reference

    naive = load_reference("a2_convolution")
    (N, C, H, W), P, inner = cache
    d_used, dw, db = naive.conv_backward_naive(dout, inner)
    dx_pad = np.zeros((N, C, H + 2 * P, W + 2 * P))
    dx_pad[:, :, : d_used.shape[2], : d_used.shape[3]] = d_used
    return dx_pad[:, :, P : P + H, P : P + W], dw, db
