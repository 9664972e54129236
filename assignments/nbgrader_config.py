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
from instructor.grading.feedback import ScrubHiddenTests
from instructor.grading.normalize import NormalizeCells

c = get_config()  # noqa: F821 (injected by traitlets)

# nbgrader runs the `alembic` command when it creates the gradebook; make sure the one installed
# next to this Python is found even when the environment is not activated (e.g. `make lab`).
_bindir = os.path.dirname(sys.executable)
if _bindir not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bindir + os.pathsep + os.environ.get("PATH", "")

c.CourseDirectory.course_id = "convnets-from-scratch"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))

# Test cells come from the gradebook, never from the submission: NormalizeCells drops every copy a
# submission holds (edited, duplicated, moved, retyped, metadata changed) and puts the instructor's
# version back in its place; nbgrader then checks checksums, points and metadata as usual.
c.Autograde.sanitize_preprocessors = [
    NormalizeCells,
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    OverwriteCells,
    CheckCellMetadata,
]
c.OverwriteCells.add_missing_cells = True

# Feedback shows visible tests only: hidden test source is cleared, and a traceback that quotes
# hidden test code is cut down to the error's name and message.
c.GenerateFeedback.preprocessors = [
    GetGrades,
    ScrubHiddenTests,
    ClearHiddenTests,
    CSSHTMLHeaderPreprocessor,
]

# Execution: student cells run in a sandboxed worker process, test cells in a separate judge
# process (instructor/engine/), in place of nbgrader's Execute. Problems (time or memory limit,
# crash, truncated output) are kept in the notebook's metadata; grades.csv reports them.
c.Autograde.autograde_preprocessors = [
    HardenedExecute,
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

# `nbgrader zip_collect` (python -m instructor.grading.collect): file names in an LMS download,
# Canvas style: <name>_[late_]<user id>_<submission id>_<file>[-<n>].ipynb, for example
# smithjane_12345_67890_a2_convolution.ipynb or smithjane_late_12345_67891_a2_convolution-1.ipynb
# (Canvas appends -1, -2, ... to a resubmitted file's name). The student id is <name>.
c.FileNameCollectorPlugin.named_regexp = (
    r"^(?:.*[/\\])?(?P<student_id>[A-Za-z0-9]+)_(?:late_|LATE_)?(?P<user_id>\d+)_"
    r"(?P<submission_id>\d+)_(?P<file_id>.+?)(?:-\d+)?\.ipynb$"
)
c.ZipCollectApp.strict = False  # a misnamed notebook is collected; grading reports it
