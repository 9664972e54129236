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


CELL_TIMEOUT = 120
NOTEBOOK_TIMEOUT = 300
STARTUP_TIMEOUT = 60


class ExecutionTimeout(RuntimeError):
    """A notebook did not finish in time: a kernel that never started or a cell that hangs."""


def bounded_client(nb, cwd: str | Path, timeout: float = CELL_TIMEOUT,
                   allow_errors: bool = True, total_timeout: float = NOTEBOOK_TIMEOUT,
                   startup_timeout: float = STARTUP_TIMEOUT):
    """An nbclient NotebookClient for nb in cwd whose every wait is bounded and fails loudly.

    Each cell gets at most `timeout` s and all cells together `total_timeout` s (CellTimeoutError,
    or ExecutionTimeout once the total is spent), the kernel `startup_timeout` s to start, and the
    output that follows a cell's reply 10 s; the kernel is shut down at once, not gracefully.
    Its waits for messages look again every second (instructor.kernel_client), so a reply is
    never held until a timeout.
    """
    import time

    from .kernel_client import SteppedNotebookClient

    deadline = time.monotonic() + total_timeout

    def cell_timeout(cell) -> int:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ExecutionTimeout(f"the notebook ran past its {total_timeout:g} s limit")
        return max(1, int(min(timeout, left)))

    return SteppedNotebookClient(
        nb,
        timeout_func=cell_timeout,
        startup_timeout=int(startup_timeout),
        iopub_timeout=10,
        raise_on_iopub_timeout=True,
        shutdown_kernel="immediate",
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(cwd)}},
    )


def kernel_environment() -> dict[str, str]:
    """The environment of a course kernel: this one's, with one BLAS thread (helpers.threads)."""
    import os

    from helpers.threads import blas_environment

    return {**os.environ, **blas_environment()}


def execute(nb, cwd: str | Path, timeout: float = CELL_TIMEOUT, allow_errors: bool = True,
            total_timeout: float = NOTEBOOK_TIMEOUT, startup_timeout: float = STARTUP_TIMEOUT):
    """Execute a notebook in a fresh kernel in cwd; returns the executed notebook.

    Every wait is bounded and fails loudly with ExecutionTimeout (bounded_client). The kernel gets
    one BLAS thread (helpers.threads), as the grader's worker does.
    """
    import time

    import nbformat
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    nb = nbformat.from_dict(nb)
    client = bounded_client(nb, cwd, timeout, allow_errors, total_timeout, startup_timeout)
    started = time.monotonic()
    try:
        client.execute(env=kernel_environment())
    except CellTimeoutError as error:
        raise ExecutionTimeout(
            f"a cell ran past its limit ({timeout:g} s per cell, {total_timeout:g} s per "
            f"notebook) after {time.monotonic() - started:.0f} s: {error}"
        ) from error
    except (RuntimeError, DeadKernelError) as error:
        if time.monotonic() - started >= startup_timeout and not any(
            c.get("execution_count") for c in nb.cells if c.cell_type == "code"
        ):
            raise ExecutionTimeout(
                f"the kernel did not start within {startup_timeout:g} s: {error}"
            ) from error
        raise
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
