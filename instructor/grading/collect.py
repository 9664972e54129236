"""Import an LMS download (a zip of submitted notebooks) into nbgrader's submitted/ folder.

    python -m instructor.grading.collect --assignment a2_convolution path/to/download.zip
                                         [--roster assignments/roster.csv]

Canvas names each file in its download `<name>_[late_]<user id>_<submission id>_<file>`, for
example `smithjane_12345_67890_a2_convolution.ipynb`. Each student is identified by the LMS
user id (unique; the name part is not: namesakes share it), so that file lands in
assignments/submitted/12345/a2_convolution/a2_convolution.ipynb. What collect guarantees:

- a file is filed only under the user id written in its own name: the name is read from the
  start of the zip member's last path component (zip paths use `/`; a backslash is an ordinary
  character of the file name, never a folder separator);
- a student with several submissions keeps the newest (highest submission id, also across
  earlier collects) and the older ones are listed;
- Canvas' `-1`, `-2` suffix of a resubmitted file is dropped, so `a2_convolution-1.ipynb` is
  graded as `a2_convolution.ipynb`;
- lateness is kept: the LMS's late flag goes into assignments/.grading/collect/<id>.json (read
  by `make export`), and the time the zip gives the file becomes nbgrader's timestamp.txt,
  which nbgrader compares with the assignment's due date (see the late penalty settings in
  assignments/nbgrader_config.py);
- any file name is either collected or reported by name (non-ASCII names included; a zip that
  did not mark its names as UTF-8 is decoded as UTF-8 where that works); one unreadable member
  is reported and the rest of the class is imported.

The optional roster (CSV with the columns id, name, section; more columns are kept for export)
names students in the output and in the export; ids not on it are reported.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import sys
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from instructor.paths import COURSE, GRADING

# <name>_[late_]<user id>_<submission id>_<file>; the name part never holds an underscore.
LMS_NAME = re.compile(
    r"^(?P<name>[^_]+)_(?:(?P<late>late)_)?(?P<user_id>\d+)_(?P<submission_id>\d+)_(?P<file>.+)$",
    re.IGNORECASE | re.DOTALL,
)
RESUBMITTED = re.compile(r"^(?P<stem>.+?)-\d+(?P<suffix>\.[^.]*)?$")
UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")
ROSTER_COLUMNS = ("id", "name", "section")
MAX_MEMBER_BYTES = 200_000_000


@dataclass
class Upload:
    """One file of the LMS download, as its name describes it."""

    member: str  # the zip member's name, as the zip gives it
    name: str  # the LMS's name part (e.g. smithjane)
    user_id: str
    submission_id: int
    file: str  # the student's file name as uploaded (LMS suffix kept)
    late: bool
    timestamp: str  # the zip's time for the file, ISO format


@dataclass
class Collected:
    """One student's collected submission of one assignment."""

    user_id: str
    name: str
    submission_id: int
    late: bool
    timestamp: str
    files: list[str] = field(default_factory=list)  # as written under submitted/
    older: list[int] = field(default_factory=list)  # submission ids not kept


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's name; names not flagged UTF-8 (read as cp437) are decoded as UTF-8 if valid."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


def parse_upload(info: zipfile.ZipInfo) -> Upload | None:
    """What the LMS file name says about the upload, or None when it does not follow the pattern."""
    member = member_name(info)
    base = member.rsplit("/", 1)[-1]  # zip paths use "/" only
    match = LMS_NAME.match(base)
    if not match:
        return None
    try:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", (*info.date_time, 0, 0, -1))
    except (TypeError, ValueError):
        stamp = ""
    return Upload(member, match["name"], match["user_id"],
                  int(match["submission_id"]), match["file"], bool(match["late"]), stamp)


def shown(name: str) -> str:
    """A file name fit for one line of output: control characters escaped, the rest as is."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in name)


def safe_file_name(name: str, assignment: str) -> str:
    """The name a collected file is written under: LMS suffix dropped, no folders, no controls."""
    match = RESUBMITTED.match(name)
    if match and match["stem"] == assignment:
        name = match["stem"] + (match["suffix"] or "")
    name = UNSAFE.sub("_", name).strip(". ") or "file"
    return name[:200]


def read_roster(path) -> dict[str, dict]:
    """{id: row} from a roster CSV with at least the columns id, name, section."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        columns = [c.strip().lower() for c in reader.fieldnames or []]
        missing = [c for c in ROSTER_COLUMNS if c not in columns]
        if missing:
            raise ValueError(f"roster {path} must have the columns id, name, section; "
                             f"missing {', '.join(missing)}")
        roster = {}
        for row in reader:
            row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
            if row["id"]:
                roster[row["id"]] = row
    return roster


def manifest_path(root: Path, assignment: str) -> Path:
    """Where collect records what it kept for an assignment."""
    return root / GRADING / "collect" / f"{assignment}.json"


