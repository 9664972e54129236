"""Numerical gradient checks: central differences, relative errors and readable reports."""

import html
import numbers
import warnings

import numpy as np

__all__ = [
    "GradCheckReport",
    "GradientCheckError",
    "KinkWarning",
    "check_gradients",
    "check_layer",
    "numerical_gradient",
    "numerical_gradient_array",
    "rel_error",
    "sampled_gradient_check",
]


class GradientCheckError(AssertionError):
    """An analytic gradient disagrees with the numerical one (or has the wrong shape)."""

    def __init__(self, message, report=None):
        super().__init__(message)
        self.report = report


class KinkWarning(UserWarning):
    """f is not smooth within h of a probed point, so the numerical gradient is unreliable there."""


def _check_callable(f, name):
    """Raise TypeError unless f is callable."""
    if not callable(f):
        raise TypeError(f"{name} must be a callable (a function); got {type(f).__name__}")


def _check_step(h):
    """Raise unless h is a positive finite real number; return it as float."""
    if isinstance(h, bool) or not isinstance(h, numbers.Real):
        raise TypeError(f"h must be a positive number; got {type(h).__name__}")
    if not np.isfinite(h) or h <= 0:
        raise ValueError(f"h must be a positive number; got {h}")
    return float(h)


def _check_threshold(threshold):
    """Raise unless threshold is a positive finite real number; return it as float."""
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
        raise TypeError(f"threshold must be a positive number; got {type(threshold).__name__}")
    if not np.isfinite(threshold) or threshold <= 0:
        raise ValueError(f"threshold must be a positive number; got {threshold}")
    return float(threshold)


