"""Validate assignment notebooks the way the grader runs them: its limits, its visible tests.

    python validate.py assignments/a2_convolution/a2_convolution.ipynb [...]

Runs each notebook from the top in a fresh kernel under the grader's limits (grader.json beside
this file: seconds per cell and per notebook, memory, one BLAS thread), then lists the visible
tests that fail and the written answers still missing. A cell that runs out of time is named.
Test cells call your functions as the grader does (call_watch.py beside this file): on copies
of their arrays, failing when a call changed one of them in place.
Exit status 0 only when every visible test passes and every written answer is there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from jupyter_core.utils import run_sync
from kernel_client import SteppedNotebookClient  # beside this file: waits that wake every second
from nbclient.exceptions import CellTimeoutError, DeadKernelError

HERE = Path(__file__).resolve().parent
LIMITS = json.loads((HERE / "grader.json").read_text())
WATCH = (HERE / "call_watch.py").read_text()
THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
UNANSWERED = "YOUR ANSWER HERE"


def nbgrader(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def is_test(cell) -> bool:
    meta = nbgrader(cell)
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def is_written_answer(cell) -> bool:
    meta = nbgrader(cell)
    return cell.cell_type == "markdown" and meta.get("grade") and meta.get("solution")


def name_of(cell, index: int) -> str:
    """How the grader names a cell: its test or answer name, else its number."""
    grade_id = nbgrader(cell).get("grade_id")
    return f"cell {index + 1} ({grade_id})" if grade_id else f"cell {index + 1}"


def error_of(cell) -> str | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            message = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
            return message.strip().rstrip(":")
    return None


def kernel_setup() -> str:
    """Code run first in the kernel: the call watch, and the grader's memory limit."""
    size = int(LIMITS["memory_mb"]) * 1024 * 1024
    return ("def _validate_setup():\n"
            "    ns = {'__name__': 'call_watch'}\n"
            f"    exec(compile({WATCH!r}, 'call_watch.py', 'exec'), ns)\n"
            "    return ns['Watch'](get_ipython().user_ns)\n"
            "_validate_watch = _validate_setup()\n"
            "del _validate_setup\n"
            "import resource as _r\n"
            f"_r.setrlimit(_r.RLIMIT_AS, ({size}, {size}))\n"
            "del _r\n")


def run_quietly(client, code: str, index: int) -> str | None:
    """Run code that is not the notebook's in the kernel; its error, if it raised one."""
    cell = nbformat.v4.new_code_cell(code)
    client.execute_cell(cell, index, store_history=False)
    return error_of(cell)


def validate(path: Path) -> list[str]:
    """What keeps this notebook from passing: failing visible tests, missing answers, limits."""
    nb = nbformat.read(str(path), as_version=4)
    for var in THREADS:
        os.environ[var] = str(LIMITS.get("threads", 1))
    client = SteppedNotebookClient(nb, timeout=LIMITS["cell_timeout"], allow_errors=True,
                                   kernel_name="python3",
                                   resources={"metadata": {"path": str(path.parent)}})
    problems: list[str] = []
    started = time.monotonic()
    stopped = None
    cells = list(nb.cells)
    nb.cells = [nbformat.v4.new_code_cell(kernel_setup())] + cells  # the grader's memory limit
    with client.setup_kernel(stderr=subprocess.DEVNULL):  # kernel noise, not cell output
        client.execute_cell(nb.cells[0], 0, store_history=False)
        if error_of(nb.cells[0]):
            raise RuntimeError(f"validate could not set up its kernel: {error_of(nb.cells[0])}")
        for index, cell in enumerate(cells):
            if cell.cell_type != "code":
                continue
            if time.monotonic() - started > LIMITS["total_timeout"]:
                stopped = (f"{name_of(cell, index)} not run: the notebook's time limit of "
                           f"{LIMITS['total_timeout']:g} s was used up")
                break
            try:
                if is_test(cell):
                    run_quietly(client, f"_validate_watch.start({cell.source!r})", index + 1)
                client.execute_cell(cell, index + 1)
                error = error_of(cell)
                if is_test(cell):
                    watched = run_quietly(client, f"_validate_watch.stop({error is not None})",
                                          index + 1)
                    error = error or watched
            except CellTimeoutError:
                run_sync(client.km.interrupt_kernel)()  # stop the cell before the kernel
                stopped = (f"{name_of(cell, index)}: time limit of {LIMITS['cell_timeout']:g} s "
                           f"exceeded")
                break
            except DeadKernelError:
                stopped = (f"{name_of(cell, index)}: the kernel died (memory limit of "
                           f"{LIMITS['memory_mb']} MB?)")
                break
            if error and is_test(cell):
                problems.append(f"{name_of(cell, index)} failed: {error}")
            elif error and "MemoryError" in error:
                problems.append(f"{name_of(cell, index)}: memory limit of "
                                f"{LIMITS['memory_mb']} MB reached")
    nb.cells = cells
    if stopped:
        problems.append(stopped)
        problems.append("tests after it were not run")
    for index, cell in enumerate(nb.cells):
        if is_written_answer(cell) and (not cell.source.strip() or UNANSWERED in cell.source):
            problems.append(f"{name_of(cell, index)}: written answer missing")
    return problems


def main(argv=None) -> int:
    paths = [Path(p) for p in (sys.argv[1:] if argv is None else argv)]
    if not paths:
        print(__doc__)
        return 2
    failed = 0
    for path in paths:
        print(f"== {path}", flush=True)
        if not path.is_file():
            print(f"   no such notebook: {path}")
            failed += 1
            continue
        problems = validate(path)
        if problems:
            failed += 1
            for problem in problems:
                print(f"   {problem}")
            print(f"   NOT READY: {len(problems)} problem(s)")
        else:
            print("   passed: every visible test passes and every written answer is there")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
