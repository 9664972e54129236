"""The student edition's call watch (validate.py runs it in the kernel) against the grader's rule.

Each case is notebook code and a test cell, run as a kernel runs them (the notebook's globals,
named __main__); the watch must say what the grader says: the message of the first input a call
from the test changed in place, or nothing.
"""

import importlib.util

import pytest

from instructor.grading.release import EDITION

spec = importlib.util.spec_from_file_location("call_watch", EDITION / "call_watch.py")
call_watch = importlib.util.module_from_spec(spec)
spec.loader.exec_module(call_watch)

NOTEBOOK = """
import collections
import numpy as np

Cache = collections.namedtuple("Cache", "x w")

def double(x):
    x *= 2
    return x

def fresh(x):
    return x * 2

def with_cache(cache):
    return cache.x.sum()

def planned(x):
    planned.calls += 1
    return x + 1
planned.calls = 0

def rows(x):
    return np.apply_along_axis(double, 1, x.copy())  # its own function, through numpy

class Base:
    def scale(self, x):
        x *= 3
        return x

class Net(Base):
    def __init__(self):
        self.seen = []

    @staticmethod
    def clip(x):
        np.clip(x, 0, 1, out=x)
        return x

    def keep(self, x):
        self.seen.append(x)  # changes itself, not its input
        return x
"""

CASES = {
    "function": ("double(np.ones(3))", "double modified its input x in place"),
    "copy-to-the-function": ("x = np.ones(3)\ndouble(x)\nassert x[0] == 1", "double modified"),
    "keyword": ("double(x=np.ones(3))", "double modified its input x in place"),
    "nested": ("double((np.ones(2), np.ones(2)))", None),  # a tuple: *= builds a new one
    "fresh": ("fresh(np.ones(3))", None),
    "namedtuple": ("with_cache(Cache(np.ones(2), np.ones(2)))", None),
    "attribute": ("planned(np.ones(2))\nassert planned.calls == 1", None),
    "own-through-numpy": ("rows(np.ones((2, 2)))", None),
    "inherited": ("Net().scale(np.ones(2))", "scale modified its input x in place"),
    "static": ("Net.clip(np.full(2, 5.0))", "clip modified its input x in place"),
    "self-kept": ("n = Net()\nn.keep(np.ones(2))\nassert len(n.seen) == 1", None),
    "lambda-in-test": ("f = lambda v: double(v)\nf(np.ones(2))", "double modified"),
}


@pytest.mark.parametrize("case", CASES)
def test_the_watch_says_what_the_grader_says(case):
    test, verdict = CASES[case]
    ns = {"__name__": "__main__"}
    exec(compile(NOTEBOOK, "<notebook cell>", "exec"), ns)
    watch = call_watch.Watch(ns)
    watch.start(test)
    failed = False
    try:
        exec(compile(test, "<test cell>", "exec"), ns)
    except AssertionError:
        failed = True
    if verdict is None:
        watch.stop(failed)
        assert not failed
    else:
        with pytest.raises(AssertionError, match=verdict):
            watch.stop(failed)
    assert ns["double"].__code__.co_filename == "<notebook cell>"  # everything unwrapped
    assert ns["Net"].__dict__["clip"].__func__.__code__.co_filename == "<notebook cell>"


def test_the_watch_quotes_the_parameter_names_the_grader_quotes():
    from instructor.engine import proxy

    assert call_watch.SHORT_NAME.pattern == proxy.SHORT_NAME.pattern
