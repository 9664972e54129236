"""Figure 2: each lesson runs top to bottom in a fresh kernel, alone and all together."""

from __future__ import annotations

import time

from .common import Row, Section, median, seconds
from .common import verdict as judged

PER_LESSON_TARGET = 60.0  # seconds
TOTAL_TARGET = 150.0
QUICK_CELLS = 3  # --quick runs only the first cells of the first QUICK_LESSONS lessons
QUICK_LESSONS = 2


def time_lesson(path, cells: int | None = None) -> tuple[float, list[str]]:
    """Wall seconds to execute the lesson in a fresh kernel, and the ids of cells that raised."""
    from instructor.notebooks import execute, read

    nb = read(path)
    if cells is not None:
        nb.cells = nb.cells[:cells]
    start = time.perf_counter()
    done = execute(nb, cwd=path.parent, timeout=300, allow_errors=True, total_timeout=600)
    elapsed = time.perf_counter() - start
    raised = [
        cell.get("id", str(i))
        for i, cell in enumerate(done.cells)
        if cell.cell_type == "code"
        and any(o.get("output_type") == "error" for o in cell.get("outputs", []))
    ]
    return elapsed, raised


def _unexpected(nb_path, raised: list[str]) -> list[str]:
    """Cells that raised but are not an exercise's check cell (checks raise until solved)."""
    from instructor.lessons import tags
    from instructor.notebooks import read

    checks = {c.get("id") for c in read(nb_path).cells if "check" in tags(c)}
    return [r for r in raised if r not in checks]


def run(quick: bool = False) -> Section:
    """Execute every notebooks/NN_*.ipynb; `repeats` runs each, interleaved, median reported."""
    from instructor.lessons import lesson_paths

    section = Section("lessons", "Lessons execute")
    paths = lesson_paths()
    if not paths:
        raise FileNotFoundError("no lessons notebooks/NN_*.ipynb yet")
    repeats = 1 if quick else 2
    cells = QUICK_CELLS if quick else None
    paths = paths[:QUICK_LESSONS] if quick else paths
    times: dict[str, list[float]] = {p.stem: [] for p in paths}
    unexpected: dict[str, list[str]] = {}
    for _ in range(repeats):
        for path in paths:
            t, raised = time_lesson(path, cells)
            times[path.stem].append(t)
            unexpected[path.stem] = _unexpected(path, raised)
    section.data.update(repeats=repeats, cells=cells, times=times, unexpected_errors=unexpected)
    total = 0.0
    for path in paths:
        t = median(times[path.stem])
        total += t
        bad = unexpected[path.stem]
        errs = f"; cells raised: {', '.join(bad)}" if bad else ""
        section.rows.append(
            Row(
                f"lesson {path.stem}",
                f"<= {PER_LESSON_TARGET:g} s",
                f"{seconds(t)}{errs}",
                "",
                judged(t <= PER_LESSON_TARGET and not bad),
                t,
            )
        )
    section.rows.append(
        Row(
            f"all {len(paths)} lessons, one after another",
            f"<= {TOTAL_TARGET:g} s",
            seconds(total),
            "",
            judged(total <= TOTAL_TARGET),
            total,
        )
    )
    section.data["total_s"] = total
    what = (f"the first {cells} cells of the first {len(paths)} lessons" if quick
            else "each lesson as shipped")
    section.notes.append(
        f"Lessons: {what}, in a fresh kernel (instructor.notebooks.execute), kernel start "
        f"included; median of {repeats} interleaved run(s). Exercise check cells raise until "
        "solved, by design; any other raising cell fails the lesson's row."
    )
    return section
