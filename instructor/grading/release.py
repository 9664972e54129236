"""Release the assignments and build the student edition of the course.

    python -m instructor.grading.release [--root assignments] [--dist dist] [--no-edition]

1. `nbgrader generate_assignment <id> --force` for every assignment in assignments/source/: the
   student versions go to assignments/release/<id>/ and the gradebook learns each test cell
   (with its hidden tests) and its points.
2. The student edition in dist/student/ and dist/convnets-from-scratch-student.zip (one top-level
   folder, convnets-from-scratch/): the lessons (notebooks/), helpers/, the released assignments
   as assignments/<id>/<id>.ipynb, a README for students, pyproject.toml and environment.yml
   derived from the main pyproject.toml (same dependencies; package helpers only), a Makefile
   with `make lab` and `make validate`, and a .gitignore. Nothing instructor-only goes in.
   Validate runs like the grader: grader.json holds the grader's limits (from the course's
   nbgrader config), read by validate.py (`make validate`) and by the edition's
   nbgrader_config.py (JupyterLab's Validate button); jupyter/ hides the instructors' tools.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tomllib
import zipfile
from pathlib import Path

import nbformat

from instructor.paths import COURSE, DIST, ROOT, assignment_ids

EDITION = Path(__file__).resolve().parent / "edition"
KERNEL_CLIENT = Path(__file__).resolve().parents[1] / "kernel_client.py"
ZIP_NAME = "convnets-from-scratch-student.zip"
ZIP_FOLDER = "convnets-from-scratch"
SKIP = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc", ".DS_Store")


def generate_release(root: Path = COURSE, assignments=None, out=print) -> list[str]:
    """nbgrader generate_assignment --force for each assignment; raise if any fails."""
    from .config import course_config, ensure_tools_on_path, make_api

    ensure_tools_on_path()
    root = Path(root).resolve()
    api = make_api(course_config(root))
    ids = assignments or assignment_ids(root)
    for assignment in ids:
        result = api.generate_assignment(assignment, force=True, create=True)
        if not result.get("success"):
            raise RuntimeError(
                f"nbgrader generate_assignment {assignment} failed:\n"
                f"{result.get('log', '')}{result.get('error', '')}"
            )
        out(f"released {assignment} -> {root / 'release' / assignment}")
    return ids


def _title(path: Path) -> str:
    """The first markdown heading of a notebook, without the #s."""
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return path.stem


def _toml_value(value) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return str(value)


def edition_pyproject(main: Path = ROOT / "pyproject.toml") -> str:
    """The student edition's pyproject.toml: the main project's dependencies, package helpers."""
    data = tomllib.loads(main.read_text())
    project = data["project"]
    lines = [
        "# Generated from the course's pyproject.toml by instructor/grading/release.py.",
        "[build-system]",
        f"requires = {_toml_value(data['build-system']['requires'])}",
        f"build-backend = {_toml_value(data['build-system']['build-backend'])}",
        "",
        "[project]",
        f"name = {_toml_value(project['name'] + '-student')}",
        f"version = {_toml_value(project['version'])}",
        f"description = {_toml_value(project['description'])}",
        'readme = "README.md"',
        f"requires-python = {_toml_value(project['requires-python'])}",
    ]
    if "license" in project:
        lines.append(f"license = {_toml_value(project['license'])}")
    lines.append("dependencies = [")
    lines += [f"    {_toml_value(dep)}," for dep in project["dependencies"]]
    lines += ["]", "", "[tool.setuptools]", 'packages = ["helpers"]', ""]
    return "\n".join(lines)


def edition_environment(main: Path = ROOT / "pyproject.toml") -> str:
    """The student edition's environment.yml: the same packages for conda users."""
    project = tomllib.loads(main.read_text())["project"]
    python = project["requires-python"].replace(">=", "python>=")
    lines = [
        "# Conda users: `conda env create -f environment.yml`, then "
        "`conda activate convnets-from-scratch`.",
        "name: convnets-from-scratch",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        f"  - {python}",
        "  - pip",
    ]
    lines += [f"  - {dep}" for dep in project["dependencies"]]
    lines += ["  - pip:", "      - -e .", ""]
    return "\n".join(lines)


