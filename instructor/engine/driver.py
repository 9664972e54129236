"""The driver: grades one notebook cell by cell, student cells in the worker, tests in the judge."""

from __future__ import annotations

import copy
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from instructor.cells import grade_id, is_test_cell, strip_hidden_tests

from . import isolation, protocol, wire
from .judge import free_names
from .limits import Limits
from .process import Process
from .results import METADATA_KEY, CellOutcome, GradeResult, report

START_TIMEOUT = 60.0
JUDGE_SEED = "JUDGE_SEED"  # environment variable: the seed of the hidden tests' inputs
TOTAL_OUTPUT_FACTOR = 10


class Session:
    """Grades one notebook: drives the worker and the judge cell by cell."""

    def __init__(self, nb, workdir: Path, limits: Limits, seed: str = ""):
        self.nb, self.limits = copy.deepcopy(nb), limits
        self.deadline = time.monotonic() + limits.total_timeout
        self.result = GradeResult(self.nb)
        self.root = Path(tempfile.mkdtemp(prefix="hardened-"))
        os.chmod(self.root, 0o711)
        self.box = self.root / "box"
        self.box.mkdir(mode=0o700)
        isolation.copy_submission(workdir, self.box / "work")
        self.worker_env = isolation.environment(str(self.box / "home"))
        self.uid = isolation.FIRST_UID + random.SystemRandom().randrange(isolation.UID_COUNT)
        if os.geteuid() == 0:
            for path in [self.box, *self.box.rglob("*")]:
                os.lchown(path, self.uid, self.uid)
        self.judge_dir = self.root / "judge"
        self.judge_dir.mkdir()
        self.judge_env = isolation.environment(str(self.judge_dir))
        self.judge_env[JUDGE_SEED] = seed  # the judge's alone: the worker's env never has it
        self.worker = self.judge = None
        self.replay: list[tuple[int, str]] = []
        self.restarts = 0
        self.broken = ""
        self.output_left = limits.output_bytes * TOTAL_OUTPUT_FACTOR
        self.count = 0

    # processes

    def _start_judge(self) -> bool:
        log = str(self.root / "j.log")
        self.judge = Process("judge", str(self.judge_dir), self.judge_env, log)
        self.judge.post({"limits": self.limits.as_dict()})
        state, frame = self.judge.wait(time.monotonic() + START_TIMEOUT)
        if state != "ok":
            self.result.problems.append(f"the judge failed to start: {self.judge.log_tail()}")
            self.judge.kill()
            self.judge = None
            return False
        return True

    def _start_worker(self) -> bool:
        work = self.box / "work"
        self.worker = Process("worker", str(work), self.worker_env, str(self.root / "w.log"))
        rootfs = self.root / f"rootfs{self.restarts}"
        rootfs.mkdir(mode=0o700)
        plan = isolation.worker_plan(work, self.box, self.uid, self.limits.as_dict(), rootfs)
        self.worker.post(plan)
        state, frame = self.worker.wait(min(time.monotonic() + START_TIMEOUT, self.deadline))
        if state != "ok":
            self.broken = f"the worker failed to start: {self.worker.log_tail()}"
            self.result.problems.append(self.broken)
            self.worker.kill()
            self.worker = None
            return False
        if self.restarts == 0:
            notes = wire.unpack(frame)[0].get("notes", [])
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
                self.worker.post({"op": protocol.RUN, "index": index, "source": source})
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
            started = time.monotonic()
            if started >= self.deadline:
                self._not_run(index, cell)
            elif is_test_cell(cell):
                self._test_cell(index, cell)
            else:
                self._student_cell(index, cell)
            if self.result.cells and self.result.cells[-1].index == index:
                self.result.cells[-1].seconds = round(time.monotonic() - started, 3)
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
        self.worker.post({"op": protocol.RUN, "index": index, "source": cell.source})
        until = min(time.monotonic() + self.limits.cell_timeout, self.deadline)
        state, frame = self.worker.wait(until)
        while state == "ok" and _copy_ended(frame) is not None:  # a late word from a test copy
            state, frame = self.worker.wait(until)
        label = self._label(index, cell)
        if state == "ok":
            try:
                reply = wire.unpack(frame)[0]
                outputs, status, message = self._student_outputs(index, reply, label)
            except (wire.WireError, KeyError, TypeError, ValueError):
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

    def _student_outputs(self, index: int, reply: dict, label: str):
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
        ended = reply.get("ended")
        if type(ended) is int and ended > 0:
            self._ended_note(ended, label)
        for note in (reply.get("refused") or [])[:20]:
            self.result.notices.append(f"{label}: {str(note)[:300]}")
        status, message = str(reply["status"]), ""
        if status == "error":
            lines = [str(line)[:2000] for line in (reply.get("error") or [])][-200:]
            last = lines[-1] if lines else "Error"
            ename, _, evalue = last.partition(": ")
            outputs.append(_error(ename[:100], evalue, lines))
            message = last[:300]
            if "[Errno 28] No space left on device" in last or "[Errno 27] File too large" in last:
                self.result.problems.append(
                    f"disk limit of {self.limits.disk_mb} MB exceeded in {label}"
                )
            if ename == "MemoryError":
                self.result.problems.append(
                    f"memory limit of {self.limits.memory_mb} MB exceeded in cell {index}"
                )
        elif status != "ok":
            raise ValueError(f"unknown status {status!r}")
        return outputs, status, message

    def _test_cell(self, index: int, cell) -> None:
        label = self._label(index, cell)
        if self.judge is None or not self.judge.alive():
            if self.judge is not None:
                self.judge.kill()
            if not self._start_judge():
                message = f"{label}: the judge could not start"
                return self._record(index, cell, "crashed", message, [_error("Crashed", message)])
        if not self._ensure_worker():
            return self._not_run(index, cell)
        until = min(time.monotonic() + self.limits.cell_timeout, self.deadline)
        self.worker.post({"op": protocol.SNAPSHOT, "names": free_names(cell.source)})
        state, snapshot = self.worker.wait(until)
        copy_ended = _copy_ended(snapshot) if state == "ok" else None
        if state != "ok" or copy_ended is not None:
            if copy_ended is not None:
                status, message = self._copy_died(copy_ended, label)
                self._end_copy(until, label)
            else:
                status, message = self._failure(state, label)
                self.worker.kill()
            return self._record(index, cell, status, message, [_error(_ENAME[status], message)])
        self.judge.post({"op": protocol.TEST, "index": index, "source": cell.source})
        self.judge.post_frame(snapshot)
        outcome = self._judge_test(label, until)
        if self.worker is not None and self.worker.alive():
            self._end_copy(until, label)
        status, message, error = outcome
        self._record(index, cell, status, message, [error] if error else [])
        if status in ("passed", "failed", "error"):
            self._visible_part_again(index, cell, label)

    def _visible_part_again(self, index: int, cell, label: str) -> None:
        """Run the test cell's visible part in the worker itself, as the student's kernel runs it.

        What the judge's run made is gone with the test-cell copy; in Jupyter the names the
        visible part binds (and the student globals it rebinds) stay for later cells. Running
        it again here, on its own public inputs, gives later student cells that same namespace.
        Its outputs are not kept; the grade is the judge's.
        """
        visible = strip_hidden_tests(cell.source)
        if not visible.strip() or self.worker is None or not self.worker.alive():
            return
        self.worker.post({"op": protocol.RUN, "index": index, "source": visible})
        until = min(time.monotonic() + self.limits.cell_timeout, self.deadline)
        state, frame = self.worker.wait(until)
        while state == "ok" and _copy_ended(frame) is not None:  # a late word from the copy
            state, frame = self.worker.wait(until)
        if state == "ok":
            ended = _worker_message(frame).get("ended")
            if type(ended) is int and ended > 0:
                self._ended_note(ended, label)
            self.replay.append((index, visible))
            return
        why = "ran out of time" if state == "timeout" else "stopped the worker"
        self.result.problems.append(
            f"{label}: its visible part, run again in the student's namespace as Jupyter runs "
            f"it, {why}; later cells run without what it makes"
        )
        self.worker.kill()

    def _judge_test(self, label: str, until: float):
        """Relay the judge's requests to the worker's test-cell copy; (status, message, error)."""
        gone = None
        while True:
            state, frame = self.judge.wait(until)
            if state != "ok":
                self.judge.kill()
                if gone is None and state == "timeout":
                    status, message = self._failure("timeout", label)
                    self.worker.kill()  # its copy may still be running the student's call
                else:
                    status = gone[0] if gone else "crashed"
                    message = gone[1] if gone else f"the judge crashed while {label} ran"
                    if not gone:
                        self.result.problems.append(message)
                return status, message, _error(_ENAME[status], message)
            msg = wire.unpack(frame)[0]
            if msg.get("op") == protocol.DONE:
                break
            if gone is not None or self.worker is None or not self.worker.alive():
                if gone is None:
                    gone = self._failure("dead", label)
                self.judge.post({protocol.DEAD: gone[1]})
                continue
            self.worker.post_frame(frame)
            state = self.worker.relay(self.judge.channel, until)
            if state == "ok":
                continue
            gone = self._failure("timeout" if state == "partial" else state, label)
            self.worker.kill()
            if state == "partial":  # the judge holds half a message: start it afresh later
                self.judge.kill()
                return gone[0], gone[1], _error(_ENAME[gone[0]], gone[1])
            self.judge.post({protocol.DEAD: gone[1]})
            until = max(until, time.monotonic() + 5.0)
        if gone is not None:
            return gone[0], gone[1], _error(_ENAME[gone[0]], gone[1])
        status = str(msg.get("status"))
        if status == "gone" and isinstance(msg.get("copy"), dict):
            status, message = self._copy_died(msg["copy"], label)
            return status, message, _error(_ENAME[status], message)
        if status == "passed":
            return "passed", "", None
        lines = [str(line) for line in msg.get("traceback", [])]
        error = _error(str(msg.get("ename", "Error")), str(msg.get("evalue", "")), lines)
        status = "failed" if status == "failed" else "error"
        return status, lines[-1] if lines else "", error

    def _copy_died(self, info: dict, label: str) -> tuple[str, str]:
        """Status and problem when the worker's test-cell copy died during the test."""
        code = info.get("code")
        words = protocol.describe_death(code if type(code) is int else None)
        if code == -signal.SIGKILL:
            message = f"memory limit of {self.limits.memory_mb} MB exceeded in {label} ({words})"
            self.result.problems.append(message)
            return "killed (memory)", message
        message = f"{words} while {label} ran"
        self.result.problems.append(message)
        return "crashed", message

    def _end_copy(self, until: float, label: str) -> None:
        """Tell the worker's test-cell copy the test is over; wait for the worker to take over."""
        self.worker.post({"op": protocol.END})
        until = max(until, time.monotonic() + 5.0)
        for _ in range(8):
            state, frame = self.worker.wait(until)
            if state != "ok":
                break
            info = _copy_ended(frame)
            if info is not None:
                ended = info.get("ended")
                if type(ended) is int and ended > 0:
                    self._ended_note(ended, label)
                return
        self.worker.kill()

    def _ended_note(self, count: int, label: str) -> None:
        plural = "es" if count > 1 else ""
        self.result.notices.append(f"{label}: {count} process{plural} it started ended with it")


