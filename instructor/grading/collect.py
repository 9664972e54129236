"""Import an LMS download (a zip of submitted notebooks) into nbgrader's submitted/ folder.

    python -m instructor.grading.collect --assignment a2_convolution path/to/download.zip

Runs `nbgrader zip_collect` with the course's file-name pattern (assignments/nbgrader_config.py,
Canvas style: `smithjane_12345_67890_a2_convolution.ipynb` -> student `smithjane`), so each
notebook lands in assignments/submitted/<student>/<assignment>/. Collecting again replaces
those students' earlier files for this assignment. Files that do not match are reported.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from instructor.paths import COURSE


def collect(zip_path, assignment: str, root: Path = COURSE, out=print) -> list[str]:
    """Unpack an LMS zip into submitted/<student>/<assignment>/; returns the students found."""
    from .config import ensure_tools_on_path

    ensure_tools_on_path()
    root, zip_path = Path(root).resolve(), Path(zip_path).resolve()
    if not zip_path.is_file():
        raise FileNotFoundError(f"zip_path must be an existing file; got {zip_path}")
    if not zipfile.is_zipfile(zip_path):
        raise ValueError(f"zip_path must be a zip archive; got {zip_path}")
    if not (root / "source" / assignment / f"{assignment}.ipynb").is_file():
        raise ValueError(f"assignment must be one of the course's assignments; got {assignment!r}")
    download = root / "downloaded" / assignment
    if download.exists():
        shutil.rmtree(download)
    (download / "archive").mkdir(parents=True)
    shutil.copyfile(zip_path, download / "archive" / zip_path.name)
    run = subprocess.run(
        [sys.executable, "-m", "nbgrader", "zip_collect", assignment, "--force",
         f"--CourseDirectory.root={root}"],
        cwd=root, capture_output=True, text=True,
    )
    log = run.stdout + run.stderr
    if run.returncode != 0:
        raise RuntimeError(f"nbgrader zip_collect failed:\n{log}")
    students = sorted(set(re.findall(r"Copying to: .*[/\\]submitted[/\\]([^/\\]+)[/\\]", log)))
    skipped = re.findall(r"Skipped submission with no match information provided: (.*)", log)
    for student in students:
        out(f"collected {student}/{assignment}")
    for path in skipped:
        out(f"skipped (name does not match the LMS pattern): {Path(path).name}")
    out(f"{len(students)} submissions of {assignment} in {root / 'submitted'}")
    return students


def main(argv=None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m instructor.grading.collect",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("zip", type=Path, help="the LMS download (zip of notebooks)")
    parser.add_argument("--assignment", required=True, help="e.g. a2_convolution")
    parser.add_argument("--root", type=Path, default=COURSE, help="nbgrader course directory")
    args = parser.parse_args(argv)
    try:
        collect(args.zip, args.assignment, args.root)
    except (FileNotFoundError, ValueError) as error:
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
