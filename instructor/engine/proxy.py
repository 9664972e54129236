"""Student objects in the judge: proxies, the link that forwards to the worker, records of calls.

A test cell never holds a student object: what the worker returns arrives as plain data (arrays,
numbers, lists, dicts) or as a Proxy whose calls, attributes and items are requests over the
Link. Each call a test makes is kept as a CallRecord (what the student changed in place), which
the running test reads with calls(), last_call() or allow_in_place() (protocol.py).
"""

from __future__ import annotations

import builtins
import importlib
import re
import sys
import weakref

import numpy as np

from instructor.cells import strip_hidden_tests
from instructor.engine import protocol, wire

SHARED_MODULES = re.compile(r"(numpy|helpers)(\.[A-Za-z_]\w*)*|math")  # modules mapped to ours
# Words from the worker that a judge message may quote. The worker runs student code, so its
# type names, descriptions and parameter names are student text that could carry hidden inputs
# into feedback: a message quotes only the course's kind of name (short, lower case), the names
# of builtin and numpy types, the worker's own array description, and a callee's name only when
# the test cell writes it too (Link.target_name).
SHORT_NAME = re.compile(r"[a-z_][a-z0-9_]{0,11}")
SAFE_TYPES = frozenset(
    [name for name, value in vars(builtins).items() if isinstance(value, type)]
    + [name for name, value in vars(np).items() if isinstance(value, type)]
    + ["function", "method", "module", "builtin_function_or_method", "generator"]
)
ARRAY_WORDS = re.compile(
    r"array of dtype (bool|object|(u?int|float|complex)\d{1,3}|[<>|=]?[A-Za-z]\d{0,3}), "
    r"shape \((\d{1,9}, ?)*\d{0,9}\)(, \d{1,9} MB)?"
)


class WorkerGone(BaseException):
    """The worker died or timed out during a call; the test cell cannot continue."""


