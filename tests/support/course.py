"""A temporary copy of the course to release and grade in, and submissions to put into it."""

from __future__ import annotations

import csv
import functools
import html
import re
import shutil
import tempfile
from pathlib import Path

import nbformat

from instructor.engine.limits import Limits
from instructor.grading.pipeline import grade
from instructor.grading.release import generate_release
from instructor.paths import ROOT, SOURCE, assignment_ids

# Short limits: tests grade many small classes on a 2-core machine.
TEST_LIMITS = Limits(cell_timeout=20, total_timeout=180, memory_mb=1024, output_bytes=100_000)


def available_assignments() -> list[str]:
    """Assignments that have a source notebook."""
    return assignment_ids() if SOURCE.is_dir() else []


@functools.cache
def empty_gradebook() -> Path:
    """An empty gradebook, made once per process (nbgrader runs alembic to make one: slow)."""
    from nbgrader.api import Gradebook

    from instructor.grading.config import ensure_tools_on_path

    ensure_tools_on_path()
    path = Path(tempfile.mkdtemp(prefix="gradebook-")) / "gradebook.db"
    Gradebook(f"sqlite:///{path}", "convnets-from-scratch").close()
    return path


def make_course(tmp: Path, assignments: list[str]) -> Path:
    """A course root in tmp with these assignments' sources, released (gradebook included)."""
    root = Path(tmp) / "course"
    (root / "source").mkdir(parents=True)
    shutil.copyfile(empty_gradebook(), root / "gradebook.db")
    for assignment in assignments:
        shutil.copytree(SOURCE / assignment, root / "source" / assignment)
    shutil.copyfile(ROOT / "assignments" / "nbgrader_config.py", root / "nbgrader_config.py")
    generate_release(root, assignments, out=lambda *_: None)
    return root


def released(root: Path, assignment: str):
    """The released (student) notebook of an assignment."""
    return nbformat.read(str(root / "release" / assignment / f"{assignment}.ipynb"), 4)


def submit(root: Path, student: str, assignment: str, nb=None, *, text: str | None = None,
           name: str | None = None, extra: dict[str, str] | None = None) -> Path:
    """Put a submission in submitted/<student>/<assignment>/ (a notebook, raw text, files)."""
    folder = root / "submitted" / student / assignment
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    path = folder / (name or f"{assignment}.ipynb")
    if text is not None:
        path.write_text(text)
    elif nb is not None:
        nbformat.write(nb, str(path))
    for rel, content in (extra or {}).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(content)
    return folder


def run(root: Path, jobs: int = 2, limits: Limits = TEST_LIMITS, **kwargs) -> dict:
    """Grade the course quietly; returns {(student, assignment): Submission}."""
    subs = grade(root, jobs=jobs, limits=limits, out=lambda *_: None, **kwargs)
    return {(s.student_id, s.assignment): s for s in subs}


