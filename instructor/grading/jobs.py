"""Grading submissions in parallel: each job grades one submission in a private copy of the course.

A job carries what grading one submission reads (the course config, the assignment's sources,
the staged submission, the course secret and a snapshot of the gradebook) as bytes, runs
`nbgrader autograde` (the hardened engine inside it) and `nbgrader generate_feedback` in a
temporary course folder, and sends back what they wrote: the autograded notebook, the feedback
page, the log, the job's gradebook and any new cache entries. Jobs need no shared files, so
they run in local processes or on the workers of a Dask cluster alike. The only serial step is
`merge`: copying the submission's rows from the job's gradebook into the course gradebook.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import io
import shutil
import sqlite3
import tarfile
import tempfile
import time
from pathlib import Path

from instructor.paths import GRADING

GRADEBOOK = "gradebook.db"
SECRET = f"{GRADING}/secret"

SCHEDULER_TIMEOUT = 10  # seconds to reach a Dask scheduler before `make grade` says none answers
JOB_SLACK = 120.0  # seconds a job may take beyond its notebook's total_timeout (nbgrader, feedback)


def pack(root: Path, items: list[str]) -> bytes:
    """The files and folders `items` (relative to root; missing ones skipped) as a tar."""
    buffer = io.BytesIO()
    skip = ("__pycache__", ".ipynb_checkpoints")
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for item in items:
            if (root / item).exists():
                tar.add(root / item, arcname=item,
                        filter=lambda t: None if Path(t.name).name in skip else t)
    return buffer.getvalue()


def unpack(data: bytes, dest: Path) -> None:
    """Extract a tar made by `pack` into dest (regular files and folders only)."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        tar.extractall(dest, filter="data")


def job_items(assignment: str, student: str) -> list[str]:
    """What grading one submission reads from the course folder."""
    staged = f"{GRADING}/submitted/{student}/{assignment}"
    return ["nbgrader_config.py", f"source/{assignment}", staged, SECRET]


def run_job(course: bytes, gradebook: bytes, assignment: str, student: str, limits: dict,
            cache_dir: str, feedback: bool) -> dict:
    """Autograde (and give feedback on) one submission in a private course folder; its outputs.

    cache_dir is the course's cache folder when this process can write it (same machine or a
    shared file system); otherwise a private one is used and its new entries are sent back.
    """
    from instructor.engine.limits import Limits

    from .config import course_config, ensure_tools_on_path, make_api

    started = time.perf_counter()
    ensure_tools_on_path()
    with tempfile.TemporaryDirectory(prefix="grade-job-") as tmp:
        root = Path(tmp)
        unpack(course, root)
        (root / GRADEBOOK).write_bytes(gradebook)
        shared = bool(cache_dir) and _writable(Path(cache_dir))
        cache = Path(cache_dir) if shared else root / GRADING / "cache"
        cache.mkdir(parents=True, exist_ok=True)
        cfg = course_config(root, Limits(**limits), cache)
        api = make_api(cfg)
        result = api.autograde(assignment, student, force=True, create=True)
        autograded = root / "autograded" / student / assignment / f"{assignment}.ipynb"
        success = bool(result.get("success")) and autograded.is_file()
        feedback_ok = None
        if success and feedback:
            given = api.generate_feedback(assignment, student, force=True)
            feedback_ok = bool(given.get("success"))
        outputs = [f"autograded/{student}/{assignment}", f"feedback/{student}/{assignment}"]
        return {
            "success": success,
            "feedback": feedback_ok,
            "log": result.get("log", "") + result.get("error", ""),
            "outputs": pack(root, outputs),
            "gradebook": (root / GRADEBOOK).read_bytes(),
            "cache": {} if shared else {p.name: p.read_bytes() for p in cache.glob("*.json")},
            "seconds": time.perf_counter() - started,
        }


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path):
            return True
    except OSError:
        return False


# the rows of one submission, by table, child tables last (deleted in reverse order)
_NOTEBOOKS = "notebook_id IN (SELECT id FROM {db}.submitted_notebook WHERE assignment_id IN ({sa}))"
_ROWS = {
    "submitted_assignment": "id IN ({sa})",
    "submitted_notebook": "assignment_id IN ({sa})",
    "grade": _NOTEBOOKS,
    "comment": _NOTEBOOKS,
}
_SUBMISSION = ("SELECT s.id FROM {db}.submitted_assignment s JOIN {db}.assignment a "
               "ON s.assignment_id = a.id WHERE a.name = :assignment AND s.student_id = :student")


def merge(course_db: Path, job_db: Path, assignment: str, student: str) -> None:
    """Replace the submission's rows in the course gradebook by those of the job's gradebook."""
    names = {"assignment": assignment, "student": student}
    con = sqlite3.connect(str(course_db), timeout=60, isolation_level=None)
    try:
        con.execute("ATTACH DATABASE ? AS job", (str(job_db),))
        con.execute("BEGIN IMMEDIATE")
        try:
            for table in reversed(list(_ROWS)):
                where = _ROWS[table].format(db="main", sa=_SUBMISSION.format(db="main"))
                con.execute(f"DELETE FROM main.{table} WHERE {where}", names)
            con.execute("INSERT OR IGNORE INTO main.student SELECT * FROM job.student "
                        "WHERE id = :student", names)
            for table, where in _ROWS.items():
                where = where.format(db="job", sa=_SUBMISSION.format(db="job"))
                con.execute(f"INSERT INTO main.{table} SELECT * FROM job.{table} WHERE {where}",
                            names)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.close()


@contextlib.contextmanager
def executor(jobs: int, scheduler: str | None = None):
    """A concurrent.futures executor: a local process pool, or a Dask cluster's workers."""
    if not scheduler:
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs) as pool:
            yield pool
        return
    try:
        from distributed import Client
    except ImportError as error:  # pragma: no cover - distributed is a dependency
        raise ValueError("a scheduler needs the distributed package (pip install distributed)") \
            from error
    try:
        client = Client(scheduler, timeout=SCHEDULER_TIMEOUT)
    except OSError as error:
        raise ValueError(f"no Dask scheduler answers at {scheduler!r}: {error}") from error
    try:
        with client.get_executor(pure=False) as pool:
            yield pool
    finally:
        client.close()


def stop(pool) -> None:
    """End a pool at once: queued jobs are cancelled and local worker processes killed."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # a local pool's
    if processes:
        pool.shutdown(wait=False, cancel_futures=True)
    else:  # a Dask cluster's executor: its tasks are released, the workers go on serving
        pool.shutdown(wait=False)
    for process in processes:
        process.kill()
        process.join(10)


def store_outputs(root: Path, result: dict, cache_dir: Path) -> None:
    """Put a job's autograded notebook, feedback and cache entries into the course folder."""
    with tempfile.TemporaryDirectory(prefix="grade-out-") as tmp:
        unpack(result["outputs"], Path(tmp))
        for top in ("autograded", "feedback"):
            for folder in sorted(Path(tmp, top).glob("*/*")):
                target = root / folder.relative_to(tmp)
                if target.exists():
                    shutil.rmtree(target)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copytree(folder, target)
    for name, data in result["cache"].items():
        path = cache_dir / name
        if not path.exists():
            path.write_bytes(data)
