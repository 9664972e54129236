"""Check cells for the lessons: a wrong or missing answer prints "Not yet: <hint>" and the notebook
runs on, so Run All still reaches every demo and figure.

    with check("check-shift"):
        assert acc_shifted is not None, "set acc_shifted to the accuracy"
        print("correct:", acc_shifted)

An AssertionError inside the block prints "Not yet: <its message>"; any other error prints
"Not yet: <hint> (the check raised <error>)". Neither stops the notebook, unless the environment
variable HELPERS_STRICT_CHECKS is set to 1, which re-raises them (for tools that want a failing
check to fail the run). Every verdict is recorded in `results` (name -> True or False).
"""

import os

__all__ = ["NOT_YET", "STRICT_ENV", "check", "results"]

NOT_YET = "Not yet:"
STRICT_ENV = "HELPERS_STRICT_CHECKS"
DEFAULT_HINT = "this check does not accept your answer yet"

results = {}  # check name -> True (passed) or False (not yet), latest run of each


def strict() -> bool:
    """True when HELPERS_STRICT_CHECKS=1: failed checks raise instead of printing "Not yet"."""
    return os.environ.get(STRICT_ENV, "").strip() == "1"


class check:  # noqa: N801 (used as `with check(...)`, like a function)
    """Context manager for a check cell: a failure prints "Not yet: <hint>" and is recorded."""

    def __init__(self, name=None, hint=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a string or None; got {type(name).__name__}")
        if hint is not None and not isinstance(hint, str):
            raise TypeError(f"hint must be a string or None; got {type(hint).__name__}")
        self.name = name if name is not None else f"check {len(results) + 1}"
        self.hint = hint
        self.passed = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.passed = True
            results[self.name] = True
            return False
        if not issubclass(exc_type, Exception):  # KeyboardInterrupt, SystemExit: let them go
            return False
        self.passed = False
        results[self.name] = False
        print(f"{NOT_YET} {self.message(exc)}")
        return not strict()

    def message(self, exc) -> str:
        """The hint shown for exception exc: the assert's own message, else the check's hint."""
        text = str(exc).strip()
        if isinstance(exc, AssertionError):
            return text or self.hint or DEFAULT_HINT
        raised = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        return f"{self.hint or DEFAULT_HINT} (the check raised {raised})"
