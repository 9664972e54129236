"""Grading a class: stage, run every submission in the sandbox, autograde, feedback, grades.

Submissions are read from <course>/submitted/<student>/<id>/ (nbgrader's layout). Each is
checked first; only its notebook (renamed to <id>.ipynb if it was the single misnamed one) and
timestamp.txt are staged into <course>/.grading/submitted/, which is what nbgrader grades, so
extra files never reach the grading directory. The expensive sandboxed execution of all
submissions runs first in a process pool (jobs) and fills a cache; nbgrader autograde then runs
one submission at a time (the sqlite gradebook has one writer), hitting the cache.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import nbformat

from instructor.engine.limits import Limits
from instructor.engine.results import problems as engine_problems
from instructor.paths import COURSE, GRADING, HELPERS, assignment_ids

from .config import config_limits, course_config, ensure_tools_on_path, make_api
from .report import progress, summary, write_csv
from .submissions import Submission, check_root, find_submissions, stage


def source_digest(root: Path) -> str:
    """A short hash of what grading depends on besides the submission: the assignment sources
    (tests and reference solutions) and helpers/. Cached results are kept under it, so editing
    a reference solution or a helper re-runs every submission."""
    digest = hashlib.sha256()
    files = sorted((root / "source").rglob("*")) + sorted(HELPERS.glob("*.py"))
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.name).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class State:
    """What grading learnt about each submission, kept between runs in .grading/state.json."""

    def __init__(self, root: Path):
        self.path = root / GRADING / "state.json"
        self.data = json.loads(self.path.read_text()) if self.path.is_file() else {}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.data, indent=1, sort_keys=True))


def normalization_notes(nb) -> list[str]:
    """What NormalizeCells changed in the submission."""
    from .normalize import NOTES_KEY

    notes = nb.get("metadata", {}).get("nbgrader_course", {}).get(NOTES_KEY, [])
    return [str(n) for n in notes] if isinstance(notes, list) else []


def _manual_snapshot(gb, sub: Submission) -> dict:
    try:
        submission = gb.find_submission(sub.assignment, sub.student_id)
    except Exception:  # MissingEntry: never autograded before
        return {}
    return {
        (g.notebook.name, g.name): (g.manual_score, g.needs_manual_grade)
        for nb in submission.notebooks
        for g in nb.grades
    }


def autograde(api, root: Path, sub: Submission, state: State) -> None:
    """Run nbgrader autograde on one staged submission and read the result back."""
    from nbgrader.api import Gradebook

    key = sub.key
    digest = _digest(sub.staged)
    previous = state.data.get(key, {})
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        before = _manual_snapshot(gb, sub)
    result = api.autograde(sub.assignment, sub.student_id, force=True, create=True)
    log_dir = root / GRADING / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    (log_dir / f"{sub.assignment}__{sub.student_id}.log").write_text(
        result.get("log", "") + result.get("error", "")
    )
    autograded = (
        Path(api.coursedir.format_path(api.coursedir.autograded_directory, sub.student_id,
                                       sub.assignment))
        / f"{sub.assignment}.ipynb"
    )
    if not result.get("success") or not autograded.is_file():
        sub.failure = "nbgrader could not autograde it (see assignments/.grading/logs/)"
        state.data.pop(key, None)
        return
    sub.autograded = True
    graded_nb = nbformat.read(str(autograded), as_version=4)
    problems = engine_problems(graded_nb)
    sub.notes.extend(normalization_notes(graded_nb))
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        if previous.get("digest") == digest:
            # Same notebook as last time: manual grades already reviewed stay reviewed.
            submission = gb.find_submission(sub.assignment, sub.student_id)
            for nb in submission.notebooks:
                for grade in nb.grades:
                    manual, needed = before.get((nb.name, grade.name), (None, True))
                    if manual is not None and not needed and grade.manual_score is not None:
                        grade.needs_manual_grade = False
            gb.db.commit()
    state.data[key] = {"digest": digest, "problems": problems, "notes": sub.notes}
    if problems:
        sub.failure = f"{problems[0]} (partial score kept)"
        sub.notes.extend(problems[1:])


def read_grades(api, sub: Submission) -> None:
    """Fill score, max_score, status and detail from the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    lost = []
    needs_manual = False
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        try:
            sub.max_score = float(gb.find_assignment(sub.assignment).max_score)
        except MissingEntry:
            sub.max_score = 0.0
        try:
            submission = gb.find_submission(sub.assignment, sub.student_id)
        except MissingEntry:
            submission = None
        if submission is not None and sub.autograded:
            sub.score = float(submission.score)
            for nb in submission.notebooks:
                for grade in nb.grades:
                    if grade.needs_manual_grade:
                        needs_manual = True
                    elif grade.score is not None and grade.score < grade.max_score:
                        lost.append(f"{grade.name} ({grade.score:g}/{grade.max_score:g})")
    detail = list(sub.notes)
    if lost:
        detail.append("lost points in " + ", ".join(sorted(lost)))
    if sub.failure:
        sub.status = f"failed: {sub.failure}"
        if needs_manual:
            detail.append("manual grading pending")
    elif needs_manual:
        sub.status = "needs manual grading"
    else:
        sub.status = "graded"
    sub.detail = "; ".join(detail)


