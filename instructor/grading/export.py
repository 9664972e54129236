"""Grades and feedback back to the LMS: a gradebook CSV Canvas imports, and a zip of feedback.

    python -m instructor.grading.export [--lms-id a2_convolution=4567 ...] [--roster FILE]
    python -m instructor.grading.export --feedback-zip       # `make feedback` runs this

Reads assignments/grades.csv (never writes it) and writes into assignments/export/:
- canvas_gradebook.csv: Canvas' gradebook import columns (Student, ID, SIS User ID, SIS Login ID,
  Section), a "Points Possible" row, then one column per assignment, titled
  "<assignment> (<Canvas assignment id>)" when --lms-id gives the id (Canvas then fills that
  assignment) or "<assignment>" (Canvas offers to create a new one). A student is matched by ID:
  the LMS user id that `make collect` filed the submission under, or the roster's `lms_id`
  column (for students known by another id, e.g. a JupyterHub user name). A submission never
  collected leaves its cell empty, which Canvas skips.
- grades.csv: the project's grades.csv with the roster's name and section and collect's late flag.
- nbgrader_grades.csv (with --nbgrader): nbgrader's own export.
- feedback.zip (with --feedback-zip): every student's feedback page as <student>/<assignment>.html;
  a submission that failed, or has no page, gets a page saying why.
"""

from __future__ import annotations

import argparse
import csv
import html
import subprocess
import sys
import zipfile
from pathlib import Path

from instructor.paths import COURSE

from .collect import read_manifest, read_roster

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(text) -> str:
    """Text safe in a spreadsheet: a leading = + - @ (a formula) is quoted with an apostrophe."""
    text = str(text)
    return "'" + text if text.startswith(FORMULA_START) else text


def read_grades(root: Path) -> list[dict]:
    """Rows of grades.csv (empty when there is none)."""
    path = root / "grades.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run make grade first")
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def load_roster(root: Path, roster=None) -> dict[str, dict]:
    """The roster given, else <root>/roster.csv when it exists, else none."""
    if roster is None and (root / "roster.csv").is_file():
        roster = root / "roster.csv"
    return read_roster(roster) if roster else {}


def parse_lms_ids(pairs) -> dict[str, str]:
    """{assignment: Canvas assignment id} from ["a2_convolution=4567", ...]."""
    ids = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip().isdigit():
            raise ValueError(f"--lms-id must look like a2_convolution=4567; got {pair!r}")
        ids[name.strip()] = value.strip()
    return ids


def number(text: str) -> str:
    """A score as Canvas reads it: 12, 12.5."""
    try:
        return f"{float(text):g}"
    except ValueError:
        return ""


def canvas_rows(rows: list[dict], roster: dict, lms_ids: dict, assignments=None) -> list[list]:
    """The Canvas import table: header, Points Possible, then a row per student."""
    assignments = sorted(assignments or {r["assignment"] for r in rows} | set(lms_ids))
    titles = [f"{a} ({lms_ids[a]})" if a in lms_ids else a for a in assignments]
    points = {}
    scores: dict[str, dict[str, str]] = {}
    for row in rows:
        points[row["assignment"]] = number(row.get("max_score", ""))
        scores.setdefault(row["student_id"], {})[row["assignment"]] = number(row["score"])
    table = [list(CANVAS_COLUMNS) + titles,
             ["Points Possible", "", "", "", ""] + [points.get(a, "") for a in assignments]]
    students = sorted(set(scores) | set(roster), key=lambda s: (len(s), s))
    for student in students:
        person = roster.get(student, {})
        table.append([
            cell(person.get("name") or student),
            cell(person.get("lms_id") or student),
            cell(person.get("sis_user_id", "")),
            cell(person.get("sis_login_id", "")),
            cell(person.get("section", "")),
        ] + [scores.get(student, {}).get(a, "") for a in assignments])
    return table