def student_readme(lessons: list[Path], assignments: list[Path]) -> str:
    """The student README from the edition's README.md template, with lessons and assignments."""
    template = (EDITION / "README.md").read_text()
    lesson_lines = [f"- [`{p.stem}`](notebooks/{p.name}): {_title(p)}" for p in lessons]
    assignment_lines = [
        f"- [`{p.stem}`](assignments/{p.stem}/{p.name}): {_title(p)}" for p in assignments
    ]
    text = template.replace("{{lessons}}", "\n".join(lesson_lines) or "(none yet)")
    return text.replace("{{assignments}}", "\n".join(assignment_lines) or "(none yet)")


def grader_limits(root: Path = COURSE) -> dict:
    """The grader's limits for the edition's grader.json: the course config's, one BLAS thread."""
    from .config import config_limits, course_config

    limits = config_limits(course_config(Path(root).resolve())).as_dict()
    keep = ("cell_timeout", "total_timeout", "memory_mb")
    return {**{k: limits[k] for k in keep}, "threads": 1}


def build_edition(root: Path = COURSE, dist: Path = DIST, repo: Path = ROOT, out=print) -> Path:
    """Build dist/student/ and dist/convnets-from-scratch-student.zip; returns the zip's path."""
    root, dist, repo = Path(root).resolve(), Path(dist).resolve(), Path(repo).resolve()
    stage = dist / "student"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    shutil.copytree(repo / "notebooks", stage / "notebooks", ignore=SKIP)
    shutil.copytree(repo / "helpers", stage / "helpers", ignore=SKIP)
    released = []
    for assignment in assignment_ids(root):
        release = root / "release" / assignment
        notebook = release / f"{assignment}.ipynb"
        if not notebook.is_file():
            raise FileNotFoundError(f"{notebook} is missing: run the release step first")
        shutil.copytree(release, stage / "assignments" / assignment, ignore=SKIP)
        released.append(stage / "assignments" / assignment / f"{assignment}.ipynb")
    lessons = sorted((stage / "notebooks").glob("*.ipynb"))
    (stage / "README.md").write_text(student_readme(lessons, released))
    (stage / "pyproject.toml").write_text(edition_pyproject(repo / "pyproject.toml"))
    (stage / "environment.yml").write_text(edition_environment(repo / "pyproject.toml"))
    shutil.copyfile(EDITION / "Makefile", stage / "Makefile")
    shutil.copyfile(EDITION / "gitignore", stage / ".gitignore")
    shutil.copyfile(EDITION / "validate.py", stage / "validate.py")
    shutil.copyfile(EDITION / "call_watch.py", stage / "call_watch.py")  # validate.py runs it
    shutil.copyfile(KERNEL_CLIENT, stage / KERNEL_CLIENT.name)  # validate.py imports it
    shutil.copyfile(EDITION / "nbgrader_config.py", stage / "nbgrader_config.py")
    shutil.copytree(EDITION / "jupyter", stage / "jupyter", ignore=SKIP)
    (stage / "grader.json").write_text(json.dumps(grader_limits(root), indent=1) + "\n")
    archive = dist / ZIP_NAME
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(stage.rglob("*")):
            if path.is_file():
                zf.write(path, f"{ZIP_FOLDER}/{path.relative_to(stage).as_posix()}")
    out(f"student edition: {stage} and {archive}")
    return archive


def main(argv=None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m instructor.grading.release",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=COURSE, help="nbgrader course directory")
    parser.add_argument("--dist", type=Path, default=DIST, help="where the edition goes")
    parser.add_argument("--assignment", action="append", help="release only this assignment")
    parser.add_argument("--no-edition", action="store_true", help="skip the student edition")
    args = parser.parse_args(argv)
    generate_release(args.root, args.assignment)
    if not args.no_edition:
        build_edition(args.root, args.dist)
    return 0


if __name__ == "__main__":
    sys.exit(main())