def _check_seed(seed):
    """Raise unless seed is a non-negative integer; return it as int."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(f"seed must be a non-negative integer; got {seed!r}")
    return int(seed)


def _check_float_array(x, name, *, need_float64=False):
    """Raise unless x is a finite floating-point ndarray (float64 and writeable if need_float64)."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy array; got {type(x).__name__}")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(
            f"{name} must be a floating-point array; got dtype {x.dtype} "
            f"(use {name}.astype(np.float64))"
        )
    if need_float64 and x.dtype != np.float64:
        raise TypeError(
            f"{name} must have dtype float64 for an accurate numerical gradient; got {x.dtype} "
            f"(convert it with {name}.astype(np.float64) before calling)"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must contain only finite numbers; it contains nan or inf")
    if need_float64 and not x.flags.writeable:
        raise ValueError(
            f"{name} must be writeable: it is nudged in place (and restored) to measure the "
            f"gradient; got a read-only array (pass {name}.copy())"
        )


def _as_scalar(value, what):
    """Convert the value returned by f to a float, or explain what went wrong."""
    arr = np.asarray(value)
    if arr.size != 1:
        raise TypeError(
            f"{what} must return a single number; got an array of shape {arr.shape} "
            "(for array-valued functions use numerical_gradient_array)"
        )
    try:
        out = float(arr.reshape(()))
    except (TypeError, ValueError) as e:
        raise TypeError(f"{what} must return a number; got {value!r}") from e
    if not np.isfinite(out):
        raise ValueError(f"{what} returned {out}; the numerical gradient needs finite values")
    return out


def _fmt_index(ix):
    """Format a numpy index tuple as (i, j, ...)."""
    return "(" + ", ".join(str(int(i)) for i in ix) + ("," if len(ix) == 1 else "") + ")"


def _slopes(g, x, ix, h, f0, dout):
    """Slopes of g (scalar, or sum(g * dout)) at x[ix], x[ix] restored: central, right, left."""
    old = x[ix]
    try:
        x[ix] = old + h
        fp = g(x)
        x[ix] = old - h
        fm = g(x)
    finally:
        x[ix] = old
    if dout is None:
        up, down, both = fp - f0, f0 - fm, fp - fm
        size = max(abs(fp), abs(fm), abs(f0))
    else:  # differences first, elementwise: outputs that x[ix] does not touch cancel exactly
        up, down, both = (float(np.sum(d * dout)) for d in (fp - f0, f0 - fm, fp - fm))
        size = float(np.sum(np.maximum(np.maximum(abs(fp), abs(fm)), abs(f0)) * abs(dout)))
    return both / (2 * h), up / h, down / h, size


def _is_kink(g, x, ix, h, f0, dout, d_plus, d_minus, size, scale):
    """True when the one-sided slopes at x[ix] disagree as at a kink (ReLU at 0, max ties)."""
    jump = abs(d_plus - d_minus)
    noise = 1e3 * np.finfo(np.float64).eps * size / h
    if jump <= max(0.1 * max(abs(d_plus), abs(d_minus)), 1e-3 * scale, noise):
        return False
    # A smooth f has jump ~ h * |f''|: a ten times smaller step gives a ten times smaller jump.
    # At a kink the jump stays (kink within h/10) or vanishes (kink between h/10 and h).
    _, p2, m2, _ = _slopes(g, x, ix, h / 10, f0, dout)
    ratio = abs(p2 - m2) / jump
    return not 0.03 < ratio < 0.3


def _probe(g, x, h, indices=None, dout=None):
    """Central differences of g (or sum(g * dout)) at x in place: (grad, [(ix, right, left)])."""
    f0 = g(x)
    grad = np.zeros(x.shape, dtype=np.float64)
    if indices is None:
        indices = list(np.ndindex(x.shape))
    found = []
    for ix in indices:
        c, p, m, size = _slopes(g, x, ix, h, f0, dout)
        grad[ix] = c
        found.append((ix, p, m, size))
    scale = float(np.max(np.abs(grad))) if grad.size else 0.0
    kinks = [
        (ix, p, m)
        for ix, p, m, size in found
        if _is_kink(g, x, ix, h, f0, dout, p, m, size, scale)
    ]
    return grad, kinks


def _kink_message(label, kinks, h):
    """Explain in words where the numerical gradient of `label` cannot be trusted."""
    ix, p, m = kinks[0]
    more = f" (and {len(kinks) - 1} more)" if len(kinks) > 1 else ""
    return (
        f"the numerical gradient {label} is not to be trusted at index {_fmt_index(ix)}{more}: "
        f"f is not smooth within h={h:g} there (slope {p:.6g} to the right, {m:.6g} to the "
        "left), as for a ReLU input at 0 or a tie in a max. A mismatch at such a point does "
        "not mean your gradient is wrong; move the inputs away from the kink and check again."
    )


def _warn_kinks(label, kinks, h, stacklevel):
    """Issue one KinkWarning describing the kinks found for `label`."""
    if kinks:
        warnings.warn(_kink_message(label, kinks, h), KinkWarning, stacklevel=stacklevel + 1)


def _scalar_fn(f, what):
    """Wrap f so that it returns a checked float."""
    return lambda x: _as_scalar(f(x), what)


def numerical_gradient(f, x, h=1e-5):
    """Central-difference gradient of scalar f at x: (shape of x) float64; x is restored."""
    _check_callable(f, "f")
    _check_float_array(x, "x", need_float64=True)
    h = _check_step(h)
    grad, kinks = _probe(_scalar_fn(f, "f(x)"), x, h)
    _warn_kinks("of x", kinks, h, stacklevel=2)
    return grad


def _array_fn(f, shape, what):
    """Wrap array-valued f so that it returns a float64 array of the given shape, all finite."""

    def g(x):
        out = np.asarray(f(x))
        if not (np.issubdtype(out.dtype, np.number) or out.dtype == np.bool_):
            raise TypeError(f"{what} must return an array of numbers; got dtype {out.dtype}")
        if out.shape != shape:
            raise ValueError(f"{what} returned shape {out.shape} but dout has shape {shape}")
        out = out.astype(np.float64)  # always a copy, even if f returns x itself
        if not np.all(np.isfinite(out)):
            raise ValueError(f"{what} returned nan or inf; numerical gradients need finite values")
        return out

    return g


def numerical_gradient_array(f, x, dout, h=1e-5):
    """Gradient of sum(f(x) * dout) for array-valued f: (shape of x) float64; x is restored."""
    _check_callable(f, "f")
    _check_float_array(x, "x", need_float64=True)
    if not isinstance(dout, np.ndarray):
        raise TypeError(f"dout must be a numpy array; got {type(dout).__name__}")
    _check_float_array(dout, "dout")
    h = _check_step(h)
    grad, kinks = _probe(_array_fn(f, dout.shape, "f(x)"), x, h, dout=dout.astype(np.float64))
    _warn_kinks("of x", kinks, h, stacklevel=2)
    return grad


def _rel_errors(a, b):
    """Elementwise |a - b| / max(1e-8, |a| + |b|)."""
    return np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))


