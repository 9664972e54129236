"""Run every benchmark, print one table and write benchmarks/results.json.

    python -m benchmarks.run [--quick] [--setup] [--only SECTION ...] [--output PATH]

Each section runs in its own Python process, so one library's thread pools (PyTorch's, BLAS's)
never linger into another section's measurements.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path

from instructor.paths import ROOT

from .common import ERROR, MET, MISSED, MISSING, SKIPPED, Row, Section, machine

SECTIONS = {  # name -> module in this package
    "conv": "conv",
    "lessons": "lessons",
    "training": "training",
    "grading": "grading",
    "setup": "clean_clone",
}
TITLES = {
    "conv": "Fast convolution (a3 reference)",
    "lessons": "Lessons execute",
    "training": "Training the a3 ConvNet",
    "grading": "Autograding",
    "setup": "Setup on a clean clone",
}
RESULTS = ROOT / "benchmarks" / "results.json"
QUICK = "quick (not judged)"


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes, nothing judged: checks that every benchmark runs",
    )
    p.add_argument(
        "--setup",
        action="store_true",
        help="also time `make test` and `make lab` on clean clones (slow: minutes)",
    )
    p.add_argument(
        "--only",
        nargs="+",
        choices=list(SECTIONS),
        metavar="SECTION",
        help=f"run only these sections ({', '.join(SECTIONS)})",
    )
    p.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    p.add_argument("--section", choices=list(SECTIONS), help=argparse.SUPPRESS)
    return p.parse_args(argv)


def section_in_process(name: str, quick: bool, setup: bool) -> Section:
    """Run one benchmark here, turning a missing part or a crash into a section saying so."""
    start, load = time.perf_counter(), os.getloadavg()[0]
    try:
        module = import_module(f".{SECTIONS[name]}", __package__)
        kwargs = {"enabled": setup} if name == "setup" else {}
        section = module.run(quick=quick, **kwargs)
    except (FileNotFoundError, ModuleNotFoundError) as exc:
        section = Section(name, TITLES[name], status=MISSING)
        section.rows.append(Row(TITLES[name], "", f"not available: {exc}", "", MISSING))
    except Exception as exc:  # a crash is reported in the table, not hidden
        section = Section(name, TITLES[name], status=ERROR)
        section.rows.append(Row(TITLES[name], "", f"{type(exc).__name__}: {exc}", "", ERROR))
        section.data["traceback"] = traceback.format_exc()
    section.data["section_seconds"] = time.perf_counter() - start
    section.data["load_average"] = [load, os.getloadavg()[0]]  # 1-minute, at start and end
    if quick:
        for row in section.rows:
            if row.verdict in (MET, MISSED):
                row.verdict = QUICK
    return section


def section_in_subprocess(name: str, args: argparse.Namespace) -> Section:
    """Run one benchmark in a fresh Python process and read its section back."""
    if args.only and name not in args.only:
        section = Section(name, TITLES[name], status=SKIPPED)
        section.rows.append(Row(TITLES[name], "", "not selected (--only)", "", SKIPPED))
        return section
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        out = Path(tmp) / f"{name}.json"
        cmd = [sys.executable, "-m", "benchmarks.run", "--section", name, "--output", str(out)]
        cmd += ["--quick"] * args.quick + ["--setup"] * args.setup
        rc = subprocess.run(cmd, cwd=ROOT).returncode
        if not out.is_file():
            section = Section(name, TITLES[name], status=ERROR)
            section.rows.append(
                Row(TITLES[name], "", f"benchmark process died (exit {rc})", "", ERROR)
            )
            return section
        return Section.from_dict(name, json.loads(out.read_text()))


def table(sections: list[Section]) -> str:
    """One plain-text table of every row, followed by the sections' notes."""
    head = ("Figure", "Target", "Measured", "Ratio", "Verdict")
    body = [(r.figure, r.target, r.measured, r.ratio, r.verdict) for s in sections for r in s.rows]
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]

    def fmt(line):
        return "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()

    out = [fmt(head), "  ".join("-" * w for w in widths), *map(fmt, body)]
    notes = [f"[{s.name}] {n}" for s in sections for n in s.notes]
    loads = [
        f"{s.name} {s.data['load_average'][0]:.1f}-{s.data['load_average'][1]:.1f}"
        for s in sections
        if "load_average" in s.data and s.status != SKIPPED
    ]
    if loads:
        notes.append(
            f"Load average (1 min) at start-end of each section: {', '.join(loads)}; "
            f"this machine has {os.cpu_count()} CPUs, so more than that means sharing."
        )
    if notes:
        out += ["", "Notes:", *(f"  {n}" for n in notes)]
    return "\n".join(out)


def main(argv=None) -> int:
    """Run the selected benchmarks; exit status 1 only when one of them crashed."""
    args = parse_args(argv)
    if args.section:  # a child process: one section, written as JSON to --output
        section = section_in_process(args.section, args.quick, args.setup)
        args.output.write_text(json.dumps(section.to_dict(), indent=2) + "\n")
        return 0
    info = machine()
    print(
        f"Benchmarks on {info['processor']} ({info['cpus']} CPUs, BLAS threads "
        f"{info['blas_threads']}, load {info['load_average'][0]:.2f})"
        + (" --quick" if args.quick else ""),
        flush=True,
    )
    sections = []
    for name in SECTIONS:
        print(f"  {name} ...", flush=True)
        sections.append(section_in_subprocess(name, args))
    info["load_average_after"] = list(os.getloadavg())
    results = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": info,
        "sections": {s.name: s.to_dict() for s in sections},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(table(sections))
    missed = sum(r.verdict == MISSED for s in sections for r in s.rows)
    print(f"\n{missed} target(s) missed; figures in {args.output}")
    return 1 if any(s.status == ERROR for s in sections) else 0


if __name__ == "__main__":
    sys.exit(main())
