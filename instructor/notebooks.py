"""Reading and executing notebooks, for the course's own tools and tests."""

from __future__ import annotations

import json
from pathlib import Path

from .cells import grade_id


def read(path: str | Path):
    """Read a notebook file as an nbformat v4 NotebookNode."""
    import nbformat  # imported here: it is slow to import, and hidden tests load references fast

    return nbformat.read(str(path), as_version=4)


def read_json(path: str | Path) -> dict:
    """Read a notebook file as plain JSON (fast: no validation)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


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
