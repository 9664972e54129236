"""Calls of a test cell to your functions, watched as the grader watches them (validate.py).

The grader hands your functions copies of a test's arrays and fails a test cell whose calls
changed one of them in place: "<name> modified its input <x> in place; work on a new array
instead". validate.py runs this file in the kernel, so validate gives that verdict too: while a
test cell runs, the functions and methods it names (defined in the notebook) get copies of the
arrays they are given, and what they changed is reported when the cell ends. Calls your own
code makes to your own functions (directly or through a library) are left alone, as in the
grader.
"""

from __future__ import annotations

import functools
import inspect
import re
import sys
import types

MESSAGE = "{name} modified its input {where} in place; work on a new array instead"
SHORT_NAME = re.compile(r"[a-z_][a-z0-9_]{0,11}")  # parameter names the grader quotes, else
# "argument 2": longer ones could carry text a function saw (instructor/engine/proxy.py)


def _is_array(value) -> bool:
    np = sys.modules.get("numpy")  # not imported yet: there are no arrays to watch
    return np is not None and isinstance(value, np.ndarray)


def _copies(value):
    """value with every array in it copied: in plain tuples, lists and dicts too (as the grader
    sends them); any other container is passed as it is."""
    if _is_array(value):
        return value.copy()
    if type(value) in (tuple, list):
        return type(value)(_copies(v) for v in value)
    if type(value) is dict:
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
    if type(original) in (tuple, list) and type(given) is type(original):
        return [w for i, (g, o) in enumerate(zip(given, original, strict=False))
                for w in _changed(g, o, f"{where}[{i}]")]
    if type(original) is dict and type(given) is dict:
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


def _is_own(fn) -> bool:
    return isinstance(fn, types.FunctionType) and fn.__module__ == "__main__"


METHODS_TOO = ("__init__", "__call__")  # dunders a test calls on the notebook's classes


class Watch:
    """Wraps the notebook's functions a test cell names while it runs; reports changed inputs."""

    def __init__(self, user_ns: dict):
        self.user_ns = user_ns
        self.undo: list = []
        self.changes: list[str] = []
        self.own_files: set[str] = set()  # where the notebook's functions were compiled

    def _from_own_code(self) -> bool:
        """Whether the notebook's own code is on the stack above the watched call."""
        frame = sys._getframe(2)
        while frame is not None:
            if frame.f_code.co_filename in self.own_files:
                return True
            frame = frame.f_back
        return False

    def _watched(self, fn, name: str, skip: int):
        """fn, watched; skip: leading arguments that are not inputs (self, cls)."""
        watch = self

        def watched(*args, **kwargs):
            if watch._from_own_code():
                return fn(*args, **kwargs)  # the notebook's code calling its own: as it is
            params = _param_names(fn, len(args))[skip:]  # before the call can change them
            given = [*args[:skip], *(_copies(a) for a in args[skip:])]
            given_kw = {k: _copies(v) for k, v in kwargs.items()}
            result = fn(*given, **given_kw)
            for i, (g, o) in enumerate(zip(given[skip:], args[skip:], strict=True)):
                name_i = params[i] if i < len(params) else ""
                label = name_i if SHORT_NAME.fullmatch(name_i) else f"argument {i + 1}"
                for where in _changed(g, o, label):
                    watch.changes.append(MESSAGE.format(name=name, where=where))
            for key, value in kwargs.items():
                for where in _changed(given_kw[key], value, key):
                    watch.changes.append(MESSAGE.format(name=name, where=where))
            return result

        return functools.update_wrapper(watched, fn)

    def _wrap_classes(self, classes) -> None:
        """Wrap the methods of these classes and of their bases defined in the notebook."""
        seen = set()
        for klass in (k for cls in classes for k in cls.__mro__):
            if klass.__module__ != "__main__" or klass in seen:
                continue
            seen.add(klass)
            for attr, value in list(vars(klass).items()):
                if attr.startswith("__") and attr not in METHODS_TOO:
                    continue
                if _is_own(value):
                    wrapped = self._watched(value, value.__name__, skip=1)
                elif isinstance(value, staticmethod) and _is_own(value.__func__):
                    wrapped = staticmethod(self._watched(value.__func__, attr, skip=0))
                elif isinstance(value, classmethod) and _is_own(value.__func__):
                    wrapped = classmethod(self._watched(value.__func__, attr, skip=1))
                else:
                    continue
                setattr(klass, attr, wrapped)
                self.undo.append((klass, attr, value))

    def start(self, source: str) -> None:
        """Wrap the notebook's functions (and its classes' methods) that `source` names."""
        self.undo, self.changes = [], []
        self.own_files = set()
        for value in list(self.user_ns.values()):
            if isinstance(value, type) and value.__module__ == "__main__":
                for attr in vars(value).values():
                    fn = getattr(attr, "__func__", attr)
                    if _is_own(fn):
                        self.own_files.add(fn.__code__.co_filename)
            elif _is_own(value):
                self.own_files.add(value.__code__.co_filename)
        classes = set()
        for word in set(re.findall(r"[A-Za-z_]\w*", source)):
            value = self.user_ns.get(word)
            if _is_own(value):
                self.user_ns[word] = self._watched(value, value.__name__, skip=0)
                self.undo.append((self.user_ns, word, value))
            elif isinstance(value, type) and value.__module__ == "__main__":
                classes.add(value)
            elif type(value).__module__ == "__main__":
                classes.add(type(value))
        self._wrap_classes(classes)

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
