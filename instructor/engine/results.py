"""What the engine reports for a notebook: per-cell outcomes, problems and notes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import nbformat

METADATA_KEY = "hardened_grading"  # nb.metadata[METADATA_KEY]: the engine's report


@dataclass
class CellOutcome:
    """What happened to one code cell."""

    grade_id: str | None
    index: int
    status: str
    message: str = ""
    seconds: float = field(default=0.0, compare=False)  # wall time: a measure, not an outcome


@dataclass
class GradeResult:
    """The executed notebook, per-cell outcomes, abnormal events and platform notes."""

    nb: nbformat.NotebookNode
    cells: list[CellOutcome] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # per-cell notes for grades.csv `detail`


def report(result: GradeResult) -> dict:
    """The engine's report as plain data: problems, per-cell outcomes, notes and notices.

    problems: what stopped or cut the grading (a limit, a crash); notes: how the sandbox ran
    (isolation); notices: what a cell did that grading did not allow or had to undo, named by
    cell ("cell 7 (train): not run while grading: %pip install tqdm (...)").
    """
    return {
        "problems": list(result.problems),
        "cells": [asdict(c) for c in result.cells],
        "notes": list(result.notes),
        "notices": list(result.notices),
    }


def problems(nb) -> list[str]:
    """Problems the engine recorded in a notebook's metadata."""
    meta = nb.get("metadata", {}).get(METADATA_KEY)
    if isinstance(meta, dict):
        meta = meta.get("problems", [])
    return [str(p) for p in meta] if isinstance(meta, list) else []


def notices(nb) -> list[str]:
    """Per-cell notices the engine recorded in a notebook's metadata (for `detail`)."""
    meta = nb.get("metadata", {}).get(METADATA_KEY)
    found = meta.get("notices", []) if isinstance(meta, dict) else []
    return [str(n) for n in found] if isinstance(found, list) else []
