"""Untrusted notebook content made inert and bounded before anyone views it.

A submission's markdown, raw cells and outputs are shown to the instructor (formgrader renders
the autograded notebook) and to the student (the feedback page). Nothing a student wrote may run
there: HTML is cleaned with nh3 (the Ammonia sanitiser: an allow-list of formatting tags and
attributes, links limited to http, https, mailto and attachments), outputs keep only inert
types, and sources and outputs are cut to a size that renders in moments. Metadata is cut to an
allow-list of what nbgrader and Jupyter need, so a submission cannot hide its code from the
grader's page (`transient`, `jupyter.source_hidden`) or speak in the course's own keys.
"""

from __future__ import annotations

import re

import nh3
from nbgrader.preprocessors import NbGraderPreprocessor

from instructor.cells import grade_id, is_test_cell

COURSE_KEY = "nbgrader_course"  # nb.metadata[COURSE_KEY]: what the course's preprocessors noted
NOTES_KEY = "sanitized"  # nb.metadata[COURSE_KEY][NOTES_KEY]: what was cut or removed

# Rendering cost: nbconvert highlights code at about 2 kB and renders rich markdown at about
# 5 kB per second on a loaded 2-core machine; an assignment notebook holds about 50 kB of
# source, no answer cell more than 4 kB. Each assignment cell (answer or solution, named by its
# grade id) is cut on its own, so no padding elsewhere can hide it; the student's other cells
# share one budget. Test cells (the instructor's) are never cut.
MAX_SOURCE_CHARS = 10_000  # one markdown, raw or code cell's source, as displayed
MAX_SOURCES_CHARS = 100_000  # all sources of the cells without a grade id
MAX_OUTPUT_CHARS = 100_000  # one output's text (a stream, a traceback, a data value)
MAX_OUTPUTS_CHARS = 1_000_000  # all outputs of one notebook

URL_SCHEMES = {"http", "https", "mailto", "attachment"}
# Output types shown as they are (images are drawn by the browser, never run); text/html and
# text/markdown are cleaned; everything else (JavaScript, SVG, widgets, LaTeX, ...) is dropped.
PLAIN_TYPES = {"text/plain", "image/png", "image/jpeg", "image/gif"}
CLEANED_TYPES = {"text/html", "text/markdown"}
ATTACHMENT_TYPES = {"image/png", "image/jpeg", "image/gif"}
REMOVED_NOTE = "[output of type {types} removed: such output could run code where it is viewed]"

NB_METADATA = ("kernelspec", "language_info", "nbgrader")
CELL_METADATA = ("nbgrader", "tags")
MAX_TAGS, MAX_TAG_CHARS = 50, 100

# A script URL written in markdown link syntax ([x](javascript:...)), with the control
# characters and blanks a browser ignores inside a scheme; nh3 has decoded entities by then.
_GAP = r"[\s\x00-\x1f]*"
SCRIPT_SCHEME = re.compile(
    "|".join("(?<!blocked-)" + _GAP.join(word) + _GAP + ":"
             for word in ("javascript", "vbscript", "livescript")),
    re.IGNORECASE,
)


TAG_START = re.compile(r"</?([A-Za-z][^\s/>]*)|<[!?]")
AUTOLINK = re.compile(r"<(https?://[^\s<>\"']+)>")


def _unescape_harmless(text: str) -> str:
    """Undo nh3's escaping where the character cannot start markup (keeps `a < b`, `> quote`)."""
    text = text.replace("&gt;", ">")
    text = re.sub(r"&lt;(?![A-Za-z/!?])", "<", text)
    return re.sub(r"&amp;(?![A-Za-z0-9#])", "&", text)


def clean_html(text: str) -> str:
    """HTML with everything that could run removed: scripts, event handlers, script URLs."""
    return _unescape_harmless(nh3.clean(text, url_schemes=URL_SCHEMES))


def _tags_as_text(text: str) -> str:
    """`<` that would open a tag outside the allow-list (or a comment) made plain text.

    A zero-width space after the `<` means no HTML or markdown parser reads a tag there, so
    `$i<n$`, `x<y` and a pasted `<script>` stay readable as text instead of being dropped.
    """

    def guard(match):
        name = match.group(1)
        if name and name.lower() in nh3.ALLOWED_TAGS:
            return match.group(0)
        return "<\u200b" + match.group(0)[1:]

    text = AUTOLINK.sub(r"[\1](\1)", text)
    return TAG_START.sub(guard, text)


def clean_markdown(text: str) -> str:
    """Markdown whose HTML is cleaned and whose links cannot name a script URL."""
    cleaned = clean_html(_tags_as_text(text))
    return SCRIPT_SCHEME.sub(lambda m: "blocked-" + re.sub(_GAP, "", m.group(0)), cleaned)


