"""HardenedExecute: nbgrader's Execute replaced by the hardened engine (instructor.engine)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import fields
from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float, Integer, Unicode

from instructor.engine.cache import cache_key, load, precompute
from instructor.engine.limits import HELP, Limits
from instructor.engine.results import report

_DEFAULTS = Limits()
SECRET = Path(".grading") / "secret"  # under the course root: 32 random bytes, hex, mode 0600


def course_secret(root) -> bytes:
    """The course's grading secret, <root>/.grading/secret, created (0600) on first use."""
    path = Path(root) / SECRET
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    text = path.read_text().strip()
    if len(text) < 32:
        raise ValueError(f"{path} holds no grading secret (expected 64 hex digits)")
    return text.encode()


def work_digest(nb) -> str:
    """A hash of the student's work in a notebook: the sources of its cells, test cells aside."""
    from instructor.cells import is_test_cell

    digest = hashlib.sha256()
    for cell in nb.get("cells", []):
        if not is_test_cell(cell):
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else str(source)
            digest.update(source.encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()


def grading_seed(root, student_id: str, assignment_id: str, work: str = "") -> str:
    """The hidden tests' seed for one submission: HMAC-SHA256(secret, "<student>/<assignment>/
    <work digest>"). Re-grading the same work draws the same inputs; a resubmission draws new
    ones, so inputs a submission saw are no use to the next."""
    message = f"{student_id}/{assignment_id}/{work}".encode()
    return hmac.new(course_secret(root), message, hashlib.sha256).hexdigest()


def _limit_traits() -> dict:
    """One configurable trait per field of Limits, with its default and help."""
    traits = {}
    for f in fields(Limits):
        kind = Float if f.type == "float" else Integer
        traits[f.name] = kind(getattr(_DEFAULTS, f.name), help=HELP[f.name]).tag(config=True)
    return traits


class HardenedExecute(NbGraderPreprocessor):
    """Drop-in replacement for nbgrader's Execute that grades through the sandbox."""

    locals().update(_limit_traits())
    cache_dir = Unicode("", help="Directory of precomputed results (empty: none).").tag(config=True)
    course_root = Unicode(
        "", help="Course root holding .grading/secret (empty: CourseDirectory.root, else cwd)."
    ).tag(config=True)

    def limits(self) -> Limits:
        """The configured limits."""
        return Limits(**{f.name: getattr(self, f.name) for f in fields(Limits)})

    def root(self) -> str:
        """The course root: this trait, else nbgrader's CourseDirectory.root, else the cwd."""
        if self.course_root:
            return self.course_root
        configured = self.config.get("CourseDirectory", {}).get("root")
        return str(configured) if configured else os.getcwd()

    def seed(self, nb, resources) -> str:
        """The hidden tests' seed for the submission nbgrader is grading ("" without ids)."""
        info = resources.get("nbgrader") or {}
        student, assignment = info.get("student"), info.get("assignment")
        if not (isinstance(student, str) and isinstance(assignment, str)):
            return ""
        return grading_seed(self.root(), student, assignment, work_digest(nb))

    def preprocess(self, nb, resources):
        """Grade `nb` (reusing a cached result when one matches) and record problems."""
        limits = self.limits()
        workdir = (resources.get("metadata") or {}).get("path") or os.getcwd()
        seed = self.seed(nb, resources)
        result = None
        if self.cache_dir:
            result = load(nb, Path(self.cache_dir) / f"{cache_key(nb, limits, seed)}.json")
        if result is None:
            result = precompute(nb, workdir, limits, self.cache_dir or None, seed)
        for problem in result.problems:
            self.log.warning("hardened grading: %s", problem)
        resources["hardened"] = report(result)
        return result.nb, resources
