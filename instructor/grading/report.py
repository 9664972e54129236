"""What grading tells the instructor: grades.csv, a line per submission, a summary table."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from .submissions import Submission

CSV_COLUMNS = ("student_id", "assignment", "score", "max_score", "status", "detail")
TEXT_COLUMNS = ("student_id", "assignment", "status", "detail")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: str) -> str:
    """A text field a spreadsheet shows as text: one that could start a formula gets a quote."""
    value = str(value)
    return "'" + value if value.startswith(FORMULA_START) else value


# Engine problems that do not stop grading: the cell ran to its end and was graded; only what it
# printed was cut. They become notes, the cell named by its grade id.
TRUNCATED = re.compile(r"output of cell (\d+) truncated at (\d+) bytes")


def split_problems(nb, problems: list[str]) -> tuple[list[str], list[str]]:
    """(problems that make the status failed, notes for detail) of an autograded notebook."""
    from .sanitize import cell_name

    failures, notes = [], []
    for problem in problems:
        match = TRUNCATED.fullmatch(problem)
        if match is None:
            failures.append(problem)
            continue
        index = int(match.group(1))
        cells = nb.get("cells", [])
        name = cell_name(cells, index) if 0 <= index < len(cells) else f"cell {index}"
        notes.append(f"output of {name} truncated at {match.group(2)} bytes")
    return failures, notes


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
            row = {c: rows[key].get(c, "") for c in CSV_COLUMNS}
            writer.writerow({c: csv_text(v) if c in TEXT_COLUMNS else v for c, v in row.items()})


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