def sanitized(api, root: Path, sub: Submission):
    """The notebook exactly as nbgrader autograde will hand it to HardenedExecute, and a workdir.

    Runs the course's sanitize preprocessors (NormalizeCells, OverwriteCells, ...) the way
    `nbgrader autograde` does; the workdir holds the assignment's other source files, as the
    autograded directory will.
    """
    from nbconvert.exporters import NotebookExporter
    from nbgrader.converters import Autograde
    from nbgrader.utils import temp_attrs

    ids = dict(assignment_id=sub.assignment, student_id=sub.student_id)
    with temp_attrs(api.coursedir, **ids):
        converter = Autograde(coursedir=api.coursedir, parent=api)
        converter.exporter = NotebookExporter(parent=converter, config=converter.config)
        converter._sanitizing = True
        converter._init_preprocessors()
        resources = converter.init_single_notebook_resources(str(sub.staged))
        output, _ = converter.exporter.from_filename(str(sub.staged), resources=resources)
    workdir = root / GRADING / "work" / sub.student_id / sub.assignment
    if workdir.exists():
        shutil.rmtree(workdir)
    source = root / "source" / sub.assignment
    shutil.copytree(source, workdir, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
    return nbformat.reads(output, as_version=4), workdir


def _run_one(nb, workdir: str, limits: Limits, cache_dir: str) -> float:
    """Sandboxed execution of one notebook into the cache (in a pool process); its seconds."""
    from instructor.engine.cache import precompute

    started = time.perf_counter()
    precompute(nb, workdir, limits, cache_dir)
    return time.perf_counter() - started


def precompute_all(api, root: Path, subs, limits: Limits, cache_dir: Path, jobs: int,
                   out=print) -> None:
    """Run the sandboxed execution of every staged submission in a process pool."""
    from instructor.engine.cache import cache_key

    work = []
    for sub in subs:
        if sub.staged is None:
            continue
        try:
            nb, workdir = sanitized(api, root, sub)
        except Exception:  # autograde will meet the same problem and report it
            continue
        if not (cache_dir / f"{cache_key(nb, limits)}.json").is_file():
            work.append((sub, nb, workdir))
    if not work:
        return
    out(f"running {len(work)} submissions, {jobs} at a time")
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {
            pool.submit(_run_one, nb, str(wd), limits, str(cache_dir)): sub
            for sub, nb, wd in work
        }
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            sub = futures[future]
            try:
                sub.run_seconds = future.result()
            except Exception as error:  # the serial pass runs it again and reports
                out(f"  {sub.student_id} {sub.assignment}: parallel run failed ({error})")
                continue
            out(f"  ran {sub.student_id} {sub.assignment} in {sub.run_seconds:.1f}s "
                f"({done}/{len(work)})")


def generate_feedback(api, sub: Submission) -> bool:
    """nbgrader generate_feedback for one autograded submission (hidden tests stripped)."""
    result = api.generate_feedback(sub.assignment, sub.student_id, force=True)
    return bool(result.get("success"))


def grade(
    root: Path = COURSE,
    assignments=None,
    students=None,
    jobs: int | None = None,
    limits: Limits | None = None,
    feedback: bool = True,
    out=print,
) -> list[Submission]:
    """Grade every submission under root; returns them with scores and statuses."""
    ensure_tools_on_path()
    root = check_root(root)
    jobs = jobs or os.cpu_count() or 1
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer; got {jobs!r}")
    known = assignment_ids(root)
    unknown = sorted(set(assignments or []) - set(known))
    if unknown:
        raise ValueError(f"assignments must be among {known}; got unknown {unknown}")
    assignments = assignments or known
    cache_dir = root / GRADING / "cache" / source_digest(root)
    cache_dir.mkdir(parents=True, exist_ok=True)
    cfg = course_config(root, limits, cache_dir)
    limits = config_limits(cfg)
    api = make_api(cfg)
    subs = find_submissions(root, assignments, students)
    state = State(root)
    for sub in subs:
        stage(root, sub)
    started = time.perf_counter()
    if any(s.staged for s in subs):
        precompute_all(api, root, subs, limits, cache_dir, jobs, out)
    for sub in subs:
        t0 = time.perf_counter()
        if sub.staged is not None:
            autograde(api, root, sub, state)
            if feedback and sub.autograded:
                if not generate_feedback(api, sub):
                    sub.notes.append("feedback could not be generated")
        else:
            state.data.pop(sub.key, None)
        read_grades(api, sub)
        sub.seconds = time.perf_counter() - t0 + sub.run_seconds
        out(progress(sub))
    state.save()
    write_csv(root / "grades.csv", subs)
    if subs:
        out("")
        out(summary(subs))
        out(f"\n{len(subs)} submissions in {time.perf_counter() - started:.1f}s "
            f"(jobs={jobs}); grades in {root / 'grades.csv'}")
    else:
        out(f"no submissions found under {root / 'submitted'}")
    return subs


def refresh(root: Path = COURSE, assignments=None, out=print) -> list[Submission]:
    """After manual grading: regenerate feedback and grades.csv from the gradebook, no execution."""
    ensure_tools_on_path()
    root = check_root(root)
    api = make_api(course_config(root))
    state = State(root)
    subs = find_submissions(root, assignments or assignment_ids(root))
    for sub in subs:
        t0 = time.perf_counter()
        stage(root, sub)
        saved = state.data.get(sub.key)
        if sub.staged is not None and saved is None:
            sub.failure = "not graded yet (run make grade)"
        elif saved is not None:
            sub.notes = list(saved.get("notes", []))
            problems = saved.get("problems", [])
            if problems:
                sub.failure = f"{problems[0]} (partial score kept)"
            sub.autograded = True
            generate_feedback(api, sub)
        read_grades(api, sub)
        sub.seconds = time.perf_counter() - t0
        out(progress(sub))
    write_csv(root / "grades.csv", subs)
    if subs:
        out("")
        out(summary(subs))
    return subs
