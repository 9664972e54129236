"""Where things live: the one definition of the repository's paths and the assignment ids."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "assignments"  # the nbgrader course directory
SOURCE = COURSE / "source"
LESSONS = ROOT / "notebooks"
SOLUTIONS = ROOT / "solutions"
HELPERS = ROOT / "helpers"
DIST = ROOT / "dist"
GRADING = ".grading"  # under a course root: staged submissions, cache, logs, state


def assignment_ids(root: str | Path = COURSE) -> list[str]:
    """Assignments of a course: every source/<id>/ holding <id>.ipynb, sorted."""
    source = Path(root) / "source"
    if not source.is_dir():
        raise FileNotFoundError(f"root must be an nbgrader course folder with source/; got {root}")
    return sorted(p.name for p in source.iterdir() if (p / f"{p.name}.ipynb").is_file())


def source_path(assignment_id: str, root: str | Path = COURSE) -> Path:
    """Path of an assignment's instructor notebook: <root>/source/<id>/<id>.ipynb."""
    path = Path(root) / "source" / assignment_id / f"{assignment_id}.ipynb"
    if not path.is_file():
        raise FileNotFoundError(
            f"no assignment {assignment_id!r} at {path} (known: {assignment_ids(root)})"
        )
    return path
