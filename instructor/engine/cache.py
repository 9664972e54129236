"""Results kept between runs, keyed by the code cells and the limits."""

from __future__ import annotations

import copy
import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

import nbformat

from instructor.cells import grade_id

from .driver import grade_notebook
from .limits import Limits
from .results import METADATA_KEY, CellOutcome, GradeResult, report

CACHE_VERSION = 2


def cache_key(nb, limits: Limits, seed: str = "") -> str:
    """Hash of the code cells' (cell_type, grade_id, source), the limits and the judge's seed."""
    cells = [[c.cell_type, grade_id(c), c.source] for c in nb.cells if c.cell_type == "code"]
    text = json.dumps([CACHE_VERSION, cells, limits.as_dict(), seed], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def store(result: GradeResult, path: Path) -> None:
    codes = [c for c in result.nb.cells if c.cell_type == "code"]
    data = {
        "outputs": [c.outputs for c in codes],
        "counts": [c.execution_count for c in codes],
        "cells": [asdict(c) for c in result.cells],
        "problems": result.problems,
        "notes": result.notes,
        "notices": result.notices,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def load(nb, path: Path) -> GradeResult | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    nb = copy.deepcopy(nb)
    codes = [c for c in nb.cells if c.cell_type == "code"]
    if len(codes) != len(data["outputs"]):
        return None
    for cell, outputs, count in zip(codes, data["outputs"], data["counts"], strict=True):
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        cell.execution_count = count
    result = GradeResult(nb, [CellOutcome(**c) for c in data["cells"]], data["problems"])
    result.notes = data["notes"]
    result.notices = data.get("notices", [])
    nb.metadata[METADATA_KEY] = {**report(result), "from_cache": True}
    return result


def precompute(
    nb, workdir, limits: Limits | None = None, cache_dir=None, seed: str = ""
) -> GradeResult:
    """Grade now and store the result in cache_dir for HardenedExecute to reuse."""
    limits = Limits() if limits is None else limits
    result = grade_notebook(nb, workdir, limits, seed=seed)
    if cache_dir:
        store(result, Path(cache_dir) / f"{cache_key(nb, limits, seed)}.json")
    return result