def _as_numbers(v, name):
    """v as a float64 array, or TypeError naming the argument."""
    arr = np.asarray(v) if v is not None else None
    if arr is None or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{name} must be a number or an array of numbers; got {type(v).__name__}")
    return arr.astype(np.float64)


def rel_error(a, b):
    """Max elementwise relative error |a - b| / max(1e-8, |a| + |b|) of same-shape a, b: float."""
    a_arr, b_arr = _as_numbers(a, "a"), _as_numbers(b, "b")
    if a_arr.shape != b_arr.shape:
        raise ValueError(
            f"a and b must have the same shape; got a with shape {a_arr.shape} "
            f"and b with shape {b_arr.shape}"
        )
    if a_arr.size == 0:
        return 0.0
    return float(np.max(_rel_errors(a_arr, b_arr)))


def sampled_gradient_check(f, x, analytic, num_checks=10, h=1e-5, seed=0):
    """Max relative error between analytic and numerical gradient of scalar f at random entries."""
    _check_callable(f, "f")
    _check_float_array(x, "x", need_float64=True)
    if not isinstance(analytic, np.ndarray):
        raise TypeError(f"analytic must be a numpy array; got {type(analytic).__name__}")
    if analytic.shape != x.shape:
        raise ValueError(
            f"analytic has shape {analytic.shape}, expected {x.shape} (the shape of x)"
        )
    _check_float_array(analytic, "analytic")
    if isinstance(num_checks, bool) or not isinstance(num_checks, numbers.Integral):
        raise TypeError(f"num_checks must be a positive integer; got {num_checks!r}")
    if num_checks < 1:
        raise ValueError(f"num_checks must be a positive integer; got {num_checks}")
    h = _check_step(h)
    seed = _check_seed(seed)
    if x.size == 0:
        raise ValueError("x must have at least one element; got an empty array")
    rng = np.random.default_rng(seed)
    flat = rng.choice(x.size, size=min(int(num_checks), x.size), replace=False)
    indices = [tuple(int(i) for i in np.unravel_index(k, x.shape)) for k in flat]
    grad, kinks = _probe(_scalar_fn(f, "f(x)"), x, h, indices)
    _warn_kinks("of x", kinks, h, stacklevel=2)
    sel = tuple(np.array(ix) for ix in zip(*indices, strict=True)) if x.ndim else ()
    return float(np.max(_rel_errors(grad[sel], analytic.astype(np.float64)[sel])))


def _hint(label, numeric, analytic, threshold):
    """A likely cause of a mismatch, in words ('' when nothing obvious stands out)."""
    bad = ~np.isfinite(analytic)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        return f"{label} contains nan or inf (first at index {_fmt_index(first)})."
    if not analytic.any() and numeric.any():
        return f"{label} is all zeros but the numerical gradient is not: is it computed at all?"
    nn = float(np.sum(numeric * numeric))
    if nn > 0:
        k = float(np.sum(analytic * numeric)) / nn  # best single factor: analytic ~ k * numeric
        if abs(k - 1) > 1e-3 and rel_error(k * numeric, analytic) < max(10 * threshold, 1e-5):
            return (
                f"{label} is {k:.4g} times the numerical gradient everywhere: "
                "look for a missing or extra constant factor (or a flipped sign)."
            )
    return ""


class _Row:
    """Result of comparing one analytic gradient with its numerical estimate."""

    def __init__(self, label, numeric, analytic, threshold, kinks, key=None):
        self.label = label
        self.key = label if key is None else key
        self.shape = tuple(numeric.shape)
        errors = _rel_errors(numeric, analytic)
        if errors.size:
            worst = np.unravel_index(int(np.argmax(errors)), errors.shape)
            self.index = tuple(int(i) for i in worst)
            self.error = float(errors[self.index])
            self.numeric = float(numeric[self.index])
            self.analytic = float(analytic[self.index])
        else:
            self.index, self.error, self.numeric, self.analytic = None, 0.0, np.nan, np.nan
        self.threshold = threshold
        self.kinks = kinks
        self.passed = bool(self.error <= threshold)
        self.hint = "" if self.passed else _hint(label, numeric, analytic, threshold)

    def cells(self):
        """The row as a list of display strings."""
        ix = _fmt_index(self.index) if self.index is not None else "-"
        kink = str(len(self.kinks)) if self.kinks else "-"
        return [
            self.label,
            str(self.shape),
            f"{self.error:.2e}",
            ix,
            f"{self.numeric:.6g}",
            f"{self.analytic:.6g}",
            kink,
            "ok" if self.passed else "FAIL",
        ]


