"""nbgrader settings of the student edition: JupyterLab's Validate button runs like the grader.

grader.json (written by the course's release) holds the grader's limits; `make validate` reads
the same file. A cell runs for at most the grader's seconds, with one BLAS thread as the grader.
"""

import json
import os

_limits = json.loads(
    open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "grader.json")).read()
)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(_limits.get("threads", 1))

c = get_config()  # noqa: F821 (injected by traitlets)
c.Execute.timeout = int(_limits["cell_timeout"])
