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

from instructor.cells import grade_id, strip_hidden_tests

NOTES_KEY = "normalized"  # nb.metadata["nbgrader_course"][NOTES_KEY]: what was changed


def _nbgrader(cell) -> dict | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else None


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
        release_by_id = {grade_id(cell): cell for cell in released if grade_id(cell)}
        order = [grade_id(c) for c in released if grade_id(c) in source] or gb_order
        visible = {_squash(strip_hidden_tests(source[name].source)) for name in tests}

        notes = []
        keepers = self._tests_in_place(nb.cells, tests, order)
        kept = []
        for cell in nb.cells:
            gid = grade_id(cell)
            if gid in tests:
                if cell.cell_type != "code":
                    notes.append(f"test cell {gid} was turned into {cell.cell_type}: restored")
                elif _squash(cell.source) not in {
                    _squash(source[gid].source),
                    _squash(strip_hidden_tests(source[gid].source)),
                }:
                    notes.append(f"test cell {gid} was edited: restored")
                if keepers.get(gid) is cell:
                    kept.append(self._test_cell(gid, source, points, release_by_id, cell))
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

        for name in tests:
            copies = sum(grade_id(c) == name for c in nb.cells)
            if copies == 0:
                notes.append(f"test cell {name} was missing: restored")
            elif copies > 1:
                notes.append(f"test cell {name} appeared {copies} times: restored once")
            elif name not in keepers and all(
                c.cell_type == "code" for c in nb.cells if grade_id(c) == name
            ):
                notes.append(f"test cell {name} was moved: restored to its place")
        for name in [n for n in order if n in tests and n not in keepers]:
            cell = self._test_cell(name, source, points, release_by_id, None)
            kept.insert(self._insertion_point(kept, name, order, set(tests)), cell)
        self._unique_ids(kept)
        nb.cells = kept
        if notes:
            course = nb.metadata.setdefault("nbgrader_course", {})
            course[NOTES_KEY] = sorted(set(notes))
        return nb, resources

    @staticmethod
    def _tests_in_place(cells, tests, order) -> dict:
        """Test cells that stay where they are: a single code copy between its neighbours.

        A test cell is in place when the submission holds exactly one cell with its grade_id, a
        code cell, that comes after the assignment cell preceding it in the assignment and before
        the assignment cell following it (test cells aside).
        """
        anchors = [n for n in order if n not in tests]
        last = {}
        for i, cell in enumerate(cells):
            if grade_id(cell) in anchors:
                last[grade_id(cell)] = i
        keepers = {}
        for name in tests:
            found = [(i, c) for i, c in enumerate(cells) if grade_id(c) == name]
            if len(found) != 1 or found[0][1].cell_type != "code":
                continue
            index, cell = found[0]
            before = [n for n in order[: order.index(name)] if n in anchors]
            after = [n for n in order[order.index(name) + 1 :] if n in anchors]
            prev = next((last[n] for n in reversed(before) if n in last), -1)
            following = next((last[n] for n in after if n in last), len(cells))
            if prev < index < following:
                keepers[name] = cell
        return keepers

    @staticmethod
    def _insertion_point(cells, name, order, tests) -> int:
        """After the nearest preceding assignment cell and the plain cells that follow it."""
        before = [n for n in order[: order.index(name)] if n not in tests]
        position = -1
        for anchor in reversed(before):
            hits = [i for i, c in enumerate(cells) if grade_id(c) == anchor]
            if hits:
                position = hits[-1]
                break
        position += 1
        while position < len(cells) and (grade_id(cells[position]) is None or
                                         grade_id(cells[position]) in tests):
            position += 1
        return position

    @staticmethod
    def _test_cell(name, source, points, release_by_id, cell):
        """The gradebook's version of a test cell (hidden tests included), clean metadata."""
        template = cell if cell is not None else release_by_id.get(name)
        new = copy.deepcopy(template) if template is not None else nbformat.v4.new_code_cell()
        new.cell_type = "code"
        new.source = source[name].source
        new.outputs = []
        new.execution_count = None
        new.pop("attachments", None)
        new.metadata = {
            "deletable": False,
            "editable": False,
            "nbgrader": {
                "cell_type": "code",
                "grade": True,
                "grade_id": name,
                "locked": True,
                "points": points[name],
                "schema_version": 3,
                "solution": False,
            },
        }
        if not new.get("id"):
            new["id"] = name[:64]
        return new

    @staticmethod
    def _unique_ids(cells) -> None:
        """Cell ids made unique (a copied or re-inserted cell may repeat one)."""
        seen = set()
        for cell in cells:
            base = cell.get("id") or "cell"
            candidate, n = base, 1
            while candidate in seen:
                candidate, n = f"{base[:56]}-{n}", n + 1
            cell["id"] = candidate
            seen.add(candidate)

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
