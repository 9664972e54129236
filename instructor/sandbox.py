"""Hardened grading: student cells in a sandboxed worker, test cells in a trusted judge."""

from __future__ import annotations

import copy
import fcntl
import glob
import hashlib
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float, Integer, Unicode

from . import remote
from .judge import free_names
from .notebooks import grade_id, is_test_cell

REPO = Path(__file__).resolve().parent.parent
ISOLATE = True  # try user/mount/network namespaces for the worker
KEEP_VISIBLE = {".venv", "helpers", "convnets_from_scratch.egg-info"}
FILE_MB = 64
F_SETPIPE_SZ, PIPE_BYTES = 1031, 1 << 20
FIRST_UID, UID_COUNT = 200_000, 800_000  # a fresh unused uid per worker when grading as root
START_TIMEOUT = 60.0
TOTAL_OUTPUT_FACTOR = 10
CACHE_VERSION = 1


@dataclass
class Limits:
    """Time, memory and output limits for grading one submission."""

    cell_timeout: float = 60.0
    total_timeout: float = 600.0
    memory_mb: int = 2048
    output_bytes: int = 100_000

    def __post_init__(self):
        for name in ("cell_timeout", "total_timeout", "memory_mb", "output_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive number; got {value!r}")


@dataclass
class CellOutcome:
    """What happened to one code cell."""

    grade_id: str | None
    index: int
    status: str
    message: str = ""


@dataclass
class GradeResult:
    """The executed notebook, per-cell outcomes, abnormal events and platform notes."""

    nb: nbformat.NotebookNode
    cells: list[CellOutcome] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def describe_death(returncode: int | None) -> str:
    """Plain words for how a process ended."""
    if returncode is None:
        return "worker stopped responding"
    if returncode < 0:
        number = -returncode
        name = (signal.strsignal(number) or f"signal {number}").lower()
        return f"worker killed by signal {number} ({name})"
    return f"worker exited with code {returncode}"


class _Process:
    """A child interpreter running instructor.<kind>.main over two pipes."""

    def __init__(self, kind: str, cwd: str, env: dict, log: str):
        child_reads, driver_writes = os.pipe()
        driver_reads, child_writes = os.pipe()
        for fd in (child_reads, child_writes):
            try:
                fcntl.fcntl(fd, F_SETPIPE_SZ, PIPE_BYTES)
            except OSError:
                pass
        code = (
            f"import sys; sys.path.insert(0, {str(REPO)!r}); "
            f"from instructor.{kind} import main; main({child_reads}, {child_writes})"
        )
        self.log = log
        with open(log, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-c", code],
                pass_fds=(child_reads, child_writes),
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        os.close(child_reads)
        os.close(child_writes)
        self.channel = remote.Channel(driver_reads, driver_writes)
        self.killed = self.closed = False

    def alive(self) -> bool:
        return self.proc.poll() is None

    def post(self, msg: dict) -> None:
        """Send a message; a dead peer is noticed by the next wait()."""
        try:
            self.channel.send(msg)
        except OSError:
            pass

    def post_frame(self, frame) -> None:
        """Send a packed frame; a dead peer is noticed by the next wait()."""
        try:
            self.channel.send_frame(frame)
        except OSError:
            pass

    def wait(self, until: float):
        """('ok', frame), ('timeout', None), ('dead', None) or ('protocol', None)."""
        try:
            frame = self.channel.recv_frame(until, alive=self.alive)
        except EOFError:
            return "dead", None
        except remote.WireError:
            return "protocol", None
        return ("timeout", None) if frame is None else ("ok", frame)

    def relay(self, dest: remote.Channel, until: float) -> str:
        """Pass the next frame on to `dest`: 'ok', 'timeout', 'partial', 'dead' or 'protocol'."""
        try:
            return self.channel.relay(dest, until, alive=self.alive)
        except EOFError:
            return "dead"
        except remote.WireError:
            return "protocol"
        except OSError:  # the destination died mid-message
            return "partial"

    def kill(self) -> None:
        """Kill the whole process group and reap it."""
        if self.proc.returncode is None:  # not reaped yet, so the group id is still ours
            self.killed = self.alive()
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if not self.closed:
            self.closed = True
            os.close(self.channel.rfd)
            os.close(self.channel.wfd)

    def death(self) -> str:
        """How the process ended, in words."""
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return describe_death(None)
        return describe_death(self.proc.returncode)

    def log_tail(self) -> str:
        try:
            with open(self.log, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 800))
                return f.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""


