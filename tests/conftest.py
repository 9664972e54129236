"""Shared fixtures: headless plotting and the repository root."""

import os
from pathlib import Path

import pytest

from instructor.paths import ROOT

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root."""
    return ROOT
