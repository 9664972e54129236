"""Judge-side checks of how student code runs: no Python loops over pixels, gradients computed
analytically.

Each measures the student's layers against the reference's on fresh inputs drawn from
instructor.judging.rng, with the judge's own clock (a baseline the student's code cannot touch)
and with the lines of Python the layers run (helpers.cost, counted where the student's code runs).
"""

from __future__ import annotations

import time

import numpy as np

from helpers.cost import python_lines
from instructor.judging import copy, rng

_ANALYTIC: dict = {}  # function name -> None if analytic, else the failure message


LOOP_LINES = 32  # each step adds at least 32 items: a Python loop over them runs >= 32 lines


def conv_inputs(generator, n: int, c: int, f: int, *, size: int = 16, k: int = 3, pad: int = 1):
    """Convolution arguments: x (n, c, size, size), w (f, c, k, k), b (f,), stride 1."""
    return (generator.standard_normal((n, c, size, size)), generator.standard_normal((f, c, k, k)),
            generator.standard_normal(f), {"stride": 1, "pad": pad})


def conv_lines(forward, backward, make_args, generator) -> np.ndarray:
    """Lines of Python the forward, then the backward (on its cache), run on make_args(): the
    fewer of two calls on fresh inputs (a first call may also run one-off work: an import, a
    cache filled per shape)."""
    counts = []
    for _ in range(2):
        (out, cache), forward_lines = python_lines(forward, *make_args())
        dout = generator.standard_normal(np.shape(out))
        _, backward_lines = python_lines(backward, dout, cache)
        counts.append((forward_lines, backward_lines))
    return np.min(counts, axis=0)


TIMED_SIZE = 256  # the timed input's height and width (k = 1: as many output positions)


def check_conv_loops(forward, backward, generator, *, rounds: int = 5, factor: float = 10.0,
                     slack: float = 0.03, reference=None):
    """conv_forward_fast and conv_backward_fast loop in Python over no examples, channels,
    filters or pixels.

    Two measures. The lines of Python they run (helpers.cost, counted where the student's code
    runs) must not grow by LOOP_LINES at both of two steps of more examples, or of more channels
    and filters: exact, on any machine (numpy's own Python code may take another path once, at
    some size; a loop adds lines at every step). Their time, measured here (a trusted clock), on
    fresh inputs with one image of 256 x 256 output positions, against the reference's fast
    layers (a baseline the student's code cannot touch) on the same inputs: at most `factor`
    times the reference's plus `slack` seconds for the call. A loop over the positions costs
    about 0.1 s there, three times the slack and 500 times the reference (even vectorised over
    examples, channels and filters); vectorised code a few times the reference.
    """
    names = ("conv_forward_fast", "conv_backward_fast")

    def lines(n, c, f):
        return conv_lines(forward, backward, lambda: conv_inputs(generator, n, c, f), generator)

    steps = [int(v) for v in generator.integers(LOOP_LINES + 8, 3 * LOOP_LINES, size=4)]
    examples = np.cumsum([2, *steps[:2]])
    channels = np.cumsum([1, *steps[2:]])
    for what, sizes, counts in [
        ("examples", examples, [lines(n, 1, 1) for n in examples]),
        ("channels and filters", channels, [lines(2, c, c) for c in channels]),
    ]:
        extra = np.minimum(counts[1] - counts[0], counts[2] - counts[1])
        for name, more in zip(names, extra, strict=True):
            assert more < LOOP_LINES, (
                f"{name} ran {more:.0f} more lines of Python at each of the steps of "
                f"{what} {sizes.tolist()}: remove its Python loops over examples, channels, "
                "filters or pixels"
            )
    if reference is None:
        from instructor.reference import load_reference

        reference = load_reference("a3_convnet")
    layers = [(forward, backward), (reference.conv_forward_fast, reference.conv_backward_fast)]
    best = np.full((2, 2), np.inf)  # (forward, backward) x (student's, reference's)
    for _ in range(rounds):
        args = conv_inputs(generator, 1, 1, 1, size=TIMED_SIZE, k=1, pad=0)
        dout = generator.standard_normal((1, 1, TIMED_SIZE, TIMED_SIZE))  # (N, F, H', W')
        for column, (fwd, bwd) in enumerate(layers):
            start = time.perf_counter()
            _, cache = fwd(*copy(args))
            best[0, column] = min(best[0, column], time.perf_counter() - start)
            start = time.perf_counter()
            bwd(dout.copy(), cache)
            best[1, column] = min(best[1, column], time.perf_counter() - start)
    for name, (student, ref) in zip(names, best, strict=True):
        assert student < factor * ref + slack, (
            f"{name} took {student * 1e3:.1f} ms for {TIMED_SIZE**2} output positions, where the "
            f"reference's vectorised layer takes {ref * 1e3:.1f} ms: it loops over pixels"
        )


