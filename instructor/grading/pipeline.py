"""Grading a class: stage, run every submission in the sandbox, autograde, feedback, grades.

Submissions are read from <course>/submitted/<student>/<id>/ (nbgrader's layout). Each is
checked first; only its notebook (renamed to <id>.ipynb if it was the single misnamed one) and
timestamp.txt are staged into <course>/.grading/submitted/, which is what nbgrader grades, so
extra files never reach the grading directory. Each submission is then graded as a job
(instructor/grading/jobs.py): nbgrader autograde, with the hardened engine inside it, and
generate_feedback in a private copy of the course, in a local process pool (jobs) or on a Dask
cluster (scheduler). Only merging each job's gradebook rows into the course gradebook, and
reading the grades back, happens one submission at a time.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

from instructor.engine.limits import Limits
from instructor.engine.results import notices as engine_notices
from instructor.engine.results import problems as engine_problems
from instructor.notebooks import read_json
from instructor.paths import COURSE, GRADING, HELPERS, assignment_ids

from .config import config_limits, course_config, ensure_tools_on_path, make_api
from .execute import course_secret
from .report import progress, split_problems, summary, write_csv
from .submissions import Submission, check_root, find_submissions, isolated, stage


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
    """What the course's preprocessors changed (restored test cells, text cut for display)."""
    from .sanitize import course_notes

    return course_notes(nb)


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


def finish(api, root: Path, sub: Submission, state: State, result: dict, before: dict,
           cache_dir: Path, gb) -> None:
    """Take one job's result into the course: outputs, gradebook rows, problems and notes.

    gb is the course gradebook, open; it holds no transaction between calls.
    """
    from .jobs import merge, store_outputs

    key = sub.key
    digest = _digest(sub.staged)
    previous = state.data.get(key, {})
    log_dir = root / GRADING / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    (log_dir / f"{sub.assignment}__{sub.student_id}.log").write_text(result.get("log", ""))
    store_outputs(root, result, cache_dir)
    if not result["success"]:
        sub.failure = "nbgrader could not autograde it (see assignments/.grading/logs/)"
        state.data.pop(key, None)
        return
    with tempfile.TemporaryDirectory(prefix="grade-merge-") as tmp:
        job_db = Path(tmp) / "gradebook.db"
        job_db.write_bytes(result["gradebook"])
        merge(Path(api.coursedir.root) / "gradebook.db", job_db, sub.assignment, sub.student_id)
    sub.autograded = True
    sub.run_seconds = result.get("seconds", 0.0)
    autograded = root / "autograded" / sub.student_id / sub.assignment / f"{sub.assignment}.ipynb"
    graded_nb = read_json(autograded)  # no validation: only metadata is read
    problems, engine_notes = split_problems(graded_nb, engine_problems(graded_nb))
    sub.from_cache = from_cache(graded_nb)
    sub.notes.extend(normalization_notes(graded_nb))
    sub.notes.extend(engine_notes)
    sub.notes.extend(engine_notices(graded_nb))
    if previous.get("digest") == digest and before:
        # Same notebook as last time: manual grades already reviewed stay reviewed.
        gb.db.rollback()  # see the merged rows
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
    if result.get("feedback") is False:
        sub.notes.append("feedback could not be generated")


def from_cache(nb) -> bool:
    """Whether the engine's result in an autograded notebook came from the cache."""
    from instructor.engine.results import METADATA_KEY

    meta = nb.get("metadata", {}).get(METADATA_KEY)
    return bool(isinstance(meta, dict) and meta.get("from_cache"))


def read_grades(api, sub: Submission, gb=None) -> None:
    """Fill score, max_score, status and detail from the gradebook (gb: one already open)."""
    from nbgrader.api import Gradebook, MissingEntry

    lost = []
    needs_manual = False
    if gb is not None:
        gb.db.rollback()  # a fresh view: rows may have been replaced by a merge since
    with contextlib.nullcontext(gb) if gb is not None else Gradebook(
        api.coursedir.db_url, api.coursedir.course_id
    ) as gb:
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
        gb.db.rollback()  # hold no lock on the gradebook between reads
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


def generate_feedback(api, sub: Submission) -> bool:
    """nbgrader generate_feedback for one autograded submission (hidden tests stripped)."""
    result = api.generate_feedback(sub.assignment, sub.student_id, force=True)
    return bool(result.get("success"))


