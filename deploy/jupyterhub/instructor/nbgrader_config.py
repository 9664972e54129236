"""nbgrader for instructors on the course's JupyterHub: the course's own config and the exchange.

The server starts in the course repository, whose nbgrader_config.py loads
assignments/nbgrader_config.py (CourseDirectory.root, the grading pipeline); that file takes the
exchange folder from NBGRADER_EXCHANGE_ROOT, which the hub sets for every server.
"""

import os

c = get_config()  # noqa: F821 (injected by traitlets)
c.CourseDirectory.course_id = os.environ.get("COURSE_ID", "convnets-from-scratch")
c.Exchange.root = os.environ["NBGRADER_EXCHANGE_ROOT"]
