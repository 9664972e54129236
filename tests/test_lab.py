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
    deadline = time.monotonic() + 300  # a shared machine starts it slowly
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


def csp_of(url):
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.headers.get("Content-Security-Policy", "")


def test_lab_pages_carry_a_policy_against_inline_script(lab):
    policy = csp_of(f"{lab}/lab?token={TOKEN}")
    script = next(p for p in policy.split(";") if p.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script and "'sha256-" in script  # JupyterLab's own script
    assert "object-src 'none'" in policy and "frame-ancestors 'self'" in policy


def test_the_policy_lets_the_servers_scripts_run_and_no_other():
    from instructor.labserver import digest, policy_for

    own = '\nvar base_url = "/user/ada";\n'  # the formgrader's base template, filled in
    smuggled = "window.__pwned = 1"
    page = (f"<html><head><script>{own}</script></head><body><script>{smuggled}</script>"
            "<img src=x onerror=\"window.__pwned=2\">"
            "<span onclick=\"toggle_name(true);\">x</span></body></html>")
    policy = policy_for(page)
    assert digest(own) in policy
    assert digest(smuggled) not in policy and digest("window.__pwned=2") not in policy
    assert digest("toggle_name(true);") in policy and "'unsafe-hashes'" in policy
    assert "'unsafe-inline'" not in policy.split(";")[0]  # script-src (styles may be inline)
