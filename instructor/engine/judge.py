"""The trusted judge: runs test cells; student objects reach it only as proxies (proxy.py)."""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import sys
import traceback
import warnings

from instructor.cells import hidden_line_numbers
from instructor.engine import protocol, wire
from instructor.engine.proxy import (
    CALLS,
    CHECKED,
    Link,
    WorkerGone,
    measure_in_worker,
    unchecked_in_place,
)

HIDDEN_MESSAGE_CHARS = 300
VISIBLE_MESSAGE_CHARS = 4000


def test_python(source: str) -> str:
    """A test cell's Python, transformed as the kernel would (IPython's TransformerManager)."""
    from IPython.core.inputtransformer2 import TransformerManager

    lines = source.splitlines(True)
    blank = 0
    while blank < len(lines) and not lines[blank].strip():
        blank += 1  # IPython drops leading blank lines: keep them, so line numbers match
    return "\n" * blank + TransformerManager().transform_cell("".join(lines[blank:]))


MAGIC_CALLS = ("run_line_magic", "run_cell_magic")


def _codes(source: str, depth: int = 0) -> list[ast.AST]:
    """The syntax trees of a cell and of the code its magics would run."""
    tree = ast.parse(test_python(source))
    trees = [tree]
    for node in ast.walk(tree):
        if (
            depth < 3
            and isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in MAGIC_CALLS
            and node.args
            and isinstance(node.args[-1], ast.Constant)
            and isinstance(node.args[-1].value, str)
        ):
            try:
                trees += _codes(node.args[-1].value, depth + 1)
            except SyntaxError:
                pass
    return trees


def free_names(source: str) -> list[str]:
    """Names a test cell reads but never binds itself, other than builtins (and get_ipython)."""
    try:
        trees = _codes(source)
    except SyntaxError:
        return []
    used, bound = set(), {"get_ipython"}
    for node in (n for tree in trees for n in ast.walk(tree)):
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


class TestShell:
    """get_ipython() in a test cell: timing and capturing magics run their code once, here."""

    RUNS_BODY = ("time", "timeit", "capture", "prun")

    def __init__(self, ns: dict, filename: str):
        self.ns, self.filename = ns, filename

    def _run(self, code: str, first_line: int) -> None:
        python = test_python(code)
        exec(compile("\n" * (first_line - 1) + python, self.filename, "exec"), self.ns)

    def run_line_magic(self, name, line, _stack_depth=1):
        if name not in self.RUNS_BODY:
            raise RuntimeError(f"test cells do not run %{name}")
        self._run(line, sys._getframe(1).f_lineno)

    def run_cell_magic(self, name, line, cell):
        if name not in self.RUNS_BODY:
            raise RuntimeError(f"test cells do not run %%{name}")
        self._run(cell, 2)

    def system(self, cmd):
        raise RuntimeError("test cells do not run shell commands")

    getoutput = system


def run_test(link: Link, index: int, source: str, snapshot: dict) -> dict:
    """Execute one test cell; returns its verdict and the feedback to show."""
    filename = f"<test cell {index}>"
    hidden = hidden_line_numbers(source)
    lines = source.splitlines()
    ns = {"__name__": "__main__", "__builtins__": builtins}
    ns.update(snapshot)
    shell = TestShell(ns, filename)
    ns["get_ipython"] = lambda: shell
    CALLS.clear()
    CHECKED[0] = False
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                code = compile(test_python(source), filename, "exec")
                exec(code, ns)
        message, line = unchecked_in_place()
        if message:
            return dict(
                status="failed", **feedback(AssertionError(message), filename, lines, hidden, line)
            )
    except WorkerGone as exc:
        info = exc.args[0] if exc.args else ""
        if isinstance(info, dict):
            return {"status": "gone", "copy": {"code": info.get("code")}}
        return {"status": "gone", "why": str(info)}
    except BaseException as exc:  # noqa: B036 - every way a test can end counts
        status = "failed" if isinstance(exc, AssertionError) else "error"
        return dict(status=status, **feedback(exc, filename, lines, hidden))
    finally:
        link.gone = False
    return {"status": "passed"}


def feedback(exc: BaseException, filename: str, lines: list[str], hidden: set[int], at=None):
    """Error output for a failed test: visible lines quoted, hidden ones never."""
    name = type(exc).__name__
    try:
        message = str(exc)
    except Exception:
        message = ""
    numbers = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    numbers += [at] if at else []
    if isinstance(exc, SyntaxError) and exc.filename == filename and exc.lineno:
        numbers.append(exc.lineno)
        message = exc.msg
    if any(n in hidden for n in numbers) or (not numbers and hidden):
        message = withhold_student_text(exc, message)
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


WITHHELD = "<message of your code's exception: not shown, as it could hold the hidden inputs>"


def withhold_student_text(exc: BaseException, message: str) -> str:
    """message with the text of any student exception behind exc replaced by WITHHELD.

    Student code raising during a hidden test could write the hidden inputs into its message;
    the message of a failure there is the judge's own words only.
    """
    seen, error = set(), exc
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        text = getattr(error, "student_message", None)
        if text is not None:
            if error is exc:
                return WITHHELD
            if text:
                message = message.replace(text, WITHHELD)
        error = error.__cause__ or error.__context__
    return message


def read_snapshot(channel: wire.Channel, link: Link, wanted: set[str]) -> dict:
    """The student's globals a test uses: only the `wanted` names (the cell's free names, never
    a builtin or anything the worker adds); a name whose value is malformed is left out."""
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
        if name not in wanted:
            continue
        try:
            snapshot[str(name)] = wire.Decoder(buffers, link.special, link.track).decode(node)
        except (wire.WireError, ValueError, TypeError, RecursionError):
            continue
    return snapshot


def set_limits(limits: dict) -> None:
    """The judge's own limits: the same address space as the worker, CPU for the notebook."""
    import ctypes
    import resource

    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: /proc/<judge>/environ is closed
    memory = int(limits["memory_mb"]) * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(limits["total_timeout"]) + 30
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main(rfd: int, wfd: int) -> None:
    """Serve test cells from the driver until it closes the pipe."""
    import numpy  # noqa: F401 - warm the import before timing starts

    from helpers import cost

    cost.ELSEWHERE[:] = [measure_in_worker]
    channel = wire.Channel(rfd, wfd)
    plan, _ = channel.recv()
    set_limits(plan["limits"])
    link = Link(channel)
    channel.send({"ready": True})
    while True:
        try:
            msg, _ = channel.recv()
        except EOFError:
            return
        free = free_names(msg["source"])
        link.start_test(msg["source"], free)
        snapshot = read_snapshot(channel, link, set(free))
        verdict = run_test(link, msg["index"], msg["source"], snapshot)
        channel.send(dict(verdict, op=protocol.DONE))
