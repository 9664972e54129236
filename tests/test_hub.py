"""The course on a real JupyterHub with nbgrader's exchange: the whole round trip, and Kubernetes.

A hub (deploy/jupyterhub/jupyterhub_config.py in its test mode: DummyAuthenticator,
SimpleLocalProcessSpawner, configurable-http-proxy) runs on 127.0.0.1 with one instructor and two
students. The instructor releases a1 to the exchange with the nbgrader commands; each student's
server (started through the hub's REST API) lists, fetches and submits it through nbgrader's
Assignments API behind the hub's proxy; the instructor collects, grades with the course's pipeline
and releases feedback; the students fetch it. Timeouts are long and explicit: the machine is shared.
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import nbformat
import pytest

from instructor.paths import ROOT
from tests.support.course import TEST_LIMITS, make_course, read_csv

pytestmark = pytest.mark.hub

ASSIGNMENT = "a1_fully_connected"
COURSE_ID = "convnets-from-scratch"
INSTRUCTOR, STUDENTS = "teacher", ("ada", "alan")
HUB = ROOT / "deploy" / "jupyterhub"
START_TIMEOUT = 240  # seconds for the hub, or one user's server, to answer
REQUEST_TIMEOUT = 180


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hub:
    """A running hub: its URL, the service token, and calls to its API and users' servers."""

    def __init__(self, url, token, log):
        self.url, self.token, self.log = url, token, log

    def call(self, method, path, body=None, timeout=REQUEST_TIMEOUT, form=False):
        data = None
        headers = {"Authorization": f"token {self.token}"}
        if body is not None:
            if form:
                data = urllib.parse.urlencode(body).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            else:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                text = response.read().decode()
                return response.status, json.loads(text) if text.strip()[:1] in ("[", "{") else text
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def start(self, user):
        """Start a user's server through the hub's REST API and wait until it answers."""
        status, said = self.call("POST", f"/hub/api/users/{user}/server")
        assert status in (201, 202, 400), f"starting {user}'s server: {status} {said}"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            status, info = self.call("GET", f"/hub/api/users/{user}")
            server = (info.get("servers") or {}).get("", {}) if isinstance(info, dict) else {}
            if server.get("ready"):
                return
            time.sleep(1)
        pytest.fail(f"{user}'s server not ready after {START_TIMEOUT} s; hub log:\n"
                    f"{self.log.read_text()[-4000:]}")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A released course (a1), the exchange and the users' homes, all in a temporary folder."""
    tmp = tmp_path_factory.mktemp("hub")
    root = make_course(tmp, [ASSIGNMENT])
    shutil.copyfile(ROOT / "nbgrader_config.py", root.parent / "nbgrader_config.py")
    (tmp / "exchange").mkdir()
    os.chmod(tmp / "exchange", 0o1777)
    (tmp / "homes").mkdir()
    (tmp / "state").mkdir()
    return tmp, root


@pytest.fixture(scope="module")
def hub(course):
    tmp, root = course
    if not shutil.which("configurable-http-proxy"):
        pytest.fail("configurable-http-proxy is not installed: npm install -g "
                    "configurable-http-proxy (.ci/run does this)")
    port, api, internal = free_port(), free_port(), free_port()
    token = secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "PYTEST"))}
    env.update({
        "COURSE_HUB_TEST": "1",
        "COURSE_REPO": str(ROOT),
        "COURSE_HUB_URL": f"http://127.0.0.1:{port}",
        "COURSE_HUB_PROXY_API": f"http://127.0.0.1:{api}",
        "COURSE_HUB_INTERNAL": f"http://127.0.0.1:{internal}",
        "COURSE_HUB_STATE": str(tmp / "state"),
        "COURSE_HUB_HOMES": str(tmp / "homes"),
        "COURSE_HUB_TOKEN": token,
        "NBGRADER_EXCHANGE_ROOT": str(tmp / "exchange"),
        "COURSE_INSTRUCTORS": INSTRUCTOR,
        "COURSE_STUDENTS": ",".join(STUDENTS),
        "CONFIGPROXY_AUTH_TOKEN": secrets.token_hex(16),
    })
    log_path = tmp / "hub.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub", "-f", str(HUB / "jupyterhub_config.py")],
        cwd=tmp / "state", env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    hub = Hub(f"http://127.0.0.1:{port}", token, log_path)
    deadline = time.monotonic() + START_TIMEOUT
    up = False
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            up = hub.call("GET", "/hub/api/", timeout=5)[0] == 200
        except OSError:
            up = False
        if up:
            break
        time.sleep(1)
    try:
        if not up:
            pytest.fail(f"JupyterHub did not answer in {START_TIMEOUT} s:\n"
                        f"{log_path.read_text()[-4000:]}")
        hub.env = env
        yield hub
    finally:
        for user in (INSTRUCTOR, *STUDENTS):
            try:  # whatever the hub answers, the hub itself is stopped below
                hub.call("DELETE", f"/hub/api/users/{user}/server", timeout=60)
            except Exception:  # noqa: BLE001
                pass
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def nbgrader(root, env, *args):
    """An nbgrader command as the instructor runs it in a terminal of the course."""
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=REQUEST_TIMEOUT)
    assert done.returncode == 0, f"nbgrader {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout + done.stderr


