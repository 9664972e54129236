"""The hardened grading engine: student cells in a sandboxed worker, test cells in a trusted judge.

It knows notebooks (nbformat) but not nbgrader: instructor.grading plugs it into nbgrader.
Modules: limits (what a run may spend), results (what it reports), driver (runs a notebook cell by
cell), process (a child interpreter over pipes), isolation (the plan of the worker's view of the
machine), namespaces (entering it, in the worker), seal (a test cell's sealed copy), children (the
worker's forked copies and reaped orphans), shell (the kernel's input transformation), worker and
judge (the two children), proxy (student objects and the calls made to them, in the judge), wire
(their data-only message format), protocol (the messages), cache (results kept between runs).
Importing this package imports nothing else, so the worker and the judge start fast.
"""
