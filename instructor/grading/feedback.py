"""Feedback that reveals no hidden test: tracebacks quoting hidden test code are cut short.

nbgrader's ClearHiddenTests (which runs right after this preprocessor) removes the hidden test
source from each test cell; the outputs still hold whatever the tests raised, and an IPython
traceback quotes the failing source line. This preprocessor reduces such a traceback to the
error's name and message (which hidden tests write without expected values or inputs).
"""

from __future__ import annotations

import re

from nbgrader.preprocessors import NbGraderPreprocessor

from instructor.cells import hidden_code_lines, is_test_cell

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
HIDDEN_NOTE = "(raised by a hidden test; its code is not shown)"


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
