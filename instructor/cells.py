"""What a cell is: nbgrader metadata, grade ids, hidden-test markers and magic lines."""

from __future__ import annotations

import re

HIDDEN_BEGIN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS")
HIDDEN_END = re.compile(r"^[ \t]*### END HIDDEN TESTS")
HIDDEN_TESTS = re.compile(
    r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n.*?^[ \t]*### END HIDDEN TESTS[^\n]*(\n|$)",
    re.MULTILINE | re.DOTALL,
)
MAGIC = re.compile(r"^([ \t]*)[%!]")  # an IPython magic or shell line


def nbgrader_meta(cell) -> dict:
    """The cell's nbgrader metadata, or an empty dict."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def grade_id(cell) -> str | None:
    """The cell's nbgrader grade_id, if it is a string."""
    gid = nbgrader_meta(cell).get("grade_id")
    return gid if isinstance(gid, str) else None


def is_test_cell(cell) -> bool:
    """An autograded test cell: a graded code cell that is not a solution."""
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_solution_cell(cell) -> bool:
    """A cell where the student writes an answer."""
    return bool(nbgrader_meta(cell).get("solution"))


def strip_hidden_tests(source: str) -> str:
    """Source with every ### BEGIN/END HIDDEN TESTS block removed."""
    return HIDDEN_TESTS.sub("", source)


def hidden_line_numbers(source: str) -> set[int]:
    """1-based numbers of the lines inside (and including) hidden-test markers."""
    hidden, inside = set(), False
    for number, line in enumerate(source.splitlines(), 1):
        if HIDDEN_BEGIN.match(line):
            inside = True
        if inside:
            hidden.add(number)
        if HIDDEN_END.match(line):
            inside = False
    return hidden


def hidden_code_lines(source: str) -> set[str]:
    """The substantive lines (stripped, no comments) inside the cell's hidden-test blocks."""
    lines = source.splitlines()
    found = set()
    for number in hidden_line_numbers(source):
        line = lines[number - 1].strip()
        if len(line) >= 4 and not line.startswith("#"):
            found.add(line)
    return found


def strip_magics(source: str) -> str:
    """Test-cell source with magic and shell lines replaced by `pass` (line numbers kept)."""
    return "\n".join(MAGIC.sub(r"\1pass  # ", line) for line in source.splitlines()) + "\n"
