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


def reference_submission(assignment_id: str):
    """The source notebook as a student would submit it with the reference solutions in place.

    Hidden tests are stripped. A solution cell that takes earlier assignments' references with
    `from instructor.reference import a1_fully_connected as _a1` and aliases such as
    `affine_forward = _a1.affine_forward` gets that code inlined instead (the functions it names,
    what they use, and their imports), because student code runs where instructor/ is hidden.
    """
    import ast

    from instructor.reference import definitions

    def top_level_names(node):
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            return {node.name}
        if isinstance(node, ast.Import | ast.ImportFrom):
            return {(a.asname or a.name).split(".")[0] for a in node.names}
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}

    def used_names(node):
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}

    def inline(source):
        tree = ast.parse(source)
        modules, wanted, spans = {}, [], []
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module == "instructor.reference":
                modules.update({a.asname or a.name: a.name for a in node.names})
                spans.append(node)
            elif (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Attribute)
                and isinstance(node.value.value, ast.Name)
                and node.value.value.id in modules
            ):
                wanted.append((node.targets[0].id, modules[node.value.value.id], node.value.attr))
                spans.append(node)
        if not spans:
            return source
        imports, pieces = [], []
        for assignment in dict.fromkeys(m for _, m, _ in wanted):
            text = definitions(assignment)
            nodes = ast.parse(text).body
            defined = {name: n for n in nodes for name in top_level_names(n)}
            needed = {attr for _, m, attr in wanted if m == assignment}
            todo = list(needed)
            while todo:
                node = defined.get(todo.pop())
                if node is None:
                    continue
                for name in used_names(node) & set(defined) - needed:
                    needed.add(name)
                    todo.append(name)
            for node in nodes:
                if top_level_names(node) & needed:
                    is_import = isinstance(node, ast.Import | ast.ImportFrom)
                    (imports if is_import else pieces).append(ast.get_source_segment(text, node))
        markers = ("### BEGIN SOLUTION", "### END SOLUTION")
        pieces = [
            "\n".join(line for line in piece.splitlines() if line.strip() not in markers)
            for piece in pieces
        ]
        code = "\n".join(dict.fromkeys(imports)) + "\n\n\n" + "\n\n\n".join(pieces)
        aliases = [f"{target} = {attr}" for target, _, attr in wanted if target != attr]
        if aliases:
            code += "\n\n\n" + "\n".join(aliases)
        lines = source.splitlines()
        first, last = spans[0].lineno - 1, spans[-1].end_lineno
        return "\n".join(lines[:first] + code.splitlines() + lines[last:])

    nb = read(source_path(assignment_id))
    for cell in nb.cells:
        cell.source = strip_hidden_tests(cell.source)
        if cell.cell_type == "code" and is_solution_cell(cell):
            cell.source = inline(cell.source)
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
