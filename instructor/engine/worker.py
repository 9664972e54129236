"""The sandboxed worker: runs student cells and serves calls from the judge, in its own process."""

from __future__ import annotations

import ast
import builtins
import inspect
import io
import linecache
import os
import re
import resource
import sys
import traceback
import types

from helpers import cost
from instructor.engine import protocol, seal
from instructor.engine.children import (
    END_CODE,
    become_subreaper,
    end_children,
    exit_now,
    wait_holding_gil,
)
from instructor.engine.namespaces import isolate
from instructor.engine.shell import make_shell

CELL_FILE = re.compile(r"^<(cell \d+|timed exec|timed eval|magic-timeit)>$")


def set_limits(limits: dict) -> None:
    """Resource limits for student code: address space, CPU, file size, no core dumps."""
    mb = 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_mb"] * mb,) * 2)
    cpu = int(limits["total_timeout"]) + 30
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_mb"] * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class CappedText(io.TextIOBase):
    """A text sink that keeps at most `cap` bytes and remembers that it dropped the rest."""

    def __init__(self, cap: int):
        self.cap, self.size, self.parts, self.truncated = cap, 0, [], False

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        text = str(text)
        room = self.cap - self.size
        if room <= 0:
            self.truncated = self.truncated or bool(text)
            return len(text)
        data = text.encode("utf-8", "replace")
        if len(data) > room:
            data, self.truncated = data[:room], True
            text = data.decode("utf-8", "ignore")
        self.parts.append(text)
        self.size += len(data)
        return len(text)

    def getvalue(self) -> str:
        return "".join(self.parts)


