"""Figure 4: seconds to autograde one submission, and class throughput with 1 and 2 jobs."""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from instructor.paths import ROOT

from .common import Row, Section, median, seconds
from .common import verdict as judged

PER_SUBMISSION_TARGET = 15.0  # seconds
SPEEDUP_TARGET = 1.85  # serial time / parallel time
SERIAL_TARGET = 0.5  # seconds of one-at-a-time work per submission
HUGE_MARKDOWN_MB = 5  # a written answer of this size once took 283 s to render into feedback
HUGE_RATIO_TARGET = 2.0  # its grading and feedback, against the same submission without it


def quiet(*_args) -> None:
    """Swallow the grader's progress lines."""


def new_course(base: Path, name: str, assignments: list[str]) -> Path:
    """A released copy of the course (config and sources of `assignments`) under base/name."""
    from instructor.grading.release import generate_release

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


def reference(assignment: str):
    """The source notebook as a student would submit it with every reference solution in place
    (hidden tests stripped)."""
    from instructor.cells import strip_hidden_tests
    from instructor.notebooks import read
    from instructor.paths import source_path

    nb = read(source_path(assignment))
    for cell in nb.cells:
        cell.source = strip_hidden_tests(cell.source)
    return nb


def variants(assignment: str, root: Path) -> list[tuple[str, object]]:
    """The reference submission, then one per solution cell left as released (unfinished there).

    root is a released course (its release/ holds the student versions).
    """
    from instructor.cells import grade_id, is_solution_cell

    ref = reference(assignment)
    released = nbformat.read(str(root / "release" / assignment / f"{assignment}.ipynb"), 4)
    stubs = {grade_id(c): c.source for c in released.cells
             if c.cell_type == "code" and is_solution_cell(c)}  # fmt: skip
    found = [("reference", ref)]
    for cell_id, stub in stubs.items():
        nb = copy.deepcopy(ref)
        for cell in nb.cells:
            if cell.cell_type == "code" and is_solution_cell(cell) and grade_id(cell) == cell_id:
                cell.source = stub
        found.append((f"unfinished {cell_id}", nb))
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
    """Wall seconds and submissions of one run of the real grader (instructor.grading.pipeline)."""
    from instructor.grading.pipeline import grade as run_grader

    start = time.perf_counter()
    subs = run_grader(root, jobs=jobs, out=quiet, **kw)
    return time.perf_counter() - start, subs


def run(quick: bool = False) -> Section:
    """Time one submission per assignment, then a synthetic class with --jobs 1 and 2."""
    from instructor.paths import assignment_ids

    section = Section("grading", "Autograding")
    present = assignment_ids(ROOT / "assignments")
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
        single = _per_submission(section, base, present, reps)
        _huge_markdown(section, single, present[0], quick)
        _throughput(section, base, present, class_size, quick)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    section.notes.append(
        "Grading runs the real pipeline (instructor.grading: sandboxed worker, judge, nbgrader "
        "autograde, feedback) on a released temporary copy of the course; every submission is "
        "unique, so no cached execution is reused."
    )
    return section


def _per_submission(section: Section, base: Path, present: list[str], reps: int) -> Path:
    """Each assignment's reference submission graded alone, in rounds over the assignments;
    returns the course they were graded in."""
    root = new_course(base, "single", present)
    refs = {aid: reference(aid) for aid in present}
    times = {aid: [] for aid in present}
    results = {aid: [] for aid in present}
    for r in range(reps):
        for aid in present[r % len(present) :] + present[: r % len(present)]:
            student = f"solo{r}"
            submit(root, student, aid, refs[aid])
            t, subs = grade(root, jobs=1, assignments=[aid], students=[student])
            times[aid].append(t)
            results[aid].append([subs[0].score, subs[0].max_score, subs[0].status])
    section.data["per_submission"] = {}
    for aid in present:
        t = median(times[aid])
        section.data["per_submission"][aid] = {
            "times": times[aid], "median_s": t, "results": results[aid]
        }  # fmt: skip
        score, top, status = results[aid][0]
        section.rows.append(
            Row(
                f"grade one {aid} submission",
                f"<= {PER_SUBMISSION_TARGET:g} s",
                f"median of {reps}: {seconds(t)} (reference: {score:g}/{top:g}, {status})",
                "",
                judged(t <= PER_SUBMISSION_TARGET),
                t,
            )
        )
    return root


