"""Grade every submission: validate, autograde with nbgrader, write feedback and grades.csv.

    python -m instructor.grade [--assignment ID] [--student ID] [--jobs N] [--cell-timeout S] ...
    python -m instructor.grade --feedback-only     # after manual grading in formgrader

Submissions are read from assignments/submitted/<student>/<id>/ (nbgrader's layout). Each is
checked first; only its notebook (renamed to <id>.ipynb if it was the single misnamed one) and
timestamp.txt are staged into assignments/.grading/submitted/, which is what nbgrader grades, so
extra files never reach the grading directory. The expensive sandboxed execution of all
submissions runs first in a process pool (--jobs) and fills a cache; nbgrader autograde then runs
one submission at a time (the sqlite gradebook has one writer), hitting the cache.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import hashlib
import json
import logging
import os
import shutil
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .notebooks import ROOT
from .sandbox import Limits

COURSE = ROOT / "assignments"
GRADING = ".grading"  # under the course root: staged submissions, cache, logs, state
CSV_COLUMNS = ("student_id", "assignment", "score", "max_score", "status", "detail")
MAX_NOTEBOOK_BYTES = 50_000_000
ENGINE_METADATA = "hardened_grading"
LIMIT_NAMES = ("cell_timeout", "total_timeout", "memory_mb", "output_bytes")


@dataclass
class Submission:
    """One student's submission of one assignment, and what grading made of it."""

    student_id: str
    assignment: str
    notes: list[str] = field(default_factory=list)  # what was noticed, for the detail column
    failure: str | None = None  # set when it cannot be graded at all
    staged: Path | None = None  # the staged notebook nbgrader grades
    score: float = 0.0
    max_score: float = 0.0
    status: str = ""
    detail: str = ""
    seconds: float = 0.0
    autograded: bool = False  # nbgrader autograde succeeded in this run
    run_seconds: float = 0.0  # sandboxed execution in the pool (0 when cached)

    @property
    def key(self) -> str:
        return f"{self.assignment}/{self.student_id}"


def ensure_tools_on_path() -> None:
    """nbgrader runs `alembic` (next to this Python) when it creates a gradebook."""
    bindir = os.path.dirname(sys.executable)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def course_config(root: Path, limits: Limits | None = None, cache_dir: Path | None = None):
    """The course's nbgrader config for `root`, grading the staged submissions."""
    from traitlets.config import Config, PyFileConfigLoader

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    extra = Config()
    extra.CourseDirectory.root = str(root)
    extra.CourseDirectory.submitted_directory = f"{GRADING}/submitted"
    if limits is not None:
        for name in LIMIT_NAMES:
            extra.HardenedExecute[name] = getattr(limits, name)
    if cache_dir is not None:
        extra.HardenedExecute.cache_dir = str(cache_dir)
    cfg.merge(extra)
    return cfg


def config_limits(cfg) -> Limits:
    """The limits HardenedExecute will use under this config."""
    from .sandbox import HardenedExecute

    engine = HardenedExecute(config=cfg)
    return Limits(*(getattr(engine, name) for name in LIMIT_NAMES))


