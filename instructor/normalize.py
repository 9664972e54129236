"""Put a submission's nbgrader cells back the way the instructor wrote them, before grading.

A submission is trusted for its answers only. Test cells are taken from the gradebook wherever the
submission has them (or not): every copy in the submission (edited, duplicated, moved, turned into
markdown, with changed points or grade flag) is dropped, and so is any unlabelled code cell that
repeats a test's visible source; then each test cell is put back once, right after the cell it
follows in the assignment. Metadata of the other nbgrader cells (points, grade/solution/locked
flags) is reset from the gradebook, and nbgrader metadata naming no known cell is removed.
"""

from __future__ import annotations

import copy
import os

import nbformat
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor

from .notebooks import strip_hidden_tests

NOTES_KEY = "normalized"  # nb.metadata["nbgrader_course"][NOTES_KEY]: what was changed


def _nbgrader(cell) -> dict | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else None


def _gid(cell) -> str | None:
    meta = _nbgrader(cell)
    gid = meta.get("grade_id") if meta else None
    return gid if isinstance(gid, str) else None


def _squash(source: str) -> str:
    """Source with all whitespace removed, to compare cells regardless of layout."""
    return "".join(source.split())


class NormalizeCells(NbGraderPreprocessor):
    """Drop submitted copies of test cells, re-insert the gradebook's, reset nbgrader metadata."""

    def _release_order(self, assignment_id: str, notebook_id: str) -> list | None:
        """The released notebook's cells (for order and cell ids), if it can be found."""
        converter = getattr(self.parent, "parent", None)
        coursedir = getattr(converter, "coursedir", None)
        if coursedir is None:
            return None
        path = os.path.join(
            coursedir.format_path(coursedir.release_directory, ".", assignment_id),
            f"{notebook_id}.ipynb",
        )
        if not os.path.isfile(path):
            return None
        return nbformat.read(path, as_version=4).cells

    def preprocess(self, nb, resources):
        """Rebuild the notebook's test cells and nbgrader metadata from the gradebook."""
        info = resources["nbgrader"]
        notebook_id, assignment_id = info["notebook"], info["assignment"]
        with Gradebook(info["db_url"]) as gb:
            source_nb = gb.find_notebook(notebook_id, assignment_id)
            source = {cell.name: cell for cell in source_nb.source_cells}
            points = {cell.name: float(cell.max_score) for cell in source_nb.grade_cells}
            solutions = {cell.name for cell in source_nb.solution_cells}
            tasks = {cell.name for cell in source_nb.task_cells}
            gb_order = [cell.name for cell in source_nb.source_cells]

        tests = [
            name
            for name in gb_order
            if name in points and name not in solutions and source[name].cell_type == "code"
        ]
        released = self._release_order(assignment_id, notebook_id) or []
        release_by_id = {_gid(cell): cell for cell in released if _gid(cell)}
        order = [_gid(c) for c in released if _gid(c) in source] or gb_order
        visible = {_squash(strip_hidden_tests(source[name].source)) for name in tests}

        notes = []
        kept = []
        for cell in nb.cells:
            gid = _gid(cell)
            if gid in tests:
                if cell.cell_type != "code":
                    notes.append(f"test cell {gid} was turned into {cell.cell_type}: restored")
                elif _squash(cell.source) not in {
                    _squash(source[gid].source),
                    _squash(strip_hidden_tests(source[gid].source)),
                }:
                    notes.append(f"test cell {gid} was edited: restored")
                continue
            if gid is None and _nbgrader(cell) is None and cell.cell_type == "code":
                if cell.source.strip() and _squash(cell.source) in visible:
                    notes.append("a copy of a test cell was removed")
                    continue
            if gid in source:
                self._reset_metadata(cell, gid, points, solutions, tasks, source)
            elif "nbgrader" in cell.get("metadata", {}):
                del cell.metadata["nbgrader"]
                notes.append("nbgrader metadata naming no assignment cell was removed")
            kept.append(cell)

        present = [name for name in tests if any(_gid(c) == name for c in nb.cells)]
        for name in tests:
            if name not in present:
                notes.append(f"test cell {name} was missing: restored")
        kept = self._insert_tests(kept, tests, order, source, points, release_by_id)
        nb.cells = kept
        if notes:
            course = nb.metadata.setdefault("nbgrader_course", {})
            course[NOTES_KEY] = sorted(set(notes))
        return nb, resources

    @staticmethod
    def _reset_metadata(cell, gid, points, solutions, tasks, source) -> None:
        meta = {
            "cell_type": source[gid].cell_type,
            "grade": gid in points,
            "grade_id": gid,
            "locked": bool(source[gid].locked),
            "schema_version": 3,
            "solution": gid in solutions,
        }
        if gid in points:
            meta["points"] = points[gid]
        if gid in tasks:
            meta["task"] = True
        cell.metadata["nbgrader"] = meta

    @staticmethod
    def _insert_tests(cells, tests, order, source, points, release_by_id) -> list:
        """Each test cell placed after the nearest preceding assignment cell the notebook has."""
        cells = list(cells)
        used_ids = {cell.get("id") for cell in cells}
        for name in [n for n in order if n in tests]:
            template = release_by_id.get(name)
            cell = copy.deepcopy(template) if template is not None else nbformat.v4.new_code_cell()
            cell.cell_type = "code"
            cell.source = source[name].source
            cell.outputs = []
            cell.execution_count = None
            cell.metadata["nbgrader"] = {
                "cell_type": "code",
                "grade": True,
                "grade_id": name,
                "locked": True,
                "points": points[name],
                "schema_version": 3,
                "solution": False,
            }
            cell.metadata["editable"] = False
            cell.metadata["deletable"] = False
            base = cell.get("id") or name[:50]
            candidate, n = base, 1
            while candidate in used_ids:
                candidate, n = f"{base[:50]}-{n}", n + 1
            cell["id"] = candidate
            used_ids.add(cell["id"])
            position = 0
            before = order[: order.index(name)]
            for anchor in reversed(before):
                hits = [i for i, c in enumerate(cells) if _gid(c) == anchor]
                if hits:
                    position = hits[-1] + 1
                    break
            cells.insert(position, cell)
        return cells
