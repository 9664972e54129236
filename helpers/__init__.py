"""Helpers for ConvNets from Scratch: gradient checks (gradcheck), datasets (data), figures (plots),
lesson check cells (checks).

Submodules load on first use, so `from helpers.gradcheck import check_layer` does not import
matplotlib.
"""

import importlib

__all__ = ["checks", "data", "gradcheck", "plots"]


def __getattr__(name):
    """Import helpers.checks / data / gradcheck / plots lazily on attribute access."""
    if name in __all__:
        return importlib.import_module(f"helpers.{name}")
    raise AttributeError(f"module 'helpers' has no attribute {name!r}")
