"""Helpers for ConvNets from Scratch: gradient checks (gradcheck), datasets (data), figures (plots).

Submodules load on first use, so `from helpers.gradcheck import check_layer` does not import
matplotlib.
"""

import importlib

__all__ = ["data", "gradcheck", "plots"]


def __getattr__(name):
    """Import helpers.data / helpers.gradcheck / helpers.plots lazily on attribute access."""
    if name in __all__:
        return importlib.import_module(f"helpers.{name}")
    raise AttributeError(f"module 'helpers' has no attribute {name!r}")
