"""Reading, inspecting and executing notebooks, for the course's own tools and tests."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "assignments" / "source"
HIDDEN_TESTS = re.compile(
    r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n.*?^[ \t]*### END HIDDEN TESTS[^\n]*(\n|$)",
    re.MULTILINE | re.DOTALL,
)


def read(path: str | Path):
    """Read a notebook file as an nbformat v4 NotebookNode."""
    import nbformat  # imported here: it is slow to import, and hidden tests load references fast

    return nbformat.read(str(path), as_version=4)


def read_json(path: str | Path) -> dict:
    """Read a notebook file as plain JSON (fast: no validation)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def source_path(assignment_id: str) -> Path:
    """Path of an assignment's instructor notebook: assignments/source/<id>/<id>.ipynb."""
    path = SOURCE / assignment_id / f"{assignment_id}.ipynb"
    if not path.is_file():
        known = sorted(p.name for p in SOURCE.iterdir() if p.is_dir()) if SOURCE.is_dir() else []
        raise FileNotFoundError(f"no assignment {assignment_id!r} at {path} (known: {known})")
    return path


def nbgrader_meta(cell) -> dict:
    """The cell's nbgrader metadata, or an empty dict."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def grade_id(cell) -> str | None:
    """The cell's nbgrader grade_id, if any."""
    return nbgrader_meta(cell).get("grade_id")


def is_test_cell(cell) -> bool:
    """An autograded test cell: a graded code cell that is not a solution."""
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_solution_cell(cell) -> bool:
    """A cell where the student writes an answer."""
    return bool(nbgrader_meta(cell).get("solution"))


def strip_hidden_tests(source: str) -> str:
    """Source with every ### BEGIN/END HIDDEN TESTS block removed."""
    return HIDDEN_TESTS.sub("", source)


def execute(nb, cwd: str | Path, timeout: int = 600, allow_errors: bool = True):
    """Execute a notebook in a fresh kernel in cwd; returns the executed notebook."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.from_dict(nb)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute()
    return nb


def errored_cells(nb) -> dict[str, str]:
    """Map each code cell that raised to its error name, keyed by grade_id (or cell index)."""
    errors = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                errors[grade_id(cell) or str(index)] = output.get("ename", "")
    return errors