def make_api(cfg):
    """An in-process nbgrader API on the config, with its log kept out of the terminal."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(config=cfg)
    api = NbGraderAPI(coursedir=coursedir, config=cfg)
    api.log.propagate = False
    api.log.handlers = [logging.NullHandler()]
    return api


def check_root(root) -> Path:
    """The course root, resolved; it must hold nbgrader_config.py and source/."""
    path = Path(root).resolve()
    if not (path / "nbgrader_config.py").is_file() or not (path / "source").is_dir():
        raise FileNotFoundError(
            f"root must be an nbgrader course folder with nbgrader_config.py and source/; "
            f"got {str(path)!r}"
        )
    return path


def assignment_ids(root: Path) -> list[str]:
    """Assignments with a source notebook, sorted."""
    source = root / "source"
    return sorted(p.name for p in source.iterdir() if (p / f"{p.name}.ipynb").is_file())


def find_submissions(root: Path, assignments: list[str], students=None) -> list[Submission]:
    """Every submitted/<student>/<id>/ directory for the given assignments."""
    submitted = root / "submitted"
    found = []
    if not submitted.is_dir():
        return found
    for student_dir in sorted(submitted.iterdir()):
        if not student_dir.is_dir() or student_dir.name.startswith("."):
            continue
        if students and student_dir.name not in students:
            continue
        for assignment in assignments:
            if (student_dir / assignment).is_dir():
                found.append(Submission(student_dir.name, assignment))
    return found


def _describe(paths, base: Path) -> str:
    names = sorted(str(p.relative_to(base)) for p in paths)
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def read_notebook(path: Path):
    """The notebook at path, or raise ValueError saying why it cannot be graded."""
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"notebook is too large ({size} bytes; at most {MAX_NOTEBOOK_BYTES})")
    text = path.read_bytes().decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"notebook is not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise ValueError("file is not a Jupyter notebook (no list of cells)")
    try:
        nb = nbformat.reads(text, as_version=4)
        if nb.nbformat_minor < 5:  # cell ids came with nbformat 4.5
            nb = nbformat.v4.upgrade(nb, from_version=4, from_minor=nb.nbformat_minor)
        nbformat.validate(nb)
    except Exception as error:  # nbformat raises many kinds for broken notebooks
        first = str(error).strip().splitlines()[0][:120] if str(error).strip() else ""
        raise ValueError(
            f"notebook does not follow the Jupyter notebook format ({type(error).__name__}: "
            f"{first})"
        ) from None
    return nb


def stage(root: Path, sub: Submission) -> None:
    """Check one submission and stage its notebook for nbgrader, or set sub.failure."""
    folder = root / "submitted" / sub.student_id / sub.assignment
    wanted = folder / f"{sub.assignment}.ipynb"
    files = [
        p
        for p in folder.rglob("*")
        if p.is_file() and ".ipynb_checkpoints" not in p.parts and "__pycache__" not in p.parts
    ]
    notebooks = [p for p in files if p.suffix == ".ipynb"]
    chosen = None
    if wanted.is_file():
        chosen = wanted
    elif len(notebooks) == 1:
        chosen = notebooks[0]
        sub.notes.append(
            f"notebook was named {chosen.relative_to(folder)}; graded as {wanted.name}"
        )
    elif notebooks:
        sub.failure = f"no notebook {wanted.name} (found {_describe(notebooks, folder)})"
        return
    else:
        sub.failure = f"no notebook {wanted.name} in the submission"
        return
    extra = [p for p in files if p != chosen and p.name != "timestamp.txt"]
    if extra:
        sub.notes.append(f"ignored extra files: {_describe(extra, folder)}")
    try:
        nb = read_notebook(chosen)
    except ValueError as error:
        sub.failure = str(error)
        return
    dest = root / GRADING / "submitted" / sub.student_id / sub.assignment
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    sub.staged = dest / wanted.name
    nbformat.write(nb, str(sub.staged))
    if (folder / "timestamp.txt").is_file():
        shutil.copyfile(folder / "timestamp.txt", dest / "timestamp.txt")


def source_digest(root: Path) -> str:
    """A short hash of what grading depends on besides the submission: the assignment sources
    (tests and reference solutions) and helpers/. Cached results are kept under it, so editing
    a reference solution or a helper re-runs every submission."""
    digest = hashlib.sha256()
    files = sorted((root / "source").rglob("*")) + sorted((ROOT / "helpers").glob("*.py"))
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


def engine_problems(nb) -> list[str]:
    """Problems the hardened engine recorded in the autograded notebook's metadata."""
    meta = nb.get("metadata", {}).get(ENGINE_METADATA)
    if isinstance(meta, dict):
        meta = meta.get("problems", [])
    return [str(p) for p in meta] if isinstance(meta, list) else []


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
    from .sandbox import precompute

    started = time.perf_counter()
    precompute(nb, workdir, limits, cache_dir)
    return time.perf_counter() - started