class Link:
    """The judge's side of the relay to the worker (through the driver)."""

    def __init__(self, channel: wire.Channel):
        self.channel = channel
        self.gone = False
        self.tracked: list = []
        self.names: dict[int, str] = {}
        self.quotable: frozenset[str] = frozenset()  # the names the running test cell shows

    def start_test(self, source: str, free: list[str]) -> None:
        """A new test cell: a message may quote the names its visible part writes and the
        student globals it reads (`free`)."""
        visible = strip_hidden_tests(source)
        self.quotable = frozenset(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", visible)) | set(free)

    def track(self, array, origin: int) -> None:
        """Remember an array read from the worker, to write the test's changes back later."""
        self.tracked.append((weakref.ref(array), origin, array.copy()))

    def sync(self, encoder: wire.Encoder) -> list:
        """Changes the test made to arrays it read from the worker, to apply there first."""
        entries, kept = [], []
        for ref, origin, before in self.tracked:
            array = ref()
            if array is None:
                continue
            if array.shape != before.shape or not np.array_equal(_bytes(array), _bytes(before)):
                entries.append([origin, encoder.encode(array)])
                before = array.copy()
            kept.append((ref, origin, before))
        self.tracked = kept
        return entries

    def ask(self, msg: dict, encoder: wire.Encoder | None = None, paths=()):
        """Send one request about a handle; returns the decoded value or raises.

        `paths` names the arrays passed (in the order wire.collect_arrays finds them); a call
        is recorded in CALLS with the inputs the student changed in place. The judge's own
        arrays are never written to: what the student left in them is kept in the record.
        """
        if self.gone:
            raise WorkerGone("the worker is gone")
        encoder = encoder or wire.Encoder(lambda obj: None)
        msg = dict(msg, to="worker", sync=self.sync(encoder))
        self.channel.send(msg, encoder.buffers)
        reply, buffers = self.channel.recv()
        if protocol.DEAD in reply:
            self.gone = True
            raise WorkerGone(str(reply[protocol.DEAD]))
        if protocol.COPY_ENDED in reply:  # the worker's copy serving this test cell died
            self.gone = True
            info = reply[protocol.COPY_ENDED]
            raise WorkerGone(info if isinstance(info, dict) else {})
        if "exc" in reply:
            raise rebuild_exception(reply["exc"])
        tree = reply.get("ok") if isinstance(reply, dict) else None
        if not isinstance(tree, dict):
            raise wire.WireError("malformed reply")
        decoder = wire.Decoder(buffers, self.special, self.track)
        value = decoder.decode(tree.get("value"))
        if msg["op"] == "call":
            CALLS.append(self._record(msg, tree, decoder, paths))
        return value

    def _record(self, msg: dict, tree: dict, decoder: wire.Decoder, paths) -> CallRecord:
        """What one call changed in its inputs, named after the student's parameters."""
        modified, after = tree.get("modified") or [], tree.get("after") or []
        params = tree.get("params") or []
        if not (
            isinstance(modified, list)
            and isinstance(after, list)
            and isinstance(params, list)
            and len(modified) == len(after)
            and all(type(i) is int and 0 <= i < len(paths) for i in modified)
        ):
            raise wire.WireError("malformed list of modified inputs")
        names = {}
        for i, node in zip(modified, after, strict=True):
            label = paths[i].label([p if type(p) is str else "" for p in params])
            names[label] = decoder.decode(node)
        measured = tree.get("measured")
        if "measure" in msg and type(measured) not in (int, float):
            raise wire.WireError("a measured call came back without its measure")
        return CallRecord(self.target_name(msg["target"]), tuple(names), names, _test_line(),
                          measured)

    def target_name(self, handle) -> str:
        """The callee's name for messages: the student's own name for it only when the test
        cell's visible code or its free names hold that name too (a name is student text that
        could carry hidden inputs), else "student code"."""
        name = self.names.get(handle, "")
        return name if name in self.quotable else "student code"

    def special(self, tag, args):
        """Handles become proxies; a few libraries' modules become the judge's own."""
        if tag == "H" and len(args) in (2, 3) and type(args[0]) is int:
            if all(type(a) is str for a in args[1:]):
                proxy = Proxy(self, args[0], args[1][:100], args[2][:200] if args[2:] else "")
                if args[2:] and args[2] and args[1] in ("function", "method"):
                    self.names[args[0]] = args[2][:100]
                return proxy
        if tag == "M" and len(args) == 2 and type(args[0]) is str and type(args[1]) is int:
            module = shared_module(args[0])
            if module is not None:
                return module
            return Proxy(self, args[1], "module", args[0][:100])
        raise wire.WireError(f"unexpected node {str(tag)[:20]!r}")


def _test_line() -> int | None:
    """The line of the running test cell that is calling student code."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename.startswith("<test cell "):
            return frame.f_lineno
        frame = frame.f_back
    return None


class CallRecord:
    """One call a test made to student code: the callee and the inputs it changed in place.

    `modified` names the changed inputs by the student's parameter names ("x", "dout",
    "cache[1]", "argument 2" when the name is unknown); `after` maps each to what the student
    left in it. The test's own arrays still hold what it passed.
    """

    def __init__(self, name: str, modified: tuple, after: dict, line: int | None = None,
                 measured: float | None = None):
        self.name, self.modified, self.after = name, modified, after
        self.line = line  # the test cell's line that made the call
        self.measured = measured  # what helpers.cost asked for, measured in the worker

    def __repr__(self) -> str:
        return f"CallRecord({self.name!r}, modified={self.modified!r})"


CALLS: list[CallRecord] = []  # the calls of the running test cell, in order
CHECKED = [False]  # whether the running test cell looked at its calls (then it judges them)


def calls() -> list[CallRecord]:
    """Every call the running test cell made to student code, in order."""
    CHECKED[0] = True
    return list(CALLS)


def last_call() -> CallRecord | None:
    """The latest call the running test cell made to student code (None before any)."""
    CHECKED[0] = True
    return CALLS[-1] if CALLS else None


def allow_in_place() -> None:
    """Let the running test cell pass although student code changed an input in place."""
    CHECKED[0] = True


def unchecked_in_place() -> tuple[str, int | None]:
    """The failure for an input changed in place that the test did not look at, and its line.

    A test cell that never asks about its calls (calls, last_call, allow_in_place) fails when
    student code changed one of its arrays in place.
    """
    if CHECKED[0]:
        return "", None
    for record in CALLS:
        if record.modified:
            message = f"{record.name} modified its input {record.modified[0]} in place; "
            return message + "work on a new array instead", record.line
    return "", None


class ArgPath:
    """Where an array sat in a call's arguments: a position or keyword, then item keys."""

    def __init__(self, top, keys=()):
        self.top, self.keys = top, tuple(keys)

    def label(self, params: list[str]) -> str:
        if type(self.top) is int:
            name = params[self.top] if self.top < len(params) else ""
            name = name if SHORT_NAME.fullmatch(name) else f"argument {self.top + 1}"
        else:
            name = self.top
        return name + "".join(f"[{k!r}]" for k in self.keys)