def student_traceback(exc: BaseException) -> list[str]:
    """Traceback lines naming only frames of student cells."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if CELL_FILE.match(f.filename)]
    lines = ["Traceback (most recent call last):"] if frames else []
    for frame in frames:
        lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}')
        if frame.line:
            lines.append(f"    {frame.line.strip()}")
    name, message, _ = _exc_info(exc)
    lines.append(f"{name}: {message}" if message else name)
    return lines


def _exc_info(exc):
    from instructor.engine.wire import exception_info

    return exception_info(exc)


class Worker:
    """Runs student cells in one namespace and answers requests about the objects they made."""

    def __init__(self, channel, output_bytes: int):
        from instructor.engine import wire

        self.wire, self.channel, self.output_bytes = wire, channel, output_bytes
        self.ns = {"__name__": "__main__", "__builtins__": builtins, "display": _display}
        self.shell = make_shell(self.ns, os.getcwd())
        self.handles: dict[int, object] = {}
        self.origins: dict[int, object] = {}
        self.pid = os.getpid()

    def serve(self) -> None:
        """Answer requests until the driver closes the pipe."""
        while True:
            try:
                msg, buffers = self.channel.recv()
            except EOFError:
                return
            op = msg.get("op")
            if op == protocol.RUN:
                reply = self.run(msg["index"], msg["source"])
                reply["ended"] = end_children()
                self.channel.send(reply)
            elif op == protocol.SNAPSHOT:
                self.test_cell(msg)
            elif op == protocol.END:
                self.channel.send({protocol.COPY_ENDED: self._ended(END_CODE, 0)})
            # any other request is for a test-cell copy that is gone: the judge heard why

    def test_cell(self, msg: dict) -> None:
        """Serve one test cell from a forked copy of this worker that exits when it ends.

        The copy can leave no trace (seal.seal_test_copy). This process waits holding the GIL,
        so its own threads stay still, then ends whatever the copy started and sends
        {COPY_ENDED: {code, why, ended}}: the answer to the driver's END, which the copy read,
        or, when the copy died, the reply to the judge's pending request (the driver's END then
        reaches this process, which answers it the same way).
        """
        names = [n for n in msg["names"] if isinstance(n, str) and n in self.ns]
        try:
            child = os.fork()
        except OSError as exc:
            self.channel.send({"exc": _exc_info(exc)})
            return
        if child == 0:
            self._serve_test(names)
        status = wait_holding_gil(child)
        code = os.waitstatus_to_exitcode(status)
        self.channel.send({protocol.COPY_ENDED: self._ended(code, end_children())})

    def _ended(self, code, stray: int) -> dict:
        return {"code": code, "why": protocol.describe_death(code), "ended": stray}

    def _serve_test(self, names: list[str]) -> None:
        """In the forked copy: the snapshot, then requests until END; never returns."""
        self.pid = os.getpid()
        self.handles.clear()
        self.origins.clear()
        seal.seal_test_copy({self.channel.rfd, self.channel.wfd})
        self.reply(lambda: {n: self.ns[n] for n in names}, snapshot=True)
        while True:
            try:
                req, buffers = self.channel.recv()
            except BaseException:  # noqa: B036 - the driver went away
                os._exit(1)
            if req.get("op") == protocol.END:
                exit_now(END_CODE)
            self.request(req, buffers)

    def run(self, index: int, source: str) -> dict:
        """Execute one student cell; returns its status and outputs."""
        out, err = CappedText(self.output_bytes), CappedText(self.output_bytes)
        filename = f"<cell {index}>"
        status, error, result = "ok", None, None
        old = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        self.shell.refused, self.shell.error = [], None
        try:
            code = self.shell.transform_cell(source)  # as the kernel: magics, !, ?
            linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
            tree = ast.parse(code, filename)
            last = None
            quiet = source.rstrip().endswith(";")  # a trailing ; hides the value, as in Jupyter
            if tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Expression(tree.body.pop().value)
            exec(compile(tree, filename, "exec"), self.ns)
            if last is not None:
                value = eval(compile(last, filename, "eval"), self.ns)
                if value is not None and not quiet:
                    result = _safe_repr(value, self.output_bytes)
            if self.shell.error is not None:
                raise self.shell.error
        except BaseException as exc:  # noqa: B036 - SystemExit/KeyboardInterrupt are recorded too
            status, error = "error", student_traceback(exc)
        finally:
            self._end_forks()
            sys.stdout, sys.stderr = old
            _close_figures()
        return {
            "refused": list(self.shell.refused)[:20],
            "status": status,
            "stdout": out.getvalue(),
            "stderr": err.getvalue(),
            "truncated": out.truncated or err.truncated,
            "error": error,
            "result": result,
        }

    def request(self, msg: dict, buffers) -> None:
        """One operation on a handle for the judge (call, attribute, item, length, iteration)."""
        wire = self.wire
        decoder = wire.Decoder(buffers, self._special)
        arrays: list = []

        def decode_arg(node):
            value = decoder.decode(node)
            wire.collect_arrays(value, arrays)
            return value

        def act():
            self._sync(msg.get("sync") or [], buffers)
            target = self.handles[msg["target"]]
            op = msg["op"]
            if op == "call":
                args = [decode_arg(a) for a in msg["args"]]
                kwargs = {k: decode_arg(v) for k, v in msg["kwargs"].items()}
                before = [a.copy() for a in arrays]
                params = _param_names(target, len(args))  # before the call can change them
                kind = msg.get("measure")
                if kind is None:
                    result = target(*args, **kwargs)
                else:  # the test asked what the call costs, measured here (helpers.cost)
                    result, measured = cost.measure_here(str(kind), target, args, kwargs)
                modified = [
                    i
                    for i, (a, b) in enumerate(zip(arrays, before, strict=True))
                    if a.shape != b.shape or not _same(a, b)
                ]
                return {
                    "value": result,
                    **({} if kind is None else {"measured": measured}),
                    "modified": modified,
                    "after": [arrays[i] for i in modified],
                    "params": params,
                }
            if op == "getattr":
                return {"value": getattr(target, msg["name"])}
            if op == "setattr":
                setattr(target, msg["name"], decode_arg(msg["value"]))
                return {"value": None}
            if op == "getitem":
                return {"value": target[decode_arg(msg["key"])]}
            if op == "setitem":
                target[decode_arg(msg["key"])] = decode_arg(msg["value"])
                return {"value": None}
            if op == "len":
                return {"value": len(target)}
            if op == "iter":
                return {"value": iter(target)}
            if op == "next":
                return {"value": next(target)}
            raise ValueError(f"unknown operation {op!r}")

        self.reply(act)

    def reply(self, act, snapshot: bool = False) -> None:
        """Run `act` with student output discarded and send its encoded result or exception."""
        old = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = CappedText(0)
        try:
            value = act()
        except BaseException as exc:  # noqa: B036 - student code may raise SystemExit etc.
            self._end_forks()
            sys.stdout, sys.stderr = old
            _close_figures()
            self.channel.send({"exc": _exc_info(exc)})
            return
        self._end_forks()
        sys.stdout, sys.stderr = old
        _close_figures()
        encoder = self.wire.Encoder(self._fallback, track=self._origin)
        try:
            if snapshot:  # each name on its own: one odd value costs only itself
                tree = {k: encoder.encode_or_fallback(v) for k, v in value.items()}
            else:
                tree = {"value": encoder.encode_or_fallback(value["value"])}
            if "modified" in value and not snapshot:
                if "measured" in value:
                    tree["measured"] = value["measured"]  # helpers.cost: an int or a float
                tree["modified"] = value["modified"]
                tree["params"] = value["params"]
                tree["after"] = [encoder.encode_or_fallback(a) for a in value["after"]]
        except BaseException as exc:  # noqa: B036
            self.channel.send({"exc": _exc_info(exc)})
            return
        self.channel.send({"ok": tree}, encoder.buffers)

    def _fallback(self, obj):
        """Anything that is not plain data: a handle, with words saying what it is.

        Nothing is sent by name for the judge to resolve, except a module's name (the judge maps
        a few libraries' modules to its own imports and proxies every other).
        """
        kind = type(obj)
        if kind is type(sys):
            return ["M", _text(getattr(obj, "__name__", ""), 200), self._handle(obj)]
        return ["H", self._handle(obj), _text(kind.__name__, 100), _describe(obj)]

    def _end_forks(self) -> None:
        """A process the student forked ends here instead of answering the driver too."""
        if os.getpid() != self.pid:
            os._exit(0)

    def _origin(self, array) -> int:
        key = len(self.origins) + 1
        self.origins[key] = array
        return key

    def _sync(self, entries, buffers) -> None:
        """Apply the judge's changes to arrays it read earlier (they are shared, as in a kernel)."""
        decoder = self.wire.Decoder(buffers, self._special)
        for key, node in entries:
            new, old = decoder.decode(node), self.origins.get(key)
            if old is not None and old.shape == new.shape and old.flags.writeable:
                old[...] = new

    def _handle(self, obj) -> int:
        key = len(self.handles) + 1
        self.handles[key] = obj
        return key

    def _special(self, tag, args):
        if tag == "H" and len(args) == 1 and args[0] in self.handles:
            return self.handles[args[0]]
        raise self.wire.WireError(f"unknown node {tag!r}")


