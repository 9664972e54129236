"""What one call costs, measured where the function runs: its time and the Python lines it runs.

    out, seconds = cost.seconds(conv_forward_fast, x, w, b, conv_param)
    out, lines = cost.python_lines(conv_forward_fast, x, w, b, conv_param)

A vectorised layer runs the same few hundred lines of Python (its own, and numpy's functions
written in Python) whatever the size of its input; a Python loop over examples or pixels runs
at least one more line for every example or pixel. So the growth of the line count with the
input says whether a loop is there, exactly, on any machine and however busy it is; a time
only says so roughly. Under the grader, the student's functions run in another process: the
grader registers a measurer here (ELSEWHERE) that measures them there, with this same code,
so a check gives the verdict it gives in a Jupyter kernel.
"""

import sys
import time

MAX_LINES = 100_000  # a call that runs more is stopped there (TooManyLines): it loops
ELSEWHERE = []  # measurer(kind, fn, args, kwargs) -> (value, measure), or None if fn is local


def seconds(fn, *args, **kwargs):
    """(fn(*args, **kwargs), the seconds that call took, in the process where fn runs)."""
    return measure("seconds", fn, args, kwargs)


def python_lines(fn, *args, **kwargs):
    """(fn(*args, **kwargs), how many lines of Python that call ran); TooManyLines past
    MAX_LINES."""
    return measure("lines", fn, args, kwargs)


def measure(kind: str, fn, args=(), kwargs=None):
    """Call fn and measure `kind` ("seconds" or "lines") where fn runs."""
    if kind not in ("seconds", "lines"):
        raise ValueError(f"kind must be 'seconds' or 'lines'; got {kind!r}")
    if not callable(fn):
        raise TypeError(f"fn must be a function; got {type(fn).__name__}")
    kwargs = kwargs or {}
    for measurer in ELSEWHERE:
        measured = measurer(kind, fn, args, kwargs)
        if measured is not None:
            return measured
    return measure_here(kind, fn, args, kwargs)


def measure_here(kind: str, fn, args, kwargs):
    """Call fn in this process and measure `kind`."""
    if kind == "seconds":
        start = time.perf_counter()
        value = fn(*args, **kwargs)
        return value, time.perf_counter() - start
    return _count_lines(fn, args, kwargs)


class TracingChanged(RuntimeError):
    """The measured function changed the trace function, so its lines could not be counted."""


class TooManyLines(RuntimeError):
    """The measured call ran more than MAX_LINES lines of Python: it was stopped there."""


class _Stop(BaseException):
    """Raised inside the measured call at its line MAX_LINES, to stop it."""


def _count_lines(fn, args, kwargs):
    """fn's value and the 'line' events of every Python frame it ran; stopped at MAX_LINES."""
    count = 0
    outer, settrace = sys.gettrace(), sys.settrace
    name = getattr(fn, "__name__", "the function")

    def local(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
            if count > MAX_LINES:
                raise _Stop
        return local

    def trace(frame, event, arg):
        return local

    def refuse(*_):
        changed.append(True)

    changed: list = []
    sys.settrace = refuse
    settrace(trace)
    try:
        value = fn(*args, **kwargs)
    except BaseException:
        if count <= MAX_LINES:
            raise
        value = None
    finally:
        still = sys.gettrace()
        settrace(outer)
        sys.settrace = settrace
    if count > MAX_LINES:
        raise TooManyLines(
            f"{name} ran more than {MAX_LINES} lines of Python on this input, where a "
            "vectorised function runs a few hundred: it loops in Python"
        )
    if changed or still is not trace:
        raise TracingChanged(
            f"{name} changed the trace function (sys.settrace), so the lines of Python it "
            "runs cannot be counted"
        )
    return value, count
