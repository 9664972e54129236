"""nbgrader configuration of the course: one gradebook, hardened autograding, safe feedback.

Every nbgrader command run from this folder (or from the repository root, whose
nbgrader_config.py loads this file) uses it; `python -m instructor.grade` adds the resource limits
given on its command line.
"""

import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    OverwriteCells,
    OverwriteKernelspec,
)

from instructor.feedback import ScrubHiddenTests
from instructor.normalize import NormalizeCells

c = get_config()  # noqa: F821 (injected by traitlets)

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

# Execution of student code.
c.Execute.timeout = 60
