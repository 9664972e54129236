"""helpers.cost: the Python lines a call runs grow with its loops, never with vectorised work."""

import sys

import numpy as np
import pytest

from helpers import cost


def loop_sum(x):
    total = 0.0
    for value in x.ravel():
        total += value
    return total


def test_a_loop_runs_a_line_per_item_and_vectorised_code_runs_the_same_lines():
    small, large = np.ones(10), np.ones(1000)
    assert cost.python_lines(loop_sum, large)[1] - cost.python_lines(loop_sum, small)[1] >= 990
    _, few = cost.python_lines(np.pad, small, 1)
    _, same = cost.python_lines(np.pad, large, 1)
    assert few == same > 0  # np.pad is Python: its lines are counted, the same for any size
    assert cost.python_lines(np.sum, large) == (1000.0, cost.python_lines(np.sum, small)[1])


def test_comprehensions_generators_and_callbacks_are_counted():
    assert cost.python_lines(lambda n: [i for i in range(n)], 500)[1] >= 500
    assert cost.python_lines(lambda n: sum(i for i in range(n)), 500)[1] >= 500
    assert cost.python_lines(lambda n: list(map(lambda i: i, range(n))), 500)[1] >= 500


def test_a_call_past_the_limit_is_stopped_with_a_clear_error():
    def swallowing(n):
        for _ in range(n):
            try:
                loop_sum(np.ones(3))
            except BaseException:  # noqa: B036, S110 - what a student may write
                pass

    for fn in (loop_sum, swallowing):
        with pytest.raises(cost.TooManyLines, match=f"{fn.__name__} ran more than"):
            cost.python_lines(fn, np.ones(cost.MAX_LINES) if fn is loop_sum else cost.MAX_LINES)
    assert sys.gettrace() is None


def test_a_function_that_changes_the_trace_function_is_refused():
    def untraced():
        sys.settrace(None)
        return loop_sum(np.ones(100))

    with pytest.raises(cost.TracingChanged, match="untraced changed the trace function"):
        cost.python_lines(untraced)
    assert sys.settrace.__module__ == "sys" and sys.gettrace() is None


def test_errors_pass_through_and_bad_arguments_are_named():
    with pytest.raises(ZeroDivisionError):
        cost.python_lines(lambda: 1 / 0)
    with pytest.raises(TypeError, match="fn must be a function; got int"):
        cost.seconds(3)
    with pytest.raises(ValueError, match="kind must be 'seconds' or 'lines'; got 'bytes'"):
        cost.measure("bytes", loop_sum, (np.ones(2),))
    value, seconds = cost.seconds(loop_sum, np.ones(4))
    assert value == 4.0 and 0 < seconds < 1
