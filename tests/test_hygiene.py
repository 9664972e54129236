"""Repository hygiene: clean notebooks, and one environment described the same way twice."""

import json
import re
import subprocess
import tomllib

import pytest

from instructor.paths import ROOT


def tracked_notebooks():
    out = subprocess.run(
        ["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [ROOT / line for line in out.splitlines() if line]


@pytest.mark.parametrize("path", tracked_notebooks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_is_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [
        i
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
    assert not dirty, f"{path.name}: code cells {dirty} carry outputs; clear them before committing"


def _names(requirements):
    return {re.split(r"[<>=!~ \[]", req, maxsplit=1)[0].lower() for req in requirements}


def test_environment_yml_names_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _names(project["dependencies"]) | _names(project["optional-dependencies"]["test"])
    text = (ROOT / "environment.yml").read_text()
    deps = text.split("dependencies:", 1)[1]
    conda = [
        line.strip()[2:]
        for line in deps.splitlines()
        if line.strip().startswith("- ") and not line.strip().startswith(("- pip:", "- -e"))
    ]
    listed = _names(conda) - {"python", "pip"}
    assert listed == wanted, (
        f"environment.yml lacks {sorted(wanted - listed)}, has extra {sorted(listed - wanted)}"
    )
