"""nbgrader for students on the course's JupyterHub: the exchange and the course, nothing else."""

import os

c = get_config()  # noqa: F821 (injected by traitlets)
c.CourseDirectory.course_id = os.environ.get("COURSE_ID", "convnets-from-scratch")
c.Exchange.root = os.environ["NBGRADER_EXCHANGE_ROOT"]

# Where every server runs under one OS account (the hub's simple spawner in tests, or containers
# that all run as one user), nbgrader would file every submission under that account's name; the
# hub's user name is the student's then. (nbgrader does the same by itself for "jovyan".)
if os.environ.get("COURSE_SHARED_ACCOUNT") == "1" and os.environ.get("JUPYTERHUB_USER"):
    import nbgrader.utils

    _hub_user = os.environ["JUPYTERHUB_USER"]
    nbgrader.utils.get_osusername = lambda: _hub_user
