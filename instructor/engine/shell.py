"""Student cells run as the Jupyter kernel runs them: IPython's own shell, transforms and magics.

The worker's namespace belongs to a real IPython InteractiveShell, and each cell goes through
shell.transform_cell (line and cell magics, `!` lines, `?` help, automagic, exactly as in the
kernel; a valid Python line that begins with `%` or `!=` stays Python). What a grading run must
not do is refused aloud: a line on the cell's stderr and a note in the engine's report, and
the rest of the cell runs. Refused: installing packages (%pip, %conda, ...), shell commands
(`!`, %sx, %system, %%bash, %%sh, %%script, ...), %run/%load of a file outside the submission's
scratch copy (or missing), %%writefile outside it. %matplotlib only keeps the Agg backend.
"""

from __future__ import annotations

import os
import shlex
import sys

INSTALLERS = ("pip", "conda", "mamba", "micromamba", "uv")
SHELL_LINE = ("sx", "system", "sc", "alias", "rehashx", "killbgscripts", "edit", "notebook")
SHELL_CELL = (
    *("bash", "sh", "script", "perl", "ruby", "python", "python2", "python3", "pypy"),
    *("sx", "system", "svg_script"),
)


def _words(kind: str, name: str, line: str, limit: int = 120) -> str:
    text = f"{kind}{name} {line}".strip() if name else f"{kind}{line.strip()}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def make_shell(ns: dict, scratch: str):
    """An IPython shell whose user namespace is `ns`, with the grading refusals installed."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.text import SList
    from traitlets.config import Config

    class GradingShell(InteractiveShell):
        """IPython's shell with no history, no pager and no shell commands."""

        refused: list[str]
        error: BaseException | None

        def refuse(self, what: str, why: str) -> None:
            note = f"not run while grading: {what} ({why})"
            print(note, file=sys.stderr)
            self.refused.append(note)

        def system(self, cmd):  # `!cmd`
            self.refuse(_words("!", "", str(cmd)), "shell commands are not run")

        system_piped = system_raw = system

        def getoutput(self, cmd, split=True, depth=0):  # `x = !cmd`
            self.refuse(_words("!", "", str(cmd)), "shell commands are not run")
            return SList() if split else ""

        def showtraceback(self, *args, **kwargs):  # a magic that reports an error itself
            self.error = sys.exc_info()[1] or self.error

        def show_usage_error(self, exc):
            print(f"UsageError: {exc}", file=sys.stderr)
            self.error = exc

    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "nocolor"
    config.InteractiveShell.xmode = "Plain"
    shell = GradingShell(config=config, user_ns=ns)
    shell.refused, shell.error = [], None
    shell.set_hook("show_in_pager", lambda _shell, data, start=0, screen_lines=0: print(data))
    _install_refusals(shell, scratch)
    return shell


def _inside(scratch: str, path: str) -> bool:
    real = os.path.realpath(os.path.expanduser(path))
    root = os.path.realpath(scratch)
    return (real == root or real.startswith(root + os.sep)) and os.path.exists(real)


def _first_path(line: str) -> str:
    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    paths = [w for w in words if not w.startswith("-")]
    return paths[0] if paths else ""


def _install_refusals(shell, scratch: str) -> None:
    def refusing(kind, name, why):
        def magic(line="", cell=None):
            shell.refuse(_words(kind, name, line), why)

        return magic

    for name in INSTALLERS:
        shell.register_magic_function(
            refusing("%", name, "packages are not installed while grading"), "line", name
        )
    for name in SHELL_LINE:
        if shell.find_line_magic(name) is not None or name in ("sx", "system", "sc"):
            shell.register_magic_function(
                refusing("%", name, "shell commands are not run"), "line", name
            )
    for name in SHELL_CELL:
        shell.register_magic_function(
            refusing("%%", name, "shell commands are not run"), "cell", name
        )

    def only_inside(kind, name, original, why):
        def magic(line="", cell=None):
            path = _first_path(line)
            if path and _inside(scratch, path):
                return original(line) if cell is None else original(line, cell)
            shell.refuse(_words(kind, name, line), why)

        return magic

    for name in ("run", "load"):
        original = shell.find_line_magic(name)
        if original is not None:
            magic = only_inside("%", name, original, "the file is not in the submission")
            shell.register_magic_function(magic, "line", name)
    original = shell.find_cell_magic("writefile")
    if original is not None:

        def writefile(line="", cell=None):
            path = _first_path(line)
            target = os.path.realpath(os.path.join(scratch, os.path.expanduser(path)))
            root = os.path.realpath(scratch)
            if path and target.startswith(root + os.sep):
                return original(line, cell)
            shell.refuse(_words("%%", "writefile", line), "only files in the submission's folder")

        shell.register_magic_function(writefile, "cell", "writefile")

    def matplotlib(line="", cell=None):
        """Figures are drawn with Agg while grading (and closed after each cell)."""

    shell.register_magic_function(matplotlib, "line", "matplotlib")


def python_source(shell, source: str) -> str:
    """The Python the kernel would run for a cell (IPython's own transformation)."""
    return shell.transform_cell(source)
