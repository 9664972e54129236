"""Grade every submission: validate, autograde with nbgrader, write feedback and grades.csv.

    python -m instructor.grading.grade [--assignment ID] [--student ID] [--jobs N]
    python -m instructor.grading.grade --scheduler tcp://host:8786   # on a Dask cluster
    python -m instructor.grading.grade --feedback-only     # after manual grading in formgrader

How a class is graded: instructor/grading/pipeline.py.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from dataclasses import fields
from pathlib import Path

from instructor.engine.limits import HELP, Limits, names
from instructor.paths import COURSE

from .config import config_limits, course_config
from .pipeline import grade, refresh
from .submissions import check_root


def main(argv=None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m instructor.grading.grade", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=COURSE, help="nbgrader course directory")
    parser.add_argument("--assignment", action="append", help="grade only this assignment")
    parser.add_argument("--student", action="append", help="grade only this student")
    parser.add_argument("--jobs", type=int, default=None,
                        help="submissions graded at once on this machine (default: the cores)")
    parser.add_argument("--scheduler", default=None,
                        help="grade on a Dask cluster: its scheduler's address, tcp://host:8786")
    for f in fields(Limits):
        option = "--" + f.name.replace("_", "-")
        parser.add_argument(option, type=float if f.type == "float" else int,
                            help=f"{HELP[f.name]} (default: the course config)")
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
        given = {n: getattr(args, n) for n in names() if getattr(args, n) is not None}
        if given:
            limits = config_limits(course_config(check_root(args.root)))
            limits = Limits(**{**limits.as_dict(), **given})
        grade(args.root, args.assignment, args.student, args.jobs, limits, not args.no_feedback,
              scheduler=args.scheduler)
    except (FileNotFoundError, ValueError) as error:
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