def _huge_markdown(section: Section, root: Path, aid: str, quick: bool) -> None:
    """Grading with feedback of a submission holding a huge markdown cell, against without it
    (in root, a released course)."""
    size_mb = 0.5 if quick else HUGE_MARKDOWN_MB
    plain = reference(aid)
    huge = copy.deepcopy(plain)
    text = "A *long* answer. " * int(size_mb * 2**20 / 17)
    huge.cells.append(nbformat.v4.new_markdown_cell(text))
    times, pages = {}, {}
    for student, nb in (("plain", plain), ("huge_markdown", huge)):
        submit(root, student, aid, nb)
        times[student], subs = grade(root, jobs=1, assignments=[aid], students=[student])
        page = root / "feedback" / student / aid / f"{aid}.html"
        pages[student] = page.stat().st_size if page.is_file() else 0
    ratio = times["huge_markdown"] / times["plain"]
    section.data["huge_markdown"] = {"megabytes": size_mb, "seconds": times, "page_bytes": pages}
    section.rows.append(
        Row(
            f"grade one {aid} submission with a {size_mb:g} MB markdown cell, feedback included",
            f"<= {HUGE_RATIO_TARGET:g}x without it",
            f"{seconds(times['huge_markdown'])} vs {seconds(times['plain'])}; feedback page "
            f"{pages['huge_markdown'] / 2**20:.1f} MB vs {pages['plain'] / 2**20:.1f} MB",
            f"{ratio:.2f}x",
            judged(ratio <= HUGE_RATIO_TARGET),
            ratio,
        )
    )


def class_plan(present: list[str], size: int, root: Path) -> list[tuple[str, str, str, object]]:
    """(student, assignment, variant, notebook) for a class cycling through the variants."""
    pool = {aid: variants(aid, root) for aid in present}
    plan = []
    for i in range(size):
        aid = present[i % len(present)]
        name, nb = pool[aid][(i // len(present)) % len(pool[aid])]
        plan.append((f"s{i:02d}", aid, name, nb))
    return plan


def _throughput(section: Section, base: Path, present: list[str], size: int, quick: bool) -> None:
    """The class graded with jobs 1, 2, 2, 1 (ABBA cancels a steady drift in machine load)."""
    order = (1, 2) if quick else (1, 2, 2, 1)
    roots = [new_course(base, f"class-{k}-jobs{jobs}", present) for k, jobs in enumerate(order)]
    plan = class_plan(present, size, roots[0])
    runs = []
    for root, jobs in zip(roots, order, strict=True):
        for student, aid, _, nb in plan:
            submit(root, student, aid, nb)
        t, subs = grade(root, jobs=jobs)
        grades = {
            f"{s.assignment}/{s.student_id}": [s.score, s.max_score, s.status, s.detail]
            for s in subs
        }
        serial_work = sum(s.serial_seconds for s in subs) / max(len(subs), 1)
        runs.append({"jobs": jobs, "seconds": t, "grades": grades, "serial_work_s": serial_work,
                     "from_cache": sum(s.from_cache for s in subs)})
    serial = sum(r["seconds"] for r in runs if r["jobs"] == 1)
    parallel = sum(r["seconds"] for r in runs if r["jobs"] == 2)
    speedup = serial / parallel
    keys = sorted(set().union(*(r["grades"] for r in runs)))
    differing = {
        k: [r["grades"].get(k, [None] * 3)[:3] for r in runs]
        for k in keys
        if len({tuple(r["grades"].get(k, [None] * 3)[:3]) for r in runs}) > 1
    }
    section.data["class"] = {
        "plan": [(s, a, n) for s, a, n, _ in plan],
        "runs": runs,
        "serial_s": serial / order.count(1),
        "parallel_s": parallel / order.count(2),
        "speedup": speedup,
        "identical_grades": not differing,
        "differing": differing,
    }
    mix = ", ".join(f"{sum(p[1] == a for p in plan)} {a}" for a in present)
    each = "" if quick else " (mean of 2 runs each, order 1-2-2-1)"
    section.rows.append(
        Row(
            f"class of {size} ({mix}): --jobs 2 vs --jobs 1",
            f">= {SPEEDUP_TARGET:g}x",
            f"{seconds(serial / order.count(1))} serial, {seconds(parallel / order.count(2))} "
            f"with 2 jobs{each}; {size * order.count(2) / parallel * 60:.1f} submissions/min",
            f"{speedup:.2f}x",
            judged(speedup >= SPEEDUP_TARGET),
            speedup,
        )
    )
    serial_work = median([r["serial_work_s"] for r in runs])
    section.data["class"]["serial_work_s"] = serial_work
    section.rows.append(
        Row(
            "serial work per submission (merge into the gradebook, read grades)",
            f"<= {SERIAL_TARGET:g} s",
            f"median over the {len(runs)} class runs: {serial_work:.2f} s",
            "",
            judged(serial_work <= SERIAL_TARGET),
            serial_work,
        )
    )
    jobs = "-".join(str(j) for j in order)
    section.rows.append(
        Row(
            f"same grades in all {len(runs)} runs (jobs {jobs})",
            "identical",
            "identical"
            if not differing
            else f"{len(differing)} differ: {', '.join(list(differing)[:3])} (see results.json)",
            "",
            judged(not differing),
            float(not differing),
        )
    )