def _worker_message(frame) -> dict:
    """The message in a worker frame, or an empty dict when it is malformed."""
    try:
        msg = wire.unpack(frame)[0]
    except wire.WireError:
        return {}
    return msg if isinstance(msg, dict) else {}


def _copy_ended(frame):
    """The COPY_ENDED report in a worker frame, if it is one."""
    info = _worker_message(frame).get(protocol.COPY_ENDED)
    return info if isinstance(info, dict) else None


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


def grade_notebook(nb, workdir, limits: Limits | None = None, seed: str = "") -> GradeResult:
    """Run a sanitized notebook: student cells sandboxed, test cells judged; nb is not modified.

    `seed` reaches the judge alone, as the environment variable JUDGE_SEED (hidden tests draw
    their inputs from it, through instructor.judging).
    """
    if not isinstance(nb, dict) or "cells" not in nb:
        raise TypeError(f"nb must be an nbformat NotebookNode; got {type(nb).__name__}")
    workdir = Path(workdir)
    if not workdir.is_dir():
        raise ValueError(f"workdir must be an existing directory; got {str(workdir)!r}")
    limits = Limits() if limits is None else limits
    if not isinstance(limits, Limits):
        raise TypeError(f"limits must be a Limits; got {type(limits).__name__}")
    if not isinstance(seed, str):
        raise TypeError(f"seed must be a string; got {type(seed).__name__}")
    session = Session(nbformat.from_dict(nb), workdir, limits, seed)
    try:
        result = session.run()
    finally:
        session.close()
    result.nb.metadata[METADATA_KEY] = report(result)
    return result
