"""Reference solutions, loaded from the source notebooks: one source of truth for each layer."""

from __future__ import annotations

import ast
import functools
import types

from .cells import is_solution_cell, is_test_cell, strip_magics
from .notebooks import read_json
from .paths import assignment_ids, source_path

_KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)


def _is_constant_assignment(node: ast.stmt) -> bool:
    value = getattr(node, "value", None)
    if not isinstance(node, ast.Assign | ast.AnnAssign) or value is None:
        return False
    return _literal(value) or _dotted_name(value)


def _dotted_name(node: ast.expr) -> bool:
    """`name` or `module.name`: an alias of something already defined or imported."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def _literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def definitions(assignment_id: str) -> str:
    """The imports, functions, classes, constants and aliases of an assignment's non-test cells."""
    nb = read_json(source_path(assignment_id))
    parts = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code" or is_test_cell(cell):
            continue
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        source = "\n".join(
            line for line in text.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        tree = ast.parse(source)
        kept = [n for n in tree.body if isinstance(n, _KEPT) or _is_constant_assignment(n)]
        parts.extend(ast.get_source_segment(source, n) for n in kept)
    return "\n\n".join(parts) + "\n"


def solution_names(assignment_id: str) -> list[str]:
    """Functions and classes defined at the top of the assignment's solution code cells."""
    names = []
    for cell in read_json(source_path(assignment_id))["cells"]:
        if cell["cell_type"] != "code" or not is_solution_cell(cell):
            continue
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        tree = ast.parse(strip_magics(text))
        names += [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]
    return names


def api(assignment_id: str) -> list[str]:
    """What the assignment asks students to write: its solution functions and classes, less
    those an earlier assignment (in id order) asked for already."""
    earlier = set()
    for other in assignment_ids():
        if other == assignment_id:
            break
        earlier.update(solution_names(other))
    return [name for name in solution_names(assignment_id) if name not in earlier]


@functools.cache
def load_reference(assignment_id: str) -> types.ModuleType:
    """A module holding the reference definitions of `assignment_id` (e.g. 'a2_convolution')."""
    module = types.ModuleType(f"reference_{assignment_id}")
    module.__file__ = str(source_path(assignment_id))
    code = compile(definitions(assignment_id), module.__file__, "exec")
    exec(code, module.__dict__)
    return module


def __getattr__(name: str) -> types.ModuleType:
    """`from instructor.reference import a1_fully_connected` gives that assignment's reference."""
    if name.startswith("a") and name[1:2].isdigit():
        return load_reference(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
