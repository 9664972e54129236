"""The trusted judge: runs test cells; student objects are reachable only through proxies."""

from __future__ import annotations

import ast
import builtins
import contextlib
import importlib
import io
import re
import sys
import traceback
import warnings
import weakref

import numpy as np

from instructor.cells import hidden_line_numbers, strip_magics
from instructor.engine import protocol, wire

UNTRUSTED_ROOTS = {
    "__main__",
    "antigravity",
    "this",
    "webbrowser",
    "turtle",
    "turtledemo",
    "tkinter",
    "idlelib",
    "instructor",
    "tests",
    "pydoc",
    "code",
    "pdb",
}
TRUSTED_ROOTS = {"numpy", "scipy", "matplotlib", "sklearn", "helpers"} | (
    set(sys.stdlib_module_names) - UNTRUSTED_ROOTS
)
HIDDEN_MESSAGE_CHARS = 300
VISIBLE_MESSAGE_CHARS = 4000


class WorkerGone(BaseException):
    """The worker died or timed out during a call; the test cell cannot continue."""


class Link:
    """The judge's side of the relay to the worker (through the driver)."""

    def __init__(self, channel: wire.Channel):
        self.channel = channel
        self.gone = False
        self.tracked: list = []

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

    def ask(self, msg: dict, encoder: wire.Encoder | None = None, arrays=()):
        """Send one request about a handle; returns the decoded value or raises."""
        if self.gone:
            raise WorkerGone("the worker is gone")
        encoder = encoder or wire.Encoder(lambda obj: None)
        msg = dict(msg, to="worker", sync=self.sync(encoder))
        self.channel.send(msg, encoder.buffers)
        reply, buffers = self.channel.recv()
        if protocol.DEAD in reply:
            self.gone = True
            raise WorkerGone(str(reply[protocol.DEAD]))
        if "exc" in reply:
            raise rebuild_exception(reply["exc"])
        tree = reply.get("ok") if isinstance(reply, dict) else None
        if not isinstance(tree, dict):
            raise wire.WireError("malformed reply")
        decoder = wire.Decoder(buffers, self.special, self.track)
        value = decoder.decode(tree.get("value"))
        changed = tree.get("changed") or []
        if not isinstance(changed, list):
            raise wire.WireError("malformed write-back list")
        for item in changed:
            if not (isinstance(item, list) and len(item) == 2 and type(item[0]) is int):
                raise wire.WireError("malformed write-back entry")
            if not 0 <= item[0] < len(arrays):
                raise wire.WireError("write-back index out of range")
            new, old = decoder.decode(item[1]), arrays[item[0]]
            if not isinstance(new, type(old)) or new.shape != old.shape:
                raise wire.WireError("write-back of an array with another shape")
            old[...] = new
        return value

    def special(self, tag, args):
        """Handles become proxies; modules and library objects become the judge's own."""
        if tag == "H" and len(args) == 2 and type(args[0]) is int and type(args[1]) is str:
            return Proxy(self, args[0], args[1])
        if tag == "M" and len(args) == 1 and type(args[0]) is str:
            module = trusted_module(args[0])
            if module is not None:
                return module
            return Proxy(self, -1, f"module {args[0]}")
        if tag == "F" and len(args) == 3 and all(type(a) is str for a in args[:2]):
            found = trusted_object(args[0], args[1])
            if found is not None:
                return found
            if type(args[2]) is int:
                return Proxy(self, args[2], args[1].rsplit(".", 1)[-1][:100])
        raise wire.WireError(f"unexpected node {tag!r}")


def _bytes(array):
    """The array's bytes as a flat uint8 array (bitwise comparison, NaNs included)."""
    return np.ascontiguousarray(array).reshape(-1).view("u1")


def trusted_module(name: str):
    """The judge's own import of a module from a trusted library, or None."""
    if not re.fullmatch(r"[A-Za-z_][\w.]*", name) or name.split(".")[0] not in TRUSTED_ROOTS:
        return None
    try:
        return importlib.import_module(name)
    except Exception:
        return None


def trusted_object(module_name: str, qualname: str):
    """The judge's own object at module.qualname in a trusted library, or None."""
    module = trusted_module(module_name)
    if module is None or not re.fullmatch(r"[A-Za-z_][\w.]*", qualname):
        return None
    obj = module
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def rebuild_exception(info) -> Exception:
    """The judge-side exception for a student exception: same builtin type, else RuntimeError."""
    if not (isinstance(info, list) and len(info) == 3):
        return RuntimeError("student code raised an unreadable exception")
    name, message = str(info[0])[:100], str(info[1])[:2000]
    kind = getattr(builtins, name, None) if info[2] is True else None
    if isinstance(kind, type) and issubclass(kind, Exception):
        try:
            return kind(message)
        except Exception:
            pass
    return RuntimeError(f"{name}: {message}")