def _text(value, cap: int) -> str:
    return value[:cap] if type(value) is str else ""


def _describe(obj) -> str:
    """A short description of an object that could not be copied (for messages only)."""
    np = sys.modules.get("numpy")
    try:
        if np is not None and isinstance(obj, np.ndarray):
            size = obj.nbytes / 2**20
            what = f"array of dtype {obj.dtype}, shape {tuple(obj.shape)}"
            return what + (f", {size:.0f} MB" if size >= 1 else "")
        if isinstance(obj, types.FunctionType | types.BuiltinFunctionType | types.MethodType):
            return _text(obj.__name__, 100)
    except Exception:  # noqa: BLE001 - student subclasses may raise from their attributes
        pass
    return ""


def _param_names(target, count: int) -> list[str]:
    """The names of the first `count` parameters of a called function (for messages)."""
    try:
        params = list(inspect.signature(target).parameters.values())
    except Exception:  # noqa: BLE001
        return []
    names = []
    for param in params[:count]:
        if param.kind not in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            break
        names.append(param.name[:60] if param.name.isidentifier() else "")
    return names


def _same(a, b) -> bool:
    """Bitwise equality of two arrays of the same shape and dtype (NaNs included)."""
    np = sys.modules["numpy"]
    return a.dtype == b.dtype and np.array_equal(_bytes_view(a), _bytes_view(b))


def _bytes_view(a):
    return sys.modules["numpy"].ascontiguousarray(a).reshape(-1).view("u1")


def _safe_repr(value, cap: int) -> str:
    try:
        text = repr(value)
    except BaseException:  # noqa: B036
        return "<repr failed>"
    return text[:cap]


def _display(*objs, **_):
    """A stand-in for IPython's display(): prints each object's repr."""
    for obj in objs:
        print(repr(obj))


def _close_figures() -> None:
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        try:
            plt.close("all")
        except BaseException:  # noqa: B036, S110 - a broken pyplot only affects this student
            pass


def main(rfd: int, wfd: int) -> None:
    """Entry point: read the plan, isolate, limit, report ready, then serve."""
    from instructor.engine import wire

    channel = wire.Channel(rfd, wfd)
    plan, _ = channel.recv()
    plan["fds"] = [rfd, wfd]
    notes, isolated = [], False
    if plan["isolate"]:
        try:
            notes += isolate(plan)
            isolated = True
            notes.append(
                "worker isolated: no network, own PID space, a file view of its scratch copy, "
                "the Python environment, helpers and system directories only, "
                f"{plan['limits']['disk_mb']} MB of disk"
            )
        except OSError as exc:
            notes.append(
                f"namespaces unavailable ({exc}): worker runs in a scratch copy only; "
                "the network and instructor files may be reachable"
            )
    else:
        notes.append("namespaces not used: worker runs in a scratch copy only, with network")
    if not isolated and os.getuid() == 0 and plan["drop_uid"]:
        os.setgroups([])
        os.setgid(plan["uid"])
        os.setuid(plan["uid"])
        notes.append("worker runs as an unprivileged user of its own")
    os.chdir(plan["scratch"])
    set_limits(plan["limits"])
    for path in plan["drop_paths"]:
        while path in sys.path:
            sys.path.remove(path)
    become_subreaper()
    note = seal.seal_worker()
    notes += [note] if note else []
    channel.send({"ready": True, "notes": notes, "pid": os.getpid()})
    Worker(channel, plan["limits"]["output_bytes"]).serve()
