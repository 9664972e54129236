"""Figure 5: `make test` and the first `make lab` on a clean clone with an empty pip cache."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from instructor.paths import ROOT

from .common import INFO, SKIPPED, Row, Section, seconds
from .common import verdict as judged

TEST_TARGET = 20 * 60.0  # seconds: the plan keeps `make test` well under 20 minutes
LAB_TIMEOUT = 900.0
TOKEN = "bench-token"
HOW = "not run: make bench BENCH_ARGS=--setup"


def free_port() -> int:
    """A TCP port on the loopback interface that nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clone(dest: Path) -> Path:
    """A fresh `git clone` of this repository (its committed state) at dest."""
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(dest)], check=True)
    return dest


def clean_env(cache: Path) -> dict:
    """The environment with an empty pip cache and nothing of this venv or test run."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JUPYTER", "PYTEST", "VIRTUAL_ENV"))
    }
    venv_bin = str(ROOT / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env.update(PIP_NO_CACHE_DIR="1", PIP_CACHE_DIR=str(cache))
    return env


def time_make_test(repo: Path, env: dict, log: Path) -> tuple[float, int]:
    """Wall seconds and exit status of `make test` in repo."""
    start = time.perf_counter()
    with log.open("w") as fh:
        rc = subprocess.run(
            ["make", "--no-print-directory", "test"],
            cwd=repo,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        ).returncode
    return time.perf_counter() - start, rc


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def time_make_lab(repo: Path, env: dict, log: Path) -> float | None:
    """Seconds from `make lab` until JupyterLab answers on its URL (None if it never does)."""
    port = free_port()
    args = f"--no-browser --port={port} --IdentityProvider.token={TOKEN} --ServerApp.port_retries=0"
    url = f"http://127.0.0.1:{port}/lab?token={TOKEN}"
    start = time.perf_counter()
    with log.open("w") as fh:
        proc = subprocess.Popen(
            ["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"],
            cwd=repo,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            while time.perf_counter() - start < LAB_TIMEOUT and proc.poll() is None:
                if _answers(url):
                    return time.perf_counter() - start
                time.sleep(0.5)
            return None
        finally:
            _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    """End the process group this module started for `make lab`."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def run(quick: bool = False, enabled: bool = False) -> Section:
    """Time both on clean clones when enabled (--setup); otherwise say how to run them."""
    section = Section("setup", "Setup on a clean clone")
    if not enabled or quick:
        section.status = SKIPPED
        why = "not run with --quick" if quick else HOW
        section.rows.append(
            Row("make test on a clean clone", f"<= {TEST_TARGET / 60:g} min", why, "", SKIPPED)
        )
        section.rows.append(
            Row("first make lab until JupyterLab answers", "(no target)", why, "", SKIPPED)
        )
        return section
    base = Path(tempfile.mkdtemp(prefix="bench-setup-"))
    logs = Path(tempfile.mkdtemp(prefix="bench-setup-logs-"))  # kept, for a failed run
    try:
        env = clean_env(base / "pip-cache")
        t_test, rc = time_make_test(clone(base / "test"), env, logs / "setup-make-test.log")
        t_lab = time_make_lab(clone(base / "lab"), env, logs / "setup-make-lab.log")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    section.data.update(make_test_s=t_test, make_test_rc=rc, make_lab_s=t_lab, logs=str(logs))
    status = "passed" if rc == 0 else f"FAILED (exit {rc}, log in {logs})"
    section.rows.append(
        Row(
            "make test on a clean clone",
            f"<= {TEST_TARGET / 60:g} min",
            f"{seconds(t_test)} ({t_test / 60:.1f} min), tests {status}",
            "",
            judged(rc == 0 and t_test <= TEST_TARGET),
            t_test,
        )
    )
    lab = seconds(t_lab) if t_lab is not None else f"never answered (log in {logs})"
    section.rows.append(
        Row(
            "first make lab until JupyterLab answers",
            "(no target)",
            lab,
            "",
            INFO if t_lab is not None else judged(False),
            t_lab,
        )
    )
    section.notes.append(
        "Setup: each figure on its own fresh `git clone` of the committed repository, building "
        ".venv from scratch with pip's cache disabled (PIP_NO_CACHE_DIR=1, empty PIP_CACHE_DIR); "
        "packages come from pip's configured sources on this machine."
    )
    return section