def measure_in_worker(kind: str, fn, args, kwargs):
    """helpers.cost's measurer for student functions: measured in the worker, where they run."""
    if not isinstance(fn, Proxy):
        return None
    value = fn._ask("call", args=args, kwargs=kwargs, plain={"measure": kind})
    return value, CALLS[-1].measured


def collect_paths(value, path: ArgPath, found: list) -> None:
    """Append the path of every array in value, in the order wire.collect_arrays finds them."""
    if type(value) is np.ndarray:
        found.append(path)
    elif type(value) in (list, tuple):
        for i, v in enumerate(value):
            collect_paths(v, ArgPath(path.top, (*path.keys, i)), found)
    elif type(value) is dict:
        for k, v in value.items():
            collect_paths(v, ArgPath(path.top, (*path.keys, k)), found)


def _bytes(array):
    """The array's bytes as a flat uint8 array (bitwise comparison, NaNs included)."""
    return np.ascontiguousarray(array).reshape(-1).view("u1")


def shared_module(name: str):
    """The judge's own import of a numpy, helpers or math module named by the student, or None.

    Only modules cross by name; functions, classes and other objects are always proxies.
    """
    if not SHARED_MODULES.fullmatch(name):
        return None
    try:
        return importlib.import_module(name)
    except Exception:
        return None


def rebuild_exception(info) -> Exception:
    """The judge-side exception for a student exception: same builtin type, else RuntimeError."""
    if not (isinstance(info, list) and len(info) == 3):
        return RuntimeError("student code raised an unreadable exception")
    name, message = str(info[0])[:100], str(info[1])[:2000]
    kind = getattr(builtins, name, None) if info[2] is True else None
    error = None
    if isinstance(kind, type) and issubclass(kind, Exception):
        try:
            error = kind(message)
        except Exception:
            pass
    error = error if error is not None else RuntimeError(f"{name}: {message}")
    error.student_message = message  # text the student chose: judge.feedback may withhold it
    return error


class Proxy:
    """A student object living in the worker; calls, attributes and items are forwarded."""

    __slots__ = ("_link", "_handle", "_type", "_what")

    def __init__(self, link: Link, handle: int, type_name: str, what: str = ""):
        object.__setattr__(self, "_link", link)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_type", type_name)
        object.__setattr__(self, "_what", what)

    def _ask(self, op: str, **fields):
        encoder = wire.Encoder(lambda obj: self._encode_other(obj))
        body = {k: encoder.encode(v) for k, v in fields.pop("values", {}).items()}
        paths: list = []
        if op == "call":
            body["args"] = [encoder.encode(a) for a in fields["args"]]
            body["kwargs"] = {str(k): encoder.encode(v) for k, v in fields["kwargs"].items()}
            for i, a in enumerate(fields["args"]):
                collect_paths(a, ArgPath(i), paths)
            for k, v in fields["kwargs"].items():
                collect_paths(v, ArgPath(str(k)), paths)
        body.update(fields.get("plain", {}))
        return self._link.ask(dict(body, op=op, target=self._handle), encoder, paths)

    def _encode_other(self, obj):
        if isinstance(obj, Proxy):
            return ["H", obj._handle]
        raise TypeError(f"cannot pass {type(obj).__name__} to student code (only plain data)")

    def __call__(self, *args, **kwargs):
        return self._ask("call", args=args, kwargs=kwargs)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._ask("getattr", plain={"name": name})

    def __setattr__(self, name: str, value) -> None:
        self._ask("setattr", plain={"name": name}, values={"value": value})

    def __getitem__(self, key):
        return self._ask("getitem", values={"key": key})

    def __setitem__(self, key, value) -> None:
        self._ask("setitem", values={"key": key, "value": value})

    def __len__(self) -> int:
        n = self._ask("len")
        if type(n) is not int or n < 0:
            raise TypeError("student __len__ returned a non-integer")
        return n

    def __iter__(self):
        return self._ask("iter")

    def __next__(self):
        return self._ask("next")

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            f"student code gave {self!r}: the grader cannot use as an array anything but "
            f"arrays of numbers or booleans of at most {wire.MAX_VALUE // 2**20} MB"
        )

    def __repr__(self) -> str:
        if self._type == "ndarray" and ARRAY_WORDS.fullmatch(self._what):
            return f"<student {self._what}>"
        kind = self._type if self._type in SAFE_TYPES else "object of the notebook's own class"
        return f"<student {kind}>"
