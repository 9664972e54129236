"""The worker's view of the machine: its environment, the paths it must not see, its uid."""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import stat
import sys
from pathlib import Path

from instructor.paths import HELPERS, ROOT

ISOLATE = True  # try user/mount/network namespaces for the worker
KEEP_VISIBLE = {".venv", "helpers", "convnets_from_scratch.egg-info"}
FILE_MB = 64
FIRST_UID, UID_COUNT = 200_000, 800_000  # a fresh unused uid per worker when grading as root


def font_cache() -> list[str]:
    """matplotlib's font list of this machine, so fresh homes need not rebuild it."""
    dirs = [os.environ.get("MPLCONFIGDIR", ""), "~/.cache/matplotlib", "~/.matplotlib"]
    found = []
    for d in dirs:
        if d:
            found += glob.glob(os.path.join(os.path.expanduser(d), "fontlist-v*.json"))
    return found[:4]


def environment(home: str) -> dict:
    mpl = os.path.join(home, ".config", "matplotlib")
    os.makedirs(mpl, exist_ok=True)
    for path in font_cache():
        shutil.copy(path, mpl)
    return {
        "HOME": home,
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": mpl,
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def hidden_paths() -> list[str]:
    """Everything in the repository but the venv and helpers, then the grader's home."""
    hide = [str(p) for p in sorted(ROOT.iterdir()) if p.name not in KEEP_VISIBLE]
    home = Path.home().resolve()
    if home.is_dir() and home != Path("/"):
        hide.append(str(home))
    return hide


def exposed_paths() -> list[str]:
    """Directories the worker needs even when they sit inside a hidden one."""
    paths = {Path(sys.base_prefix), Path(sys.prefix), ROOT / ".venv", HELPERS}
    spec = importlib.util.find_spec("helpers")  # where the environment finds it (an editable
    for location in (spec.submodule_search_locations or []) if spec else []:  # install maps it)
        paths.add(Path(location))
    return sorted({str(p.resolve()) for p in paths if p.is_dir()})


def others_can_run_python() -> bool:
    """Whether an unprivileged user can read this interpreter's libraries (to drop root)."""
    for top in exposed_paths():
        path = Path(top)
        for part in [path, *path.parents]:
            if not part.stat().st_mode & stat.S_IXOTH:
                return False
    return True


def copy_submission(workdir: Path, target: Path) -> None:
    """Copy the submission directory, skipping symbolic links (they could point anywhere)."""

    def ignore(directory, names):
        return [n for n in names if os.path.islink(os.path.join(directory, n))]

    shutil.copytree(workdir, target, ignore=ignore)


def worker_plan(scratch: Path, box: Path, uid: int, limits: dict, rootfs: Path) -> dict:
    """What the worker is told at start: where it works and what it may see and spend."""
    return {
        "isolate": ISOLATE,
        "scratch": str(scratch),
        "box": str(box),
        "rootfs": str(rootfs),
        "hide": hidden_paths(),
        "expose": exposed_paths(),
        "uid": uid,
        "drop_uid": others_can_run_python(),
        "tmp_mb": FILE_MB,
        "drop_paths": [str(ROOT)],
        "limits": dict(limits, file_mb=FILE_MB),
    }