def read_manifest(root: Path, assignment: str) -> dict[str, dict]:
    """{user id: what collect kept}, empty when nothing was collected yet."""
    path = manifest_path(root, assignment)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def collect(zip_path, assignment: str, root: Path = COURSE, roster=None,
            out=print) -> list[str]:
    """Unpack an LMS zip into submitted/<user id>/<assignment>/; returns the user ids collected."""
    root, zip_path = Path(root).resolve(), Path(zip_path).resolve()
    if not zip_path.is_file():
        raise FileNotFoundError(f"zip_path must be an existing file; got {zip_path}")
    if not zipfile.is_zipfile(zip_path):
        raise ValueError(f"zip_path must be a zip archive; got {zip_path}")
    if not (root / "source" / assignment / f"{assignment}.ipynb").is_file():
        raise ValueError(f"assignment must be one of the course's assignments; got {assignment!r}")
    if roster is None and (root / "roster.csv").is_file():
        roster = root / "roster.csv"
    people = read_roster(roster) if roster else {}

    with zipfile.ZipFile(zip_path) as zf:
        uploads, skipped = [], []
        for info in zf.infolist():
            if info.is_dir():
                continue
            upload = parse_upload(info)
            if upload is None:
                skipped.append(member_name(info))
            else:
                uploads.append((upload, info))

        newest: dict[str, int] = {}
        for upload, _ in uploads:
            newest[upload.user_id] = max(newest.get(upload.user_id, -1), upload.submission_id)
        kept = read_manifest(root, assignment)
        done: dict[str, Collected] = {}
        for user_id in sorted(newest, key=lambda u: (len(u), u)):
            before = kept.get(user_id, {})
            if before.get("submission_id", -1) > newest[user_id]:
                out(f"kept {user_id}: submission {before['submission_id']} collected earlier is "
                    f"newer than {newest[user_id]} in this zip")
                continue
            mine = [(u, i) for u, i in uploads if u.user_id == user_id]
            latest = [(u, i) for u, i in mine if u.submission_id == newest[user_id]]
            first = latest[0][0]
            entry = Collected(user_id, first.name, first.submission_id,
                              any(u.late for u, _ in latest), first.timestamp,
                              older=sorted({u.submission_id for u, _ in mine} - {newest[user_id]}))
            folder = root / "submitted" / user_id / assignment
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            for upload, info in latest:
                target = safe_file_name(upload.file, assignment)
                while target in entry.files or target == "timestamp.txt":
                    target = "_" + target
                try:
                    if info.file_size > MAX_MEMBER_BYTES:
                        raise ValueError(f"{info.file_size} bytes, more than {MAX_MEMBER_BYTES}")
                    with zf.open(info) as src, (folder / target).open("wb") as dst:
                        shutil.copyfileobj(src, dst)
                except (OSError, ValueError, RuntimeError, zipfile.BadZipFile, EOFError) as error:
                    (folder / target).unlink(missing_ok=True)
                    out(f"could not read {shown(upload.member)} ({type(error).__name__}: "
                        f"{error})")
                    continue
                entry.files.append(target)
            if entry.timestamp:
                (folder / "timestamp.txt").write_text(entry.timestamp)
            done[user_id] = entry

    for user_id, entry in done.items():
        person = people.get(user_id)
        who = f"{user_id} ({person['name']}, {person['section']})" if person else user_id
        notes = []
        if entry.late:
            notes.append("late")
        if entry.older:
            notes.append("newest of " + ", ".join(map(str, entry.older + [entry.submission_id]))
                         + f": kept {entry.submission_id}")
        if people and not person:
            notes.append("not on the roster")
        if not entry.files:
            notes.append("no file could be read")
        out(f"collected {who}: {', '.join(shown(f) for f in entry.files) or '-'}"
            + (f" [{'; '.join(notes)}]" if notes else ""))
        kept[user_id] = asdict(entry)
    for name in skipped:
        out(f"skipped (name does not match the LMS pattern): {shown(name)}")
    if people:
        missing = sorted(set(people) - {e for e in kept})
        if missing:
            out(f"no submission from {len(missing)} on the roster: {', '.join(missing[:20])}"
                + (" ..." if len(missing) > 20 else ""))
    path = manifest_path(root, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(kept, indent=1, sort_keys=True, ensure_ascii=False))
    out(f"{len(done)} submissions of {assignment} in {root / 'submitted'}")
    return list(done)


def main(argv=None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m instructor.grading.collect",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("zip", type=Path, help="the LMS download (zip of notebooks)")
    parser.add_argument("--assignment", required=True, help="e.g. a2_convolution")
    parser.add_argument("--root", type=Path, default=COURSE, help="nbgrader course directory")
    parser.add_argument("--roster", type=Path, default=None,
                        help="CSV with id, name, section (default: <root>/roster.csv if present)")
    args = parser.parse_args(argv)
    try:
        collect(args.zip, args.assignment, args.root, args.roster)
    except (FileNotFoundError, ValueError) as error:
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
