"""Lessons and their worked solutions: find them, and merge a solutions notebook into its lesson."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from pathlib import Path

from instructor.notebooks import read
from instructor.paths import LESSONS, SOLUTIONS

LESSON_NAME = re.compile(r"^(\d\d)_[a-z0-9_]+\.ipynb$")


def lesson_paths(directory: str | Path = LESSONS) -> list[Path]:
    """Every lesson notebook NN_name.ipynb in directory, in course order."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"directory must be a folder of lessons; got {directory}")
    return sorted(p for p in directory.glob("[0-9][0-9]_*.ipynb") if LESSON_NAME.match(p.name))


def solutions_path(lesson_path: str | Path) -> Path:
    """The worked-solutions notebook of a lesson: solutions/<same name>."""
    name = Path(lesson_path).name
    if not LESSON_NAME.match(name):
        raise ValueError(f"lesson_path must name a lesson NN_name.ipynb; got {str(lesson_path)!r}")
    return SOLUTIONS / name


def tags(cell) -> list[str]:
    """The cell's metadata tags (empty list when it has none)."""
    found = cell.get("metadata", {}).get("tags", [])
    return list(found) if isinstance(found, list) else []


def tagged(nb, tag: str) -> list:
    """The notebook's cells carrying tag, in order."""
    return [cell for cell in _notebook(nb, "nb").cells if tag in tags(cell)]


def exercise_ids(nb) -> list[str]:
    """Ids of the notebook's exercise cells, in order."""
    return [cell.get("id") for cell in tagged(nb, "exercise")]


def with_solutions(lesson_nb, solutions_nb):
    """A copy of lesson_nb whose exercise cells hold the code of the matching solution cells."""
    lesson = _notebook(lesson_nb, "lesson_nb")
    solutions = _notebook(solutions_nb, "solutions_nb")
    exercises = tagged(lesson, "exercise")
    answers = tagged(solutions, "solution")
    for role, cells in (("lesson_nb exercise", exercises), ("solutions_nb solution", answers)):
        ids = [cell.get("id") for cell in cells]
        if None in ids or "" in ids:
            raise ValueError(f"every {role} cell must have a cell id; got ids {ids}")
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"{role} cell ids must be unique; got {repeated} more than once")
        wrong_type = [cell.get("id") for cell in cells if cell.cell_type != "code"]
        if wrong_type:
            raise ValueError(f"{role} cells must be code cells; got non-code cells {wrong_type}")
    by_id = {cell.id: cell for cell in answers}
    wanted = [cell.id for cell in exercises]
    missing = [i for i in wanted if i not in by_id]
    extra = [i for i in by_id if i not in wanted]
    if missing or extra:
        raise ValueError(
            "solutions_nb must hold one solution cell per exercise of lesson_nb, with its id; "
            f"exercises without a solution: {missing}; solutions without an exercise: {extra}"
        )
    merged = copy.deepcopy(lesson)
    for cell in merged.cells:
        if "exercise" in tags(cell):
            cell.source = by_id[cell.id].source
    return merged


def _notebook(nb, name: str):
    """nb as an nbformat v4 notebook (a path is read), or a TypeError naming the argument."""
    import nbformat

    if isinstance(nb, str | Path):
        return read(nb)
    if isinstance(nb, Mapping) and isinstance(nb.get("cells"), list):
        return nbformat.from_dict(nb)
    raise TypeError(f"{name} must be a notebook (or a path to one); got {type(nb).__name__}")
