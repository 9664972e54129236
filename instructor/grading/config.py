"""The course's nbgrader configuration and an in-process nbgrader API on it."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from instructor.engine.limits import Limits
from instructor.paths import GRADING


def ensure_tools_on_path() -> None:
    """nbgrader runs `alembic` (next to this Python) when it creates a gradebook."""
    bindir = os.path.dirname(sys.executable)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def course_config(root: Path, limits: Limits | None = None, cache_dir: Path | None = None):
    """The course's nbgrader config for `root`, grading the staged submissions."""
    from traitlets.config import Config, PyFileConfigLoader

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    extra = Config()
    extra.CourseDirectory.root = str(root)
    extra.CourseDirectory.submitted_directory = f"{GRADING}/submitted"
    if limits is not None:
        for name, value in limits.as_dict().items():
            extra.HardenedExecute[name] = value
    if cache_dir is not None:
        extra.HardenedExecute.cache_dir = str(cache_dir)
    cfg.merge(extra)
    return cfg


def config_limits(cfg) -> Limits:
    """The limits HardenedExecute will use under this config."""
    from .execute import HardenedExecute

    return HardenedExecute(config=cfg).limits()


def make_api(cfg):
    """An in-process nbgrader API on the config, with its log kept out of the terminal."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(config=cfg)
    api = NbGraderAPI(coursedir=coursedir, config=cfg)
    api.log.propagate = False
    api.log.handlers = [logging.NullHandler()]
    return api
