"""The mutant catalogue: plausible wrong solutions, and the test cells each must fail.

A mutant is the reference solution with small textual edits in one solution cell, so it
follows the reference wherever that changes (an edit that no longer applies fails loudly).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from instructor.cells import grade_id, is_solution_cell, strip_hidden_tests
from instructor.notebooks import read
from instructor.paths import source_path


@dataclass(frozen=True)
class Mutant:
    """A wrong implementation a student could plausibly write."""

    name: str  # short identifier, e.g. "conv_backward_keeps_padding"
    story: str  # the mistake, in a student's terms
    cell: str  # grade_id of the solution cell to edit
    edits: tuple[tuple[str, str], ...]  # (old, new): every occurrence of old replaced
    fails: frozenset[str]  # grade_ids of exactly the test cells this mutant fails
    # test cells it fails or passes by how fast the machine is (e.g. training that pixel loops
    # slow down past a cell's time limit on a busy machine); never one of `fails`
    may_fail: frozenset[str] = frozenset()
    # solution cells that may outlast the cell's time limit by how fast the machine is (the
    # training a slow layer runs): validate may stop at one, where the grader may not
    may_stop: frozenset[str] = frozenset()
    also: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()  # (cell, edits) elsewhere


def reference_submission(assignment_id: str):
    """The source notebook as a student would submit it: reference solutions, no hidden tests."""
    nb = read(source_path(assignment_id))
    for cell in nb.cells:
        cell.source = strip_hidden_tests(cell.source)
    return nb


def apply(nb, mutant: Mutant):
    """A copy of `nb` with the mutant's edits applied to its solution cell (and `also` cells)."""
    nb = copy.deepcopy(nb)
    for name, edits in ((mutant.cell, mutant.edits), *mutant.also):
        cells = [c for c in nb.cells if is_solution_cell(c) and grade_id(c) == name]
        if len(cells) != 1:
            raise LookupError(f"mutant {mutant.name}: no single solution cell {name!r}")
        cell = cells[0]
        for old, new in edits:
            if cell.source.count(old) < 1:
                raise LookupError(f"mutant {mutant.name}: {old!r} not found in cell {name!r}")
            cell.source = cell.source.replace(old, new)
    return nb