def _joined(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _cut(text: str, limit: int) -> tuple[str, bool]:
    """text cut to limit characters, with a marker saying how long it was."""
    if len(text) <= limit:
        return text, False
    marker = f"\n\n[... cut for display: {len(text)} characters in all]\n"
    return text[: max(0, limit - len(marker))] + marker, True


def cell_name(cells, index: int) -> str:
    """A cell named by its grade id, or by the nearest assignment cell above it."""
    gid = grade_id(cells[index])
    if gid:
        return gid
    kind = cells[index].get("cell_type", "")
    for above in range(index - 1, -1, -1):
        if grade_id(cells[above]):
            return f"a {kind} cell after {grade_id(cells[above])}"
    return f"a {kind} cell at the top"


def _clean_output(output, budget: int) -> tuple[int, bool]:
    """Clean one output in place; returns the characters it keeps and whether it was cut."""
    cut = False
    kind = output.get("output_type")
    if kind == "stream":
        output["text"], cut = _cut(_joined(output.get("text", "")), min(MAX_OUTPUT_CHARS, budget))
        return len(output["text"]), cut
    if kind == "error":
        lines = [str(line) for line in output.get("traceback", [])]
        text, cut = _cut("\n".join(lines), min(MAX_OUTPUT_CHARS, budget))
        output["traceback"] = text.split("\n") if cut else lines
        output["ename"] = str(output.get("ename", ""))[:200]
        output["evalue"], _ = _cut(str(output.get("evalue", "")), 2_000)
        return len(text), cut
    data, kept, removed = {}, 0, []
    for mime, value in (output.get("data") or {}).items():
        if mime in PLAIN_TYPES:
            text = _joined(value)
        elif mime == "text/html":
            text = clean_html(_joined(value)[: MAX_OUTPUT_CHARS * 2])
        elif mime == "text/markdown":
            text = clean_markdown(_joined(value)[: MAX_OUTPUT_CHARS * 2])
        else:
            removed.append(mime)
            continue
        if mime.startswith("image/"):
            if len(text) > MAX_OUTPUT_CHARS * 20:  # a 2 MB image is plenty
                removed.append(mime)
                continue
            data[mime] = text
            continue
        data[mime], was_cut = _cut(text, min(MAX_OUTPUT_CHARS, budget))
        cut = cut or was_cut
        kept += len(data[mime])
    if removed and "text/plain" not in data:
        data["text/plain"] = REMOVED_NOTE.format(types=", ".join(sorted(removed)))
    if "data" in output:
        output["data"] = data
        output["metadata"] = {}
    return kept, cut


class SanitizeNotebook(NbGraderPreprocessor):
    """Clean markdown, raw cells and outputs; cut long sources and outputs (with a note)."""

    def preprocess(self, nb, resources):
        """Make every cell inert and bounded; record what was cut in the notebook's metadata."""
        sources, outputs, cut_cells, notes = MAX_SOURCES_CHARS, MAX_OUTPUTS_CHARS, [], []
        for index, cell in enumerate(nb.cells):
            source, was_cut = _joined(cell.get("source", "")), False
            if cell.cell_type == "markdown":
                source = clean_markdown(source[: MAX_SOURCE_CHARS * 2])
            elif cell.cell_type == "raw":
                source = clean_html(source[: MAX_SOURCE_CHARS * 2])
            if grade_id(cell) is not None:
                if not is_test_cell(cell):
                    source, was_cut = _cut(source, MAX_SOURCE_CHARS)
            else:
                source, was_cut = _cut(source, max(0, min(MAX_SOURCE_CHARS, sources)))
                sources -= len(source)
            cell.source = source
            for output in cell.get("outputs", []):
                used, out_cut = _clean_output(output, max(0, outputs))
                outputs -= used
                was_cut = was_cut or out_cut
            if "attachments" in cell:
                cell.attachments = {
                    name: {k: v for k, v in bundle.items() if k in ATTACHMENT_TYPES}
                    for name, bundle in (cell.get("attachments") or {}).items()
                    if isinstance(bundle, dict)
                }
            if was_cut:
                cut_cells.append(cell_name(nb.cells, index))
        if cut_cells:
            shown = ", ".join(cut_cells[:5]) + (
                f" and {len(cut_cells) - 5} more" if len(cut_cells) > 5 else ""
            )
            notes.append(f"text cut for display (too long to show in full): {shown}")
        add_notes(nb, notes)
        return nb, resources


class AllowedMetadata(NbGraderPreprocessor):
    """Notebook and cell metadata cut to what nbgrader and Jupyter need; the rest is dropped."""

    def preprocess(self, nb, resources):
        """Keep kernelspec, language_info and nbgrader; per cell, nbgrader and tags."""
        nb.metadata = {k: nb.metadata[k] for k in NB_METADATA
                       if isinstance(nb.metadata.get(k), dict)}
        for cell in nb.cells:
            meta = cell.get("metadata") or {}
            kept = {}
            if isinstance(meta.get("nbgrader"), dict):
                kept["nbgrader"] = meta["nbgrader"]
            tags = meta.get("tags")
            if isinstance(tags, list):
                kept["tags"] = [t[:MAX_TAG_CHARS] for t in tags if isinstance(t, str)][:MAX_TAGS]
            cell.metadata = kept
        return nb, resources


def add_notes(nb, notes: list[str]) -> None:
    """Record notes under the course's key of the notebook's metadata."""
    if not notes:
        return
    course = nb.metadata.setdefault(COURSE_KEY, {})
    course[NOTES_KEY] = sorted(set(course.get(NOTES_KEY, [])) | set(notes))


def course_notes(nb) -> list[str]:
    """Every note the course's preprocessors left in the notebook (restored cells, cut text)."""
    course = nb.get("metadata", {}).get(COURSE_KEY, {})
    notes = []
    if isinstance(course, dict):
        for value in course.values():
            if isinstance(value, list):
                notes.extend(str(n) for n in value)
    return notes