def assignments_api(hub, user, action, **params):
    """nbgrader's Assignments list API on the user's server, behind the hub's proxy."""
    if action == "list":
        return hub.call("GET", f"/user/{user}/assignments?course_id={COURSE_ID}")
    body = {"assignment_id": ASSIGNMENT, "course_id": COURSE_ID, **params}
    return hub.call("POST", f"/user/{user}/assignments/{action}", body, form=True)


def test_groups_and_tools(hub):
    status, groups = hub.call("GET", "/hub/api/groups")
    assert status == 200
    members = {g["name"]: set(g["users"]) for g in groups}
    assert members["instructors"] == {INSTRUCTOR} and members["students"] == set(STUDENTS)
    for user in (INSTRUCTOR, STUDENTS[0]):
        hub.start(user)
    status, _ = hub.call("GET", f"/user/{INSTRUCTOR}/formgrader/api/assignments")
    assert status == 200, "the instructor has no formgrader"
    status, _ = hub.call("GET", f"/user/{STUDENTS[0]}/formgrader/api/assignments")
    assert status == 404, "a student's server serves the formgrader"
    status, listing = assignments_api(hub, STUDENTS[0], "list")
    assert status == 200 and listing["success"], listing
    status, _ = hub.call("GET", f"/user/{STUDENTS[0]}/api/kernelspecs")
    assert status == 200


def test_the_round_trip_release_fetch_submit_collect_grade_feedback(hub, course):
    tmp, root = course
    env = {**hub.env, "JUPYTER_CONFIG_PATH": str(HUB / "instructor")}
    started = time.monotonic()
    said = nbgrader(root, env, "release_assignment", ASSIGNMENT, "--force")
    assert (tmp / "exchange" / COURSE_ID / "outbound" / ASSIGNMENT).is_dir(), said

    for student in STUDENTS:
        hub.start(student)
        status, listing = assignments_api(hub, student, "list")
        assert status == 200 and listing["success"], listing
        assert [a["assignment_id"] for a in listing["value"]] == [ASSIGNMENT]
        status, fetched = assignments_api(hub, student, "fetch")
        assert status == 200 and fetched["success"], fetched
        path = tmp / "homes" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert path.is_file()
        if student == "alan":  # one student writes a (wrong) answer through the contents API
            nb = nbformat.read(str(path), 4)
            for cell in nb.cells:
                if cell.metadata.get("nbgrader", {}).get("solution") and \
                        cell.cell_type == "code" and "def relu_forward" in cell.source:
                    cell.source = "def relu_forward(x):\n    return x, x\n"
            status, _ = hub.call("PUT", f"/user/{student}/api/contents/{ASSIGNMENT}/"
                                 f"{ASSIGNMENT}.ipynb",
                                 {"type": "notebook", "content": json.loads(nbformat.writes(nb))})
            assert status == 200
        status, submitted = assignments_api(hub, student, "submit")
        assert status == 200 and submitted["success"], submitted

    said = nbgrader(root, env, "collect", ASSIGNMENT)
    for student in STUDENTS:
        folder = root / "submitted" / student / ASSIGNMENT
        assert {"timestamp.txt", "submission_secret.txt", f"{ASSIGNMENT}.ipynb"} <= {
            p.name for p in folder.iterdir()}, said

    limits = [f"--{k.replace('_', '-')}={v}" for k, v in TEST_LIMITS.as_dict().items()]
    done = subprocess.run([sys.executable, "-m", "instructor.grading.grade", "--root", str(root),
                           "--jobs", "2", *limits], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {r["student_id"]: r for r in read_csv(root)}
    assert set(rows) == set(STUDENTS)
    for row in rows.values():
        assert not row["status"].startswith("failed"), row
        assert "submission_secret" not in row["detail"], row  # not flagged as an extra file

    said = nbgrader(root, env, "release_feedback", ASSIGNMENT)
    for student in STUDENTS:
        status, feedback = assignments_api(hub, student, "fetch_feedback")
        assert status == 200 and feedback["success"], feedback
        pages = list((tmp / "homes" / student / ASSIGNMENT / "feedback").rglob("*.html"))
        assert len(pages) == 1, said
        assert "a1_fully_connected" in pages[0].read_text()
    seconds = time.monotonic() - started
    print(f"hub round trip (release to feedback fetched, 2 students): {seconds:.0f} s")


def test_kubernetes_values_run_the_same_course_with_ngshare():
    import yaml

    values = yaml.safe_load((ROOT / "deploy" / "kubernetes" / "values.yaml").read_text())
    hub = values["hub"]
    groups = hub["loadGroups"]
    assert {"instructors", "students"} <= set(groups)
    assert hub["config"]["JupyterHub"]["authenticator_class"]
    singleuser = values["singleuser"]
    assert singleuser["image"]["name"] and singleuser["image"]["tag"] != "latest"
    env = singleuser["extraEnv"]
    assert env["COURSE_ID"] == COURSE_ID
    config = hub["extraConfig"]
    text = "\n".join(config.values())
    assert "ngshare" in text and "NGSHARE" in text.upper()
    compile(text, "values.yaml:hub.extraConfig", "exec")  # the hub's Python is valid
    assert hub["services"]["ngshare"]["url"].startswith("http://ngshare.")
    exchange = singleuser["extraFiles"]["nbgrader_config"]
    assert exchange["mountPath"].endswith("nbgrader_config.py")
    assert "ngshare_exchange" in exchange["stringData"]
    assert f'"{COURSE_ID}"' in exchange["stringData"]
