"""Manual grading aids: the mark scheme beside each written answer, provisional feedback.

- MarkScheme (formgrader pages only): after each answer cell that a grader scores by hand, a box
  with the instructor's mark scheme for it, taken from the source notebook: the text between
  `=== BEGIN MARK SCHEME ===` and `=== END MARK SCHEME ===` if the model answer has one, else
  the whole model answer. The autograded notebook and the feedback are never changed by it.
- Provisional (feedback): while any answer of the submission waits for a grader, the feedback
  page opens with a note that its score is provisional.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from instructor.paths import COURSE

BEGIN, END = "=== BEGIN MARK SCHEME ===", "=== END MARK SCHEME ==="
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
PROVISIONAL = ("**Provisional feedback.** Your written answers have not been graded yet: the "
               "score on this page counts them as 0 and will change once they are graded.")


def is_manual(cell) -> bool:
    """An answer a grader scores by hand: a graded solution cell."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade") and meta.get("solution"))


def mark_scheme(source: str) -> str:
    """The mark scheme of a model answer: its MARK SCHEME section, else the whole answer."""
    if BEGIN in source and END in source:
        return source.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    lines = [line for line in source.splitlines() if line.strip() not in SOLUTION_MARKERS]
    return "\n".join(lines).strip()


def schemes(root: Path, assignment: str, notebook: str) -> dict[str, str]:
    """{grade_id: mark scheme} of the hand-graded cells of a source notebook."""
    path = Path(root) / "source" / assignment / f"{notebook}.ipynb"
    if not path.is_file():
        return {}
    nb = nbformat.read(str(path), as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: mark_scheme(c.source)
            for c in nb.cells if is_manual(c) and c.metadata["nbgrader"].get("grade_id")}


def scheme_cell(grade_id: str, text: str):
    """The box shown under an answer in the formgrader."""
    quoted = "\n".join("> " + line for line in text.splitlines())
    return nbformat.v4.new_markdown_cell(
        f"> **Mark scheme for `{grade_id}`** (graders only; not in the feedback)\n>\n{quoted}",
        metadata={"tags": ["mark-scheme"]},
    )


class MarkScheme(Preprocessor):
    """Formgrader pages: the mark scheme under each hand-graded answer."""

    root = Unicode("", help="The nbgrader course directory (default: the course's).").tag(
        config=True)

    def preprocess(self, nb, resources):
        """Insert the boxes; a page that is not the formgrader's (no submission id) is left be."""
        if "submission_id" not in resources or "assignment_id" not in resources:
            return nb, resources
        root = self.root or os.environ.get("COURSE_ROOT", str(COURSE))
        found = schemes(Path(root), resources["assignment_id"], resources["notebook_id"])
        cells = []
        for cell in nb.cells:
            cells.append(cell)
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if is_manual(cell) and grade_id in found:
                cells.append(scheme_cell(grade_id, found[grade_id]))
        nb.cells = cells
        return nb, resources


class Provisional(NbGraderPreprocessor):
    """Feedback pages: a provisional note first while any answer waits for a grader."""

    def preprocess(self, nb, resources):
        """Add the note when the gradebook says an answer still needs grading."""
        from nbgrader.api import Gradebook, MissingEntry

        info = resources.get("nbgrader", {})
        try:
            with Gradebook(info["db_url"]) as gb:
                notebook = gb.find_submission_notebook(info["notebook"], info["assignment"],
                                                       info["student"])
                pending = notebook.needs_manual_grade
        except (KeyError, MissingEntry):
            return nb, resources
        if pending:
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(
                PROVISIONAL, metadata={"tags": ["provisional"]}))
        return nb, resources
