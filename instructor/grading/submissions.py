"""Submissions: find them, check each, and stage its notebook for nbgrader."""

from __future__ import annotations

import contextlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from instructor.paths import GRADING

MAX_NOTEBOOK_BYTES = 50_000_000
# Files nbgrader itself puts beside a submission: the submission time, and the exchange's secret
# that names the feedback `nbgrader release_feedback` hands back. Both are staged, never "extra".
NBGRADER_FILES = ("timestamp.txt", "submission_secret.txt")


@dataclass
class Submission:
    """One student's submission of one assignment, and what grading made of it."""

    student_id: str
    assignment: str
    notes: list[str] = field(default_factory=list)  # what was noticed, for the detail column
    failure: str | None = None  # set when it cannot be graded at all
    staged: Path | None = None  # the staged notebook nbgrader grades
    score: float = 0.0
    max_score: float = 0.0
    status: str = ""
    detail: str = ""
    seconds: float = 0.0
    autograded: bool = False  # nbgrader autograde succeeded in this run
    run_seconds: float = 0.0  # its grading job (autograde and feedback, in parallel)
    serial_seconds: float = 0.0  # taking the job's result into the course, one at a time
    from_cache: bool = False  # the engine's result was reused from the cache

    @property
    def key(self) -> str:
        return f"{self.assignment}/{self.student_id}"


def check_root(root) -> Path:
    """The course root, resolved; it must hold nbgrader_config.py and source/."""
    path = Path(root).resolve()
    if not (path / "nbgrader_config.py").is_file() or not (path / "source").is_dir():
        raise FileNotFoundError(
            f"root must be an nbgrader course folder with nbgrader_config.py and source/; "
            f"got {str(path)!r}"
        )
    return path


def find_submissions(root: Path, assignments: list[str], students=None) -> list[Submission]:
    """Every submitted/<student>/<id>/ directory for the given assignments."""
    submitted = root / "submitted"
    found = []
    if not submitted.is_dir():
        return found
    for student_dir in sorted(submitted.iterdir()):
        if not student_dir.is_dir() or student_dir.name.startswith("."):
            continue
        if students and student_dir.name not in students:
            continue
        for assignment in assignments:
            if (student_dir / assignment).is_dir():
                found.append(Submission(student_dir.name, assignment))
    return found


def _describe(paths, base: Path) -> str:
    names = sorted(str(p.relative_to(base)) for p in paths)
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _lone_surrogate(value) -> str | None:
    """The first lone surrogate in decoded JSON (no UTF-8 file can store one), or None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            return value[error.start]
        return None
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, list):
        items = value
    else:
        return None
    return next((found for item in items if (found := _lone_surrogate(item)) is not None), None)


def _check_unicode(data: dict) -> None:
    """Raise ValueError naming the cell that holds a lone surrogate, if one does."""
    places = [(f"cell {i}", cell) for i, cell in enumerate(data["cells"])]
    rest = {k: v for k, v in data.items() if k != "cells"}
    for where, value in places + [("the notebook's metadata", rest)]:
        found = _lone_surrogate(value)
        if found is not None:
            if isinstance(value, dict) and isinstance(value.get("metadata"), dict):
                gid = (value["metadata"].get("nbgrader") or {}).get("grade_id")
                where += f" ({gid})" if isinstance(gid, str) and gid.isidentifier() else ""
            raise ValueError(
                f"{where} holds a lone surrogate character (\\u{ord(found):04x}), which is not "
                f"valid Unicode: remove it and submit again"
            )


def read_notebook(path: Path):
    """The notebook at path, or raise ValueError saying why it cannot be graded."""
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"notebook is too large ({size} bytes; at most {MAX_NOTEBOOK_BYTES})")
    text = path.read_bytes().decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"notebook is not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise ValueError("file is not a Jupyter notebook (no list of cells)")
    _check_unicode(data)
    try:
        nb = nbformat.reads(text, as_version=4)
        if nb.nbformat_minor < 5:  # cell ids came with nbformat 4.5
            nb = nbformat.v4.upgrade(nb, from_version=4, from_minor=nb.nbformat_minor)
        nbformat.validate(nb)
    except Exception as error:  # nbformat raises many kinds for broken notebooks
        first = str(error).strip().splitlines()[0][:120] if str(error).strip() else ""
        raise ValueError(
            f"notebook does not follow the Jupyter notebook format ({type(error).__name__}: "
            f"{first})"
        ) from None
    return nb


@contextlib.contextmanager
def isolated(sub: Submission, stage_name: str):
    """Run one stage of one submission: an error fails this submission only, saying why."""
    try:
        yield
    except Exception as error:  # anything a malformed submission makes a stage raise
        text = " ".join(str(error).split())[:200]
        why = f"{type(error).__name__}: {text}" if text else type(error).__name__
        if sub.failure is None:
            sub.failure = f"{stage_name} failed ({why})"
        else:
            sub.notes.append(f"{stage_name} failed ({why})")


def stage(root: Path, sub: Submission) -> None:
    """Check one submission and stage its notebook for nbgrader, or set sub.failure."""
    folder = root / "submitted" / sub.student_id / sub.assignment
    wanted = folder / f"{sub.assignment}.ipynb"
    files = [
        p
        for p in folder.rglob("*")
        if p.is_file() and ".ipynb_checkpoints" not in p.parts and "__pycache__" not in p.parts
    ]
    notebooks = [p for p in files if p.suffix == ".ipynb"]
    chosen = None
    if wanted.is_file():
        chosen = wanted
    elif len(notebooks) == 1:
        chosen = notebooks[0]
        sub.notes.append(
            f"notebook was named {chosen.relative_to(folder)}; graded as {wanted.name}"
        )
    elif notebooks:
        sub.failure = f"no notebook {wanted.name} (found {_describe(notebooks, folder)})"
        return
    else:
        sub.failure = f"no notebook {wanted.name} in the submission"
        return
    extra = [p for p in files if p != chosen and p.relative_to(folder).as_posix()
             not in NBGRADER_FILES]
    if extra:
        sub.notes.append(f"ignored extra files: {_describe(extra, folder)}")
    try:
        nb = read_notebook(chosen)
    except ValueError as error:
        sub.failure = str(error)
        return
    dest = root / GRADING / "submitted" / sub.student_id / sub.assignment
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    sub.staged = dest / wanted.name
    nbformat.write(nb, str(sub.staged))
    for name in NBGRADER_FILES:
        if (folder / name).is_file():
            shutil.copyfile(folder / name, dest / name)
