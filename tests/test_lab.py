"""`make lab` serves JupyterLab with the course and nbgrader's extensions, without a display."""

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from instructor.paths import ROOT

TOKEN = "convnets-test-token"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, ""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    port = free_port()
    log_path = tmp_path_factory.mktemp("lab") / "lab.log"
    log = log_path.open("w")
    args = f"--no-browser --port={port} --IdentityProvider.token={TOKEN} --ServerApp.port_retries=0"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "PYTEST"))}
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    status = None
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            status, _ = get(f"{base}/api/status?token={TOKEN}")
        except OSError:
            status = None
        if status == 200:
            break
        time.sleep(0.5)
    try:
        if status != 200:
            said = log_path.read_text()[-3000:]
            pytest.fail(f"JupyterLab did not answer on port {port}; make lab said:\n{said}")
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def test_lab_serves_the_course(lab):
    status, body = get(f"{lab}/lab?token={TOKEN}")
    assert status == 200 and "JupyterLab" in body
    status, body = get(f"{lab}/api/contents/notebooks?token={TOKEN}")
    assert status == 200 and "01_fully_connected.ipynb" in body


def test_lab_has_the_nbgrader_formgrader(lab):
    # on a fresh clone the first request creates the gradebook, which takes a while
    status, body = get(f"{lab}/formgrader?token={TOKEN}", timeout=180)
    assert status == 200, f"formgrader answered {status}"
    listing = get(f"{lab}/formgrader/api/assignments?token={TOKEN}", timeout=180)[1]
    assert "a1_fully_connected" in listing
