"""Figure 5: the first `make lab`, `make release` and `make test` on clean clones, with the
installers' caches warm (as a returning user has them) and, for `make lab`, empty."""

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

TEST_TARGET = 10 * 60.0  # seconds, warm cache, idle 2-core machine
LAB_TARGET = 45.0  # seconds until JupyterLab answers, warm cache
RELEASE_TARGET = 60.0  # seconds for make release, warm cache
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


def clean_env(cache: Path | None) -> dict:
    """The environment without this venv or test run; with cache, empty pip and uv caches there."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JUPYTER", "PYTEST", "VIRTUAL_ENV"))
    }
    venv_bin = str(ROOT / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    if cache is not None:
        env.update(PIP_NO_CACHE_DIR="1", PIP_CACHE_DIR=str(cache / "pip"),
                   UV_CACHE_DIR=str(cache / "uv"))
    return env


def time_make(repo: Path, env: dict, log: Path, target: str = "test") -> tuple[float, int]:
    """Wall seconds and exit status of `make <target>` in repo."""
    start = time.perf_counter()
    with log.open("w") as fh:
        rc = subprocess.run(
            ["make", "--no-print-directory", target],
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


FIGURES = (
    ("first make lab until JupyterLab answers, warm cache", f"<= {LAB_TARGET:g} s"),
    ("first make lab until JupyterLab answers, empty caches", "(no target)"),
    ("make release on a clean clone, warm cache", f"<= {RELEASE_TARGET:g} s"),
    ("make test on a clean clone, warm cache", f"<= {TEST_TARGET / 60:g} min, passing"),
)


def run(quick: bool = False, enabled: bool = False) -> Section:
    """Time each on its own clean clone when enabled (--setup); otherwise say how to run them."""
    section = Section("setup", "Setup on a clean clone")
    if not enabled or quick:
        section.status = SKIPPED
        why = "not run with --quick" if quick else HOW
        for name, target in FIGURES:
            section.rows.append(Row(name, target, why, "", SKIPPED))
        return section
    base = Path(tempfile.mkdtemp(prefix="bench-setup-"))
    logs = Path(tempfile.mkdtemp(prefix="bench-setup-logs-"))  # kept, for a failed run
    warm, cold = clean_env(None), clean_env(base / "caches")
    try:
        t_warm = time_make_lab(clone(base / "lab-warm"), warm, logs / "make-lab-warm.log")
        t_cold = time_make_lab(clone(base / "lab-cold"), cold, logs / "make-lab-cold.log")
        t_rel, rc_rel = time_make(clone(base / "release"), warm, logs / "make-release.log",
                                  "release")
        t_test, rc = time_make(clone(base / "test"), warm, logs / "make-test.log", "test")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    section.data.update(make_lab_warm_s=t_warm, make_lab_cold_s=t_cold, make_release_s=t_rel,
                        make_release_rc=rc_rel, make_test_s=t_test, make_test_rc=rc,
                        logs=str(logs))
    (lab_w, lab_w_t), (lab_c, lab_c_t), (rel, rel_t), (test, test_t) = FIGURES

    def lab_row(name, target, t, limit):
        shown = seconds(t) if t is not None else f"never answered (log in {logs})"
        verdict = judged(t is not None and t <= limit) if limit else (
            INFO if t is not None else judged(False))
        return Row(name, target, shown, "", verdict, t)

    section.rows.append(lab_row(lab_w, lab_w_t, t_warm, LAB_TARGET))
    section.rows.append(lab_row(lab_c, lab_c_t, t_cold, None))
    said = "" if rc_rel == 0 else f", FAILED (exit {rc_rel}, log in {logs})"
    section.rows.append(Row(rel, rel_t, f"{seconds(t_rel)}{said}", "",
                            judged(rc_rel == 0 and t_rel <= RELEASE_TARGET), t_rel))
    status = "passed" if rc == 0 else f"FAILED (exit {rc}, log in {logs})"
    section.rows.append(Row(test, test_t, f"{seconds(t_test)} ({t_test / 60:.1f} min), tests "
                            f"{status}", "", judged(rc == 0 and t_test <= TEST_TARGET), t_test))
    section.notes.append(
        "Setup: each figure on its own fresh `git clone` of the committed repository, building "
        ".venv from scratch; warm: the user's pip and uv caches as they are; empty: "
        "PIP_NO_CACHE_DIR=1 and empty PIP_CACHE_DIR and UV_CACHE_DIR. Packages come from the "
        "installers' configured sources on this machine."
    )
    return section
