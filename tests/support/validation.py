"""The student edition's validate, run as students run it, beside what the grader decided.

Validate runs the visible tests only, so it must fail exactly the test cells whose visible part
fails under the grader: the engine marks a failure that a hidden line raised as "A hidden test
in this cell failed", and every other failure of a test cell is its visible part's.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from instructor.cells import is_test_cell
from instructor.engine.limits import Limits
from instructor.grading.release import build_edition
from instructor.notebooks import read_json
from instructor.paths import ROOT, source_path

HIDDEN_FAILURE = "A hidden test in this cell failed"
STOPPED = ("TimeoutError", "WorkerCrashed", "MemoryError")  # the engine stopped the cell
FAILED = re.compile(r"^ {3}cell \d+ \((?P<cell>[^)]+)\) failed: (?P<why>.*)$")
OUT_OF_TIME = re.compile(r"^ {3}cell \d+ \((?P<cell>[^)]+)\): (the kernel died|time limit of)")
PASSED = "   passed: every visible test passes"


@dataclass
class Verdict:
    """What validate.py said about one notebook."""

    failed: dict[str, str] = field(default_factory=dict)  # test cell -> its error
    stopped_at: str | None = None  # the cell that ran out of time (or killed the kernel)
    lines: list[str] = field(default_factory=list)  # everything it printed for the notebook
    passed: bool = False
    finished: bool = False  # it printed its last line for the notebook (passed or NOT READY)


def student_edition(root: Path, tmp: Path, limits: Limits) -> Path:
    """The student edition of the course at root, carrying `limits` as the grader's."""
    build_edition(root, tmp / "dist", ROOT, out=lambda *_: None)
    stage = tmp / "dist" / "student"
    carried = json.loads((stage / "grader.json").read_text())
    ours = {k: getattr(limits, k) for k in ("cell_timeout", "total_timeout", "memory_mb")}
    (stage / "grader.json").write_text(json.dumps({**carried, **ours}))
    return stage


def place(stage: Path, assignment: str, notebooks: dict) -> dict[str, Path]:
    """Write each named notebook where a student keeps it: assignments/<name>/<id>.ipynb."""
    paths = {}
    for name, nb in notebooks.items():
        path = stage / "assignments" / name / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(path))
        paths[name] = path
    return paths


def _parse(text: str, paths: dict[str, Path]) -> dict[str, Verdict]:
    names = {str(path): name for name, path in paths.items()}
    verdicts, current = {}, None
    for line in text.splitlines():
        if line.startswith("== "):
            current = verdicts.setdefault(names[line[3:]], Verdict())
            continue
        if current is None:
            continue
        current.lines.append(line)
        if match := FAILED.match(line):
            current.failed[match["cell"]] = match["why"]
        elif match := OUT_OF_TIME.match(line):
            current.stopped_at = match["cell"]
        elif line.startswith(PASSED):
            current.passed = current.finished = True
        elif line.startswith("   NOT READY"):
            current.finished = True
    return verdicts


def validate_all(stage: Path, paths: dict[str, Path], processes: int = 2) -> dict[str, Verdict]:
    """`python validate.py <notebooks>` in the edition, the notebooks shared among processes."""
    names = sorted(paths)
    shares = [names[i::processes] for i in range(processes) if names[i::processes]]

    def run(share):
        done = subprocess.run([sys.executable, "validate.py", *(str(paths[n]) for n in share)],
                              cwd=stage, capture_output=True, text=True, timeout=1800)
        assert done.returncode in (0, 1) and "Traceback" not in done.stderr, (
            f"validate.py crashed (exit {done.returncode}): {done.stderr[-2000:]}")
        return done.stdout

    with ThreadPoolExecutor(len(shares)) as pool:
        text = "\n".join(pool.map(run, shares))
    verdicts = _parse(text, paths)
    unfinished = sorted(n for n in names if n not in verdicts or not verdicts[n].finished)
    assert not unfinished, f"validate.py gave no verdict on {unfinished}: {text[-2000:]}"
    return verdicts


@dataclass
class GraderVerdict:
    """The test cells of an autograded notebook whose visible part failed, and those the engine
    stopped (out of time or memory: in the visible part or the hidden one, it does not say)."""

    visible: set[str] = field(default_factory=set)
    stopped: set[str] = field(default_factory=set)


def grader_visible_failures(autograded: Path) -> GraderVerdict:
    """What the grader decided about the visible part of each test cell."""
    verdict = GraderVerdict()
    after_a_stop = False  # once the engine stopped any cell, the state differs from validate's
    for cell in read_json(autograded).get("cells", []):
        stops = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"
                 and o.get("ename") in STOPPED]
        if not is_test_cell(cell):
            after_a_stop = after_a_stop or bool(stops)
            continue
        name = cell["metadata"]["nbgrader"]["grade_id"]
        if after_a_stop:
            verdict.stopped.add(name)
            continue
        for output in cell.get("outputs", []):
            trace = output.get("traceback") or [""]
            if output.get("output_type") != "error" or trace[0].startswith(HIDDEN_FAILURE):
                continue
            if output.get("ename") in STOPPED and trace == [f"{output['ename']}: "
                                                             f"{output.get('evalue', '')}"]:
                verdict.stopped.add(name)
            else:
                verdict.visible.add(name)
    return verdict


def ordered_test_cells(assignment: str) -> list[str]:
    """The grade ids of an assignment's test cells, in notebook order."""
    return [cell["metadata"]["nbgrader"]["grade_id"]
            for cell in read_json(source_path(assignment))["cells"] if is_test_cell(cell)]


def disagreements(verdict: Verdict, graded: GraderVerdict, cells: list[str],
                  may_fail=frozenset()) -> dict:
    """How validate's verdict differs from the grader's visible failures ({} when it agrees).

    cells are the test cells in notebook order. Not compared: cells that may fail by the
    machine's speed, cells the grader stopped (a hidden part may be what ran out of time), and
    the cells after one at which validate ran out of time (it stops there).
    """
    grader = graded.visible
    may_fail = set(may_fail) | graded.stopped
    compared = list(cells)
    if verdict.stopped_at is not None:
        if verdict.stopped_at not in may_fail:
            return {"validate ran out of time at": verdict.stopped_at}
        if verdict.stopped_at in compared:
            compared = compared[:compared.index(verdict.stopped_at)]
    compared = set(compared) - set(may_fail)
    said = set(verdict.failed) & compared
    wrong = {}
    if said - grader:
        wrong["validate fails, the grader's visible test passes"] = sorted(said - grader)
    if (grader & compared) - said:
        wrong["the grader's visible test fails, validate passes"] = sorted((grader & compared)
                                                                          - said)
    if not grader and not may_fail and verdict.stopped_at is None and not verdict.passed:
        problems = [line.strip() for line in verdict.lines if "written answer missing" not in line
                    and "NOT READY" not in line and line.strip()]
        if problems:
            wrong["validate's other problems"] = problems
    return wrong
