"""HardenedExecute: nbgrader's Execute replaced by the hardened engine (instructor.engine)."""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float, Integer, Unicode

from instructor.engine.cache import cache_key, load, precompute
from instructor.engine.limits import HELP, Limits
from instructor.engine.results import report

_DEFAULTS = Limits()


def _limit_traits() -> dict:
    """One configurable trait per field of Limits, with its default and help."""
    traits = {}
    for f in fields(Limits):
        kind = Float if f.type == "float" else Integer
        traits[f.name] = kind(getattr(_DEFAULTS, f.name), help=HELP[f.name]).tag(config=True)
    return traits


class HardenedExecute(NbGraderPreprocessor):
    """Drop-in replacement for nbgrader's Execute that grades through the sandbox."""

    locals().update(_limit_traits())
    cache_dir = Unicode("", help="Directory of precomputed results (empty: none).").tag(config=True)

    def limits(self) -> Limits:
        """The configured limits."""
        return Limits(**{f.name: getattr(self, f.name) for f in fields(Limits)})

    def preprocess(self, nb, resources):
        """Grade `nb` (reusing a cached result when one matches) and record problems."""
        limits = self.limits()
        workdir = (resources.get("metadata") or {}).get("path") or os.getcwd()
        result = None
        if self.cache_dir:
            result = load(nb, Path(self.cache_dir) / f"{cache_key(nb, limits)}.json")
        if result is None:
            result = precompute(nb, workdir, limits, self.cache_dir or None)
        for problem in result.problems:
            self.log.warning("hardened grading: %s", problem)
        resources["hardened"] = report(result)
        return result.nb, resources
