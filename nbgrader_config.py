"""nbgrader configuration for tools started at the repository root (JupyterLab's formgrader).

The course's settings live in assignments/nbgrader_config.py; this file only loads them.
"""

load_subconfig("assignments/nbgrader_config.py")  # noqa: F821 (injected by traitlets)
