"""Calls of a test cell to your functions, watched as the grader watches them (validate.py).

The grader hands your functions copies of a test's arrays and fails a test cell whose calls
changed one of them in place: "<name> modified its input <x> in place; work on a new array
instead". validate.py runs this file in the kernel, so validate gives that verdict too: while a
test cell runs, the functions and methods it names (defined in the notebook) get copies of the
arrays they are given, and what they changed is reported when the cell ends. Calls your own
code makes to your own functions are left alone, as in the grader.
"""

from __future__ import annotations

import inspect
import re
import sys
import types

MESSAGE = "{name} modified its input {where} in place; work on a new array instead"


def _is_array(value) -> bool:
    np = sys.modules.get("numpy")  # not imported yet: there are no arrays to watch
    return np is not None and isinstance(value, np.ndarray)


def _copies(value):
    """value with every array in it (in tuples, lists and dicts too) copied."""
    if _is_array(value):
        return value.copy()
    if isinstance(value, tuple | list):
        return type(value)(_copies(v) for v in value)
    if isinstance(value, dict):
        return {k: _copies(v) for k, v in value.items()}
    return value


def _changed(given, original, where: str) -> list[str]:
    """Where arrays in `given` differ from those in `original` (by parameter name and keys)."""
    if _is_array(original):
        np = sys.modules["numpy"]
        same = (_is_array(given) and given.shape == original.shape
                and given.dtype == original.dtype
                and np.array_equal(given, original, equal_nan=original.dtype.kind in "fc"))
        return [] if same else [where]
    if isinstance(original, tuple | list) and isinstance(given, tuple | list):
        return [w for i, (g, o) in enumerate(zip(given, original, strict=False))
                for w in _changed(g, o, f"{where}[{i}]")]
    if isinstance(original, dict) and isinstance(given, dict):
        return [w for k in original if k in given
                for w in _changed(given[k], original[k], f"{where}[{k!r}]")]
    return []


def _param_names(fn, count: int) -> list[str]:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return []
    names = []
    for param in params[:count]:
        if param.kind not in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            break
        names.append(param.name)
    return names


class Watch:
    """Wraps the notebook's functions a test cell names while it runs; reports changed inputs."""

    def __init__(self, user_ns: dict):
        self.user_ns = user_ns
        self.undo: list = []
        self.changes: list[str] = []
        self.own_files: set[str] = set()  # where the notebook's functions were compiled

    def _watched(self, fn, name: str, method: bool):
        watch = self

        def watched(*args, **kwargs):
            if sys._getframe(1).f_code.co_filename in watch.own_files:
                return fn(*args, **kwargs)  # the notebook's code calling its own: as it is
            given = [_copies(a) for a in args]
            given_kw = {k: _copies(v) for k, v in kwargs.items()}
            result = fn(*given, **given_kw)
            params = _param_names(fn, len(args))[1 if method else 0:]
            own = args[1:] if method else args
            for i, (g, o) in enumerate(zip(given[1 if method else 0:], own, strict=True)):
                label = params[i] if i < len(params) else f"argument {i + 1}"
                for where in _changed(g, o, label):
                    watch.changes.append(MESSAGE.format(name=name, where=where))
            for key, value in kwargs.items():
                for where in _changed(given_kw[key], value, key):
                    watch.changes.append(MESSAGE.format(name=name, where=where))
            return result

        watched.__wrapped__ = fn
        for attr in ("__name__", "__qualname__", "__doc__", "__module__"):
            setattr(watched, attr, getattr(fn, attr, None))
        return watched

    def start(self, source: str) -> None:
        """Wrap the notebook's functions (and its classes' methods) that `source` names."""
        self.undo, self.changes = [], []
        self.own_files = set()
        for value in list(self.user_ns.values()):
            fns = vars(value).values() if isinstance(value, type) else [value]
            for fn in fns:
                if isinstance(fn, types.FunctionType) and fn.__module__ == "__main__":
                    self.own_files.add(fn.__code__.co_filename)
        classes = set()
        for word in set(re.findall(r"[A-Za-z_]\w*", source)):
            value = self.user_ns.get(word)
            if isinstance(value, types.FunctionType) and value.__module__ == "__main__":
                self.user_ns[word] = self._watched(value, value.__name__, method=False)
                self.undo.append((self.user_ns, word, value))
            elif isinstance(value, type) and value.__module__ == "__main__":
                classes.add(value)
            elif type(value).__module__ == "__main__":
                classes.add(type(value))
        for cls in classes:
            for attr, fn in list(vars(cls).items()):
                if isinstance(fn, types.FunctionType) and not attr.startswith("__"):
                    setattr(cls, attr, self._watched(fn, fn.__name__, method=True))
                    self.undo.append((cls, attr, fn))

    def stop(self, cell_failed: bool) -> None:
        """Unwrap; raise the grader's failure when a finished cell's calls changed an input."""
        for owner, name, fn in reversed(self.undo):
            if isinstance(owner, dict):
                if getattr(owner.get(name), "__wrapped__", None) is fn:
                    owner[name] = fn
            else:
                setattr(owner, name, fn)
        self.undo = []
        changes, self.changes = self.changes, []
        if changes and not cell_failed:
            raise AssertionError(changes[0])
