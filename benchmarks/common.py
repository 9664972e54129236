"""Shared pieces of the benchmarks: table rows, section results and interleaved timing."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

MET, MISSED, INFO, SKIPPED, MISSING, ERROR = "met", "MISSED", "info", "skipped", "missing", "error"


@dataclass
class Row:
    """One line of the table: what is measured, its target, the figure and the verdict."""

    figure: str
    target: str
    measured: str
    ratio: str = ""
    verdict: str = INFO
    value: float | None = None  # the headline number, for results.json


@dataclass
class Section:
    """The outcome of one benchmark: status, rows for the table, notes and raw data."""

    name: str
    title: str
    status: str = "ok"  # ok | skipped | missing | error
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return {
            "title": self.title,
            "status": self.status,
            "rows": [asdict(r) for r in self.rows],
            "notes": self.notes,
            "data": self.data,
        }

    @classmethod
    def from_dict(cls, name: str, d: dict) -> Section:
        """The section back from its to_dict() form."""
        rows = [Row(**r) for r in d.get("rows", [])]
        return cls(name, d["title"], d["status"], rows, list(d["notes"]), dict(d["data"]))


def verdict(ok: bool) -> str:
    """MET when the target holds, else MISSED."""
    return MET if ok else MISSED


def seconds(t: float) -> str:
    """A duration, readable at every scale."""
    if t < 1e-3:
        return f"{t * 1e6:.0f} us"
    if t < 1:
        return f"{t * 1e3:.1f} ms"
    return f"{t:.1f} s"


def median(values) -> float:
    """The median of a non-empty sequence of numbers."""
    values = list(values)
    if not values:
        raise ValueError("median needs at least one value; got an empty sequence")
    return float(statistics.median(values))


def timed(fn: Callable[[], object]) -> float:
    """Wall seconds of one call."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(
    competitors: dict[str, Callable[[], object]], rounds: int, inner: int = 1, warmup: bool = True
) -> dict[str, list[float]]:
    """Seconds per round for each competitor, timed in turns on the same noisy machine.

    Each round runs every competitor as a block, in an order rotated round by round: one
    untimed warm-up call unless warmup=False (it absorbs the other library's spinning threads
    and cold caches), then `inner` timed calls of which the fastest counts.
    """
    if rounds < 1 or inner < 1:
        raise ValueError(f"rounds and inner must be >= 1; got rounds={rounds}, inner={inner}")
    names = list(competitors)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            fn = competitors[name]
            if warmup:
                fn()
            times[name].append(min(timed(fn) for _ in range(inner)))
    return times


def paired_ratio(slow: list[float], fast: list[float]) -> float:
    """Median over rounds of slow / fast: robust to drifts in machine load."""
    if len(slow) != len(fast) or not slow:
        raise ValueError(f"need equal, non-empty lists; got {len(slow)} and {len(fast)} times")
    return median(s / f for s, f in zip(slow, fast, strict=True))


def machine() -> dict:
    """What the numbers depend on: CPU, BLAS and its threads, and the load while running."""
    import numpy as np
    from threadpoolctl import threadpool_info

    pools = threadpool_info()
    blas = [p for p in pools if p.get("user_api") == "blas"]
    env = {
        k: os.environ[k]
        for k in sorted(os.environ)
        if k.startswith(("OPENBLAS_", "OMP_", "MKL_", "GOTO", "KMP_"))
    }
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": _cpu_name(),
        "cpus": os.cpu_count(),
        "numpy": np.__version__,
        "blas": [
            {k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for p in blas
        ],
        "blas_threads": blas_threads(),
        "thread_env": env,
        "load_average": list(os.getloadavg()),
    }


def blas_threads() -> int:
    """The number of threads numpy's BLAS uses (threadpoolctl), or 1 when none is found."""
    from threadpoolctl import threadpool_info

    counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    return max(counts) if counts else 1


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
