"""nbgrader configuration of the course: one gradebook, hardened autograding, safe feedback.

Every nbgrader command run from this folder (or from the repository root, whose
nbgrader_config.py loads this file) uses it; `python -m instructor.grading.grade` adds the
resource limits given on its command line.
"""

import os
import sys

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from instructor.grading.execute import HardenedExecute
from instructor.grading.feedback import SafeFeedbackExporter, ScrubHiddenTests
from instructor.grading.markscheme import Provisional
from instructor.grading.normalize import NormalizeCells
from instructor.grading.sanitize import AllowedMetadata, SanitizeNotebook

c = get_config()  # noqa: F821 (injected by traitlets)

# nbgrader runs the `alembic` command when it creates the gradebook; make sure the one installed
# next to this Python is found even when the environment is not activated (e.g. `make lab`).
_bindir = os.path.dirname(sys.executable)
if _bindir not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bindir + os.pathsep + os.environ.get("PATH", "")

c.CourseDirectory.course_id = "convnets-from-scratch"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# nbgrader's exchange (JupyterHub: release, fetch, submit, collect, feedback). The hub sets
# NBGRADER_EXCHANGE_ROOT for every server (deploy/jupyterhub/); without a hub the folder is the
# course's own, so nothing warns about an exchange it cannot create.
c.Exchange.root = os.environ.get(
    "NBGRADER_EXCHANGE_ROOT", os.path.join(c.CourseDirectory.root, ".exchange")
)

# Metadata is an allow-list: AllowedMetadata keeps what nbgrader and Jupyter need (notebook:
# kernelspec, language_info, nbgrader; cells: nbgrader, tags) and drops the rest (`transient`,
# `jupyter.source_hidden`, the course's own keys) before anything reads it.
# Test cells come from the gradebook, never from the submission: NormalizeCells drops every copy a
# submission holds (edited, duplicated, moved, retyped, metadata changed) and puts the instructor's
# version back in its place; nbgrader then checks checksums, points and metadata as usual.
c.Autograde.sanitize_preprocessors = [
    AllowedMetadata,
    NormalizeCells,
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    OverwriteCells,
    CheckCellMetadata,
]
c.OverwriteCells.add_missing_cells = True

# Feedback shows visible tests only: hidden test source is cleared, and a traceback that quotes
# hidden test code is cut down to the error's name and message. Nothing in it runs: the content
# is cleaned again (SanitizeNotebook), nbconvert sanitises what it renders, and the page carries
# a Content-Security-Policy that forbids script (SafeFeedbackExporter).
c.GenerateFeedback.preprocessors = [
    GetGrades,
    Provisional,  # "provisional" first while a written answer waits for a grader
    ScrubHiddenTests,
    ClearHiddenTests,
    SanitizeNotebook,
    CSSHTMLHeaderPreprocessor,
]
c.GenerateFeedback.exporter_class = SafeFeedbackExporter
# Every HTML page nbconvert renders from this course (formgrader's too) sanitises markdown and
# HTML outputs once more as it renders them.
c.HTMLExporter.sanitize_html = True

# Execution: student cells run in a sandboxed worker process, test cells in a separate judge
# process (instructor/engine/), in place of nbgrader's Execute. Problems (time or memory limit,
# crash, truncated output) are kept in the notebook's metadata; grades.csv reports them.
# SanitizeNotebook then makes the autograded notebook, which formgrader renders, inert: markdown,
# raw cells and HTML outputs cleaned by nh3, script and SVG outputs dropped, long text cut.
c.Autograde.autograde_preprocessors = [
    HardenedExecute,
    SanitizeNotebook,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
c.HardenedExecute.cell_timeout = 60.0  # seconds per cell
c.HardenedExecute.total_timeout = 600.0  # seconds per notebook
c.HardenedExecute.memory_mb = 2048
c.HardenedExecute.output_bytes = 100_000  # kept per cell

# Lateness. `make collect` writes nbgrader's timestamp.txt beside each submission (the exchange's
# `nbgrader submit` does too) and keeps the LMS's late flag for the export. nbgrader compares the
# timestamp with the assignment's due date (`nbgrader db assignment add <id> --duedate=...`) and
# applies the penalty chosen here: "none" records lateness without taking points; "zero" gives a
# late submission 0; a plugin of your own can take points per hour late.
c.LateSubmissionPlugin.penalty_method = "none"

# `nbgrader export` writes here, never over the course's own grades.csv.
c.CsvExportPlugin.to = os.path.join(c.CourseDirectory.root, "nbgrader_grades.csv")