def write_table(path: Path, table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(table)


def grades_with_names(root: Path, rows: list[dict], roster: dict) -> list[list]:
    """grades.csv with name, section and late columns, text cells spreadsheet-safe."""
    late = {}
    for assignment in {r["assignment"] for r in rows}:
        for user, entry in read_manifest(root, assignment).items():
            late[(user, assignment)] = "yes" if entry.get("late") else "no"
    columns = ["student_id", "name", "section", "assignment", "score", "max_score", "status",
               "late", "detail"]
    table = [columns]
    for row in rows:
        person = roster.get(row["student_id"], {})
        values = {**row, "name": person.get("name", ""), "section": person.get("section", ""),
                  "late": late.get((row["student_id"], row["assignment"]), "")}
        table.append([cell(values.get(c, "")) for c in columns])
    return table


def nbgrader_export(root: Path, dest: Path) -> None:
    """nbgrader's own CSV export, written to dest (never to grades.csv)."""
    from .config import ensure_tools_on_path

    ensure_tools_on_path()
    run = subprocess.run(
        [sys.executable, "-m", "nbgrader", "export", f"--CsvExportPlugin.to={dest}",
         f"--CourseDirectory.root={root}"],
        cwd=root, capture_output=True, text=True,
    )
    if run.returncode != 0:
        raise RuntimeError(f"nbgrader export failed:\n{run.stdout}{run.stderr}")


FAILED_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{assignment}: {student}</title></head>
<body>
<h1>{assignment}</h1>
<p>Student: {student}</p>
<p>Score: {score} / {max_score}</p>
<p>Status: {status}</p>
<p>{why}</p>
<p>Notes: {detail}</p>
</body></html>
"""


def status_page(row: dict) -> str:
    """A feedback page for a submission without nbgrader's: what happened and why."""
    status = row.get("status", "")
    if status.startswith("failed"):
        why = ("Your notebook could not be graded in full; the reason is given above. "
               "Points earned before the problem are kept.")
    else:
        why = "No feedback page was produced for this submission."
    values = {k: html.escape(str(row.get(k, "")) or "-") for k in
              ("assignment", "student_id", "score", "max_score", "status", "detail")}
    values["student"] = values.pop("student_id")
    return FAILED_PAGE.format(**values, why=html.escape(why))


BANNER = ('<div id="grading-status" style="border:2px solid #b45309;background:#fffbeb;'
          'padding:0.8em;margin:1em;font-family:sans-serif">{text}</div>')


def with_banner(page: str, text: str) -> str:
    """The page with a status box at the top of its body."""
    box = BANNER.format(text=html.escape(text))
    head, sep, rest = page.partition("<body")
    if not sep:
        return box + page
    tag_end = rest.find(">") + 1
    return head + sep + rest[:tag_end] + box + rest[tag_end:]


def banner_text(row: dict) -> str:
    """What the status box says: provisional while written answers wait, or why it failed."""
    status = row.get("status", "")
    if status == "needs manual grading":
        return ("Provisional: your written answers are not graded yet, so the score below "
                "counts them as 0. This page will be replaced once they are graded.")
    if status.startswith("failed"):
        return f"Grading problem: {status[len('failed: '):]}"
    return ""


def has_page(row: dict) -> bool:
    """Whether nbgrader's page belongs to this grading: graded, or failed after autograding."""
    status = row.get("status", "")
    return not status.startswith("failed") or "partial score kept" in status


def feedback_zip(root: Path, out=print) -> Path:
    """assignments/export/feedback.zip: <student>/<assignment>.html for every graded row."""
    rows = read_grades(root)
    path = root / "export" / "feedback.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    pages = made = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for row in sorted(rows, key=lambda r: (r["student_id"], r["assignment"])):
            student, assignment = row["student_id"], row["assignment"]
            page = root / "feedback" / student / assignment / f"{assignment}.html"
            name = f"{student}/{assignment}.html"
            if page.is_file() and has_page(row):
                text = page.read_text(encoding="utf-8", errors="replace")
                banner = banner_text(row)
                zf.writestr(name, with_banner(text, banner) if banner else text)
                pages += 1
            else:
                zf.writestr(name, status_page(row))
                made += 1
    out(f"feedback for {pages + made} submissions ({made} status pages) in {path}")
    return path


def export(root: Path = COURSE, lms_ids=None, roster=None, with_nbgrader=False,
           out=print) -> Path:
    """Write export/canvas_gradebook.csv and export/grades.csv; returns the Canvas file."""
    root = Path(root).resolve()
    rows = read_grades(root)
    people = load_roster(root, roster)
    lms_ids = lms_ids or {}
    unknown = sorted(set(lms_ids) - {r["assignment"] for r in rows} - set(_assignments(root)))
    if unknown:
        raise ValueError(f"--lms-id names unknown assignments: {', '.join(unknown)}")
    folder = root / "export"
    canvas = folder / "canvas_gradebook.csv"
    write_table(canvas, canvas_rows(rows, people, lms_ids))
    write_table(folder / "grades.csv", grades_with_names(root, rows, people))
    out(f"Canvas gradebook import: {canvas}")
    out(f"grades with names: {folder / 'grades.csv'}")
    if with_nbgrader:
        nbgrader_export(root, folder / "nbgrader_grades.csv")
        out(f"nbgrader's export: {folder / 'nbgrader_grades.csv'}")
    return canvas


def _assignments(root: Path) -> list[str]:
    from instructor.paths import assignment_ids

    try:
        return assignment_ids(root)
    except FileNotFoundError:
        return []


def main(argv=None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m instructor.grading.export",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=COURSE, help="nbgrader course directory")
    parser.add_argument("--lms-id", action="append", metavar="ASSIGNMENT=ID",
                        help="the Canvas assignment id of an assignment (repeat per assignment)")
    parser.add_argument("--roster", type=Path, default=None,
                        help="CSV with id, name, section (default: <root>/roster.csv if present)")
    parser.add_argument("--nbgrader", action="store_true", help="also run nbgrader's export")
    parser.add_argument("--feedback-zip", action="store_true",
                        help="only build export/feedback.zip of every student's feedback page")
    args = parser.parse_args(argv)
    try:
        if args.feedback_zip:
            feedback_zip(Path(args.root).resolve())
        else:
            export(args.root, parse_lms_ids(args.lms_id), args.roster, args.nbgrader)
    except (FileNotFoundError, ValueError) as error:
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