def precompute_all(api, root: Path, subs, limits: Limits, cache_dir: Path, jobs: int,
                   out=print) -> None:
    """Run the sandboxed execution of every staged submission in a process pool."""
    from .sandbox import cache_key

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


def write_csv(path: Path, subs, keep_others: bool = True) -> None:
    """grades.csv: these submissions' rows replace earlier ones; other rows are kept."""
    rows = {}
    if keep_others and path.is_file():
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                rows[(row["assignment"], row["student_id"])] = row
    for sub in subs:
        rows[(sub.assignment, sub.student_id)] = {
            "student_id": sub.student_id,
            "assignment": sub.assignment,
            "score": f"{sub.score:g}",
            "max_score": f"{sub.max_score:g}",
            "status": sub.status,
            "detail": sub.detail,
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for key in sorted(rows):
            writer.writerow({c: rows[key].get(c, "") for c in CSV_COLUMNS})


def progress(sub: Submission) -> str:
    """One line per submission: student, assignment, score/max, status, seconds."""
    return (
        f"{sub.student_id:<16} {sub.assignment:<20} {sub.score:>6g}/{sub.max_score:<6g} "
        f"{sub.status}  {sub.seconds:.1f}s"
    )


def summary(subs) -> str:
    """A table per assignment: submissions, graded, needing manual grading, failed, mean score."""
    lines = [
        f"{'assignment':<20} {'subs':>5} {'graded':>7} {'manual':>7} {'failed':>7} {'mean':>12}"
    ]
    for assignment in sorted({s.assignment for s in subs}):
        group = [s for s in subs if s.assignment == assignment]
        graded = sum(s.status == "graded" for s in group)
        manual = sum(s.status == "needs manual grading" for s in group)
        failed = sum(s.status.startswith("failed") for s in group)
        mean = sum(s.score for s in group) / len(group)
        top = max(s.max_score for s in group)
        lines.append(
            f"{assignment:<20} {len(group):>5} {graded:>7} {manual:>7} {failed:>7} "
            f"{mean:>6.1f}/{top:<5g}"
        )
    return "\n".join(lines)


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


def main(argv=None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m instructor.grade", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=COURSE, help="nbgrader course directory")
    parser.add_argument("--assignment", action="append", help="grade only this assignment")
    parser.add_argument("--student", action="append", help="grade only this student")
    parser.add_argument("--jobs", type=int, default=None, help="parallel executions (cores)")
    parser.add_argument("--cell-timeout", type=float, help="seconds per cell (course config)")
    parser.add_argument("--total-timeout", type=float, help="seconds per notebook")
    parser.add_argument("--memory-mb", type=int, help="memory per submission, MB")
    parser.add_argument("--output-bytes", type=int, help="output kept per cell, bytes")
    parser.add_argument("--no-feedback", action="store_true", help="skip generate_feedback")
    parser.add_argument("--feedback-only", action="store_true",
                        help="no execution: regenerate feedback and grades.csv from the gradebook")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", module="sqlalchemy")  # nbgrader's own session warnings
    warnings.filterwarnings("ignore", message=".*not in session.*")
    if args.jobs is not None and args.jobs < 1:
        parser.error(f"--jobs must be at least 1; got {args.jobs}")
    try:
        if args.feedback_only:
            refresh(args.root, args.assignment)
            return 0
        limits = None
        given = {n: getattr(args, n) for n in LIMIT_NAMES if getattr(args, n) is not None}
        if given:
            limits = config_limits(course_config(check_root(args.root)))
            limits = Limits(**{**{n: getattr(limits, n) for n in LIMIT_NAMES}, **given})
        grade(args.root, args.assignment, args.student, args.jobs, limits, not args.no_feedback)
    except (FileNotFoundError, ValueError) as error:
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
