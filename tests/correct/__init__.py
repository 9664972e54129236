"""The correct-work catalogue: right solutions written the ways students write them.

Each variant is the reference submission with some solution cells rewritten (another
algorithm, another style, magics, extra cells and prints); every one must get full autograded
marks from the real grader and pass nbgrader validate (tests/test_correct_work.py).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import nbformat

from instructor.cells import grade_id, is_solution_cell


@dataclass(frozen=True)
class Variant:
    """A correct submission a student could plausibly write."""

    name: str  # short identifier, e.g. "einsum_affine"
    story: str  # how it differs from the reference, in a student's terms
    cells: tuple[tuple[str, str], ...] = ()  # (grade_id of a solution cell, its whole new source)
    edits: tuple[tuple[str, str, str], ...] = ()  # (grade_id, old, new): every old replaced
    extra: tuple[tuple[str, str], ...] = ()  # (grade_id, source of a code cell added after it)
    needs: str = ""  # the grader behaviour it relies on beyond plain Python, if any


def _solution_cell(nb, name: str, variant: str):
    cells = [c for c in nb.cells if is_solution_cell(c) and grade_id(c) == name]
    if len(cells) != 1:
        raise LookupError(f"variant {variant}: no single solution cell {name!r}")
    return cells[0]


def apply(nb, variant: Variant):
    """A copy of `nb` with the variant's cells, edits and extra cells."""
    nb = copy.deepcopy(nb)
    for name, source in variant.cells:
        _solution_cell(nb, name, variant.name).source = source.strip("\n")
    for name, old, new in variant.edits:
        cell = _solution_cell(nb, name, variant.name)
        if old not in cell.source:
            raise LookupError(f"variant {variant.name}: {old!r} not found in cell {name!r}")
        cell.source = cell.source.replace(old, new)
    for name, source in variant.extra:
        index = next((i for i, c in enumerate(nb.cells) if grade_id(c) == name), None)
        if index is None:
            raise LookupError(f"variant {variant.name}: no cell {name!r}")
        nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source.strip("\n")))
    return nb