def check_analytic_backward(name: str, forward, backward, ref_forward, ref_backward,
                            make_args, *, factor: float = 50.0, slack: float = 0.02,
                            rounds: int = 2) -> None:
    """backward is analytic: on fresh inputs it costs at most `factor` times the naive
    reference backward (plus `slack` seconds for the call), never what finite differences cost.

    A backward computed numerically from the forward runs the forward twice per input entry,
    so on an input with many entries and few output positions it costs hundreds of reference
    backward passes, while an honest loop-based backward costs a few. make_args(rng) gives
    the forward's arguments (x first); each timed call gets fresh ones, so memoising gains
    nothing. A backward (or forward) that is wrong on the timed input but right on it cut to
    two examples (it spots the timed input and answers it cheaply) fails; one that is wrong on
    both is left to the value tests, and an input the forward gets wrong is not timed (another
    is drawn). The verdict is kept for the rest of the grading run (one measurement per
    function).
    """
    key = name  # one judge per notebook: a name stands for one function
    if key not in _ANALYTIC:
        _ANALYTIC[key] = _measure_backward(name, forward, backward, ref_forward, ref_backward,
                                           make_args, factor, slack, rounds)
    message = _ANALYTIC[key]
    assert message is None, message


def _measure_backward(name, forward, backward, ref_forward, ref_backward, make_args, factor,
                      slack, rounds):
    generator = rng(f"analytic {name}")
    worst, t_ref, tried = [], float("inf"), 0
    while len(worst) < rounds and tried < 4 * rounds:
        tried += 1
        args = make_args(generator)
        out, cache = ref_forward(*copy(args))
        dout = generator.standard_normal(np.shape(out))
        try:
            student_out, student_cache = forward(*copy(args))
            forward_right = _close(student_out, out)
        except Exception:  # the student's error, or a value that cannot cross: a wrong forward
            forward_right = False
        if not forward_right:
            if _forward_right_when_small(forward, ref_forward, args):
                return (f"the forward pass was wrong on the input {name} is timed on (shapes "
                        f"{[np.shape(a) for a in args[:3]]}) but right on the same input cut to "
                        "two examples: the layers must be right on every input")
            continue  # a forward bug, left to the forward's tests: time on another input
        for _ in range(5):  # the reference is cheap: its fastest call, so a busy moment
            start = time.perf_counter()  # cannot make it look slow
            expected = ref_backward(dout.copy(), cache)
            t_ref = min(t_ref, time.perf_counter() - start)
        start = time.perf_counter()
        got = backward(dout.copy(), student_cache)
        t_student = time.perf_counter() - start
        if not _close(got, expected) and _right_when_small(forward, backward, ref_forward,
                                                           ref_backward, args, generator):
            return (f"{name} gave wrong gradients on the input it was timed on (shapes "
                    f"{[np.shape(a) for a in args[:3]]}) but right ones on the same input cut to "
                    "two examples: the gradients must be right on every input")
        if t_student <= factor * t_ref + slack:
            return None
        worst.append((t_student, t_ref))
    if not worst:
        return None  # the forward is wrong on every input drawn: its own tests say so
    t_student, t_ref = min(worst)
    return (
        f"{name} took {t_student * 1e3:.0f} ms where a loop over the output positions takes "
        f"{t_ref * 1e3:.1f} ms: its cost grows like a numerical gradient's (the forward pass "
        "again for every input entry); compute the gradients analytically"
    )


def _cut(args):
    """Copies of a layer's (x, w, b, param) with x cut to its first two examples."""
    x, w, b, param = args
    return copy(x[:2]), copy(w), copy(b), copy(param)


def _forward_right_when_small(forward, ref_forward, args) -> bool:
    """Whether forward's output is right on args cut to two examples."""
    small = _cut(args)
    try:
        return _close(forward(*copy(small))[0], ref_forward(*copy(small))[0])
    except Exception:
        return False


def _right_when_small(forward, backward, ref_forward, ref_backward, args, generator) -> bool:
    """Whether backward's gradients are right on args cut to two examples (the same image size,
    channels, filters, stride and padding)."""
    small = _cut(args)
    out, cache = ref_forward(*copy(small))
    dout = generator.standard_normal(np.shape(out))
    try:
        student_out, student_cache = forward(*copy(small))
        return _close(student_out, out) and _close(backward(dout.copy(), student_cache),
                                                   ref_backward(dout.copy(), cache))
    except Exception:
        return False


def _close(got, expected, rtol=1e-6, atol=1e-9) -> bool:
    """got holds expected's values: arrays, or tuples and lists of them, element by element."""
    if isinstance(expected, tuple | list):
        return (isinstance(got, tuple | list) and len(got) == len(expected)
                and all(_close(g, e, rtol, atol) for g, e in zip(got, expected, strict=True)))
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return got.shape == np.shape(expected) and bool(np.allclose(got, expected, rtol, atol))


def few_outputs_conv_args(generator):
    """Convolution inputs with many entries and few output positions, their sizes drawn from
    generator: x (7-10, 3-5, 8-12, 8-12) (even sides), 1-2 filters of 2x2 with stride 2.
    Finite differences over them cost thousands of forward passes."""
    n, c = (int(v) for v in generator.integers((7, 3), (11, 6)))
    h, w = (2 * int(v) for v in generator.integers(4, 7, size=2))
    f = int(generator.integers(1, 3))
    return (generator.standard_normal((n, c, h, w)), generator.standard_normal((f, c, 2, 2)),
            generator.standard_normal(f), {"stride": 2, "pad": 0})
