"""Feedback that reveals no hidden test and runs no script.

Hidden tests: nbgrader's ClearHiddenTests (which runs right after ScrubHiddenTests) removes
the hidden test source from each test cell; the outputs still hold whatever the tests raised,
and an IPython traceback quotes the failing source line. ScrubHiddenTests reduces such a
traceback to the error's name and message (which hidden tests write without expected values or
inputs).

Scripts: the notebook's content is cleaned by instructor.grading.sanitize before the page is
rendered, nbconvert's own sanitising runs on what it renders (HTMLExporter.sanitize_html), and
SafeFeedbackExporter puts a Content-Security-Policy in the page's head that forbids every
script, so a browser runs none even if some markup got through.
"""

from __future__ import annotations

import re

from nbconvert.exporters import HTMLExporter
from nbgrader.preprocessors import NbGraderPreprocessor

from instructor.cells import hidden_code_lines, is_test_cell

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
HIDDEN_NOTE = "(raised by a hidden test; its code is not shown)"
# No script, plugin, frame, form or remote load: the page's own inline styles and inline images.
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
       "base-uri 'none'; form-action 'none'")
CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)


def with_csp(page: str) -> str:
    """The HTML page with the Content-Security-Policy meta tag first in its head."""
    match = HEAD.search(page)
    if match is None:
        return f"<!DOCTYPE html>\n<html>\n<head>{CSP_META}</head>\n{page}"
    return page[: match.end()] + "\n" + CSP_META + page[match.end():]


class SafeFeedbackExporter(HTMLExporter):
    """nbconvert's HTML exporter with HTML sanitising on and a script-forbidding CSP."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sanitize_html = True

    def from_notebook_node(self, nb, resources=None, **kw):
        """Render the page, then put the policy first in its head."""
        output, resources = super().from_notebook_node(nb, resources, **kw)
        return with_csp(output), resources


def quotes_hidden(text: str, hidden: set[str]) -> bool:
    """Whether any line of `text` (ANSI colours removed) contains a hidden test line."""
    plain = ANSI.sub("", text)
    return any(line in plain for line in hidden)


class ScrubHiddenTests(NbGraderPreprocessor):
    """In test cells with hidden tests, cut outputs that quote hidden code to name + message."""

    def preprocess_cell(self, cell, resources, cell_index):
        """Scrub one cell's outputs (test cells only)."""
        if cell.cell_type != "code" or not is_test_cell(cell):
            return cell, resources
        hidden = hidden_code_lines(cell.source)
        if not hidden:
            return cell, resources
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                text = "\n".join(output.get("traceback", []))
                if quotes_hidden(text, hidden) or quotes_hidden(output.get("evalue", ""), hidden):
                    evalue = output.get("evalue", "")
                    if quotes_hidden(evalue, hidden):
                        evalue = ""
                    output["evalue"] = evalue
                    message = f"{output.get('ename', 'Error')}: {evalue}".rstrip(": ")
                    output["traceback"] = [message, HIDDEN_NOTE]
            elif output.get("output_type") == "stream":
                if quotes_hidden(output.get("text", ""), hidden):
                    output["text"] = HIDDEN_NOTE + "\n"
            elif "data" in output:
                data = output["data"]
                if any(quotes_hidden(str(v), hidden) for v in data.values()):
                    output["data"] = {"text/plain": HIDDEN_NOTE}
        return cell, resources
