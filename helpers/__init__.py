"""Helpers for ConvNets from Scratch: gradient checks (gradcheck), datasets (data), figures (plots),
lesson check cells (checks), features learned from photo patches (features), BLAS threads
(threads), what a call costs in time and Python lines (cost).

Submodules load on first use, so `from helpers.gradcheck import check_layer` does not import
matplotlib. Inside a Jupyter kernel, importing helpers limits BLAS to one thread, as the grader
does (helpers.threads says why and how to choose another number).
"""

import importlib

from .threads import in_kernel, limit_blas_threads

__all__ = ["checks", "cost", "data", "features", "gradcheck", "plots", "threads"]

if in_kernel():
    limit_blas_threads()


def __getattr__(name):
    """Import a submodule of helpers (checks, cost, data, ...) lazily on attribute access."""
    if name in __all__:
        return importlib.import_module(f"helpers.{name}")
    raise AttributeError(f"module 'helpers' has no attribute {name!r}")