_HEADER = ["gradient", "shape", "max rel. error", "worst index", "numeric", "analytic",
           "kinks", "result"]


class GradCheckReport:
    """Outcome of a gradient check: one row per gradient; str() gives a text table."""

    def __init__(self, rows, threshold, h):
        self.rows = list(rows)
        self.threshold = threshold
        self.h = h

    @property
    def passed(self):
        """True when every gradient is within the threshold."""
        return all(r.passed for r in self.rows)

    @property
    def errors(self):
        """Dict gradient -> max relative error (keys 'dx', 'dw'... or the keys of grads)."""
        return {r.key: r.error for r in self.rows}

    @property
    def max_error(self):
        """Largest relative error over all gradients."""
        return max((r.error for r in self.rows), default=0.0)

    def failure_message(self):
        """Explain every failing gradient in words ('' when all pass)."""
        lines = []
        for r in self.rows:
            if r.passed:
                continue
            msg = (
                f"{r.label} is wrong: at index {_fmt_index(r.index)} the numerical gradient is "
                f"{r.numeric:.6g} but the analytic gradient is {r.analytic:.6g} "
                f"(relative error {r.error:.2e}, allowed {r.threshold:g})."
            )
            if r.hint:
                msg += " " + r.hint
            if any(ix == r.index for ix, _, _ in r.kinks):
                msg += " This point sits on a kink, so the numerical value may be off there."
            lines.append(msg)
        return "\n".join(lines)

    def __str__(self):
        status = "passed" if self.passed else "FAILED"
        rows = [_HEADER] + [r.cells() for r in self.rows]
        widths = [max(len(row[k]) for row in rows) for k in range(len(_HEADER))]
        text = [f"Gradient check (threshold {self.threshold:g}, h={self.h:g}): {status}"]
        for row in rows:
            text.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        return "\n".join(text)

    __repr__ = __str__

    def _repr_html_(self):
        status = "passed" if self.passed else "FAILED"
        colour = "#1a7f37" if self.passed else "#cf222e"
        head = "".join(f"<th>{html.escape(h)}</th>" for h in _HEADER)
        body = []
        for r in self.rows:
            style = "" if r.passed else ' style="background-color:#ffebe9"'
            cells = "".join(f"<td>{html.escape(c)}</td>" for c in r.cells())
            body.append(f"<tr{style}>{cells}</tr>")
        caption = (
            f'<caption style="text-align:left">Gradient check (threshold {self.threshold:g}, '
            f'h={self.h:g}): <b style="color:{colour}">{status}</b></caption>'
        )
        return (
            f"<table>{caption}<thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>"
        )


def _finish(report, stacklevel):
    """Warn about kinks, raise GradientCheckError on failure, else return the report."""
    for r in report.rows:
        _warn_kinks(r.label, r.kinks, report.h, stacklevel=stacklevel + 1)
    if not report.passed:
        raise GradientCheckError(report.failure_message() + "\n\n" + str(report), report)
    return report


def _check_inputs_dict(inputs, name):
    """Raise unless inputs is a non-empty dict str -> finite float array."""
    if not isinstance(inputs, dict):
        raise TypeError(
            f"{name} must be a dict mapping names to arrays, e.g. {{'x': x, 'w': w}}; "
            f"got {type(inputs).__name__}"
        )
    if not inputs:
        raise ValueError(f"{name} must contain at least one array; got an empty dict")
    for key, value in inputs.items():
        if not isinstance(key, str):
            raise TypeError(f"{name} keys must be strings; got {key!r}")
        _check_float_array(value, f"{name}[{key!r}]")