def grade_all(api, root: Path, subs, limits: Limits, cache_dir: Path, jobs: int,
              scheduler: str | None, feedback: bool, state: State, out=print) -> None:
    """Grade every staged submission as a job (in parallel), taking each result in as it comes."""
    from nbgrader.api import Gradebook

    from .jobs import JOB_SLACK, executor, job_items, pack, run_job, stop

    work = [s for s in subs if s.staged is not None]
    if not work:
        return
    # Largest notebooks first: they take longest to grade (more cells, tests and training), and
    # started last one would run alone while the other workers sit idle.
    work.sort(key=lambda s: s.staged.stat().st_size, reverse=True)
    _ensure_gradebook(api, root)
    gradebook = (root / "gradebook.db").read_bytes()
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        before = {sub.key: _manual_snapshot(gb, sub) for sub in work}
    where = f"on the Dask cluster at {scheduler}" if scheduler else f"{jobs} at a time"
    out(f"grading {len(work)} submissions, {where}")
    # Each running job ends within its notebook's time limit and some slack, so some job always
    # finishes within that long of the last one; a longer wait means a lost or frozen worker.
    stall = limits.total_timeout + JOB_SLACK
    with executor(jobs, scheduler) as pool, Gradebook(api.coursedir.db_url,
                                                      api.coursedir.course_id) as gb:
        futures = {}
        for sub in work:
            course = pack(root, job_items(sub.assignment, sub.student_id))
            future = pool.submit(run_job, course, gradebook, sub.assignment, sub.student_id,
                                 limits.as_dict(), str(cache_dir), feedback)
            futures[future] = sub
        pending = set(futures)
        while pending:
            done, pending = concurrent.futures.wait(
                pending, timeout=stall, return_when=concurrent.futures.FIRST_COMPLETED)
            if not done:
                stop(pool)
                for future in sorted(pending, key=lambda f: futures[f].key):
                    sub = futures[future]
                    sub.failure = (f"grading stopped: no job finished in {stall:.0f} s (the "
                                   "notebook time limit and slack): a worker was lost or froze; "
                                   "grade again")
                    state.data.pop(sub.key, None)
                    with isolated(sub, "reading grades"):
                        read_grades(api, sub, gb)
                    out(progress(sub))
                break
            for future in done:
                _take(api, root, futures[future], future, state, before, cache_dir, gb, out)


def _take(api, root, sub, future, state, before, cache_dir, gb, out) -> None:
    """Take one finished job's result into the course (or record why it failed)."""
    t0 = time.perf_counter()
    try:
        result = future.result()
    except Exception as error:  # one broken job never stops the class
        sub.failure = f"grading stopped: {type(error).__name__}: {error}"
        state.data.pop(sub.key, None)
    else:
        with isolated(sub, "autograde"):
            finish(api, root, sub, state, result, before[sub.key], cache_dir, gb)
    with isolated(sub, "reading grades"):
        read_grades(api, sub, gb)
    sub.serial_seconds = time.perf_counter() - t0
    sub.seconds = sub.run_seconds + sub.serial_seconds
    out(progress(sub))


def _ensure_gradebook(api, root: Path) -> None:
    """Create the course gradebook (and its tables) before jobs copy it."""
    from nbgrader.api import Gradebook

    with Gradebook(api.coursedir.db_url, api.coursedir.course_id):
        pass


def grade(
    root: Path = COURSE,
    assignments=None,
    students=None,
    jobs: int | None = None,
    limits: Limits | None = None,
    feedback: bool = True,
    out=print,
    scheduler: str | None = None,
) -> list[Submission]:
    """Grade every submission under root; returns them with scores and statuses.

    Jobs run in a local process pool of `jobs` processes, or, given a Dask scheduler address
    (tcp://host:8786), on that cluster's workers.
    """
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
    course_secret(root)  # created here once, so every job's copy carries the same secret
    cache_dir = root / GRADING / "cache" / source_digest(root)
    cache_dir.mkdir(parents=True, exist_ok=True)
    cfg = course_config(root, limits, cache_dir)
    limits = config_limits(cfg)
    api = make_api(cfg)
    subs = find_submissions(root, assignments, students)
    state = State(root)
    for sub in subs:
        with isolated(sub, "staging"):
            stage(root, sub)
    started = time.perf_counter()
    for sub in subs:
        if sub.staged is None:
            state.data.pop(sub.key, None)
            with isolated(sub, "reading grades"):
                read_grades(api, sub)
            out(progress(sub))
    grade_all(api, root, subs, limits, cache_dir, jobs, scheduler, feedback, state, out)
    state.save()
    write_csv(root / "grades.csv", subs)
    if subs:
        out("")
        out(summary(subs))
        graded = [s for s in subs if s.autograded]
        cached = sum(s.from_cache for s in graded)
        serial = sum(s.serial_seconds for s in subs)
        where = f"scheduler={scheduler}" if scheduler else f"jobs={jobs}"
        out(f"\n{len(subs)} submissions in {time.perf_counter() - started:.1f}s ({where}); "
            f"{len(graded) - cached} executed, {cached} from the cache; "
            f"{serial / max(len(subs), 1):.2f}s serial work per submission; "
            f"grades in {root / 'grades.csv'}")
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
        with isolated(sub, "staging"):
            stage(root, sub)
        saved = state.data.get(sub.key)
        if sub.failure is not None:
            pass
        elif sub.staged is not None and saved is None:
            sub.failure = "not graded yet (run make grade)"
        elif saved is not None:
            sub.notes = list(saved.get("notes", []))
            problems = saved.get("problems", [])
            if problems:
                sub.failure = f"{problems[0]} (partial score kept)"
            sub.autograded = True
            with isolated(sub, "feedback"):
                if not generate_feedback(api, sub):
                    sub.notes.append("feedback could not be generated")
        with isolated(sub, "reading grades"):
            read_grades(api, sub)
        sub.seconds = time.perf_counter() - t0
        out(progress(sub))
    write_csv(root / "grades.csv", subs)
    if subs:
        out("")
        out(summary(subs))
    return subs
