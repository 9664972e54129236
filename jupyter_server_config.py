"""Jupyter server settings for `make lab` (and instructors' servers on the course's hub).

The course's server extension (instructor/labserver.py): a Content-Security-Policy on every page
that lets only the server's own inline scripts run, and the formgrader with the mark scheme beside
each written answer and autograded scores locked.
"""

import os
import sys

_repo = os.path.dirname(os.path.abspath(__file__))
if _repo not in sys.path:
    sys.path.insert(0, _repo)

c = get_config()  # noqa: F821 (injected by traitlets)
c.ServerApp.jpserver_extensions = {"instructor.labserver": True}
