"""A child interpreter (the worker or the judge) running over two pipes, and how it ended."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time

from instructor.paths import ROOT

from . import wire
from .protocol import describe_death

F_SETPIPE_SZ, PIPE_BYTES = 1031, 1 << 20
# Seconds the worker has to take a message the driver writes. The driver writes only when the
# worker should be reading, so one that has not read for this long has stopped (student code
# can make it stop, sleeping, so no CPU limit ends it): it is killed, never waited for.
WRITE_GRACE = 10.0


class Process:
    """A child interpreter running instructor.engine.<kind>.main over two pipes."""

    def __init__(self, kind: str, cwd: str, env: dict, log: str):
        child_reads, driver_writes = os.pipe()
        driver_reads, child_writes = os.pipe()
        for fd in (child_reads, child_writes):
            try:
                fcntl.fcntl(fd, F_SETPIPE_SZ, PIPE_BYTES)
            except OSError:
                pass
        code = (
            f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
            f"from instructor.engine.{kind} import main; main({child_reads}, {child_writes})"
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
        self.channel = wire.Channel(driver_reads, driver_writes)
        self.bounded = kind == "worker"  # the judge is trusted to read what it is sent
        if self.bounded:
            os.set_blocking(driver_writes, False)
        self.killed = self.closed = self.stalled = False

    def alive(self) -> bool:
        return self.proc.poll() is None

    def post(self, msg: dict) -> None:
        """Send a message; a dead peer (or a stalled worker, killed) is noticed by the next
        wait()."""
        self._send(lambda deadline: self.channel.send(msg, deadline=deadline))

    def post_frame(self, frame) -> None:
        """Send a packed frame; a dead peer (or a stalled worker, killed) is noticed by the next
        wait()."""
        self._send(lambda deadline: self.channel.send_frame(frame, deadline))

    def _send(self, write) -> None:
        try:
            write(time.monotonic() + WRITE_GRACE if self.bounded else None)
        except TimeoutError:  # it stopped reading: end it, so the next wait() hears it died
            self.stalled = self.killed = True
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        except OSError:
            pass

    def wait(self, until: float):
        """('ok', frame), ('timeout', None), ('dead', None) or ('protocol', None)."""
        try:
            frame = self.channel.recv_frame(until, alive=self.alive)
        except EOFError:
            return "dead", None
        except wire.WireError:
            return "protocol", None
        return ("timeout", None) if frame is None else ("ok", frame)

    def relay(self, dest: wire.Channel, until: float) -> str:
        """Pass the next frame on to `dest`: 'ok', 'timeout', 'partial', 'dead' or 'protocol'."""
        try:
            return self.channel.relay(dest, until, alive=self.alive)
        except EOFError:
            return "dead"
        except wire.WireError:
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
        if self.stalled:
            return f"the worker stopped reading its messages for {WRITE_GRACE:g} s and was ended"
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
