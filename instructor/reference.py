"""Reference solutions, loaded from the source notebooks: one source of truth for each layer."""

from __future__ import annotations

import ast
import functools
import types

from .notebooks import is_test_cell, read, source_path

_KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)


def _is_constant_assignment(node: ast.stmt) -> bool:
    value = getattr(node, "value", None)
    return isinstance(node, ast.Assign | ast.AnnAssign) and value is not None and _literal(value)


def _literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def definitions(assignment_id: str) -> str:
    """The imports, functions, classes and constants of an assignment's non-test code cells."""
    nb = read(source_path(assignment_id))
    parts = []
    for cell in nb.cells:
        if cell.cell_type != "code" or is_test_cell(cell):
            continue
        source = "\n".join(
            line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        tree = ast.parse(source)
        kept = [n for n in tree.body if isinstance(n, _KEPT) or _is_constant_assignment(n)]
        parts.extend(ast.get_source_segment(source, n) for n in kept)
    return "\n\n".join(parts) + "\n"


@functools.cache
def load_reference(assignment_id: str) -> types.ModuleType:
    """A module holding the reference definitions of `assignment_id` (e.g. 'a2_convolution')."""
    module = types.ModuleType(f"reference_{assignment_id}")
    module.__file__ = str(source_path(assignment_id))
    code = compile(definitions(assignment_id), module.__file__, "exec")
    exec(code, module.__dict__)
    return module
