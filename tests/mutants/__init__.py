"""The mutant catalogue: plausible wrong solutions, and the test cells each must fail.

A mutant is the reference solution with small textual edits in one solution cell, so it
follows the reference wherever that changes (an edit that no longer applies fails loudly).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from instructor.notebooks import grade_id, is_solution_cell, read, source_path, strip_hidden_tests


@dataclass(frozen=True)
class Mutant:
    """A wrong implementation a student could plausibly write."""

    name: str  # short identifier, e.g. "conv_backward_keeps_padding"
    story: str  # the mistake, in a student's terms
    cell: str  # grade_id of the solution cell to edit
    edits: tuple[tuple[str, str], ...]  # (old, new): every occurrence of old replaced
    fails: frozenset[str]  # grade_ids of exactly the test cells this mutant fails


def reference_submission(assignment_id: str):
    """The source notebook as a student would submit it with the reference solutions in place."""
    nb = read(source_path(assignment_id))
    for cell in nb.cells:
        cell.source = strip_hidden_tests(cell.source)
    return nb


def apply(nb, mutant: Mutant):
    """A copy of `nb` with the mutant's edits applied to its solution cell."""
    nb = copy.deepcopy(nb)
    cells = [c for c in nb.cells if is_solution_cell(c) and grade_id(c) == mutant.cell]
    if len(cells) != 1:
        raise LookupError(f"mutant {mutant.name}: no single solution cell {mutant.cell!r}")
    cell = cells[0]
    for old, new in mutant.edits:
        if cell.source.count(old) < 1:
            raise LookupError(f"mutant {mutant.name}: {old!r} not found in cell {mutant.cell!r}")
        cell.source = cell.source.replace(old, new)
    return nb