def check_layer(forward, backward, inputs, param=None, *, threshold=1e-7, seed=0, h=1e-5):
    """Compare backward(dout, cache) with numerical gradients of forward; return a report."""
    _check_callable(forward, "forward")
    _check_callable(backward, "backward")
    _check_inputs_dict(inputs, "inputs")
    threshold = _check_threshold(threshold)
    seed = _check_seed(seed)
    h = _check_step(h)
    names = list(inputs)
    xs = {k: np.array(v, dtype=np.float64, copy=True) for k, v in inputs.items()}

    def run(arrays):
        args = [arrays[k].copy() for k in names]
        result = forward(*args) if param is None else forward(*args, param)
        if not isinstance(result, tuple) or len(result) != 2:
            raise TypeError(
                f"forward must return a pair (out, cache); got {type(result).__name__}"
            )
        out = np.asarray(result[0])
        if not np.issubdtype(out.dtype, np.number):
            raise TypeError(f"forward must return a numeric array as out; got dtype {out.dtype}")
        return out.astype(np.float64), result[1]

    out, cache = run(xs)
    dout = np.random.default_rng(seed).standard_normal(out.shape)
    grads = backward(dout.copy(), cache)
    if len(names) == 1 and isinstance(grads, np.ndarray):
        grads = (grads,)
    if not isinstance(grads, tuple | list):
        raise TypeError(
            f"backward must return a tuple with one gradient per input ({', '.join(names)}); "
            f"got {type(grads).__name__}"
        )
    labels = ["d" + k for k in names]
    if len(grads) != len(names):
        raise GradientCheckError(
            f"backward returned {len(grads)} gradient(s), expected {len(names)}: "
            f"{', '.join(labels)} (one per input, in the order of the inputs)"
        )
    analytic = {}
    for k, label, g in zip(names, labels, grads, strict=True):
        a = np.asarray(g) if g is not None else None
        if a is None or not np.issubdtype(a.dtype, np.number):
            raise GradientCheckError(f"{label} must be a numeric array; got {g!r:.60}")
        if a.shape != xs[k].shape:
            raise GradientCheckError(
                f"{label} has shape {a.shape}, expected {xs[k].shape} (the shape of {k})"
            )
        analytic[k] = a.astype(np.float64)

    forward_out = _array_fn(lambda _: run(xs)[0], out.shape, "forward")
    rows = []
    for k, label in zip(names, labels, strict=True):
        numeric, kinks = _probe(forward_out, xs[k], h, dout=dout)
        rows.append(_Row(label, numeric, analytic[k], threshold, kinks))
    return _finish(GradCheckReport(rows, threshold, h), stacklevel=2)


def check_gradients(f, params, grads, *, threshold=1e-6, h=1e-5):
    """Compare grads[name] with numerical gradients of scalar f() w.r.t. params[name]; report."""
    _check_callable(f, "f")
    _check_inputs_dict(params, "params")
    for k, v in params.items():
        _check_float_array(v, f"params[{k!r}]", need_float64=True)
    if not isinstance(grads, dict):
        raise TypeError(
            f"grads must be a dict with the same keys as params; got {type(grads).__name__}"
        )
    missing = [k for k in params if k not in grads]
    extra = [k for k in grads if k not in params]
    if missing or extra:
        raise ValueError(
            "grads must have the same keys as params; "
            f"missing: {missing or 'none'}, unexpected: {extra or 'none'}"
        )
    threshold = _check_threshold(threshold)
    h = _check_step(h)
    analytic = {}
    for k in params:
        label = f"grads[{k!r}]"
        g = grads[k]
        if not isinstance(g, np.ndarray) or not np.issubdtype(g.dtype, np.number):
            raise TypeError(f"{label} must be a numeric numpy array; got {type(g).__name__}")
        if g.shape != params[k].shape:
            raise GradientCheckError(
                f"{label} has shape {g.shape}, expected {params[k].shape} "
                f"(the shape of params[{k!r}])"
            )
        analytic[k] = g.astype(np.float64)
    loss = _scalar_fn(lambda _: f(), "f()")
    rows = []
    for k in params:
        numeric, kinks = _probe(loss, params[k], h)
        rows.append(_Row(f"grads[{k!r}]", numeric, analytic[k], threshold, kinks, key=k))
    return _finish(GradCheckReport(rows, threshold, h), stacklevel=2)
