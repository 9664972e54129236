"""Figure 4: seconds to autograde one submission, and class throughput with 1 and 2 jobs."""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from .common import MISSING, ROOT, Row, Section, median, seconds
from .common import verdict as judged

EXPECTED = ("a1_fully_connected", "a2_convolution", "a3_convnet")
PER_SUBMISSION_TARGET = 15.0  # seconds
SPEEDUP_TARGET = 1.7  # serial time / parallel time


def quiet(*_args) -> None:
    """Swallow the grader's progress lines."""


def new_course(base: Path, name: str, assignments: list[str]) -> Path:
    """A released copy of the course (config and sources of `assignments`) under base/name."""
    from instructor.release import generate_release

    root = base / name
    (root / "source").mkdir(parents=True)
    shutil.copy(ROOT / "assignments" / "nbgrader_config.py", root / "nbgrader_config.py")
    for aid in assignments:
        shutil.copytree(
            ROOT / "assignments" / "source" / aid,
            root / "source" / aid,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
        )
    generate_release(root, assignments, out=quiet)
    return root


def variants(assignment: str) -> list[tuple[str, object]]:
    """The reference submission and one submission per mutant of the assignment's catalogue."""
    from tests.mutants import apply, reference_submission

    ref = reference_submission(assignment)
    found = [("reference", ref)]
    try:
        mutants = importlib.import_module(f"tests.mutants.{assignment}").MUTANTS
    except ModuleNotFoundError:
        mutants = []
    found.extend((m.name, apply(ref, m)) for m in mutants)
    return found


def submit(root: Path, student: str, assignment: str, nb) -> None:
    """Place a notebook as student's submission, made unique so no cached run is reused."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.get("metadata", {}).get("nbgrader", {}).get(
            "solution"
        ):
            cell.source += f"\n# submitted by {student}"
            break
    folder = root / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(folder / f"{assignment}.ipynb"))


def grade(root: Path, jobs: int, **kw):
    """Wall seconds and submissions of one run of the real grader (instructor.grade)."""
    from instructor.grade import grade as run_grader

    start = time.perf_counter()
    subs = run_grader(root, jobs=jobs, out=quiet, **kw)
    return time.perf_counter() - start, subs


def run(quick: bool = False) -> Section:
    """Time one submission per assignment, then a synthetic class with --jobs 1 and 2."""
    from instructor.grade import assignment_ids

    section = Section("grading", "Autograding")
    present = [a for a in assignment_ids(ROOT / "assignments") if a in EXPECTED]
    if not present:
        raise FileNotFoundError("no assignment sources under assignments/source/")
    if quick:
        present = present[:1]
    reps, class_size = (1, 2) if quick else (3, 21)
    base = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    section.data.update(
        assignments=present, repeats=reps, class_size=class_size, cpus=os.cpu_count()
    )
    try:
        _per_submission(section, base, present, reps)
        _throughput(section, base, present, class_size)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    for aid in EXPECTED:
        if aid not in present and not quick:
            section.rows.append(
                Row(
                    f"grade one {aid} submission",
                    f"<= {PER_SUBMISSION_TARGET:g} s",
                    "assignment source not available",
                    "",
                    MISSING,
                )
            )
    section.notes.append(
        "Grading runs the real pipeline (instructor.grade: sandboxed worker, judge, nbgrader "
        "autograde, feedback) on a released temporary copy of the course; every submission is "
        "unique, so no cached execution is reused."
    )
    return section


def _per_submission(section: Section, base: Path, present: list[str], reps: int) -> None:
    root = new_course(base, "single", present)
    section.data["per_submission"] = {}
    for aid in present:
        ref = variants(aid)[0][1]
        times, results = [], []
        for r in range(reps):
            student = f"solo{r}"
            submit(root, student, aid, ref)
            t, subs = grade(root, jobs=1, assignments=[aid], students=[student])
            times.append(t)
            results.append(
                {"score": subs[0].score, "max_score": subs[0].max_score, "status": subs[0].status}
            )
        t = median(times)
        section.data["per_submission"][aid] = {"times": times, "median_s": t, "results": results}
        got = results[0]
        section.rows.append(
            Row(
                f"grade one {aid} submission",
                f"<= {PER_SUBMISSION_TARGET:g} s",
                f"median of {reps}: {seconds(t)} "
                f"(reference: {got['score']:g}/{got['max_score']:g}, {got['status']})",
                "",
                judged(t <= PER_SUBMISSION_TARGET),
                t,
            )
        )


def _throughput(section: Section, base: Path, present: list[str], size: int) -> None:
    pool = {aid: variants(aid) for aid in present}
    plan = []
    for i in range(size):
        aid = present[i % len(present)]
        name, nb = pool[aid][(i // len(present)) % len(pool[aid])]
        plan.append((f"s{i:02d}", aid, name, nb))
    runs = {}
    for jobs in (1, 2):
        root = new_course(base, f"class-jobs{jobs}", present)
        for student, aid, _, nb in plan:
            submit(root, student, aid, nb)
        t, subs = grade(root, jobs=jobs)
        grades = {f"{s.assignment}/{s.student_id}": [s.score, s.max_score, s.status] for s in subs}
        runs[jobs] = {"seconds": t, "grades": grades}
    same = runs[1]["grades"] == runs[2]["grades"]
    speedup = runs[1]["seconds"] / runs[2]["seconds"]
    serial, parallel = runs[1]["grades"], runs[2]["grades"]
    differing = sorted(
        k for k in serial.keys() | parallel.keys() if serial.get(k) != parallel.get(k)
    )
    section.data["class"] = {
        "plan": [(s, a, n) for s, a, n, _ in plan],
        "serial_s": runs[1]["seconds"],
        "parallel_s": runs[2]["seconds"],
        "speedup": speedup,
        "identical_grades": same,
        "differing": differing,
        "grades": runs[1]["grades"],
    }
    mix = ", ".join(f"{sum(p[1] == a for p in plan)} {a}" for a in present)
    section.rows.append(
        Row(
            f"class of {size} ({mix}): --jobs 2 vs --jobs 1",
            f">= {SPEEDUP_TARGET:g}x",
            f"{seconds(runs[1]['seconds'])} serial, {seconds(runs[2]['seconds'])} with 2 jobs "
            f"({size / runs[2]['seconds'] * 60:.1f} submissions/min)",
            f"{speedup:.2f}x",
            judged(speedup >= SPEEDUP_TARGET),
            speedup,
        )
    )
    section.rows.append(
        Row(
            "same grades with --jobs 1 and --jobs 2",
            "identical",
            "identical" if same else f"{len(differing)} differ: {', '.join(differing[:3])}",
            "",
            judged(same),
            float(same),
        )
    )
