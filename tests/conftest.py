"""Shared fixtures and the test tiers: headless plotting, the repository root, a marker per tier.

Every test module belongs to one tier, named here (a module missing from TIERS is an error):
- unit: pure functions, no kernel, no grading run; `make test-fast` runs these (under a minute);
- content: the course content itself, executed (lessons, assignment sources, shipped weights);
- e2e: real processes end to end (the sandbox, the nbgrader pipeline, releases, JupyterLab,
  benchmarks); browser tests are also marked `browser`, JupyterHub ones `hub`.
`make test` runs every tier.
"""

import os
from pathlib import Path

import pytest

from instructor.paths import ROOT

os.environ.setdefault("MPLBACKEND", "Agg")

TIERS = {
    "unit": {"test_call_watch", "test_checks", "test_collect", "test_cost", "test_data",
             "test_gradcheck", "test_hygiene", "test_judging", "test_kernel_client", "test_layout",
             "test_plots", "test_wire"},
    "content": {"test_a3_source", "test_assignment_sources", "test_hierarchy",
                "test_lesson_answers", "test_lesson_weights", "test_lessons"},
    "e2e": {"test_adversarial", "test_benchmarks", "test_browser", "test_correct_work", "test_dask",
            "test_export", "test_hub", "test_lab", "test_pipeline", "test_release",
            "test_sandbox"},
}  # fmt: skip
TIER_OF = {module: tier for tier, modules in TIERS.items() for module in modules}
# The longest tests (minutes each: whole classes graded, then validated), started first so that
# the short ones fill the gaps and no worker is left running one alone at the end of `make test`.
SLOW_FIRST = ("test_pipeline.py::test_a_class_is_graded_exactly",
              "test_correct_work.py::test_correct_work_gets_full_marks",
              "test_adversarial.py", "test_benchmarks.py", "test_dask.py")


def start_order(item) -> tuple:
    """Where the item starts: SLOW_FIRST in its order (later assignments, larger, first), then
    the rest as collected."""
    rank = next((i for i, part in enumerate(SLOW_FIRST) if part in item.nodeid), len(SLOW_FIRST))
    later_first = tuple(-ord(c) for c in item.nodeid) if rank < 2 else ()
    return rank, later_first


def pytest_collection_modifyitems(config, items):
    """Mark each test with its module's tier; start the slowest first."""
    items.sort(key=start_order)
    for item in items:
        module = Path(str(item.fspath)).stem
        tier = TIER_OF.get(module)
        if tier is None:
            raise pytest.UsageError(
                f"tests/{module}.py is in no tier: add it to TIERS in tests/conftest.py"
            )
        item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root."""
    return ROOT
