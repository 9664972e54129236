"""The benchmarks run end to end on tiny sizes; `make bench` judges the figures, not the tests."""

import json
import subprocess
import sys

import pytest

from benchmarks.common import Row, Section, interleaved, paired_ratio
from benchmarks.conv import conv_flops
from benchmarks.run import SECTIONS, table
from instructor.paths import ROOT

STATUSES = {"ok", "skipped", "missing", "error"}


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """One `python -m benchmarks.run --quick` run: its process and its JSON."""
    out = tmp_path_factory.mktemp("bench") / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--output", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    results = json.loads(out.read_text()) if out.is_file() else None
    return proc, results


def test_quick_run_exits_cleanly_and_writes_json(quick):
    proc, results = quick
    assert proc.returncode == 0, (
        f"exit {proc.returncode}\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    )
    assert results is not None, f"no results.json written\n{proc.stdout[-2000:]}"


def test_every_section_is_present_with_rows(quick):
    _, results = quick
    assert set(results["sections"]) == set(SECTIONS)
    for name, section in results["sections"].items():
        assert section["status"] in STATUSES, f"{name}: status {section['status']!r}"
        assert section["rows"], f"section {name} has no rows"
        for row in section["rows"]:
            assert {"figure", "target", "measured", "ratio", "verdict"} <= set(row), row


def test_every_section_ran(quick):
    _, results = quick
    problems = {
        name: (s["status"], s["rows"][0]["measured"], s["data"].get("traceback", ""))
        for name, s in results["sections"].items()
        if s["status"] != ("skipped" if name == "setup" else "ok")
    }
    assert not problems, f"sections that did not run: {problems}"


def test_quick_run_judges_nothing(quick):
    _, results = quick
    verdicts = {r["verdict"] for s in results["sections"].values() for r in s["rows"]}
    assert not verdicts & {"met", "MISSED"}, f"--quick must not judge tiny sizes; got {verdicts}"


def test_table_is_printed_with_every_row(quick):
    proc, results = quick
    assert "Figure" in proc.stdout and "Verdict" in proc.stdout, proc.stdout[-2000:]
    for section in results["sections"].values():
        for row in section["rows"]:
            assert row["figure"] in proc.stdout, f"row {row['figure']!r} missing from the table"


def test_machine_report_names_blas_threads(quick):
    _, results = quick
    machine = results["machine"]
    assert machine["blas_threads"] >= 1
    assert isinstance(machine["thread_env"], dict)


def test_setup_is_skipped_unless_asked(quick):
    _, results = quick
    setup = results["sections"]["setup"]
    assert setup["status"] == "skipped"
    assert all(r["verdict"] == "skipped" for r in setup["rows"])


def test_interleaved_rotates_order_and_counts_rounds():
    calls = []
    competitors = {name: (lambda n=name: calls.append(n)) for name in "abc"}
    times = interleaved(competitors, rounds=3, inner=2)
    assert {k: len(v) for k, v in times.items()} == {"a": 3, "b": 3, "c": 3}
    firsts = [calls[i * 9] for i in range(3)]  # each round: 3 competitors x (1 warm-up + 2)
    assert firsts == ["a", "b", "c"]


def test_interleaved_rejects_zero_rounds():
    with pytest.raises(ValueError, match="rounds"):
        interleaved({"a": lambda: None}, rounds=0)


def test_paired_ratio_is_median_of_round_ratios():
    assert paired_ratio([2.0, 9.0, 3.0], [1.0, 1.0, 1.0]) == 3.0
    assert paired_ratio([4.0, 4.0], [2.0, 1.0]) == 3.0
    with pytest.raises(ValueError):
        paired_ratio([1.0], [])


def test_conv_flops_counts_multiply_adds():
    # one 3x3 filter over a 4x4 image, pad 1: 16 outputs of 9 multiply-adds each
    assert conv_flops((1, 1, 4, 4), (1, 1, 3, 3), 1, 1) == 2 * 16 * 9
    # batch, filters and channels multiply; stride 2 quarters the outputs
    assert conv_flops((2, 3, 4, 4), (5, 3, 3, 3), 2, 1) == 2 * 2 * 5 * 3 * 9 * 4


def test_table_aligns_columns():
    section = Section(
        "x", "X", rows=[Row("a", "t", "m", "1x", "met"), Row("longer", "", "", "", "")]
    )
    lines = table([section]).splitlines()
    starts = {line.index("t") for line in lines[2:3]} | {lines[0].index("Target")}
    assert len(starts) == 1, lines


def test_benchmarks_import_nothing_from_the_tests():
    code = (
        "import sys, benchmarks.run, benchmarks.grading, benchmarks.conv, benchmarks.training, "
        "benchmarks.lessons, benchmarks.clean_clone\n"
        "print(sorted(m for m in sys.modules if m == 'tests' or m.startswith('tests.')))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"benchmarks import {done.stdout.strip()}"
