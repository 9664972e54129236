"""JupyterHub for the course on one machine, with nbgrader's exchange (see README.md here).

    jupyterhub -f deploy/jupyterhub/jupyterhub_config.py

Everything is set from the environment, with defaults for a course server:
- COURSE_REPO: the course repository with its .venv (default: the one holding this file);
- NBGRADER_EXCHANGE_ROOT: the exchange folder (default /srv/nbgrader/exchange; world-writable
  with the sticky bit, as nbgrader's exchange needs);
- COURSE_ID: nbgrader's course id (default convnets-from-scratch);
- COURSE_INSTRUCTORS, COURSE_STUDENTS: comma-separated user names of the two groups;
- COURSE_HUB_URL: where the hub listens (default http://:8000);
- COURSE_HUB_TEST=1: a self-contained hub for tests: DummyAuthenticator (COURSE_HUB_PASSWORD),
  SimpleLocalProcessSpawner (every user's server runs as the hub's user, homes under
  COURSE_HUB_HOMES), state under COURSE_HUB_STATE, and the service token COURSE_HUB_TOKEN.

Instructors' servers start in the course repository (formgrader, create assignment, the course
list; `make grade` and the nbgrader commands in a terminal). Students' servers start in their home,
with the Assignments list (fetch, submit, fetch feedback) and Validate; the formgrader and course
tools are switched off for them. Both run the course's Python (.venv, with helpers).
"""

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = Path(os.environ.get("COURSE_REPO", HERE.parent.parent)).resolve()
VENV_BIN = REPO / ".venv" / "bin"
EXCHANGE = os.environ.get("NBGRADER_EXCHANGE_ROOT", "/srv/nbgrader/exchange")
COURSE_ID = os.environ.get("COURSE_ID", "convnets-from-scratch")
TEST = os.environ.get("COURSE_HUB_TEST") == "1"


def names(variable: str) -> list[str]:
    """User names from a comma-separated environment variable."""
    return [n.strip() for n in os.environ.get(variable, "").split(",") if n.strip()]


INSTRUCTORS, STUDENTS = names("COURSE_INSTRUCTORS"), names("COURSE_STUDENTS")

c = get_config()  # noqa: F821 (injected by traitlets)
c.JupyterHub.bind_url = os.environ.get("COURSE_HUB_URL", "http://:8000")

# Groups: who is an instructor decides which nbgrader tools a server gets.
c.JupyterHub.load_groups = {
    "instructors": {"users": INSTRUCTORS},
    "students": {"users": STUDENTS},
}
c.Authenticator.allowed_users = set(INSTRUCTORS + STUDENTS)
c.Authenticator.admin_users = set(INSTRUCTORS)

# Every server: the course's Python and the exchange.
c.Spawner.cmd = [str(VENV_BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {
    "PATH": f"{VENV_BIN}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
    "NBGRADER_EXCHANGE_ROOT": EXCHANGE,
    "COURSE_ID": COURSE_ID,
    "COURSE_ROOT": str(REPO / "assignments"),
}
c.Spawner.http_timeout = 120  # a shared machine may start a server slowly
c.Spawner.start_timeout = 180


def pre_spawn(spawner):
    """Instructors: the course repository and its tools; students: their home, the exchange."""
    groups = {g.name for g in spawner.user.groups}
    instructor = "instructors" in groups or spawner.user.name in INSTRUCTORS
    role = "instructor" if instructor else "student"
    spawner.environment["JUPYTER_CONFIG_PATH"] = str(HERE / role)
    if instructor:
        spawner.notebook_dir = str(REPO)
    os.makedirs(EXCHANGE, exist_ok=True)


c.Spawner.pre_spawn_hook = pre_spawn

if TEST:
    state = Path(os.environ["COURSE_HUB_STATE"])
    c.JupyterHub.authenticator_class = "dummy"
    c.DummyAuthenticator.password = os.environ.get("COURSE_HUB_PASSWORD", "course")
    c.JupyterHub.spawner_class = "simple"
    c.SimpleLocalProcessSpawner.home_dir_template = os.environ["COURSE_HUB_HOMES"] + "/{username}"
    c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(state / "cookie_secret")
    c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
    c.ConfigurableHTTPProxy.api_url = os.environ["COURSE_HUB_PROXY_API"]
    c.JupyterHub.hub_bind_url = os.environ["COURSE_HUB_INTERNAL"]
    c.JupyterHub.cleanup_servers = True
    c.Spawner.args = ["--allow-root"] if os.geteuid() == 0 else []
    c.Spawner.environment["COURSE_SHARED_ACCOUNT"] = "1"  # one OS account for all: see student/
    c.JupyterHub.services = [{"name": "course-test", "api_token": os.environ["COURSE_HUB_TOKEN"]}]
    c.JupyterHub.load_roles = [{
        "name": "course-test",
        "services": ["course-test"],
        "scopes": ["admin:users", "admin:servers", "access:servers", "list:groups",
                   "read:groups"],
    }]
else:
    # One machine with real accounts: users log in with their Unix password and each server
    # runs as its user (create the accounts first; see README.md).
    c.JupyterHub.authenticator_class = "pam"
    c.JupyterHub.spawner_class = "localprocess"
