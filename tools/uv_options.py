"""Print the `uv pip install` options that match this machine's pip configuration.

uv does not read pip's config files or PIP_* variables, so the Makefile passes pip's index,
extra indexes, find-links, constraints and certificate on to uv: both installers then see the
same packages. Run with the venv's Python: `python tools/uv_options.py`.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

# pip's option name -> uv's option (None: a flag)
OPTIONS = {
    "index-url": "--index-url",
    "extra-index-url": "--extra-index-url",
    "find-links": "--find-links",
    "constraint": "--constraint",
    "no-index": None,
}


def pip_config() -> dict[str, list[str]]:
    """pip's effective settings by option name (config files, then PIP_* variables on top)."""
    settings: dict[str, list[str]] = {}
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"],
                            capture_output=True, text=True, check=False).stdout
    for line in listed.splitlines():
        match = re.fullmatch(r"(?::env:|global|install)\.([\w-]+)='(.*)'", line.strip())
        if match:
            settings[match.group(1)] = match.group(2).split()
    for name in [*OPTIONS, "cert"]:
        value = os.environ.get("PIP_" + name.upper().replace("-", "_"))
        if value:
            settings[name] = value.split()
    return settings


def uv_options(settings: dict[str, list[str]]) -> list[str]:
    """The uv options for pip's settings."""
    options = []
    for name, option in OPTIONS.items():
        values = settings.get(name, [])
        if option is None:
            if values and values[0].lower() in ("1", "true", "yes", "on"):
                options.append("--no-index")
            continue
        for value in values:
            options += [option, value]
    if settings.get("extra-index-url") or settings.get("find-links"):
        options += ["--index-strategy", "unsafe-best-match"]  # pip's rule: best version anywhere
    if settings.get("cert"):
        options.append("--native-tls")  # the system's certificates, as pip's cert setting says
    return options


def main() -> int:
    """Print the options, shell-quoted, on one line."""
    print(shlex.join(uv_options(pip_config())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