def read_csv(root: Path) -> list[dict]:
    """grades.csv as a list of rows."""
    with (root / "grades.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def cell_scores(root: Path, student: str, assignment: str) -> dict[str, tuple[float, float]]:
    """{grade_id: (score, max_score)} of the submission's autograded test cells."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        submission = gb.find_submission(assignment, student)
        return {
            g.name: (float(g.score or 0.0), float(g.max_score))
            for nb in submission.notebooks
            for g in nb.grades
            if g.cell.cell_type == "code"
        }


def failed_tests(root: Path, student: str, assignment: str) -> set[str]:
    """Test cells that did not get full marks."""
    scores = cell_scores(root, student, assignment)
    return {name for name, (score, top) in scores.items() if score < top}


# Lines too short or too generic to tell anything: `pass`, `return out, cache`, `N = x.shape[0]`,
# the opening line of a call continued below (`raise ValueError(`), loop headers over ranges, and
# random generator set-up. Everything else in a hidden test or a solution counts.
TRIVIAL = re.compile(
    r"(.{0,19}|.*[(\[{]|for [\w, ()]+ in (range|enumerate|zip)\(.*\):|.*default_rng\(.*\)"
    r"|return( [\w.\[\]]+(, [\w.\[\]]+)*)?)"
)


def squash(line: str) -> str:
    """A line with runs of whitespace made single spaces, stripped."""
    return " ".join(line.split())


# Lines of the layer contract that the lessons teach on purpose (how a layer unpacks its input's
# shape and its parameters, and pads NCHW input): shared by lessons and solutions, not a leak.
TAUGHT = re.compile(
    r"[\w, ]+ = \w+\.shape"
    r"|[\w, ]+ = (\w+_param\[\"\w+\"\](, )?)+"
    r"|x_pad = np\.pad\(x, \(\(0, 0\), \(0, 0\), \(P, P\), \(P, P\)\)\)( # .*)?"
)


def substantive(line: str) -> bool:
    """Not blank, not a comment, not trivially short (`pass`, `return out, cache`, ...)."""
    line = squash(line)
    return (bool(line) and not line.startswith("#") and not TRIVIAL.fullmatch(line)
            and not TAUGHT.fullmatch(line))


def regions(nb) -> tuple[set[str], set[str], set[str]]:
    """(public, hidden, solution) squashed lines of a source notebook's cells.

    Hidden lines lie between ### BEGIN/END HIDDEN TESTS, solution lines between
    ### BEGIN/END SOLUTION (or the mark scheme markers); public lines are all the others.
    """
    public, hidden, solution = set(), set(), set()
    for cell in nb.cells:
        where = public
        for raw in cell.source.splitlines():
            line = squash(raw)
            if "BEGIN HIDDEN TESTS" in line:
                where = hidden
            elif "BEGIN SOLUTION" in line or "BEGIN MARK SCHEME" in line:
                where = solution
            elif any(m in line for m in ("END HIDDEN TESTS", "END SOLUTION", "END MARK SCHEME")):
                where = public
            else:
                where.add(line)
    return public, hidden, solution


def secret_lines(assignments: list[str]) -> tuple[set[str], set[str]]:
    """(hidden test lines, solution lines) of the sources that appear nowhere public."""
    public, hidden, solution = set(), set(), set()
    for assignment in assignments:
        nb = nbformat.read(str(SOURCE / assignment / f"{assignment}.ipynb"), 4)
        p, h, s = regions(nb)
        public |= p
        hidden |= h
        solution |= s
    keep = lambda lines: {x for x in lines - public if substantive(x)}  # noqa: E731
    return keep(hidden), keep(solution)


TRACEBACK_PREFIX = re.compile(r"^(-*> ?)?\d+ ")


def html_lines(path: Path) -> set[str]:
    """The visible text lines of an HTML page, squashed; traceback line numbers dropped."""
    raw = re.sub(r"<(script|style)\b.*?</\1>", " ", path.read_text(), flags=re.S | re.I)
    text = html.unescape(re.sub(r"<[^>]+>", "", raw))
    lines = {squash(line) for line in text.splitlines()}
    return lines | {TRACEBACK_PREFIX.sub("", line) for line in lines}


MARKER = "XSS"  # every payload names it: it may appear in a page as text only


def executable_markup(page: str) -> list[str]:
    """What in an HTML page could run a payload: event handlers, script URLs, script, frames.

    Payloads carry MARKER; the page is inert for them when no script or style element holds
    MARKER, no attribute is an event handler or a script URL, and no tag embeds other content.
    """
    from html.parser import HTMLParser

    found = []

    class Checker(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.inside = []

        def handle_starttag(self, tag, attrs):
            if tag in ("iframe", "object", "embed", "svg", "base", "form", "frame"):
                found.append(f"<{tag}>")
            for name, value in attrs:
                url = re.sub(r"[\s\x00-\x1f]", "", value or "").lower()
                if name.startswith("on") or url.startswith(
                        ("javascript:", "vbscript:", "data:text/html")):
                    found.append(f"<{tag} {name}={value!r}>")
            if tag in ("script", "style"):
                self.inside.append(tag)

        def handle_endtag(self, tag):
            if self.inside and tag == self.inside[-1]:
                self.inside.pop()

        def handle_data(self, data):
            if self.inside and MARKER in data:
                found.append(f"<{self.inside[-1]}> {data[:80]!r}")

    Checker().feed(page)
    return found