class Proxy:
    """A student object living in the worker; calls, attributes and items are forwarded."""

    __slots__ = ("_link", "_handle", "_type")

    def __init__(self, link: Link, handle: int, type_name: str):
        object.__setattr__(self, "_link", link)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_type", type_name)

    def _ask(self, op: str, **fields):
        arrays: list = []
        encoder = wire.Encoder(lambda obj: self._encode_other(obj))
        encoder_encode = encoder.encode

        def encode(value):
            tree = encoder_encode(value)
            wire.collect_arrays(value, arrays)
            return tree

        body = {k: encode(v) for k, v in fields.pop("values", {}).items()}
        if op == "call":
            body["args"] = [encode(a) for a in fields["args"]]
            body["kwargs"] = {str(k): encode(v) for k, v in fields["kwargs"].items()}
        body.update(fields.get("plain", {}))
        return self._link.ask(dict(body, op=op, target=self._handle), encoder, arrays)

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

    def __repr__(self) -> str:
        return f"<student {self._type} object>"


def free_names(source: str) -> list[str]:
    """Names a test cell reads but never binds itself, other than builtins."""
    try:
        tree = ast.parse(strip_magics(source))
    except SyntaxError:
        return []
    used, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, ast.Store | ast.Del) else used).add(node.id)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return sorted(n for n in used - bound if not hasattr(builtins, n))


def run_test(link: Link, index: int, source: str, snapshot: dict) -> dict:
    """Execute one test cell; returns its verdict and the feedback to show."""
    filename = f"<test cell {index}>"
    hidden = hidden_line_numbers(source)
    lines = source.splitlines()
    ns = {"__name__": "__main__", "__builtins__": builtins}
    ns.update(snapshot)
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                code = compile(strip_magics(source), filename, "exec")
                exec(code, ns)
    except WorkerGone as exc:
        return {"status": "gone", "why": str(exc)}
    except BaseException as exc:  # noqa: B036 - every way a test can end counts
        status = "failed" if isinstance(exc, AssertionError) else "error"
        return dict(status=status, **feedback(exc, filename, lines, hidden))
    finally:
        link.gone = False
    return {"status": "passed"}


def feedback(exc: BaseException, filename: str, lines: list[str], hidden: set[int]) -> dict:
    """Error output for a failed test: visible lines quoted, hidden ones never."""
    name = type(exc).__name__
    try:
        message = str(exc)
    except Exception:
        message = ""
    numbers = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    if isinstance(exc, SyntaxError) and exc.filename == filename and exc.lineno:
        numbers.append(exc.lineno)
        message = exc.msg
    if any(n in hidden for n in numbers) or (not numbers and hidden):
        short = message[:HIDDEN_MESSAGE_CHARS]
        text = f"A hidden test in this cell failed: {name}: {short}".rstrip(": ")
        return {"ename": name, "evalue": short, "traceback": [text]}
    message = message[:VISIBLE_MESSAGE_CHARS]
    trace = ["Traceback (most recent call last):"]
    for number in numbers:
        trace.append(f'  File "{filename}", line {number}')
        if 0 < number <= len(lines):
            trace.append(f"    {lines[number - 1].strip()}")
    trace.append(f"{name}: {message}" if message else name)
    return {"ename": name, "evalue": message, "traceback": trace}


def read_snapshot(channel: wire.Channel, link: Link) -> dict:
    """The student's globals a test uses; a name whose value is malformed is left out."""
    link.tracked = []
    try:
        reply, buffers = channel.recv()
    except wire.WireError:
        return {}
    values = reply.get("ok")
    if not isinstance(values, dict):
        return {}
    snapshot = {}
    for name, node in values.items():
        try:
            snapshot[str(name)] = wire.Decoder(buffers, link.special, link.track).decode(node)
        except (wire.WireError, ValueError, TypeError, RecursionError):
            continue
    return snapshot


def main(rfd: int, wfd: int) -> None:
    """Serve test cells from the driver until it closes the pipe."""
    import numpy  # noqa: F401 - warm the import before timing starts

    channel = wire.Channel(rfd, wfd)
    link = Link(channel)
    channel.send({"ready": True})
    while True:
        try:
            msg, _ = channel.recv()
        except EOFError:
            return
        snapshot = read_snapshot(channel, link)
        verdict = run_test(link, msg["index"], msg["source"], snapshot)
        channel.send(dict(verdict, op=protocol.DONE))