def _font_cache() -> list[str]:
    """matplotlib's font list of this machine, so fresh homes need not rebuild it."""
    dirs = [os.environ.get("MPLCONFIGDIR", ""), "~/.cache/matplotlib", "~/.matplotlib"]
    found = []
    for d in dirs:
        if d:
            found += glob.glob(os.path.join(os.path.expanduser(d), "fontlist-v*.json"))
    return found[:4]


def _environment(home: str) -> dict:
    mpl = os.path.join(home, ".config", "matplotlib")
    os.makedirs(mpl, exist_ok=True)
    for path in _font_cache():
        shutil.copy(path, mpl)
    return {
        "HOME": home,
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": mpl,
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def _hidden_paths() -> list[str]:
    """Everything in the repository but the venv and helpers, then the grader's home."""
    hide = [str(p) for p in sorted(REPO.iterdir()) if p.name not in KEEP_VISIBLE]
    home = Path.home().resolve()
    if home.is_dir() and home != Path("/"):
        hide.append(str(home))
    return hide


def _exposed_paths() -> list[str]:
    """Directories the worker needs even when they sit inside a hidden one."""
    paths = {Path(sys.base_prefix), Path(sys.prefix), REPO / ".venv", REPO / "helpers"}
    return sorted({str(p.resolve()) for p in paths if p.is_dir()})


def _others_can_run_python() -> bool:
    """Whether an unprivileged user can read this interpreter's libraries (to drop root)."""
    for top in _exposed_paths():
        path = Path(top)
        for part in [path, *path.parents]:
            if not part.stat().st_mode & stat.S_IXOTH:
                return False
    return True


def _copy_submission(workdir: Path, target: Path) -> None:
    """Copy the submission directory, skipping symbolic links (they could point anywhere)."""

    def ignore(directory, names):
        return [n for n in names if os.path.islink(os.path.join(directory, n))]

    shutil.copytree(workdir, target, ignore=ignore)


class _Session:
    """Grades one notebook: drives the worker and the judge cell by cell."""

    def __init__(self, nb, workdir: Path, limits: Limits):
        self.nb, self.limits = copy.deepcopy(nb), limits
        self.deadline = time.monotonic() + limits.total_timeout
        self.result = GradeResult(self.nb)
        self.root = Path(tempfile.mkdtemp(prefix="hardened-"))
        os.chmod(self.root, 0o711)
        self.box = self.root / "box"
        self.box.mkdir(mode=0o700)
        _copy_submission(workdir, self.box / "work")
        self.worker_env = _environment(str(self.box / "home"))
        self.uid = FIRST_UID + random.SystemRandom().randrange(UID_COUNT)
        if os.geteuid() == 0:
            for path in [self.box, *self.box.rglob("*")]:
                os.lchown(path, self.uid, self.uid)
        self.judge_dir = self.root / "judge"
        self.judge_dir.mkdir()
        self.judge_env = _environment(str(self.judge_dir))
        self.worker = self.judge = None
        self.replay: list[tuple[int, str]] = []
        self.restarts = 0
        self.broken = ""
        self.output_left = limits.output_bytes * TOTAL_OUTPUT_FACTOR
        self.count = 0

    # processes

    def _start_judge(self) -> bool:
        log = str(self.root / "j.log")
        self.judge = _Process("judge", str(self.judge_dir), self.judge_env, log)
        state, frame = self.judge.wait(time.monotonic() + START_TIMEOUT)
        if state != "ok":
            self.result.problems.append(f"the judge failed to start: {self.judge.log_tail()}")
            self.judge.kill()
            self.judge = None
            return False
        return True

    def _start_worker(self) -> bool:
        work = self.box / "work"
        self.worker = _Process("worker", str(work), self.worker_env, str(self.root / "w.log"))
        plan = {
            "isolate": ISOLATE,
            "scratch": str(work),
            "box": str(self.box),
            "hide": _hidden_paths(),
            "expose": _exposed_paths(),
            "uid": self.uid,
            "drop_uid": _others_can_run_python(),
            "tmp_mb": FILE_MB,
            "drop_paths": [str(REPO)],
            "limits": dict(asdict(self.limits), file_mb=FILE_MB),
        }
        self.worker.post(plan)
        state, frame = self.worker.wait(min(time.monotonic() + START_TIMEOUT, self.deadline))
        if state != "ok":
            self.broken = f"the worker failed to start: {self.worker.log_tail()}"
            self.result.problems.append(self.broken)
            self.worker.kill()
            self.worker = None
            return False
        if self.restarts == 0:
            notes = remote.unpack(frame)[0].get("notes", [])
            self.result.notes += [str(n)[:500] for n in notes if isinstance(n, str)]
        return True

    def _ensure_worker(self) -> bool:
        """A live worker whose namespace holds every student cell run so far (replayed)."""
        while self.worker is None or not self.worker.alive():
            if self.broken:
                return False
            if self.worker is not None:
                self.worker.kill()
                self.restarts += 1
            if time.monotonic() >= self.deadline or not self._start_worker():
                return False
            for position, (index, source) in enumerate(self.replay):
                self.worker.post({"op": "run", "index": index, "source": source})
                until = min(time.monotonic() + self.limits.cell_timeout, self.deadline)
                state, _ = self.worker.wait(until)
                if state != "ok":
                    why = "timed out" if state == "timeout" else self.worker.death()
                    self.result.problems.append(
                        f"replaying cell {index} after a worker restart failed ({why}); "
                        "later cells run without it"
                    )
                    del self.replay[position]
                    self.worker.kill()
                    break
        return True

    def close(self) -> None:
        for proc in (self.worker, self.judge):
            if proc is not None:
                proc.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    # cells

    def run(self) -> GradeResult:
        self.result.notes.append(f"grading with {sys.executable} -I")
        for index, cell in enumerate(self.nb.cells):
            if cell.cell_type != "code":
                continue
            cell.outputs, cell.execution_count = [], None
            if time.monotonic() >= self.deadline:
                self._not_run(index, cell)
            elif is_test_cell(cell):
                self._test_cell(index, cell)
            else:
                self._student_cell(index, cell)
        return self.result

    def _label(self, index: int, cell) -> str:
        gid = grade_id(cell)
        return f"cell {index} ({gid})" if gid else f"cell {index}"

    def _record(self, index, cell, status, message="", outputs=()):
        self.result.cells.append(CellOutcome(grade_id(cell), index, status, message))
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        self.count += 1
        cell.execution_count = self.count

    def _not_run(self, index, cell) -> None:
        if self.broken:
            message = "not run: " + self.broken.split(":", 1)[0]
            return self._record(index, cell, "not run", message, [_error("NotRun", message)])
        message = f"total time limit of {self.limits.total_timeout:g} s exceeded before this cell"
        if not any(p.startswith("total time limit") for p in self.result.problems):
            self.result.problems.append(
                f"total time limit of {self.limits.total_timeout:g} s exceeded at cell {index}"
            )
        self._record(index, cell, "not run", message, [_error("NotRun", message)])

    def _student_cell(self, index: int, cell) -> None:
        if not self._ensure_worker():
            return self._not_run(index, cell)
        self.worker.post({"op": "run", "index": index, "source": cell.source})
        until = min(time.monotonic() + self.limits.cell_timeout, self.deadline)
        state, frame = self.worker.wait(until)
        label = self._label(index, cell)
        if state == "ok":
            try:
                reply = remote.unpack(frame)[0]
                outputs, status, message = self._student_outputs(index, reply)
            except (remote.WireError, KeyError, TypeError, ValueError):
                state = "protocol"
            else:
                self.replay.append((index, cell.source))
                return self._record(index, cell, status, message, outputs)
        status, message = self._failure(state, label)
        self.worker.kill()
        self._record(index, cell, status, message, [_error(_ENAME[status], message)])

    def _failure(self, state: str, label: str) -> tuple[str, str]:
        """Status and problem text when the worker timed out or died."""
        if state == "timeout":
            if time.monotonic() >= self.deadline:
                message = f"{label}: total time limit of {self.limits.total_timeout:g} s exceeded"
            else:
                message = f"{label}: time limit of {self.limits.cell_timeout:g} s exceeded"
            self.result.problems.append(message)
            return "timeout", message
        if state == "protocol":
            message = f"worker sent a malformed message while {label} ran"
            self.result.problems.append(message)
            return "crashed", message
        death = self.worker.death()
        if self.worker.proc.returncode == -signal.SIGKILL and not self.worker.killed:
            message = f"memory limit of {self.limits.memory_mb} MB exceeded in {label} ({death})"
            self.result.problems.append(message)
            return "killed (memory)", message
        message = f"{death} while {label} ran"
        self.result.problems.append(message)
        return "crashed", message

    def _student_outputs(self, index: int, reply: dict):
        outputs = []
        cap = self.limits.output_bytes
        for name in ("stdout", "stderr"):
            text = str(reply.get(name) or "")
            if not text:
                continue
            data = text.encode("utf-8", "replace")
            room = min(cap, max(0, self.output_left))
            truncated = bool(reply.get("truncated")) or len(data) > room
            data = data[:room]
            self.output_left -= len(data)
            text = data.decode("utf-8", "ignore")
            if truncated:
                text += f"\n[output truncated at {cap} bytes]\n"
                problem = f"output of cell {index} truncated at {cap} bytes"
                if problem not in self.result.problems:
                    self.result.problems.append(problem)
            outputs.append({"output_type": "stream", "name": name, "text": text})
        if reply.get("result") is not None and self.output_left > 0:
            text = str(reply["result"])[: min(cap, self.output_left)]
            self.output_left -= len(text)
            outputs.append(
                {
                    "output_type": "execute_result",
                    "execution_count": self.count + 1,
                    "data": {"text/plain": text},
                    "metadata": {},
                }
            )
        status, message = str(reply["status"]), ""
        if status == "error":
            lines = [str(line)[:2000] for line in (reply.get("error") or [])][-200:]
            last = lines[-1] if lines else "Error"
            ename, _, evalue = last.partition(": ")
            outputs.append(_error(ename[:100], evalue, lines))
            message = last[:300]
            if ename == "MemoryError":
                self.result.problems.append(
                    f"memory limit of {self.limits.memory_mb} MB exceeded in cell {index}"
                )
        elif status != "ok":
            raise ValueError(f"unknown status {status!r}")
        return outputs, status, message

    def _test_cell(self, index: int, cell) -> None:
        label = self._label(index, cell)
        until = min(time.monotonic() + self.limits.cell_timeout, self.deadline)
        if self.judge is None or not self.judge.alive():
            if self.judge is not None:
                self.judge.kill()
            if not self._start_judge():
                message = f"{label}: the judge could not start"
                return self._record(index, cell, "crashed", message, [_error("Crashed", message)])
        if not self._ensure_worker():
            return self._not_run(index, cell)
        self.worker.post({"op": "snapshot", "names": free_names(cell.source)})
        state, snapshot = self.worker.wait(until)
        if state != "ok":
            status, message = self._failure(state, label)
            self.worker.kill()
            return self._record(index, cell, status, message, [_error(_ENAME[status], message)])
        self.judge.post({"op": "test", "index": index, "source": cell.source})
        self.judge.post_frame(snapshot)
        gone = None
        while True:
            state, frame = self.judge.wait(until)
            if state != "ok":
                self.judge.kill()
                if gone is None and state == "timeout":
                    status, message = self._failure("timeout", label)
                else:
                    status = gone[0] if gone else "crashed"
                    message = gone[1] if gone else f"the judge crashed while {label} ran"
                    if not gone:
                        self.result.problems.append(message)
                return self._record(index, cell, status, message, [_error(_ENAME[status], message)])
            msg = remote.unpack(frame)[0]
            if msg.get("op") == "done":
                break
            if gone is not None or self.worker is None or not self.worker.alive():
                if gone is None:
                    gone = self._failure("dead", label)
                self.judge.post({"dead": gone[1]})
                continue
            self.worker.post_frame(frame)
            state = self.worker.relay(self.judge.channel, until)
            if state == "ok":
                continue
            gone = self._failure("timeout" if state == "partial" else state, label)
            self.worker.kill()
            if state == "partial":  # the judge holds half a message: start it afresh later
                self.judge.kill()
                return self._record(
                    index, cell, gone[0], gone[1], [_error(_ENAME[gone[0]], gone[1])]
                )
            self.judge.post({"dead": gone[1]})
            until = max(until, time.monotonic() + 5.0)
        if gone is not None:
            status, message = gone
            return self._record(index, cell, status, message, [_error(_ENAME[status], message)])
        status = str(msg.get("status"))
        if status == "passed":
            return self._record(index, cell, "passed")
        lines = [str(line) for line in msg.get("traceback", [])]
        error = _error(str(msg.get("ename", "Error")), str(msg.get("evalue", "")), lines)
        status = "failed" if status == "failed" else "error"
        self._record(index, cell, status, lines[-1] if lines else "", [error])


_ENAME = {
    "timeout": "TimeoutError",
    "crashed": "WorkerCrashed",
    "killed (memory)": "MemoryError",
}


def _error(ename: str, evalue: str, traceback: list[str] | None = None) -> dict:
    return {
        "output_type": "error",
        "ename": ename,
        "evalue": evalue,
        "traceback": traceback if traceback is not None else [f"{ename}: {evalue}"],
    }


def grade_notebook(nb, workdir, limits: Limits | None = None) -> GradeResult:
    """Run a sanitized notebook: student cells sandboxed, test cells judged; nb is not modified."""
    if not isinstance(nb, dict) or "cells" not in nb:
        raise TypeError(f"nb must be an nbformat NotebookNode; got {type(nb).__name__}")
    workdir = Path(workdir)
    if not workdir.is_dir():
        raise ValueError(f"workdir must be an existing directory; got {str(workdir)!r}")
    limits = Limits() if limits is None else limits
    if not isinstance(limits, Limits):
        raise TypeError(f"limits must be a Limits; got {type(limits).__name__}")
    session = _Session(nbformat.from_dict(nb), workdir, limits)
    try:
        result = session.run()
    finally:
        session.close()
    result.nb.metadata["hardened_grading"] = {
        "problems": list(result.problems),
        "cells": [asdict(c) for c in result.cells],
        "notes": list(result.notes),
    }
    return result


def cache_key(nb, limits: Limits) -> str:
    """Hash of the code cells' (cell_type, grade_id, source) and the limits."""
    cells = [[c.cell_type, grade_id(c), c.source] for c in nb.cells if c.cell_type == "code"]
    text = json.dumps([CACHE_VERSION, cells, asdict(limits)], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _store(result: GradeResult, path: Path) -> None:
    codes = [c for c in result.nb.cells if c.cell_type == "code"]
    data = {
        "outputs": [c.outputs for c in codes],
        "counts": [c.execution_count for c in codes],
        "cells": [asdict(c) for c in result.cells],
        "problems": result.problems,
        "notes": result.notes,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def _load(nb, path: Path) -> GradeResult | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    nb = copy.deepcopy(nb)
    codes = [c for c in nb.cells if c.cell_type == "code"]
    if len(codes) != len(data["outputs"]):
        return None
    for cell, outputs, count in zip(codes, data["outputs"], data["counts"], strict=True):
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        cell.execution_count = count
    result = GradeResult(nb, [CellOutcome(**c) for c in data["cells"]], data["problems"])
    result.notes = data["notes"]
    nb.metadata["hardened_grading"] = {
        "problems": list(result.problems),
        "cells": data["cells"],
        "notes": list(result.notes),
    }
    return result


def precompute(nb, workdir, limits: Limits | None = None, cache_dir=None) -> GradeResult:
    """Grade now and store the result in cache_dir for HardenedExecute to reuse."""
    limits = Limits() if limits is None else limits
    result = grade_notebook(nb, workdir, limits)
    if cache_dir:
        _store(result, Path(cache_dir) / f"{cache_key(nb, limits)}.json")
    return result


class HardenedExecute(NbGraderPreprocessor):
    """Drop-in replacement for nbgrader's Execute that grades through the sandbox."""

    cell_timeout = Float(60.0, help="Seconds allowed per cell.").tag(config=True)
    total_timeout = Float(600.0, help="Seconds allowed per notebook.").tag(config=True)
    memory_mb = Integer(2048, help="Address-space limit of the worker, in MB.").tag(config=True)
    output_bytes = Integer(100_000, help="Output kept per cell, in bytes.").tag(config=True)
    cache_dir = Unicode("", help="Directory of precomputed results (empty: none).").tag(config=True)

    def limits(self) -> Limits:
        """The configured limits."""
        return Limits(self.cell_timeout, self.total_timeout, self.memory_mb, self.output_bytes)

    def preprocess(self, nb, resources):
        """Grade `nb` (reusing a cached result when one matches) and record problems."""
        limits = self.limits()
        workdir = (resources.get("metadata") or {}).get("path") or os.getcwd()
        result = None
        if self.cache_dir:
            result = _load(nb, Path(self.cache_dir) / f"{cache_key(nb, limits)}.json")
        if result is None:
            result = precompute(nb, workdir, limits, self.cache_dir or None)
        for problem in result.problems:
            self.log.warning("hardened grading: %s", problem)
        resources["hardened"] = {
            "problems": list(result.problems),
            "cells": [asdict(c) for c in result.cells],
            "notes": list(result.notes),
        }
        return result.nb, resources
